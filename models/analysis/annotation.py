"""Sequence annotation: one ESM-2 pass -> PTM sites, localization, secondary structure and
accessibility, and contacts (`Annotation`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from models.analysis.backbone import DEFAULT_BACKBONE, Backbone
from models.analysis.features import pooled_features
from models.analysis.head_cards import HeadCard, HeadCards, read_head_cards, split_head_folders
from models.analysis.heads import load_head
from models.analysis.protein_map import MAP_CARD, ProteinMap, read_map
from models.analysis.secondary_prediction import SecondaryPrediction
from models.shared.disk_cache import DiskCache, fingerprint_path
from models.shared.errors import BackboneUnavailable, SequenceError
from models.shared.files import sha256_file
from models.shared.memo import LockedLRU
from models.shared.sequences import Protein
from models.shared.settings import DEFAULT_MAX_ANALYZE_LENGTH, HEADS_DIR
from models.shared.tasks import ANALYSIS_TASKS as TASKS
from models.shared.tasks import EMBEDDINGS, MAP

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
    # Every loaded site head as (PTM type, candidate residues), so a type with no candidate in
    # this sequence still gets its (empty) track.
    ptm_types: list[tuple[str, str]] = field(default_factory=list)
    # (L, D) float32: the backbone's last layer, only when the "embeddings" task is asked for.
    embedding: np.ndarray | None = None
    # Per-residue DSSP classes and RSA from the sequence; None without a secondary head (or not asked).
    secondary: SecondaryPrediction | None = None
    # (dims,) unit vector in the localization head's reference projection: what the protein map
    # places (None without a localization head).
    map_vector: np.ndarray | None = None

    @property
    def membrane_probability(self) -> float:
        return float(sum(p for c, p in self.localization.items() if MEMBRANE_WORD in c.split(";")))

    @property
    def top_localization(self) -> tuple[str, float]:
        name = max(self.localization, key=self.localization.get)
        return name, self.localization[name]

    def localization_json(self) -> dict:
        if not self.localization:
            return {"id": self.id, "probabilities": {}, "note": "No localization head is loaded."}
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
        # Rounded in float64: a float32 map rounded to 0.8 would print as 0.800000011920929.
        contacts = np.round(np.asarray(self.contacts, dtype=np.float64), 3)
        return {"id": self.id, "length": len(self.sequence), "contacts": contacts.tolist()}


class HeadsMismatch(BackboneUnavailable):
    """Trained heads are missing or do not belong to the loaded backbone."""


@dataclass(frozen=True)
class LoadedHead:
    module: object  # a models.analysis.heads module in eval mode
    card: HeadCard
    weights_sha256: str


@dataclass(frozen=True)
class LoadedHeads:
    sites: tuple[LoadedHead, ...]  # one per PTM type, in the order of the cards
    localization: LoadedHead | None
    secondary: LoadedHead | None = None
    map: ProteinMap | None = None  # the localization head's reference proteins in 2D
    map_problem: str | None = None  # why there is no map, when the head has one that does not fit


class Annotator:
    """Owns the backbone and the heads (lazily loaded once). Results are memoised per sequence
    in memory and, per (model, task, sequence), in the optional on-disk `result_cache`."""

    def __init__(
        self,
        backbone: str | None = DEFAULT_BACKBONE,
        device: str = "cpu",
        heads_dir: Path | str | Sequence[Path | str] = HEADS_DIR,
        max_length: int = DEFAULT_MAX_ANALYZE_LENGTH,
        cache_entries: int = 64,
        result_cache: DiskCache | None = None,
    ):
        self.backbone = Backbone(backbone, device)
        # Cards are read now: two heads of one name must stop the app at start-up.
        self.head_cards: HeadCards = read_head_cards(split_head_folders(heads_dir))
        self.max_length = max_length
        self.result_cache = result_cache or DiskCache(None)
        self._heads: LoadedHeads | None = None
        self._task_models: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._cache: LockedLRU = LockedLRU(cache_entries)
        self.warm_map = False  # build the protein map's index in the background when heads load

    def heads(self) -> LoadedHeads:
        if self._heads is None:
            with self._lock:
                if self._heads is None:
                    self._heads = self._load_heads()
        return self._heads

    def _load_heads(self) -> LoadedHeads:
        problem = self.head_cards.problem()
        if problem:
            raise HeadsMismatch(problem)
        model = self.backbone.load()
        loaded = []
        for card in self.head_cards.cards:
            dim = card.card.get("config", {}).get("dim")
            if dim != model.config.hidden_size:
                raise HeadsMismatch(
                    f"The {card.name} head ({card.path}) was trained on {card.backbone_id} ({dim}-dim), "
                    f"not on the loaded backbone '{self.backbone.spec}' ({model.config.hidden_size}-dim). "
                    f"Re-train it for this backbone (python -m training --backbone {self.backbone.spec}), "
                    "or start without that head folder."
                )
            module, _ = load_head(card.path)
            loaded.append(LoadedHead(module, card, sha256_file(card.weights)))
        sites = tuple(h for h in loaded if h.card.is_site)
        localization = next((h for h in loaded if h.card.kind == "localization"), None)
        secondary = next((h for h in loaded if h.card.kind == "secondary"), None)
        protein_map, problem = self._load_map(localization)
        return LoadedHeads(sites, localization, secondary, protein_map, problem)

    def _load_map(self, localization: LoadedHead | None) -> tuple[ProteinMap | None, str | None]:
        if localization is None:
            return None, "No localization head is loaded, so there is no protein map."
        path = localization.card.path.parent / MAP_CARD
        if not path.is_file():
            return None, f"No protein map beside the localization head ({path}): python -m training map"
        card = read_map(path)
        if card.card.get("localization_weights_sha256") != localization.weights_sha256:
            return None, (
                f"The protein map {path} was fitted for another localization head; fit it again: "
                "python -m training map"
            )
        module = localization.module
        protein_map = ProteinMap(
            card,
            module.reference.float().numpy(),
            module.reference_labels.numpy(),
            localization.card.card.get("reference_entries") or [],
            localization.card.card["config"]["classes"],
        )
        # openTSNE's neighbour index over the reference proteins takes seconds. The app builds it
        # in the background as soon as the heads load (`warm_map`), so its first map rarely waits;
        # a short-lived process (predict.py) does not: a daemon thread still inside scikit-learn
        # when the interpreter exits crashed it (exit status -11).
        if self.warm_map:
            threading.Thread(target=protein_map.embedding, daemon=True, name="protein-map").start()
        return protein_map, None

    def place(self, annotations: list[Annotation]) -> np.ndarray:
        """(n, 2) map coordinates of annotations with a map vector (see ProteinMap.place)."""
        heads = self.heads()
        if heads.map is None:
            raise BackboneUnavailable(heads.map_problem or "No protein map.")
        if any(a.map_vector is None for a in annotations):
            raise BackboneUnavailable("The localization head keeps no reference proteins to place among.")
        return heads.map.place(np.stack([a.map_vector for a in annotations]))

    def ptm_types(self) -> list[tuple[str, str]]:
        """(PTM type, candidate residues) of every site head, from the cards (loads nothing)."""
        return [(c.ptm_type, c.residues) for c in self.head_cards.sites]

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
            sites = "+".join(h.weights_sha256[:16] for h in heads.sites) or "no-site-heads"
            loc = heads.localization.weights_sha256[:16] if heads.localization else "no-localization-head"
            ss = heads.secondary.weights_sha256[:16] if heads.secondary else "no-secondary-head"
            self._task_models = {
                "contacts": backbone,
                "ptm": f"{backbone}+{sites}",
                "localization": f"{backbone}+{loc}",
                "secondary": f"{backbone}+{ss}",
            }
        return self._task_models

    def annotate_many(
        self, proteins: list[Protein], contacts: bool = True, tasks: tuple[str, ...] = TASKS
    ) -> list[Annotation]:
        """One backbone pass per sequence (batched) feeds every head. Raises SequenceError for
        the first invalid protein; callers that must not lose a batch check() each first.
        contacts=False (or leaving "contacts" out of `tasks`) skips the contact map: faster
        attention. Tasks not asked for are left empty in the returned annotations. "embeddings"
        fills `embedding` (never from the result cache: a pass is cheaper than its megabytes)."""
        embedding = EMBEDDINGS in tasks
        want_map = MAP in tasks
        if want_map:  # the map places the localization head's vector
            tasks = (*tasks, "localization")
        tasks = tuple(t for t in TASKS if t in tasks and (contacts or t != "contacts"))
        for protein in proteins:
            self.check(protein)
        found: dict[str, Annotation] = {}
        for p in proteins:
            remembered = self._cache.get(p.sequence)
            if remembered is not None and (remembered.embedding is not None or not embedding) and (
                remembered.map_vector is not None or not want_map
            ):
                found[p.sequence] = remembered
        unique = list(dict.fromkeys(p.sequence for p in proteins if p.sequence not in found))
        stored: dict[str, dict] = {}
        if unique and self.result_cache.enabled:
            models = self.task_models()
            for sequence in unique:
                parts = {t: self.result_cache.get(models[t], t, sequence) for t in tasks}
                complete = all(v is not None for v in parts.values())
                # Entries cached before the protein map lack its vector: computed again.
                has_vector = not want_map or "map_vector" in (parts.get("localization") or {})
                if complete and not embedding and has_vector:
                    try:
                        found[sequence] = self._from_cache(sequence, parts)
                        continue
                    except (KeyError, IndexError, TypeError):  # an older layout: recompute, replace
                        parts = {}
                if not has_vector:
                    parts["localization"] = None  # stored again, with its map vector
                stored[sequence] = parts
            unique = [s for s in unique if s not in found]
        if unique:
            heads = self.heads()
            started = time.perf_counter()
            outputs = self.backbone.run(unique, contacts="contacts" in tasks)
            per_sequence = (time.perf_counter() - started) / len(unique)
            complete = set(TASKS) <= set(tasks)
            for sequence, output in zip(unique, outputs):
                annotation = self._apply_heads(sequence, output, heads, per_sequence, embedding, tasks)
                found[sequence] = annotation
                self._store(annotation, tasks, stored.get(sequence, {}))
                if complete:  # only complete annotations are remembered
                    self._cache.put(sequence, annotation)
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
                types = [t for t, _ in annotation.ptm_types]
                arrays = {
                    "positions": np.array([s.position for s in annotation.sites], np.int32),
                    "probabilities": np.array([s.probability for s in annotation.sites], np.float64),
                    "type_index": np.array([types.index(s.type) for s in annotation.sites], np.int32),
                }
                extra = {"types": types}
            elif task == "localization":
                arrays = {"probabilities": np.array(list(annotation.localization.values()), np.float64)}
                if annotation.map_vector is not None:
                    arrays["map_vector"] = annotation.map_vector
                extra = {"classes": list(annotation.localization), "similar": annotation.similar}
            elif task == "secondary":
                ss = annotation.secondary
                arrays = {"none": np.zeros(0)}  # no secondary head: remembered as such
                if ss is not None:
                    arrays = {"probabilities": ss.probabilities, "rsa": ss.rsa}
                extra = {}
            else:
                arrays, extra = {"contacts": annotation.contacts}, {}
            self.result_cache.put(models[task], task, seq, arrays, extra)

    def _from_cache(self, sequence: str, parts: dict) -> Annotation:
        sites, localization, contacts, similar, secondary, vector = [], {}, None, [], None, None
        if parts.get("ptm") is not None:
            p = parts["ptm"]
            sites = [
                Site(int(i), sequence[int(i) - 1], p["types"][int(t)], float(x))
                for i, x, t in zip(p["positions"], p["probabilities"], p["type_index"])
            ]
        if parts.get("localization") is not None:
            p = parts["localization"]
            localization = {c: float(x) for c, x in zip(p["classes"], p["probabilities"])}
            similar = list(p.get("similar", []))
            vector = p.get("map_vector")
        if parts.get("contacts") is not None:
            contacts = parts["contacts"]["contacts"]
        if parts.get("secondary") is not None and "rsa" in parts["secondary"]:
            p = parts["secondary"]
            secondary = SecondaryPrediction(np.asarray(p["probabilities"]), np.asarray(p["rsa"]))
        return Annotation(
            id="",
            sequence=sequence,
            sites=sites,
            localization=localization,
            contacts=contacts,
            backbone=self.backbone.spec,
            notes=["from the result cache"],
            similar=similar,
            ptm_types=self.ptm_types(),
            secondary=secondary,
            map_vector=vector,
        )

    def _apply_heads(
        self,
        sequence: str,
        output,
        heads: LoadedHeads,
        seconds: float,
        embedding: bool = False,
        tasks: tuple[str, ...] = TASKS,
    ) -> Annotation:
        sites = []
        for order, head in enumerate(heads.sites if "ptm" in tasks else ()):
            positions = [i for i, aa in enumerate(sequence) if aa in head.card.residues]
            probabilities = head.module.predict(output.hidden, positions)
            sites += [
                (i, order, Site(i + 1, sequence[i], head.card.ptm_type, float(p)))
                for i, p in zip(positions, probabilities)
            ]
        localization, similar, vector = {}, [], None
        if heads.localization is not None and "localization" in tasks:
            localization, similar, vector = self._localize(output, heads.localization)
        secondary = None
        if heads.secondary is not None and "secondary" in tasks:
            secondary = SecondaryPrediction(*heads.secondary.module.predict(output.hidden))
        return Annotation(
            id="",
            sequence=sequence,
            sites=[site for *_, site in sorted(sites, key=lambda t: t[:2])],
            localization=localization,
            contacts=output.contacts,
            backbone=self.backbone.spec,
            seconds=seconds,
            similar=similar,
            ptm_types=self.ptm_types(),
            embedding=output.hidden[-1].copy() if embedding else None,  # a copy: not all layers kept
            secondary=secondary,
            map_vector=vector,
        )

    @staticmethod
    def _localize(output, head: LoadedHead) -> tuple[dict[str, float], list[dict], np.ndarray | None]:
        entries = head.card.card.get("reference_entries") or []
        pooled = pooled_features(output.hidden)
        probs, nearest = head.module.predict_with_similar(
            pooled, output.hidden[-1], SIMILAR_SHOWN if entries else 0
        )
        vector = head.module.map_vector(pooled)
        classes = head.card.card["config"]["classes"]
        similar = [
            {"entry": entries[i], "localization": classes[c], "similarity": round(x, 4)}
            for i, c, x in nearest
        ]
        return {c: float(p) for c, p in zip(classes, probs)}, similar, vector

    def cards(self) -> dict[str, dict]:
        """Every installed head's model card by head name (reads no weights)."""
        return {c.name: c.card for c in self.head_cards.cards}
