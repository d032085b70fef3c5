"""Designs run end to end: the 2013 counterbalanced study with 8 participants through a real hub (4 online,
4 by collected files), allocation balanced and concealed on every device, revealed only with a reason."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import file_report

from diary_client.cli.tree import main
from diary_client.core import design
from diary_client.core.protocol import builtin_text, load_protocol, parse_protocol, stored_protocol
from diary_client.device.diary import Diary
from diary_client.device.store import DB_NAME, Store
from tests.conftest import one_line_error
from tests.hub_fixture import answers_for, running_hub

START = "2026-03-02"
NOW = "2026-03-20T20:00:00"  # study day 19: week 3 of 22, inside the first treatment period
SEQUENCES = {"baseline>ldn>placebo>followup", "baseline>placebo>ldn>followup"}
# Anything that would name a phase, a role or the design on a blinded device (the study id "ldn-fm-2013" aside).
TELLING = re.compile(r"placebo|naltrexone 4\.5|counterbalanced|sequences|\bactive\b|\bldn\b(?!-fm)|followup|"
                     r"baseline", re.IGNORECASE)


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setenv("DIARY_NOW", NOW)
    monkeypatch.setenv("TZ", "UTC")

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def _audit(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY seq")]
    finally:
        con.close()


def _ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def _device_text(path: Path) -> str:
    """Every cell of every table of a device's SQLite file, as text."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells = [str(v) for n in names for row in con.execute(f'SELECT * FROM "{n}"') for v in row]
    finally:
        con.close()
    return "\n".join(cells)


def _device_protocol(data: Path):
    return stored_protocol(Store.in_dir(data).settings()["protocol_toml"])


def _file_today(data: Path, now) -> None:
    diary = Diary(Store.in_dir(data))
    span = diary.today(now).span
    file_report(diary, answers_for(diary.protocol, span.phase.id, 40), now)


