"""3D structure viewer: py3Dmol's page, coloured by confidence, inside an `<iframe srcdoc>`.

Gradio's HTML component does not run `<script>` tags, so the viewer is a complete document of
its own in an iframe; the document is HTML-escaped into the `srcdoc` attribute.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence

import py3Dmol

from models.structure.pdb import ca_residues, coordinate_lines
from models.structure.result import PLDDT_BANDS, plddt_band

STYLES = ("cartoon", "sticks", "surface")
COLORINGS = ("pLDDT", "chain", "rainbow", "secondary structure")
SS_COLOURS = {"H": "#d62728", "E": "#f2b705", "C": "#bdbdbd"}  # helix, strand, coil (as the DSSP track)
CHAIN_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")

# Label on hover, and the residue told to the page (it marks it on the pLDDT and PAE plots);
# 3Dmol.js turns a function given as a string into a callback. The page is this srcdoc
# document's parent and shares its origin (`window.origin`), so the message goes to that origin only.
_HOVER = """function(atom, viewer) {
  if (window.parent !== window) {
    var message = {type: 'protein-studio:hover', chain: atom.chain, resi: atom.resi};
    window.parent.postMessage(message, window.origin);
  }
  if (!atom.label) {
    atom.label = viewer.addLabel(atom.resn + ' ' + atom.chain + atom.resi + '  pLDDT ' + atom.b.toFixed(1),
      {position: atom, backgroundColor: '#222', backgroundOpacity: 0.8, fontColor: 'white', fontSize: 12});
  }
}"""
_UNHOVER = """function(atom, viewer) {
  if (atom.label) { viewer.removeLabel(atom.label); delete atom.label; }
}"""


Residues = list[tuple[str, int, float]]  # (chain, residue number, pLDDT) in order
Point = tuple[float, float, float]
ContactLines = list[tuple[Point, Point, float]]  # (start xyz, end xyz, probability) in Angstrom


def _residues_of(pdb_text: str) -> Residues:
    """Read from the file only where the caller has no per-residue list (an opened file)."""
    return [(r.chain, r.number, r.b_factor) for r in ca_residues(pdb_text)]


def _band_selections(residues: Residues) -> list[tuple[str, list[dict]]]:
    """For each confidence band: its colour and one selection per chain of the residues in it."""
    by_band: list[dict[str, list[int]]] = [defaultdict(list) for _ in PLDDT_BANDS]
    for chain, number, plddt in residues:
        by_band[plddt_band(plddt)][chain].append(number)
    selections = []
    for (_, _, colour), chains in zip(PLDDT_BANDS, by_band):
        if chains:
            selections.append((colour, [{"chain": c, "resi": r} for c, r in chains.items()]))
    return selections


def _style_spec(style: str, colour: dict) -> dict:
    if style == "sticks":
        return {"stick": {"radius": 0.2, **colour}}
    return {"cartoon": colour}


def _legend_html(coloring: str, chains: list[str] | None = None) -> str:
    """The colour key of the current colouring: pLDDT bands, each chain's colour (a complex
    needs it to tell its chains apart), or the secondary-structure states."""
    if coloring == "pLDDT":
        entries, name, css = [(colour, label) for _, label, colour in PLDDT_BANDS], "pLDDT", "legend"
    elif coloring == "chain" and chains:
        entries = [(CHAIN_PALETTE[i % len(CHAIN_PALETTE)], f"chain {c}") for i, c in enumerate(chains)]
        name, css = "chain", "legend chain-legend"
    elif coloring == "secondary structure":
        names = {"H": "helix", "E": "strand", "C": "coil"}
        entries = [(colour, names[state]) for state, colour in SS_COLOURS.items()]
        name, css = "secondary structure", "legend ss-legend"
    else:
        return ""
    items = "".join(
        f'<li><span style="background:{colour}"></span>{html.escape(label)}</li>' for colour, label in entries
    )
    return f'<ul class="{css}" aria-label="{name} colour legend">{items}</ul>'


_DOC = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body {{ margin: 0; font: 12px system-ui, sans-serif; overflow: hidden; }}
.legend, .key {{ position: absolute; top: 6px; left: 6px; z-index: 10; list-style: none; margin: 0;
  padding: 6px 8px; background: rgba(255,255,255,.85); border-radius: 6px; }}
.legend li, .key li {{ display: flex; align-items: center; gap: 6px; line-height: 18px; }}
.legend span, .key span {{ width: 12px; height: 12px; border-radius: 2px; display: inline-block; }}
.key {{ left: auto; right: 6px; }}
</style></head><body>{legend}{viewer}{link}</body></html>"""

