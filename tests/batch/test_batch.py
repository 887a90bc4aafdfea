"""Batch prediction: `predict.py` as users run it (also under `accelerate launch`), and the
record handling under it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gemmi
import numpy as np
import pytest

from models.batch.inputs import parse_tasks, read_records
from models.shared.files import safe_file_name
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN

ROOT = Path(__file__).resolve().parents[2]
CRAMBIN = "TTCCPSIVARSNFNVCRLPGTPEAICATYTGCIIIPGATCPFDFTYY"

MIXED = f""">ubq human ubiquitin
{UBIQUITIN}
>bad broken record
MKV@LLK
>crambin
{CRAMBIN}
>has_x
MKKXLLEEKAGLKQ
>no_sequence
>insulin A and B
{INSULIN_A}:{INSULIN_B}
>ubq duplicate id
MKVLAAGG
"""


def _predict(args: list[str], env: dict | None = None, launcher: list[str] | None = None):
    command = [*(launcher or [sys.executable]), "predict.py", *map(str, args)]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})}
    )


def _csv(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_read_records_keeps_every_record_with_its_problem():
    records = read_records(MIXED, max_chars=10_000, max_records=100)
    assert [r.id for r in records] == ["ubq", "bad", "crambin", "has_x", "no_sequence", "insulin", "ubq"]
    bad = records[1]
    assert bad.protein is None and "'@' at residue 4 (line 4, column 4)" in bad.error
    assert "no sequence" in records[4].error
    assert records[5].protein.chains == (INSULIN_A, INSULIN_B)
    duplicate = records[6]
    assert duplicate.protein is None and "same id as record" in duplicate.error
    assert duplicate.name != records[0].name  # its error has a file of its own


@pytest.mark.parametrize("record_id", ["P69905", "HBA_HUMAN.1", "x+y=z", "a-b"])
def test_safe_ids_name_their_files_unchanged(record_id):
    assert safe_file_name(record_id) == record_id


@pytest.mark.parametrize(
    ("record_id", "kept"),
    [
        ("sp|P69905|HBA_HUMAN", "sp_P69905_HBA_HUMAN"),
        ("a/b", "a_b"),
        ("../etc", "_.._etc"),
        ("..", "_.."),
        ("x<y>", "x_y_"),
        ('a:b*c?d"e\\f', "a_b_c_d_e_f"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Com1", "_Com1"),
        ("name.", "name."),
        ("", "_"),
    ],
)
def test_safe_name_is_valid_on_every_file_system_and_unique(record_id, kept):
    """Never leaves the output directory, nothing Windows refuses, and a digest of the id keeps
    ids apart that differ only in what was replaced."""
    name = safe_file_name(record_id)
    assert re.fullmatch(r"[A-Za-z0-9._+=-]+~[0-9a-f]{12}", name)
    assert name.split("~")[0] == kept
    assert name != safe_file_name(record_id + "?")


def test_ids_that_differ_only_in_replaced_or_cut_characters_get_distinct_names():
    assert safe_file_name("a/b") != safe_file_name("a_b") == "a_b"
    a, b = "P" * 130 + "A", "P" * 130 + "B"
    assert safe_file_name(a) != safe_file_name(b) and len(safe_file_name(a)) < 120
    records = read_records(f">{a}\nMKV\n>{b}\nMKV\n>x\nMK\n>X\nMK\n", max_chars=10_000, max_records=10)
    assert [r.error is None for r in records] == [True, True, True, False]  # x and X collide


def test_parse_tasks():
    assert parse_tasks("contacts, ptm") == ("ptm", "contacts")
    with pytest.raises(ValueError, match="Unknown task 'fold'"):
        parse_tasks("structure,fold")


@pytest.fixture(scope="module")
def mixed_run(tiny_fold_model, real_backbone, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    fasta = tmp / "mixed.fasta"
    fasta.write_text(MIXED)
    out = tmp / "out"
    result = _predict([fasta, "--out", out, "--fold-model", tiny_fold_model, "--no-cache"])
    return fasta, out, result


def test_cli_reports_every_record_in_input_order(mixed_run):
    _, out, result = mixed_run
    assert result.returncode == 1, result.stderr  # some records failed
    rows = _csv(out / "summary.csv")
    assert [r["id"] for r in rows] == ["ubq", "bad", "crambin", "has_x", "no_sequence", "insulin", "ubq"]
    status = {(r["id"], r["status"]) for r in rows}
    assert ("crambin", "ok") in status and ("bad", "error") in status
    by_id = {r["id"]: r for r in rows[:6]}
    assert "'@' at residue 4" in by_id["bad"]["error"]
    # X folds to nothing, so the structure alone fails; the analysis tasks still ran.
    assert by_id["has_x"]["status"] == "partial"
    assert by_id["has_x"]["error"].startswith("structure:") and "'X' at residue 4" in by_id["has_x"]["error"]
    assert by_id["has_x"]["top_localization"]
    # A complex folds as one and each of its chains is analysed as the protein it is.
    insulin = by_id["insulin"]
    assert insulin["status"] == "ok" and insulin["mean_plddt"] and not insulin["error"]
    assert re.fullmatch(r"A: [^;]+ \(0\.\d{4}\); B: [^;]+ \(0\.\d{4}\)", insulin["top_localization"])
    assert insulin["top_localization_probability"] == ""  # one per chain, in the text above
    assert rows[6]["status"] == "error" and "same id as record" in rows[6]["error"]
    ok = by_id["ubq"]
    assert ok["length"] == str(len(UBIQUITIN)) and 0 < float(ok["mean_plddt"]) <= 100
    assert 0 <= float(ok["ptm"]) <= 1 and 0 < float(ok["top_localization_probability"]) <= 1
    assert abs(sum(float(ok[k]) for k in ("helix", "strand", "coil")) - 1) < 2e-4  # DSSP of the fold
    assert ok["iptm"] == "" and 0 <= float(insulin["iptm"]) <= 1  # only a complex has an interface
    assert "bad: error:" in result.stderr  # the failures are also named on the terminal


def test_cli_writes_every_output_file(mixed_run):
    _, out, _ = mixed_run
    loc = _csv(out / "localization.csv")
    assert list(loc[0])[:2] == ["id", "chain"]
    assert [(r["id"], r["chain"]) for r in loc] == [
        ("ubq", "A"),
        ("crambin", "A"),
        ("has_x", "A"),
        ("insulin", "A"),
        ("insulin", "B"),
    ]
    classes = [k for k in loc[0] if k not in ("id", "chain") and not k.startswith("most_similar")]
    assert len(classes) == 13
    for row in loc:
        assert abs(sum(float(row[c]) for c in classes) - 1) < 1e-4
        # The nearest training protein, the same as the first of the five in the record file.
        record = json.loads((out / "records" / f"{row['id']}.json").read_text())
        chain = next(c for c in record["chains"] if c["chain"] == row["chain"])
        nearest = chain["similar_training_proteins"][0]
        assert row["most_similar_training_entry"] == nearest["entry"]
        assert row["most_similar_localization"] in classes
        assert 0 < float(row["most_similar_similarity"]) <= 1.0001
    sites = _csv(out / "ptm_sites.csv")
    assert list(sites[0])[:3] == ["id", "chain", "position"]
    ubq_lysines = [i + 1 for i, aa in enumerate(UBIQUITIN) if aa == "K"]
    sumo = [s for s in sites if s["type"] == "SUMOylation"]
    assert [int(s["position"]) for s in sumo if s["id"] == "ubq"] == ubq_lysines  # every candidate
    assert {s["residue"] for s in sumo} == {"K"}
    # Insulin's only lysine is in chain B, numbered within that chain.
    assert [(s["chain"], int(s["position"])) for s in sumo if s["id"] == "insulin"] == [
        ("B", INSULIN_B.index("K") + 1)
    ]
    assert {s["chain"] for s in sites if s["id"] != "insulin"} == {"A"}
    summary = {r["id"]: r for r in _csv(out / "summary.csv")[:6]}  # the 7th repeats an id
    above = sum(float(s["probability"]) >= 0.5 for s in sites if s["id"] == "ubq")
    assert int(summary["ubq"]["ptm_sites_above_threshold"]) == above
    scores = json.loads((out / "scores" / "ubq.json").read_text())
    assert len(scores["plddt"]) == len(UBIQUITIN) and len(scores["pae"]) == len(UBIQUITIN)
    assert abs(scores["ptm"] - float(summary["ubq"]["ptm"])) < 1e-4
    pdb = (out / "structures" / "ubq.pdb").read_text()
    assert pdb.startswith("HEADER") and "PARENT" not in pdb and "REMARK 250" in pdb
    assert (out / "structures" / "insulin.pdb").is_file()
    # ModelCIF and AlphaFold DB's PAE JSON next to them (read back with gemmi and json).
    cif = gemmi.cif.read(str(out / "structures" / "insulin.cif")).sole_block()
    assert list(cif.find_values("_struct_asym.id")) == ["A", "B"]
    assert len(cif.find_values("_ma_qa_metric_local.metric_value")) == len(INSULIN_A) + len(INSULIN_B)
    pae = json.loads((out / "scores" / "ubq.pae.json").read_text())
    assert np.array(pae[0]["predicted_aligned_error"]).shape == (len(UBIQUITIN),) * 2
    assert not (out / "structures" / "has_x.cif").exists()
    contacts = np.load(out / "contacts" / "ubq.npy")
    assert contacts.shape == (len(UBIQUITIN),) * 2 and np.allclose(contacts, contacts.T, atol=1e-3)
    assert not (out / "structures" / "has_x.pdb").exists()
    for letter, chain in (("A", INSULIN_A), ("B", INSULIN_B)):  # a file per chain of a complex
        assert np.load(out / "contacts" / "insulin" / f"{letter}.npy").shape == (len(chain),) * 2
    assert not (out / "contacts" / "insulin.npy").exists()
    # Secondary structure from the sequence: one CSV per protein, a row per residue of each chain.
    ss = _csv(out / "secondary" / "ubq.csv")
    columns = ["chain", "position", "residue", "ss3", "ss8", "rsa", *(f"p_{c}" for c in "HGIEBTSC")]
    assert list(ss[0]) == columns
    assert "".join(r["residue"] for r in ss) == UBIQUITIN and [int(r["position"]) for r in ss][-1] == 76
    assert all(abs(sum(float(r[f"p_{c}"]) for c in "HGIEBTSC") - 1) < 0.01 for r in ss)
    insulin_ss = _csv(out / "secondary" / "insulin.csv")
    assert [r["chain"] for r in insulin_ss] == ["A"] * len(INSULIN_A) + ["B"] * len(INSULIN_B)
    assert json.loads((out / "records" / "ubq.json").read_text())["secondary_file"] == "secondary/ubq.csv"


def test_cli_rerun_resumes_and_recomputes_only_what_changed(mixed_run, tiny_fold_model):
    fasta, out, _ = mixed_run
    records = out / "records"
    before = {p.name: p.stat().st_mtime_ns for p in records.glob("*.json")}
    again = _predict([fasta, "--out", out, "--fold-model", tiny_fold_model, "--no-cache", "--quiet"])
    assert again.returncode == 1
    after = {p.name: p.stat().st_mtime_ns for p in records.glob("*.json")}
    # Done records are skipped; only the input-error records (rank 0 rewrites them) change.
    rewritten = {n for n in before if before[n] != after[n]}
    assert rewritten <= {"bad.json", "no_sequence.json", "ubq.record7.json"}
    fasta.write_text(MIXED.replace(CRAMBIN, CRAMBIN[:-5]))
    third = _predict([fasta, "--out", out, "--fold-model", tiny_fold_model, "--no-cache", "--quiet"])
    assert third.returncode == 1
    changed = {p.name for p in records.glob("*.json") if p.stat().st_mtime_ns != after.get(p.name)}
    assert "crambin.json" in changed and "ubq.json" not in changed
    crambin = _csv(out / "summary.csv")[2]
    assert crambin["length"] == str(len(CRAMBIN) - 5)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "No sequence found"),
        (b"\xff\xfe>x\n", "not UTF-8 text (byte 0xff at offset 0)"),
        (b"\x00\x01\x02binary", "binary file"),
        (b"\x1f\x8bnot really gzip", "damaged"),
    ],
)
def test_cli_unusable_input_exits_2_with_a_message(tmp_path, content, message):
    path = tmp_path / "in.fasta"
    path.write_bytes(content)
    result = _predict([path, "--out", tmp_path / "out"])
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_missing_file_and_bad_task(tmp_path):
    missing = _predict([tmp_path / "absent.fasta", "--out", tmp_path / "o"])
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
    (tmp_path / "a.fasta").write_text(">a\nMKV\n")
    bad_task = _predict([tmp_path / "a.fasta", "--out", tmp_path / "o", "--tasks", "fold"])
    assert bad_task.returncode == 2 and "Unknown task 'fold'" in bad_task.stderr


def test_cli_reads_gzip(tmp_path, real_backbone):
    import gzip

    path = tmp_path / "in.fasta.gz"
    path.write_bytes(gzip.compress(f">ubq\n{UBIQUITIN}\n".encode()))
    result = _predict([path, "--out", tmp_path / "o", "--tasks", "localization", "--no-cache"])
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in _csv(tmp_path / "o" / "summary.csv")] == ["ok"]


def _files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _scl_sample(n: int) -> str:
    from scldata import loader

    df = loader.load("eval").sample(n, random_state=1)
    return "".join(f">{entry}\n{seq[:150]}\n" for entry, seq in zip(df.index, df.seq))


@pytest.mark.accelerate
def test_accelerate_two_processes_merge_to_the_single_process_output(
    tiny_fold_model, real_backbone, tmp_path
):
    fasta = tmp_path / "sample.fasta"
    fasta.write_text(_scl_sample(24) + ">broken\nMK1@\n")  # 3 chunks of work
    first = read_records(fasta.read_text(), 10**6, 100)[:2]
    variants = tmp_path / "variants.csv"  # variant_effects.csv must be identical too
    variants.write_text(
        "id,variant\n"
        + "".join(
            f"{r.id},{r.protein.sequence[4]}5{'W' if r.protein.sequence[4] != 'W' else 'A'}\n" for r in first
        )
        + "broken,K2R\n"
    )
    common = ["--fold-model", tiny_fold_model, "--no-cache", "--quiet", "--variants", variants]
    # Same threads per process in both runs: float32 sums then run in the same order (with 2
    # threads vs 1 they may differ in the 7th digit).
    threads = {"OMP_NUM_THREADS": "1"}
    single = _predict([fasta, "--out", tmp_path / "one", *common], env=threads)
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    launcher += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    double = _predict([fasta, "--out", tmp_path / "two", *common], env=threads, launcher=launcher)
    assert single.returncode == 1 and double.returncode == 1, double.stderr[-3000:]
    # Both processes really worked (accelerate can silently fall back to one).
    counts = re.search(r"computed now per process: (\d+) in [\d.]+ s, (\d+) in [\d.]+ s", double.stderr)
    assert counts, double.stderr[-2000:]
    assert int(counts[1]) > 0 and int(counts[2]) > 0 and int(counts[1]) + int(counts[2]) == 24
    assert re.search(r"computed now per process: 24 in", single.stderr)
    one, two = (_files(tmp_path / name) for name in ("one", "two"))
    assert sorted(one) == sorted(two)
    assert [k for k in one if one[k] != two[k]] == []
    rows = _csv(tmp_path / "two" / "summary.csv")
    assert len(rows) == 25 and sum(r["status"] == "ok" for r in rows) >= 23
    effects = _csv(tmp_path / "two" / "variant_effects.csv")
    assert [r["status"] for r in effects] == ["ok", "ok", "error"] and effects[0]["mean_delta_plddt"] != ""


def test_cli_variants_write_one_row_per_variant_with_its_status(real_backbone, tmp_path):
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">ubq\n{UBIQUITIN}\n>crambin\n{CRAMBIN}\n>bad\nMK@\n>ins\n{INSULIN_A}:{INSULIN_B}\n")
    variants = tmp_path / "variants.csv"
    variants.write_text(
        "id,variant,comment\nubq,K29R,site\nubq,E48R,wrong wild type\ncrambin,T1A+T2A,\n"
        "nobody,K1R,\nbad,K2R,\nubq,K29R+K33R,\nins,B:F1A,a complex names the chain\nins,F1A,\n"
    )
    done = _predict([fasta, "--out", tmp_path / "o", "--tasks", "ptm,localization", "--variants", variants])
    assert done.returncode == 1, done.stderr[-2000:]  # some variants failed
    assert "4 of 8 variants predicted" in done.stderr
    rows = _csv(tmp_path / "o" / "variant_effects.csv")
    assert [(r["id"], r["variant"], r["status"]) for r in rows] == [
        ("ubq", "K29R", "ok"), ("ubq", "E48R", "error"), ("ubq", "K29R+K33R", "ok"),
        ("crambin", "T1A+T2A", "ok"), ("nobody", "K1R", "error"), ("bad", "K2R", "error"),
        ("ins", "B:F1A", "ok"), ("ins", "F1A", "error"),
    ]  # fmt: skip
    by = {(r["id"], r["variant"]): r for r in rows}
    assert "say which chain it changes, e.g. B:F1A" in by[("ins", "F1A")]["error"]
    assert by[("ins", "B:F1A")]["top_localization_mutant"]
    assert "SUMOylation K29" in by[("ubq", "K29R")]["ptm_sites_lost"].split(";")
    assert by[("ubq", "E48R")]["error"] == "E48R: residue 48 is K, not E."
    assert "no record with id 'nobody'" in by[("nobody", "K1R")]["error"]
    assert "cannot be used" in by[("bad", "K2R")]["error"] and "'@'" in by[("bad", "K2R")]["error"]
    assert by[("ubq", "K29R")]["mean_delta_plddt"] == ""  # the structure task was not asked for
    assert by[("ubq", "K29R")]["top_localization_wild_type"] and by[("ubq", "K29R")]["lm_score"] == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [("protein,change\nubq,K29R\n", "no 'id' or 'variant' column"), ("id,variant\n,K29R\n", "line 2: no id"),
     ("id,variant\n", "no variants")],
)  # fmt: skip
def test_cli_unusable_variants_file_exits_2_before_any_work(tmp_path, content, message):
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">ubq\n{UBIQUITIN}\n")
    variants = tmp_path / "v.csv"
    variants.write_text(content)
    done = _predict([fasta, "--out", tmp_path / "o", "--variants", variants])
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_cli_results_answer_the_app_from_the_shared_cache(real_backbone, tmp_path):
    from models.shared.sequences import Protein
    from models.studio import Studio, StudioConfig

    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">ubq\n{UBIQUITIN}\n")
    cache = tmp_path / "cache"
    result = _predict(
        [fasta, "--out", tmp_path / "o", "--tasks", "ptm,localization,secondary,contacts"],
        env={"PROTEIN_STUDIO_RESULTS": str(cache)},
    )
    assert result.returncode == 0, result.stderr
    app_studio = Studio(StudioConfig(result_cache=str(cache)))  # what app.py builds
    app_studio.annotator.backbone = real_backbone
    original = real_backbone.run
    real_backbone.run = lambda *a, **k: pytest.fail("the backbone ran despite cached results")
    try:
        annotation = app_studio.annotate(Protein("ubq", (UBIQUITIN,)))
    finally:
        real_backbone.run = original
    rows = _csv(tmp_path / "o" / "localization.csv")
    assert abs(annotation.localization["Cytoplasm"] - float(rows[0]["Cytoplasm"])) < 1e-6
    assert annotation.contacts.shape == (len(UBIQUITIN),) * 2


def test_record_files_of_an_older_layout_are_predicted_again(tmp_path):
    """A record file written before analysis was per chain counts as not done (resume), and
    merge never reads its old keys as results."""
    from models.batch.outputs import is_done, merge

    records = read_records(f">ubq\n{UBIQUITIN}\n", max_chars=10_000, max_records=10)
    old = {"index": 0, "id": "ubq", "tasks": ["localization"], "errors": {}, "retry": []}
    old["sequence_sha256"] = hashlib.sha256(UBIQUITIN.encode()).hexdigest()
    old["localization"] = {"Cytoplasm": 1.0}
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "ubq.json").write_text(json.dumps(old))
    assert not is_done(tmp_path, records[0], ("localization",))
    [row] = merge(tmp_path, records, ("localization",))
    assert row["status"] == "error" and "run again" in row["error"] and not row["top_localization"]


def test_plan_cuts_the_same_chunks_for_any_number_of_processes_and_balances_them(tmp_path):
    from models.batch.run import plan

    text = "".join(f">r{i}\n{'MKV' * (10 + (i * 37) % 200)}\n" for i in range(60))
    records = read_records(text, max_chars=10**6, max_records=100)
    single = plan(records, ("ptm",), tmp_path)
    for world in (2, 3, 5):
        shares = [plan(records, ("ptm",), tmp_path, rank, world) for rank in range(world)]
        chunks = sorted(tuple(r.index for r in c) for share in shares for c in share)
        assert chunks == sorted(tuple(r.index for r in c) for c in single)  # same batches
        cost = [sum(r.protein.length**2 for c in share for r in c) for share in shares]
        assert max(cost) < 1.5 * sum(cost) / world  # nobody waits long for the slowest


def test_batch_endpoint_through_gradio_client(client, tmp_path):
    import zipfile

    from gradio_client import handle_file

    fasta = tmp_path / "three.fasta"
    fasta.write_text(f">sp|P0CG48|UBC_HUMAN\n{UBIQUITIN}\n>bad\nMK@V\n>insulin\n{INSULIN_A}:{INSULIN_B}\n")
    status, table, archive, map_plot = client.predict(
        handle_file(str(fasta)), ["ptm", "localization", "map"], api_name="/batch"
    )
    assert "3 records: 2 analysed, 2 on the map." in status and "1 could not be read" in status
    assert table["headers"][:1] == ["id"] and "top localization (%)" in table["headers"]
    percent = table["headers"].index("top localization (%)")
    ubq, bad, insulin = table["data"]
    assert [ubq[0], bad[0], insulin[0]] == ["sp|P0CG48|UBC_HUMAN", "bad", "insulin"]
    assert bad[2] == "error" and "'@' at residue 3" in bad[-1]
    assert re.fullmatch(r"\d{1,3}\.\d%", ubq[percent])  # as in the analysis tabs, not a fraction
    assert insulin[2] == "ok" and insulin[percent] == ""
    assert re.fullmatch(r"A: .+ \(\d{1,3}\.\d%\); B: .+ \(\d{1,3}\.\d%\)", insulin[percent - 1])
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        summary = zipped.read("summary.csv").decode()
        sites = list(csv.DictReader(io.StringIO(zipped.read("ptm_sites.csv").decode())))
    ubq_name = safe_file_name("sp|P0CG48|UBC_HUMAN")
    assert {"summary.csv", "localization.csv", "ptm_sites.csv", f"records/{ubq_name}.json"} <= names
    # Every chain on the protein map, in input order, beside its figure.
    with zipfile.ZipFile(archive) as zipped:
        placed = list(csv.DictReader(io.StringIO(zipped.read("map.csv").decode())))
    expected = [("sp|P0CG48|UBC_HUMAN", "A"), ("insulin", "A"), ("insulin", "B")]
    assert [(r["id"], r["chain"]) for r in placed] == expected
    figure = json.loads(map_plot["plot"])
    stars = next(t for t in figure["data"] if t.get("name") == "your proteins")
    assert stars["x"] == [float(r["x"]) for r in placed] and len(stars["text"]) == 3
    assert not [n for n in names if set(n) & set('|<>:"\\?*')]  # every entry is a safe file name
    assert "sp|P0CG48|UBC_HUMAN" in summary  # the CSVs keep the id as given
    sumo = [s for s in sites if s["type"] == "SUMOylation"]  # insulin's lysine is on chain B
    assert {(s["id"], s["chain"]) for s in sumo} == {("sp|P0CG48|UBC_HUMAN", "A"), ("insulin", "B")}


def test_batch_handler_keeps_each_rows_record_for_a_row_click(real_backbone, tmp_path):
    """The handler returns, next to the table, the records in row order with their sequences
    (what loading a clicked row needs); an unreadable record has no sequence."""
    import gradio as gr

    from components.batch.tab import build_batch_tab, make_batch_handler
    from models.studio import Studio, StudioConfig

    studio = Studio(StudioConfig(result_cache=None))
    studio.annotator.backbone = real_backbone
    with gr.Blocks():
        tab = build_batch_tab(10, 1)
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">ubq human ubiquitin\n{UBIQUITIN}\n>bad\nMK@V\n>insulin\n{INSULIN_A}:{INSULIN_B}\n")
    run_batch = make_batch_handler(studio, tab, 10, 1)
    result = run_batch(str(fasta), ["localization"], progress=lambda *a, **k: None)
    assert set(result) == set(tab.outputs)
    assert [row[0] for row in result[tab.table]] == ["ubq", "bad", "insulin"]
    assert result[tab.records] == [
        {"id": "ubq", "description": "ubq human ubiquitin", "sequence": UBIQUITIN},
        {"id": "bad", "description": "", "sequence": None},
        {"id": "insulin", "description": "insulin", "sequence": f"{INSULIN_A}:{INSULIN_B}"},
    ]
    refused = run_batch(None, ["localization"], progress=lambda *a, **k: None)
    assert refused[tab.records] == [] and refused[tab.table] is None


def test_batch_run_shows_one_progress_bar_on_the_table():
    """Gradio draws a progress bar on every output of an event unless told which one: the Batch
    tab's run shows it on the table only (the status line is too short to hold one)."""
    from components.page import build_page
    from models.studio import Studio, StudioConfig

    config = build_page(Studio(StudioConfig(result_cache=None)), "x.js").get_config_file()
    [event] = [d for d in config["dependencies"] if d.get("api_name") == "batch"]
    [component] = [c for c in config["components"] if c["id"] in event["show_progress_on"]]
    assert component["props"]["elem_id"] == "batch-table"


