"""Shareable links: `/?sequence=<URL-encoded text>` opens the page with that text in the input box
and presses Predict; the "Link to this sequence" button makes such a link for what is in the box.

Both run in the browser (the page's script and the button's `js`), so a link works wherever the
page is served (a Space, behind a proxy, on loopback) without the server knowing its own address.
The text travels as typed, FASTA header included, and goes through the same checks as a paste.
"""

from __future__ import annotations

import gradio as gr

# A link must open through whatever serves the page: the app's own server took 65,000
# characters here (and failed at 100,000), but proxies in front of hosted apps commonly refuse
# request lines over 8 KB (nginx's default buffer). Longer, the button says so instead.
MAX_LINK_CHARS = 8000

# Runs once in <head>: waits for Gradio to draw the input box, fills it, presses Predict.
OPEN_SCRIPT = r"""
(function () {
  'use strict';
  var linked = new URLSearchParams(window.location.search).get('sequence');
  if (!linked) return;
  var tries = 0;
  function open() {
    var box = document.querySelector('#sequence-input textarea');
    var button = document.querySelector('#predict-button');
    if (!box || !button) { if (++tries < 600) setTimeout(open, 100); return; }
    box.value = linked;
    box.dispatchEvent(new Event('input', {bubbles: true}));  // Gradio reads the box on input
    setTimeout(function () { button.click(); }, 300);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', open);
  else open();
})();
"""

# The button's `js`: (text in the box) -> the link, or why there is none.
MAKE_LINK_JS = (
    """
(text) => {
  const value = (text || '').trim();
  if (!value) return 'Paste a sequence first: the link opens what is in the box.';
  const url = new URL(window.location.pathname, window.location.origin);
  url.searchParams.set('sequence', value);
  const link = url.toString();
  if (link.length > __LIMIT__) {
    return 'Too long for a link (' + link.length.toLocaleString('en') + ' characters; a link holds '
      + 'up to __SHOWN__): share the FASTA file instead.';
  }
  return link;
}
"""
    .replace("__LIMIT__", str(MAX_LINK_CHARS))
    .replace("__SHOWN__", f"{MAX_LINK_CHARS:,}")
)


def build_share_link(text: gr.Textbox) -> gr.Textbox:
    """The button and the box showing the link for the input box's text (made in the browser)."""
    button = gr.Button("Link to this sequence", size="sm", elem_id="share-button")
    link = gr.Textbox(
        label="Link: opens this sequence and predicts it",
        interactive=False,
        buttons=["copy"],
        elem_id="share-link",
        visible=True,
        lines=1,
        max_lines=2,
    )
    button.click(None, inputs=text, outputs=link, js=MAKE_LINK_JS, api_visibility="private")
    return link
