"""``seclog lint``: secrets and request data in logging calls, found without running code."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.cli.support import CORPUS, DATA, TESTS_ROOT, seclog

CORPUS_FILES = sorted(CORPUS.glob("*.py"))


def _expected(path: Path) -> Counter[tuple[int, str]]:
    expected: Counter[tuple[int, str]] = Counter()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = re.search(r"# expect: ([A-Z0-9 ]+)$", line)
        if match:
            for rule in match.group(1).split():
                expected[(number, rule)] += 1
    return expected


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory with its own pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    return tmp_path


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_findings_and_non_findings(path: Path) -> None:
    """Every `# expect:` marked line is flagged with that rule, and no other line is flagged."""
    result = seclog("lint", "--format", "json", str(path), cwd=CORPUS)
    findings = json.loads(result.stdout)["findings"]
    got = Counter((f["line"], f["rule"]) for f in findings)
    assert got == _expected(path), findings
    assert result.returncode == (1 if got else 0)


def test_seed_bad_practice_is_flagged_on_each_part() -> None:
    """The seed's bad example yields one finding per secret in the f-string, plus no-context."""
    result = seclog("lint", "seed_bad_practice.py", cwd=CORPUS)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "seed_bad_practice.py:8:59: SL001 'password' looks like a secret and is formatted "
        "into a log message",
        "seed_bad_practice.py:8:77: SL001 'credit_card_number' looks like a secret and is "
        "formatted into a log message",
        "seed_bad_practice.py:10:18: SL004 generic log message without context: "
        "'An error occurred during processing'",
    ]
    assert lines[3] == "3 findings in 1 files"


def test_seed_good_practice_passes() -> None:
    """The seed's good example (username and ip_address in extra=) is clean: exit code 0."""
    result = seclog("lint", "seed_good_practice.py", cwd=CORPUS)
    assert (result.returncode, result.stdout) == (0, "0 findings in 1 files\n")


def test_directory_walk_counts_every_file() -> None:
    """A directory is linted recursively; the summary counts files and suppressions."""
    result = seclog("lint", ".", cwd=CORPUS)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1].endswith(f"in {len(CORPUS_FILES)} files (4 suppressed)")


