"""`diary sync` and the coordinator's `diary hub ...` commands (serve, enroll, protocol, import, status, ack-event, unblind, revoke, export, backup)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import click

from diary_client.cli.kit import Env, check_reveal, confirm, emit_json, pass_env, user_errors
from diary_client.core import clock
from diary_client.core.ids import participant_id_problem
from diary_client.core.printable import printable
from diary_client.core.protocol import checked_protocol_text
from sync.hub.errors import HubError

# -- device --------------------------------------------------------------------------------------


@click.command("sync")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The hub's own certificate (PEM) from your coordinator: kept, and trusted from now on.")
@pass_env
@user_errors()
def sync_command(env: Env, as_json: bool, ca_file: Path | None) -> None:
    """Upload pending entries to the hub and pull unblinding and protocol updates.

    Exit 1 (with the reason) when the hub could not be reached or refused the device; entries
    stay pending and the next sync tries again. Rejected entries go to the quarantine.
    """
    from sync.client.upload import SyncError, hub_configured, save_ca, sync_diary

    diary = env.diary()
    if not hub_configured(diary):
        raise click.ClickException("this device has no hub: enrol with `diary enroll --participant ID --hub URL --code CODE`")
    if ca_file is not None:
        try:
            save_ca(env.data_dir, ca_file)
        except SyncError as e:
            raise click.ClickException(str(e)) from None
    result = asyncio.run(sync_diary(diary, env.now(), alone=True))
    if as_json:
        emit_json(result.as_dict())
    else:
        if not result.error or result.accepted or result.duplicate or result.rejected:
            click.echo(f"Uploaded {result.accepted} new, {result.duplicate} already on the hub, "
                       f"{result.rejected} rejected; {result.pending} pending")
        for entry_id, why in result.rejections:
            click.echo(f"  quarantined {printable(entry_id)}: {printable(why)}")
        if result.released_now:
            click.echo("The true phase names are released to you from now on.")
        if result.fetched:
            click.echo(f"Fetched {result.fetched} earlier entries of yours from the hub (filed on another device).")
        if result.resent:
            click.echo(f"Sent again {result.resent} entries the hub no longer held (restored from an older copy?).")
        if result.left_on_hub:
            click.echo(f"{result.left_on_hub} entries on the hub clash with this device's own and stay on the hub only.")
        if result.protocol_version:
            click.echo(f"The study protocol was updated to version {result.protocol_version}.")
        if result.start_moved:
            click.echo(f"Day 1 is now {result.start_moved}, as the coordinator set it.")
    if result.error:
        raise click.ClickException(f"sync did not finish: {result.error}")


# -- coordinator ---------------------------------------------------------------------------------

db_option = click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                         envvar="DIARY_HUB_DB", help="The hub's SQLite file (env DIARY_HUB_DB).")


def _store(db_path: Path, create: bool = False):
    from sync.hub.store import HubStore

    if not create:
        _store_problem(db_path)
    return HubStore(db_path)


def _readonly(db_path: Path):
    """The hub for a command that only reads: not migrated, no key file made (HubStore.open_readonly)."""
    from sync.hub.store import HubStore

    _store_problem(db_path)
    return HubStore.open_readonly(db_path)


def _store_problem(db_path: Path) -> None:
    if not db_path.is_file():
        raise HubError(f"{db_path}: no hub database there (check --db; `hub enroll` or `hub serve` creates one)")


def _zone() -> str:
    return getattr(clock.local_tz(), "key", None) or "UTC"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM).")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option("--insecure", is_flag=True, help="Serve plain HTTP on a non-loopback address (only behind a TLS reverse proxy).")
@click.option("--forwarded-allow-ips", "forwarded", metavar="IPS",
              help="Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed "
                   "(e.g. 127.0.0.1 for a proxy on this host). Default: nobody's.")
@click.option("--head-timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds a connection has to send a full request head before it is closed.")
@click.option("--max-connections", default=1000, show_default=True, type=click.IntRange(10, 100_000),
              help="Connections open at once; more are closed on arrival.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@user_errors(HubError)
def serve(db_path: Path, host: str, port: int, ssl_certfile, ssl_keyfile, insecure: bool, forwarded: str | None,
          head_timeout: float, max_connections: int, log_level: str) -> None:
    """Run the hub (FastAPI + uvicorn) over one SQLite file.

    Connections that send no full request head within --head-timeout, or stay idle after a
    response for 5 s, are closed; a repeated log line is written at most 10 times a minute.
    """
    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("--ssl-certfile and --ssl-keyfile go together")
    if not _loopback(host) and not ssl_certfile and not insecure:
        raise click.ClickException(
            f"refusing to serve plain HTTP on {host}: device tokens would cross the network in clear; "
            "give --ssl-certfile and --ssl-keyfile, or --insecure behind a TLS reverse proxy")
    if forwarded is not None:
        forwarded = _proxy_list(forwarded)
    problem = _listen_problem(host, port)
    if problem:
        raise click.ClickException(problem)
    import uvicorn

    from sync.hub import server
    from sync.hub.app import create_app

    max_connections = _room_for(max_connections)
    options = server.ServeOptions(head_timeout=head_timeout, max_connections=max_connections,
                                  limit_concurrency=max_connections, forwarded_allow_ips=forwarded)
    app = create_app(db_path)
    config = server.config(app, host, port, options, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                           log_level=log_level)
    server.quiet_floods()  # after uvicorn.Config: it sets up the log handlers
    uvicorn.Server(config).run()


def _proxy_list(text: str) -> str:
    """The --forwarded-allow-ips value checked: addresses or networks, comma-separated (no `*`)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise click.UsageError(f"--forwarded-allow-ips: {item!r} is not an IP address or network "
                                   "(name the proxies, e.g. 127.0.0.1)") from None
    if not items:
        raise click.UsageError("--forwarded-allow-ips: name at least one proxy address, e.g. 127.0.0.1")
    return ",".join(items)


