"""scripts/: every benchmark and tool answers `--help` with a one-line description, at once.

"At once" means before any heavy import: each script is run with `python -X importtime`, which
writes every module it imports to stderr, and none of torch, transformers, gradio or the app's own
packages may be among them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py"))
HEAVY = {"torch", "transformers", "gradio", "models", "components"}
# One `-X importtime` line per module: "import time: <self us> | <cumulative us> | <indent><name>".
IMPORT_LINE = re.compile(r"^import time:\s+\d+\s+\|\s+\d+\s+\|\s+(\S+)\s*$")


def test_scripts_are_found():
    # Guards the parametrization below: an empty list would make it pass without a test.
    assert SCRIPTS, "no scripts/*.py found"


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_is_one_line_and_imports_nothing_heavy(script):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "COLUMNS": "80",  # argparse wraps to the terminal's width: one line on a standard terminal
    }
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(Path("scripts") / script), "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert out.startswith("usage:"), out
    # argparse prints: usage (may wrap), a blank line, the description, a blank line, the arguments.
    paragraphs = out.split("\n\n")
    assert len(paragraphs) >= 3, out
    description = paragraphs[1].strip("\n")
    assert description.strip(), out
    assert "\n" not in description, f"description is not one line:\n{description}"
    assert not description.startswith(("options:", "positional arguments:")), f"no description:\n{out}"
    imported = {m.group(1) for m in map(IMPORT_LINE.match, result.stderr.splitlines()) if m}
    assert imported, "no -X importtime output: the check below would prove nothing"
    heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY)
    assert not heavy, f"--help imported {heavy[:10]}"
