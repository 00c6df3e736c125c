"""The detection replay: every attack alerted once, every benign crowd quiet, default settings."""

from __future__ import annotations

from benchmarks.bench_detection import render, replay


def test_replay_meets_the_detection_targets(telemetry):
    """Each scripted attack raises exactly one alert, in time; no benign crowd raises any."""
    outcomes = replay(hours=2.0)
    table = render(outcomes)
    attacks = [o for o in outcomes if o.attack]
    benign = [o for o in outcomes if not o.attack]
    assert len(attacks) == 10 and len(benign) == 7
    for outcome in attacks:
        assert len(outcome.alerts) == 1, table
        assert outcome.first is not None and outcome.first < 1200, table
    for outcome in benign:
        assert outcome.alerts == [], table
    # Sigma sees the same attacks, except the botnet (no per-address signal in a SIEM rule).
    missed = {o.name for o in attacks if not o.sigma}
    assert missed == {"credential stuffing, botnet of 300"}, table
