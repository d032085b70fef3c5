"""`diary demo`: a data dir with a participant who finished the whole ldn-fm study, then the app."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import click

from diary_client.core import clock, private
from diary_client.core.protocol import builtin_text
from diary_client.core.schedule import window
from diary_client.device.diary import Diary
from diary_client.device.store import Store

MARKER = ".diary-demo"


def build_demo(data_dir: Path, now: datetime, seed: int = 2009) -> Diary:
    """Enrol a demo participant whose 98 days ended before `now`, with noisy realistic reports."""
    import numpy as np

    from analysis.simulate import Profile, simulate

    text = builtin_text()
    store = Store.in_dir(data_dir)
    start = now.date() - timedelta(days=100)
    diary = Diary.enroll(store, "DEMO-01", text, start)
    (data_dir / MARKER).write_text("made by `diary demo`; safe to delete\n")
    rng = np.random.default_rng(seed)
    days = simulate(diary.protocol, start, rng, Profile(missing=0.04))
    entries = []
    for d, answers in days.items():
        win = window(diary.protocol.schedule, d, now.tzinfo)
        late = rng.random() < 0.05
        at = win.closes + timedelta(minutes=int(rng.integers(20, 600))) if late else (
            win.opens + timedelta(minutes=int(rng.integers(15, 300))))
        entries.append(diary.entry(d, answers, at, "late" if late else "on_time", "app"))
    store.save_all(entries)
    return diary


@click.command()
@click.option("--dir", "demo_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to make the demo data dir (default: a 'demo' folder in the user data dir).")
@click.option("--no-app", is_flag=True, help="Only make the data dir and print its status.")
@click.pass_obj
def demo(env, demo_dir: Path | None, no_app: bool) -> None:
    """Make a demo participant who finished the whole ldn-fm study, then open the app on it."""
    from diary_client.cli.datadir import default_data_dir

    target = demo_dir or default_data_dir() / "demo"
    if target.exists():
        if not (target / MARKER).exists() and any(target.iterdir()):
            raise click.ClickException(f"{target} exists and is not a demo data dir; choose another --dir")
        shutil.rmtree(target)
    private.folder(target)
    now = clock.now()
    build_demo(target, now)
    click.echo(f"Demo data dir: {target}  (open it again with: diary --data-dir {target})")
    if no_app:
        s = Diary(Store.in_dir(target)).status(now)
        click.echo(f"Day {s.study_day} of {s.days_total}: {s.done} reports, {s.late} late, {s.missed} missed")
        return
    from diary_client.app.main import run_app

    run_app(target)
