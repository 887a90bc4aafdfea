"""Load test: concurrent gradio_client users against `python app.py` on loopback.

    python scripts/load_test.py [--users 32] [--requests 4] [--max-seconds 900]

1. Starts the app (tiny random ESMFold built in a temp dir, the real ESM-2 backbone, no result
   cache) on a free loopback port.
2. Load: `--users` threads, each with its own Client, send `--requests` mixed requests each
   (fold, ptm, localization, contacts) at the same time. Every request has a sequence of its
   own, so no answer can come from a cache.
3. Reference: a second, fresh app answers the same requests one at a time.
4. Every loaded answer must equal its lone answer, none may be missing. Prints p50/p95 latency
   per kind and throughput.
5. Burst: a third app with a queue of `--burst-queue` gets `--burst` simultaneous folds; those
   beyond the queue must get the "queue is full, try again" answer, the rest their results.
Bounded: each call has a timeout and the whole run stops after --max-seconds. Exit 0 if all holds.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client would otherwise look up the Hub

KINDS = ("fold", "ptm", "localization", "contacts")
AMINO = "ACDEFGHIKLMNPQRSTVWY"


@dataclass
class Request:
    kind: str
    sequence: str


@dataclass
class Outcome:
    request: Request
    seconds: float
    answer: object = None
    error: str | None = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    wall: float = 0.0


def make_requests(users: int, per_user: int, seed: int = 0) -> list[list[Request]]:
    rng = random.Random(seed)
    plan = []
    for u in range(users):
        mine = []
        for r in range(per_user):
            length = rng.randint(40, 200)
            sequence = "M" + "".join(rng.choice(AMINO) for _ in range(length - 1))
            mine.append(Request(KINDS[(u + r) % len(KINDS)], sequence))
        plan.append(mine)
    return plan


def call(client, request: Request):
    """One request as a user's client sends it; returns a comparable answer."""
    text = f">load\n{request.sequence}"
    if request.kind == "fold":
        result = client.predict(text, "cartoon", "pLDDT", api_name="/fold")
        summary, pdb_path = result[2], result[1]
        pdb = Path(pdb_path).read_text() if pdb_path else None
        return {"mean_plddt": summary["mean_plddt"], "ptm": summary["ptm"], "pdb": pdb}
    return client.predict(text, api_name=f"/{request.kind}")


@contextmanager
def running_app(fold_model: Path, extra: list[str] = (), log_dir: Path | None = None):
    """The app with the tiny fold model and no result cache (every answer is computed)."""
    from tests.app_process import running_app as app_process

    log = Path(log_dir or tempfile.mkdtemp()) / f"app-{uuid.uuid4().hex[:8]}.log"
    with app_process(["--fold-model", fold_model, "--result-cache", "off", *extra], log) as url:
        yield url


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def run_load(url: str, plan: list[list[Request]], timeout: float) -> Report:
    """Each user thread sends its requests one after another; all users at once."""
    report = Report()
    lock = threading.Lock()
    start_line = threading.Barrier(len(plan))

    def user(requests: list[Request]) -> None:
        client = _client(url)
        start_line.wait(timeout=timeout)
        for request in requests:
            started = time.perf_counter()
            try:
                outcome = Outcome(request, 0.0, answer=call(client, request))
            except Exception as error:  # noqa: BLE001 - recorded and reported, never hidden
                outcome = Outcome(request, 0.0, error=f"{type(error).__name__}: {error}")
            outcome.seconds = time.perf_counter() - started
            with lock:
                report.outcomes.append(outcome)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(plan)) as pool:
        futures = [pool.submit(user, requests) for requests in plan]
        for future in as_completed(futures, timeout=timeout):
            future.result()
    report.wall = time.perf_counter() - started
    return report


