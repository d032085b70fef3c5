"""`diary event ae|med|dose` (file an event, or correct one) and `diary events` (the participant's own)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from diary_client.cli.kit import Env, confirm, emit_json, pass_env, user_errors
from diary_client.core import event as ev
from diary_client.core.printable import printable
from diary_client.device.diary import Diary, DiaryError

DAY = click.DateTime(["%Y-%m-%d"])


def correction_options(f):
    f = click.option("--json", "as_json", is_flag=True, help="Print the saved event as JSON.")(f)
    f = click.option("--why", help="Why the event is corrected (with --supersedes; kept with it).")(f)
    return click.option("--supersedes", metavar="EVENT_ID",
                        help="Correct this saved event (`diary events` lists them): the options given replace "
                             "its details, the rest stay; needs --why.")(f)


@click.group("event")
def event() -> None:
    """Report an event at any time of day: an adverse event (ae), a medication (med) or a dose change (dose).

    An event is saved at once and never changed: a correction is a new event that names the old
    one (--supersedes ID --why TEXT).
    """


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _needs(supersedes: str | None, **required: Any) -> None:
    missing = [name for name, v in required.items() if v is None]
    if supersedes is None and missing:
        raise click.UsageError(f"give {', '.join('--' + m for m in missing)} (or --supersedes ID to correct an event)")


@event.command("ae")
@click.option("--what", help='What happened, in a few words ("nausea").')
@click.option("--started", type=DAY, help="The day it started (YYYY-MM-DD).")
@click.option("--severity", type=click.Choice(ev.SEVERITIES), help="How bad it is (at its worst).")
@click.option("--serious/--not-serious", default=None,
              help="Serious: it put you in hospital, was life-threatening or disabling. Also call the study team.")
@click.option("--resolved", type=DAY, help="The day it ended (leave out while it goes on).")
@correction_options
@pass_env
@user_errors()
def adverse_event(env: Env, what, started, severity, serious, resolved, supersedes, why, as_json) -> None:
    """Report an adverse event (something unwanted that happened to you)."""
    _needs(supersedes, what=what, started=started, severity=severity)
    details = _given(what=what, started=_day(started), severity=severity, serious=serious, resolved=_day(resolved))
    if supersedes is None:
        details.setdefault("serious", False)
    diary, now = env.diary(), env.now()
    saved = diary.file_event("adverse_event", details, now, supersedes, why)
    _said(saved, now, as_json)
    if isinstance(saved, ev.AdverseEvent) and saved.serious:
        _serious(env, diary, now)


@event.command("med")
@click.option("--name", help='The medicine ("ibuprofen").')
@click.option("--dose", help='How much ("400 mg").')
@click.option("--taken", help="When you took it: YYYY-MM-DDTHH:MM, your local time (default: now).")
@click.option("--reason", "purpose", type=click.Choice(ev.PURPOSES),
              help="rescue: taken for a flare of symptoms (the default); regular: taken on a schedule.")
@correction_options
@pass_env
@user_errors()
def medication(env: Env, name, dose, taken, purpose, supersedes, why, as_json) -> None:
    """Report a medicine you took besides the study drug."""
    _needs(supersedes, name=name)
    diary, now = env.diary(), env.now()
    details = _given(name=name, dose=dose, taken=_local_time(taken, now) if taken else None, purpose=purpose)
    if supersedes is None:
        details = {"taken": now.replace(second=0, microsecond=0), "purpose": "rescue"} | details
    _said(diary.file_event("medication", details, now, supersedes, why), now, as_json)


@event.command("dose")
@click.option("--amount", help='The study drug\'s new dose ("3 mg").')
@click.option("--from", "from_date", type=DAY, help="The first day of the new dose (default: today).")
@correction_options
@pass_env
@user_errors()
def dose(env: Env, amount, from_date, supersedes, why, as_json) -> None:
    """Report a change of the study drug's dose (as the study team told you)."""
    _needs(supersedes, amount=amount)
    diary, now = env.diary(), env.now()
    details = _given(amount=amount, from_date=_day(from_date))
    if supersedes is None:
        details.setdefault("from_date", now.date())
    _said(diary.file_event("dose", details, now, supersedes, why), now, as_json)


def _local_time(text: str, now: datetime) -> datetime:
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DiaryError(f"--taken: {text!r} is not a time like 2026-03-05T10:00") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=now.tzinfo)


def summary(e: ev.Event) -> str:
    """One line saying what the event holds, as a person reads it."""
    if isinstance(e, ev.AdverseEvent):
        until = f"resolved {e.resolved}" if e.resolved else "ongoing"
        return (f"{printable(e.what)}, {e.severity}{', SERIOUS' if e.serious else ''}, "
                f"started {e.started}, {until}")
    if isinstance(e, ev.Medication):
        dose = f" {printable(e.dose)}" if e.dose else ""
        return f"{printable(e.name)}{dose}, taken {e.taken:%Y-%m-%d %H:%M} ({e.purpose})"
    return f"{printable(e.amount)} from {e.from_date}"


def _said(e: ev.Event, now: datetime, as_json: bool) -> None:
    what = "Correction" if e.supersedes else ev.KIND_NAMES[e.kind].capitalize()
    done = f"{what} saved"
    if as_json:
        emit_json(e.wire(), done)
    else:
        confirm(f"{what} saved at {now:%H:%M}: {summary(e)} (id {e.id})", done)


def _serious(env: Env, diary: Diary, now: datetime) -> None:
    """A serious adverse event: the participant calls the team too, and it goes to the hub at once."""
    contact = diary.protocol.contact
    who = contact.words() if contact else "the study team"
    click.echo(f"This is a serious adverse event: please ALSO call {printable(who)} now.", err=True)
    from sync.client.upload import hub_configured

    if not hub_configured(diary):
        click.echo("This device has no hub: the study team learns of it only from your call.", err=True)
        return
    import asyncio

    from sync.client.upload import RetryPolicy, sync_diary

    result = asyncio.run(sync_diary(diary, now, policy=RetryPolicy(attempts=2, timeout=10), alone=True))
    if diary.events.pending_count() or result.error:
        click.echo(f"It could not reach the hub now ({result.error or 'not sent'}); it goes at the next sync. "
                   "Please call.", err=True)
    else:
        click.echo("It is on the study team's hub now.", err=True)


@click.command("events")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_env
@user_errors()
def events(env: Env, as_json: bool) -> None:
    """List your events (corrected ones marked), with their period and whether the hub has them."""
    diary, now = env.diary(), env.now()
    store = diary.events
    saved = store.all()
    standing = {e.id for e in ev.current(saved)}
    received, refused = store.receipts(), store.quarantined()
    rows = []
    for e in saved:
        span = ev.period_of(diary.protocol, diary.start, e)
        sync = "received" if e.id in received else "quarantined" if e.id in refused else "pending"
        rows.append((e, diary.phase_label(span, now) if span else "follow-up", sync, e.id in standing))
    if as_json:
        emit_json({"events": [e.wire() | {"period": period, "current": cur, "sync": sync, "error": refused.get(e.id)}
                              for e, period, sync, cur in rows]})
        return
    if not rows:
        click.echo("No events yet: `diary event ae|med|dose --help` says how to report one.")
    for e, period, sync, cur in rows:
        mark = "" if cur else "  (corrected)"
        click.echo(f"{e.id}  {ev.KIND_NAMES[e.kind]:<13} {summary(e)} · {printable(period or '')} · {sync}{mark}")
        if sync == "quarantined":
            click.echo(f"    refused by the hub: {printable(refused[e.id])}")
