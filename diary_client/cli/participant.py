"""The `diary` command: participant commands here; sync, hub and report commands load lazily."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO

import click

from diary_client.cli.kit import Env, confirm, emit_json, pass_env, user_errors
from diary_client.core import private
from diary_client.core.answers import format_value, parse_answers
from diary_client.core.days import compliance_words, long_date, plural, relative, short_date
from diary_client.core.printable import printable
from diary_client.core.protocol import checked_protocol_text, load_protocol, parse_protocol
from diary_client.device.diary import AlreadyFiled, Diary, DiaryError
from diary_client.device.store import Store


@click.command()
@click.option("--participant", "participant_id", required=True, help="The participant's study id.")
@click.option("--protocol", "protocol_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Study protocol: a TOML file or a built-in name (ldn-fm, ldn-fm-2013, nof1-abab; default ldn-fm).")
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
        from sync.client.upload import SyncError, enroll_device

        try:
            diary = enroll_device(store, hub_url, code, participant_id=participant_id,
                                  start=start.date() if start else None, today=now.date(), ca_file=ca_file)
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

    from sync.client.upload import sync_diary

    try:
        return asyncio.run(sync_diary(diary, env.now(), alone=True))
    except Exception as e:  # the code is spent: a failed first round must not say otherwise
        click.echo(f"note: the first sync did not run ({e}); `diary sync` will try again", err=True)
        return None


def _link(env: Env, diary: Diary, participant_id: str, hub_url: str, code: str, as_json: bool,
          ca_file: Path | None = None) -> None:
    """A device enrolled without a hub joins one: same participant, then everything it holds goes up."""
    from sync.client.upload import SyncError, enroll_device

    if diary.settings.hub_url:
        raise DiaryError(f"this device already syncs with {diary.settings.hub_url}; use another --data-dir")
    if participant_id != diary.participant_id:
        raise DiaryError(f"this device is enrolled for {printable(diary.participant_id)}, not {printable(participant_id)}: "
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


@click.command()
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
    click.echo(f"{printable(s.participant_id)} · {s.study_id} · {day} · {printable(s.phase_label or '')}")
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


@click.command()
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
    answers = parse_answers(diary.protocol, report.phase_id, texts, report.last_of_phase)
    entry = diary.save_report(report, answers, now, "cli", reason)
    kind = "Correction" if reason else "Report"
    done = f"{kind} for day {entry.study_day} saved"
    if as_json:
        emit_json(entry.wire(), done)
    else:
        rel = relative(entry.diary_date, now.date())
        named = f"{short_date(entry.diary_date)}" + (f", {rel.lower()}" if rel else "")
        confirm(f"{kind} for day {entry.study_day} ({named}) saved at {now:%H:%M}"
                + (" (late)" if entry.timing == "late" else ""), done)


EXPORT_META = ("study_day", "timing", "source", "submitted_at", "entry_id", "supersedes", "reason")
"""The columns `diary export` adds after the answers; `diary import` passes over them."""


STDIO = "-"
"""A file option given as `-`: standard input or output (click's convention)."""


@contextmanager
def text_stream(path: Path, mode: str) -> Iterator[IO[str]]:
    """`path` opened for reading ("r") or writing ("w", 0600) as UTF-8 CSV text; `-` is stdin or
    stdout (left open: only the wrapper around it is let go)."""
    if str(path) != STDIO:
        with path.open(newline="", encoding="utf-8-sig") if mode == "r" else private.open_text(path) as f:
            yield f
        return
    raw = (sys.stdin if mode == "r" else sys.stdout).buffer
    f = io.TextIOWrapper(raw, encoding="utf-8-sig" if mode == "r" else "utf-8", newline="")
    try:
        yield f
    finally:
        f.flush()
        f.detach()


def read_csv_rows(path: Path) -> list[tuple[int, date, dict[str, str]]]:
    name = "stdin" if str(path) == STDIO else path
    try:
        with text_stream(path, "r") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if not header or header[0].strip() != "date":
                raise DiaryError(f"{name}: the first column must be 'date' (header: date,<item ids...>)")
            names = [h.strip() for h in header[1:]]
            rows = []
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise DiaryError(f"{name}: line {line}: {len(row)} cells, the header has {len(header)}")
                try:
                    d = date.fromisoformat(row[0].strip())
                except ValueError:
                    raise DiaryError(f"{name}: line {line}: {row[0]!r} is not a date like 2026-03-01") from None
                rows.append((line, d, dict(zip(names, row[1:]))))
            return rows
    except FileNotFoundError:
        raise DiaryError(f"{name}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DiaryError(f"{name}: not a readable CSV file ({e})") from None


@click.command(name="import")
@click.argument("csv_file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@pass_env
@user_errors()
def import_(env: Env, csv_file: Path) -> None:
    """Import legacy or paper diary data from a CSV (header: date,<item ids...>); all rows or none.

    CSV_FILE `-` reads standard input.
    """
    diary = env.diary()
    ids = diary.protocol.item_ids
    try:
        rows = [(line, d, {k: v for k, v in texts.items() if k in ids or k not in EXPORT_META})  # an export's details
                for line, d, texts in read_csv_rows(csv_file)]
        saved = diary.import_rows(rows, env.now())
    except DiaryError as e:
        name = "stdin" if str(csv_file) == STDIO else str(csv_file)
        where = "" if str(e).startswith(name) else f"{name}: "
        raise DiaryError(f"{where}{e} — nothing was imported") from None
    click.echo(f"Imported {plural(len(saved), 'day')} from {'stdin' if str(csv_file) == STDIO else csv_file}")


@click.command()
@click.option("--csv", "csv_file", required=True, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Where to write the CSV (`-`: standard output).")
@click.option("--all", "every", is_flag=True, help="Every entry, superseded ones included.")
@pass_env
@user_errors()
def export(env: Env, csv_file: Path, every: bool) -> None:
    """Write the participant's own data as CSV (one row per day; the import format, then details
    that `diary import` passes over)."""
    from diary_client.core.entry import latest

    diary = env.diary()
    entries = diary.entries() if every else list(latest(diary.entries()).values())
    items = diary.protocol.all_items  # the blinding check's answers too
    meta = list(EXPORT_META)
    try:
        with text_stream(csv_file, "w") as f:
            w = csv.writer(f)
            w.writerow(["date", *[i.id for i in items], *meta])
            for e in sorted(entries, key=lambda e: (e.diary_date, e.seq)):
                w.writerow([e.diary_date, *[format_value(i, e.answers.get(i.id)) for i in items],
                            e.study_day, e.timing, e.source, e.submitted_at.isoformat(), e.id,
                            e.supersedes or "", e.reason or ""])
    except OSError as e:
        raise DiaryError(f"{csv_file}: cannot write ({e.strerror})") from None
    to_stdout = str(csv_file) == STDIO  # the data is stdout: the note goes to stderr
    click.echo(f"Wrote {plural(len(entries), 'entry')} to {'stdout' if to_stdout else csv_file}", err=to_stdout)


@click.command()
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
    events = f"{plural(store.count('events'), 'event')}, " if store.has_table("events") else ""
    click.echo(f"ok: {plural(store.count('entries'), 'entry')}, {events}{plural(store.count('audit'), 'audit record')}, "
               f"chain intact ({path})")
