"""The `diary` command: participant commands here; sync, hub and report commands load lazily."""

from __future__ import annotations

import csv
import functools
import json
import sqlite3
import sys
from datetime import date, datetime
from pathlib import Path

import click

from . import clock, private
from .answers import AnswerError, format_value, parse_answers
from .days import compliance_words, long_date, plural, relative, short_date
from .diary import AlreadyFiled, Diary, DiaryError
from .launch import default_data_dir
from .lazy import LazyGroup
from .protocol import ProtocolError, checked_protocol_text, load_protocol, parse_protocol
from .store import DB_NAME, Store, StoreError

USER_ERRORS = (DiaryError, AnswerError, ProtocolError, StoreError, clock.ClockError)


class Env:
    """What every command needs: where the data is, and the clock."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def store(self) -> Store:
        return Store.in_dir(self.data_dir)

    def diary(self) -> Diary:
        if not (self.data_dir / DB_NAME).exists():  # nobody enrolled here: say so and create nothing
            raise DiaryError(f"this device is not enrolled yet (no diary in {self.data_dir}): "
                             "run `diary enroll --participant ID` first")
        diary = Diary(self.store())
        try:
            diary.store.backup_daily(self.now().date())  # the daily copy, kept for 7 days
        except (OSError, sqlite3.Error) as e:
            click.echo(f"warning: daily backup failed ({e})", err=True)
        return diary

    def now(self):
        return clock.now()


pass_env = click.make_pass_decorator(Env)


def user_errors(*extra: type[BaseException]):
    """Turn the errors a person can fix into one line on stderr and exit 1 (no traceback)."""

    def deco(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except (*USER_ERRORS, *extra) as e:
                raise click.ClickException(str(e)) from None
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # a bug, not a file problem: its traceback is wanted
            except sqlite3.DatabaseError as e:  # a damaged or locked file; the step in flight rolled back
                raise click.ClickException(
                    f"the database cannot be used ({e}); the last step was not saved. The file may be "
                    "damaged: `diary verify` checks a diary, and a diary keeps daily copies in backups/") from None

        return wrapper

    return deco


def emit_json(doc) -> None:
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


@click.group(
    cls=LazyGroup,
    invoke_without_command=True,
    lazy={
        "sync": "sync.cli:sync_command",
        "hub": "sync.cli:hub",
        "report": "analysis.cli:report",
        "remind": "diary_client.remind:remind",
        "demo": "diary_client.demo:demo",
    },
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="DIARY_HOME",
    help="Where this device keeps its diary (env DIARY_HOME; default: the user data dir).",
)
@click.version_option(package_name="symptom-diary")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """A daily symptom diary for clinical and N-of-1 studies.

    With no command, opens the diary app (the enrolment screen on first run).
    """
    ctx.obj = Env(data_dir or default_data_dir())
    if ctx.invoked_subcommand is None:
        from .app import run_app

        run_app(ctx.obj.data_dir)


@main.command()
@click.option("--participant", "participant_id", required=True, help="The participant's study id.")
@click.option("--protocol", "protocol_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Study protocol TOML file (default: the built-in ldn-fm study).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="Day 1 of the study (default: today).")
@click.option("--hub", "hub_url", help="The coordinator's hub URL (with --code); on a device enrolled "
              "without a hub, links it and uploads what it holds.")
@click.option("--code", help="One-time enrolment code from the coordinator (with --hub).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --hub: the hub's own certificate (PEM) from the coordinator; kept for later syncs.")
@click.option("--yes", is_flag=True, help="Accept a start date more than 3 days back (those days count as missed).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_env
@user_errors()
def enroll(env: Env, participant_id, protocol_file, start, hub_url, code, ca_file, yes, as_json) -> None:
    """Set up this device for one participant (or link a device enrolled without a hub to one)."""
    if bool(hub_url) != bool(code):
        raise click.UsageError("--hub and --code go together")
    if hub_url and protocol_file:
        raise click.UsageError("with --hub the study protocol comes from the hub: leave out --protocol")
    if ca_file and not hub_url:
        raise click.UsageError("--ca-file goes with --hub")
    now = env.now()
    text = None if hub_url else checked_protocol_text(protocol_file)
    if start is not None:
        late = Diary.start_problem(parse_protocol(text) if text else load_protocol(None), start.date(), now)
        if late and not yes:
            raise DiaryError(f"{late}; add --yes if that is right")
    store = env.store()
    if hub_url and "participant_id" in store.settings():
        _link(env, Diary(store), participant_id, hub_url, code, as_json, ca_file)
        return
    if hub_url:
        # The hub is asked first: a bad code leaves this device not enrolled, so it can try again.
        from sync.client import SyncError, enroll_device

        try:
            diary = enroll_device(store, hub_url, code, participant_id=participant_id,
                                  start=start.date() if start else None, ca_file=ca_file)
        except SyncError as e:
            raise click.ClickException(str(e)) from None
        start_day = diary.start
        # A first round at once: a replacement device takes the participant's earlier entries
        # before anyone files on it. Offline is fine: `diary sync` (or the app) does it later.
        first = _first_round(env, diary)
        if first is not None and first.fetched and not as_json:
            click.echo(f"Fetched {first.fetched} earlier entries of {participant_id} from the hub.")
    else:
        start_day = start.date() if start else now.date()
        diary = Diary.enroll(store, participant_id, text, start_day)  # type: ignore[arg-type]  # a click DateTime option is a datetime; its date() is the day
    doc = {"participant_id": participant_id, "study_id": diary.protocol.id, "start": start_day.isoformat(),
           "data_dir": str(env.data_dir), "device_id": diary.device_id}
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"Enrolled {participant_id} in {diary.protocol.title} ({diary.protocol.id}), "
                   f"day 1 is {start_day}. Data: {env.data_dir}")


def _first_round(env: Env, diary: Diary):
    """One sync round now; None (and a note) when it could not run. The device is enrolled either way."""
    import asyncio

    from sync.client import sync_diary

    try:
        return asyncio.run(sync_diary(diary, env.now()))
    except Exception as e:  # the code is spent: a failed first round must not say otherwise
        click.echo(f"note: the first sync did not run ({e}); `diary sync` will try again", err=True)
        return None


def _link(env: Env, diary: Diary, participant_id: str, hub_url: str, code: str, as_json: bool,
          ca_file: Path | None = None) -> None:
    """A device enrolled without a hub joins one: same participant, then everything it holds goes up."""
    from sync.client import SyncError, enroll_device

    if diary.settings.hub_url:
        raise DiaryError(f"this device already syncs with {diary.settings.hub_url}; use another --data-dir")
    if participant_id != diary.participant_id:
        raise DiaryError(f"this device is enrolled for {diary.participant_id}, not {participant_id}: "
                         f"give --participant {diary.participant_id} to link it to the hub")
    try:
        enroll_device(diary, hub_url, code, participant_id=participant_id, start=diary.start, ca_file=ca_file)
    except SyncError as e:
        raise click.ClickException(str(e)) from None
    first = _first_round(env, diary)
    doc = {"participant_id": participant_id, "study_id": diary.protocol.id, "start": diary.start.isoformat(),
           "data_dir": str(env.data_dir), "device_id": diary.device_id, "linked": hub_url,
           "uploaded": None if first is None else first.accepted + first.duplicate,
           "pending": None if first is None else first.pending, "error": None if first is None else first.error}
    if as_json:
        emit_json(doc)
        return
    click.echo(f"Linked {participant_id} on this device to the hub at {hub_url}.")
    if first is not None:
        click.echo(f"Uploaded {plural(first.accepted + first.duplicate, 'entry')}; {first.pending} pending"
                   + (f" ({first.error})" if first.error else ""))


def _describe(s, today: date) -> str:
    opens, grace = datetime.fromisoformat(s.opens), datetime.fromisoformat(s.grace_ends)
    return {
        "upcoming": f"opens at {opens:%H:%M}" + ("" if opens.date() == today else f" on {opens:%Y-%m-%d}"),
        "open": "open now",
        "late": f"late until {grace:%H:%M}" + ("" if grace.date() == today else f" on {grace:%Y-%m-%d}"),
        "done": "done",
        "missed": "missed",
        "ended": "the study is over",
    }[s.today]


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_env
@user_errors()
def status(env: Env, as_json: bool) -> None:
    """Study day, phase, today's window, compliance and pending uploads."""
    s = env.diary().status(env.now())
    if as_json:
        emit_json(s.as_dict())
        return
    today = env.now().date()
    d = date.fromisoformat(s.diary_date)
    started = today >= date.fromisoformat(s.start)
    day = f"Day {s.study_day} of {s.days_total}" if started else f"Day 1 is {long_date(d)} {d.year}"
    click.echo(f"{s.participant_id} · {s.study_id} · {day} · {s.phase_label or ''}")
    window = ""
    if s.today in ("upcoming", "open", "late"):
        opens, closes = datetime.fromisoformat(s.opens), datetime.fromisoformat(s.closes)
        window = f"  (window {opens:%H:%M}–{closes:%H:%M}, then late until {datetime.fromisoformat(s.grace_ends):%H:%M})"
    rel = relative(d, today) if started else None
    named = f", {rel.lower()}" if rel and rel != "Today" else ""
    click.echo(f"Report for {s.diary_date} (day {s.study_day}{named}): {_describe(s, today)}{window}")
    click.echo(compliance_words(s) if started else "Nothing is counted before day 1.")
    if env.diary().settings.hub_url:  # no hub: nothing is uploaded, so nothing to say about uploads
        click.echo(f"Sync: {s.pending_upload} pending, {s.quarantined} quarantined"
                   + (f", last upload {s.last_upload}" if s.last_upload else "")
                   + (f", last error: {s.last_error}" if s.last_error else ""))


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        key, eq, text = v.partition("=")
        if not eq or not key:
            raise click.UsageError(f"{v!r} is not ITEM=VALUE")
        if key in out:
            raise click.UsageError(f"{key} is given twice")
        out[key] = text
    return out


