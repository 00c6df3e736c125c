"""Find the runnable ```python blocks of a Markdown page and run them in a fresh interpreter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_MARKER = "<!-- docs-example: skip"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*$")

# Each block is compiled under its page and line, so a failure points at the Markdown.
_DRIVER = """
import json, sys
namespace = {"__name__": "__docs_example__"}
for block in json.load(sys.stdin):
    exec(compile(block["code"], block["where"], "exec"), namespace)
"""


@dataclass(frozen=True)
class Block:
    """One runnable example: where it is and its code, dedented."""

    where: str
    code: str


def blocks(page: Path, root: Path = ROOT) -> list[Block]:
    """The ```python blocks of a page not marked with the skip marker on the line before."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent = match["indent"]
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        previous = lines[index - 1].strip() if index else ""
        if not previous.startswith(SKIP_MARKER):
            body = [
                line[len(indent) :] if line.startswith(indent) else line
                for line in lines[start:end]
            ]
            # Padding keeps line numbers in tracebacks equal to the page's.
            code = "\n" * start + "\n".join(body) + "\n"
            found.append(Block(str(page.relative_to(root)), code))
        index = end + 1
    return found


def run(page_blocks: list[Block], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a page's blocks in order, in one fresh interpreter with no collector configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env["SECLOG_LOCAL_SINK"] = "none"
    # Detector state and any cache stay in the test's own directory.
    env["SECLOG_STATE_DIR"] = str(cwd / "state")
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    payload = json.dumps([{"where": b.where, "code": b.code} for b in page_blocks])
    return subprocess.run(
        [sys.executable, "-c", _DRIVER],
        input=payload,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )
