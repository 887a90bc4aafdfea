"""`python -m training ptm-sites`: one site head per PTM type from public data (`training.ptm_data`),
each with site-head's recipe, split by homology cluster, its card naming every source and licence."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from training.ptm_data import NON_COMMERCIAL, PHOSPHOSITEPLUS, SOURCES, prepare
from training.site_data import head_stem, read_sites
from training.site_head import train_site_head

log = logging.getLogger("training")


def card_fields(table, data: dict) -> dict:
    """What a card says about its data: inputs and their digests, every source with its licence
    and how many of the type's positive sites it gave, and the licence the data imposes."""
    used = dict(table.sources)
    return {
        "data_sources": {
            "inputs": data["inputs"],
            "compendia": {
                source: {
                    "licence": SOURCES.get(source, "unknown"),
                    "positive_sites_before_the_protein_draw": used.get(source, 0),
                }
                for source in sorted(set(SOURCES) | set(used))
            },
            "phosphositeplus_used": table.uses_psp,
            "why": (
                f"without {PHOSPHOSITEPLUS} fewer than 2,000 positive sites remain"
                if table.uses_psp
                else f"{PHOSPHOSITEPLUS} rows left out: the other sources give at least 2,000 positive sites"
            ),
            **{k: v for k, v in data.items() if k != "inputs"},
        },
        "data_licence": (
            f"{NON_COMMERCIAL} ({PHOSPHOSITEPLUS}: {SOURCES[PHOSPHOSITEPLUS]})" if table.uses_psp else None
        ),
    }


def run(args, argv: list[str]) -> list[Path]:
    started = time.perf_counter()
    tables, data = prepare(args.work, args.max_proteins, args.seed)
    cards = []
    for table, path in tables:
        if args.types and table.ptm_type.name not in args.types:
            continue
        site_table = read_sites(path, table.ptm_type.residues)
        head_args = argparse.Namespace(
            name=table.ptm_type.name, residues=table.ptm_type.residues, sites=path, out=args.out,
            backbone=args.backbone, seed=args.seed, members=args.members, epochs=args.epochs,
        )  # fmt: skip
        log.info("training %s (%s)", table.ptm_type.name, head_stem(table.ptm_type.name))
        cards.append(train_site_head(head_args, argv, site_table, started, card_fields(table, data)))
    return cards

