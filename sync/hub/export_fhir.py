"""`hub export --fhir`: HL7 FHIR R4B (4.3.0) JSON, written as plain JSON (fhir.resources checks it in the tests).

- `Questionnaire-<study>-v<version>.json`: one Questionnaire per protocol version. VAS items are
  integers with minValue/maxValue, sliderStepValue and the slider item control (their anchors as
  `lower`/`upper` display items); number items decimals; choice and multi items coded options
  (multi repeats, and "nothing chosen" is an exclusive option of its own, code 0); yes/no items
  booleans; text items text. The day's phase is the read-only first item `_phase`; an item asked
  only in some phases has `enableWhen` on it.
- `Bundle-<participant>.json`: a Bundle (`type = collection`) of the participant's
  QuestionnaireResponses, one per entry, with no Patient resource: the subject is an identifier,
  `authored` is the entry's `submitted_at`, the author the device (an identifier). A skipped item
  is left out. A correction has `status = amended` and the `replaces` extension pointing to the
  response it replaces (`urn:uuid:<entry id>`, each response's `fullUrl`). A response's id is its
  entry's id; entry ids are unique per participant only, so an entry whose id another participant's
  entry, stored earlier, holds too (a forged or copied id) gets `<entry id>-<participant>` (made a
  valid FHIR id) instead, and a `urn:uuid:` made from participant and id for its `fullUrl` and
  identifier (`entry_urn`): ids and urns stay unique across the bundles, the first holder keeps its own.

The project's own extensions (not registered with HL7) live under `NS`: `diary-date` (valueDate:
the day the report is about), `study-day` (valueInteger), `timing` (valueCode: on_time, late,
import), `counts` (valueBoolean: the response that counts for its day after corrections) and
`replaces` (valueReference).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Set
from datetime import datetime
from pathlib import Path

from diary_client.core import private
from diary_client.core.entry import Entry, Value
from diary_client.core.printable import printable
from diary_client.core.protocol import Item, Protocol
from sync.hub.codebook import (
    NONE_CODE,
    NONE_LABEL,
    VAS_RANGE,
    Study,
    asked_prompt,
    phases_asked,
    stamp,
)
from sync.hub.errors import HubError
from sync.hub.export_csv import write_codebook
from sync.hub.export_tables import Gathered, TableRows

NS = "https://symptom-diary.example.org/fhir"
REUSED_NS = uuid.uuid5(uuid.NAMESPACE_URL, f"{NS}/entry")  # the namespace of `entry_urn`'s qualified urns
HL7 = "http://hl7.org/fhir/StructureDefinition/"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
PHASE_LINK = "_phase"  # item ids start with a letter: this link id never clashes with one
_TYPE = {"vas": "integer", "number": "decimal", "yesno": "boolean", "choice": "choice", "multi": "choice",
         "text": "text"}


def _ext(name: str, **value) -> dict:
    return {"url": f"{NS}/StructureDefinition/{name}", **value}


def _control(code: str) -> dict:
    return {"url": HL7 + "questionnaire-itemControl",
            "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL, "code": code}]}}


_HASHED = re.compile(r"-[0-9a-f]{8}")


def fhir_id(text: str) -> str:
    """A FHIR resource id ([A-Za-z0-9-.], at most 64) for a study or participant id: the id as it
    is when it is one, else cleaned with a hash of the id appended. An id that already ends like
    a hashed one is hashed too, so `x/y` and `x-y-bd3c9047` never meet in one name."""
    clean = re.sub(r"[^A-Za-z0-9.-]", "-", text)
    if clean != text or len(clean) > 64 or _HASHED.fullmatch(clean[-9:]):
        clean = clean[:55] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return clean


def claim(used: dict[str, str], name: str, owner: str) -> str:
    """`name` for `owner`'s file, refused if another's file in this export already has it (a
    file is never silently replaced; with `fhir_id` that takes a collision of SHA-256 prefixes)."""
    if used.setdefault(name, owner) != owner:
        raise HubError(f"{printable(used[name])} and {printable(owner)} would both be written to {name}: "
                       "export stopped before one replaced the other")
    return name


# Study and item ids ([A-Za-z][A-Za-z0-9_-]*) are safe in a URL path as they are.
def canonical(study_id: str) -> str:
    return f"{NS}/Questionnaire/{study_id}"


def _phase_system(study: Study) -> str:
    return f"{NS}/CodeSystem/{study.study_id}/phases"


def _option_system(study: Study, item: Item) -> str:
    return f"{NS}/CodeSystem/{study.study_id}/options/{item.id}"


def _phase_coding(study: Study, protocol: Protocol, phase_id: str) -> dict:
    return {"system": _phase_system(study), "code": phase_id, "display": protocol.phase(phase_id).label}


def _option(study: Study, item: Item, code: int, label: str) -> dict:
    return {"system": _option_system(study, item), "code": str(code), "display": label}


def _question(study: Study, protocol: Protocol, item: Item) -> dict:
    q: dict = {"linkId": item.id, "text": asked_prompt(item), "type": _TYPE[item.kind], "required": not item.optional,
               "code": [{"system": f"{NS}/CodeSystem/{study.study_id}/items", "code": item.id,
                         "display": item.name}]}
    ext: list[dict] = []
    if item.kind == "vas":
        lo, hi = VAS_RANGE
        ext = [{"url": HL7 + "minValue", "valueInteger": lo}, {"url": HL7 + "maxValue", "valueInteger": hi},
               {"url": HL7 + "questionnaire-sliderStepValue", "valueInteger": 1}, _control("slider")]
        anchors = [(f"{item.id}.lower", item.min_label, "lower"), (f"{item.id}.upper", item.max_label, "upper")]
        q["item"] = [{"linkId": link, "text": text, "type": "display", "extension": [_control(code)]}
                     for link, text, code in anchors if text]
    elif item.kind == "number":
        ext = [{"url": HL7 + name, "valueDecimal": v} for name, v in (("minValue", item.min), ("maxValue", item.max))
               if v is not None]
    elif item.kind in ("choice", "multi"):
        q["answerOption"] = [{"valueCoding": _option(study, item, c, label)} for c, label in study.coded_options(item)]
        if item.kind == "multi":
            q["repeats"] = True
            none = next(o for o in q["answerOption"] if o["valueCoding"]["code"] == str(NONE_CODE))
            none["extension"] = [{"url": HL7 + "questionnaire-optionExclusive", "valueBoolean": True}]
    if ext:
        q["extension"] = ext
    asked = phases_asked(protocol, item)
    if len(asked) < len(protocol.phases):
        q["enableWhen"] = [{"question": PHASE_LINK, "operator": "=",
                            "answerCoding": _phase_coding(study, protocol, ph)} for ph in asked]
        q["enableBehavior"] = "any"
    return q


def questionnaire(study: Study, protocol: Protocol) -> dict:
    """The Questionnaire of one protocol version."""
    phase = {"linkId": PHASE_LINK, "text": "Study phase of the diary day", "type": "choice", "required": True,
             "readOnly": True, "answerOption": [{"valueCoding": _phase_coding(study, protocol, p.id)}
                                                for p in protocol.phases]}
    name = "Diary" + "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", protocol.id) if w)
    return {
        "resourceType": "Questionnaire", "id": fhir_id(f"{protocol.id}-v{protocol.version}"),
        "url": canonical(protocol.id), "version": str(protocol.version), "name": name[:255],
        "title": protocol.title, "status": "active", "subjectType": ["Patient"],
        "item": [phase, *(_question(study, protocol, i) for i in protocol.items)],
    }


def _answers(study: Study, item: Item, v: Value) -> list[dict]:
    match item.kind:
        case "vas":
            return [{"valueInteger": v}]
        case "number":
            return [{"valueDecimal": v}]
        case "yesno":
            return [{"valueBoolean": v}]
        case "choice":
            return [{"valueCoding": _option(study, item, study.options[item.id][str(v)], str(v))}]
        case "multi":
            chosen = [(study.options[item.id][o], o) for o in v] or [(NONE_CODE, NONE_LABEL)]  # type: ignore[union-attr]  # a multi answer is a list of options
            return [{"valueCoding": _option(study, item, c, label)} for c, label in chosen]
    return [{"valueString": v}]


def entry_urn(participant_id: str, entry_id: str, reused: Set[tuple[str, str]] = frozenset()) -> str:
    """The entry's `urn:uuid:` (its `fullUrl`, its identifier, what a correction's `replaces`
    points to): its own id, or for an id another participant's entry holds too, a UUID made from
    participant and id (uuid5), so no two bundles hold different responses under one urn."""
    if (participant_id, entry_id) in reused:
        return f"urn:uuid:{uuid.uuid5(REUSED_NS, f'{participant_id}/{entry_id}')}"
    return f"urn:uuid:{entry_id}"


def response(study: Study, g: Gathered, e: Entry, counts: bool,
             reused: Set[tuple[str, str]] = frozenset()) -> dict | None:
    """The entry as a QuestionnaireResponse (None for a day outside the participant's study).
    Its id is the entry's, qualified (`<entry id>-<participant>`, as a FHIR id) when another
    participant's entry, stored earlier, holds that id too (`reused`: Reads.reused_ids())."""
    pid = e.participant_id
    span = next((s for s in g.spans if e.diary_date in s), None)
    if span is None:
        return None
    protocol = study.version(e.protocol_version)
    items = [{"linkId": PHASE_LINK, "answer": [{"valueCoding": _phase_coding(study, protocol, span.phase.id)}]}]
    for item in protocol.items_in(span.phase.id):
        v = e.answers.get(item.id)
        if v is not None:
            items.append({"linkId": item.id, "text": asked_prompt(item), "answer": _answers(study, item, v)})
    ext = [_ext("diary-date", valueDate=e.diary_date.isoformat()), _ext("study-day", valueInteger=e.study_day),
           _ext("timing", valueCode=e.timing), _ext("counts", valueBoolean=counts)]
    if e.supersedes:
        ext.append(_ext("replaces", valueReference={"reference": entry_urn(pid, e.supersedes, reused)}))
    return {
        "resourceType": "QuestionnaireResponse", "id": fhir_id(f"{e.id}-{pid}") if (pid, e.id) in reused else e.id,
        "extension": ext, "identifier": {"system": "urn:ietf:rfc:3986", "value": entry_urn(pid, e.id, reused)},
        "questionnaire": f"{canonical(study.study_id)}|{e.protocol_version}",
        "status": "amended" if e.supersedes else "completed",
        "subject": {"identifier": {"system": f"{NS}/participant", "value": e.participant_id}},
        "authored": stamp(e.submitted_at),
        "author": {"identifier": {"system": f"{NS}/device", "value": e.device_id}},
        "item": items,
    }


def bundle(g: Gathered, counting: set[str], now: datetime, reused: Set[tuple[str, str]] = frozenset()) -> dict:
    """The participant's responses; `reused`: (participant id, entry id) whose resource id is qualified."""
    pid = g.participant.participant_id
    entries = []
    for e in g.entries:
        r = response(g.study, g, e, e.id in counting, reused)
        if r is not None:
            entries.append({"fullUrl": entry_urn(pid, e.id, reused), "resource": r})
    doc = {"resourceType": "Bundle", "id": fhir_id(f"participant-{pid}"), "type": "collection",
           "identifier": {"system": f"{NS}/participant", "value": pid}, "timestamp": stamp(now)}
    return doc | ({"entry": entries} if entries else {})  # FHIR JSON has no empty arrays


def _write(path: Path, doc: dict) -> None:
    private.write(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")))  # owner only (0600)


class FhirWriter:
    def __init__(self, folder: Path, studies: dict[str, Study], now: datetime,
                 reused: Set[tuple[str, str]] = frozenset()):
        self.folder, self.now, self.reused = folder, now, reused  # reused: Reads.reused_ids()
        self.names: dict[str, str] = {}  # file name -> the participant it holds
        private.folder(folder)
        write_codebook(folder, studies)
        for study in studies.values():
            for p in study.versions:
                _write(folder / f"Questionnaire-{fhir_id(f'{p.id}-v{p.version}')}.json", questionnaire(study, p))

    def add(self, g: Gathered, counting: set[str], rows: TableRows) -> None:
        pid = g.participant.participant_id
        name = claim(self.names, f"Bundle-{fhir_id(pid)}.json", pid)
        _write(self.folder / name, bundle(g, counting, self.now, self.reused))

    def finish(self) -> None:
        pass

    abort = finish
