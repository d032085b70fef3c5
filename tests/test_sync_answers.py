"""The device's answer Structs (sync/client/answers.py) and the hub's pydantic models (sync/wire.py)
state the same answers: field names, which are required, JSON types and constraints. Real hub answers
decoding is covered by the sync tests against a real hub."""

from __future__ import annotations

import json
from datetime import date

import httpx
import msgspec
import pytest

from sync import wire
from sync.client import answers
from sync.client.round import NotUnderstood, page_entries, read_answer

STRUCTS = [t for t in vars(answers).values()
           if isinstance(t, type) and issubclass(t, msgspec.Struct) and t.__module__ == answers.__name__]
KEPT = ("type", "format", "minimum", "maximum", "pattern", "minLength", "maxLength")


def shape(node: dict, defs: dict, seen: tuple = ()) -> object:
    """A JSON schema node reduced to what decoding depends on: types, formats, constraints, and for an
    object its fields (each required or not), whatever the two libraries' ways of writing it."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return ("model", name) if name in seen else shape(defs[name], defs, (*seen, name))
    if "anyOf" in node:
        return frozenset(shape(n, defs, seen) for n in node["anyOf"])
    if node.get("type") == "object" and "properties" in node:
        return ("object", tuple(sorted((k, k in node.get("required", ()), shape(v, defs, seen))
                                       for k, v in node["properties"].items())))
    if node.get("type") == "array":
        return ("array", shape(node.get("items", {}), defs, seen))
    return tuple(sorted((k, v) for k, v in node.items() if k in KEPT))


def device_shape(struct: type) -> object:
    schema = msgspec.json.schema(struct)
    return shape(schema, schema.get("$defs", {}))


def hub_shape(model: type) -> object:
    schema = model.model_json_schema(mode="serialization")
    return shape(schema, schema.get("$defs", {}))


def test_every_answer_the_device_reads_is_a_hub_model():
    names = {s.__name__ for s in STRUCTS}
    assert {"EnrollResponse", "MeResponse", "PhaseDates", "EntriesPage", "ProtocolResponse", "EntriesResponse",
            "Rejection", "Receipt", "ReconcileResponse", "ChainHead", "EventsResponse"} <= names
    assert all(hasattr(wire, n) for n in names), names - set(vars(wire))


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda s: s.__name__)
def test_the_device_and_the_hub_state_an_answer_alike(struct):
    hub, device = hub_shape(getattr(wire, struct.__name__)), device_shape(struct)
    if struct is answers.EntriesPage:
        # The page's entries stay raw JSON on the device (any value), validated as Entry when some arrive.
        assert dict((k, s) for k, _, s in device[1])["entries"] == ("array", ())
        assert dict((k, s) for k, _, s in hub[1])["entries"][1][0] == "object"
        hub = ("object", tuple(f for f in hub[1] if f[0] != "entries"))
        device = ("object", tuple(f for f in device[1] if f[0] != "entries"))
    assert device == hub


def answer(body: object) -> httpx.Response:
    return httpx.Response(200, content=body if isinstance(body, bytes) else json.dumps(body).encode())


def test_an_answer_that_does_not_fit_is_located_in_one_line():
    with pytest.raises(NotUnderstood, match=r"^the hub's answer was not understood \(rejected\.0\.id: Expected `str`"):
        read_answer(answers.EntriesResponse, answer({"accepted": [], "duplicate": [], "rejected": [{"id": 1}],
                                                     "receipts": []}))
    with pytest.raises(NotUnderstood, match=r"\(the body: JSON is malformed"):
        read_answer(answers.MeResponse, answer(b"<html>a captive portal</html>"))
    with pytest.raises(NotUnderstood, match=r"\(the body: 1 entries but 0 receipts\)"):
        read_answer(answers.EntriesPage, answer({"entries": [{}], "receipts": [], "next_after": None}))


def test_a_time_without_its_offset_is_not_understood_and_new_fields_are_passed_over():
    me = {"participant_id": "P01", "study_id": "S", "protocol_version": 1, "entries": 0, "last_received_at": None,
          "unblinded": False, "server_time": "2026-03-02T19:30:00"}
    with pytest.raises(NotUnderstood, match=r"\(server_time: "):
        read_answer(answers.MeResponse, answer(me))
    got = read_answer(answers.MeResponse, answer(me | {"server_time": "2026-03-02T19:30:00Z", "newer": [1]}))
    assert got.server_time.utcoffset() is not None and got.phases is None


def test_history_entries_are_validated_as_entries_and_located():
    from hub_fixture import make_entry

    from diary_client.core.entry import content_hash

    e = make_entry("P01", date(2026, 3, 1), 1)
    receipt = {"id": e.id, "received_at": "2026-03-01T20:00:00Z", "content_hash": content_hash(e)}
    page = read_answer(answers.EntriesPage, answer({"entries": [e.wire() | {"newer": 1}], "receipts": [receipt],
                                                    "next_after": None}))
    assert page_entries(page) == [e]  # a field a newer hub adds is passed over, as at the top level
    bad = read_answer(answers.EntriesPage, answer({"entries": [e.wire() | {"seq": "x"}], "receipts": [receipt],
                                                   "next_after": None}))
    with pytest.raises(NotUnderstood, match=r"\(entries\.0\.seq: "):
        page_entries(bad)
