"""Events on the hub: a batch judged and stored in one transaction with receipts (as entries are),
serious adverse events until a coordinator acknowledges them, and the reads the exports need.

Verdicts follow entries': same id and content is a duplicate, same id and other content is
rejected; a new event must fit its participant's study and dates (`diary_client.core.event.
event_problem`, on the hub's date in the participant's zone with a day's allowance) and a
correction must name an event of the same kind that no other event corrects yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from diary_client.core import event as ev
from diary_client.core.printable import printable
from sync.hub.database import HubDatabase, get_participant, iso, write_audit
from sync.hub.errors import HubError
from sync.hub.ingest import IngestResult
from sync.hub.verdict import UNICODE

ALLOWANCE = timedelta(days=1)  # the device's date may be a day ahead of the hub's (time zones)
SERIOUS_MARK = "serious adverse event"


def _hashed(e: ev.Event) -> tuple[str | None, str | None]:
    try:
        return ev.canonical(e)
    except UnicodeEncodeError:
        return None, None


def ingest_events(hub: HubDatabase, participant_id: str, events: Iterable[ev.Event], now: datetime,
                  via: str = "api") -> IngestResult:
    """Judge and store one participant's events in one transaction, with a result per event."""
    at, out = iso(now), IngestResult()
    events = list(events)
    bodies = [_hashed(e) for e in events]
    with hub.tx() as db:
        p = get_participant(db, participant_id)
        if p is None:
            raise HubError(f"no participant {participant_id!r} on this hub")
        today = p.local(now).date()
        ids = json.dumps(sorted({e.id for e in events} | {e.supersedes for e in events if e.supersedes}))
        have = {i: (h, received, body) for i, h, received, body in db.conn.execute(
            "SELECT id, content_hash, received_at, body FROM events WHERE participant_id = ?"
            " AND id IN (SELECT value FROM json_each(?))", [participant_id, ids])}
        corrected_by = dict(db.conn.execute(
            "SELECT supersedes, id FROM events WHERE participant_id = ? AND supersedes IN (SELECT value FROM json_each(?))",
            [participant_id, ids]))
        stored, refused = [], []
        for e, (body, h) in zip(events, bodies):
            verdict, detail = "rejected", None
            if h is None or body is None:
                detail = UNICODE
            elif e.id in have:
                verdict, detail = (("duplicate", have[e.id][1]) if have[e.id][0] == h else
                                   ("rejected", "an event with this id and other content is already on the hub"))
            elif e.participant_id != participant_id:
                detail = f"the event is participant {e.participant_id}'s, not {participant_id}'s"
            elif p.start is None:
                detail = "the hub has no day 1 for this participant yet"
            else:
                detail = ev.event_problem(e, p.protocol, p.start, today, ALLOWANCE)
                if detail is None and e.supersedes:
                    old = have.get(e.supersedes)
                    detail = ev.correction_problem(e, ev.stored_event(old[2]) if old else None,
                                                   corrected_by.get(e.supersedes))
                if detail is None:
                    verdict = "accepted"
            out.verdicts.append(verdict)
            if verdict == "accepted":
                assert body is not None and h is not None
                have[e.id] = (h, at, body)
                if e.supersedes:
                    corrected_by[e.supersedes] = e.id
                serious = isinstance(e, ev.AdverseEvent) and e.serious
                stored.append((e.id, participant_id, e.kind, e.day.isoformat(), e.supersedes, int(serious), h, body,
                               at, via))
                out.accepted.append(e.id)
                out.receipts.append((e.id, at, h))
            elif verdict == "duplicate":
                out.duplicate.append(e.id)
                out.receipts.append((e.id, str(detail), str(h)))
            else:
                out.rejected.append((e.id, str(detail)))
                refused.append((e.id, participant_id, h, str(detail), at, via))
        db.conn.executemany("INSERT INTO events (id, participant_id, kind, event_date, supersedes, serious, content_hash,"
                            " body, received_at, via) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", stored)
        db.conn.executemany("INSERT INTO event_rejections VALUES (?, ?, ?, ?, ?, ?)", refused)
        write_audit(db, at, via, "ingest_events", participant_id, accepted=len(out.accepted),
                    duplicate=len(out.duplicate), rejected=[r[0] for r in out.rejected],
                    serious=[row[0] for row in stored if row[5]])
    return out