# Residue ranges picked on the page (a rectangle of the PAE map) shown in 3D: the model's other
# residues dimmed, the aligned range in blue, the scored range in orange, residues in both purple.
# The page posts {type: "protein-studio:highlight", ranges: [[chain, start, end, role], ...]}
# (role "aligned" or "scored"; no ranges: back to the original colours). Only messages from the
# parent page, of this document's origin, are read. `window.__lastHighlight` holds what was applied.
_LINK = """<script>
(function () {
  var SPEC = %(spec)s;  // the representation of this view, to be coloured
  var COLOURS = {aligned: '#1f77b4', scored: '#ff7f0e', both: '#9467bd'};
  var DIM = '#e0e0e0';
  var original = null, pending = null;
  window.__lastHighlight = null;
  function spec(colour) {
    var out = JSON.parse(JSON.stringify(SPEC)), kind = Object.keys(out)[0];
    out[kind].color = colour;
    return out;
  }
  function restore(v) {
    if (!original) {  // every atom's style as py3Dmol set it, grouped by style
      original = {};
      v.selectedAtoms({model: 0}).forEach(function (atom) {
        var key = JSON.stringify(atom.style || {});
        (original[key] = original[key] || []).push(atom.index);
      });
    }
    Object.keys(original).forEach(function (key) {
      v.setStyle({model: 0, index: original[key]}, JSON.parse(key));
    });
  }
  function apply(ranges) {
    var v = window.__viewer;
    if (!v) { pending = ranges; return; }
    restore(v);
    var roles = {};
    ranges.forEach(function (r) {
      for (var i = r[1]; i <= r[2]; i++) {
        var key = r[0] + ':' + i;
        roles[key] = roles[key] && roles[key] !== r[3] ? 'both' : r[3];
      }
    });
    var keys = Object.keys(roles);
    if (keys.length) {
      v.setStyle({model: 0}, spec(DIM));
      var groups = {};
      keys.forEach(function (key) {
        var cut = key.lastIndexOf(':'), chain = key.slice(0, cut), role = roles[key];
        var id = role + '|' + chain;
        var g = (groups[id] = groups[id] || {role: role, chain: chain, resi: []});
        g.resi.push(parseInt(key.slice(cut + 1), 10));
      });
      Object.keys(groups).forEach(function (k) {
        var g = groups[k];
        v.setStyle({model: 0, chain: g.chain, resi: g.resi}, spec(COLOURS[g.role] || COLOURS.both));
      });
    }
    // The colouring's own key (an <ul> other than ours) is hidden while its colours are not shown.
    var own = document.querySelector('ul:not(.key)'), key = document.querySelector('ul.key');
    if (own) own.style.display = keys.length ? 'none' : '';
    if (!key) {
      key = document.createElement('ul');
      key.className = 'key';
      key.setAttribute('aria-label', 'PAE selection colours');
      var labels = {aligned: 'aligned residues (PAE y)', scored: 'scored residues (PAE x)', both: 'in both'};
      key.innerHTML = ['aligned', 'scored', 'both'].map(function (role) {
        var label = labels[role];
        return '<li><span style="background:' + COLOURS[role] + '"></span>' + label + '</li>';
      }).join('');
      document.body.appendChild(key);
    }
    key.style.display = keys.length ? '' : 'none';
    v.render();
    window.__lastHighlight = ranges;
  }
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (event.source !== window.parent || event.origin !== window.origin) return;
    if (!data || data.type !== 'protein-studio:highlight' || !Array.isArray(data.ranges)) return;
    apply(data.ranges.filter(function (r) {
      return Array.isArray(r) && r.length >= 3 && Number.isInteger(r[1]) && Number.isInteger(r[2]);
    }).map(function (r) { return [String(r[0]), r[1], r[2], r[3] === 'scored' ? 'scored' : 'aligned']; }));
  });
  $3Dmolpromise.then(function () {
    window.__viewer = %(viewer)s;
    if (pending) { var p = pending; pending = null; apply(p); }
  });
})();
</script>"""


