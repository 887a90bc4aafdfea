"""Sequence annotation: one ESM-2 pass -> PTM sites, localization and contacts (`Annotation`)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.backbone import DEFAULT_BACKBONE, Backbone, sha256_file
from models.disk_cache import DiskCache, fingerprint_path
from models.errors import BackboneUnavailable, SequenceError
from models.features import pooled_features
from models.heads import load_head
from models.sequences import Protein
from models.settings import DEFAULT_MAX_ANALYZE_LENGTH, HEADS_DIR
from models.tasks import ANALYSIS_TASKS as TASKS

MEMBRANE_WORD = "Membrane"
SIMILAR_SHOWN = 5  # most similar training proteins listed with a localization


@dataclass(frozen=True)
class Site:
    position: int  # 1-based
    residue: str
    type: str
    probability: float

    def window(self, sequence: str, flank: int = 7) -> str:
        """The site with `flank` residues either side ('-' beyond the ends), site in lowercase."""
        i = self.position - 1
        left = sequence[max(0, i - flank) : i].rjust(flank, "-")
        right = sequence[i + 1 : i + 1 + flank].ljust(flank, "-")
        return left + sequence[i].lower() + right


@dataclass
class Annotation:
    id: str
    sequence: str
    sites: list[Site]
    localization: dict[str, float]  # every class, sums to 1
    contacts: np.ndarray | None  # (L, L) probabilities, None if not asked for
    backbone: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    # The most similar training proteins (whose labels vote in the localization): entry, class,
    # cosine similarity of their embeddings. Evidence a biologist can check in UniProt.
    similar: list[dict] = field(default_factory=list)

    @property
    def membrane_probability(self) -> float:
        return float(sum(p for c, p in self.localization.items() if MEMBRANE_WORD in c.split(";")))

    @property
    def top_localization(self) -> tuple[str, float]:
        name = max(self.localization, key=self.localization.get)
        return name, self.localization[name]

    def localization_json(self) -> dict:
        ranked = sorted(self.localization.items(), key=lambda kv: -kv[1])
        return {
            "id": self.id,
            "probabilities": {k: round(v, 6) for k, v in self.localization.items()},
            "top": {"class": ranked[0][0], "probability": round(ranked[0][1], 4)},
            "top3": [{"class": k, "probability": round(v, 4)} for k, v in ranked[:3]],
            "membrane": round(self.membrane_probability, 4),
            "soluble": round(1 - self.membrane_probability, 4),
            "similar_training_proteins": self.similar,
        }

    def ptm_json(self) -> dict:
        return {
            "id": self.id,
            "sites": [
                {
                    "position": s.position,
                    "residue": s.residue,
                    "type": s.type,
                    "probability": round(s.probability, 4),
                    "window": s.window(self.sequence),
                }
                for s in self.sites
            ],
        }

    def contacts_json(self) -> dict:
        return {"id": self.id, "length": len(self.sequence), "contacts": np.round(self.contacts, 3).tolist()}


class HeadsMismatch(BackboneUnavailable):
    """Trained heads do not belong to the loaded backbone."""


class Annotator:
    """Owns the backbone and the heads (lazily loaded once). Results are memoised per sequence
    in memory and, per (model, task, sequence), in the optional on-disk `result_cache`."""

    def __init__(
        self,
        backbone: str | None = DEFAULT_BACKBONE,
        device: str = "cpu",
        heads_dir: Path = HEADS_DIR,
        max_length: int = DEFAULT_MAX_ANALYZE_LENGTH,
        cache_entries: int = 64,
        result_cache: DiskCache | None = None,
    ):
        self.backbone = Backbone(backbone, device)
        self.heads_dir = Path(heads_dir)
        self.max_length = max_length
        self.result_cache = result_cache or DiskCache(None)
        self._heads: dict | None = None
        self._task_models: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Annotation] = OrderedDict()
        self._cache_entries = cache_entries

    def heads(self) -> dict:
        if self._heads is None:
            with self._lock:
                if self._heads is None:
                    self._heads = self._load_heads()
        return self._heads

    def _load_heads(self) -> dict:
        model = self.backbone.load()
        heads = {}
        for name in ("ptm_sumo", "localization"):
            card_path = self.heads_dir / f"{name}.json"
            if not card_path.is_file():
                raise HeadsMismatch(f"No trained head at {card_path}. Train heads with `python -m training`.")
            head, card = load_head(card_path)
            if card["config"]["dim"] != model.config.hidden_size:
                raise HeadsMismatch(
                    f"The {name} head was trained on {card['backbone']['id']} "
                    f"({card['config']['dim']}-dim), not on the loaded backbone '{self.backbone.spec}' "
                    f"({model.config.hidden_size}-dim). Re-train the heads for it: "
                    f"python -m training --backbone {self.backbone.spec}"
                )
            card["weights_sha256"] = sha256_file(self.heads_dir / card["weights"])
            heads[name] = (head, card)
        return heads

    def check(self, protein: Protein) -> None:
        if len(protein.chains) > 1:
            raise SequenceError(
                f"'{protein.id}' has {len(protein.chains)} chains; PTM, localization and contact "
                "prediction take one chain. Remove ':' or analyse the chains one at a time."
            )
        if protein.length > self.max_length:
            raise SequenceError(
                f"'{protein.id}' has {protein.length:,} residues; the analysis limit is "
                f"{self.max_length:,} (raise it with --max-analyze-length or MAX_ANALYZE_LENGTH)."
            )

    def annotate(self, protein: Protein) -> Annotation:
        return self.annotate_many([protein])[0]

    def task_models(self) -> dict[str, str]:
        """Cache identity of the model behind each task: backbone weights (+ the task's head)."""
        if self._task_models is None:
            heads = self.heads()
            sha = self.backbone.weights_sha256 or fingerprint_path(self.backbone.path or self.backbone.spec)
            backbone = f"{self.backbone.spec}@{sha[:16]}"
            self._task_models = {
                "contacts": backbone,
                "ptm": f"{backbone}+{heads['ptm_sumo'][1]['weights_sha256'][:16]}",
                "localization": f"{backbone}+{heads['localization'][1]['weights_sha256'][:16]}",
            }
        return self._task_models

    def annotate_many(
        self, proteins: list[Protein], contacts: bool = True, tasks: tuple[str, ...] = TASKS
    ) -> list[Annotation]:
        """One backbone pass per sequence (batched) feeds every head. Raises SequenceError for
        the first invalid protein; callers that must not lose a batch check() each first.
        contacts=False (or leaving "contacts" out of `tasks`) skips the contact map: faster
        attention. Tasks not asked for are left empty in the returned annotations."""
        tasks = tuple(t for t in TASKS if t in tasks and (contacts or t != "contacts"))
        for protein in proteins:
            self.check(protein)
        found: dict[str, Annotation] = {}
        with self._lock:
            for p in proteins:
                if p.sequence in self._cache:
                    found[p.sequence] = self._cache[p.sequence]
        unique = list(dict.fromkeys(p.sequence for p in proteins if p.sequence not in found))
        stored: dict[str, dict] = {}
        if unique and self.result_cache.enabled:
            models = self.task_models()
            for sequence in unique:
                parts = {t: self.result_cache.get(models[t], t, sequence) for t in tasks}
                if all(v is not None for v in parts.values()):
                    found[sequence] = self._from_cache(sequence, parts)
                else:
                    stored[sequence] = parts
            unique = [s for s in unique if s not in found]
        if unique:
            heads = self.heads()
            started = time.perf_counter()
            outputs = self.backbone.run(unique, contacts="contacts" in tasks)
            per_sequence = (time.perf_counter() - started) / len(unique)
            for sequence, output in zip(unique, outputs):
                annotation = self._apply_heads(sequence, output, heads, per_sequence)
                found[sequence] = annotation
                self._store(annotation, tasks, stored.get(sequence, {}))
                if annotation.contacts is not None:  # only complete annotations are remembered
                    self._remember(sequence, annotation)
        out = []
        for p in proteins:
            a = found[p.sequence]
            out.append(replace(a, id=p.id) if a.id != p.id else a)
        return out

    def _store(self, annotation: Annotation, tasks: tuple[str, ...], already: dict) -> None:
        if not self.result_cache.enabled:
            return
        models, seq = self.task_models(), annotation.sequence
        for task in tasks:
            if already.get(task) is not None:
                continue
            if task == "ptm":
                arrays = {
                    "positions": np.array([s.position for s in annotation.sites], np.int32),
                    "probabilities": np.array([s.probability for s in annotation.sites], np.float64),
                }
                extra = {"type": self.heads()["ptm_sumo"][1]["config"]["ptm_type"]}
            elif task == "localization":
                arrays = {"probabilities": np.array(list(annotation.localization.values()), np.float64)}
                extra = {"classes": list(annotation.localization), "similar": annotation.similar}
            else:
                arrays, extra = {"contacts": annotation.contacts}, {}
            self.result_cache.put(models[task], task, seq, arrays, extra)

    def _from_cache(self, sequence: str, parts: dict) -> Annotation:
        sites, localization, contacts, similar = [], {}, None, []
        if parts.get("ptm") is not None:
            p = parts["ptm"]
            sites = [
                Site(int(i), sequence[int(i) - 1], p["type"], float(x))
                for i, x in zip(p["positions"], p["probabilities"])
            ]
        if parts.get("localization") is not None:
            p = parts["localization"]
            localization = {c: float(x) for c, x in zip(p["classes"], p["probabilities"])}
            similar = list(p.get("similar", []))
        if parts.get("contacts") is not None:
            contacts = parts["contacts"]["contacts"]
        return Annotation(
            id="",
            sequence=sequence,
            sites=sites,
            localization=localization,
            contacts=contacts,
            backbone=self.backbone.spec,
            notes=["from the result cache"],
            similar=similar,
        )

    def _remember(self, sequence: str, annotation: Annotation) -> None:
        with self._lock:
            self._cache[sequence] = annotation
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)

    def _apply_heads(self, sequence: str, output, heads: dict, seconds: float) -> Annotation:
        site_head, site_card = heads["ptm_sumo"]
        residues = site_card["config"]["residues"]
        positions = [i for i, aa in enumerate(sequence) if aa in residues]
        probabilities = site_head.predict(output.hidden, positions)
        sites = [
            Site(i + 1, sequence[i], site_card["config"]["ptm_type"], float(p))
            for i, p in zip(positions, probabilities)
        ]
        loc_head, loc_card = heads["localization"]
        entries = loc_card.get("reference_entries") or []
        probs, nearest = loc_head.predict_with_similar(
            pooled_features(output.hidden), output.hidden[-1], SIMILAR_SHOWN if entries else 0
        )
        classes = loc_card["config"]["classes"]
        localization = {c: float(p) for c, p in zip(classes, probs)}
        similar = [
            {"entry": entries[i], "localization": classes[c], "similarity": round(x, 4)}
            for i, c, x in nearest
        ]
        return Annotation(
            id="",
            sequence=sequence,
            sites=sites,
            localization=localization,
            contacts=output.contacts,
            backbone=self.backbone.spec,
            seconds=seconds,
            similar=similar,
        )

    def cards(self) -> dict:
        return {name: card for name, (_, card) in self.heads().items()}