def _room_for(connections: int) -> int:
    """Connections the process can hold: raise the open-files limit toward its hard cap, and stay
    below it (the database, logs and the accept loop need descriptors too)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return connections if soft == resource.RLIM_INFINITY else max(10, min(connections, soft - 64))


def _listen_problem(host: str, port: int) -> str | None:
    """Why the hub could not listen on host:port (in use, not this machine's address), or None."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        return f"cannot listen on {host}: not an address of this machine ({e.strerror})"
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(addr)
        except OSError as e:
            return f"cannot listen on {host}:{port} ({e.strerror}): is a hub already running there? try another --port"
    return None


@click.command("enroll")
@db_option
@click.argument("participant_id")
@click.option("--protocol", "protocol_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Study protocol: a TOML file or a built-in name (ldn-fm, ldn-fm-2013, nof1-abab; default ldn-fm).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="Day 1 (default: the day the device enrols).")
@click.option("--tz", default=None, help="The participant's IANA time zone (default: the hub's).")
@click.option("--json", "as_json", is_flag=True, help='Print {"participant_id", "code"}.')
@user_errors(HubError)
def hub_enroll(db_path: Path, participant_id: str, protocol_file, start, tz, as_json: bool) -> None:
    """Register a participant (if new) and print a one-time enrolment code, valid 14 days."""
    from sync.hub.rules import valid_zone

    problem = participant_id_problem(participant_id)
    if problem:
        raise click.UsageError(f"PARTICIPANT_ID {participant_id!r}: {problem}")
    tz = tz or _zone()
    if not valid_zone(tz):
        raise click.UsageError(f"--tz {tz!r} is not an IANA time zone like Europe/Berlin")
    store = _store(db_path, create=True)
    known = None if protocol_file else store.reads.participant(participant_id)
    # a known participant's new code (a replaced device) keeps their study without --protocol again
    text = known.protocol_toml if known else checked_protocol_text(protocol_file)  # a broken file is named
    code = store.enrolment.enroll(participant_id, text, start.date() if start else None, tz, clock.now())
    if as_json:
        emit_json({"participant_id": participant_id, "code": code})
    else:
        click.echo(f"Enrolment code for {participant_id}: {code}  (works once, for 14 days)")


@click.command("set-start")
@db_option
@click.argument("participant_id")
@click.option("--start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="The participant's day 1.")
@click.option("--json", "as_json", is_flag=True, help='Print {"participant_id", "start", "was"}.')
@user_errors(HubError)
def hub_set_start(db_path: Path, participant_id: str, start, as_json: bool) -> None:
    """Correct a participant's day 1 while the hub holds none of their entries (audited as set_start).

    Their device takes the new day 1 at its next sync if it holds no entry either.
    """
    store = _store(db_path)
    was = store.reads.participant(participant_id)
    p = store.enrolment.set_start(participant_id, start.date(), clock.now())
    before = was.start.isoformat() if was and was.start else None
    if as_json:
        emit_json({"participant_id": participant_id, "start": p.start.isoformat() if p.start else None, "was": before})
    else:
        click.echo(f"Day 1 of {printable(participant_id)} is now {p.start} (was {before or 'not set'}); "
                   "their device takes it at its next sync.")


@click.command("protocol")
@db_option
@click.argument("protocol_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help='Print {"study_id", "version", "participants"}.')
@user_errors(HubError)
def hub_protocol(db_path: Path, protocol_file: Path, as_json: bool) -> None:
    """Publish a new version of a study's protocol to all its participants.

    The version number must be higher than the hub's, and the phases (ids and lengths) the
    same; items, prompts, labels and the schedule's times may change. Each device takes the
    update at its next sync; entries made before keep, and are checked by, their own version.
    """
    text = checked_protocol_text(protocol_file)  # a broken file is named in the error
    study, version, moved = _store(db_path).enrolment.publish(text, clock.now())
    if as_json:
        emit_json({"study_id": study, "version": version, "participants": moved})
    else:
        click.echo(f"Study {study} is now at protocol version {version} for {len(moved)} participant(s); "
                   "devices take it at their next sync.")


@click.command("import")
@db_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Import a file even if its audit chain does not verify, disagrees with the head the hub holds for its device, or its device is not one of its participant's (audited).")
@click.option("--take-start", is_flag=True,
              help="Let the file's day 1 replace the hub's (only while the hub holds none of the participant's entries).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@user_errors(HubError)
def hub_import(db_path: Path, files: tuple[Path, ...], force: bool, take_start: bool, as_json: bool) -> None:
    """Merge participants' diary files collected by hand; idempotent with what came over the network.

    A participant the hub knows without a day 1 takes the file's day 1 and time zone. Exit 1
    when any entry was rejected (a summary by reason follows the per-file lines).
    """
    from dataclasses import asdict

    from sync.hub.importer import import_diary, rejected_by_reason

    store, now, tz = _store(db_path, create=True), clock.now(), _zone()
    results = [import_diary(store, f, now, tz, force, take_start) for f in files]
    reasons = rejected_by_reason(results)
    rejected = sum(n for _, n in reasons)
    if as_json:
        emit_json({"files": [asdict(r) for r in results],
                   "rejected_by_reason": [{"reason": why, "count": n} for why, n in reasons]})
    else:
        for r in results:
            pid = printable(r.participant_id)
            events = (f"; events: {r.events_accepted} new, {r.events_duplicate} already on the hub"
                      if r.events_accepted or r.events_duplicate else "")
            click.echo(f"{printable(r.path)}: {pid}{' (new)' if r.registered else ''}: {r.accepted} new, "
                       f"{r.duplicate} already on the hub, {r.rejected_total} rejected{events}")
            if r.took_start:
                click.echo(f"  day 1 of {pid} is now {r.took_start} ({printable(str(r.took_tz))}), from the file")
            for entry_id, why in r.rejected[:MAX_LISTED]:
                click.echo(f"  rejected {printable(entry_id)}: {printable(why)}")
            if r.rejected_total > MAX_LISTED:
                click.echo(f"  ... and {r.rejected_total - MAX_LISTED} more (--json lists the first {len(r.rejected)})")
        if reasons:
            click.echo("Rejected entries by reason:")
            for why, n in reasons:
                click.echo(f"  {n:>5}  {printable(why)}")
    if rejected:
        raise click.ClickException(f"{rejected} entr{'y was' if rejected == 1 else 'ies were'} rejected and "
                                   "not imported (reasons above); the rest is on the hub")


MAX_LISTED = 20  # rejected entries listed one per line per file; the summary counts them all


def status_report(store, now) -> tuple[list[dict], list]:
    """One row per participant, counted in SQL (hub/status.py) with the follow-up marks
    (hub/followup.py), and those left out with why (a damaged record: hub/roster.py)."""
    from sync.hub import roster
    from sync.hub.events import SERIOUS_MARK, serious_unacknowledged
    from sync.hub.followup import follow_up, yesterday
    from sync.hub.rules import tally_dict
    from sync.hub.status import statuses
    from sync.hub.status_lines import position

    everyone = roster.read(store)
    people, left_out = everyone.people, everyone.left_out
    days = {p.participant_id: yesterday(p, now) for p in people}
    filed = store.reads.filed_on([(pid, d) for pid, d in days.items() if d is not None])
    syncing = store.reads.syncing()
    serious = serious_unacknowledged(store.db)
    rows = []
    for st in statuses(store, now, people):
        p, overall = st.participant, tally_dict(st.overall) if st.overall else {}
        f = follow_up(p, (p.participant_id, days[p.participant_id]) in filed, st.last_received_at, now,
                      p.participant_id in syncing)
        rows.append({"participant_id": p.participant_id, "study_id": p.study_id,
                     "start": p.start.isoformat() if p.start else None, "entries": st.entries,
                     "last_received_at": st.last_received_at, "compliance": overall.get("compliance"),
                     "done": overall.get("done", 0), "late": overall.get("late", 0), "missed": overall.get("missed", 0),
                     "on_time": overall.get("on_time", 0), "imported": overall.get("imported", 0),
                     "flagged_days": overall.get("flagged", 0),
                     "quarantined": st.quarantined, "unblinded": p.unblinded,
                     "phases": {ph_id: tally_dict(t) for ph_id, t in st.phases.items()},
                     "flagged": st.flagged,  # entries with the device's clock doubts
                     "problem": p.damaged,  # a hub record that cannot be used as is (a day 1 out of range)
                     "yesterday": f.yesterday, "missed_yesterday": f.missed_yesterday,
                     "days_since_upload": None if f.days_since_upload is None else round(f.days_since_upload, 2),
                     "stale": f.stale, "collected_by_hand": f.by_hand,
                     "serious_unacknowledged": serious.get(p.participant_id, 0),
                     "marks": [SERIOUS_MARK] * bool(serious.get(p.participant_id)) + f.marks(), **position(p, now)})
    return rows, left_out


@click.command("status")
@db_option
@click.option("--wide", is_flag=True, help="Every count on each participant's line (late, missed, imported, "
                                            "quarantined, flagged, the last upload's time), as long as it needs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@user_errors(HubError)
def hub_status(db_path: Path, wide: bool, as_json: bool) -> None:
    """Per participant, one line of 80 columns: study day, period, last upload, compliance, marks.

    Marked with `!`: a serious adverse event not yet acknowledged (`hub ack-event`), yesterday's
    report missed, and no upload for more than 3 days while the study runs. --wide adds late, missed, imported, quarantined and flagged counts. Participants
    the hub cannot read (a damaged record) are named on stderr (`left_out` in --json).
    """
    from sync.hub.roster import describe
    from sync.hub.status_lines import HEADER, short_line, wide_line

    now = clock.now()
    rows, left_out = status_report(_readonly(db_path), now)
    if as_json:
        emit_json({"participants": rows, "left_out": [x.as_json() for x in left_out]})
    else:
        if not rows and not left_out:
            click.echo("No participants yet: add one with `diary hub enroll --db FILE ID`.")
        if rows and not wide:
            click.echo(HEADER)
        for r in rows:
            click.echo(wide_line(r) if wide else short_line(r, now))
        marked = sum(1 for r in rows if r["marks"])
        if marked:
            click.echo(f"{marked} participant(s) marked ! need a call.")
    if left_out:
        click.echo(describe(left_out), err=True)


@click.command("ack-event")
@db_option
@click.argument("event_id")
@click.option("--reason", required=True, help="What was done (e.g. 'called her, GP informed'); kept in the audit log.")
@click.option("--json", "as_json", is_flag=True, help='Print {"participant_id", "event_id", "acknowledged_at", "new"}.')
@user_errors(HubError)
def hub_ack_event(db_path: Path, event_id: str, reason: str, as_json: bool) -> None:
    """Acknowledge a serious adverse event (audited as ack_event): its participant's
    `! serious adverse event` mark in `hub status` goes once each of theirs is acknowledged."""
    from sync.hub.events import acknowledge

    got = acknowledge(_store(db_path).db, event_id, reason, clock.now())
    done = f"Acknowledged event {printable(event_id)}"
    if as_json:
        emit_json({"participant_id": got.participant_id, "event_id": got.event_id, "acknowledged_at": got.at,
                   "new": got.new}, done)
    elif got.new:
        confirm(f"{done} of {printable(got.participant_id)} (audited).", done)
    else:
        click.echo(f"Event {printable(event_id)} of {printable(got.participant_id)} was acknowledged already "
                   f"at {got.at}: {printable(got.reason)}")


@click.command("unblind")
@db_option
@click.argument("participant_ids", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every participant whose study is over (with "
              "--include-ongoing, those still in their study too).")
@click.option("--include-ongoing", is_flag=True, help="With --all: those still in their study too (needs --reason).")
@click.option("--reason", help="Why participants still in their study are unblinded (kept in the hub's audit).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@user_errors(HubError)
def hub_unblind(db_path: Path, participant_ids: tuple[str, ...], everyone: bool, include_ongoing: bool,
                reason: str | None, yes: bool) -> None:
    """Release true phase names to these participants (their devices learn it at the next sync).

    Unblinding someone still in her study is a decision: it needs --reason and a confirmation
    (or --yes), and the hub's audit keeps who (the OS user), when and why. `--all` leaves out
    those still in their study unless --include-ongoing is given.
    """
    import getpass

    from sync.hub.enrolment import in_study

    if everyone == bool(participant_ids):
        raise click.UsageError("give participant ids or --all (not both)")
    if include_ongoing and not everyone:
        raise click.UsageError("--include-ongoing goes with --all")
    store, now = _store(db_path), clock.now()
    people = {p.participant_id: p for p in store.reads.participants()}
    missing = [i for i in participant_ids if i not in people]
    if missing:
        raise HubError(f"no participant {missing[0]!r} on this hub")
    chosen = sorted(people) if everyone else list(dict.fromkeys(participant_ids))
    ongoing = [i for i in chosen if in_study(people[i], now)]
    left_out = ongoing if everyone and not include_ongoing else []
    chosen = [i for i in chosen if i not in left_out]
    ongoing = [i for i in ongoing if i in chosen]
    if reason is not None and not reason.strip():
        raise click.UsageError("--reason needs a text saying why")
    if ongoing and reason is None:
        raise click.ClickException(f"{', '.join(map(printable, ongoing))} {'is' if len(ongoing) == 1 else 'are'} still in "
                                   "the study: unblinding now needs --reason TEXT (kept in the hub's audit)")
    if ongoing and not yes:
        click.confirm(f"Unblind {len(ongoing)} participant(s) still in their study ({', '.join(map(printable, ongoing))})? "
                      "Their devices will show the true phase names", abort=True)
    done = store.enrolment.unblind(chosen, now, getpass.getuser(), reason.strip() if reason else None)
    click.echo(f"Unblinded {len(done)} participant(s): {', '.join(map(printable, done)) or '-'}")
    if left_out:
        click.echo(f"Left out {len(left_out)} still in their study (add --include-ongoing and --reason to include them).")


@click.command("revoke")
@db_option
@click.argument("participant_id")
@click.option("--json", "as_json", is_flag=True, help='Print {"participant_id", "revoked"}.')
@user_errors(HubError)
def hub_revoke(db_path: Path, participant_id: str, as_json: bool) -> None:
    """Revoke every device token of a participant (a lost or replaced device).

    The hub refuses those devices from their next request on; their entries already on the hub
    stay. `diary hub enroll` then gives a code for the participant's new device.
    """
    n = _store(db_path).enrolment.revoke(participant_id, clock.now())
    if as_json:
        emit_json({"participant_id": participant_id, "revoked": n})
    else:
        pid = printable(participant_id)
        click.echo(f"Revoked {n} device token(s) of {pid}; "
                   f"`diary hub enroll --db {printable(str(db_path))} {pid}` gives a code for a new device.")


@click.command("export")
@db_option
@click.option("--sqlite", "sqlite_out", type=click.Path(dir_okay=False, path_type=Path), help="Write a SQLite file (opens in Datasette) and its Datasette metadata beside it.")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), help="Write one CSV per table into this folder.")
@click.option("--fhir", "fhir_dir", type=click.Path(file_okay=False, path_type=Path), help="Write HL7 FHIR R4B JSON: Questionnaires and a Bundle per participant.")
@click.option("--redcap", "redcap_dir", type=click.Path(file_okay=False, path_type=Path), help="Write a REDCap data dictionary and import CSV per study.")
@click.option("--reveal", is_flag=True, help="Show every participant's sequence of a randomized design, blinded or "
                                            "not (audited: who, when, why).")
@click.option("--reason", help="Why the sequences are shown (required with --reveal; kept in the hub's audit).")
@user_errors(HubError)
def hub_export(db_path: Path, sqlite_out: Path | None, csv_dir: Path | None, fhir_dir: Path | None,
               redcap_dir: Path | None, reveal: bool, reason: str | None) -> None:
    """Analysis-ready tables (participants, phases, periods, codebook, entries, answers, daily view), FHIR, REDCap.

    A randomized design's participants still blinded are exported as their devices see them (no
    sequence, no true phases) unless --reveal --reason TEXT is given (docs/designs.md).
    """
    outs = (sqlite_out, csv_dir, fhir_dir, redcap_dir)
    if not any(outs):
        raise click.UsageError("give --sqlite OUT, --csv DIR, --fhir DIR or --redcap DIR")
    check_reveal(reveal, reason)
    from sync.hub.export import export
    from sync.hub.roster import describe

    left_out: list = []
    now = clock.now()
    if reveal:
        from sync.hub.allocation import reveal as audit_reveal

        audit_reveal(_store(db_path), "*", reason, now, "export")  # type: ignore[arg-type]  # checked above: a reason is given
    counts = export(_readonly(db_path), now, sqlite_out, csv_dir, fhir_dir, redcap_dir, left_out, reveal)
    where = " and ".join(str(p) for p in outs if p)
    click.echo(f"Wrote {', '.join(f'{n} {name}' for name, n in counts.items())} to {where}")
    if left_out:
        click.echo(describe(left_out), err=True)


@click.command("backup")
@db_option
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help='Print {"path", "entries", "participants", "size"}.')
@user_errors(HubError)
def hub_backup(db_path: Path, out: Path, as_json: bool) -> None:
    """Write a consistent copy of the hub database to OUT while the hub serves (mode 0600).

    SQLite's online backup API: one snapshot, checked with PRAGMA integrity_check before it
    replaces OUT. Restore: stop the hub, copy the backup over the database file (remove its
    -wal and -shm files), start the hub.
    """
    from sync.hub.backup import backup

    got = backup(db_path, out)
    done = f"Backed up to {printable(str(got.path))}"
    if as_json:
        emit_json({"path": str(got.path), "entries": got.entries, "participants": got.participants, "size": got.size},
                  done)
    else:
        confirm(f"Backed up {got.participants} participant(s) and {got.entries} entries to {printable(str(got.path))} "
                f"({got.size / 1e6:.1f} MB); integrity check ok", done)
