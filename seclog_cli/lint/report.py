"""Lint output: ``path:line:col: RULE message`` text, JSON, and SARIF 2.1.0.

SARIF is what GitHub code scanning and most CI dashboards import; the rules
table travels with each run so a viewer can show each rule's help.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .analyzer import Finding
from .rules import RULES

__all__ = ["LintResult", "ParseProblem", "to_json", "to_sarif", "to_text"]

_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# GitHub code scanning reads this property to rank security alerts (0-10).
_SECURITY_SEVERITY = {"SL001": "7.5", "SL002": "7.5", "SL003": "5.0", "SL004": "2.0"}


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """A file that could not be read or parsed; reported, never a crash."""

    path: str
    line: int
    column: int
    message: str


@dataclass
class LintResult:
    """Everything one run found."""

    files: int = 0
    findings: list[Finding] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    suppressed: int = 0

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 2
        return 1 if self.findings else 0


def to_text(result: LintResult) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.rule} {f.message}" for f in result.findings]
    lines += [f"{p.path}:{p.line}:{p.column}: E999 {p.message}" for p in result.problems]
    count = len(result.findings)
    summary = f"{count} finding{'s' if count != 1 else ''} in {result.files} files"
    if result.suppressed:
        summary += f" ({result.suppressed} suppressed)"
    if result.problems:
        summary += f"; {len(result.problems)} could not be parsed"
    return "\n".join([*lines, summary]) + "\n"


def to_json(result: LintResult) -> str:
    document = {
        "version": 1,
        "files": result.files,
        "suppressed": result.suppressed,
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "end_line": f.end_line,
                "end_column": f.end_column,
                "rule": f.rule,
                "name": RULES[f.rule].name,
                "level": f.level,
                "message": f.message,
            }
            for f in result.findings
        ],
        "errors": [
            {"path": p.path, "line": p.line, "column": p.column, "message": p.message}
            for p in result.problems
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _artifact(path: str, cwd: Path) -> dict[str, Any]:
    resolved = Path(path).resolve()
    try:
        relative = resolved.relative_to(cwd)
    except ValueError:
        return {"uri": resolved.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": "%SRCROOT%"}


def _location(path: str, cwd: Path, region: dict[str, int]) -> dict[str, Any]:
    return {"physicalLocation": {"artifactLocation": _artifact(path, cwd), "region": region}}


def to_sarif(result: LintResult, *, version: str, cwd: Path) -> str:
    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.summary},
            "help": {"text": rule.help, "markdown": rule.help},
            "defaultConfiguration": {"level": rule.level},
            "properties": {
                "tags": ["security", "logging"],
                "security-severity": _SECURITY_SEVERITY[rule.id],
            },
        }
        for rule in RULES.values()
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": f.level,
            "message": {"text": f.message},
            "locations": [
                _location(
                    f.path,
                    cwd,
                    {
                        "startLine": f.line,
                        "startColumn": f.column,
                        "endLine": f.end_line,
                        "endColumn": f.end_column,
                    },
                )
            ],
        }
        for f in result.findings
    ]
    notifications = [
        {
            "level": "error",
            "message": {"text": p.message},
            "locations": [_location(p.path, cwd, {"startLine": p.line, "startColumn": p.column})],
        }
        for p in result.problems
    ]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "seclog", "version": version, "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": cwd.as_uri() + "/"}},
        "invocations": [
            {
                "executionSuccessful": not result.problems,
                "toolExecutionNotifications": notifications,
            }
        ],
        "results": results,
    }
    document = {"$schema": _SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"
