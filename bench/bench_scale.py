"""Costs as a study grows: hubs of 100 / 1,000 / 10,000 participants × 98 days, each figure beside its floor.

    python bench/bench_scale.py build   [--sizes 100,1000,10000]   # build (or resume) the cached hubs
    python bench/bench_scale.py measure [--sizes 100,1000,10000]   # measure them
    python bench/bench_scale.py         [--sizes ...]              # both

The hubs are built through the real ingest (`HubStore.register` + `HubStore.ingest`, one batch per
participant, as a device uploading its whole study would) and cached under /tmp/diary-scale, so
reruns are fast; a build stopped half way resumes where it was (each participant's batch is one
transaction, and a participant with entries on the hub is skipped). Building 10,000 × 98 takes
minutes: run it early, in the background (`nice -n 10`).

Measured per hub: `diary hub status`, `diary hub report --json` and `diary hub export
--sqlite` in fresh processes (time and peak RSS, from /usr/bin/time, from a tiny parent), and
the ingest rate of 100-entry batches on a copy of the hub, against the same on an empty hub.
Each beside its floor: the bare library doing the same work in the same run.
Targets at 10,000 participants: status <= 2 s, report peak RSS <= 600 MB, export peak RSS
<= 300 MB, ingest within 15% of the empty hub's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from analysis.simulate import Profile, as_entries, simulate  # noqa: E402
from diary_client.core.entry import Entry, new_id  # noqa: E402
from diary_client.core.protocol import builtin_text, parse_protocol  # noqa: E402
from sync.hub.ingest import INSERT_ENTRY  # noqa: E402
from sync.hub.store import HubStore  # noqa: E402

CACHE = Path(os.environ.get("DIARY_SCALE_CACHE", "/tmp/diary-scale"))
TOML = builtin_text()
PROTOCOL = parse_protocol(TOML)
FIRST_START = date(2026, 5, 4)  # every study is over by the time the hubs are measured
PY = sys.executable
DIARY = str(Path(PY).parent / "diary")


def hub_path(n: int) -> Path:
    return CACHE / f"hub-{n}.db"


def start_of(i: int) -> date:
    return FIRST_START + timedelta(days=i % 28)  # enrolments spread over four weeks


def study_entries(i: int, pid: str, device: str | None = None) -> list[Entry]:
    """Participant i's whole study: ~2% of days missed, one day corrected (about 97 entries)."""
    rng = np.random.default_rng(i)
    profile = Profile(baseline=float(rng.uniform(45, 70)), phi=float(rng.uniform(0.3, 0.7)), missing=0.02,
                      effects={"placebo": float(rng.uniform(0, 0.1)), "active": float(rng.uniform(0, 0.5)),
                               "washout": 0.1})
    start = start_of(i)
    out = as_entries(PROTOCOL, start, simulate(PROTOCOL, start, rng, profile), pid, device or f"dev-{pid}")
    fixed = out[int(rng.integers(len(out)))]
    answers = dict(fixed.answers)
    answers["pain"] = min(100, int(answers.get("pain", 0)) + 1)
    out.append(Entry(id=new_id(), participant_id=pid, study_id=fixed.study_id,
                     protocol_version=fixed.protocol_version, diary_date=fixed.diary_date,
                     study_day=fixed.study_day, answers=answers,
                     submitted_at=fixed.submitted_at + timedelta(minutes=5), timing=fixed.timing,
                     source=fixed.source, device_id=fixed.device_id, seq=len(out),
                     supersedes=fixed.id, reason="typed one off"))
    return out


# -- building ------------------------------------------------------------------------------------


