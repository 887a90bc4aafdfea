"""Batch prediction from the command line: a (multi-)FASTA in, CSVs and per-protein files out.

    python predict.py proteome.fasta --out results/ --tasks ptm,localization
    python predict.py proteome.fasta --out results/ --tasks embeddings
    python predict.py proteins.fasta --out results/ --variants variants.csv   # id,variant rows
    accelerate launch --multi_gpu --num_processes 2 predict.py proteome.fasta --out results/
    torchrun --nproc_per_node 2 predict.py proteome.fasta --out results/

Several processes: `accelerate launch --multi_gpu` (torch.distributed.run underneath) works on
machines without a GPU too; the processes then talk over gloo on the CPU. `accelerate launch
--cpu --num_processes N` starts N processes only through MPI (a hostfile); without it, one.

Exit status: 0 every record (and variant) predicted; 1 some failed (see the `error` column of
summary.csv and variant_effects.csv); 2 the input or the options could not be used at all.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import time
from pathlib import Path

from models.analysis.head_cards import HeadCardError
from models.batch.inputs import decode_fasta, parse_tasks, read_records
from models.batch.outputs import DEFAULT_THRESHOLD, merge, write_map
from models.batch.run import plan, run
from models.batch.variants import EFFECTS_FILE, predict_variants, read_variants_csv
from models.shared.sequences import SequenceError
from models.shared.settings import add_model_arguments
from models.shared.tasks import ALL_TASKS, DEFAULT_TASKS, MAP

MAX_INPUT_BYTES = 1024**3  # a whole proteome fits many times over; beyond this, split the file
MAX_RECORDS = 1_000_000
log = logging.getLogger("predict")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Predict structure, PTM sites, localization and contacts for each record of a FASTA.",
        epilog="Under `accelerate launch --multi_gpu --num_processes N` (with or without GPUs) or "
        "`torchrun --nproc_per_node N` the records are split across processes and merged into one output. "
        "Exit status: 0 all records ok, 1 some failed, 2 unusable input or options.",
    )
    parser.add_argument("input", type=Path, help="FASTA file (plain or .gz), one or many records")
    parser.add_argument("--out", type=Path, required=True, help="output directory (re-runs resume in it)")
    parser.add_argument(
        "--tasks",
        default=",".join(DEFAULT_TASKS),
        help=f"comma-separated subset of {','.join(ALL_TASKS)} (default: {','.join(DEFAULT_TASKS)}; "
        "embeddings writes the backbone's per-residue and mean embeddings as .npy)",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="probability at which a PTM site counts in summary.csv (ptm_sites.csv lists every candidate)",
    )
    parser.add_argument(
        "--variants",
        type=Path,
        metavar="CSV",
        help="a CSV with columns id,variant (ids as in the FASTA; K48R, p.Lys48Arg, K48R+E51A): writes "
        "variant_effects.csv, one row per variant with its main differences from the wild type and a "
        "status/error column (with the structure task, mutants of folded records are folded too)",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the result cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def read_input(path: Path) -> str:
    """The file's text (plain or gzip). Raises SequenceError with what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise SequenceError(f"{path} is {size:,} bytes; the limit is {MAX_INPUT_BYTES:,}. Split it.")
        raw = path.read_bytes()
    except OSError as error:
        raise SequenceError(f"Cannot read {path}: {error.strerror or error}") from error
    return decode_fasta(raw, str(path), MAX_INPUT_BYTES)