@main.command()
@click.argument("values", nargs=-1, metavar="ITEM=VALUE...")
@click.option("--reason", help="Correct today's saved report; the reason is kept with it.")
@click.option("--json", "as_json", is_flag=True, help="Print the saved entry as JSON.")
@pass_env
@user_errors()
def record(env: Env, values: tuple[str, ...], reason: str | None, as_json: bool) -> None:
    """File the report of the diary day that is open now (or in its grace period).

    Values: VAS and numbers as digits, yesno as yes/no, choice as the option's text, multi as
    options joined by ';'. With --reason, the given values replace those of today's saved report.
    """
    if not values:
        raise click.UsageError("give the answers as ITEM=VALUE pairs (with --reason: the ones to change)")
    texts = _pairs(values)
    diary, now = env.diary(), env.now()
    try:
        report = diary.begin_report(now, correcting=reason is not None)
    except AlreadyFiled as e:
        raise DiaryError(f"the report for {e.diary_date} is already saved; to change it, give the new "
                         "values with --reason") from None
    if report.corrects is not None:  # the given values replace those of the saved report
        texts = {i.id: format_value(i, report.answers[i.id]) for i in report.items if i.id in report.answers} | texts
    answers = parse_answers(diary.protocol, report.phase_id, texts)
    entry = diary.save_report(report, answers, now, "cli", reason)
    if as_json:
        emit_json(entry.wire())
    else:
        kind = "Correction" if reason else "Report"
        rel = relative(entry.diary_date, now.date())
        named = f"{short_date(entry.diary_date)}" + (f", {rel.lower()}" if rel else "")
        click.echo(f"{kind} for day {entry.study_day} ({named}) saved at {now:%H:%M}"
                   + (" (late)" if entry.timing == "late" else ""))


