"""Mutations through the running app (`gradio_client`) on a real protein: /mutate and /scan.

Every expected number comes from another endpoint (/ptm, /localization, /contacts, /fold) given
the mutant sequence pasted by hand, or from transformers directly; none is typed in. The shared
app has no language model (its default Hub id cannot be fetched offline); `lm_client` starts one
with a tiny random masked LM, as `--lm-model DIR` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError
from transformers import EsmForMaskedLM
from transformers.models.esm.configuration_esm import get_default_vocab_list

from models.shared.sequences import STANDARD_AMINO_ACIDS
from tests.app_process import running_app
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN
from tests.tiny_models import save_tiny_masked_lm

UBQ = ">ubq\n" + UBIQUITIN
INSULIN = f">insulin\n{INSULIN_A}:{INSULIN_B}"
LM = "language model (log-likelihood ratio)"


def mutant_of(label: str, sequence: str = UBIQUITIN) -> str:
    residues = list(sequence)
    for part in label.split("+"):
        wild_type, position, new = part[0], int(part[1:-1]), part[-1]
        assert residues[position - 1] == wild_type
        residues[position - 1] = new
    return "".join(residues)


def fold_json(client, text: str) -> dict:
    """/fold's JSON download (pLDDT per residue) for this input."""
    return json.loads(Path(client.predict(text, "cartoon", "pLDDT", api_name="/fold")[6]).read_text())


@pytest.fixture(scope="module")
def effects(client):
    """/mutate of ubiquitin: the predicted SUMO site K29 to R, two more, one combined."""
    answer = client.predict(UBQ, "K29R, K33E\nL8P+I44A", 0.5, api_name="/mutate")
    return {v["variant"]: v for v in answer["variants"]}


def test_every_difference_equals_the_endpoints_on_the_mutant_pasted_by_hand(client, effects):
    wild_loc = client.predict(UBQ, api_name="/localization")
    wild_sites = {
        (s["type"], s["position"]): s["probability"] for s in client.predict(UBQ, api_name="/ptm")["sites"]
    }
    wild_contacts = np.array(client.predict(UBQ, api_name="/contacts")["contacts"])
    assert set(effects) == {"K29R", "K33E", "L8P+I44A"}
    for label, effect in effects.items():
        pasted = ">m\n" + mutant_of(label)
        loc = client.predict(pasted, api_name="/localization")
        assert effect["status"] == "ok" and effect["error"] is None
        assert effect["localization"]["mutant"] == loc["probabilities"]
        assert effect["localization"]["wild_type"] == wild_loc["probabilities"]
        for name, p in loc["probabilities"].items():
            assert effect["localization"]["delta"][name] == pytest.approx(
                p - wild_loc["probabilities"][name], abs=1e-6
            )
        assert effect["localization"]["membrane"]["mutant"] == loc["membrane"]
        assert effect["localization"]["top_class"]["mutant"] == loc["top"]["class"]
        sites = {
            (s["type"], s["position"]): s["probability"]
            for s in client.predict(pasted, api_name="/ptm")["sites"]
        }
        changes = {(c["type"], c["position"]): c for c in effect["ptm"]["changes"]}
        assert set(changes) == set(sites) | set(wild_sites)  # every candidate of either
        for key, change in changes.items():
            assert change["mutant"] == sites.get(key) and change["wild_type"] == wild_sites.get(key)
            assert change["delta"] == pytest.approx(sites.get(key, 0.0) - wild_sites.get(key, 0.0), abs=1e-4)
        contacts = np.array(client.predict(pasted, api_name="/contacts")["contacts"])
        moved = np.triu(contacts - wild_contacts, 1)
        expected = {(int(i) + 1, int(j) + 1) for i, j in zip(*np.nonzero(np.abs(moved) > 0.2 + 1e-9))}
        listed = {(c["i"], c["j"]) for c in effect["contacts_changed"]}
        assert listed == expected
        for c in effect["contacts_changed"]:
            assert c["mutant"] == contacts[c["i"] - 1][c["j"] - 1]
            assert c["delta"] == pytest.approx(moved[c["i"] - 1][c["j"] - 1], abs=1e-6)


