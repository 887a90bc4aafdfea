"""The page's tabs built outside the app, so tests can call handlers in-process for speed.

Handlers return `{component: value}`; `positional` reads such a dict back in an output list's
order (a component left out reads as None), as the old tuple-returning tests expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from components.analysis.tabs import (
    AnalysisTabs,
    build_contacts_tab,
    build_localization_tab,
    build_ptm_tab,
    make_analyze_handler,
)
from components.batch.tab import BatchTab, build_batch_tab, make_batch_handler
from components.predict_flow import make_predict_handler
from components.structure.tab import StructureTab, build_structure_tab, make_fold_handler


@dataclass
class Tabs:
    status: gr.HTML
    structure: StructureTab
    analysis: AnalysisTabs
    batch: BatchTab

    @property
    def predict_outputs(self) -> list:
        return [self.status, *self.structure.fold_outputs, *self.analysis.outputs]


def build_tabs(ptm_types=(("SUMOylation", "K"),)) -> Tabs:
    with gr.Blocks():
        status = gr.HTML()
        structure = build_structure_tab("x.js")
        analysis = AnalysisTabs(
            gr.HTML(), build_ptm_tab(list(ptm_types)), build_localization_tab(), build_contacts_tab()
        )
        batch = build_batch_tab(50, 3)
    return Tabs(status, structure, analysis, batch)


def predict_handler(studio, root, tabs: Tabs, script_url: str = "x.js"):
    """Predict's successive updates, each as a {component: value} dict."""
    handler = make_predict_handler(studio, tabs.status, tabs.structure, tabs.analysis, script_url, root)
    return lambda *args: list(handler(*args))


def positional(handler, outputs: list):
    def call(*args, **kwargs):
        result = handler(*args, **kwargs)
        return tuple(result.get(component) for component in outputs)

    return call


def fold_handler(studio, root, tabs: Tabs | None = None, script_url: str = "x.js"):
    tabs = tabs or build_tabs()
    handler = make_fold_handler(studio, tabs.structure, script_url, root)
    return positional(handler, tabs.structure.fold_outputs)


def analysis_handlers(studio, root, tabs: Tabs | None = None, script_url: str = "x.js"):
    """(analyze as a tuple-returning function, api_result)."""
    tabs = tabs or build_tabs()
    analyze, api_result = make_analyze_handler(studio, tabs.analysis, script_url, root)
    return positional(analyze, tabs.analysis.outputs), api_result


def batch_handler(studio, max_records: int, max_folds: int, tabs: Tabs | None = None):
    tabs = tabs or build_tabs()
    handler = make_batch_handler(studio, tabs.batch, max_records, max_folds)
    return positional(handler, [tabs.batch.status, tabs.batch.table, tabs.batch.download])


def plotly_values(values) -> list:
    """A trace's x or y as sent to the page: Plotly sends NumPy arrays as typed arrays
    ({"dtype", "bdata": base64}), Python lists as lists."""
    import base64

    import numpy as np

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
