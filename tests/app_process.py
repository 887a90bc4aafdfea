"""`python app.py ...` as a child process on a free loopback port, for tests and scripts/."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(
    args: list, log: Path, timeout: float = 120.0, program: tuple[str, ...] = ("app.py",)
) -> Iterator[str]:
    """Start the app with these flags (host and port are chosen here), wait until it serves its
    page, yield its URL, stop it. Its output goes to `log`, quoted if it fails to start.
    `program`: what runs instead of app.py (e.g. tests/faulty_app.py with a fault's name)."""
    port = free_port()
    command = [sys.executable, *program, "--host", "127.0.0.1", "--port", str(port), *map(str, args)]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"app did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