def run_alone(url: str, requests: list[Request]) -> dict[tuple[str, str], object]:
    client = _client(url)
    return {(r.kind, r.sequence): call(client, r) for r in requests}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def check(report: Report, reference: dict, expected: int) -> list[str]:
    problems = []
    if len(report.outcomes) != expected:
        problems.append(f"{expected - len(report.outcomes)} requests lost (no answer, no error)")
    for o in report.outcomes:
        if o.error:
            problems.append(f"{o.request.kind} failed under load: {o.error[:200]}")
        elif o.answer != reference[(o.request.kind, o.request.sequence)]:
            problems.append(f"{o.request.kind} answer under load differs from the lone answer")
    return problems


def summarise(report: Report) -> str:
    lines = [f"{'kind':14s} {'n':>4s} {'p50 s':>7s} {'p95 s':>7s}"]
    for kind in (*KINDS, "all"):
        times = [o.seconds for o in report.outcomes if kind in ("all", o.request.kind)]
        lines.append(
            f"{kind:14s} {len(times):4d} {percentile(times, 0.5):7.2f} {percentile(times, 0.95):7.2f}"
        )
    n = len(report.outcomes)
    lines.append(f"throughput: {n} requests in {report.wall:.1f} s = {n / report.wall:.2f} requests/s")
    return "\n".join(lines)


def burst(url: str, n: int, timeout: float) -> tuple[int, int, list[str]]:
    """n simultaneous folds of distinct sequences: (answered, told busy, other errors)."""
    plan = make_requests(n, 1, seed=99)
    clients = [_client(url) for _ in range(n)]
    gate = threading.Barrier(n)

    def one(i: int):
        request = Request("fold", plan[i][0].sequence)
        gate.wait(timeout=timeout)
        try:
            call(clients[i], request)
            return "ok"
        except Exception as error:  # noqa: BLE001
            return f"{type(error).__name__}: {error}"

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n), timeout=timeout))
    busy = [r for r in results if "Queue is full" in r and "try again" in r]
    other = [r for r in results if r != "ok" and r not in busy]
    return results.count("ok"), len(busy), other


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--requests", type=int, default=4, help="requests per user")
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--burst", type=int, default=24, help="simultaneous folds in the burst phase")
    parser.add_argument("--burst-queue", type=int, default=4, help="queue size of the burst app")
    args = parser.parse_args(argv)
    from tests.tiny_models import save_tiny_esmfold

    deadline = time.monotonic() + args.max_seconds
    with tempfile.TemporaryDirectory() as tmp:
        fold_model = save_tiny_esmfold(Path(tmp) / "tiny-esmfold")
        plan = make_requests(args.users, args.requests)
        flat = [r for user in plan for r in user]
        queue = ["--max-queue", str(max(64, 2 * args.users))]
        with running_app(fold_model, queue, Path(tmp)) as url:
            _client(url).predict(">warm\nMKVLA", api_name="/localization")  # load models first
            _client(url).predict(">warm\nMKVLA", "cartoon", "pLDDT", api_name="/fold")
            report = run_load(url, plan, timeout=deadline - time.monotonic())
        print(f"load: {args.users} users x {args.requests} requests ({', '.join(KINDS)}), 2 CPU cores")
        print(summarise(report))
        with running_app(fold_model, queue, Path(tmp)) as url:
            reference = run_alone(url, flat)
        problems = check(report, reference, len(flat))
        with running_app(fold_model, ["--max-queue", str(args.burst_queue)], Path(tmp)) as url:
            _client(url).predict(">warm\nMKVLA", "cartoon", "pLDDT", api_name="/fold")
            answered, busy, other = burst(url, args.burst, timeout=max(30, deadline - time.monotonic()))
        print(
            f"burst: {args.burst} simultaneous folds, queue {args.burst_queue}: {answered} answered, "
            f"{busy} told 'Queue is full! Please try again.', {len(other)} other errors"
        )
        if answered + busy != args.burst or busy == 0:
            problems.append(f"burst: expected answers plus busy messages, got {other[:3]}")
    for p in problems[:20]:
        print("PROBLEM:", p)
    print(
        "OK: every request answered, each equal to its lone answer"
        if not problems
        else f"{len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
