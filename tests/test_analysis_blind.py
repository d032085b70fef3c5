"""The blind holds in a participant's own report: tried as a participant would, by computing her
outputs under both orders of the roles from her own days and looking for any difference."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import numpy as np
from click.testing import CliRunner

from analysis.simulate import Profile, as_entries, simulate
from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text, parse_protocol
from diary_client.device.diary import Diary
from diary_client.device.store import Store

START = date(2026, 1, 5)
DAY_70 = "2026-03-15T20:00"  # day 70: Period A (days 15-28) over, Period B (from day 29) under way
EXCLUDE = "responder_points = 30\nexclude_first_days = { active = 14, placebo = 3 }"


def protocol_text(swapped: bool) -> str:
    """ldn-fm (single blind) with role-specific exclusions; `swapped`: the other order of the roles."""
    text = builtin_text().replace("responder_points = 30", EXCLUDE, 1)
    if swapped:
        text = (text.replace('role = "placebo"', 'role = "@"', 1).replace('role = "active"', 'role = "placebo"', 1)
                .replace('role = "@"', 'role = "active"', 1))
    return text


def outputs(tmp_path, monkeypatch, swapped: bool) -> dict[str, str]:
    """`diary report --json`, the text report and the HTML page of one participant's device."""
    home = tmp_path / ("swapped" if swapped else "true")
    monkeypatch.setenv("DIARY_HOME", str(home))
    monkeypatch.setenv("DIARY_NOW", DAY_70)
    toml = protocol_text(swapped)
    protocol = parse_protocol(toml)
    # her own days, the same under either hypothesis (simulated once, under the true order)
    days = simulate(parse_protocol(protocol_text(False)), START, np.random.default_rng(3),
                    Profile(phi=0.4, sd=6, missing=0.1), items=["severity", "pain", "fatigue"])
    days = {d: a for d, a in days.items() if d < date(2026, 3, 15)}
    diary = Diary.enroll(Store.in_dir(home), "P01", toml, START)
    diary.store.save_all(as_entries(protocol, START, days, "P01", diary.device_id))
    runner = CliRunner()
    html = tmp_path / f"{'swapped' if swapped else 'true'}.html"
    got = {"json": runner.invoke(main, ["report", "--json"]).output, "text": runner.invoke(main, ["report"]).output}
    assert runner.invoke(main, ["report", "--html", str(html)]).exit_code == 0
    got["html"] = html.read_text()
    # what differs by construction, not by the roles: the hash of the protocol text
    return {k: re.sub(r"sha256:[0-9a-f]{64}", "sha256:…", v) for k, v in got.items()}


def test_a_blinded_report_lets_no_one_compute_the_order_of_the_roles(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    true, swapped = outputs(tmp_path, monkeypatch, False), outputs(tmp_path, monkeypatch, True)
    doc = json.loads(true["json"])
    assert doc["blinded"] is True
    # The attempt: she knows the study's exclusions (14 drug days, 3 placebo days), counts her own
    # days per period and sees which period's effective n, or any other number, fits which order.
    for name in ("json", "text", "html"):
        assert true[name] == swapped[name], f"the {name} report differs between the two orders of the roles"
    # nothing names a role either
    assert doc["analysis_options"]["exclude_first_days"] is None and doc["analysis_options"]["model_withheld"]
    assert not any(isinstance(v, dict) for v in doc["analysis_options"].values())  # no option keyed by role
    periods = {p["label"] for p in doc["phases"]}
    assert {"Period A", "Period B"} <= periods
    for item in doc["items"].values():
        assert all(v["effective_n"] is None for v in item["phases"].values())
        assert item["effective_n"] is None and item["autocorrelation"] is None and item["model"] is None


def test_an_unblinded_report_keeps_its_model_and_options(tmp_path, monkeypatch):
    from analysis.personal import analyse

    protocol = parse_protocol(protocol_text(False))
    days = simulate(protocol, START, np.random.default_rng(3), Profile(phi=0.4, sd=6), items=["severity"])
    entries = as_entries(protocol, START, days, "P01")
    rep = analyse(protocol, START, entries, datetime.fromisoformat("2026-05-01T12:00+00:00"), "P01", blinded=False)
    doc = rep.as_json()
    assert doc["analysis_options"]["exclude_first_days"] == {"active": 14, "placebo": 3}
    assert doc["items"]["severity"]["phases"]["ldn"]["effective_n"] is not None