def test_k_to_r_at_a_predicted_sumo_site_is_reported_lost(client, effects):
    sumo = [s for s in client.predict(UBQ, api_name="/ptm")["sites"] if s["type"] == "SUMOylation"]
    wild = {s["position"]: s["probability"] for s in sumo}
    assert wild[29] >= 0.5  # K29 is a predicted site of the shipped SUMO head
    lost = [s for s in effects["K29R"]["ptm"]["lost"] if s["type"] == "SUMOylation"]
    assert [(s["site"], s["reason"]) for s in lost if s["position"] == 29] == [
        ("SUMOylation K29", "no longer a candidate residue")
    ]
    gained = [s for s in effects["K29R"]["ptm"]["gained"] if s["type"] == "SUMOylation"]
    assert all(s["position"] != 29 for s in gained)
    changes = effects["K29R"]["ptm"]["changes"]
    k29 = next(c for c in changes if c["position"] == 29 and c["type"] == "SUMOylation")
    assert k29["mutant"] is None and k29["mutant_residue"] == "R" and k29["delta"] == -k29["wild_type"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("E48R", "E48R: residue 48 is K, not E."),
        ("K480R", "K480R: position 480 is outside the sequence (1-76)."),
        ("K48B", "ACDEFGHIKLMNPQRSTVWY"),
        ("K48R+K48A", "position 48 is changed twice"),
        ("K48K", "nothing changes"),
        ("K48*", "only substitutions"),
        ("hello", "K48R, p.Lys48Arg"),
    ],
)
def test_a_bad_variant_gets_its_message_and_the_others_are_still_predicted(client, entry, message):
    answer = client.predict(UBQ, f"K63R, {entry}, p.Lys6Arg", 0.5, api_name="/mutate")
    statuses = [(v["variant"], v["status"]) for v in answer["variants"]]
    assert statuses[0] == ("K63R", "ok") and statuses[2] == ("K6R", "ok")
    bad = answer["variants"][1]
    assert bad["status"] == "error" and message in bad["error"] and "Traceback" not in bad["error"]


def test_a_repeated_variant_names_the_entry_it_repeats(client):
    answer = client.predict(UBQ, "K63R, K6R, p.Lys63Arg", 0.5, api_name="/mutate")
    assert answer["variants"][2]["error"] == "p.Lys63Arg: repeats entry 1 (K63R)."


@pytest.mark.parametrize(
    ("sequence", "variants", "message"),
    [
        (UBQ, "", "No variants given"),
        (UBQ, ", ".join(f"K6{aa}" for aa in "ACDEFGHILMNPQRSTVWY" * 11), "at most 200"),
        ("MKV@LL", "K2R", "'@' at residue 4"),
    ],
)
def test_an_unusable_request_is_a_clear_error(client, sequence, variants, message):
    with pytest.raises(AppError, match=message):
        client.predict(sequence, variants, 0.5, api_name="/mutate")


def test_without_a_language_model_the_variants_say_why_and_the_rest_works(client, effects):
    lm = effects["K33E"]["language_model"]
    assert "facebook/esm2_t12_35M_UR50D" in lm["unavailable"] and "--lm-model" in lm["unavailable"]
    assert effects["K33E"]["localization"]["mutant"]  # the heads still answered
    with pytest.raises(AppError, match="--lm-model"):
        client.predict(UBQ, LM, 1, 3, api_name="/scan")
    site = client.predict(UBQ, "membrane probability", 1, 2, api_name="/scan")
    assert len(site["scores"]) == 2


def test_a_variant_of_a_folded_protein_is_folded_and_compared(client):
    wild = fold_json(client, UBQ)
    answer = client.predict(UBQ, "K29R", 0.5, api_name="/mutate")
    structure = answer["variants"][0]["structure"]
    mutant = fold_json(client, ">m\n" + mutant_of("K29R"))
    expected = np.array(mutant["plddt"]) - np.array(wild["plddt"])
    assert structure["delta_plddt"] == pytest.approx(expected.tolist(), abs=0.011)
    assert structure["mean_delta_plddt"] == pytest.approx(expected.mean(), abs=0.01)
    assert 0 < structure["tm_score"] <= 1 and structure["ca_rmsd"] >= 0


