"""Property tests of the hub's ingest rules against a small reference model (hypothesis)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from hub_fixture import make_entry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diary_client.core.entry import Entry, canonical, content_hash, parse_entry
from diary_client.core.protocol import builtin_text
from sync.hub.store import HubStore

START = date(2026, 3, 2)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)

op = st.one_of(
    st.tuples(st.just("new"), st.sampled_from([1, 2, 3, 99]), st.integers(-3, 103), st.booleans()),
    st.tuples(st.just("resend"), st.integers(0, 50)),
    st.tuples(st.just("conflict"), st.integers(0, 50), st.integers(0, 100)),
    st.tuples(st.just("correct"), st.integers(0, 50), st.integers(-3, 103)),
)


def build(ops) -> list[Entry]:
    out: list[Entry] = []
    for o in ops:
        if o[0] == "new":
            _, day, value, unknown = o
            e = make_entry("P01", START, day, value=value)
            if unknown:
                e = replace(e, answers=e.answers | {"mood": 1})
        elif not out:
            continue
        elif o[0] == "resend":
            e = out[o[1] % len(out)]
        elif o[0] == "conflict":
            old = out[o[1] % len(out)]
            e = replace(old, reason=f"other {o[2]}")
        else:
            old = out[o[1] % len(out)]
            e = make_entry("P01", START, old.study_day, value=o[2], supersedes=old.id, seq=500 + len(out))
        out.append(e)
    return out


def expected(entries: list[Entry]) -> tuple[list[str], dict[str, str]]:
    """The reference model: outcome per position, and the id -> hash the hub must end with."""
    stored: dict[str, Entry] = {}
    outcomes = []
    for e in entries:
        if e.id in stored:
            outcomes.append("duplicate" if content_hash(stored[e.id]) == content_hash(e) else "rejected")
            continue
        valid = (1 <= e.study_day <= 98 and "mood" not in e.answers
                 and all(0 <= v <= 100 for v in e.answers.values() if isinstance(v, int) and not isinstance(v, bool))
                 and not (e.reason and not e.supersedes))
        if valid and e.supersedes:
            t = stored.get(e.supersedes)
            valid = t is not None and t.diary_date == e.diary_date and all(s.supersedes != e.supersedes for s in stored.values())
        elif valid:
            valid = not any(s.diary_date == e.diary_date and s.supersedes is None for s in stored.values())
        outcomes.append("accepted" if valid else "rejected")
        if valid:
            stored[e.id] = e
    return outcomes, {i: content_hash(e) for i, e in stored.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=14), cuts=st.lists(st.integers(0, 14), max_size=3))
def test_ingest_matches_the_reference_model(ops, cuts):
    entries = build(ops)
    want, final = expected(entries)
    with tempfile.TemporaryDirectory() as tmp:  # a fresh database per example
        hub = HubStore(Path(tmp) / "hub.db")
        hub.enrolment.register("P01", builtin_text(), START, "UTC", NOW)
        got: list[str] = []
        bounds = sorted({0, len(entries), *(c for c in cuts if c < len(entries))})
        for a, b in zip(bounds, bounds[1:]):
            r = hub.ingest("P01", entries[a:b], NOW)
            got += r.verdicts
            assert sorted(r.accepted + r.duplicate + [i for i, _ in r.rejected]) == sorted(e.id for e in entries[a:b])
            assert {h for _, _, h in r.receipts} <= set(final.values())
        assert got == want
        assert {e.id: content_hash(e) for e in hub.reads.entries()} == final
        # sending everything again stores nothing new and loses nothing
        again = hub.ingest("P01", [e for e in entries if e.id in final], NOW)
        assert again.accepted == [] and sorted(set(again.duplicate)) == sorted(final)


value = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=False, allow_infinity=False, width=64), st.text(max_size=20),
                  st.lists(st.text(max_size=5), max_size=3))


@given(answers=st.dictionaries(st.text(min_size=1, max_size=10), value, max_size=5),
       minutes=st.integers(-14 * 60, 14 * 60), reason=st.one_of(st.none(), st.text(max_size=30)))
def test_content_hash_survives_the_wire(answers, minutes, reason):
    e = make_entry("P01", START, 3, answers=answers, reason=reason,
                   submitted_at=datetime(2026, 3, 4, 19, 5, 7, 123456, tzinfo=timezone(timedelta(minutes=minutes))))
    received = parse_entry(json.loads(json.dumps({"entries": [e.wire()]})[len('{"entries": ['):-2]))
    assert content_hash(received) == content_hash(e)
    body, h = canonical(received)  # the hub's one serialisation gives the device's hash ...
    assert h == content_hash(e) and parse_entry(json.loads(body)) == received  # ... and a faithful body


@given(answers=st.dictionaries(st.text(min_size=1, max_size=10), value | st.integers(), max_size=6),
       text=st.text(), reason=st.one_of(st.none(), st.text(max_size=30)))
def test_canonical_json_is_the_standard_librarys(answers, text, reason):
    """The fast writer (orjson) never changes a hash: its text is json's, byte for byte."""
    e = make_entry("P01", START, 3, answers=answers | {"note": text}, reason=reason)
    try:
        expected = json.dumps(e.wire(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return  # cannot happen: the strategy's text is valid Unicode
    body, h = canonical(e)
    assert body.encode() == expected and h == hashlib.sha256(expected).hexdigest()
