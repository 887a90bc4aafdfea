"""A real browser (Debian's chromium via Playwright, offline) using the page as a person would."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest

from tests.browser import _screenshot, open_batch_row
from tests.conftest import INSULIN_A, INSULIN_B, UBIQUITIN

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None,
        reason="Debian's chromium is not installed (the README test command installs it)",
    ),
]


def _screenshot_every_tab(page, prefix: str) -> None:
    for tab in ("Structure", "PTM sites", "Localization", "Contacts"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(1_500)  # plots and the 3D canvas draw after the tab shows
        _screenshot(page, f"{prefix}-{tab.split()[0].lower()}")


def test_paste_fold_and_see_structure_and_plots(page, tmp_path):
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    viewer = page.frame_locator("iframe.structure-viewer")
    viewer.locator("canvas").wait_for(timeout=60_000)
    assert viewer.locator(".legend").inner_text().count("pLDDT") == 4
    page.locator("#plddt-plot .main-svg").first.wait_for(state="visible", timeout=30_000)
    page.locator("#pae-plot .main-svg").first.wait_for(state="visible", timeout=30_000)
    assert "Mean pLDDT" in page.locator("#structure-status").inner_text()
    page.screenshot(path=str(tmp_path / "fold.png"), full_page=True)


def test_style_change_redraws_without_refolding(page):
    page.locator("#sequence-input textarea").fill("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")
    page.locator("#predict-button").click()
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)
    page.locator("#viewer-coloring").get_by_text("chain").click()
    page.wait_for_function(
        "() => !document.querySelector('iframe.structure-viewer').srcdoc.includes('class=\"legend\"')",
        timeout=30_000,
    )
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)


def test_bad_input_shows_the_message_in_the_status_line(page):
    page.locator("#sequence-input textarea").fill("MKV@LL")
    page.locator("#predict-button").click()
    page.locator("#status-line").get_by_text("'@' at residue 4 (line 1, column 4)").wait_for(timeout=30_000)


def test_predict_shows_progress_at_once_on_the_tab_in_view(page):
    page.get_by_role("tab", name="Localization").click()
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    status = page.locator("#status-line")
    status.get_by_text("ubiquitin").wait_for(timeout=1_000)  # within 1 s, seen from this tab
    assert "Analysis" in status.inner_text() and "Structure" in status.inner_text()
    page.locator("#localization-plot .main-svg").first.wait_for(state="visible", timeout=60_000)
    status.locator(".stage-done").nth(1).wait_for(timeout=60_000)  # both stages done
    assert status.inner_text().count("done in") == 2
    _screenshot_every_tab(page, "ubiquitin")


def test_an_error_clears_the_previous_results(page):
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)
    page.locator("#sequence-input textarea").fill(">broken\nMKV@LL")
    page.locator("#predict-button").click()
    page.locator("#status-line").get_by_text("'@' at residue 4").wait_for(timeout=30_000)
    assert page.locator("iframe.structure-viewer").count() == 0  # the old model is gone
    assert "Mean pLDDT" not in page.locator("#structure-status").inner_text()
    page.get_by_role("tab", name="Localization").click()
    assert page.locator("#localization-summary").inner_text().strip() == ""
    assert "ubiquitin" not in page.locator("body").inner_text().split("Predict")[-1]
    _screenshot(page, "error-cleared")


def test_a_fold_that_cannot_load_fails_fast_the_second_time(browser, tmp_path):
    from tests.app_process import running_app

    args = ["--fold-model", tmp_path / "absent-esmfold", "--result-cache", "off"]
    log = tmp_path / "app.log"
    with running_app(args, log) as url:
        page = browser.new_page()
        page.goto(url)
        status = page.locator("#status-line")
        for attempt in ("first", "second"):  # a new name each time tells the two answers apart
            page.locator("#sequence-input textarea").fill(f">{attempt}\n" + UBIQUITIN)
            page.locator("#predict-button").click()
            page.locator(f"#status-line:has-text('{attempt}') .stage-unavailable").wait_for(timeout=60_000)
            assert "does not exist" in status.inner_text() and "--fold-model" in status.inner_text()
        # Fast because not tried again: the app logs each load it attempts, and it attempted one.
        # (Counted, not timed: a wall-clock bound flakes on a loaded 2-core machine.)
        assert log.read_text().count("Folding model unavailable") == 1, log.read_text()[-2000:]
        assert page.locator("#retry-fold").is_visible()  # and a way to try again at once
        _screenshot(page, "fold-unavailable")
        page.close()


def test_the_insulin_example_analyses_both_chains(page):
    page.get_by_text("insulin AB", exact=True).click()
    # The example fills the box through the server: wait for it, as a person sees it fill,
    # before Predict (on a loaded machine a click at once ran on the empty box).
    box = page.locator("#sequence-input textarea")
    page.wait_for_function(
        "(el) => el.value.includes('" + INSULIN_B[:12] + "')", arg=box.element_handle(), timeout=30_000
    )
    page.locator("#predict-button").click()
    status = page.locator("#status-line")
    status.locator(".stage-done").nth(1).wait_for(timeout=90_000)
    assert "chain A 21 aa" in status.inner_text() and "chain B 30 aa" in status.inner_text()
    page.get_by_role("tab", name="Localization").click()
    summary = page.locator("#localization-summary").inner_text()
    assert "Chain A" in summary and "Chain B" in summary
    page.get_by_role("tab", name="PTM sites").click()
    page.locator("#ptm-plot .main-svg").first.wait_for(state="visible", timeout=30_000)  # drawn on show
    page.locator("#ptm-plot").get_by_text("chain B", exact=False).first.wait_for(timeout=30_000)
    assert "chain B" in page.locator("#ptm-plot").inner_text()
    _screenshot_every_tab(page, "insulin")


def test_analyze_fills_ptm_localization_and_contacts_tabs(page):
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.get_by_role("tab", name="PTM sites").click()
    page.locator("#ptm-plot .main-svg").first.wait_for(state="visible", timeout=60_000)
    assert "lysine" in page.locator("#ptm-plot").inner_text()
    page.get_by_role("tab", name="Localization").click()
    page.locator("#localization-plot .main-svg").first.wait_for(state="visible", timeout=30_000)
    assert "Membrane" in page.locator("#localization-summary").inner_text()
    assert "Most similar training proteins" in page.locator("#localization-summary").inner_text()
    page.get_by_role("tab", name="Contacts").click()
    page.locator("#contacts-plot .main-svg").first.wait_for(state="visible", timeout=30_000)


def test_hostile_header_is_shown_as_text_not_run(page):
    page.evaluate("window.__pwned = false")
    page.locator("#sequence-input textarea").fill(
        '>x<img src=x onerror="window.__pwned=true"><script>window.__pwned=true</script>\n' + UBIQUITIN
    )
    page.locator("#predict-button").click()
    page.locator("#structure-status").get_by_text("<img", exact=False).wait_for(timeout=60_000)
    assert page.evaluate("window.__pwned") is False


def test_batch_tab_uploads_a_fasta_and_offers_table_and_zip(page, tmp_path):
    fasta = tmp_path / "batch.fasta"
    hostile = '<img src=x onerror="window.__pwned=true">'
    fasta.write_text(f">ubq\n{UBIQUITIN}\n>bad{hostile}\nMKV@K\n>short\nMKKLLEEKAGK\n")
    page.evaluate("window.__pwned = false")
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(fasta))
    page.locator("#batch-button").click()
    page.locator("#batch-status").get_by_text("3 records: 2 analysed").wait_for(timeout=120_000)
    table = page.locator("#batch-table").inner_text()
    assert "ubq" in table and "'@' at residue 4" in table and "<img" in table  # shown as text
    assert page.evaluate("window.__pwned") is False
    with page.expect_download() as download:
        page.locator("#batch-zip a").first.click()
    import zipfile

    names = zipfile.ZipFile(download.value.path()).namelist()
    assert {"summary.csv", "localization.csv", "ptm_sites.csv", "contacts/ubq.npy"} <= set(names)
    page.screenshot(path=str(tmp_path / "batch.png"), full_page=True)


def test_a_batch_row_opens_in_the_tabs(page, tmp_path):
    fasta = tmp_path / "two.fasta"
    fasta.write_text(f">first\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n>ubq ubiquitin\n{UBIQUITIN}\n")
    open_batch_row(page, fasta, 2, "ubq")
    page.wait_for_function(
        "() => document.querySelector('#sequence-input textarea').value.startsWith('>ubq')", timeout=30_000
    )
    assert page.locator("#sequence-input textarea").input_value() == f">ubq ubiquitin\n{UBIQUITIN}"
    status = page.locator("#status-line")
    status.get_by_text("ubq").wait_for(timeout=30_000)
    status.locator(".stage-done").nth(1).wait_for(timeout=60_000)
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)
    _screenshot(page, "batch-row-opened")


def test_a_full_queue_tells_users_the_app_is_busy(browser, tiny_fold_model, tmp_path):
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from load_test import running_app

    rng = random.Random(0)
    with running_app(tiny_fold_model, ["--max-queue", "1", "--max-fold-length", "400"], tmp_path) as url:
        # Six users (a browser context each: one context shares Chrome's 6 connections per
        # host, which open pages hold). One folds, one waits in the queue of 1, the rest are told.
        contexts = [browser.new_context() for _ in range(6)]
        pages = [context.new_page() for context in contexts]
        for page in pages:
            page.goto(url)
            page.locator("#sequence-input textarea").fill(
                "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(400))
            )
        for page in pages:
            page.locator("#predict-button").click()
        busy = pages[-1].get_by_text("This application is currently busy. Please try again.")
        busy.first.wait_for(timeout=30_000)
        pages[0].locator("#structure-status table").wait_for(timeout=60_000)  # the first got its fold
        for context in contexts:
            context.close()


def _visible_plot(selector: str) -> str:
    """JS expression: the visible Plotly div inside `selector` (Gradio keeps a hidden duplicate)."""
    return (
        f"[...document.querySelectorAll('{selector} .js-plotly-plot')]"
        ".find(el => el.getClientRects().length && el.layout)"
    )


def test_pae_selection_highlights_residues_in_3d(page):
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    frame = page.frame_locator("iframe.structure-viewer")
    frame.locator("canvas").wait_for(timeout=60_000)
    page.locator("#pae-plot .main-svg").first.wait_for(state="visible", timeout=30_000)
    pae = _visible_plot("#pae-plot")
    page.wait_for_function(f"() => {pae} && {pae}.layout.dragmode === 'select'", timeout=30_000)
    viewer = page.frame(url="about:srcdoc") or next(f for f in page.frames if f.url == "about:srcdoc")
    viewer.wait_for_function("() => window.__viewer != null", timeout=30_000)

    # A drag over the heatmap's plot area, from 20 % to 40 % of its width (scored residues) and
    # 50 % to 70 % of its height (aligned residues).
    drag_area = page.locator("#pae-plot .nsewdrag").filter(visible=True).first
    drag_area.scroll_into_view_if_needed()
    box = drag_area.bounding_box()  # in the viewport, as the mouse moves
    assert box is not None
    corners = [
        (box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in ((0.2, 0.5), (0.4, 0.7))
    ]
    # Which residues lie under those two points, by Plotly's own pixel-to-data conversion.
    (x0, y0), (x1, y1) = (
        page.evaluate(
            f"""([cx, cy]) => {{
              const gd = {pae}, r = gd.getBoundingClientRect();
              const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
              return [xa.p2d(cx - r.left - xa._offset), ya.p2d(cy - r.top - ya._offset)];
            }}""",
            list(corner),
        )
        for corner in corners
    )
    page.mouse.move(*corners[0])
    page.mouse.down()
    page.mouse.move(*corners[1], steps=10)
    page.mouse.up()
    viewer.wait_for_function("() => (window.__lastHighlight || []).length === 2", timeout=10_000)
    applied = viewer.evaluate("window.__lastHighlight")
    expected = {"aligned": sorted((y0, y1)), "scored": sorted((x0, x1))}
    by_role = {role: (chain, start, end) for chain, start, end, role in applied}
    assert set(by_role) == {"aligned", "scored"}, applied
    for role, (low, high) in expected.items():
        chain, start, end = by_role[role]
        assert chain == "A" and abs(start - low) <= 1 and abs(end - high) <= 1, (role, applied, expected)
    assert by_role["aligned"] != by_role["scored"]  # two different ranges, told apart
    assert "aligned residues" in viewer.locator("ul.key").inner_text()
    # The 3Dmol.js model itself was restyled: each range in its colour, the rest dimmed.
    colour_of = "resi => window.__viewer.selectedAtoms({model: 0, resi: resi})[0].style.cartoon.color"
    (_, a_start, a_end), (_, s_start, s_end) = by_role["aligned"], by_role["scored"]
    outside = next(
        r for r in range(1, len(UBIQUITIN) + 1) if not (a_start <= r <= a_end or s_start <= r <= s_end)
    )
    inside = {"aligned": next(r for r in range(a_start, a_end + 1) if not s_start <= r <= s_end)}
    inside["scored"] = next(r for r in range(s_start, s_end + 1) if not a_start <= r <= a_end)
    assert viewer.evaluate(f"({colour_of})({inside['aligned']})").lower() == "#1f77b4"
    assert viewer.evaluate(f"({colour_of})({inside['scored']})").lower() == "#ff7f0e"
    assert viewer.evaluate(f"({colour_of})({outside})").lower() == "#e0e0e0"
    before = viewer.evaluate(f"({colour_of})({outside})")

    # A click on the map outside the rectangle clears it: every residue gets its colour back.
    page.mouse.click(box["x"] + 0.85 * box["width"], box["y"] + 0.15 * box["height"])
    viewer.wait_for_function("() => Array.isArray(window.__lastHighlight) && !window.__lastHighlight.length")
    assert viewer.evaluate(f"({colour_of})({inside['aligned']})").lower() not in ("#1f77b4", "#e0e0e0")
    assert viewer.evaluate(f"({colour_of})({outside})").lower() != before.lower()
    assert not viewer.locator("ul.key").is_visible()

    # A residue hovered in 3D (the message the viewer's hover callback posts) is marked on the plots.
    viewer.evaluate(
        "window.parent.postMessage({type: 'protein-studio:hover', chain: 'A', resi: 30}, window.origin)"
    )
    marks = "gd => (gd.layout.shapes || []).filter(s => s.name === 'ps-hover')"
    plddt = _visible_plot("#plddt-plot")
    page.wait_for_function(f"() => ({marks})({plddt}).length === 1", timeout=10_000)
    assert page.evaluate(f"() => ({marks})({plddt})[0].x0") == 30
    assert page.evaluate(f"() => ({marks})({pae}).map(s => [s.x0, s.y0])") == [[30, 0], [0, 30]]
    # A message from anywhere but the viewer frame is ignored.
    page.evaluate("window.postMessage({type: 'protein-studio:hover', chain: 'A', resi: 5}, '*')")
    page.wait_for_timeout(300)
    assert page.evaluate(f"() => ({marks})({plddt})[0].x0") == 30
    _screenshot(page, "pae-link")


def _fold_then_mutate(page, text: str, variants: str) -> None:
    """Predict (so the wild type is folded), then the variants on the Mutations tab."""
    page.locator("#sequence-input textarea").fill(text)
    page.locator("#predict-button").click()
    page.wait_for_function(
        "document.querySelector('#status-line').innerText.includes('Structure: done')", timeout=60_000
    )
    page.get_by_role("tab", name="Mutations").click()
    page.locator("#variants-input textarea").fill(variants)
    page.locator("#mutate-button").click()


def test_mutations_tab_predicts_variants_and_scans_a_site(page):
    _fold_then_mutate(page, ">ubiquitin\n" + UBIQUITIN, "K29R, E48R\nK48R+E51A")
    page.locator("#mutations-status").get_by_text("2 of 3 variants predicted").wait_for(timeout=120_000)
    assert "E48R: residue 48 is K, not E." in page.locator("#mutations-status").inner_text()
    table = page.locator("#mutations-table").inner_text()
    assert "K29R" in table and "SUMOylation K29" in table and "K48R+E51A" in table
    # The wild type was folded by Predict, so the variants were too: the viewer draws the first.
    viewer = page.locator("#mutations-viewer")
    viewer.locator("iframe").wait_for(timeout=30_000)
    assert "In 3D: K29R" in viewer.inner_text()
    # A click on another variant's row shows that one, its two changes as sticks.
    page.locator("#mutations-table").get_by_text("K48R+E51A", exact=True).filter(visible=True).first.click()
    viewer.get_by_text("In 3D: K48R+E51A").wait_for(timeout=30_000)
    srcdoc = viewer.locator("iframe").get_attribute("srcdoc")
    assert '"chain": "A", "resi": 48}' in srcdoc and '"chain": "A", "resi": 51}' in srcdoc
    # A row that was not predicted says why instead of a model.
    page.locator("#mutations-table").get_by_text("E48R", exact=True).filter(visible=True).first.click()
    viewer.get_by_text("E48R was not predicted: E48R: residue 48 is K, not E.").wait_for(timeout=30_000)
    assert viewer.locator("iframe").count() == 0
    page.locator("#scan-accordion").get_by_text("Site-saturation scan").click()  # closed until opened
    readout = page.locator("#scan-readout input")
    readout.fill("SUMOylation K29")
    readout.press("Enter")
    page.wait_for_function(  # a site readout proposes the site ± 15
        "document.querySelector('#scan-first input').value === '14'", timeout=15_000
    )
    assert page.locator("#scan-last input").input_value() == "44"
    page.locator("#scan-first input").fill("27")
    page.locator("#scan-last input").fill("31")
    page.locator("#scan-button").click()
    page.locator("#scan-status").get_by_text("95 mutants of ubiquitin scored").wait_for(timeout=120_000)
    page.locator("#scan-heatmap .main-svg").first.wait_for(state="visible", timeout=30_000)
    assert "SUMOylation K29" in page.locator("#scan-heatmap").inner_text()
    _screenshot(page, "mutations")
    # A new protein: the last one's variants and scan do not stay on the tab.
    page.locator("#sequence-input textarea").fill(">crambin\nTTCCPSIVARSNFNVCRLPGTPEAICATYTGCIIIPGATCPFDFTYY")
    page.locator("#predict-button").click()
    page.wait_for_function(
        "!document.querySelector('#mutations-table').innerText.includes('K29R')", timeout=30_000
    )
    assert "variants predicted" not in page.locator("#mutations-status").inner_text()
    assert "mutants of ubiquitin" not in page.locator("#scan-status").inner_text()


def test_a_complex_variant_names_its_chain_and_shows_it_on_that_chain(page):
    _fold_then_mutate(page, f">insulin\n{INSULIN_A}:{INSULIN_B}", "B:F1A, F1A")
    status = page.locator("#mutations-status")
    status.get_by_text("1 of 2 variants predicted").wait_for(timeout=120_000)
    assert "F1A: say which chain it changes, e.g. B:F1A" in status.inner_text()
    assert "B:F1A" in page.locator("#mutations-table").inner_text()
    viewer = page.locator("#mutations-viewer iframe")
    viewer.wait_for(timeout=30_000)  # the mutant complex, folded, over the wild type
    assert '"chain": "B", "resi": 1}' in viewer.get_attribute("srcdoc")  # the stick is on chain B
    # The scan offers each chain's readouts under its letter; a site proposes its range in B.
    page.locator("#scan-accordion").get_by_text("Site-saturation scan").click()  # closed until opened
    readout = page.locator("#scan-readout input")
    readout.fill("B: SUMOylation K29")
    readout.press("Enter")
    page.wait_for_function("document.querySelector('#scan-first input').value === '14'", timeout=15_000)
    assert page.locator("#scan-last input").input_value() == "30"  # clipped to chain B's 30
    page.locator("#scan-first input").fill("28")
    page.locator("#scan-button").click()
    page.locator("#scan-status").get_by_text("57 mutants of insulin scored for B: SUMOylation K29").wait_for(
        timeout=60_000
    )
    _screenshot(page, "mutations-complex")


def test_a_shared_link_opens_the_sequence_and_predicts_it(page, app_url):
    text = ">crambin & co\nTTCCPSIVARSNFNVCRLPGTPEAICATYTGCIIIPGATCPFDFTYY"
    page.locator("#sequence-input textarea").fill(text)
    page.locator("#share").get_by_text("Share a link").click()
    page.locator("#share-button").click()
    box = page.locator("#share-link textarea")
    page.wait_for_function("(el) => el.value.startsWith('http')", arg=box.element_handle(), timeout=15_000)
    link = box.input_value()
    assert link.startswith(app_url) and "%3Ecrambin+%26+co%0ATTCC" in link  # the header travels too
    _screenshot(page, "share-link")
    # Someone else opens it: the box holds the text and Predict runs on it.
    other = page.context.new_page()
    other.goto(link)
    status = other.locator("#status-line")
    status.get_by_text("crambin").wait_for(timeout=30_000)  # the id: the header's first word
    status.locator(".stage-done").nth(1).wait_for(timeout=60_000)
    assert other.locator("#sequence-input textarea").input_value() == text
    # A sequence too long for a link is told so instead of getting a link that cannot open.
    page.locator("#sequence-input textarea").fill("M" * 9000)
    page.locator("#share-button").click()
    page.wait_for_function(
        "(el) => el.value.startsWith('Too long for a link')", arg=box.element_handle(), timeout=15_000
    )
    assert "9,0" in box.input_value() and "8,000" in box.input_value()  # its length and the limit
    other.close()


def test_the_front_page_screenshot_is_the_page_after_a_predict(page):
    """README's picture: the page after Predict on ubiquitin, PTM sites in view (the real ESM-2
    backbone and shipped heads; the fold here is the tests' tiny model, so its tab is not shown).
    `PROTEIN_STUDIO_UPDATE_DOCS=1` writes it to docs/screenshot.png, where README links it."""
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.get_by_role("tab", name="PTM sites").click()
    page.locator("#ptm-plot .main-svg").first.wait_for(state="visible", timeout=60_000)
    page.locator("#status-line .stage-done").nth(1).wait_for(timeout=60_000)  # analysis and fold
    page.wait_for_timeout(1_500)  # the plot's transition and the 3D canvas settle
    shot = page.screenshot(full_page=False)
    _screenshot(page, "front-page")
    docs_png = Path(__file__).resolve().parents[2] / "docs" / "screenshot.png"
    if os.environ.get("PROTEIN_STUDIO_UPDATE_DOCS") == "1":
        docs_png.write_bytes(shot)
    committed = docs_png.read_bytes()
    assert committed[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", committed[16:24])
    assert (width, height) == struct.unpack(">II", shot[16:24]) == (1280, 1500)


def _site_cards() -> list[dict]:
    from models.shared.settings import HEADS_DIR

    cards = [json.loads(p.read_text()) for p in sorted(HEADS_DIR.glob("*.json"))]
    return [c for c in cards if c.get("kind") == "site_ensemble"]  # the map's card has no kind


def test_ptm_types_are_chosen_and_each_starts_at_its_calibrated_threshold(page):
    """Every shipped PTM type: one track and one summary row each, at its card's threshold; a few
    types chosen leave only theirs; the slider sets one type's threshold or every type's."""
    cards = _site_cards()
    names = [c["config"]["ptm_type"] for c in cards]
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.get_by_role("tab", name="PTM sites").click()
    plot = _visible_plot("#ptm-plot")
    page.wait_for_function(f"() => {plot} && {plot}.layout", timeout=60_000)
    titles = page.evaluate(f"() => {plot}.layout.annotations.map(a => a.text)")
    tracks = [t for t in titles if "probability at each" in t]
    assert len(tracks) == len(names) and all(any(t.startswith(n) for t in tracks) for n in names)
    summary = page.locator("#ptm-empty-box table.ptm-summary")
    rows = summary.locator("tbody tr")
    assert rows.count() == len(names)
    for card in cards:
        row = rows.filter(has_text=card["config"]["ptm_type"]).first
        threshold = card.get("threshold", {}).get("value", 0.5)
        assert f"{threshold:.2f}" in row.inner_text()
    _screenshot(page, "ptm-nine-types")

    # Only two types: their tracks and rows, nothing else.
    chosen = names[:2]
    for name in names[2:]:
        page.locator("#ptm-types").get_by_label(name, exact=True).uncheck()
    page.wait_for_function(
        f"() => {plot}.layout.annotations.filter(a => a.text.includes('probability at each')).length === 2",
        timeout=30_000,
    )
    assert rows.count() == 2 and all(rows.filter(has_text=n).count() == 1 for n in chosen)

    # One type's threshold: the others keep their calibrated ones, and the box unticks.
    first, second = chosen
    own_threshold = {c["config"]["ptm_type"]: c.get("threshold", {}).get("value", 0.5) for c in cards}
    page.locator("#ptm-threshold-target input").click()
    page.get_by_role("option", name=first, exact=True).click()
    # Choosing a type moves the slider to that type's threshold: wait for it before moving it.
    page.wait_for_function(
        "v => Math.abs(parseFloat(document.querySelector('#ptm-threshold input[type=number]').value) - v)"
        " < 1e-6",
        arg=own_threshold[first], timeout=30_000,
    )  # fmt: skip
    slider = page.locator("#ptm-threshold input[type=range]")
    slider.fill("0.9")
    slider.dispatch_event("pointerup")  # what Gradio's `release` listens to
    row = rows.filter(has_text=first).first
    page.wait_for_function(
        "name => [...document.querySelectorAll('#ptm-empty-box tbody tr')]"
        ".some(r => r.cells[0].textContent.includes(name) && r.cells[1].textContent.trim() === '0.90')",
        arg=first, timeout=30_000,
    )  # fmt: skip
    assert f"{own_threshold[second]:.2f}" in rows.filter(has_text=second).first.inner_text()
    assert "0.90" in row.inner_text()
    assert not page.locator("#ptm-own-thresholds input").is_checked()

    # The box puts every type back at its calibrated threshold.
    page.locator("#ptm-own-thresholds input").check()
    page.wait_for_function(
        "v => [...document.querySelectorAll('#ptm-empty-box tbody tr')]"
        ".some(r => r.cells[1].textContent.trim() === v)",
        arg=f"{own_threshold[first]:.2f}", timeout=30_000,
    )  # fmt: skip

    # Every type at once.
    page.locator("#ptm-threshold-target input").click()
    page.get_by_role("option", name="every type", exact=True).click()
    slider.fill("0.05")
    slider.dispatch_event("pointerup")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#ptm-empty-box tbody tr')]"
        ".every(r => r.cells[1].textContent.trim() === '0.05')",
        timeout=30_000,
    )
    assert not page.locator("#ptm-own-thresholds input").is_checked()


def test_secondary_tracks_sit_under_the_ptm_plot_and_meet_the_folds_dssp(page):
    """Predicted from the sequence at once; once the fold arrives, its DSSP row and the agreement."""
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.get_by_role("tab", name="PTM sites").click()
    page.locator("#secondary-plot .main-svg").first.wait_for(state="visible", timeout=60_000)
    note = page.locator("#secondary-note")
    note.get_by_text("Three-state agreement with the DSSP of the ESMFold fold").wait_for(timeout=90_000)
    assert f"of {len(UBIQUITIN)} residues" in note.inner_text()
    plot = _visible_plot("#secondary-plot")
    bars = f"({plot}).data.filter(t => t.type === 'bar')"
    page.wait_for_function(f"{bars}.some(t => (t.customdata || [])[0] === 'DSSP (the ESMFold fold)')")
    rows = page.evaluate(f"[...new Set({bars}.flatMap(t => t.customdata))]")
    assert rows == ["Predicted", "DSSP (the ESMFold fold)"]
    # Above the PTM table: the tracks come right under the PTM plot.
    ptm_box = page.locator("#ptm-plot").bounding_box()
    ss_box = page.locator("#secondary-plot").bounding_box()
    assert ptm_box["y"] + ptm_box["height"] <= ss_box["y"] + 1
    _screenshot(page, "secondary-tracks")


def _map_traces(page, selector: str) -> list:
    plot = _visible_plot(selector)
    page.wait_for_function(f"({plot}) && ({plot}).data.some(t => (t.name || '').startsWith('your protein'))")
    return page.evaluate(f"({plot}).data.map(t => [t.name, t.x.length, t.visible === 'legendonly'])")


def test_the_protein_map_shows_ubiquitin_among_the_training_proteins(page):
    page.locator("#sequence-input textarea").fill(">ubiquitin\n" + UBIQUITIN)
    page.locator("#predict-button").click()
    page.get_by_role("tab", name="Localization").click()
    page.locator("#map-plot .main-svg").first.wait_for(state="visible", timeout=90_000)
    traces = _map_traces(page, "#map-plot")
    names = [name for name, *_ in traces]
    assert names[-2:] == ["5 most similar", "your protein"] and len(names) == 15  # 13 compartments
    assert "nearest on the map:" in page.locator("#map-note").inner_text()
    # A legend click hides a compartment (Plotly's own legend).
    page.locator("#map-plot .legend .traces").first.click()
    page.wait_for_function(f"({_visible_plot('#map-plot')}).data[0].visible === 'legendonly'")
    page.locator("#map-plot").scroll_into_view_if_needed()
    _screenshot(page, "map-ubiquitin")


def test_the_protein_map_shows_a_20_record_batch(page, tmp_path):
    from scldata import loader

    eval_set = loader.load("eval")
    short = eval_set[eval_set.seq.str.len() <= 300].sort_index().iloc[:20]
    fasta = tmp_path / "twenty.fasta"
    fasta.write_text("".join(f">{entry}\n{seq}\n" for entry, seq in zip(short.index, short.seq)))
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-upload input[type=file]").set_input_files(str(fasta))
    page.locator("#batch-button").click()
    done = page.locator("#batch-status").get_by_text("20 records: 20 analysed, 20 on the map")
    done.wait_for(timeout=180_000)
    traces = _map_traces(page, "#batch-map-plot")
    assert traces[-1][:2] == ["your proteins", 20]
    page.locator("#batch-map-plot").scroll_into_view_if_needed()
    _screenshot(page, "map-batch-20")