def build(n: int, progress_every: int = 250) -> Path:
    """Build (or finish building) the hub of n participants through the real ingest."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = hub_path(n)
    store = HubStore(path)
    with sqlite3.connect(path) as conn:
        done = {r[0] for r in conn.execute("SELECT DISTINCT participant_id FROM entries")}
        known = {r[0] for r in conn.execute("SELECT participant_id FROM participants")}
    if len(done) >= n:
        return path
    print(f"building {path}: {len(done)} of {n} participants there", flush=True)
    toml = study_toml(path)
    t0 = t = time.perf_counter()
    entries_since = 0
    for i in range(n):
        pid = f"P{i:05d}"
        if pid in done:
            continue
        now = datetime.now(UTC)
        if pid not in known:
            store.enrolment.register(pid, toml, start_of(i), "UTC", now)
        batch = study_entries(i, pid)
        result = store.ingest(pid, batch, now)
        if len(result.accepted) != len(batch):
            raise SystemExit(f"{pid}: the hub refused {result.rejected[:1]}")
        done.add(pid)
        entries_since += len(batch)
        if len(done) % progress_every == 0:
            dt = time.perf_counter() - t
            left = (n - len(done)) / progress_every * dt
            print(f"  {len(done):>6} / {n} participants, {entries_since / dt:,.0f} entries/s "
                  f"(register + simulate + ingest), about {left / 60:.1f} min left", flush=True)
            t, entries_since = time.perf_counter(), 0
    store.close()
    print(f"built {path} in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


# -- ingest as the hub grows -----------------------------------------------------------------------


def batch_of_100(i: int, pid: str) -> list[Entry]:
    """A whole study's 98 reports and two corrections: one 100-entry upload."""
    rng = np.random.default_rng(10**6 + i)
    start = start_of(i)
    out = as_entries(PROTOCOL, start, simulate(PROTOCOL, start, rng, Profile()), pid, f"dev-{pid}")
    for day in (20, 60):
        e = out[day]
        out.append(Entry(id=new_id(), participant_id=pid, study_id=e.study_id, protocol_version=e.protocol_version,
                         diary_date=e.diary_date, study_day=e.study_day, answers=dict(e.answers),
                         submitted_at=e.submitted_at + timedelta(minutes=5), timing=e.timing, source=e.source,
                         device_id=e.device_id, seq=len(out), supersedes=e.id, reason="typed one off"))
    assert len(out) == 100
    return out


@dataclass
class Uploads:
    """Batches of new participants (registered before the clock starts), for the hub and its floor."""

    ids: list[str]
    batches: list[list[Entry]]


def uploads(first: int, n: int) -> Uploads:
    ids = [f"Q{first + k:05d}" for k in range(n)]
    return Uploads(ids, [batch_of_100(first + k, pid) for k, pid in enumerate(ids)])


