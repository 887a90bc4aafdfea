"""The layering rules: models/ never imports gradio, components/ never imports torch, and inside
each, packages import one way only (the order each `__init__` docstring states)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each package may import from its own top-level package (besides itself). A module at the
# top (`models/studio.py`, `components/page.py`) may import anything below it.
ALLOWED = {
    "models": {
        "shared": set(),
        "structure": {"shared"},
        "analysis": {"shared"},
        "variants": {"analysis", "structure", "shared"},
        "batch": {"variants", "analysis", "structure", "shared"},
    },
    "components": {
        "shared": set(),
        "structure": {"shared"},
        "analysis": {"structure", "shared"},
        "variants": {"analysis", "structure", "shared"},
        "batch": {"analysis", "structure", "shared"},
    },
}


def _modules(top: str) -> list[Path]:
    return sorted((ROOT / top).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    """Every module name an `import` or `from ... import` in the file names, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _package_edges(top: str) -> list[tuple[str, str, str]]:
    """(file, its package, the package it imports), once each, for imports across packages of `top`."""
    edges = set()
    for path in _modules(top):
        parts = path.relative_to(ROOT / top).parts
        if len(parts) < 2:  # a top-level module: the facade or the page, above every package
            continue
        own = parts[0]
        for name in _imported(path):
            pieces = name.split(".")
            if pieces[0] == top and len(pieces) > 1 and pieces[1] in ALLOWED[top] and pieces[1] != own:
                edges.add((str(path.relative_to(ROOT)), own, pieces[1]))
            elif pieces[0] == top and len(pieces) > 1 and pieces[1] not in ALLOWED[top]:
                # A package importing a top-level module (studio, page, predict_flow) points upwards.
                edges.add((str(path.relative_to(ROOT)), own, pieces[1]))
    return sorted(edges)


@pytest.mark.parametrize("top", ["models", "components"])
def test_packages_import_one_way(top):
    edges = _package_edges(top)
    assert edges, "the check sees the imports between packages"
    wrong = [f"{f} ({own}) imports {top}.{other}" for f, own, other in edges
             if other not in ALLOWED[top][own]]
    assert not wrong, "\n".join(wrong)


def test_the_rules_cover_every_package():
    for top, rules in ALLOWED.items():
        packages = {p.parent.name for p in (ROOT / top).glob("*/__init__.py")}
        assert packages == set(rules), top


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """A structure module importing the analysis package would be reported."""
    fake_root = tmp_path
    (fake_root / "models" / "structure").mkdir(parents=True)
    bad = fake_root / "models" / "structure" / "bad.py"
    bad.write_text("from models.analysis.backbone import Backbone\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert _package_edges("models") == [("models/structure/bad.py", "structure", "analysis")]


def test_every_package_says_what_it_owns_and_may_import():
    for top in ALLOWED:
        for init in sorted((ROOT / top).glob("*/__init__.py")):
            doc = ast.get_docstring(ast.parse(init.read_text())) or ""
            assert len(doc) > 80 and ("import" in doc.lower()), init
            tree = ast.parse(init.read_text())
            # Nothing but the docstring: importing a package must not pull in its heavy modules.
            assert len(tree.body) == 1, f"{init} should hold only its docstring"


def test_models_keeps_at_most_eight_top_level_modules():
    top = [p for p in (ROOT / "models").iterdir()
           if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()]
    assert len(top) <= 8, sorted(p.name for p in top)


def _top_level_modules_after_importing(package: str) -> set[str]:
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in _modules(package)
    ]
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
