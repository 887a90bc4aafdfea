"""Batch planning and running: which records this process predicts, in which batches, and how.

The work is cut into length-sorted chunks assigned to ranks; the chunking does not depend on
the number of processes, so every sequence is computed in the same batch with any number of
them and the merged output is byte-identical. One failing record never fails the others: its
errors are written to its record file (see `models.batch.outputs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from models.batch.inputs import Record
from models.batch.outputs import Failure, is_done, write_record
from models.shared.errors import BackboneUnavailable, FoldingOutOfMemory, FoldingUnavailable, SequenceError
from models.shared.sequences import Protein
from models.shared.tasks import BACKBONE_TASKS as FUNCTION_TASKS

if TYPE_CHECKING:  # the batch modules stay importable without torch (the app's UI uses them)
    from models.analysis.annotation import Annotation

log = logging.getLogger(__name__)

CHUNK_RECORDS = 8  # records per unit of work: one annotate_many call, one rank


def plan(
    records: list[Record], tasks: tuple[str, ...], out: Path, rank: int = 0, world: int = 1
) -> list[list[Record]]:
    """This rank's chunks of pending records.

    Chunks are cut from the length-sorted pending list independently of `world`, so every
    sequence meets the same batch companions with any number of processes (identical output).
    Chunks are then dealt longest-first to the least-loaded rank (estimated cost grows with
    L^2: attention and contacts), so ranks finish together; each rank works short to long.
    """
    pending = [r for r in records if r.protein is not None and not is_done(out, r, tasks)]
    pending.sort(key=lambda r: (r.protein.length, r.index))
    chunks = [pending[i : i + CHUNK_RECORDS] for i in range(0, len(pending), CHUNK_RECORDS)]
    cost = [sum(r.protein.length * (1 + r.protein.length / 500) for r in c) for c in chunks]
    load = [0.0] * world
    mine = []
    for i in sorted(range(len(chunks)), key=lambda i: (-cost[i], i)):
        owner = min(range(world), key=lambda w: (load[w], w))
        load[owner] += cost[i]
        if owner == rank:
            mine.append(i)
    return [chunks[i] for i in sorted(mine)]


def _failure(error: BaseException) -> Failure:
    if isinstance(error, SequenceError):
        return Failure(str(error), transient=False)
    if isinstance(error, BackboneUnavailable | FoldingUnavailable | FoldingOutOfMemory):
        return Failure(str(error), transient=True)
    log.error("Unexpected error in batch prediction", exc_info=error)
    return Failure(f"unexpected error ({type(error).__name__}); see the log", transient=True)


def _annotate_chunk(studio, proteins: list[Protein], tasks: tuple[str, ...]) -> list[Annotation | Failure]:
    """An annotation or a Failure per protein: one bad protein never fails the chunk."""
    try:
        return list(studio.annotate_many(proteins, tasks=tasks))
    except Exception as error:  # noqa: BLE001 - isolate the failing record below
        if len(proteins) == 1:
            return [_failure(error)]
        log.warning("Chunk of %d failed (%s); retrying one record at a time", len(proteins), error)
        return [_annotate_chunk(studio, [p], tasks)[0] for p in proteins]


def run(
    studio,
    records: list[Record],
    tasks: tuple[str, ...],
    out: Path,
    rank: int = 0,
    world: int = 1,
    progress: Callable[[int], None] | None = None,
    chunks: list[list[Record]] | None = None,
) -> int:
    """Predict this rank's pending records and write their files. Returns how many it did.
    `chunks`: this rank's `plan(...)` if the caller already made it (it reads every record file)."""
    out = Path(out)
    if rank == 0:
        for record in records:
            if record.protein is None:
                write_record(out, record, tasks, {}, {"input": Failure(record.error, False)})
    function_tasks = tuple(t for t in tasks if t in FUNCTION_TASKS)
    done = 0
    for chunk in plan(records, tasks, out, rank, world) if chunks is None else chunks:
        failures: dict[int, dict[str, Failure]] = {r.index: {} for r in chunk}
        # Each chain of a complex is analysed as the protein it is (a monomer is its own chain
        # A); all chains of the chunk go through one annotate_many call.
        units: list[tuple[int, str, Protein]] = []
        for r in chunk:
            if not function_tasks:
                continue
            chains = r.protein.per_chain()
            try:
                for _, chain in chains:
                    studio.annotator.check(chain)
            except SequenceError as error:
                failures[r.index].update({t: _failure(error) for t in function_tasks})
                continue
            units += [(r.index, letter, chain) for letter, chain in chains]
        per_record: dict[int, list[tuple[str, Annotation]]] = {}
        if units:
            answers = _annotate_chunk(studio, [p for *_, p in units], function_tasks)
            for (index, letter, _), answer in zip(units, answers):
                if isinstance(answer, Failure):  # one failing chain fails the record's analysis
                    failures[index].update({t: answer for t in function_tasks})
                else:
                    per_record.setdefault(index, []).append((letter, answer))
        for r in chunk:
            results: dict[str, object] = {}
            if function_tasks and not failures[r.index]:
                results["annotations"] = per_record[r.index]
            if "structure" in tasks:
                try:
                    results["structure"] = studio.fold(r.protein)  # checks foldability itself
                except Exception as error:  # noqa: BLE001 - reported per record, never fatal
                    failures[r.index]["structure"] = _failure(error)
            write_record(out, r, tasks, results, failures[r.index])
            done += 1
            if progress:
                progress(1)
    return done
