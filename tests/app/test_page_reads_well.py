"""What a person reads on the page (part 9): units and sentences, colours that match their legend,
contrast, names that tell proteins apart, a status line that is never stale, a calm first screen.
Driven in Debian's chromium against the app users start."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.browser import _screenshot
from tests.conftest import FIXTURES, UBIQUITIN

RELATIVE_LUMINANCE_JS = """
(el) => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let back = el, bg = [255, 255, 255, 0];
  while (back) {  // the first opaque background behind the text
    const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length < 4 || c[3] > 0.99) { bg = c; break; }
    back = back.parentElement;
  }
  if (!back) bg = [255, 255, 255];
  const fg = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(fg, b) + 0.05) / (Math.min(fg, b) + 0.05);
}
"""


def _predict(page, text: str) -> None:
    page.locator("#sequence-input textarea").fill(text)
    page.locator("#predict-button").click()
    page.locator("#status-line .stage-done").nth(1).wait_for(timeout=120_000)


@pytest.mark.browser
def test_the_first_screen_hides_empty_boxes_until_a_predict_fills_them(page):
    empty_height = page.evaluate("document.documentElement.scrollHeight")
    for box in ("#pdb-download", "#scores-download", "#cif-download", "#pae-download", "#plddt-plot"):
        assert not page.locator(box).is_visible(), f"{box} is shown before it has anything"
    _screenshot(page, "first-screen")
    _predict(page, ">ubiquitin\n" + UBIQUITIN)
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)
    for box in ("#pdb-download", "#scores-download", "#cif-download", "#pae-download", "#plddt-plot"):
        page.locator(box).wait_for(state="visible", timeout=30_000)
    filled_height = page.evaluate("document.documentElement.scrollHeight")
    print(f"page height at 1400 px wide: {empty_height} px before a first Predict, {filled_height} px after")
    assert empty_height < filled_height
    page.get_by_role("tab", name="Mutations").click()
    assert not page.locator("#scan-button").is_visible()  # the scan waits in a closed accordion
    page.locator("#scan-accordion").get_by_text("Site-saturation scan").click()
    page.locator("#scan-button").wait_for(state="visible", timeout=10_000)


@pytest.mark.browser
def test_trust_notes_and_secondary_text_meet_wcag_aa_contrast(page):
    _predict(page, ">ubiquitin\n" + UBIQUITIN)
    page.get_by_role("tab", name="PTM sites").click()
    checked = {}
    for name, selector in {
        "PTM trust note": "#ptm-trust-box .trust-note",
        "result subject": "#ptm-trust-box ~ * .result-subject, .result-subject",
    }.items():
        element = page.locator(selector).first
        element.wait_for(timeout=30_000)
        checked[name] = element.evaluate(RELATIVE_LUMINANCE_JS)
    page.get_by_role("tab", name="Localization").click()
    scale = page.locator("#localization-summary .similarity-scale").first
    scale.wait_for(timeout=30_000)
    checked["similarity caption"] = scale.evaluate(RELATIVE_LUMINANCE_JS)
    page.get_by_role("tab", name="Structure").click()
    label = page.locator("#structure-status .fold-summary th").first
    checked["summary row label"] = label.evaluate(RELATIVE_LUMINANCE_JS)
    print({k: round(v, 2) for k, v in checked.items()})
    assert all(ratio >= 4.5 for ratio in checked.values()), checked


def _open(page, name: str) -> None:
    page.locator("#open-structure").get_by_text("Open a structure file").click()
    page.locator("#structure-upload input[type=file]").set_input_files(str(FIXTURES / name))
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)


def _compare_with(page, name: str) -> None:
    page.locator("#compare-structure").get_by_text("Compare with a reference structure").click()
    page.locator("#reference-upload input[type=file]").set_input_files(str(FIXTURES / name))
    page.locator("#reference-upload").get_by_text(name.removesuffix(".pdb")).first.wait_for(timeout=30_000)
    page.locator("#compare-button").click()
    page.locator("#distance-plot .main-svg").first.wait_for(state="visible", timeout=60_000)


@pytest.mark.browser
def test_an_experimental_entry_is_never_painted_as_plddt(page):
    _open(page, "pdb1ubi.pdb")
    coloring = page.locator("#viewer-coloring")
    assert coloring.get_by_label("secondary structure").is_checked()  # what is drawn
    coloring.get_by_label("pLDDT").check()  # asked for pLDDT, B-factors are still not painted as it
    page.wait_for_function(
        "() => document.querySelector('iframe.structure-viewer').srcdoc.includes('ss-legend')", timeout=30_000
    )
    page.wait_for_function(  # and the control says what is drawn
        "() => document.querySelector('#viewer-coloring input[value=\"secondary structure\"]').checked",
        timeout=30_000,
    )
    _compare_with(page, "pdb1ake.pdb")  # Compare redraws with the colouring shown, not with pLDDT
    page.frame_locator("iframe.structure-viewer").locator("canvas").wait_for(timeout=60_000)
    legend = page.frame_locator("iframe.structure-viewer").locator(".legend").inner_text()
    assert "helix" in legend and "pLDDT" not in legend, legend
    assert coloring.get_by_label("secondary structure").is_checked()


@pytest.mark.browser
def test_compare_says_its_result_in_a_sentence(page):
    _open(page, "pdb1ubi.pdb")
    _compare_with(page, "pdb1ake.pdb")
    text = page.locator("#compare-summary .compare-sentence").inner_text()
    assert re.search(r"TM-score \d\.\d\d \(normalised by the reference, 214 residues\)", text), text
    assert re.search(r"/ \d\.\d\d \(by the model, 76 residues\)", text), text
    assert re.search(r"RMSD \d+\.\d Å over \d+ aligned residues", text) and "sequence identity" in text
    # The pairing control is still the radio it was (the new sentence box did not take its place).
    assert page.locator("#compare-pairing").get_by_label("structure (TM-align)").is_checked()
    _screenshot(page, "compare-1ubi-on-1ake")


@pytest.mark.browser
def test_variants_table_fits_its_box_and_error_rows_say_why(page):
    _predict(page, ">ubiquitin\n" + UBIQUITIN)
    page.get_by_role("tab", name="Mutations").click()
    page.locator("#variants-input textarea").fill("K48R, E48R")
    page.locator("#mutate-button").click()
    table = page.locator("#mutations-table")
    table.get_by_text("K48R", exact=True).filter(visible=True).first.wait_for(timeout=120_000)
    wide = page.evaluate(
        """() => { const t = document.querySelector('#mutations-table table');
                   const box = document.querySelector('#mutations-table');
                   return [t.scrollWidth, box.clientWidth]; }"""
    )
    assert wide[0] <= wide[1] + 2, f"table {wide[0]} px wide in a {wide[1]} px box"
    text = table.inner_text()
    assert "residue 48 is K, not E" in text, text  # the error row says why, not only "error"
    assert " pp" in text  # probabilities in percentage points, not fractions
    assert "percentage points" in page.locator("#mutations-caption").inner_text()
    _screenshot(page, "variants-table")


@pytest.mark.browser
def test_the_status_line_says_when_the_input_no_longer_matches_it(page):
    _predict(page, ">ubiquitin\n" + UBIQUITIN)
    line = page.locator("#status-line .status-line")
    assert "stale" not in (line.get_attribute("class") or "")
    page.locator("#sequence-input textarea").fill("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")
    page.locator("#status-line .stale-note").wait_for(state="visible", timeout=10_000)
    _screenshot(page, "status-stale")
    page.locator("#sequence-input textarea").fill(">again\n" + UBIQUITIN.lower())  # the same protein
    page.locator("#status-line .stale-note").wait_for(state="hidden", timeout=10_000)
    page.locator("#sequence-input textarea").fill("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")
    page.locator("#predict-button").click()
    digest = hashlib.sha1(b"MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ").hexdigest()[:6]
    page.locator("#status-line").get_by_text(f"seq_MKTAYI_33aa_{digest}").wait_for(timeout=60_000)
    assert not page.locator("#status-line .stale-note").is_visible()


def test_an_unnamed_sequence_is_named_from_its_content_in_the_api(client):
    answer = client.predict(UBIQUITIN, api_name="/ptm")
    digest = hashlib.sha1(UBIQUITIN.encode()).hexdigest()[:6]
    assert answer["id"] == f"seq_MQIFVK_76aa_{digest}"
    other = client.predict(UBIQUITIN[:-1], api_name="/ptm")
    assert other["id"] != answer["id"]
