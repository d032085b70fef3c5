"""Hub benchmarks, each beside its floor measured in the same run (not a test; run by hand).

    python bench/bench_hub.py [--quick]

1. ingest throughput, 50 concurrent clients (each its own httpx client and token), 1-entry and
   100-entry batches: hub vs a minimal FastAPI + sqlite-utils endpoint doing the same insert
   (target >= 0.6x); with the hub's CPU time per request (the load client shares the 2 cores);
2. a year of one participant's entries (365) uploaded by a fresh `diary sync` process (< 1.5 s),
   beside a fresh python process posting the same entries to the floor endpoint;
3. p99 latency at 100 requests/s (open loop, 1-entry batches): target < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from diary_client.core.entry import Entry, new_id  # noqa: E402
from diary_client.core.protocol import builtin_text, parse_protocol  # noqa: E402

PY = sys.executable
DIARY = str(Path(PY).parent / "diary")
# ldn-fm with a 400-day baseline, so one participant can file a year of valid reports.
YEAR_TOML = builtin_text().replace('days = 14\nlabel = "Baseline"', 'days = 400\nlabel = "Baseline"')
YEAR = parse_protocol(YEAR_TOML)
START = date.today() - timedelta(days=380)
ANSWERS = {i.id: ([] if i.kind == "multi" else 50) for i in YEAR.items_in("baseline") if not i.optional}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(kind: str, db: Path):
    port = free_port()
    proc = subprocess.Popen([PY, str(ROOT / "bench" / "serve.py"), kind, str(db), str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{kind} server did not start")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def entries_for(pid: str, device: str, n: int) -> list[Entry]:
    """n valid entries: a report for each day, then corrections of each day's latest report."""
    out, tips = [], {}
    for k in range(n):
        day = k % 365 + 1
        e = Entry(id=new_id(), participant_id=pid, study_id=YEAR.id, protocol_version=YEAR.version,
                  diary_date=START + timedelta(days=day - 1), study_day=day, answers=ANSWERS,
                  # saved in the day's own evening window: the hub refuses a report saved after its grace
                  submitted_at=datetime.combine(START + timedelta(days=day - 1), clock_time(19, 0), UTC), timing="on_time",
                  source="app", device_id=device, seq=k + 1,
                  supersedes=tips.get(day), reason="bench" if day in tips else None)
        tips[day] = e.id
        out.append(e)
    return out


def payloads(pid: str, batch: int, requests: int) -> list[bytes]:
    """requests + 1 bodies: the first is a warm-up."""
    es = entries_for(pid, "bench-" + pid, batch * (requests + 1))
    return [json.dumps({"entries": [e.wire() for e in es[i:i + batch]]}).encode() for i in range(0, len(es), batch)]


def enrol_all(db: Path, n: int) -> list[tuple[str, str]]:
    from sync.hub.store import HubStore

    hub, now = HubStore(db), datetime.now(UTC)
    out = []
    for i in range(n):
        pid = f"B{i:03d}"
        code = hub.enrolment.enroll(pid, YEAR_TOML, START, "UTC", now)
        out.append((pid, hub.enrolment.redeem(code, "bench", now).token))
    return out