def test_sarif_output_is_valid_sarif_2_1_0() -> None:
    """`--format sarif` validates against the SARIF 2.1.0 schema and carries rules and regions."""
    result = seclog("lint", "--format", "sarif", ".", cwd=CORPUS)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["SL001", "SL002", "SL003", "SL004"]
    assert all(rule["help"]["text"] for rule in run["tool"]["driver"]["rules"])
    seed = [
        r
        for r in run["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "seed_bad_practice.py"
    ]
    assert [(r["ruleId"], r["level"]) for r in seed] == [
        ("SL001", "error"),
        ("SL001", "error"),
        ("SL004", "note"),
    ]
    region = seed[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 8, "startColumn": 59, "endLine": 8, "endColumn": 67}


def test_sarif_with_a_parse_error_is_still_valid(project: Path) -> None:
    """A syntax error becomes a SARIF tool notification, and the document stays valid."""
    (project / "broken.py").write_text("import logging\ndef f(:\n    pass\n")
    result = seclog("lint", "--format", "sarif", ".", cwd=project)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads((DATA / "sarif-schema-2.1.0.json").read_text()))
    invocation = document["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "syntax error" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_syntax_error_is_reported_not_a_crash(project: Path) -> None:
    """A file that does not parse is reported with its position; other files are still linted."""
    (project / "broken.py").write_text("import logging\nlogging.info('x'\n")
    (project / "bad.py").write_text("import logging\nlogging.info('%s', password)\n")
    result = seclog("lint", ".", cwd=project)
    assert result.returncode == 2
    assert "bad.py:2:20: SL001 'password'" in result.stdout
    assert re.search(r"broken\.py:2:\d+: E999 syntax error", result.stdout)
    assert "Traceback" not in result.stderr


def test_json_output_lists_findings_with_positions(project: Path) -> None:
    """`--format json` gives path, line, column, rule, level and message for each finding."""
    (project / "app.py").write_text(
        "import logging\nlog = logging.getLogger()\nlog.info('x', token=tok)\n"
    )
    result = seclog("lint", "--format", "json", "app.py", cwd=project)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["files"] == 1
    assert document["findings"] == [
        {
            "path": "app.py",
            "line": 3,
            "column": 15,
            "end_line": 3,
            "end_column": 24,
            "rule": "SL002",
            "name": "secret-in-log-fields",
            "level": "error",
            "message": "'token' looks like a secret and is passed as a log field",
        }
    ]


def test_usage_errors_exit_2(project: Path) -> None:
    """A missing path or an unknown format is a usage error: exit code 2, nothing on stdout."""
    missing = seclog("lint", "nope.py", cwd=project)
    assert missing.returncode == 2
    assert "no such file or directory: nope.py" in missing.stderr
    bad_format = seclog("lint", "--format", "xml", ".", cwd=project)
    assert bad_format.returncode == 2
    assert "invalid choice" in bad_format.stderr


def test_pyproject_config_extends_ignores_and_excludes(project: Path) -> None:
    """[tool.seclog.lint] adds secret names, allows names, ignores rules and excludes paths."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.seclog.lint]\n'
        'extra-secret-names = ["mothers_maiden_name"]\n'
        'allow-names = ["csrf_token"]\n'
        'ignore = ["SL004"]\n'
        'exclude = ["migrations/*", "*_generated.py"]\n'
    )
    (project / "migrations").mkdir()
    (project / "migrations" / "0001.py").write_text("import logging\nlogging.info(password)\n")
    (project / "api_generated.py").write_text("import logging\nlogging.info(password)\n")
    (project / "app.py").write_text(
        "import logging\n"
        "logging.info('answer %s', mothers_maiden_name)\n"
        "logging.info('csrf %s', csrf_token)\n"
        "logging.error('An error occurred')\n"
    )
    result = seclog("lint", ".", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "app.py:2:27: SL001 'mothers_maiden_name' looks like a secret and is formatted "
        "into a log message",
        "1 finding in 1 files",
    ]


def test_bad_config_is_a_usage_error(project: Path) -> None:
    """An unknown key in [tool.seclog.lint] is named in a clear error, exit code 2."""
    (project / "pyproject.toml").write_text('[tool.seclog.lint]\nignored = ["SL001"]\n')
    (project / "app.py").write_text("x = 1\n")
    result = seclog("lint", "app.py", cwd=project)
    assert result.returncode == 2
    assert "unknown key 'ignored' in [tool.seclog.lint]" in result.stderr


def test_output_file_option_writes_the_report(project: Path) -> None:
    """`-o FILE` writes the report there (for CI upload) and keeps the exit code."""
    shutil.copy(CORPUS / "seed_bad_practice.py", project / "seed.py")
    result = seclog("lint", "--format", "sarif", "-o", "out.sarif", "seed.py", cwd=project)
    assert (result.returncode, result.stdout) == (1, "")
    assert len(json.loads((project / "out.sarif").read_text())["runs"][0]["results"]) == 3


def test_pre_commit_hook_definition_runs_seclog_lint() -> None:
    """The repository's .pre-commit-hooks.yaml declares a Python hook that runs `seclog lint`."""
    hooks = yaml.safe_load((TESTS_ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "seclog-lint")
    assert hook["entry"] == "seclog lint"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]


def test_pre_commit_style_invocation_with_many_files(project: Path) -> None:
    """pre-commit passes changed files as arguments: clean ones pass, one bad file fails."""
    for index in range(5):
        (project / f"clean{index}.py").write_text("import logging\nlogging.info('ok')\n")
    clean = seclog("lint", *[f"clean{i}.py" for i in range(5)], cwd=project)
    assert (clean.returncode, clean.stdout) == (0, "0 findings in 5 files\n")
    (project / "leak.py").write_text("import logging\nlogging.warning('k=%s', api_key)\n")
    leak = seclog("lint", "clean0.py", "leak.py", cwd=project)
    assert leak.returncode == 1
    assert "leak.py:2:25: SL001 'api_key'" in leak.stdout


RECALL_CORPUS = DATA / "lint_recall"


def _score(directory: Path) -> tuple[int, int, int, list[str]]:
    """(true positives, false positives, false negatives, misses) over a labelled directory."""
    result = seclog("lint", "--format", "json", ".", cwd=directory)
    findings = json.loads(result.stdout)["findings"]
    got: Counter[tuple[str, int, str]] = Counter(
        (Path(f["path"]).name, f["line"], f["rule"]) for f in findings
    )
    expected: Counter[tuple[str, int, str]] = Counter()
    for path in sorted(directory.glob("*.py")):
        for (line, rule), count in _expected(path).items():
            expected[(path.name, line, rule)] += count
    true_positives = sum((got & expected).values())
    misses = sorted(f"{name}:{line} {rule}" for name, line, rule in expected - got)
    wrong = sorted(f"{name}:{line} {rule} (not expected)" for name, line, rule in got - expected)
    return true_positives, sum((got - expected).values()), len(misses), misses + wrong


def test_recall_and_precision_on_the_labelled_corpus() -> None:
    """Logger aliases, bound fields, forms and connection strings are found; nothing else is."""
    totals = [0, 0, 0]
    problems: list[str] = []
    for directory in (RECALL_CORPUS, CORPUS):
        tp, fp, fn, listed = _score(directory)
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        problems += listed
        print(
            f"seclog lint on {directory.name}: precision {tp / max(tp + fp, 1):.2f}, "
            f"recall {tp / max(tp + fn, 1):.2f} ({tp} found, {fp} false, {fn} missed)"
        )
    tp, fp, fn = totals
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    print(f"seclog lint overall: precision {precision:.2f}, recall {recall:.2f}")
    assert precision == 1.0 and recall == 1.0, problems
