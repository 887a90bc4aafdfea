"""A fold that fails never takes the analysis with it: every analysis tab opened AFTER the
failure still shows its results (Gradio 6 keeps, for a tab out of view, only what a streamed
event's last update carries). One app per failure kind, driven in Debian's chromium."""

from __future__ import annotations

import csv
import io

import pytest

from tests.app.test_browser import _visible_plot
from tests.browser import _screenshot, open_batch_row
from tests.conftest import UBIQUITIN

pytestmark = pytest.mark.browser

# kind -> (how the app is started, how the Structure stage ends)
FAILURES = {
    "unavailable": ("missing --fold-model directory", "stage-unavailable"),
    "out-of-memory": ("tests/faulty_app.py fold-oom", "stage-failed"),
    "too-long": ("--max-fold-length 50 (ubiquitin has 76)", "stage-unavailable"),
}


@pytest.fixture(scope="module", params=list(FAILURES))
def failing_app(request, tiny_fold_model, real_backbone, tmp_path_factory):
    from tests.app_process import running_app

    kind = request.param
    folder = tmp_path_factory.mktemp(f"app-{kind}")
    args, program = ["--result-cache", "off"], ("app.py",)
    if kind == "unavailable":
        args += ["--fold-model", folder / "absent-esmfold"]
    elif kind == "out-of-memory":
        args += ["--fold-model", tiny_fold_model]
        program = ("tests/faulty_app.py", "fold-oom")
    else:
        args += ["--fold-model", tiny_fold_model, "--max-fold-length", 50]
    with running_app(args, folder / "app.log", program=program) as url:
        yield kind, url


@pytest.fixture
def page(browser, failing_app):
    _, url = failing_app
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    yield page
    context.close()


def _wait_for_failed_fold(page, kind: str) -> None:
    stage = FAILURES[kind][1]
    status = page.locator("#status-line")
    status.locator(f".stage-{stage.removeprefix('stage-')}").wait_for(timeout=90_000)
    status.locator(".stage-done").wait_for(timeout=30_000)  # the analysis stage
    assert status.locator(".stage-running").count() == 0


def _plot_traces(page, selector: str) -> list[str]:
    """The trace types of the visible Plotly figure in `selector` (waits until it is drawn)."""
    plot = _visible_plot(selector)
    drawn = f"() => {{ const p = {plot}; return p && p.data && p.data.length > 0; }}"
    page.wait_for_function(drawn, timeout=30_000)
    return page.evaluate(f"() => {plot}.data.map(t => t.type || 'scatter')")


def _assert_analysis_tabs_filled(page, tmp_path, screenshot_prefix: str) -> None:
    page.get_by_role("tab", name="PTM sites").click()
    assert _plot_traces(page, "#ptm-plot"), "PTM plot has no traces"
    k29_row = "(el) => /\\bA\\s+29\\s+K\\s+SUMOylation/.test(el.innerText)"  # the one lysine above 0.5
    page.wait_for_function(k29_row, arg=page.locator("#ptm-table").element_handle(), timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        page.locator("#ptm-csv a").first.click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert any(r["position"] == "29" and r["residue"] == "K" for r in rows), rows[:3]
    sumo = [r for r in rows if r["type"] == "SUMOylation"]
    assert len(sumo) == UBIQUITIN.count("K")  # every candidate lysine, not only those above 0.5
    _screenshot(page, f"{screenshot_prefix}-ptm")

    page.get_by_role("tab", name="Localization").click()
    assert _plot_traces(page, "#localization-plot")
    assert "Membrane" in page.locator("#localization-summary").inner_text()
    _screenshot(page, f"{screenshot_prefix}-localization")

    page.get_by_role("tab", name="Contacts").click()
    assert "heatmap" in _plot_traces(page, "#contacts-plot")
    assert page.locator("#contacts-top tr").count() > 1  # header + the top long-range contacts
    viewer = page.locator("#contacts-viewer .structure-placeholder")
    assert viewer.get_attribute("data-state") == "failed"  # says why there is no 3D, not "fold it"
    assert "Fold the same sequence" not in viewer.inner_text()
    _screenshot(page, f"{screenshot_prefix}-contacts")


def test_analysis_tabs_keep_their_results_after_a_failed_fold(page, failing_app, tmp_path):
    kind, _ = failing_app
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()  # on the Structure tab, where a user starts
    _wait_for_failed_fold(page, kind)
    structure_box = page.locator("#structure-viewer .structure-placeholder")
    assert structure_box.get_attribute("data-state") == "failed"
    assert "Paste a sequence" not in structure_box.inner_text()
    _screenshot(page, f"failed-fold-{kind}-structure")
    _assert_analysis_tabs_filled(page, tmp_path, f"failed-fold-{kind}")


# One failure kind is enough for the row click: it runs the same Predict event.
@pytest.mark.parametrize("failing_app", ["unavailable"], indirect=True)
def test_a_batch_row_opened_after_a_failed_fold_keeps_its_analysis(page, failing_app, tmp_path):
    kind, _ = failing_app
    fasta = tmp_path / "two.fasta"
    fasta.write_text(f">first\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n>ubq ubiquitin\n{UBIQUITIN}\n")
    open_batch_row(page, fasta, 2, "ubq")
    page.locator("#status-line").get_by_text("ubq").wait_for(timeout=30_000)
    _wait_for_failed_fold(page, kind)
    _assert_analysis_tabs_filled(page, tmp_path, "batch-row-failed-fold")


@pytest.mark.parametrize("failing_app", ["unavailable"], indirect=True)
def test_a_batch_with_structure_counts_each_task_and_says_a_shared_error_once(page, failing_app, tmp_path):
    fasta = tmp_path / "three.fasta"
    fasta.write_text(
        f">ubiquitin_human\n{UBIQUITIN}\n>crambin_plant\nTTCCPSIVARSNFNVCRLPGTPEAICATYTGCIIIPGATCPGDYAN\n"
        ">short\nMKKLLEEKAGK\n"
    )
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-tasks").get_by_text("structure", exact=True).click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(fasta))
    page.locator("#batch-button").click()
    status = page.locator("#batch-status")
    status.get_by_text("3 records: 3 analysed, 0 folded (why not: note 1)").wait_for(timeout=120_000)
    body = page.locator("body").inner_text()
    assert body.count("does not exist") == 1, "the shared ESMFold message must be said once"
    table = page.locator("#batch-table")
    assert table.inner_text().count("see note 1 above") == 3
    # No word is broken across lines: a one-word cell (an id, a status) renders as one line box.
    broken = page.evaluate(
        """() => [...document.querySelectorAll('#batch-table td')]
            .filter(td => td.getClientRects().length && /^\\S+$/.test(td.innerText.trim()))
            .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
                            const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
                            return tops.size > 1; })
            .map(td => td.innerText.trim())"""
    )
    assert broken == [], f"words broken across lines: {broken}"
    # Every row can be reached: the table is not a scroll box that hides its last row.
    last = table.get_by_text("short", exact=True).first
    last.scroll_into_view_if_needed()
    assert last.is_visible()
    scroll_boxes = page.evaluate(
        """() => [...document.querySelectorAll('#batch-table *')]
            .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowY))
            .filter(e => e.scrollHeight > e.clientHeight + 2).length"""
    )
    assert scroll_boxes == 0
    _screenshot(page, "batch-structure-unavailable")
