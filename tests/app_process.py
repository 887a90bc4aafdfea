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


class StartingApp:
    """An app process started now, on a free loopback port, that is waited for later: its start
    (imports, model set-up: several seconds of one core) overlaps whatever runs meanwhile."""

    def __init__(self, args: list, log: Path, program: tuple[str, ...] = ("app.py",)):
        port = free_port()
        command = [sys.executable, *program, "--host", "127.0.0.1", "--port", str(port), *map(str, args)]
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}/"

    def wait(self, timeout: float = 120.0) -> str:
        """Block until the app serves its page; its URL. Its log is quoted if it fails to start."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"app exited with {code}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return self.url
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"app did not answer in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def running_app(
    args: list, log: Path, timeout: float = 120.0, program: tuple[str, ...] = ("app.py",)
) -> Iterator[str]:
    """Start the app with these flags (host and port are chosen here), wait until it serves its
    page, yield its URL, stop it. Its output goes to `log`, quoted if it fails to start.
    `program`: what runs instead of app.py (e.g. tests/faulty_app.py with a fault's name)."""
    app = StartingApp(args, log, program)
    try:
        yield app.wait(timeout)
    finally:
        app.stop()
