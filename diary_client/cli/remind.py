"""`diary remind`: the reminder command (install, uninstall, print, notify, at-login); what it installs
is `diary_client/device/reminder.py`."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import click

from diary_client.cli.kit import Env, pass_env, user_errors
from diary_client.device.reminder import (
    RemindError,
    cron_lines,
    install_login_line,
    install_reminder,
    login_line,
    profile_path,
    uninstall_cron,
    uninstall_login_line,
    uninstall_reminder,
    unit_dir,
    unit_files,
)


def reminder_text(env: Env) -> str | None:
    """The reminder while the day's report is still open (in its window or its grace), else None."""
    from diary_client.core.days import report_name

    diary = env.diary()
    now = env.now()
    s = diary.status(now)
    if s.today not in ("open", "late"):
        return None
    until = datetime.fromisoformat(s.closes if s.today == "open" else s.grace_ends)
    name = report_name(date.fromisoformat(s.diary_date), now.date()).removesuffix(" —").replace(" — ", " (", 1)
    name += ")" if "(" in name else ""
    when = f"{until:%H:%M}" if until.date() == now.date() else f"{until:%a} {until.day} {until:%b} {until:%H:%M}"
    state = "is open" if s.today == "open" else "is late but still accepted"
    kept = diary.kept_answers()
    draft = f" Your unfinished report is kept ({kept} answered)." if kept else ""
    return f"Symptom diary: {name} {state} until {when}.{draft} Run `diary` to fill it in."


def notify_now(env: Env) -> str | None:
    """What the timer runs: a desktop notification (and the same line on stdout) while the report is open."""
    text = reminder_text(env)
    if text and shutil.which("notify-send"):
        child_env = dict(os.environ)
        bus = Path(f"/run/user/{os.getuid()}/bus")
        if "DBUS_SESSION_BUS_ADDRESS" not in child_env and bus.exists():  # cron's empty environment: find the desktop
            child_env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
        try:
            subprocess.run(["notify-send", "Symptom diary", text], check=False, timeout=20, capture_output=True,
                           env=child_env)
        except (OSError, subprocess.TimeoutExpired):
            pass  # no desktop to show it: the login line and stdout (the journal, cron's mail) remain
    return text


@click.command()
@click.option("--install", "action", flag_value="install",
              help="Install the reminders: a systemd user timer, or else lines in your crontab (asked first).")
@click.option("--yes", "-y", is_flag=True, help="With --install: add the crontab lines without asking.")
@click.option("--login", is_flag=True, help="With --install: also say an open report at login (shell profile).")
@click.option("--uninstall", "action", flag_value="uninstall", help="Remove the timer and the login line.")
@click.option("--print", "action", flag_value="print", help="Show the timer files, cron and login lines without installing.")
@click.option("--notify", "action", flag_value="notify", help="Remind now if the day's report is still open (what the timer runs).")
@click.option("--at-login", "action", flag_value="at-login", help="Print the reminder if the report is open, else nothing (what the login line runs).")
@pass_env
@user_errors(RemindError)
def remind(env: Env, action: str | None, login: bool, yes: bool) -> None:
    """Reminders at the protocol's `remind` times while the day's report is open."""
    if action == "uninstall":
        click.echo(uninstall_reminder())
        cron = uninstall_cron()
        if cron:
            click.echo(cron)
        gone = uninstall_login_line()
        if gone:
            click.echo(gone)
        return
    if action == "notify":
        click.echo(notify_now(env) or "Nothing to remind: the day's report is not open or is done.")
        return
    if action == "at-login":
        try:
            text = reminder_text(env)
        except Exception:  # a login must never fail because of the diary
            return
        if text:
            click.echo(text)
        return
    at = env.diary().protocol.schedule.reminders  # every time of the day, each only while the report is open
    if action == "install":
        def consent(lines: list[str]) -> bool:
            click.echo("No systemd user session here: the reminder goes in your crontab, as these lines:")
            for ln in lines:
                click.echo(f"  {ln}")
            return yes or click.confirm("Add them to your crontab?", default=True)

        click.echo(install_reminder(env.data_dir, at, consent=consent))
        if login:
            click.echo(install_login_line(env.data_dir))
        return
    for name, text in unit_files(env.data_dir, at).items():
        click.echo(f"# {unit_dir() / name}\n{text}")
    click.echo("# or, without systemd, these crontab lines:\n" + "\n".join(cron_lines(env.data_dir, at)))
    click.echo(f"# and, for a device without a desktop, this line in {profile_path()}:\n{login_line(env.data_dir)}")
