"""Packages training needs beyond the app's requirements, installed with pip when missing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from training.data import SCL_PACKAGE, SUMO_PACKAGE

TRAIN_REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements-train.txt"


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *args], check=True)


def ensure_train_packages() -> None:
    """scikit-learn (probes, metrics, grouped splits), pinned in requirements-train.txt."""
    if importlib.util.find_spec("sklearn") is None:
        _pip("-r", str(TRAIN_REQUIREMENTS))


def ensure_data_packages() -> None:
    """The shipped heads' training data; their code is not used, so not their dependencies."""
    for module, requirement in (("scldata", SCL_PACKAGE), ("esm_sumo", SUMO_PACKAGE)):
        if importlib.util.find_spec(module) is None:
            _pip("--no-deps", requirement)
