"""The FHIR R4B resources of a participant's events, in their Bundle (export_fhir.py).

- An adverse event is an `AdverseEvent` (actuality `actual`, category AE): `event.text` what
  happened, `date` the day it started, `recordedDate` when the device saved it, `seriousness`,
  `severity` and `outcome` (resolved or ongoing) coded in HL7's adverse-event code systems, the
  day it ended as the extension `resolved`.
- A medication is a `MedicationStatement` (status `completed`, category patientspecified): the
  medicine as `medicationCodeableConcept.text`, `effectiveDateTime` when it was taken, the dose as
  `dosage.text`, rescue or regular as `reasonCode.text`.
- A dose change is a `MedicationStatement` of the study drug (status `active`) with the new dose as
  `dosage.text` from `effectivePeriod.start`.

Every one names its participant by identifier (no Patient resource), carries the extensions
`period` (valueCode: the phase id its date falls in; absent in the follow-up), `counts`
(valueBoolean: it stands, no correction replaces it) and, for a correction, `replaces`; its id
is the event's id, its `fullUrl` `urn:uuid:<event id>`.
"""

from __future__ import annotations

from diary_client.core import event as ev
from sync.hub.codebook import stamp
from sync.hub.export_fhir import NS, _ext
from sync.hub.export_tables import Gathered, event_span

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"


def _coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": TERMINOLOGY + system, "code": code, "display": display}]}


def event_resources(g: Gathered) -> list[dict]:
    """The participant's events as FHIR resources, every version (corrections say what they replace)."""
    standing = {e.id for e in ev.current(r["event"] for r in g.events)}
    out = []
    for r in g.events:
        e: ev.Event = r["event"]
        span = event_span(g, e)
        ext = ([_ext("period", valueCode=span.phase.id)] if span else []) + [_ext("counts", valueBoolean=e.id in standing)]
        if e.supersedes:
            ext.append(_ext("replaces", valueReference={"reference": f"urn:uuid:{e.supersedes}"}))
        subject = {"identifier": {"system": f"{NS}/participant", "value": e.participant_id}}
        urn = {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{e.id}"}
        if isinstance(e, ev.AdverseEvent):
            if e.resolved:
                ext.append(_ext("resolved", valueDate=e.resolved.isoformat()))
            out.append({
                "resourceType": "AdverseEvent", "id": e.id, "extension": ext, "identifier": urn,
                "actuality": "actual", "category": [_coded("adverse-event-category", "AE", "Adverse Event")],
                "event": {"text": e.what}, "subject": subject, "date": e.started.isoformat(),
                "recordedDate": stamp(e.submitted_at),
                "seriousness": _coded("adverse-event-seriousness", *(("serious", "Serious") if e.serious
                                                                     else ("non-serious", "Non-serious"))),
                "severity": _coded("adverse-event-severity", e.severity, e.severity.capitalize()),
                "outcome": _coded("adverse-event-outcome", *(("resolved", "Resolved") if e.resolved
                                                             else ("ongoing", "Ongoing"))),
                "study": [{"identifier": {"system": f"{NS}/study", "value": e.study_id}}],
            })
            continue
        statement = {"resourceType": "MedicationStatement", "id": e.id, "extension": ext, "identifier": [urn],
                     "category": _coded("medication-statement-category", "patientspecified", "Patient Specified"),
                     "subject": subject, "dateAsserted": stamp(e.submitted_at)}
        if isinstance(e, ev.Medication):
            statement |= {"status": "completed", "medicationCodeableConcept": {"text": e.name},
                          "effectiveDateTime": stamp(e.taken), "reasonCode": [{"text": e.purpose}]}
            if e.dose:
                statement["dosage"] = [{"text": e.dose}]
        else:
            statement |= {"status": "active", "medicationCodeableConcept": {"text": "study drug (dose change)"},
                          "effectivePeriod": {"start": e.from_date.isoformat()}, "dosage": [{"text": e.amount}]}
        out.append(statement)
    return out