@dataclass(frozen=True)
class Ack:
    participant_id: str
    event_id: str
    at: str
    reason: str
    new: bool  # False: it was acknowledged before (nothing written now)


def acknowledge(hub: HubDatabase, event_id: str, reason: str, now: datetime, actor: str = "coordinator") -> Ack:
    """The coordinator has seen a serious adverse event (`hub ack-event`): recorded with the reason
    and audited as `ack_event`; the participant's `! serious adverse event` mark goes once every
    serious event of theirs is acknowledged (a correction of an acknowledged event needs none)."""
    if not reason.strip():
        raise HubError("give the reason (what was done about the event) with --reason")
    with hub.tx() as db:
        rows = db.conn.execute("SELECT participant_id, kind, serious FROM events WHERE id = ?", [event_id]).fetchall()
        if not rows:
            raise HubError(f"no event {printable(event_id)} on this hub (`hub status --json` counts serious ones; "
                           "the export's adverse_events table lists them)")
        if len(rows) > 1:
            raise HubError(f"event id {printable(event_id)} is held by {len(rows)} participants: a copied id, "
                           "acknowledge nothing and look at the export")
        pid, kind, serious = rows[0]
        if kind != "adverse_event" or not serious:
            raise HubError(f"event {printable(event_id)} is not a serious adverse event: there is nothing to acknowledge")
        done = db.conn.execute("SELECT at, reason FROM event_acks WHERE participant_id = ? AND event_id = ?",
                               [pid, event_id]).fetchone()
        if done:
            return Ack(pid, event_id, done[0], done[1], False)
        at = iso(now)
        db.execute("INSERT INTO event_acks VALUES (?, ?, ?, ?)", [pid, event_id, at, reason.strip()])
        write_audit(db, at, actor, "ack_event", pid, event_id=event_id, reason=reason.strip())
        return Ack(pid, event_id, at, reason.strip(), True)


def serious_unacknowledged(hub: HubDatabase) -> dict[str, int]:
    """Per participant id: their serious adverse events that stand (not corrected since) and whose
    correction chain holds no acknowledged event. Serious events are few: read them all."""
    with hub.read() as db:
        rows = db.conn.execute(
            "SELECT participant_id, id, supersedes, serious FROM events WHERE kind = 'adverse_event'"
            " AND participant_id IN (SELECT participant_id FROM events WHERE serious = 1)").fetchall()
        acked = set(db.conn.execute("SELECT participant_id, event_id FROM event_acks").fetchall())
    parent = {(pid, i): s for pid, i, s, _ in rows}
    superseded = {(pid, s) for pid, _, s, _ in rows if s}
    out: dict[str, int] = {}
    for pid, i, _, serious in rows:
        if not serious or (pid, i) in superseded:
            continue
        key: tuple[str, str | None] = (pid, i)
        seen = set()
        while key[1] is not None and key not in acked and key not in seen:
            seen.add(key)
            key = (pid, parent.get(key))  # None ends the walk
        if key not in acked:
            out[pid] = out.get(pid, 0) + 1
    return out


def received_events(hub: HubDatabase, participant_id: str) -> list[dict]:
    """The participant's events as {"event", "received_at", "via", "content_hash", "acknowledged_at"},
    by kind, the date that ties each to its period, then arrival."""
    with hub.read() as db:
        rows = db.conn.execute(
            "SELECT e.body, e.received_at, e.via, e.content_hash, a.at FROM events e LEFT JOIN event_acks a"
            " ON a.participant_id = e.participant_id AND a.event_id = e.id WHERE e.participant_id = ?"
            " ORDER BY e.kind, e.event_date, e.rowid", [participant_id]).fetchall()
    return [{"event": ev.stored_event(body), "received_at": received, "via": via, "content_hash": h,
             "acknowledged_at": acked} for body, received, via, h, acked in rows]