def test_a_2013_study_runs_end_to_end_concealed_until_revealed(tmp_path, run):
    from diary_client.core import clock

    db = tmp_path / "hub.db"
    with running_hub(db) as hub:
        codes = {}
        for n in range(1, 9):
            pid = f"P0{n}"
            doc = json.loads(_ok(run("hub", "enroll", "--db", str(db), pid, "--protocol", "ldn-fm-2013",
                                     "--start", START, "--tz", "UTC", "--json")))
            codes[pid] = doc["code"]
        devices = {pid: tmp_path / pid for pid in codes}
        for pid, code in codes.items():  # every device enrols at the hub (a randomized design needs it)
            _ok(run("--data-dir", str(devices[pid]), "enroll", "--participant", pid, "--hub", hub.url, "--code", code))
            _file_today(devices[pid], clock.now())
        for pid in ("P01", "P02", "P03", "P04"):  # online
            _ok(run("--data-dir", str(devices[pid]), "sync"))
        collected = [str(devices[pid] / DB_NAME) for pid in ("P05", "P06", "P07", "P08")]
        _ok(run("hub", "import", "--db", str(db), *collected))  # the others' files, collected by hand

        # Balanced 4/4 over two blocks of 4; the sequences concealed, the hash committing to them.
        alloc = json.loads(_ok(run("hub", "allocation", "--db", str(db), "--json")))
        assert alloc["study_id"] == "ldn-fm-2013" and alloc["method"] == "counterbalanced"
        assert alloc["balance"] == dict.fromkeys(sorted(SEQUENCES), 4)
        assert [p["participant_id"] for p in alloc["participants"]] == list(codes)  # enrolment order
        assert all(p["sequence"] is None for p in alloc["participants"])
        assert re.fullmatch(r"[0-9a-f]{64}", alloc["allocation_hash"])
        assert hub.store.reads.summary("P05")["P05"]["entries"] == 1  # the collected file's report is on the hub
        assert hub.store.reads.summary("P01")["P01"]["entries"] == 1

        # Nothing on any device tells a role, a true phase or the order before unblinding.
        shapes = set()
        for pid, data in devices.items():
            text = _device_text(data / DB_NAME)
            assert not TELLING.search(text), (pid, TELLING.search(text))
            p = _device_protocol(data)
            assert p.masked and p.conceal_periods and p.allocation.method == "fixed"
            assert {ph.role for ph in p.phases} == {"other"} and all(ph.phase is None for ph in p.phases)
            shapes.add(tuple((ph.id, ph.days, ph.participant_label) for ph in p.phases))
            status = json.loads(_ok(run("--data-dir", str(data), "status", "--json")))
            assert status["phase_label"] == "Week 3 of 22" and status["blinded"] is True
        assert len(shapes) == 1  # every device holds the same schedule, whichever order it is on

        # Revealed only with a reason, and the reveal is audited (who, when, why).
        bare = CliRunner().invoke(main, ["hub", "allocation", "--db", str(db), "--reveal"])
        assert bare.exit_code == 2 and "--reason" in bare.output
        shown = json.loads(_ok(run("hub", "allocation", "--db", str(db), "--reveal", "--reason", "DSMB review", "--json")))
        assert shown["allocation_hash"] == alloc["allocation_hash"]
        assert {design.sequence_key(p["sequence"]) for p in shown["participants"]} == SEQUENCES
        audit = [a for a in _audit(db) if a["action"] == "reveal_allocation"]
        assert len(audit) == 1 and json.loads(audit[0]["detail"])["reason"] == "DSMB review"
        assert json.loads(audit[0]["detail"])["user"] and audit[0]["at"]
        seq = {p["participant_id"]: p["sequence"] for p in shown["participants"]}

        # The hash is what the documentation says it is.
        seed = sqlite3.connect(db).execute("SELECT seed FROM allocation_seeds").fetchone()[0]
        assert design.allocation_hash("ldn-fm-2013", seed, [(pid, seq[pid]) for pid in codes]) == alloc["allocation_hash"]
        assert [list(design.allocate(load_protocol("ldn-fm-2013"), seed, i)) for i in range(8)] == [seq[p] for p in codes]

        # Exports: no periods and no true phases of blinded participants until unblinded or revealed.
        _ok(run("hub", "unblind", "--db", str(db), "P01", "--reason", "adverse event", "--yes"))
        _ok(run("hub", "export", "--db", str(db), "--sqlite", str(tmp_path / "x.db"), "--fhir", str(tmp_path / "fhir")))
        out = sqlite3.connect(tmp_path / "x.db")
        periods = out.execute("SELECT participant_id, period, phase FROM periods ORDER BY participant_id, period").fetchall()
        assert [r[2] for r in periods] == seq["P01"] and {r[0] for r in periods} == {"P01"}
        assert {r[0] for r in out.execute("SELECT role FROM phases WHERE participant_id = 'P02'")} == {"other"}
        _check_fhir(tmp_path / "fhir", seq)
        _ok(run("hub", "export", "--db", str(db), "--csv", str(tmp_path / "csv"), "--reveal", "--reason", "final analysis"))
        rows = (tmp_path / "csv" / "periods.csv").read_text().splitlines()
        assert len(rows) == 1 + 8 * 4
        assert [a["action"] for a in _audit(db)].count("reveal_export") == 1

        # After unblinding, her true schedule reaches her device.
        _ok(run("--data-dir", str(devices["P01"]), "sync"))
        p1 = _device_protocol(devices["P01"])
        assert not p1.masked and [ph.base for ph in p1.phases] == seq["P01"]
        status = json.loads(_ok(run("--data-dir", str(devices["P01"]), "status", "--json")))
        assert status["blinded"] is False and status["phase_label"] in ("Naltrexone 4.5 mg", "Placebo")
        assert TELLING.search(_device_text(devices["P01"] / DB_NAME))  # the scan above would have seen it
        rows = json.loads(_ok(run("hub", "status", "--db", str(db), "--json")))["participants"]
        assert len(rows) == 8 and all(r["done"] == 1 for r in rows)

        # The coordinator's report reads each participant as she was allocated: her periods in her order.
        rep = json.loads(_ok(run("hub", "report", "--db", str(db), "--json")))
        assert rep["design"] == "counterbalanced" and rep["balance"] == dict.fromkeys(sorted(SEQUENCES), 4)
        for person in rep["participants"]:
            assert [ph["phase"] for ph in person["phases"]] == seq[person["participant_id"]]
            assert [ph["period"] for ph in person["phases"]] == [1, 2, 3, 4]


def _check_fhir(folder: Path, seq: dict) -> None:
    from fhir.resources.R4B.bundle import Bundle

    for pid in seq:
        doc = json.loads((folder / f"Bundle-{pid}.json").read_text())
        Bundle.model_validate(doc)
        subject = doc["entry"][0]["resource"]
        assert subject["resourceType"] == "ResearchSubject"
        if pid == "P01":  # unblinded
            assert subject["assignedArm"] == design.sequence_key(seq[pid])
        else:
            assert "assignedArm" not in subject
            responses = [e["resource"] for e in doc["entry"][1:]]
            assert responses and all(i["linkId"] != "_phase" for r in responses for i in r["item"])