def test_a_variant_of_an_unfolded_protein_is_not_folded(client):
    answer = client.predict(">part\n" + UBIQUITIN[:60], "K29R", 0.5, api_name="/mutate")
    assert answer["variants"][0]["structure"] is None
    assert any("not folded" in note for note in answer["notes"])


@pytest.fixture(scope="module")
def site_scan(client):
    return client.predict(UBQ, "SUMOylation K29", 24, 34, api_name="/scan")


def test_a_scan_has_every_substitution_and_zero_wild_type_cells(site_scan):
    assert site_scan["readout"] == "SUMOylation K29" and site_scan["positions"] == list(range(24, 35))
    assert site_scan["amino_acids"] == STANDARD_AMINO_ACIDS and len(site_scan["scores"]) == 11
    for position, row in zip(site_scan["positions"], site_scan["scores"]):
        assert len(row) == 20
        assert row[STANDARD_AMINO_ACIDS.index(UBIQUITIN[position - 1])] == 0.0
    # Replacing the site's own lysine removes the site: every other cell of that row is -p(wild type).
    own = site_scan["scores"][29 - 24]
    assert {x for aa, x in zip(STANDARD_AMINO_ACIDS, own) if aa != "K"} == {
        -round(site_scan["wild_type_value"], 4)
    }


def test_scan_cells_equal_ptm_of_the_mutant_pasted_by_hand(client, site_scan):
    wild = next(
        s["probability"]
        for s in client.predict(UBQ, api_name="/ptm")["sites"]
        if s["position"] == 29 and s["type"] == "SUMOylation"
    )
    assert site_scan["wild_type_value"] == pytest.approx(wild, abs=1e-4)
    for position, aa in ((27, "A"), (31, "P"), (33, "E")):
        pasted = UBIQUITIN[: position - 1] + aa + UBIQUITIN[position:]
        sites = client.predict(pasted, api_name="/ptm")["sites"]
        mutant = next(s for s in sites if s["position"] == 29 and s["type"] == "SUMOylation")
        cell = site_scan["scores"][position - 24][STANDARD_AMINO_ACIDS.index(aa)]
        assert cell == pytest.approx(mutant["probability"] - wild, abs=2e-4)


def test_every_ptm_type_is_a_scan_readout(client):
    """A type added by ptm-sites is read out like SUMO, with no code per type: phosphorylation of
    ubiquitin's S65 (PINK1's site) scanned at two positions equals /ptm on the mutants."""
    readout = "Phosphorylation (S/T) S65"
    answer = client.predict(UBQ, readout, 64, 65, api_name="/scan")
    wild = next(s for s in client.predict(UBQ, api_name="/ptm")["sites"]
                if s["position"] == 65 and s["type"] == "Phosphorylation (S/T)")  # fmt: skip
    assert answer["wild_type_value"] == pytest.approx(wild["probability"], abs=1e-4)
    pasted = UBIQUITIN[:63] + "D" + UBIQUITIN[64:]  # Q64D
    mutant = next(s for s in client.predict(pasted, api_name="/ptm")["sites"]
                  if s["position"] == 65 and s["type"] == "Phosphorylation (S/T)")  # fmt: skip
    cell = answer["scores"][0][STANDARD_AMINO_ACIDS.index("D")]
    assert cell == pytest.approx(mutant["probability"] - wild["probability"], abs=2e-4)


def test_a_membrane_scan_equals_localization_of_the_mutant(client):
    answer = client.predict(UBQ, "membrane probability", 10, 11, api_name="/scan")
    wild = client.predict(UBQ, api_name="/localization")["membrane"]
    pasted = UBIQUITIN[:10] + "W" + UBIQUITIN[11:]
    mutant = client.predict(pasted, api_name="/localization")["membrane"]
    assert answer["scores"][1][STANDARD_AMINO_ACIDS.index("W")] == pytest.approx(mutant - wild, abs=2e-4)


