"""Mid-study, the cohort report says how many responders are not known yet and why its tables are
empty; `hub report --html` says one line about the page."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import at
from hub_fixture import make_entry

from diary_client.core.protocol import builtin_text
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = "2026-03-12T12:00"  # day 11: everyone still in the baseline


@pytest.fixture
def baseline_only(tmp_path):
    db = tmp_path / "hub.db"
    hub = HubStore(db)
    for pid in ("A", "B"):
        hub.enrolment.register(pid, builtin_text(), START, "UTC", at("2026-03-01T09:00"))
        hub.ingest(pid, [make_entry(pid, START, d, value=40 + d) for d in range(1, 11)], at("2026-03-12T09:00"))
    hub.close()
    return db


def test_json_counts_the_responders_not_known_yet(cli, baseline_only):
    r = cli("hub", "report", "--db", str(baseline_only), "--json", now=NOW)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["responders"] == 0 and doc["responders_not_known"] == 2


def test_text_says_not_known_yet_instead_of_0_responders_and_why_tables_are_empty(cli, baseline_only):
    r = cli("hub", "report", "--db", str(baseline_only), now=NOW)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "0 responders" not in text and "responders not known yet for all 2" in text
    assert "All — : not known yet" in text  # under the meta-analysis
    assert "— in the drug − placebo columns: not known yet" in text  # under the paper's table


def test_html_says_not_known_yet_and_the_command_prints_one_line(cli, baseline_only, tmp_path):
    out = tmp_path / "cohort.html"
    r = cli("hub", "report", "--db", str(baseline_only), "--html", str(out), now=NOW)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"Wrote {out}: 2 participants, responders not known yet for all 2 "
                                     "(none has both drug and placebo days yet)"]
    page = out.read_text(encoding="utf-8")
    assert "Responders: 0 of" not in page and "<b>not known yet</b>" in page
    assert "— in the drug − placebo columns: not known yet" in page
