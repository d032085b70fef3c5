"""Reminders at the protocol's `remind` times, without a UI: the systemd user timer's files, the
crontab lines (written with consent where there is no systemd user session), the login line of the
shell profile, install and uninstall. Every command written calls this installation's `diary` by its
absolute path with the data dir, so it works in the empty environment of cron and systemd.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import time
from pathlib import Path

UNIT = "symptom-diary-reminder"
SYSTEMCTL = "systemctl"  # tests point this at a fake
CRONTAB = "crontab"
PROFILE_MARK = "# symptom-diary reminder"
CRON_MARK = PROFILE_MARK  # marks the crontab lines this program wrote (and may replace or remove)


class RemindError(Exception):
    """The reminder could not be installed or removed; the message says what to do instead."""


def unit_dir() -> Path:
    """Where systemd looks for user units ($XDG_CONFIG_HOME/systemd/user)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def times(remind: time | Iterable[time]) -> list[time]:
    """The protocol's reminder times, one or several, in order."""
    return sorted({remind} if isinstance(remind, time) else set(remind))


def diary_executable(argv0: str | None = None, executable: str | None = None) -> list[str]:
    """This installation's `diary`, by absolute path: the script that is running (a --user or pipx
    install), else the console script beside this Python (a venv, activated or not), else
    `python -m diary_client` with this Python. Never a bare name: cron has no PATH to find it."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = executable or sys.executable
    if argv0 and Path(argv0).name == "diary" and os.access(argv0, os.X_OK):
        return [os.path.abspath(argv0)]
    beside = Path(os.path.abspath(executable)).parent / "diary"  # not resolved: a venv's python is a symlink
    if os.access(beside, os.X_OK):
        return [str(beside)]
    return [os.path.abspath(executable), "-m", "diary_client"]


def diary_command(data_dir: Path, action: str = "--notify") -> list[str]:
    """How a timer, cron or the login line calls this installation of `diary` for this data dir."""
    return [*diary_executable(), "--data-dir", str(Path(data_dir).resolve()), "remind", action]


def unit_files(data_dir: Path, at: time | Iterable[time]) -> dict[str, str]:
    cmd = shlex.join(diary_command(data_dir))
    when = times(at)
    service = (
        "[Unit]\nDescription=Symptom diary: remind to file the day's report while it is open\n\n"
        f"[Service]\nType=oneshot\nExecStart={cmd}\n"
    )
    timer = (
        f"[Unit]\nDescription=Symptom diary reminder, daily at {', '.join(f'{t:%H:%M}' for t in when)}\n\n"
        "[Timer]\n" + "".join(f"OnCalendar=*-*-* {t:%H:%M}:00\n" for t in when) + "Persistent=false\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def cron_lines(data_dir: Path, at: time | Iterable[time]) -> list[str]:
    """One crontab line per reminder time, marked as ours. cron has no desktop session: `remind
    --notify` finds the desktop's bus itself; without a desktop, the login line says it instead."""
    cmd = shlex.join(diary_command(data_dir))
    return [f"{t.minute} {t.hour} * * * {cmd}  {CRON_MARK}" for t in times(at)]


