"""The README is a front page (short, the two commands near the top) and every relative link in it
and in docs/*.md points at a file or folder that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOC_PAGES = (
    "structure.md",
    "analysis.md",
    "training.md",
    "mutations.md",
    "batch.md",
    "api.md",
    "space.md",
    "measurements.md",
)

# [text](target) and ![alt](target), with an optional "title"; the text may hold `code`, not brackets.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
EXTERNAL = ("http://", "https://", "mailto:")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link or image in a markdown file, outside code blocks.
    External links and pure #anchors are left out; a target's #anchor is dropped."""
    links = []
    in_code = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        for match in LINK.finditer(re.sub(r"`[^`]*`", "", line)):
            target = match.group(1)
            if target.startswith(EXTERNAL) or target.startswith("#"):
                continue
            links.append((number, target.split("#", 1)[0]))
    return links


def broken_links(path: Path) -> list[str]:
    """'file:line: target' for every relative link whose target does not exist next to the file."""
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return [
        f"{name}:{number}: {target}"
        for number, target in relative_links(path)
        if not (path.parent / target).exists()
    ]


def test_every_relative_link_in_readme_and_docs_points_at_something_that_exists():
    broken = [line for path in markdown_files() for line in broken_links(path)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_checker_catches_a_missing_target(tmp_path):
    (tmp_path / "here.md").write_text("x\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "See [here](here.md#top), [gone](missing.md), ![picture](img/none.png), [web](https://x.org),\n"
        "[anchor](#part) and `[code](not-a-link.md)`.\n"
        "```\n[in a block](also-not-a-link.md)\n```\n",
        encoding="utf-8",
    )
    assert relative_links(page) == [(1, "here.md"), (1, "missing.md"), (1, "img/none.png")]
    assert broken_links(page) == [f"{page}:1: missing.md", f"{page}:1: img/none.png"]


def test_readme_is_a_front_page_with_the_two_commands_near_the_top():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.md has {len(lines)} lines; details belong in docs/"
    top = "\n".join(lines[:60])
    for command in ("pip install -r requirements.txt && python app.py", "bash scripts/test.sh"):
        assert command in top, f"{command!r} is not in the first 60 lines of README.md"


def test_each_docs_page_exists_and_is_linked_from_the_readme():
    linked = {target for _, target in relative_links(README)}
    for name in DOC_PAGES:
        assert (DOCS / name).is_file(), f"docs/{name} is missing"
        assert f"docs/{name}" in linked, f"README.md does not link docs/{name}"
