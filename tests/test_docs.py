"""The README and the pages under docs/: every relative link and anchor resolves, every page
is reachable from the README, and the README stays short enough to read in two screens."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Two screens of a laptop terminal or a rendered page; the rest belongs in docs/.
README_MAX_LINES = 100

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    return _LINK.findall(_prose(text))


def anchors(text: str) -> set[str]:
    """The ids GitHub gives the headings of a Markdown file."""
    seen: dict[str, int] = {}
    ids = set()
    for _, title in _HEADING.findall(_FENCE.sub("", text)):
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link's text
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for target in links(path.read_text()):
        if _SCHEME.match(target):
            continue  # http(s), mailto: not this test's business
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(root) or not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return broken


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = {
        str(path.relative_to(ROOT)): found
        for path in markdown_files()
        if (found := broken_links(path))
    }
    assert broken == {}


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README.read_text())}
    assert [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked] == []


def test_the_readme_fits_two_screens() -> None:
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines: move the detail into a page under docs/"
    )


def test_the_checker_finds_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Its `second` part: 3-D\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[fine](docs/page.md#its-second-part-3-d) [top](#top) [gone](docs/gone.md)\n"
        "[bad anchor](docs/page.md#nowhere) ![pic](docs/pic.png) [web](https://example.com)\n"
        "`[in code](docs/none.md)`\n\n```\n[in a block](docs/none.md)\n```\n\n# Top\n"
    )
    assert broken_links(readme, root=tmp_path) == [
        "docs/gone.md: no such file",
        "docs/page.md#nowhere: no heading #nowhere in page.md",
        "docs/pic.png: no such file",
    ]
