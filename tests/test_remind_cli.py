"""`diary remind`: systemd user timer files, the cron fallback, and what the timer runs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from diary_client.device import reminder as remind

FAKE_CRONTAB = """#!/bin/sh
# crontab as cron's own: -l prints the table (or fails with "no crontab"), - replaces it from stdin
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB_FILE" ]; then cat "$FAKE_CRONTAB_FILE"; else echo "no crontab for $(id -un)" >&2; exit 1; fi;;
  -) cat > "$FAKE_CRONTAB_FILE";;
  *) echo "usage: crontab -l | -" >&2; exit 2;;
esac
"""


@pytest.fixture
def crontab(tmp_path, monkeypatch):
    """A `crontab` program on PATH that keeps the table in a file (no real crontab is touched)."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    (bin_dir / "crontab").write_text(FAKE_CRONTAB)
    (bin_dir / "crontab").chmod(0o755)
    table = tmp_path / "crontab.txt"
    monkeypatch.setenv("FAKE_CRONTAB_FILE", str(table))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(remind, "SYSTEMCTL", "no-such-systemctl-here")
    return table


class FakeSystemctl:
    def __init__(self, works: bool = True):
        self.works = works
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> bool:
        self.calls.append(args)
        return self.works


def test_install_writes_a_timer_and_enables_it(tmp_path):
    units, ctl = tmp_path / "units", FakeSystemctl()
    msg = remind.install_reminder(tmp_path / "data", time(19, 0), units=units, systemctl=ctl)
    assert "installed" in msg and "19:00" in msg
    timer = (units / f"{remind.UNIT}.timer").read_text()
    service = (units / f"{remind.UNIT}.service").read_text()
    assert "OnCalendar=*-*-* 19:00:00" in timer and "WantedBy=timers.target" in timer
    assert "remind --notify" in service and str((tmp_path / "data").resolve()) in service
    assert ("enable", "--now", f"{remind.UNIT}.timer") in ctl.calls
    assert "removed" in remind.uninstall_reminder(units=units, systemctl=ctl)
    assert not list(units.iterdir())


def test_without_systemd_it_writes_the_crontab_itself_keeping_her_lines(tmp_path, crontab):
    units = tmp_path / "units"
    crontab.write_text("MAILTO=pi\n30 2 * * * /usr/local/bin/backup\n")
    asked: list[list[str]] = []
    msg = remind.install_reminder(tmp_path / "data", time(7, 5), units=units, systemctl=FakeSystemctl(False),
                                  consent=lambda lines: asked.append(lines) or True)
    assert "installed: 1 line in your crontab, daily at 07:05" in msg and "crontab -e" not in msg
    lines = crontab.read_text().splitlines()
    assert lines[:2] == ["MAILTO=pi", "30 2 * * * /usr/local/bin/backup"] and lines[2:] == asked[0]
    assert lines[2].startswith("5 7 * * * ") and "remind --notify" in lines[2] and lines[2].endswith(remind.CRON_MARK)
    remind.install_reminder(tmp_path / "data", time(8, 0), units=units, systemctl=FakeSystemctl(False))
    assert [ln.split()[:2] for ln in crontab.read_text().splitlines()[2:]] == [["0", "8"]]  # replaced, not added
    assert not units.exists()
    assert remind.uninstall_cron() == "removed 1 line from your crontab"
    assert crontab.read_text().splitlines() == ["MAILTO=pi", "30 2 * * * /usr/local/bin/backup"]


def test_without_consent_nothing_is_written(tmp_path, crontab):
    msg = remind.install_reminder(tmp_path / "data", time(7, 5), systemctl=FakeSystemctl(False),
                                  consent=lambda lines: False)
    assert msg == "Nothing was installed." and not crontab.exists()


def test_without_systemd_or_cron_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(remind, "CRONTAB", "no-such-crontab-here")
    with pytest.raises(remind.RemindError, match="apt install cron"):
        remind.install_reminder(tmp_path / "data", time(7, 5), systemctl=FakeSystemctl(False))


def test_cli_print_and_install(cli, diary, tmp_path, monkeypatch, crontab):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    r = cli("remind", "--print")
    assert r.exit_code == 0 and "OnCalendar=*-*-* 19:00:00" in r.output and "19 * * *" in r.output
    r = cli("remind", "--install", input="n\n")  # she is asked, and shown the line, first
    assert r.exit_code == 0 and "Add them to your crontab? [Y/n]" in r.output and "Nothing was installed" in r.output
    assert not crontab.exists()
    r = cli("remind", "--install", input="\n")  # Enter agrees
    assert r.exit_code == 0 and "installed: 1 line in your crontab, daily at 19:00" in r.output
    r = cli("remind", "--install", "--yes")
    assert r.exit_code == 0 and "[Y/n]" not in r.output and "crontab -e" not in r.output
    [line] = crontab.read_text().splitlines()
    assert line.startswith("0 19 * * * ") and "remind --notify" in line
    assert f"  {line}" in r.output  # what was done is shown
    assert not (tmp_path / "config").exists()  # no systemd files without systemd
    r = cli("remind", "--uninstall")
    assert r.exit_code == 0 and "removed 1 line from your crontab" in r.output and crontab.read_text() == ""


