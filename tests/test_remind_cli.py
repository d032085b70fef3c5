"""`diary remind`: systemd user timer files, the cron fallback, and what the timer runs."""

from __future__ import annotations

from datetime import time

from diary_client import remind


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


def test_without_systemd_it_gives_the_cron_line(tmp_path):
    units = tmp_path / "units"
    msg = remind.install_reminder(tmp_path / "data", time(7, 5), units=units, systemctl=FakeSystemctl(False))
    assert "crontab -e" in msg and "\n5 7 * * * " in msg and "remind --notify" in msg
    assert not units.exists()


def test_cli_print_and_install(cli, diary, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(remind, "SYSTEMCTL", "no-such-systemctl-here")
    r = cli("remind", "--print")
    assert r.exit_code == 0 and "OnCalendar=*-*-* 19:00:00" in r.output and "19 * * *" in r.output
    r = cli("remind", "--install")
    assert r.exit_code == 0 and "crontab" in r.output
    assert not (tmp_path / "config").exists()  # nothing written without systemd


def test_cli_notify_only_while_the_report_is_open(cli, diary, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send: the text goes to stdout
    r = cli("remind", "--notify", now="2026-03-02T19:00")
    assert r.exit_code == 0 and "Day 1 of 98" in r.output and "open until 23:59" in r.output
    r = cli("remind", "--notify", now="2026-03-02T12:00")
    assert r.exit_code == 0 and "Nothing to remind" in r.output


def test_cli_remind_needs_enrolment(cli, data_dir):
    r = cli("remind", "--print")
    assert r.exit_code == 1 and "not enrolled" in r.output
