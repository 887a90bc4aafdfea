"""The facade the app and the CLI share: owns the models, loads them lazily, caches results."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.analysis.annotation import DEFAULT_MAX_ANALYZE_LENGTH, HEADS_DIR, TASKS, Annotation, Annotator
from models.analysis.backbone import DEFAULT_BACKBONE
from models.shared.disk_cache import DEFAULT_MAX_BYTES, DiskCache, fingerprint_path
from models.shared.files import cache_root
from models.shared.gpu import gpu_task
from models.shared.memo import LockedLRU
from models.shared.sequences import Protein, check_foldable
from models.shared.settings import DEFAULT_LM_MODEL, DEFAULT_MAX_FOLD_LENGTH
from models.shared.tasks import BACKBONE_TASKS
from models.structure.folding import DEFAULT_FOLD_MODEL, Folder
from models.structure.reading import read_structure, to_structure
from models.structure.result import Structure
from models.structure.secondary import (
    SecondaryStructureUnavailable,
    relative_accessibility,
    secondary_structure,
)
from models.variants.effects import DEFAULT_MAX_VARIANT_FOLDS, DEFAULT_THRESHOLD, mutate
from models.variants.language_model import MaskedLanguageModel
from models.variants.scan import DEFAULT_MAX_SCAN_POSITIONS, scan


@dataclass
class StudioConfig:
    fold_model: str = DEFAULT_FOLD_MODEL
    device: str = "auto"
    max_fold_length: int = DEFAULT_MAX_FOLD_LENGTH
    backbone: str = DEFAULT_BACKBONE
    heads_dir: str | list[str] = str(HEADS_DIR)  # one folder, or several (each may join paths by ':')
    max_analyze_length: int = DEFAULT_MAX_ANALYZE_LENGTH
    cache_entries: int = 32
    # Persistent results shared by the app and predict.py; None turns it off.
    result_cache: str | None = field(default_factory=lambda: default_result_cache())
    result_cache_bytes: int = DEFAULT_MAX_BYTES
    lm_model: str = DEFAULT_LM_MODEL  # masked LM for variant scores (loaded on first use)
    max_scan_positions: int = DEFAULT_MAX_SCAN_POSITIONS
    max_variant_folds: int = DEFAULT_MAX_VARIANT_FOLDS  # mutants folded per /mutate request


def default_result_cache() -> str | None:
    """PROTEIN_STUDIO_RESULTS (a directory, or "off"), else <cache root>/results."""
    value = os.environ.get("PROTEIN_STUDIO_RESULTS", "").strip()
    if value.lower() in ("off", "none", "0"):
        return None
    return value or str(cache_root() / "results")


class Studio:
    """One object per process: `fold(protein)` -> `Structure`, memoised per sequence."""

    def __init__(self, config: StudioConfig | None = None):
        self.config = config or StudioConfig()
        self.folder = Folder(self.config.fold_model, self.config.device)
        # The 8M backbone is faster on CPU than the GPU round trip for one sequence; it follows
        # --device only when that names a GPU explicitly.
        backbone_device = self.config.device if self.config.device.startswith("cuda") else "cpu"
        self.result_cache = DiskCache(self.config.result_cache, self.config.result_cache_bytes)
        self.annotator = Annotator(
            self.config.backbone,
            backbone_device,
            self.config.heads_dir,
            self.config.max_analyze_length,
            result_cache=self.result_cache,
        )
        # Loaded on the first language-model readout, like ESMFold on the first fold.
        self.language_model = MaskedLanguageModel(self.config.lm_model, backbone_device)
        self._fold_model_key: str | None = None
        self._structures: LockedLRU[str, Structure] = LockedLRU(self.config.cache_entries)

    def fold(self, protein: Protein) -> Structure:
        """Validate, then fold (or answer from the cache). Raises SequenceError and the
        folding errors of `models.structure.folding` with user-facing messages."""
        check_foldable(protein, self.config.max_fold_length)
        cached = self._structures.get(protein.sequence)
        if cached is None:
            cached = self._structure_from_disk(protein)
        if cached is None:
            cached = _fold_on_accelerator(self.folder, protein)
            self._structure_to_disk(cached)
            self._structures.put(protein.sequence, cached)
        if cached.ss is None:
            with_secondary(cached)
        # Same coordinates, but the caller's record id.
        return cached if cached.id == protein.id else replace(cached, id=protein.id)

    def inspect(self, source, name: str = "", chain: str | None = None) -> tuple[Structure, dict]:
        """A structure file (PDB/mmCIF, gzip or not) opened as the app's Structure (one chain,
        the first protein chain by default) with its secondary structure and accessibility,
        and what the file held (chains, what was skipped or mapped). Raises StructureFileError."""
        opened = read_structure(source, name)
        structure = to_structure(opened, chain, self.config.max_analyze_length)
        return with_secondary(structure), opened.summary()

    def cached_structure(self, protein: Protein) -> Structure | None:
        """The structure of this exact sequence if it was already folded (never folds)."""
        return self._structures.get(protein.sequence)

    def folded(self, protein: Protein) -> Structure | None:
        """This sequence's structure if it was folded before, here or into the result cache
        (never folds): a variant is folded only when its wild type was."""
        found = self._structures.get(protein.sequence)
        if found is None:
            found = self._structure_from_disk(protein)
            if found is None:
                return None
            self._structures.put(protein.sequence, found)
        if found.ss is None:
            with_secondary(found)
        return found

    def mutate(
        self, protein: Protein, variants_text: str, threshold: float = DEFAULT_THRESHOLD, fold: bool = True
    ):
        """Each variant's differences from the wild type (`models.variants.effects.MutationReport`);
        with `fold`, variants of an already folded wild type are folded too."""
        return mutate(self, protein, variants_text, threshold, fold, self.config.max_variant_folds)

    def scan(self, protein: Protein, readout: str, first, last, progress=None):
        """A site-saturation scan of first..last (`models.variants.scan.ScanResult`)."""
        return scan(self, protein, readout, first, last, self.config.max_scan_positions, progress)

    def annotate(self, protein: Protein) -> Annotation:
        """PTM sites, localization and contacts from one backbone pass (memoised)."""
        return self.annotator.annotate(protein)

    def annotate_chains(self, protein: Protein) -> list[tuple[str, Annotation]]:
        """Each chain analysed as the protein it is (one batched pass): [(letter, Annotation)]."""
        chains = protein.per_chain()
        annotations = self.annotator.annotate_many([p for _, p in chains], tasks=BACKBONE_TASKS)
        return [(letter, a) for (letter, _), a in zip(chains, annotations)]

    def fold_stage(self, protein: Protein) -> str:
        """What a fold of this protein will do first, in words, for the status line."""
        if not self.folder.loaded and not self.folder.load_failed:
            if Path(self.config.fold_model).expanduser().is_dir():
                return (
                    f"loading ESMFold from {self.config.fold_model}, then folding {protein.length:,} residues"
                )
            return (
                f"looking for the ESMFold weights ({self.config.fold_model}) in the local cache and on the "
                f"Hub (first time: about 8.4 GB to download), then folding {protein.length:,} residues"
            )
        return f"folding {protein.length:,} residues"

    def retry_fold_model(self) -> None:
        """Forget a failed ESMFold load: the next fold tries again at once."""
        self.folder.retry_loading()

    def annotate_many(self, proteins: list[Protein], tasks: tuple[str, ...] = TASKS) -> list[Annotation]:
        return self.annotator.annotate_many(proteins, tasks=tasks)

    @property
    def fold_model_key(self) -> str:
        """Cache identity of the folding model: its Hub id, or a local directory's fingerprint."""
        if self._fold_model_key is None:
            path = Path(self.config.fold_model)
            suffix = f"@{fingerprint_path(path)}" if path.exists() else ""
            self._fold_model_key = f"{self.config.fold_model}{suffix}"
        return self._fold_model_key

    def _structure_from_disk(self, protein: Protein) -> Structure | None:
        if not self.result_cache.enabled:
            return None
        hit = self.result_cache.get(self.fold_model_key, "structure", protein.sequence)
        if hit is None:
            return None
        try:
            return Structure(
                id=protein.id,
                chains=tuple(hit["chains"]),
                pdb=hit["pdb"],
                plddt=hit["plddt"],
                pae=hit["pae"],
                ptm=float(hit["ptm"]),
                iptm=None if hit["iptm"] is None else float(hit["iptm"]),
                chain_ptm={chain: float(v) for chain, v in hit["chain_ptm"].items()},
                model=hit["model"],
                device=hit["device"],
                seconds=float(hit["seconds"]),
                chunk_size=hit["chunk_size"],
                notes=[*hit["notes"], "from the result cache"],
                ca=hit["ca"],
                cb=hit["cb"],
                atom37=hit["atom37"],
                atom37_mask=np.asarray(hit["atom37_mask"], dtype=bool),
            )
        except (AttributeError, KeyError, TypeError, ValueError):  # an older layout: recompute
            return None

    def _structure_to_disk(self, s: Structure) -> None:
        extra = {
            "chains": list(s.chains),
            "pdb": s.pdb,
            "ptm": s.ptm,
            "iptm": s.iptm,
            "chain_ptm": s.chain_ptm,
            "model": s.model,
            "device": s.device,
            "seconds": s.seconds,
            "chunk_size": s.chunk_size,
            "notes": s.notes,
        }
        arrays = {"plddt": np.asarray(s.plddt), "pae": np.asarray(s.pae)}
        arrays.update(
            {
                k: v
                for k, v in (("ca", s.ca), ("cb", s.cb), ("atom37", s.atom37), ("atom37_mask", s.atom37_mask))
                if v is not None
            }
        )
        self.result_cache.put(self.fold_model_key, "structure", ":".join(s.chains), arrays, extra)


def with_secondary(structure: Structure) -> Structure:
    """Fill `ss` and `rsa` (DSSP 3-state, relative accessibility) where atoms allow; a structure
    without full-atom coordinates keeps them None rather than failing the fold."""
    try:
        structure.ss = secondary_structure(structure)[0]
        structure.rsa = relative_accessibility(structure)
    except SecondaryStructureUnavailable:
        pass
    except Exception:  # noqa: BLE001 - an add-on to the fold (pydssp fails on chains < 6): keep the fold
        logging.getLogger(__name__).warning("No secondary structure for %s", structure.id, exc_info=True)
        structure.ss = structure.rsa = None
    return structure


@gpu_task(duration=180)
def _fold_on_accelerator(folder: Folder, protein: Protein) -> Structure:
    return folder.fold(protein)