def test_cli_map_places_every_chain_as_the_app_does(client, tmp_path):
    """--tasks map: map.csv with every chain in input order, each where /map puts it alone (all
    records are placed together; openTSNE optimises each against the reference points only)."""
    fasta = tmp_path / "map.fasta"
    fasta.write_text(f">ubq\n{UBIQUITIN}\n>bad\nMK@V\n>insulin\n{INSULIN_A}:{INSULIN_B}\n")
    result = _predict([fasta, "--out", tmp_path / "o", "--tasks", "map", "--no-cache", "--quiet"])
    assert result.returncode == 1, result.stderr[-2000:]  # the bad record
    assert re.search(r"map: 3 chains placed in [\d.]+ s", result.stderr)
    rows = _csv(tmp_path / "o" / "map.csv")
    assert list(rows[0]) == ["id", "chain", "x", "y", "nearest_entry", "nearest_localization"]
    assert [(r["id"], r["chain"]) for r in rows] == [("ubq", "A"), ("insulin", "A"), ("insulin", "B")]
    app = client.predict(f">ubq\n{UBIQUITIN}", api_name="/map")["chains"][0]
    assert (float(rows[0]["x"]), float(rows[0]["y"])) == pytest.approx((app["x"], app["y"]), abs=0.05)
    assert rows[0]["nearest_entry"] == app["nearest_on_map"]["entry"]
    assert not (tmp_path / "o" / "localization.csv").exists()  # only what was asked for
