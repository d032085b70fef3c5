"""`diary hub export`: analysis-ready tables (participants, phases, items, entries, answers).

One set of rows, written either as a SQLite file (opens in Datasette) or as CSV files.
Coordinators always see true phase labels here.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from diary_client import schedule as sch
from diary_client.answers import format_value
from diary_client.entry import latest

from .rules import compliance
from .store import HubError, HubStore

PKS = {"participants": "participant_id", "phases": ("participant_id", "phase_id"),
       "items": ("study_id", "item_id"), "entries": "id", "answers": ("entry_id", "item_id")}
FKS = {"phases": [("participant_id", "participants", "participant_id")],
       "entries": [("participant_id", "participants", "participant_id")],
       "answers": [("entry_id", "entries", "id"), ("participant_id", "participants", "participant_id")]}


def _number(kind: str, v) -> float | None:
    if v is None or isinstance(v, list | str) and kind not in ("vas", "number"):
        return None
    if kind == "yesno":
        return 1.0 if v else 0.0
    return float(v) if kind in ("vas", "number") else None


def tables(hub: HubStore, now: datetime) -> dict[str, list[dict]]:
    """Every table as rows; `counts` marks the entry (and its answers) that counts for its day."""
    out: dict[str, list[dict]] = {name: [] for name in PKS}
    summary, flags = hub.reads.summary(), hub.reads.flags()
    studies_seen = set()
    for p in hub.reads.participants():
        protocol = p.protocol
        rows = hub.reads.received(p.participant_id)
        entries = [r["entry"] for r in rows]
        overall = compliance(p, entries, now, flags)["overall"] or {}
        s = summary.get(p.participant_id, {})
        out["participants"].append({
            "participant_id": p.participant_id, "study_id": p.study_id, "protocol_version": p.protocol_version,
            "start": p.start.isoformat() if p.start else None,
            "end": sch.end_date(protocol, p.start).isoformat() if p.start else None,
            "tz": p.tz, "unblinded": int(p.unblinded), "enrolled_at": p.enrolled_at,
            "entries": s.get("entries", 0), "last_received_at": s.get("last_received_at"),
            "quarantined": s.get("quarantined", 0), "expected": overall.get("expected"),
            "done": overall.get("done"), "late": overall.get("late"), "missed": overall.get("missed"),
            "on_time": overall.get("on_time"), "imported": overall.get("imported"), "flagged": overall.get("flagged"),
            "compliance": overall.get("compliance"),
        })
        spans = sch.phase_spans(protocol, p.start) if p.start else []
        for span in spans:
            out["phases"].append({
                "participant_id": p.participant_id, "phase_id": span.phase.id, "label": span.phase.label,
                "participant_label": span.phase.participant_label, "role": span.phase.role,
                "first_day": span.first_day, "last_day": span.last_day,
                "start": span.start.isoformat(), "end": span.end.isoformat(), "days": span.phase.days,
            })
        if p.study_id not in studies_seen:  # a study's participants share its latest protocol version
            studies_seen.add(p.study_id)
            for i in protocol.items:
                out["items"].append({"study_id": p.study_id, "item_id": i.id, "kind": i.kind, "prompt": i.prompt,
                                     "better": i.better, "primary": int(i.primary), "optional": int(i.optional),
                                     "phases": ";".join(i.phases) if i.phases else None})
        counting = {e.id for e in latest(entries).values()}
        for r in rows:
            e = r["entry"]
            span = next((s for s in spans if e.diary_date in s), None)
            counts = int(e.id in counting)
            out["entries"].append({
                "id": e.id, "participant_id": e.participant_id, "study_id": e.study_id,
                "protocol_version": e.protocol_version, "diary_date": e.diary_date.isoformat(),
                "study_day": e.study_day, "phase_id": span.phase.id if span else None,
                "phase_label": span.phase.label if span else None, "phase_role": span.phase.role if span else None,
                "timing": e.timing, "source": e.source, "submitted_at": e.submitted_at.isoformat(),
                "received_at": r["received_at"], "via": r["via"], "device_id": e.device_id, "seq": e.seq,
                "supersedes": e.supersedes, "reason": e.reason, "counts": counts, "content_hash": r["content_hash"],
                "flags": ";".join(flags.get(e.id, [])) or None,
            })
            for item_id, v in e.answers.items():
                try:
                    item = protocol.item(item_id)
                except KeyError:
                    continue
                out["answers"].append({
                    "entry_id": e.id, "participant_id": e.participant_id, "diary_date": e.diary_date.isoformat(),
                    "study_day": e.study_day, "phase_id": span.phase.id if span else None, "item_id": item_id,
                    "kind": item.kind, "value": format_value(item, v), "value_num": _number(item.kind, v),
                    "counts": counts,
                })
    return out


def write_sqlite(data: dict[str, list[dict]], out: Path) -> None:
    """A fresh SQLite file with primary and foreign keys (written aside, then moved into place)."""
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = Database(tmp)
    for name, rows in data.items():
        if rows:
            db[name].insert_all(rows, pk=PKS[name], foreign_keys=FKS.get(name), alter=True)
    for name, cols in (("entries", ["participant_id", "diary_date"]), ("answers", ["participant_id", "item_id"])):
        if data[name]:
            db[name].create_index(cols)
    db.close()
    os.replace(tmp, out)


def write_csv(data: dict[str, list[dict]], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in data.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            cols = list(rows[0]) if rows else []
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)


def export(hub: HubStore, now: datetime, sqlite_out: Path | None, csv_dir: Path | None) -> dict[str, int]:
    if sqlite_out is not None and sqlite_out.resolve() == hub.path.resolve():
        raise HubError(f"{sqlite_out} is the hub's own database: write the export to another file")
    data = tables(hub, now)
    try:
        if sqlite_out is not None:
            write_sqlite(data, sqlite_out)
        if csv_dir is not None:
            write_csv(data, csv_dir)
    except OSError as e:
        raise HubError(f"cannot write the export ({e.strerror}: {e.filename})") from None
    hub.audit("coordinator", "export", now, None, sqlite=str(sqlite_out) if sqlite_out else None,
              csv=str(csv_dir) if csv_dir else None)
    return {name: len(rows) for name, rows in data.items()}
