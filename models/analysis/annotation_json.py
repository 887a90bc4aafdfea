"""API answers for a protein analysed chain by chain (pure Python: the UI builds them too).

Each takes [(chain letter, models.analysis.annotation.Annotation)] as `Studio.annotate_chains` returns.
"""

from __future__ import annotations


def ptm_json_for(
    protein_id: str, chains: list[tuple[str, object]], thresholds: dict[str, float] | None = None
) -> dict:
    """/ptm's answer for a protein analysed chain by chain: one list, each site with its chain
    letter and its position within that chain; `thresholds`: each type's calibrated threshold
    (from its card), from which the page calls a site."""
    sites = [{"chain": letter, **site} for letter, a in chains for site in a.ptm_json()["sites"]]
    answer = {"id": protein_id, "sites": sites}
    if thresholds is not None:
        answer["thresholds"] = thresholds
    return answer


def localization_json_for(protein_id: str, chains: list[tuple[str, object]]) -> dict:
    """/localization's answer: a monomer's as it always was; a complex's per chain, lettered."""
    if len(chains) == 1:
        return {**chains[0][1].localization_json(), "id": protein_id}
    return {"id": protein_id, "chains": [{**a.localization_json(), "chain": c} for c, a in chains]}


def secondary_json_for(protein_id: str, chains: list[tuple[str, object]]) -> dict:
    """/secondary's answer: per chain, the DSSP classes (8 and 3 states), RSA and every class's
    probability per residue, predicted from the sequence."""
    found = [a.secondary.json(letter) for letter, a in chains if a.secondary is not None]
    answer = {"id": protein_id, "chains": found}
    if len(found) < len(chains):
        answer["note"] = "No secondary-structure head is loaded."
    return answer


def map_json_for(protein_id: str, chains: list[tuple[str, object]], points, protein_map) -> dict:
    """/map's answer: each chain's place on the protein map, its five most similar training
    proteins (embedding space) with their places, and the reference protein nearest it on the map."""
    index = protein_map.index
    out = []
    for (letter, a), (x, y), k in zip(chains, points, protein_map.nearest(points)):
        nearest = [
            {**s, "x": round(float(protein_map.coordinates[index[s["entry"]], 0]), 3),
             "y": round(float(protein_map.coordinates[index[s["entry"]], 1]), 3)}
            for s in a.similar if s["entry"] in index
        ]  # fmt: skip
        out.append(
            {
                "chain": letter,
                "x": round(float(x), 3),
                "y": round(float(y), 3),
                "nearest": nearest,
                "nearest_on_map": {
                    "entry": protein_map.entries[k] if protein_map.entries else "",
                    "localization": protein_map.classes[protein_map.labels[k]],
                },
            }
        )
    return {"id": protein_id, "chains": out}


def contacts_json_for(protein_id: str, chains: list[tuple[str, object]]) -> dict:
    """/contacts' answer: a monomer's map; a complex's map of each chain (no inter-chain pairs:
    each chain is embedded on its own)."""
    if len(chains) == 1:
        return {**chains[0][1].contacts_json(), "id": protein_id}
    return {"id": protein_id, "chains": [{**a.contacts_json(), "chain": c} for c, a in chains]}