EXPORT_META = ("study_day", "timing", "source", "submitted_at", "entry_id", "supersedes", "reason")
"""The columns `diary export` adds after the answers; `diary import` passes over them."""


def read_csv_rows(path: Path) -> list[tuple[int, date, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or header[0].strip() != "date":
                raise DiaryError(f"{path}: the first column must be 'date' (header: date,<item ids...>)")
            names = [h.strip() for h in header[1:]]
            rows = []
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise DiaryError(f"{path}: line {line}: {len(row)} cells, the header has {len(header)}")
                try:
                    d = date.fromisoformat(row[0].strip())
                except ValueError:
                    raise DiaryError(f"{path}: line {line}: {row[0]!r} is not a date like 2026-03-01") from None
                rows.append((line, d, dict(zip(names, row[1:]))))
            return rows
    except FileNotFoundError:
        raise DiaryError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DiaryError(f"{path}: not a readable CSV file ({e})") from None


@main.command(name="import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@pass_env
@user_errors()
def import_(env: Env, csv_file: Path) -> None:
    """Import legacy or paper diary data from a CSV (header: date,<item ids...>); all rows or none."""
    diary = env.diary()
    ids = diary.protocol.item_ids
    try:
        rows = [(line, d, {k: v for k, v in texts.items() if k in ids or k not in EXPORT_META})  # an export's details
                for line, d, texts in read_csv_rows(csv_file)]
        saved = diary.import_rows(rows, env.now())
    except DiaryError as e:
        where = "" if str(e).startswith(str(csv_file)) else f"{csv_file}: "
        raise DiaryError(f"{where}{e} — nothing was imported") from None
    click.echo(f"Imported {plural(len(saved), 'day')} from {csv_file}")


@main.command()
@click.option("--csv", "csv_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the CSV.")
@click.option("--all", "every", is_flag=True, help="Every entry, superseded ones included.")
@pass_env
@user_errors()
def export(env: Env, csv_file: Path, every: bool) -> None:
    """Write the participant's own data as CSV (one row per day; the import format, then details
    that `diary import` passes over)."""
    from .entry import latest

    diary = env.diary()
    entries = diary.entries() if every else list(latest(diary.entries()).values())
    items = diary.protocol.items
    meta = list(EXPORT_META)
    try:
        with private.open_text(csv_file) as f:
            w = csv.writer(f)
            w.writerow(["date", *[i.id for i in items], *meta])
            for e in sorted(entries, key=lambda e: (e.diary_date, e.seq)):
                w.writerow([e.diary_date, *[format_value(i, e.answers.get(i.id)) for i in items],
                            e.study_day, e.timing, e.source, e.submitted_at.isoformat(), e.id,
                            e.supersedes or "", e.reason or ""])
    except OSError as e:
        raise DiaryError(f"{csv_file}: cannot write ({e.strerror})") from None
    click.echo(f"Wrote {plural(len(entries), 'entry')} to {csv_file}")


@main.command()
@pass_env
@user_errors()
def verify(env: Env) -> None:
    """Check the database (integrity_check) and the audit hash chain; exit 1 if either fails."""
    store = Store.in_dir(env.data_dir, create=False)  # a mistyped --data-dir is an error, and makes nothing
    path = store.path
    problems = store.verify()
    if problems:
        for p in problems:
            click.echo(p, err=True)
        raise click.ClickException(f"{path}: {len(problems)} problem(s) found")
    click.echo(f"ok: {plural(store.count('entries'), 'entry')}, {plural(store.count('audit'), 'audit record')}, "
               f"chain intact ({path})")


def run() -> None:  # pragma: no cover - console entry point
    main(prog_name="diary")


if __name__ == "__main__":  # pragma: no cover - `python -m diary_client.cli`
    # Run the module under its own name: the lazily loaded commands import `diary_client.cli`, and
    # a second copy of this module (as __main__) would hold another `Env` class than theirs.
    from diary_client.cli import main as _main

    sys.exit(_main(prog_name="diary"))
