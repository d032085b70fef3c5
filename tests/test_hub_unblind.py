"""`diary hub unblind` is a decision: mid-study it needs --reason and a confirmation, and the hub's
audit keeps who, when and why; `--all` leaves out those still in their study unless told."""

from __future__ import annotations

import getpass
import json
import sqlite3
from datetime import date

import pytest
from click.testing import CliRunner

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from sync.hub.store import HubStore

NOW = "2026-03-21T12:00"  # C01 is on day 20 of 98; C09 finished in 2025


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("DIARY_NOW", NOW)
    db = tmp_path / "hub.db"
    store = HubStore(db)
    from datetime import UTC, datetime

    at = datetime(2026, 3, 21, 12, tzinfo=UTC)
    for pid, start in (("C01", date(2026, 3, 2)), ("C04", date(2026, 3, 5)), ("C09", date(2025, 6, 2))):
        store.enrolment.register(pid, builtin_text(), start, "UTC", at)

    def run(*args, input: str | None = None):
        return CliRunner().invoke(main, ["hub", args[0], "--db", str(db), *args[1:]], input=input)

    run.db = db  # type: ignore[attr-defined]  # the test reads the hub's file beside the command
    return run


def unblinded(db) -> dict[str, int]:
    return dict(sqlite3.connect(db).execute("SELECT participant_id, unblinded FROM participants"))


def audit(db) -> list[tuple]:
    return sqlite3.connect(db).execute(
        "SELECT at, actor, participant_id, detail FROM audit WHERE action = 'unblind' ORDER BY seq").fetchall()


def test_unblinding_mid_study_without_a_reason_is_refused_in_one_line(hub):
    r = hub("unblind", "C01", "C04")
    assert r.exit_code == 1 and r.output.strip().count("\n") == 0 and "Traceback" not in r.output, r.output
    assert "C01, C04 are still in the study" in r.output and "--reason" in r.output
    assert unblinded(hub.db) == {"C01": 0, "C04": 0, "C09": 0} and audit(hub.db) == []


def test_unblinding_mid_study_asks_and_is_audited_with_who_when_and_why(hub):
    no = hub("unblind", "C01", "--reason", "serious adverse event, the safety board asked", input="n\n")
    assert no.exit_code == 1 and unblinded(hub.db)["C01"] == 0 and audit(hub.db) == []
    r = hub("unblind", "C01", "--reason", "serious adverse event, the safety board asked", input="y\n")
    assert r.exit_code == 0 and "Unblinded 1 participant(s): C01" in r.output, r.output
    [(at, actor, pid, detail)] = audit(hub.db)
    assert (actor, pid, at[:10]) == ("coordinator", "C01", "2026-03-21")
    assert json.loads(detail) == {"user": getpass.getuser(), "reason": "serious adverse event, the safety board asked",
                                  "in_study": True}
    rows = {r["participant_id"]: r for r in json.loads(hub("status", "--json").output)["participants"]}
    assert rows["C01"]["unblinded"] is True and rows["C04"]["unblinded"] is False
    assert "unblinded" in next(line for line in hub("status").output.splitlines() if line.startswith("C01"))


def test_all_leaves_out_those_still_in_their_study_unless_told(hub):
    r = hub("unblind", "--all")
    assert r.exit_code == 0 and "Unblinded 1 participant(s): C09" in r.output and "Left out 2" in r.output
    assert unblinded(hub.db) == {"C01": 0, "C04": 0, "C09": 1}
    assert json.loads(audit(hub.db)[0][3])["in_study"] is False
    assert hub("unblind", "--all", "--include-ongoing").exit_code == 1  # no reason
    r = hub("unblind", "--all", "--include-ongoing", "--reason", "the study was stopped early", "--yes")
    assert r.exit_code == 0 and unblinded(hub.db) == {"C01": 1, "C04": 1, "C09": 1}
    assert [json.loads(d)["reason"] for *_, d in audit(hub.db)][-2:] == ["the study was stopped early"] * 2
