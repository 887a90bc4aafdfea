"""Concurrency: a short run of scripts/load_test.py (the long one is run by hand, see README)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import load_test  # noqa: E402


def test_check_catches_lost_failed_and_different_answers():
    a, b, c = (load_test.Request("ptm", s) for s in ("MKA", "MKB", "MKC"))
    reference = {("ptm", "MKA"): 1, ("ptm", "MKB"): 2, ("ptm", "MKC"): 3}
    report = load_test.Report(
        [
            load_test.Outcome(a, 0.1, answer=1),
            load_test.Outcome(b, 0.1, answer=99),
            load_test.Outcome(c, 0.1, error="x"),
        ]
    )
    problems = load_test.check(report, reference, expected=4)
    assert any("1 requests lost" in p for p in problems)
    assert any("differs" in p for p in problems) and any("failed under load" in p for p in problems)
    assert load_test.check(load_test.Report([load_test.Outcome(a, 0.1, answer=1)]), reference, 1) == []


@pytest.mark.load
def test_concurrent_users_get_their_lone_answers_and_a_full_queue_says_busy(real_backbone, capsys):
    # 8 users x 2 mixed requests against one app, compared with a fresh app answering alone;
    # then 12 simultaneous folds against a queue of 4.
    assert load_test.main(["--users", "8", "--requests", "2", "--burst", "12", "--max-seconds", "400"]) == 0
    out = capsys.readouterr().out
    assert "told 'Queue is full! Please try again.'" in out