@pytest.mark.parametrize(
    ("readout", "first", "last", "message"),
    [
        ("SUMOylation K29", 1, 76, "76 positions; a scan takes at most 40 .*--max-scan-positions"),
        ("SUMOylation K30", 20, 30, "residue 30 is I, not K"),
        ("localization: Moon", 1, 2, "'Moon' is not a localization class"),
        ("stability", 1, 2, "'stability' is not a readout"),
        ("membrane probability", 30, 20, "after the last"),
        ("membrane probability", 70, 80, "within 1-76"),
    ],
)
def test_a_bad_scan_is_a_clear_error(scan_limited_client, readout, first, last, message):
    with pytest.raises(AppError, match=message):
        scan_limited_client.predict(UBQ, readout, first, last, api_name="/scan")


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return save_tiny_masked_lm(tmp_path_factory.mktemp("tiny-lm"), seed=5)


@pytest.fixture(scope="module")
def scan_limited_client(tiny_fold_model, tiny_lm, real_backbone, tmp_path_factory):
    """The app with a tiny masked LM and a scan limit of 40 positions."""
    tmp = tmp_path_factory.mktemp("lm-app")
    args = [
        "--fold-model",
        tiny_fold_model,
        "--lm-model",
        tiny_lm,
        "--max-scan-positions",
        40,
        "--result-cache",
        "off",
    ]
    with running_app(args, tmp / "app.log") as url:
        yield Client(url, verbose=False)


def test_language_model_scan_equals_transformers_on_the_same_model(scan_limited_client, tiny_lm):
    answer = scan_limited_client.predict(UBQ, LM, 5, 9, api_name="/scan")
    model = EsmForMaskedLM.from_pretrained(tiny_lm, dtype=torch.float32).eval()
    vocab = get_default_vocab_list()
    for row, position in zip(answer["scores"], answer["positions"]):
        ids = [vocab.index("<cls>"), *(vocab.index(a) for a in UBIQUITIN), vocab.index("<eos>")]
        wild_type = ids[position]
        ids[position] = vocab.index("<mask>")
        with torch.no_grad():
            log_p = torch.log_softmax(model(torch.tensor([ids])).logits[0, position], -1)
        expected = log_p[[vocab.index(a) for a in STANDARD_AMINO_ACIDS]] - log_p[wild_type]
        assert row == pytest.approx(expected.tolist(), abs=1e-3)  # scores are rounded to 4 decimals
    assert answer["wild_type_value"] is None


def test_a_variants_language_model_score_is_the_sum_of_its_scan_cells(scan_limited_client):
    answer = scan_limited_client.predict(UBQ, "K6R+T7A", 0.5, api_name="/mutate")
    score = answer["variants"][0]["language_model"]["score"]
    cells = scan_limited_client.predict(UBQ, LM, 6, 7, api_name="/scan")["scores"]
    expected = cells[0][STANDARD_AMINO_ACIDS.index("R")] + cells[1][STANDARD_AMINO_ACIDS.index("A")]
    assert score == pytest.approx(expected, abs=2e-4)


