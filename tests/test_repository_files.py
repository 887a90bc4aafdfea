"""What a Hugging Face Space accepts from a plain git push: no file over 10 MB without Git LFS."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT

MB = 1_000_000
SPACE_FILE_LIMIT = 10 * MB  # larger files need Git LFS, which this repository does not use
HEADS_LIMIT = 45 * MB  # every trained head and the protein map together: keeps a clone small


def tracked_files() -> list:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_exceeds_the_space_limit():
    files = tracked_files()
    assert any(f.name == "app.py" for f in files)  # the listing is the repository's own
    too_big = {
        str(f.relative_to(ROOT)): f.stat().st_size
        for f in files
        if f.is_file() and f.stat().st_size > SPACE_FILE_LIMIT
    }
    assert not too_big, f"over {SPACE_FILE_LIMIT:,} bytes (a Space refuses them without Git LFS): {too_big}"


def test_trained_heads_together_stay_small():
    folder = ROOT / "assets" / "heads"
    heads = sorted(folder.glob("*.safetensors"))
    assert {h.stem for h in heads} >= {"ptm_sumo", "localization", "secondary_structure"}
    # The protein map's coordinates ship with the localization head and count with the heads.
    total = sum(h.stat().st_size for h in [*heads, *folder.glob("*.npz")])
    assert total <= HEADS_LIMIT, f"heads take {total:,} bytes, over {HEADS_LIMIT:,}"