def test_the_cron_line_fits_four_lines_at_60_columns(monkeypatch):
    """A Pi's console at 60 columns, a --user install in its default places: 4 lines at most."""
    monkeypatch.setattr(remind, "diary_executable", lambda: ["/home/pi/.local/bin/diary"])
    [line] = remind.cron_lines(Path("/home/pi/.local/share/symptom-diary"), time(19, 0))
    assert "DBUS_SESSION_BUS_ADDRESS" not in line  # `remind --notify` finds the desktop itself
    assert -(-len(f"  {line}") // 60) <= 4, line  # a terminal wraps at its edge, mid-word or not


def test_cli_notify_only_while_the_report_is_open(cli, diary, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send: the text goes to stdout
    r = cli("remind", "--notify", now="2026-03-02T19:00")
    assert r.exit_code == 0 and "Today's report is open until 23:59" in r.output
    r = cli("remind", "--notify", now="2026-03-02T12:00")
    assert r.exit_code == 0 and "Nothing to remind" in r.output


def test_cli_remind_needs_enrolment(cli, data_dir):
    r = cli("remind", "--print")
    assert r.exit_code == 1 and "not enrolled" in r.output


def test_several_times_make_one_timer_and_a_cron_line_each(tmp_path):
    at = [time(19, 0), time(22, 0), time(8, 0)]
    timer = remind.unit_files(tmp_path, at)[f"{remind.UNIT}.timer"]
    assert [ln for ln in timer.splitlines() if ln.startswith("OnCalendar")] == [
        "OnCalendar=*-*-* 08:00:00", "OnCalendar=*-*-* 19:00:00", "OnCalendar=*-*-* 22:00:00"]
    assert [ln.split()[:2] for ln in remind.cron_lines(tmp_path, at)] == [["0", "8"], ["0", "19"], ["0", "22"]]


def test_the_command_names_this_install_by_absolute_path(tmp_path):
    script = tmp_path / "user" / "bin" / "diary"  # a --user or pipx install runs its own script
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert remind.diary_executable(str(script), "/usr/bin/python3") == [str(script)]
    venv = tmp_path / "venv" / "bin"  # a venv not activated: the script beside its python
    venv.mkdir(parents=True)
    (venv / "diary").write_text("#!/bin/sh\n")
    (venv / "diary").chmod(0o755)
    assert remind.diary_executable("/somewhere/pytest", str(venv / "python")) == [str(venv / "diary")]
    assert remind.diary_executable("x", str(tmp_path / "bare" / "python"))[1:] == ["-m", "diary_client"]


@pytest.mark.parametrize("how", ["script", "python -m"])
def test_the_cron_line_works_in_an_empty_environment(diary, data_dir, how, monkeypatch):
    """cron runs `sh -c LINE` with next to no environment: `env -i` is emptier still."""
    if how == "python -m":  # the module run directly: it must not load itself twice
        monkeypatch.setattr(remind, "diary_executable", lambda: [sys.executable, "-m", "diary_client"])
    [line] = remind.cron_lines(data_dir, time(19, 0))
    command = line.split(" ", 5)[5]
    done = subprocess.run(["env", "-i", "/bin/sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "Symptom diary:" in done.stdout or "Nothing to remind" in done.stdout


def test_the_login_line_is_added_once_and_removed(cli, diary, data_dir, tmp_path, monkeypatch, crontab):
    home = tmp_path / "home-dir"
    home.mkdir()
    (home / ".profile").write_text("export EDITOR=nano\n")
    monkeypatch.setenv("HOME", str(home))
    for _ in range(2):
        assert cli("remind", "--install", "--login", "--yes").exit_code == 0
    lines = (home / ".profile").read_text().splitlines()
    assert lines[0] == "export EDITOR=nano" and sum(remind.PROFILE_MARK in ln for ln in lines) == 1
    assert "remind --at-login" in lines[1] and str(data_dir.resolve()) in lines[1]
    r = cli("remind", "--at-login", now="2026-03-03T08:00")
    assert r.output == "Symptom diary: Yesterday's report (Mon 2 Mar) is late but still accepted until 11:59. Run `diary` to fill it in.\n"
    assert cli("remind", "--at-login", now="2026-03-03T14:00").output == ""  # nothing open: silent
    cli("remind", "--uninstall")
    assert (home / ".profile").read_text() == "export EDITOR=nano\n"


def test_a_protocol_with_several_times_installs_each(cli, data_dir, tmp_path, monkeypatch, crontab):
    from diary_client.core.protocol import builtin_text

    study = tmp_path / "study.toml"
    study.write_text(builtin_text().replace('remind = "19:00"', 'remind = ["19:00", "22:00", "08:00"]'))
    assert cli("enroll", "--participant", "P01", "--protocol", str(study), now="2026-03-02T19:00").exit_code == 0
    r = cli("remind", "--install", "--yes")
    assert r.exit_code == 0 and "3 lines in your crontab" in r.output, r.output
    assert [ln.split()[1] for ln in crontab.read_text().splitlines()] == ["8", "19", "22"]