def test_a_complex_variant_names_its_chain_and_equals_that_chain_pasted_by_hand(client):
    """Each chain is analysed on its own (as /ptm and /localization do for a complex), so a
    variant of chain B moves only chain B's numbers, in chain B's numbering."""
    answer = client.predict(INSULIN, "B:F1A\nA:p.Ile2Thr, B:V2A+B:N3D", 0.5, api_name="/mutate")
    effects = {v["variant"]: v for v in answer["variants"]}
    assert list(effects) == ["B:F1A", "A:I2T", "B:V2A+N3D"]
    wild_loc = {c["chain"]: c for c in client.predict(INSULIN, api_name="/localization")["chains"]}
    wild_ptm = client.predict(INSULIN, api_name="/ptm")["sites"]
    wild_sites = {(s["chain"], s["type"], s["position"]) for s in wild_ptm}
    for label, effect in effects.items():
        chain = label[0]
        assert effect["status"] == "ok" and effect["chain"] == chain
        chains = {"A": INSULIN_A, "B": INSULIN_B}
        chains[chain] = mutant_of(label[2:], chains[chain])
        pasted = f">m\n{chains['A']}:{chains['B']}"
        loc = {c["chain"]: c for c in client.predict(pasted, api_name="/localization")["chains"]}
        assert effect["localization"]["mutant"] == loc[chain]["probabilities"]
        assert effect["localization"]["wild_type"] == wild_loc[chain]["probabilities"]
        other = "A" if chain == "B" else "B"
        assert loc[other]["probabilities"] == wild_loc[other]["probabilities"]  # nothing to report there
        sites = {
            (s["type"], s["position"]): s["probability"]
            for s in client.predict(pasted, api_name="/ptm")["sites"]
            if s["chain"] == chain
        }
        changes = {(c["type"], c["position"]): c for c in effect["ptm"]["changes"]}
        assert set(changes) == set(sites) | {(t, p) for c, t, p in wild_sites if c == chain}
        for key, change in changes.items():
            assert change["mutant"] == sites.get(key)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("F1A", "F1A: say which chain it changes, e.g. B:F1A (the complex has chains A (21 aa), B (30 aa))."),
        ("C:F1A", "C:F1A: there is no chain C (the complex has chains A (21 aa), B (30 aa))."),
        ("A:G1A+B:F1A", "it changes chains A, B; a variant changes one chain"),
        ("A:F1A", "A:F1A: residue 1 is G, not F."),
        ("B:F31A", "B:F31A: position 31 is outside the sequence (1-30)."),
    ],
)
def test_a_bad_complex_variant_gets_its_message_and_the_others_run(client, entry, message):
    answer = client.predict(INSULIN, f"B:F1A, {entry}", 0.5, api_name="/mutate")
    good, bad = answer["variants"]
    assert good["status"] == "ok" and bad["status"] == "error" and message in bad["error"]


def test_a_variant_of_a_folded_complex_folds_the_mutant_complex(client):
    wild = fold_json(client, INSULIN)
    structure = client.predict(INSULIN, "B:F1A", 0.5, api_name="/mutate")["variants"][0]["structure"]
    mutant = fold_json(client, f">m\n{INSULIN_A}:{mutant_of('F1A', INSULIN_B)}")
    expected = np.array(mutant["plddt"]) - np.array(wild["plddt"])
    assert len(structure["delta_plddt"]) == len(INSULIN_A) + len(INSULIN_B)
    assert structure["delta_plddt"] == pytest.approx(expected.tolist(), abs=0.011)
    assert 0 < structure["tm_score"] <= 1 and structure["ca_rmsd"] >= 0


def test_a_complex_variants_language_model_score_is_its_chains(scan_limited_client):
    # The masked LM sees the chain the variant changes, on its own: B:V2A in the complex scores
    # as V2A of chain B pasted alone.
    in_complex = scan_limited_client.predict(INSULIN, "B:V2A", 0.5, api_name="/mutate")
    alone = scan_limited_client.predict(">b\n" + INSULIN_B, "V2A", 0.5, api_name="/mutate")
    score = in_complex["variants"][0]["language_model"]["score"]
    assert score == alone["variants"][0]["language_model"]["score"]
    cells = scan_limited_client.predict(">b\n" + INSULIN_B, LM, 2, 2, api_name="/scan")["scores"]
    assert score == pytest.approx(cells[0][STANDARD_AMINO_ACIDS.index("A")], abs=2e-4)


def test_a_complex_scan_names_its_chain_and_equals_that_chain_pasted_alone(client):
    in_complex = client.predict(INSULIN, "B: SUMOylation K29", 27, 30, api_name="/scan")
    alone = client.predict(">b\n" + INSULIN_B, "SUMOylation K29", 27, 30, api_name="/scan")
    assert in_complex["readout"] == "B: SUMOylation K29" and in_complex["positions"] == [27, 28, 29, 30]
    assert in_complex["scores"] == alone["scores"] and in_complex["wild_type"] == INSULIN_B[26:30]


@pytest.mark.parametrize(
    ("readout", "message"),
    [
        (
            "membrane probability",
            "has chains A \\(21 aa\\), B \\(30 aa\\): name the one to scan in the readout",
        ),
        ("C: membrane probability", "There is no chain C"),
        ("A: SUMOylation K29", "position 29 is outside the sequence \\(1-21\\)"),
    ],
)
def test_a_complex_scan_without_a_usable_chain_says_so(client, readout, message):
    with pytest.raises(AppError, match=message):
        client.predict(INSULIN, readout, 1, 2, api_name="/scan")