def study_toml(path: Path) -> str:
    """The protocol text the hub holds (a cached hub may predate a change to the built-in one)."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT protocol_toml FROM studies WHERE study_id = ? ORDER BY version DESC",
                           [PROTOCOL.id]).fetchone()
    return row[0] if row else TOML


def hub_ingest_rate(path: Path, up: Uploads, toml: str) -> float:
    """Entries per second through HubStore.ingest, one 100-entry batch per transaction."""
    store = HubStore(path)
    now = datetime.now(UTC)
    for pid in up.ids:
        store.enrolment.register(pid, toml, start_of(int(pid[1:])), "UTC", now)
    t = time.perf_counter()
    for pid, batch in zip(up.ids, up.batches):
        got = store.ingest(pid, batch, now)
        assert len(got.accepted) == len(batch), got.rejected[:1]
    dt = time.perf_counter() - t
    store.close()
    return sum(map(len, up.batches)) / dt


def floor_ingest_rate(path: Path, up: Uploads) -> float:
    """The same rows written by plain sqlite3 (same schema, pragmas, one transaction per batch), no checks."""
    from diary_client.core.entry import canonical

    rows = [[(e.id, e.participant_id, e.diary_date.isoformat(), e.supersedes, *reversed(canonical(e)), "t", "api",
              e.timing) for e in batch] for batch in up.batches]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=FULL")
    now = datetime.now(UTC).isoformat()
    for pid in up.ids:
        conn.execute("INSERT INTO participants (participant_id, study_id, protocol_version, start, tz, enrolled_at)"
                     " VALUES (?, ?, ?, ?, 'UTC', ?)", [pid, PROTOCOL.id, PROTOCOL.version, FIRST_START.isoformat(), now])
    t = time.perf_counter()
    for batch in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_ENTRY, batch)
        conn.execute("COMMIT")
    dt = time.perf_counter() - t
    conn.close()
    return sum(map(len, rows)) / dt


def ingest_growth(n: int, rounds: int = 5, batches: int = 20) -> dict:
    """100-entry batches on an empty hub vs on a copy of the n-participant hub, rounds interleaved."""
    hub: dict[str, list[float]] = {"empty": [], "full": []}
    floor: dict[str, list[float]] = {"empty": [], "full": []}
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        copies = {"empty": Path(tmp) / "empty.db", "full": Path(tmp) / "full.db"}
        floors = {"empty": Path(tmp) / "floor-empty.db", "full": Path(tmp) / "floor-full.db"}
        toml = study_toml(hub_path(n))  # the empty hub gets the same study
        empty = HubStore(copies["empty"])
        empty.enrolment.register("P00000", toml, start_of(0), "UTC", datetime.now(UTC))
        empty.close()  # the last connection checkpoints the WAL into the file copied next
        shutil.copyfile(copies["empty"], floors["empty"])
        shutil.copyfile(hub_path(n), copies["full"])
        shutil.copyfile(hub_path(n), floors["full"])
        # A cached hub made before a migration is migrated on its copies (the floor gets the same
        # schema), before the clock starts; the first copy's migration time is reported.
        t = time.perf_counter()
        HubStore(copies["full"]).close()
        migrated = time.perf_counter() - t
        HubStore(floors["full"]).close()
        for r in range(rounds):
            for kind in ("empty", "full"):
                up = uploads(100_000 + (2 * r + (kind == "full")) * batches, batches)
                hub[kind].append(hub_ingest_rate(copies[kind], up, toml))
                floor[kind].append(floor_ingest_rate(floors[kind], up))
    med = {k: float(np.median(v)) for k, v in hub.items()}
    fmed = {k: float(np.median(v)) for k, v in floor.items()}
    return {"hub_empty": med["empty"], "hub_full": med["full"], "hub_full_vs_empty": med["full"] / med["empty"],
            "floor_empty": fmed["empty"], "floor_full": fmed["full"], "floor_full_vs_empty": fmed["full"] / fmed["empty"],
            "rounds": rounds, "batches": batches, "open_full_s": migrated}


# -- the coordinator's commands, in fresh processes ----------------------------------------------------


def child(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a fresh process, as /usr/bin/time measures it: from a tiny
    parent, so the peak is the command's own (a child forked from this process would count this
    process's pages until it execs)."""
    with tempfile.NamedTemporaryFile("r") as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], stdout=subprocess.DEVNULL,
                              stderr=err, cwd=ROOT)
        wall = time.perf_counter() - t
        if done.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}: {err.read().decode()[-800:]}")
        return wall, int(out.read().split()[-1]) / 1024


# The floors: the bare libraries doing the same work in a fresh process.
STATUS_FLOOR = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
days = db.execute("SELECT participant_id, timing, COUNT(*) FROM entries WHERE supersedes IS NULL"
                  " GROUP BY participant_id, timing").fetchall()
last = db.execute("SELECT participant_id, COUNT(*), MAX(rowid) FROM entries GROUP BY participant_id").fetchall()
print(json.dumps([days, last]))
"""
REPORT_FLOOR = """
import json, sqlite3, sys
import numpy as np, scipy.special
db = sqlite3.connect(sys.argv[1])
out = []
for (pid,) in db.execute("SELECT participant_id FROM participants ORDER BY participant_id").fetchall():
    rows = [json.loads(b) for (b,) in db.execute("SELECT body FROM entries WHERE participant_id = ?", [pid])]
    items = sorted({k for r in rows for k, v in r["answers"].items() if type(v) in (int, float)})
    M = np.array([[r["answers"].get(k, np.nan) if type(r["answers"].get(k)) in (int, float) else np.nan
                   for k in items] for r in rows], dtype=float)
    day = np.array([r["study_day"] for r in rows])
    out.append([np.nanmean(M[(day > a) & (day <= b)], axis=0) for a, b in ((0, 14), (14, 28), (28, 84), (84, 98))])
print(len(out))
"""
EXPORT_FLOOR = """
import json, os, sqlite3, sys
db, out = sqlite3.connect(sys.argv[1]), sys.argv[2]
if os.path.exists(out):
    os.remove(out)
w = sqlite3.connect(out, isolation_level=None)
w.execute("CREATE TABLE entries (id TEXT, participant_id TEXT, diary_date TEXT, timing TEXT,"
          " supersedes TEXT, received_at TEXT, content_hash TEXT, PRIMARY KEY (participant_id, id))")
w.execute("CREATE TABLE answers (entry_id TEXT, participant_id TEXT, diary_date TEXT, item_id TEXT, value TEXT,"
          " value_num REAL, PRIMARY KEY (participant_id, entry_id, item_id))")  # ids: unique per participant