def _crontab(*args: str, text: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([CRONTAB, *args], input=text, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RemindError(f"`crontab {' '.join(args)}` could not run ({e})") from None


def crontab_lines() -> list[str]:
    """The user's crontab now ([] when she has none)."""
    done = _crontab("-l")
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return []
        raise RemindError(f"`crontab -l` failed: {done.stderr.strip() or done.returncode}")
    return done.stdout.splitlines()


def write_crontab(ours: list[str]) -> list[str]:
    """The user's crontab with our old lines replaced by `ours` (her other lines kept, in order)."""
    kept = [ln for ln in crontab_lines() if CRON_MARK not in ln]
    new = [*kept, *ours]
    done = _crontab("-", text="\n".join(new) + "\n" if new else "")
    if done.returncode != 0:
        raise RemindError(f"`crontab -` refused the new lines: {done.stderr.strip() or done.returncode}")
    return ours


def has_crontab() -> bool:
    return shutil.which(CRONTAB) is not None


def login_line(data_dir: Path) -> str:
    """The shell-profile line that says an open report at login (console, SSH): silent otherwise."""
    return f"{shlex.join(diary_command(data_dir, '--at-login'))} 2>/dev/null  {PROFILE_MARK}"


def profile_path(home: Path | None = None) -> Path:
    """The login shell's profile: bash reads ~/.bash_profile (or ~/.bash_login) instead of ~/.profile."""
    home = home or Path.home()
    return next((home / n for n in (".bash_profile", ".bash_login") if (home / n).exists()), home / ".profile")


def install_login_line(data_dir: Path, home: Path | None = None) -> str:
    path = profile_path(home)
    old = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [ln for ln in old if PROFILE_MARK not in ln]
    path.write_text("\n".join([*kept, login_line(data_dir)]) + "\n", encoding="utf-8")
    return f"added to {path}: the open report is said when you log in (console, SSH)"


def uninstall_login_line(home: Path | None = None) -> str | None:
    path = profile_path(home)
    if not path.exists():
        return None
    old = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in old if PROFILE_MARK not in ln]
    if kept == old:
        return None
    path.write_text("\n".join(kept) + ("\n" if kept else ""), encoding="utf-8")
    return f"removed the login line from {path}"


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
    data_dir: Path, at: time | Iterable[time], units: Path | None = None, systemctl: Callable[..., bool] = _systemctl,
    consent: Callable[[list[str]], bool] = lambda lines: True,
) -> str:
    """Install the timer, or (no systemd user session) the crontab lines once `consent` agrees to
    them; returns what was done, for the participant. RemindError when neither can be done."""
    when = ", ".join(f"{t:%H:%M}" for t in times(at))
    login = ("\nNo desktop on this device (console, SSH)? `diary remind --install --login` also says an "
             "open report when you log in.")
    if not systemctl("show-environment"):
        lines = cron_lines(data_dir, at)
        if not has_crontab():
            raise RemindError("this device has neither a systemd user session nor cron: install cron "
                              "(`sudo apt install cron`) and run `diary remind --install` again")
        if not consent(lines):
            return "Nothing was installed."
        write_crontab(lines)
        return (f"installed: {len(lines)} line{'s' if len(lines) > 1 else ''} in your crontab, daily at {when} "
                "(`crontab -l` shows them; `diary remind --uninstall` removes them)" + login)
    folder = units or unit_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in unit_files(data_dir, at).items():
        (folder / name).write_text(text, encoding="utf-8")
    if not (systemctl("daemon-reload") and systemctl("enable", "--now", f"{UNIT}.timer")):
        return f"wrote {folder}/{UNIT}.timer but systemctl could not enable it; try `systemctl --user enable --now {UNIT}.timer`"
    return f"installed: systemd user timer {UNIT}.timer, daily at {when}" + login


def uninstall_cron() -> str | None:
    """Remove our crontab lines; None when there were none (or no cron)."""
    if not has_crontab():
        return None
    try:
        had = [ln for ln in crontab_lines() if CRON_MARK in ln]
        if not had:
            return None
        write_crontab([])
    except RemindError:
        return None
    return f"removed {len(had)} line{'s' if len(had) > 1 else ''} from your crontab"


def uninstall_reminder(units: Path | None = None, systemctl: Callable[..., bool] = _systemctl) -> str:
    folder = units or unit_dir()
    systemctl("disable", "--now", f"{UNIT}.timer")
    removed = [n for n in (f"{UNIT}.service", f"{UNIT}.timer") if (folder / n).exists()]
    for n in removed:
        (folder / n).unlink()
    systemctl("daemon-reload")
    return f"removed {', '.join(removed)}" if removed else "no reminder timer was installed"
