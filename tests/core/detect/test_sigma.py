"""The shipped Sigma rules validate offline, convert to SIEM backends, and catch the attacks.

Events from a scripted attack and from benign traffic are exported to JSON lines,
loaded into SQLite with seclog's field names as columns, and the SQLite-converted
rules are run over them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.backends.elasticsearch import EqlBackend, ESQLBackend, LuceneBackend
from sigma.backends.splunk import SplunkBackend
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from seclog_core.testing import capture_security_events
from tests.core.detect.app import App

RULES = sorted(
    (entry for entry in files("seclog_core.rules").iterdir() if entry.name.endswith(".yml")),
    key=lambda entry: entry.name,
)
# Validators that fetch MITRE data from the network are left out: validation stays offline.
OFFLINE = [v for name, v in validators.items() if name not in ("attacktag", "d3_fendtag")]
CORRELATION_BACKENDS = (SplunkBackend, ESQLBackend, sqliteBackend)
SQLMAP = "sqlmap/1.7.2#stable (https://sqlmap.org)"


def _collection(name: str) -> SigmaCollection:
    return SigmaCollection.from_yaml(files("seclog_core.rules").joinpath(name).read_text())


def test_every_detector_ships_a_rule():
    """The package ships one rule file per detector."""
    assert [r.name for r in RULES] == [
        "attack_tool.yml",
        "authz_burst.yml",
        "brute_force.yml",
        "credential_stuffing.yml",
        "distributed_brute_force.yml",
        "error_burst.yml",
        "scanning.yml",
        "slow_brute_force.yml",
        "success_after_fail.yml",
    ]


def test_alerts_carry_the_uuid_of_the_shipped_rule():
    """security_rule.uuid of every detector is the id of its shipped Sigma correlation rule."""
    from seclog_core.detect.rules import RULE_INFO

    ids: dict[str, str] = {}
    for entry in RULES:
        for document in yaml.safe_load_all(entry.read_text()):
            if "correlation" in document or document["level"] != "low":
                ids[document["id"]] = entry.name
    for rule, info in RULE_INFO.items():
        assert info.uuid in ids, rule


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rules_validate_with_pysigma_offline(rule):
    """Each rule file parses and passes pySigma's offline validators without issues."""
    collection = SigmaCollection.from_yaml(rule.read_text())
    assert collection.errors == []
    assert SigmaValidator(OFFLINE).validate_rules(collection) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rules_convert_to_splunk_esql_and_lucene(rule):
    """Count rules convert to Splunk, ES|QL, SQLite (temporal: EQL); base rules to Lucene."""
    text = rule.read_text()
    temporal = "temporal_ordered" in text
    for backend in CORRELATION_BACKENDS:
        if temporal and backend is not sqliteBackend:
            continue  # Splunk and ES|QL have no temporal correlation in pySigma
        queries = backend().convert(SigmaCollection.from_yaml(text))
        assert len(queries) == 1 and queries[0]
    for document in yaml.safe_load_all(text):
        if "correlation" not in document:
            assert LuceneBackend().convert_rule(SigmaRule.from_dict(document))
    if temporal:
        assert "sequence by user.name" in EqlBackend().convert(SigmaCollection.from_yaml(text))[0]
    elif "correlation:" in text:
        assert "security.event" in SplunkBackend().convert(SigmaCollection.from_yaml(text))[0]


def _next_millisecond() -> None:
    # The SQLite backend orders events by millisecond: a success in the same millisecond
    # as the failure before it would not count as "after" it.
    time.sleep(0.003)


def _drive_attack(app: App) -> None:
    for _ in range(12):
        app.login("alice", client="203.0.113.5")
    _next_millisecond()
    app.login("alice", "right", client="203.0.113.5")
    for i in range(15):
        app.login(f"victim{i}", client="198.51.100.7")
    for i in range(6):
        app.login("carol", client=f"192.0.2.{i + 10}")
    for i in range(25):
        app.get(f"/admin/invoice/{i}", client="203.0.113.50")
    for _ in range(55):
        app.get("/boom", client="203.0.113.60")
    for i in range(35):
        app.get(f"/.git/{i}", client="198.51.100.99", user_agent=SQLMAP)


