"""The layering rule: models/ never imports gradio, components/ never imports torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _top_level_modules_after_importing(package: str) -> set[str]:
    modules = [f"{package}.{p.stem}" for p in sorted((ROOT / package).glob("*.py"))]
    code = f"import sys, {', '.join(modules)}; print(' '.join(m.split('.')[0] for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_components_never_import_torch():
    loaded = _top_level_modules_after_importing("components")
    assert "gradio" in loaded  # the check itself works
    assert "torch" not in loaded


def test_models_never_import_gradio():
    loaded = _top_level_modules_after_importing("models")
    assert "torch" in loaded
    assert "gradio" not in loaded