def _site_colour(probability: float) -> str:
    """Light pink (0) to dark red (1)."""
    low, high = (253, 219, 199), (103, 0, 13)
    r, g, b = (round(lo + (hi - lo) * min(max(probability, 0.0), 1.0)) for lo, hi in zip(low, high))
    return f"#{r:02x}{g:02x}{b:02x}"


def _contact_spec(start: Point, end: Point, probability: float) -> dict:
    """A 3Dmol.js CylinderSpec: a dashed line, light to dark green with the probability."""
    p = min(max(float(probability), 0.0), 1.0)
    low, high = (161, 217, 155), (0, 109, 44)
    r, g, b = (round(lo + (hi - lo) * p) for lo, hi in zip(low, high))
    return {
        "start": dict(zip("xyz", map(float, start))),
        "end": dict(zip("xyz", map(float, end))),
        "radius": round(0.08 + 0.17 * p, 3),
        "dashed": True,
        "fromCap": 1,
        "toCap": 1,
        "color": f"#{r:02x}{g:02x}{b:02x}",
    }


def viewer_document(
    pdb_text: str,
    script_url: str,
    style: str = "cartoon",
    coloring: str = "pLDDT",
    sites: list[tuple[str, int, float]] | None = None,
    residues: Residues | None = None,
    ss: str | None = None,
    reference_pdb: str | None = None,
    contacts: ContactLines | None = None,
    site_key: Sequence[tuple[str, str]] | None = None,
) -> str:
    """The standalone HTML page of the viewer (what goes into the iframe). `sites`: (chain,
    residue number, probability) drawn as sticks coloured by probability, or (chain, residue
    number, probability, colour) drawn in that colour; `site_key`: (label, colour) pairs listed
    as the sticks' key (e.g. one colour per PTM type). `residues`: what the
    fold already knows per residue; without it they are read from the PDB text. `ss`: DSSP
    3-state per residue, for colouring by secondary structure. `reference_pdb`: a second
    structure drawn in grey under this one (a comparison, already superposed). `contacts`:
    predicted contacts drawn as dashed lines between two points (e.g. the residues' Cα atoms),
    darker and thicker for more probable ones."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    if coloring not in COLORINGS:
        raise ValueError(f"coloring must be one of {COLORINGS}")
    view = py3Dmol.view(width="100%", height="100vh", js=script_url)
    view.addModel(coordinate_lines(pdb_text), "pdb")
    residues = residues if residues is not None else _residues_of(pdb_text)
    if coloring == "secondary structure" and ss and len(ss) == len(residues):
        for state, colour in SS_COLOURS.items():
            chains: dict[str, list[int]] = defaultdict(list)
            for (chain, number, _), code in zip(residues, ss):
                if code == state:
                    chains[chain].append(number)
            for chain, numbers in chains.items():
                selection = {"chain": chain, "resi": numbers}
                view.setStyle(selection, _style_spec(style, {"color": colour}))
                if style == "surface":
                    view.addSurface(py3Dmol.VDW, {"opacity": 0.9, "color": colour}, selection)
    elif coloring == "pLDDT":
        for colour, selections in _band_selections(residues):
            for selection in selections:
                view.setStyle(selection, _style_spec(style, {"color": colour}))
                if style == "surface":
                    view.addSurface(py3Dmol.VDW, {"opacity": 0.9, "color": colour}, selection)
    else:
        if coloring == "chain":
            chains = sorted({chain for chain, _, _ in residues})
            specs = [
                ({"chain": c}, {"color": CHAIN_PALETTE[i % len(CHAIN_PALETTE)]}) for i, c in enumerate(chains)
            ]
        else:  # rainbow, N- to C-terminus of each chain
            last = max((number for _, number, _ in residues), default=1)
            gradient = {"colorscheme": {"prop": "resi", "gradient": "roygb", "min": 1, "max": last}}
            specs = [({}, gradient)]
        for selection, colour in specs:
            view.setStyle(selection, _style_spec(style, colour))
            if style == "surface":
                view.addSurface(py3Dmol.VDW, {"opacity": 0.9, **colour}, selection)
    for chain, number, probability, *colour in sites or []:
        selection = {"chain": chain, "resi": number}
        colour = colour[0] if colour else _site_colour(probability)
        view.addStyle(selection, {"stick": {"radius": 0.35, "color": colour}})
    for start, end, probability in contacts or []:
        view.addCylinder(_contact_spec(start, end, probability))
    if reference_pdb:
        view.addModel(coordinate_lines(reference_pdb), "pdb")
        view.setStyle({"model": -1}, {"cartoon": {"color": "#9e9e9e", "opacity": 0.55}})
    view.setHoverable({}, True, _HOVER, _UNHOVER)
    view.zoomTo()
    viewer_html = view.write_html()  # names the viewer variable `viewer_<uniqueid>`
    link = _LINK % {
        "spec": json.dumps(_style_spec(style, {})),
        "viewer": f"viewer_{view.uniqueid}",
    }
    # The PDB text sits inside a <script>; make sure nothing in it can close that element.
    chains = sorted({chain for chain, _, _ in residues})  # the order the chain colouring assigns
    legend = _legend_html(coloring, chains)
    if site_key:
        items = "".join(
            f'<li><span style="background:{html.escape(colour)}"></span>{html.escape(label)}</li>'
            for label, colour in site_key
        )
        legend += f'<ul class="key" aria-label="site colour key">{items}</ul>'
    return _DOC.format(legend=legend, viewer=_guard_script(viewer_html), link=link)


def _guard_script(viewer_html: str) -> str:
    head, sep, rest = viewer_html.partition("<script>")
    body, sep2, tail = rest.rpartition("</script>")
    return head + sep + body.replace("</", "<\\/") + sep2 + tail


def render_structure(
    pdb_text: str,
    script_url: str,
    style: str = "cartoon",
    coloring: str = "pLDDT",
    height: int = 520,
    sites: list[tuple[str, int, float]] | None = None,
    element_class: str = "structure-viewer",
    residues: Residues | None = None,
    ss: str | None = None,
    reference_pdb: str | None = None,
    contacts: ContactLines | None = None,
    site_key: Sequence[tuple[str, str]] | None = None,
) -> str:
    """An iframe holding the viewer, ready for `gr.HTML` (arguments: see `viewer_document`)."""
    doc = viewer_document(
        pdb_text, script_url, style, coloring, sites, residues, ss, reference_pdb, contacts, site_key
    )
    return (
        f'<iframe class="{element_class}" title="3D structure viewer" '
        f'style="width:100%;height:{height}px;border:0;border-radius:8px" '
        f'srcdoc="{html.escape(doc, quote=True)}"></iframe>'
    )


def placeholder(message: str, height: int = 520, state: str = "idle") -> str:
    """What the viewer area shows instead of a model: `state` is idle, waiting (a fold is on its
    way) or failed, so the box reads (and is styled) as what is happening."""
    state = html.escape(state)
    return (
        f'<div class="structure-placeholder placeholder-{state}" data-state="{state}" '
        f'style="height:{height}px"><p>{html.escape(message)}</p></div>'
    )