def _drive_benign(app: App) -> None:
    app.login("bob", client="192.0.2.200")
    app.login("bob", client="192.0.2.200")
    _next_millisecond()
    app.login("bob", "right", client="192.0.2.200")
    for path in ["/", "/about", "/old", "/gone", "/favicon.ico"]:
        app.get(path, client="66.249.66.1", user_agent="Googlebot/2.1")
    app.get("/admin", client="192.0.2.201")
    app.get("/admin/settings", client="192.0.2.201")
    app.get("/boom", client="192.0.2.202")


def _export(tmp_path: Path, name: str, drive: Any) -> Path:
    """Run traffic through the app and write what seclog emitted as JSON lines."""
    out = tmp_path / f"{name}.jsonl"
    with capture_security_events() as events:
        app = App()
        try:
            drive(app)
        finally:
            app.close()
    with out.open("w") as handle:
        for event in events:
            stamp = datetime.fromtimestamp(event.timestamp_ns / 1e9, tz=timezone.utc)
            row = {"timestamp": stamp.isoformat(), **event.attributes}
            handle.write(json.dumps(row) + "\n")
    return out


@pytest.fixture
def exported(telemetry: Any, tmp_path: Path) -> Iterator[dict[str, sqlite3.Connection]]:
    connections = {}
    for name, drive in (("attack", _drive_attack), ("benign", _drive_benign)):
        rows = [
            json.loads(line)
            for line in _export(tmp_path, name, drive).read_text().split("\n")
            if line
        ]
        columns = sorted({key for row in rows for key in row})
        db = sqlite3.connect(":memory:")
        db.execute(f"CREATE TABLE logs ({', '.join(f'`{c}`' for c in columns)})")
        for row in rows:
            values = [
                json.dumps(v) if isinstance(v, list) else row.get(c)
                for c, v in ((c, row.get(c)) for c in columns)
            ]
            db.execute(f"INSERT INTO logs VALUES ({', '.join('?' * len(columns))})", values)
        connections[name] = db
    yield connections
    for db in connections.values():
        db.close()


def _matches(db: sqlite3.Connection, rule_file: str) -> list[dict[str, Any]]:
    (query,) = sqliteBackend().convert(_collection(rule_file))
    cursor = db.execute(query)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _groups(matches: list[dict[str, Any]]) -> set[str]:
    return {
        json.dumps(json.loads(m["group_keys"]), sort_keys=True) if "group_keys" in m else ""
        for m in matches
    }


@pytest.mark.parametrize(
    ("rule_file", "expected"),
    [
        ("brute_force.yml", {"alice"}),
        ("credential_stuffing.yml", {"198.51.100.7"}),
        ("distributed_brute_force.yml", {"carol"}),
        ("authz_burst.yml", {"203.0.113.50"}),
        ("success_after_fail.yml", {"alice"}),
    ],
)
def test_count_rules_match_the_attack_not_benign_traffic(exported, rule_file, expected):
    """Each correlation rule fires on its attack's key and on nothing in benign traffic."""
    attack = _matches(exported["attack"], rule_file)
    assert attack
    keys = {value for m in attack for value in json.loads(m["group_keys"]).values()}
    assert keys == expected
    benign = _matches(exported["benign"], rule_file)
    if rule_file == "success_after_fail.yml":
        # Informational: a user mistyping twice is exactly what this rule reports (level low).
        assert {v for m in benign for v in json.loads(m["group_keys"]).values()} == {"bob"}
    else:
        assert benign == []


def test_error_burst_rule_matches_the_attack_only(exported):
    """Fifty server errors in a minute match; a single error does not."""
    assert _matches(exported["attack"], "error_burst.yml")
    assert _matches(exported["benign"], "error_burst.yml") == []


@pytest.mark.parametrize("rule_file", ["attack_tool.yml", "scanning.yml"])
def test_scanner_rules_match_the_scanner_only(exported, rule_file):
    """The attack-tool and scanning rules match sqlmap's requests, never the crawler."""
    attack = _matches(exported["attack"], rule_file)
    assert attack and {m["client.address"] for m in attack} == {"198.51.100.99"}
    assert _matches(exported["benign"], rule_file) == []
