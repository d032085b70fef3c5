"""`diary hub report --cent`: the CENT 2015 page, offline, each filled item's numbers checked against the JSON report."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import numpy as np
import pytest
from msgspec.structs import replace

from analysis.cent_page import LEFT_TO_AUTHORS, cent_html, cent_row
from analysis.cohort import CohortStream
from analysis.participant import AdverseEvent, ParticipantData
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import BlindingCheck, builtin_text, load_protocol, to_toml
from diary_client.core.schedule import phase_spans
from sync.hub.store import HubStore

PROTOCOL = replace(load_protocol(), blinding_check=BlindingCheck())
START = date(2026, 3, 2)
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
FILLED = ["3a", "5", "6a", "8-9", "11a", "12a", "13a", "14a", "16", "17a", "19"]
GUESSES = [("placebo", "drug"), ("drug", "drug"), ("don't know", "placebo"), ("placebo", "drug")]


def simulated(pid: str, seed: int, guesses: tuple[str, str]) -> dict:
    days = simulate(PROTOCOL, START, np.random.default_rng(seed), Profile(sd=5, phi=0.3, effects={"active": 0.3}))
    ends = {s.phase.id: s.end for s in phase_spans(PROTOCOL, START)}
    for phase, guess in zip(("placebo", "ldn"), guesses):
        days[ends[phase]] = days[ends[phase]] | {"blind_guess": guess, "blind_sure": 50}
    return days


class Tagged(HTMLParser):
    """Every element's data-json path with its text, and every section's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []
        self.sections: list[str] = []
        self._open: list[list] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        if "data-json" in a:
            self._open.append([a["data-json"], ""])

    def handle_data(self, data):
        for t in self._open:
            t[1] += data

    def handle_endtag(self, tag):
        if tag in ("span", "tspan") and self._open:
            self.tags.append(tuple(self._open.pop()))  # type: ignore[arg-type]


def pointer(doc, path: str):
    for part in path.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def check_against(doc: dict, page: str) -> int:
    """Each tagged number of the page equals the JSON document's value at its path, to the digits shown."""
    parser = Tagged()
    parser.feed(page)
    for path, text in parser.tags:
        value = pointer(doc, path)
        if value is None:
            assert text == "—", path
        elif isinstance(value, bool) or isinstance(value, int) or isinstance(value, str):
            assert text == str(value), (path, text, value)
        else:
            decimals = len(text.split(".")[1]) if "." in text else 0
            assert abs(float(text) - value) <= 0.5 * 10**-decimals + 1e-9, (path, text, value)
    return len(parser.tags)


def sections(page: str) -> list[str]:
    parser = Tagged()
    parser.feed(page)
    return parser.sections


def test_each_filled_item_equals_the_json_report():
    rng_seeds = range(len(GUESSES))
    people = []
    for k, (seed, g) in enumerate(zip(rng_seeds, GUESSES)):
        pid = f"C{k}"
        days = simulated(pid, seed, g)
        aes = (AdverseEvent(f"{pid}-1", START + timedelta(days=40), "moderate", k == 1),
               AdverseEvent(f"{pid}-2", START + timedelta(days=20), "mild"))[: k % 3]
        people.append(ParticipantData(pid, PROTOCOL, START, as_entries(PROTOCOL, START, days, pid), adverse_events=aes,
                                      withdrawn=START + timedelta(days=50) if k == 3 else None))
    rows: list = []
    stream = CohortStream(iter(people), NOW, on_report=lambda r: rows.append(cent_row(r)))
    doc = json.loads("".join(stream.json_text()))
    page = cent_html(stream.summary(), stream.protocol, rows)
    assert check_against(doc, page) > 60
    assert [s for s in sections(page) if s != "cent-left"] == [f"cent-{n}" for n in FILLED]
    for n in FILLED:  # each filled item says where its numbers come from
        body = page.split(f"id='cent-{n}'")[1].split("</section>")[0]
        assert "Source:" in body, n
    # 5: the capsule answers summed over participants, as the JSON gives each one's
    for phase in ("placebo", "ldn"):
        yes = sum(p["other_items"]["capsule"]["phases"][phase]["yes"] for p in doc["participants"])
        n = sum(p["other_items"]["capsule"]["phases"][phase]["n"] for p in doc["participants"])
        assert f"{yes} of {n} days" in page
    assert (doc["harms"]["active"]["events"], doc["harms"]["placebo"]["events"], doc["flow"]["withdrawn"]) == (2, 1, 1)
    assert "Bang, active periods" in page and "James, whole study" in page


@pytest.fixture
def hub_db(tmp_path):
    path = tmp_path / "hub.db"
    store = HubStore(path)
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)
    text = to_toml(PROTOCOL)
    for k, g in enumerate(GUESSES):
        pid = f"H{k}"
        store.enrolment.register(pid, text, START, "UTC", now)
        got = store.ingest(pid, as_entries(PROTOCOL, START, simulated(pid, 10 + k, g), pid), now, via="import")
        assert not got.rejected, got.rejected[:1]
    store.close()
    return path


def test_hub_report_cent_writes_an_offline_page_that_agrees_with_json(cli, hub_db, tmp_path):
    out = tmp_path / "cent.html"
    r = cli("hub", "report", "--db", str(hub_db), "--json", "--cent", str(out), now="2026-07-01T12:00")
    assert r.exit_code == 0, r.output
    assert f"Wrote {out}" in r.stderr
    doc = json.loads(r.stdout)
    page = out.read_text(encoding="utf-8")
    assert check_against(doc, page) > 50
    assert doc["blinding"]["counts"]["active"] == {"drug": 3, "placebo": 1, "don't know": 0}
    assert not re.search(r"https?://", page)  # nothing to fetch: no address at all
    assert not re.search(r"<(script|link|img|iframe|object|embed|audio|video|source)\b", page, re.I)
    assert "@import" not in page and "url(" not in page
    for number, _ in LEFT_TO_AUTHORS:
        assert f"<b>{number}</b>" in page
    assert "<meta name='viewport'" in page


def test_a_study_without_the_check_says_it_was_not_asked(cli, tmp_path):
    path = tmp_path / "hub.db"
    store = HubStore(path)
    plain = load_protocol()
    store.enrolment.register("P0", builtin_text(), START, "UTC", NOW)
    days = simulate(plain, START, np.random.default_rng(1), Profile(sd=5))
    store.ingest("P0", as_entries(plain, START, days, "P0"), NOW, via="import")
    store.close()
    out = tmp_path / "cent.html"
    r = cli("hub", "report", "--db", str(path), "--cent", str(out), now="2026-07-01T12:00")
    assert r.exit_code == 0 and r.stdout.strip() == f"Wrote {out}: the CENT 2015 items for 1 participants"
    assert "did not ask participants which treatment" in out.read_text(encoding="utf-8")
