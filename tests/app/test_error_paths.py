"""Error paths through the running app (`gradio_client`), where Gradio checks every output.

Calling a handler in-process cannot catch a handler that returns the wrong outputs: Gradio
validates them only while serving. Each app here is started the way users start it, with one
thing wrong: the backbone, the heads, the ESMFold weights, or memory during a fold.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from models.shared.settings import HEADS_DIR
from tests.app_process import ROOT, StartingApp
from tests.conftest import UBIQUITIN

OTHER_BACKBONE = "facebook/esm2_t12_35M_UR50D"


def _analyze(client: Client):
    return client.predict(UBIQUITIN, 0.5, api_name="/analyze")


def _fold(client: Client):
    return client.predict(UBIQUITIN, "cartoon", "pLDDT", api_name="/fold")


def _copy_head(name: str, to: Path, **card_changes) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    card = json.loads((HEADS_DIR / f"{name}.json").read_text())
    shutil.copy(HEADS_DIR / card["weights"], to / card["weights"])
    for key, value in card_changes.items():
        *path, last = key.split(".")
        target = card
        for part in path:
            target = target[part]
        target[last] = value
    (to / f"{name}.json").write_text(json.dumps(card))
    return to


@pytest.fixture(scope="module")
def broken_apps(tiny_fold_model, real_backbone, tmp_path_factory):
    """The four apps this module needs, each with one thing wrong, started at once so that their
    starts overlap (each is several seconds of one core); each test waits for its own."""
    tmp = tmp_path_factory.mktemp("broken-apps")
    heads = _copy_head("ptm_sumo", tmp / "heads", **{"config.dim": 480, "backbone.id": OTHER_BACKBONE})
    (tmp / "no-heads").mkdir()
    no_cache = ["--result-cache", "off"]
    specs = {
        "no-backbone": (["--backbone", tmp / "absent-esm2", "--fold-model", tiny_fold_model], ("app.py",)),
        # No ESMFold weights, and a head trained for another backbone.
        "broken-heads": (["--heads", heads, "--fold-model", tmp / "absent-esmfold"], ("app.py",)),
        "no-heads": (["--heads", tmp / "no-heads", "--fold-model", tiny_fold_model], ("app.py",)),
        "fold-oom": (["--fold-model", tiny_fold_model], ("tests/faulty_app.py", "fold-oom")),
    }
    apps = {
        name: StartingApp([*args, *no_cache], tmp / f"{name}.log", program)
        for name, (args, program) in specs.items()
    }
    try:
        yield lambda name: Client(apps[name].wait(), verbose=False)
    finally:
        for app in apps.values():
            app.stop()


@pytest.fixture(scope="module")
def no_backbone_app(broken_apps):
    return broken_apps("no-backbone")


@pytest.fixture(scope="module")
def broken_heads_app(broken_apps):
    return broken_apps("broken-heads")


def test_unavailable_backbone_says_so_in_analyze_and_fold_still_works(no_backbone_app):
    status, loc_plot, loc_summary, loc_json, ptm_plot, table, csv_file, *_ = _analyze(no_backbone_app)
    assert "Analysis unavailable" in status
    assert "absent-esm2" in status and "--backbone" in status  # the reason and what to do
    assert loc_json is None and csv_file is None  # nothing left over to be read as a result
    with pytest.raises(AppError, match="absent-esm2"):
        no_backbone_app.predict(UBIQUITIN, api_name="/ptm")
    _viewer, pdb_path, summary, *_ = _fold(no_backbone_app)
    assert summary["length"] == len(UBIQUITIN) and Path(pdb_path).is_file()


def test_a_head_for_another_backbone_is_refused_with_its_backbone_id(broken_heads_app):
    status, *_ = _analyze(broken_heads_app)
    assert "Analysis unavailable" in status and OTHER_BACKBONE in status and "480-dim" in status
    with pytest.raises(AppError, match=OTHER_BACKBONE):
        broken_heads_app.predict(UBIQUITIN, api_name="/localization")


def test_missing_esmfold_weights_say_how_to_fix_it_and_fail_fast(broken_heads_app):
    viewer, pdb_path, summary, status, plddt, pae, scores, *_ = _fold(broken_heads_app)
    assert "Structure unavailable" in status and "--fold-model" in status and "absent-esmfold" in status
    assert "--fold-model" in summary["error"] and pdb_path is None and scores is None
    assert status.count("does not exist") == 1 and ".." not in status  # one message, our own words
    started = time.perf_counter()
    again = _fold(broken_heads_app)
    assert time.perf_counter() - started < 1.0 and again[3] == status  # no new attempt to load


def test_an_empty_head_folder_leaves_analysis_unavailable_with_the_fix(broken_apps):
    client = broken_apps("no-heads")
    status, *_ = _analyze(client)
    assert "No trained heads in" in status and "no-heads" in status and "site-head" in status
    assert _fold(client)[2]["length"] == len(UBIQUITIN)


def test_a_fold_that_runs_out_of_memory_reports_it(broken_apps):
    client = broken_apps("fold-oom")
    with pytest.raises(AppError, match="Out of memory folding 76 residues"):
        _fold(client)
    assert client.predict(UBIQUITIN, api_name="/localization")["probabilities"]  # the rest works


@pytest.mark.parametrize("program", ["app.py", "predict.py"])
def test_two_heads_of_one_name_stop_the_start(program, tmp_path):
    again = _copy_head("ptm_sumo", tmp_path / "copy")
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">u\n{UBIQUITIN}\n")
    extra = [str(fasta), "--out", str(tmp_path / "out")] if program == "predict.py" else []
    result = subprocess.run(
        [sys.executable, program, *extra, "--heads", str(HEADS_DIR), "--heads", str(again)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Two heads claim the name 'ptm_sumo'" in result.stderr and "Traceback" not in result.stderr
