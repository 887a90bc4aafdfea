"""Outputs that stay hidden until they hold something: a first screen without empty boxes.

A download box or a plot is built with `visible=False`; every handler that sets it passes its
outputs through `revealed`, which shows a component with a value and hides one without. Values
that are already updates (`gr.update`, `gr.skip()`) are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable

import gradio as gr


def has_content(value) -> bool:
    if value is None:
        return False
    if isinstance(value, list | tuple | str):
        return len(value) > 0
    return True


def revealed(outputs: dict, hideable: Iterable) -> dict:
    """`outputs` with each hideable component's plain value turned into an update that shows it
    (it has a value) or hides it (None or empty)."""
    out = dict(outputs)
    for component in hideable:
        if component in out and not (isinstance(out[component], dict) and "__type__" in out[component]):
            value = out[component]
            out[component] = gr.update(value=value, visible=has_content(value))
    return out
