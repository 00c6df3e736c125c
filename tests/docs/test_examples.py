"""The Python examples in the README and the docs run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs._examples import ROOT, blocks, run

PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
RUNNABLE = [page for page in PAGES if blocks(page)]


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_examples_run(page: Path, tmp_path: Path) -> None:
    """Every unmarked ```python block of this page runs without an error, top to bottom."""
    result = run(blocks(page), tmp_path)
    assert result.returncode == 0, (
        f"an example in {page.relative_to(ROOT)} failed (mark a block that cannot run alone "
        f"with '<!-- docs-example: skip (reason) -->' on the line before its fence):\n"
        f"{result.stderr[-3000:]}"
    )


def test_a_broken_example_fails_and_names_its_line(tmp_path: Path) -> None:
    """A failing block is reported with its page and line, so a rotten example cannot pass."""
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n<!-- docs-example: skip (fragment) -->\n"
        "```python\nundefined_name\n```\n\n    ```python\n    assert x == 2\n    ```\n"
    )
    found = blocks(page, root=tmp_path)
    assert len(found) == 2  # the marked block is left out; the indented one is kept
    result = run(found, tmp_path)
    assert result.returncode != 0
    assert "line 13" in result.stderr and "AssertionError" in result.stderr
