"""Entry: a frozen dataclass whose own checks hold however it is built; pydantic validates outside input."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date, datetime

import pytest
from hub_fixture import make_entry
from pydantic import ValidationError

from diary_client.core.entry import Entry, content_hash, from_wire, parse_entry

START = date(2026, 3, 2)


def test_checks_hold_when_built_directly_and_through_pydantic():
    e = make_entry("P01", START, 1)
    loud = e.id.upper().replace("-", "")
    assert make_entry("P01", START, 1, id=loud).id == str(uuid.UUID(loud))
    assert parse_entry(e.wire() | {"id": loud}).id == e.id
    with pytest.raises(ValueError, match="needs a UTC offset"):
        make_entry("P01", START, 1, submitted_at=datetime(2026, 3, 2, 19))
    with pytest.raises(ValueError, match="needs a reason"):
        make_entry("P01", START, 2, supersedes=e.id, reason=" ")
    with pytest.raises(ValidationError, match="needs a reason"):
        parse_entry(e.wire() | {"supersedes": make_entry("P01", START, 2).id, "reason": None})
    with pytest.raises(ValidationError, match="supersede itself"):
        parse_entry(e.wire() | {"supersedes": e.id, "reason": "x"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.seq = 3  # type: ignore[misc]  # the point of the test: a frozen entry refuses the write


def test_outside_input_is_validated_field_by_field():
    e = make_entry("P01", START, 1)
    for change, where in [({"study_day": 0}, "study_day"), ({"participant_id": ""}, "participant_id"),
                          ({"timing": "soon"}, "timing"), ({"colour": 1}, "colour"),
                          ({"diary_date": "yesterday"}, "diary_date"), ({"id": "not-a-uuid"}, "")]:
        with pytest.raises(ValidationError) as err:
            parse_entry(e.wire() | change)
        assert where in str(err.value)


def test_every_way_in_gives_the_same_entry_and_hash():
    e = make_entry("P01", START, 3, answers={"severity": 40, "side_effects": ["nausea"], "note": None})
    body = json.dumps(e.wire())
    for other in (parse_entry(e.wire()), parse_entry(json.loads(body)), from_wire(e.wire())):
        assert other == e and content_hash(other) == content_hash(e) and other.wire() == e.wire()
    assert isinstance(e, Entry) and dataclasses.replace(e, seq=9).seq == 9
