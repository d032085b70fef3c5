"""`diary remind`: the daily reminder as a systemd user timer, or the cron line where there is none."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import time
from pathlib import Path

import click

from .cli import Env, pass_env, user_errors

UNIT = "symptom-diary-reminder"
SYSTEMCTL = "systemctl"  # tests point this at a fake


def unit_dir() -> Path:
    """Where systemd looks for user units ($XDG_CONFIG_HOME/systemd/user)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def diary_command(data_dir: Path) -> list[str]:
    """How the reminder calls this installation of `diary` for this data dir."""
    exe = shutil.which("diary")
    base = [exe] if exe else [sys.executable, "-m", "diary_client.cli"]
    return [*base, "--data-dir", str(Path(data_dir).resolve()), "remind", "--notify"]


def unit_files(data_dir: Path, at: time) -> dict[str, str]:
    cmd = shlex.join(diary_command(data_dir))
    service = (
        "[Unit]\nDescription=Symptom diary: remind to file today's report\n\n"
        f"[Service]\nType=oneshot\nExecStart={cmd}\n"
    )
    timer = (
        f"[Unit]\nDescription=Symptom diary reminder, daily at {at:%H:%M}\n\n"
        f"[Timer]\nOnCalendar=*-*-* {at:%H:%M}:00\nPersistent=false\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def cron_line(data_dir: Path, at: time) -> str:
    return f"{at.minute} {at.hour} * * * {shlex.join(diary_command(data_dir))}"


def _systemctl(*args: str) -> bool:
    """Run `systemctl --user ARGS`; False when there is no systemd user session to talk to."""
    if not shutil.which(SYSTEMCTL):
        return False
    try:
        done = subprocess.run([SYSTEMCTL, "--user", *args], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def install_reminder(
    data_dir: Path, at: time, units: Path | None = None, systemctl: Callable[..., bool] = _systemctl
) -> str:
    """Install the timer (or say which cron line to add); returns one sentence for the participant."""
    if not systemctl("show-environment"):
        return f"no systemd user session here; add this line with `crontab -e`:\n{cron_line(data_dir, at)}"
    folder = units or unit_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in unit_files(data_dir, at).items():
        (folder / name).write_text(text, encoding="utf-8")
    if not (systemctl("daemon-reload") and systemctl("enable", "--now", f"{UNIT}.timer")):
        return f"wrote {folder}/{UNIT}.timer but systemctl could not enable it; try `systemctl --user enable --now {UNIT}.timer`"
    return f"installed: systemd user timer {UNIT}.timer, daily at {at:%H:%M}"


def uninstall_reminder(units: Path | None = None, systemctl: Callable[..., bool] = _systemctl) -> str:
    folder = units or unit_dir()
    systemctl("disable", "--now", f"{UNIT}.timer")
    removed = [n for n in (f"{UNIT}.service", f"{UNIT}.timer") if (folder / n).exists()]
    for n in removed:
        (folder / n).unlink()
    systemctl("daemon-reload")
    return f"removed {', '.join(removed)}" if removed else "no reminder timer was installed (remove any cron line with `crontab -e`)"


def notify_now(env: Env) -> str | None:
    """What the timer runs: a desktop notification if today's report is still to be filed."""
    from datetime import datetime

    s = env.diary().status(env.now())
    if s.today not in ("open", "late"):
        return None
    until = datetime.fromisoformat(s.closes if s.today == "open" else s.grace_ends)
    text = f"Day {s.study_day} of {s.days_total}: your diary report is open until {until:%H:%M}. Run `diary` to fill it in."
    if shutil.which("notify-send"):
        subprocess.run(["notify-send", "Symptom diary", text], check=False, timeout=20)
    return text


@click.command()
@click.option("--install", "action", flag_value="install", help="Install the daily reminder (systemd user timer, or print the cron line).")
@click.option("--uninstall", "action", flag_value="uninstall", help="Remove the systemd user timer.")
@click.option("--print", "action", flag_value="print", help="Show the timer files and cron line without installing.")
@click.option("--notify", "action", flag_value="notify", help="Remind now if today's report is still open (what the timer runs).")
@pass_env
@user_errors()
def remind(env: Env, action: str | None) -> None:
    """A daily reminder at the protocol's `remind` time."""
    if action == "uninstall":
        click.echo(uninstall_reminder())
        return
    if action == "notify":
        click.echo(notify_now(env) or "Nothing to remind: today's report is not open or is done.")
        return
    at = env.diary().protocol.schedule.reminders[0]
    if action == "install":
        click.echo(install_reminder(env.data_dir, at))
        return
    for name, text in unit_files(env.data_dir, at).items():
        click.echo(f"# {unit_dir() / name}\n{text}")
    click.echo(f"# or, without systemd, this crontab line:\n{cron_line(env.data_dir, at)}")
