"""What people expect of a command-line tool: click's shell completion, `python -m diary_client`,
`-` for standard input and output."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

REPORT = ["record", "severity=40", "pain=35", "fatigue=50", "sleep_quality=60", "sadness=20", "stress=30",
          "headache=10", "gi=5", "thinking=25", "side_effects=", "note=fine"]


def run_diary(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    """`python -m diary_client ...` in a fresh process, as a shell would run `diary ...`."""
    return subprocess.run([sys.executable, "-m", "diary_client", *args], input=stdin, capture_output=True, text=True,
                          env=os.environ | env, timeout=120)


def test_bash_completion_is_handed_to_click_not_the_app(tmp_path):
    r = run_diary(env={"_DIARY_COMPLETE": "bash_source", "DIARY_HOME": str(tmp_path / "home"), "TERM": "dumb"})
    assert r.returncode == 0, r.stderr
    assert "complete -o nosort -F" in r.stdout and "_DIARY_COMPLETE=bash_complete" in r.stdout
    words = run_diary(env={"_DIARY_COMPLETE": "bash_complete", "COMP_WORDS": "diary hub sta", "COMP_CWORD": "2",
                           "DIARY_HOME": str(tmp_path / "home")})
    assert "plain,status" in words.stdout.splitlines(), words.stdout
    assert not (tmp_path / "home").exists()  # no app started, nothing created


def test_python_m_diary_client_runs_the_command(tmp_path):
    r = run_diary("--help", env={"DIARY_HOME": str(tmp_path)})
    assert r.returncode == 0 and "Usage: diary" in r.stdout, r.stdout + r.stderr


def test_export_to_stdout_and_import_from_stdin(cli, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a file named `-` would land
    assert cli("enroll", "--participant", "P01", "--start", "2026-03-02", now="2026-03-02T19:00").exit_code == 0
    assert cli(*REPORT, now="2026-03-02T19:30").exit_code == 0
    r = cli("export", "--csv", "-", now="2026-03-04T09:00")
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "-").exists()
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(row["date"], row["pain"], row["note"]) for row in rows] == [("2026-03-02", "35", "fine")]
    assert r.stderr == "Wrote 1 entry to stdout\n"
    # the same rows into a new device, read from stdin
    other = {"DIARY_HOME": str(tmp_path / "other"), "DIARY_NOW": "2026-03-04T09:00", "DIARY_NOW_QUIET": "1",
             "TZ": "UTC"}
    assert run_diary("enroll", "--participant", "P02", "--start", "2026-03-02", env=other).returncode == 0
    got = run_diary("import", "-", env=other, stdin=r.stdout)
    assert got.returncode == 0 and got.stdout == "Imported 1 day from stdin\n", got.stdout + got.stderr
    bad = run_diary("import", "-", env=other, stdin="day,pain\n")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: stdin: the first column must be 'date'"), bad.stderr