def _write_map(studio, out: Path, records) -> None:
    """map.csv: every record placed on the protein map at once (after every process is done)."""
    try:
        protein_map = studio.annotator.heads().map
        problem = studio.annotator.heads().map_problem
    except Exception as error:  # noqa: BLE001 - the heads failed to load: every record already says why
        protein_map, problem = None, str(error)
    if protein_map is None:
        print(f"map: not written: {problem}", file=sys.stderr)
        return
    started = time.perf_counter()
    rows = write_map(out, records, protein_map)
    print(f"map: {len(rows):,} chains placed in {time.perf_counter() - started:.1f} s -> {out / 'map.csv'}",
          file=sys.stderr)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        tasks = parse_tasks(args.tasks)
        records = read_records(read_input(args.input), max_chars=MAX_INPUT_BYTES, max_records=MAX_RECORDS)
        variants = read_variants(args.variants) if args.variants else None
    except (ValueError, SequenceError) as error:
        print(f"predict.py: {error}", file=sys.stderr)
        return 2

    # Imported only now: torch and the models take ~1.5 s to import, and bad input or a bad
    # flag should be told at once.
    import torch
    from accelerate import PartialState
    from transformers.utils import logging as hf_logging

    from models.studio import Studio, StudioConfig, default_result_cache

    hf_logging.disable_progress_bar()  # one progress bar: ours

    # One process unless started by `accelerate launch`/torchrun. cpu=True lets processes
    # without a GPU join over gloo (accelerate otherwise treats them as unrelated single runs).
    # The long timeout lets a rank that finished early wait at the final barrier for one
    # still folding.
    on_cpu = args.device == "cpu" or not torch.cuda.is_available()
    state = PartialState(cpu=on_cpu, timeout=datetime.timedelta(days=7))
    if state.num_processes == 1 and os.environ.get("ACCELERATE_USE_CPU") == "True":
        log.warning(
            "Running as one process: `accelerate launch --cpu` starts several only through MPI. "
            "Use `accelerate launch --multi_gpu --num_processes N` (works without GPUs) or torchrun."
        )
    device = args.device
    if device == "auto" and state.device.type == "cuda":
        device = str(state.device)  # one GPU per process
    try:
        studio = Studio(
            StudioConfig(
                fold_model=args.fold_model,
                device=device,
                max_fold_length=args.max_fold_length,
                backbone=args.backbone,
                heads_dir=args.heads,
                max_analyze_length=args.max_analyze_length,
                lm_model=args.lm_model,
                result_cache=None if args.no_cache else default_result_cache(),
            )
        )
    except HeadCardError as error:
        print(f"predict.py: {error}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    from tqdm import tqdm

    # Every rank cuts the same chunks and keeps its own share.
    mine = plan(records, tasks, args.out, state.process_index, state.num_processes)
    label = "records" if state.num_processes == 1 else f"records (process 1 of {state.num_processes})"
    started = time.perf_counter()
    with tqdm(
        total=sum(map(len, mine)), desc=label, unit="rec", disable=args.quiet or not state.is_main_process
    ) as bar:
        done = run(studio, records, tasks, args.out, state.process_index, progress=bar.update, chunks=mine)
    done = f"{done} in {time.perf_counter() - started:.1f} s"
    state.wait_for_everyone()
    per_process = [done]
    if state.num_processes > 1:
        from accelerate.utils import gather_object

        per_process = gather_object([done])
    if not state.is_main_process:
        return 0
    rows = merge(args.out, records, tasks, args.threshold)
    if MAP in tasks:
        _write_map(studio, args.out, records)
    failed = [r for r in rows if r["status"] != "ok"]
    print(
        f"{len(rows) - len(failed):,} of {len(rows):,} records predicted ({', '.join(tasks)}) -> {args.out}; "
        f"computed now per process: {', '.join(map(str, per_process))}",
        file=sys.stderr,
    )
    _print_some([f"{row['id']}: {row['status']}: {row['error']}" for row in failed], args.out / "summary.csv")
    bad_variants = []
    if variants is not None:
        effects = predict_variants(studio, records, variants, args.out, "structure" in tasks, args.threshold)
        bad_variants = [e for e in effects if e["status"] != "ok"]
        print(
            f"{len(effects) - len(bad_variants):,} of {len(effects):,} variants predicted -> "
            f"{args.out / EFFECTS_FILE}",
            file=sys.stderr,
        )
        _print_some(
            [f"{row['id']} {row['variant']}: {row['error']}" for row in bad_variants], args.out / EFFECTS_FILE
        )
    return 1 if failed or bad_variants else 0


def _print_some(problems: list[str], where: Path, shown: int = 10) -> None:
    """The first problems on stderr; the file has them all."""
    for line in problems[:shown]:
        print(f"  {line}", file=sys.stderr)
    if len(problems) > shown:
        print(f"  ... and {len(problems) - shown:,} more; see {where}", file=sys.stderr)


def read_variants(path: Path) -> list:
    """The --variants CSV's rows; ValueError (exit 2) when the file cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"Cannot read {path}: {getattr(error, 'strerror', None) or error}") from error
    return read_variants_csv(text, str(path))


if __name__ == "__main__":
    sys.exit(main())