def test_a_randomized_design_needs_the_hub_at_enrolment(run, tmp_path):
    got = run("--data-dir", str(tmp_path / "d"), "enroll", "--participant", "P01", "--protocol", "ldn-fm-2013")
    one_line_error(got, "randomized", "--hub")
    assert not (tmp_path / "d" / DB_NAME).exists() or "participant_id" not in Store.in_dir(tmp_path / "d").settings()


def test_every_protocol_option_takes_a_built_in_name(run, tmp_path):
    _ok(run("--data-dir", str(tmp_path / "d"), "enroll", "--participant", "P01", "--protocol", "ldn-fm", "--start", START, "--yes"))
    db = str(tmp_path / "hub.db")
    _ok(run("hub", "enroll", "--db", db, "N01", "--protocol", "nof1-abab", "--start", START))
    one_line_error(run("hub", "protocol", "--db", db, "nof1-abab"), "not newer")
    one_line_error(run("hub", "enroll", "--db", db, "N02", "--protocol", "no-such-design"), "ldn-fm-2013")


def test_allocation_json_of_a_fixed_study_and_the_hash_without_a_seed(run, tmp_path):
    db = str(tmp_path / "hub.db")
    for pid in ("A", "B"):
        _ok(run("hub", "enroll", "--db", db, pid, "--start", START))
    doc = json.loads(_ok(run("hub", "allocation", "--db", db, "--json")))
    key = "baseline>placebo>ldn>washout"
    assert doc["method"] == "fixed" and doc["balance"] == {key: 2}
    assert doc["participants"] == [{"participant_id": "A", "sequence": None}, {"participant_id": "B", "sequence": None}]
    assert doc["allocation_hash"] == design.allocation_hash("ldn-fm", b"", [("A", key.split(">")), ("B", key.split(">"))])
    text = _ok(run("hub", "allocation", "--db", db))
    assert "Sequences concealed" in text and key in text
    assert run("hub", "allocation", "--db", db, "--reason", "x").exit_code == 2


def test_a_fixed_protocol_reaches_the_device_exactly_as_written(tmp_path):
    with running_hub(tmp_path / "hub.db") as hub:
        code = hub.code("F01")
        from sync.client.upload import enroll_device

        diary = enroll_device(Store.in_dir(tmp_path / "dev"), hub.url, code)
        assert diary.settings.protocol_toml == builtin_text()
        p = hub.store.reads.participant("F01")
        assert p.sequence is None and p.allocation_index == 0 and p.protocol == parse_protocol(builtin_text())


def test_nof1_devices_show_neutral_periods_of_equal_length(tmp_path, run):
    db = tmp_path / "hub.db"
    with running_hub(db) as hub:
        doc = json.loads(_ok(run("hub", "enroll", "--db", str(db), "N01", "--protocol", "nof1-abab",
                                 "--start", START, "--tz", "UTC", "--json")))
        _ok(run("--data-dir", str(tmp_path / "n"), "enroll", "--participant", "N01", "--hub", hub.url,
                "--code", doc["code"]))
        p = _device_protocol(tmp_path / "n")
        assert not p.masked and not p.conceal_periods  # single blind; every treatment period is 2 weeks
        assert p.days_total == 7 + 6 * 14
        treat = [ph for ph in p.phases if ph.role in ("active", "placebo")]
        assert [ph.participant_label for ph in treat] == [f"Period {n}" for n in range(2, 8)]
        status = json.loads(_ok(run("--data-dir", str(tmp_path / "n"), "status", "--json")))
        assert status["phase_label"] == "Period 2"  # day 19: the first 2-week period (days 8-21) after the run-in


async def test_the_app_shows_weeks_not_periods_where_their_lengths_would_tell(tmp_path):
    from app_helpers import make_app, text_of

    from diary_client.app.screens.progress import ProgressScreen
    from diary_client.core.protocol import to_toml

    single = parse_protocol(builtin_text("ldn-fm-2013").replace('blinding = "double"', 'blinding = "single"'))
    view = design.device_view(single, design.admissible(single)[1], released=False)  # placebo first: 4 weeks
    diary = Diary.enroll(Store.in_dir(tmp_path), "P01", to_toml(view), date(2026, 3, 2), hub_url="http://127.0.0.1:9")
    assert diary.protocol.conceal_periods
    app, _ = make_app(tmp_path, "2026-03-20T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Week 3 of 22" in text_of(app, "#phase")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ProgressScreen)
        shown = text_of(app, "#chart-periods") + text_of(app, "#calendar") + text_of(app, "#weeks-periods")
        assert "Period" not in shown and "Run-in" not in shown and "Follow-up" not in shown, shown
        assert app.screen.bands() == [(1, 154, "")]