w.execute("BEGIN")
for (pid,) in db.execute("SELECT participant_id FROM participants ORDER BY participant_id").fetchall():
    rows = db.execute("SELECT body, received_at, content_hash FROM entries WHERE participant_id = ?"
                      " ORDER BY diary_date, rowid", [pid]).fetchall()
    es = [(json.loads(b), at, h) for b, at, h in rows]
    w.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)",
                  [(e["id"], pid, e["diary_date"], e["timing"], e["supersedes"], at, h) for e, at, h in es])
    w.executemany("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?)",
                  [(e["id"], pid, e["diary_date"], k, json.dumps(v), v if type(v) in (int, float) else None)
                   for e, _, _ in es for k, v in e["answers"].items()])
w.execute("COMMIT")
"""


@dataclass
class Figure:
    what: str
    n: int
    seconds: float
    rss_mb: float | None
    floor_seconds: float
    floor_rss_mb: float | None

    def line(self) -> str:
        rss = "" if self.rss_mb is None else f", peak RSS {self.rss_mb:.0f} MB (floor {self.floor_rss_mb:.0f} MB)"
        return (f"{self.what:<8} {self.n:>6} participants: {self.seconds:7.2f} s (floor {self.floor_seconds:.2f} s, "
                f"ratio {self.seconds / self.floor_seconds:.1f}){rss}")


def measure_commands(n: int, tmp: Path) -> list[Figure]:
    db = str(hub_path(n))
    HubStore(db).close()  # migrate (once) before anything is timed
    out = []
    hub, floor = child([DIARY, "hub", "status", "--db", db]), child([PY, "-c", STATUS_FLOOR, db])
    out.append(Figure("status", n, hub[0], None, floor[0], None))
    hub, floor = child([DIARY, "hub", "report", "--db", db, "--json"]), child([PY, "-c", REPORT_FLOOR, db])
    out.append(Figure("report", n, hub[0], hub[1], floor[0], floor[1]))
    hub = child([DIARY, "hub", "export", "--db", db, "--sqlite", str(tmp / "export.db")])
    floor = child([PY, "-c", EXPORT_FLOOR, db, str(tmp / "floor.db")])
    out.append(Figure("export", n, hub[0], hub[1], floor[0], floor[1]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", nargs="?", default="all", choices=["all", "build", "measure", "ingest"])
    ap.add_argument("--sizes", default="100,1000,10000", help="comma-separated participant counts")
    ap.add_argument("--rounds", type=int, default=5, help="ingest: interleaved rounds of empty vs full")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.what in ("all", "build"):
        for n in sizes:
            build(n)
    if args.what == "build":
        return
    results: dict = {"load_before": os.getloadavg()}
    if args.what in ("all", "measure"):
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            for n in sizes:
                for f in measure_commands(n, Path(tmp)):
                    print(f.line(), flush=True)
                    results.setdefault(f.what, []).append(f.__dict__)
    for n in sizes:
        g = ingest_growth(n, rounds=args.rounds)
        results.setdefault("ingest", []).append({"n": n} | g)
        print(f"ingest   {n:>6} participants: 100-entry batches {g['hub_full']:,.0f} entries/s on the full hub vs "
              f"{g['hub_empty']:,.0f} on an empty one: {g['hub_full_vs_empty']:.2f} (target >= 0.85); floor (plain "
              f"inserts) {g['floor_full']:,.0f} vs {g['floor_empty']:,.0f}: {g['floor_full_vs_empty']:.2f}; opening (and migrating) "
              f"the copy took {g['open_full_s']:.1f} s", flush=True)
    for what in ("status", "report", "export"):
        figs = results.get(what, [])
        if len(figs) > 1:
            a, b = figs[0], figs[-1]
            rss = "" if a["rss_mb"] is None else f", peak RSS ×{b['rss_mb'] / a['rss_mb']:.1f}"
            print(f"growth   {what}: {a['n']:,} → {b['n']:,} participants (×{b['n'] / a['n']:.0f}): "
                  f"time ×{b['seconds'] / a['seconds']:.1f} (floor ×{b['floor_seconds'] / a['floor_seconds']:.1f}){rss}")
    results["load_after"] = os.getloadavg()
    print(f"load average before {results['load_before'][0]:.1f}, after {results['load_after'][0]:.1f}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
