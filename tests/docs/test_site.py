"""The documentation site builds in strict mode: no broken link, anchor, snippet or orphan page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.docs._examples import ROOT


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1", "HOME": str(site.parent)},
        timeout=180,
    )


def test_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    """`mkdocs build --strict` passes with no warning and writes every page of the nav."""
    result = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    for page in ("events", "settings", "collector", "siem", "asvs", "limits"):
        assert (tmp_path / "site" / page / "index.html").exists()


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """Strict mode is really on: a page linking to a missing page breaks the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [nothing](missing.md).\n")
    config = tmp_path / "mkdocs.yml"
    strict = (ROOT / "mkdocs.yml").read_text().split("\nnav:")[0]
    config.write_text(
        strict.replace("docs_dir: docs", f"docs_dir: {docs}") + "\nnav:\n  - index.md\n"
    )
    result = _build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "missing.md" in result.stdout + result.stderr


def test_readme_links_point_at_pages_that_exist() -> None:
    """Every relative link of the README opens a file of the repository."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?://)([^)#\s]+)", readme)
    assert targets, "the README links into the docs"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert missing == []


def test_readme_commands_are_ones_dev_py_knows() -> None:
    """The commands the README gives (`python3 dev.py ...`) are commands dev.py runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = set(re.findall(r"python3 dev\.py (\w+)", readme))
    assert {"demo", "test"} <= commands
    dev = (ROOT / "dev.py").read_text(encoding="utf-8")
    for command in commands:
        assert f'command == "{command}"' in dev, command
