"""`diary report` and `diary hub report` through click: blinding, JSON, HTML/PNG, covariates, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import START

from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import builtin_text

MID_STUDY = "2026-04-15T12:00"  # day 45, still blinded
AFTER_END = "2026-06-10T12:00"  # day 98 was 2026-06-07: over, unblind_after_end


@pytest.fixture
def filled(diary):
    """The enrolled P01 with a whole simulated study on file (some days missing)."""
    days = simulate(diary.protocol, START, np.random.default_rng(11), Profile(missing=0.05))
    diary.store.save_all([replace(e, device_id=diary.device_id)
                          for e in as_entries(diary.protocol, START, days, diary.participant_id)])
    return diary


def one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_blinded_json_has_period_labels_and_no_comparisons(cli, filled):
    r = cli("report", "--json", now=MID_STUDY)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["blinded"] is True and doc["responder"] is None
    assert [p["label"] for p in doc["phases"]] == ["Run-in", "Period A", "Period B", "Follow-up"]
    sev = doc["items"]["severity"]
    assert set(sev["phases"]) == {"Run-in", "Period A", "Period B", "Follow-up"}
    assert sev["p_active_vs_placebo"] is None and sev["vs_placebo_points"] is None
    assert "Naltrexone" not in r.stdout and '"placebo"' not in r.stdout and '"ldn"' not in r.stdout


def test_after_the_study_everything_is_shown(cli, filled):
    doc = json.loads(cli("report", "--json", now=AFTER_END).stdout)
    assert doc["blinded"] is False and isinstance(doc["responder"], bool)
    assert [p["id"] for p in doc["phases"]] == ["baseline", "placebo", "ldn", "washout"]
    sev = doc["items"]["severity"]
    assert 0 <= sev["p_active_vs_placebo"] <= 1 and len(sev["ci95_active_vs_placebo"]) == 2
    assert doc["phases"][2]["expected"] == 56 and doc["phases"][2]["n"] <= 56


def test_text_report_reads_as_tables_with_caveats(cli, filled):
    r = cli("report", now=AFTER_END)
    assert r.exit_code == 0, r.output
    for text in ("Naltrexone 4.5 mg", "severity", "Exploratory", "AR(1)", "sha256:"):
        assert text in r.output
    assert "Other answers" in r.output and "yes on" in r.output  # the capsule question, tallied
    blind = cli("report", now=MID_STUDY).output
    assert "red. %" not in blind and "Other answers" in blind  # no comparison columns while blinded


def test_html_and_png_are_written_and_self_contained(cli, filled, tmp_path):
    html, png = tmp_path / "r.html", tmp_path / "r.png"
    r = cli("report", "--html", str(html), "--png", str(png), "--json", now=AFTER_END)
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # the notes about written files went to stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = html.read_text()
    assert "data:image/png;base64," in page and "Exploratory" in page
    assert json.loads(r.stdout)["data_hash"] in page
    assert "src='http" not in page and "<script" not in page


def test_an_unwritable_html_path_is_one_error_line(cli, filled, tmp_path):
    one_line_error(cli("report", "--html", str(tmp_path / "no" / "such" / "dir.html"), now=AFTER_END),
                   "cannot write")


# -- hub report ------------------------------------------------------------------------------------


@pytest.fixture
def hub_db(tmp_path):
    from sync.hub.store import HubStore

    path = tmp_path / "hub.db"
    store = HubStore(path)
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    rng = np.random.default_rng(5)
    toml = builtin_text()
    for i, effect in enumerate([0.5, 0.1, 0.45]):
        pid = f"H{i}"
        store.enrolment.register(pid, toml, START, "UTC", now)
        proto = store.reads.participant(pid).protocol
        days = simulate(proto, START, rng, Profile(sd=4, effects={"active": effect}))
        result = store.ingest(pid, as_entries(proto, START, days, pid), now, via="import")
        assert not result.rejected, result.rejected[:1]
    store.enrolment.register("H9", toml, None, "UTC", now)  # registered, not started: left out
    return path


def test_hub_report_json_and_covariates(cli, hub_db, tmp_path):
    cov = tmp_path / "cov.csv"
    cov.write_text("participant_id,esr,crp\nH0,40,1.5\nH1,10,\nH2,35,2.0\n")
    r = cli("hub", "report", "--db", str(hub_db), "--json", "--covariates", str(cov), now=AFTER_END)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["study_id"] == "ldn-fm" and [p["participant_id"] for p in doc["participants"]] == ["H0", "H1", "H2"]
    assert doc["responders"] == 2 and doc["responder_ids"] == ["H0", "H2"]
    assert doc["covariates"]["esr"]["n"] == 3 and doc["covariates"]["crp"]["n"] == 2
    assert doc["cohort"]["severity"]["phases"]["ldn"]["n"] == 3
    assert doc["mixed_model"]["severity"]["n_groups"] == 3
    assert "H9" in r.stderr


def test_hub_report_json_is_the_cohort_report_document_though_written_as_it_goes(cli, hub_db, tmp_path):
    # the CLI writes each participant's part as her report is made and keeps none of them: the
    # document must still be, byte for byte, the one made from every report kept in memory
    from analysis.cohort import cohort_report
    from analysis.participant import ParticipantData
    from diary_client.cli.report import load_cohort

    cov = tmp_path / "cov.csv"
    cov.write_text("participant_id,esr\nH0,40\nH1,10\nH2,35\n")
    r = cli("hub", "report", "--db", str(hub_db), "--json", "--covariates", str(cov), now=AFTER_END)
    assert r.exit_code == 0, r.output
    now = datetime.fromisoformat(json.loads(r.stdout)["as_of"])
    cohort = load_cohort(hub_db, None)
    got = list(cohort.data(now))
    ready = [p for p in got if isinstance(p, ParticipantData)]
    left_out = sorted(cohort.left_out + [x for x in got if not isinstance(x, ParticipantData)], key=lambda x: x.participant_id)
    full = cohort_report(ready, now, {"H0": {"esr": 40.0}, "H1": {"esr": 10.0}, "H2": {"esr": 35.0}})
    doc = full.as_json() | {"left_out": [x.as_json() for x in left_out]}
    assert r.stdout == json.dumps(doc, ensure_ascii=False, default=str) + "\n"
    assert [x.participant_id for x in left_out] == ["H9"]


def test_hub_report_text(cli, hub_db):
    r = cli("hub", "report", "--db", str(hub_db), now=AFTER_END)
    assert r.exit_code == 0, r.output
    assert "3 participants · 2 responders" in r.output and "mixed model" in r.output


@pytest.mark.parametrize("content, fragment", [
    ("id,esr\nH0,1\n", "header must be participant_id"),
    ("participant_id,esr\nH0,high\n", "is not a number"),
    ("participant_id,esr\nH0,1,2\n", "3 cells"),
    ("participant_id,esr\nH0,1\nH0,2\n", "appears twice"),
])
def test_a_bad_covariates_file_is_one_error_line(cli, hub_db, tmp_path, content, fragment):
    cov = tmp_path / "cov.csv"
    cov.write_text(content)
    one_line_error(cli("hub", "report", "--db", str(hub_db), "--covariates", str(cov), now=AFTER_END), fragment)


def test_hub_report_errors_are_one_line(cli, tmp_path, hub_db):
    one_line_error(cli("hub", "report", "--db", str(tmp_path / "missing.db"), now=AFTER_END), "no hub database")
    one_line_error(cli("hub", "report", "--db", str(hub_db), "--covariates", str(tmp_path / "nope.csv"),
                       now=AFTER_END), "no such file")


def test_analysis_never_imports_textual_and_personal_stays_light():
    code = ("import sys, analysis.personal, analysis.cohort, diary_client.cli.report; "
            "assert 'textual' not in sys.modules; "
            "heavy = [m for m in ('scipy', 'statsmodels', 'matplotlib') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_html_alone_says_where_it_went_without_the_text_report(cli, filled, tmp_path):
    r = cli("report", "--html", str(tmp_path / "r.html"), now=AFTER_END)
    assert r.exit_code == 0 and r.stdout.strip() == f"Wrote {tmp_path / 'r.html'}"
