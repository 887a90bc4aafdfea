"""The page's script that links the PAE map and pLDDT plot with the 3D viewer (no CDN, inline).

Gradio 6 puts `launch(head=...)` into the page's `<head>`; this script runs there once. It:
- watches for the Plotly figures Gradio draws in `#pae-plot` and `#plddt-plot` (a
  MutationObserver: Gradio redraws or replaces them on each result; it also keeps a hidden
  duplicate `.js-plotly-plot`, so the visible one is used);
- on a box selection in the PAE map (`plotly_selected`, or the layout's `selections` after a
  `plotly_relayout`), turns the x range (scored residues) and y range (aligned residues) into
  [chain, first, last, role] ranges with the figure's `layout.meta.residues` and posts them to
  the viewer iframe as {type: "protein-studio:highlight", ranges};
- on {type: "protein-studio:hover", chain, resi} from the viewer iframe, marks that residue: a
  vertical line on the pLDDT plot and a cross on the PAE map (shapes named "ps-hover");
- on a click on a reference protein of a protein map (`#map-plot`, `#batch-map-plot`), opens its
  UniProt entry in a new tab (the URL pattern is the figure's `layout.meta.uniprot`).

The viewer is an `<iframe srcdoc>`, whose document shares this page's origin: messages go to
`window.location.origin` and are read only from the viewer iframe's window with that origin.
"""

from __future__ import annotations

PAGE_SCRIPT = r"""
(function () {
  'use strict';
  var MARK = 'ps-hover';
  function visiblePlot(id) {
    var all = document.querySelectorAll('#' + id + ' .js-plotly-plot');
    for (var i = 0; i < all.length; i++) {
      if (all[i].getClientRects().length && all[i].layout) return all[i];
    }
    return null;
  }
  function viewerFrame() { return document.querySelector('iframe.structure-viewer'); }
  function residuesOf(gd) { return (gd && gd.layout && gd.layout.meta && gd.layout.meta.residues) || []; }
  // Positions lo..hi (1-based, inclusive) as [chain, first, last, role], one per chain crossed.
  function toRanges(residues, a, b, role) {
    var n = residues.length, out = [];
    var lo = Math.max(1, Math.round(Math.min(a, b))), hi = Math.min(n, Math.round(Math.max(a, b)));
    for (var p = lo; p <= hi; p++) {
      var r = residues[p - 1], last = out[out.length - 1];
      if (last && last[0] === r[0] && last[2] === r[1] - 1) last[2] = r[1];
      else out.push([r[0], r[1], r[1], role]);
    }
    return out;
  }
  var lastSent = null;
  function sendHighlight(gd, box) {
    var residues = residuesOf(gd);
    var ranges = box ? toRanges(residues, box.y0, box.y1, 'aligned').concat(
      toRanges(residues, box.x0, box.x1, 'scored')) : [];
    var key = JSON.stringify(ranges);
    if (key === lastSent) return;
    lastSent = key;
    window.__psLastHighlightSent = ranges;
    var frame = viewerFrame();
    if (frame && frame.contentWindow) {
      var message = {type: 'protein-studio:highlight', ranges: ranges};
      frame.contentWindow.postMessage(message, window.location.origin);
    }
  }
  function linkPae(gd) {
    if (gd.__psLinked || typeof gd.on !== 'function') return;
    gd.__psLinked = true;
    lastSent = null;
    gd.on('plotly_selected', function (ev) {
      if (ev && ev.range && ev.range.x && ev.range.y) {
        sendHighlight(gd, {x0: ev.range.x[0], x1: ev.range.x[1], y0: ev.range.y[0], y1: ev.range.y[1]});
      } else if (!ev) {
        sendHighlight(gd, null);  // a click outside the selection clears it
      }
    });
    gd.on('plotly_relayout', function (ev) {
      if (!ev || !('selections' in ev)) return;
      var s = (gd.layout.selections || []).filter(function (x) { return x.type !== 'path'; });
      sendHighlight(gd, s.length ? s[s.length - 1] : null);
    });
    gd.on('plotly_deselect', function () { sendHighlight(gd, null); });
  }
  // The protein maps: a click on a reference protein opens its UniProt entry (a new tab).
  function linkMap(gd) {
    if (gd.__psMapLinked || typeof gd.on !== 'function') return;
    gd.__psMapLinked = true;
    gd.on('plotly_click', function (ev) {
      var p = ev && ev.points && ev.points[0];
      var entry = p && p.customdata && p.customdata[0];
      var url = gd.layout && gd.layout.meta && gd.layout.meta.uniprot;
      if (!url || !entry || !/^[A-Z0-9]{6,10}$/.test(String(entry))) return;
      window.open(url.replace('{}', entry), '_blank', 'noopener');
    });
  }
  function scan() {
    ['pae-plot'].forEach(function (id) {
      document.querySelectorAll('#' + id + ' .js-plotly-plot').forEach(linkPae);
    });
    ['map-plot', 'batch-map-plot'].forEach(function (id) {
      document.querySelectorAll('#' + id + ' .js-plotly-plot').forEach(linkMap);
    });
  }
  function mark(gd, shapes) {
    if (!gd || !window.Plotly) return;
    var kept = (gd.layout.shapes || []).filter(function (s) { return s.name !== MARK; });
    window.Plotly.relayout(gd, {shapes: kept.concat(shapes)});
  }
  function onHover(chain, resi) {
    var line = {color: '#e63946', width: 2};
    var plddt = visiblePlot('plddt-plot'), pae = visiblePlot('pae-plot');
    [plddt, pae].forEach(function (gd) {
      if (!gd) return;
      var p = 0, residues = residuesOf(gd);
      for (var i = 0; i < residues.length; i++) {
        if (residues[i][0] === String(chain) && residues[i][1] === resi) { p = i + 1; break; }
      }
      if (!p) return;
      var vertical = {type: 'line', name: MARK, xref: 'x', yref: gd === pae ? 'y domain' : 'paper',
        x0: p, x1: p, y0: 0, y1: 1, line: line};
      var shapes = [vertical];
      if (gd === pae) {
        shapes.push({type: 'line', name: MARK, xref: 'x domain', yref: 'y',
          x0: 0, x1: 1, y0: p, y1: p, line: line});
      }
      mark(gd, shapes);
    });
  }
  window.addEventListener('message', function (event) {
    var data = event.data, frame = viewerFrame();
    if (!frame || event.source !== frame.contentWindow || event.origin !== window.location.origin) return;
    if (!data || data.type !== 'protein-studio:hover' || !Number.isInteger(data.resi)) return;
    onHover(data.chain, data.resi);
  });
  function start() {
    new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
    scan();
  }
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""