async def _load(url: str, jobs: list[tuple[str, list[bytes]]], schedule: float | None, server_pid: int):
    """Send every job's payloads; each worker has its own client. With `schedule` (seconds between
    requests, across all workers), open loop: latency counts from the scheduled time."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    n_workers = len(jobs)

    async def worker(k: int, token: str, bodies: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        # verify=False: plain http here, and loading CA certificates costs ~70 ms per client
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, verify=False) as c:
            await c.post("/api/v1/entries", content=bodies[0])  # warm-up: connection, server thread, caches
            await ready.wait()
            while "wall" not in marks:  # let measure() stamp the start first
                await asyncio.sleep(0)
            for j, body in enumerate(bodies[1:]):
                start = time.perf_counter()
                if schedule is not None:
                    start = marks["wall"] + 0.05 + (j * n_workers + k) * schedule
                    await asyncio.sleep(max(0.0, start - time.perf_counter()))
                r = await c.post("/api/v1/entries", content=body)
                latencies.append(time.perf_counter() - start)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    marks: dict[str, float] = {}

    async def measure() -> None:
        await ready.wait()  # after every warm-up
        marks.update(wall=time.perf_counter(), cpu=cpu_seconds(server_pid), client=time.process_time())

    ready = asyncio.Barrier(n_workers + 1)
    await asyncio.gather(measure(), *(worker(k, tok, bodies) for k, (tok, bodies) in enumerate(jobs)))
    wall = time.perf_counter() - marks["wall"]
    assert set(statuses) == {200}, statuses
    return latencies, wall, cpu_seconds(server_pid) - marks["cpu"], time.process_time() - marks["client"]


def run_load(kind: str, batch: int, requests: int, clients: int = 50, schedule: float | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        people = enrol_all(db, clients) if kind == "hub" else [(f"B{i:03d}", "none") for i in range(clients)]
        jobs = [(tok, payloads(pid, batch, requests)) for pid, tok in people]
        with server(kind, db) as (url, pid):
            lat, wall, cpu, client_cpu = asyncio.run(_load(url, jobs, schedule, pid))
    n = clients * requests
    lat.sort()
    return {"requests": n, "entries": n * batch, "req_per_s": n / wall, "entries_per_s": n * batch / wall,
            "server_cpu_ms_per_req": 1000 * cpu / n, "client_cpu_ms_per_req": 1000 * client_cpu / n,
            "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99) - 1]}


def sync_year(runs: int) -> dict:
    """A fresh `diary sync` process uploading 365 entries, and the floor: a fresh python posting them."""
    from diary_client.device.store import Store
    from sync.client.upload import enroll_device

    hub_times, floor_times = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            with server("hub", tmp / "hub.db") as (url, _):
                from sync.hub.store import HubStore

                code = HubStore(tmp / "hub.db").enrolment.enroll("Y01", YEAR_TOML, START, "UTC", datetime.now(UTC))
                diary = enroll_device(Store.in_dir(tmp / "dev"), url, code)
                diary.store.save_all(entries_for("Y01", diary.device_id, 365))
                diary.store.close()
                env = os.environ | {"DIARY_HOME": str(tmp / "dev")}
                t = time.perf_counter()
                subprocess.run([DIARY, "sync"], env=env, check=True, capture_output=True)
                hub_times.append(time.perf_counter() - t)
                assert len(HubStore(tmp / "hub.db").reads.entries("Y01")) == 365
            body = tmp / "body.json"
            body.write_text(json.dumps({"entries": [e.wire() for e in entries_for("Y01", "d", 365)]}))
            with server("floor", tmp / "floor.db") as (url, _):
                code = ("import httpx, sys; r = httpx.post(sys.argv[1] + '/api/v1/entries', content=open(sys.argv[2], 'rb').read(),"
                        " headers={'content-type': 'application/json'}); assert r.status_code == 200")
                t = time.perf_counter()
                subprocess.run([PY, "-c", code, url, str(body)], check=True)
                floor_times.append(time.perf_counter() - t)
    return {"diary_sync_s": statistics.median(hub_times), "floor_process_s": statistics.median(floor_times),
            "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = ap.parse_args()
    scale = 0.25 if args.quick else 1.0
    results: dict = {"cpus": os.cpu_count()}
    for batch, reqs in ((1, int(40 * scale) or 2), (100, int(6 * scale) or 1)):
        hub, floor = run_load("hub", batch, reqs), run_load("floor", batch, reqs)
        ratio = hub["req_per_s"] / floor["req_per_s"]
        results[f"ingest_{batch}"] = {"hub": hub, "floor": floor, "ratio": ratio}
        print(f"ingest, 50 clients, {batch}-entry batches: hub {hub['req_per_s']:.0f} req/s "
              f"({hub['entries_per_s']:.0f} entries/s, {hub['server_cpu_ms_per_req']:.2f} ms hub CPU/req, "
              f"load client {hub['client_cpu_ms_per_req']:.2f} ms CPU/req) vs floor {floor['req_per_s']:.0f} req/s "
              f"({floor['server_cpu_ms_per_req']:.2f} ms CPU/req): ratio {ratio:.2f} (target >= 0.6)")
    year = sync_year(2 if args.quick else 3)
    results["sync_year"] = year
    print(f"fresh `diary sync` of 365 entries: {year['diary_sync_s']:.2f} s (target < 1.5 s: "
          f"{year['diary_sync_s'] / 1.5:.2f} of it); floor (fresh python posting them) {year['floor_process_s']:.2f} s, "
          f"ratio {year['diary_sync_s'] / year['floor_process_s']:.2f}")
    n = int(1000 * scale)
    hub = run_load("hub", 1, n // 20, clients=20, schedule=0.01)
    floor = run_load("floor", 1, n // 20, clients=20, schedule=0.01)
    results["latency_100rps"] = {"hub": hub, "floor": floor}
    print(f"100 req/s open loop, {n} requests: hub p50 {hub['p50_ms']:.1f} ms, p99 {hub['p99_ms']:.1f} ms "
          f"(target < 100 ms: {hub['p99_ms'] / 100:.2f} of it); floor p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "hub.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {out / 'hub.json'}")


if __name__ == "__main__":
    main()
