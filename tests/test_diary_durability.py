"""Durability: a process saving entries is SIGKILLed at random moments; nothing it called saved is lost."""

import random
import subprocess
import sys
import textwrap

from diary_client.device.store import Store

CHILD = textwrap.dedent("""
    import sys
    from datetime import date, datetime, timedelta, timezone
    from diary_client.core.entry import Entry, new_id
    from diary_client.device.store import Store

    store = Store(sys.argv[1])
    base = date(2020, 1, 1)
    while True:
        n = store.count("entries")
        e = Entry(id=new_id(), participant_id="P", study_id="s", protocol_version=1,
                  diary_date=base + timedelta(days=n), study_day=n + 1, answers={"severity": n % 101},
                  submitted_at=datetime.now(timezone.utc), timing="on_time", source="app",
                  device_id="dev", seq=0)
        store.save(e)
        print(e.id, flush=True)  # only after save() returned: "saved" on screen
""")


def test_sigkill_at_random_moments_loses_nothing_reported_saved(tmp_path):
    path = tmp_path / "diary.db"
    Store(path).close()
    rng = random.Random(20091)
    reported: list[str] = []
    for _ in range(50):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(rng.randint(1, 12)):
            line = child.stdout.readline()
            assert line, "child died before it was killed"
            reported.append(line.strip())
        child.kill()  # SIGKILL, somewhere inside the next save
        rest = child.stdout.read()  # lines it printed before dying also count as reported
        reported += rest.split()
        child.wait(timeout=30)
    store = Store(path)
    ids = {e.id for e in store.entries()}
    assert set(reported) <= ids
    assert len(reported) == len(set(reported))
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.verify() == []
