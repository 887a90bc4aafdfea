"""The 3Dmol.js library: a local copy fetched from the npm registry, served by the app.

`python -m components.structure.threedmol` fetches it (pinned version, npm integrity hash checked).
Without a local copy the viewer falls back to the public CDN, which needs network access.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from models.shared.files import write_atomic

log = logging.getLogger(__name__)

VERSION = "2.5.5"
# `npm view 3dmol@2.5.5 dist.integrity`
INTEGRITY = "sha512-kqNHouGqq3YfW58174tdERvm0XYTmP0tavQKOqIw1ouc2OJ7epkXEFrtEkVXV0clBZT2Ze2xHRC/qxX0u0qCdw=="
MEMBER = "package/build/3Dmol-min.js"
VENDOR_DIR = Path(__file__).resolve().parents[2] / "assets" / "vendor"
LOCAL_FILE = VENDOR_DIR / "3Dmol-min.js"
CDN_URL = f"https://cdn.jsdelivr.net/npm/3dmol@{VERSION}/build/3Dmol-min.js"


class FetchError(RuntimeError):
    pass


def _integrity_of(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def fetch(dest: Path = LOCAL_FILE) -> Path:
    """Download 3dmol@VERSION with `npm pack`, verify its integrity, extract the minified build."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed (apt-get install npm, or use the CDN fallback)")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [npm, "pack", f"3dmol@{VERSION}", "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise FetchError(f"npm pack 3dmol@{VERSION} failed: {result.stderr.strip()[-300:]}")
        tarball = Path(tmp) / f"3dmol-{VERSION}.tgz"
        actual = _integrity_of(tarball)
        if actual != INTEGRITY:
            raise FetchError(f"3dmol@{VERSION} integrity mismatch: expected {INTEGRITY}, got {actual}")
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(MEMBER)
            if source is None:
                raise FetchError(f"{MEMBER} missing from 3dmol@{VERSION}")
            write_atomic(dest, source.read())  # never leave a half-written file to be served
    return dest


def ensure_local_copy(allow_fetch: bool = True) -> Path | None:
    """Path of the local 3Dmol.js, fetching it once if missing; None if it cannot be had."""
    if LOCAL_FILE.is_file() and LOCAL_FILE.stat().st_size > 0:
        return LOCAL_FILE
    if not allow_fetch:
        return None
    try:
        return fetch()
    except (FetchError, OSError, subprocess.TimeoutExpired) as error:
        log.warning("No local 3Dmol.js (%s); the 3D viewer will load it from %s", error, CDN_URL)
        return None


def script_url(local: Path | None) -> str:
    """URL the viewer page loads 3Dmol.js from: the app's own file route, else the CDN."""
    if local is None:
        return CDN_URL
    # Relative, so it also resolves when the app is mounted under a sub-path (Spaces proxy).
    return f"gradio_api/file={local}"


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    try:
        print(fetch())
    except FetchError as error:
        sys.exit(f"error: {error}")
