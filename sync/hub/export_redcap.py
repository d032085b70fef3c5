"""`hub export --redcap`: per study, a REDCap data dictionary and an import file (repeating `daily_diary`,
`adverse_event`, `medication` and `dose_change`).

Written to REDCap's import formats (the data dictionary's 18 columns; the import CSV's
`record_id`, `redcap_repeat_instrument`, `redcap_repeat_instance`, checkbox columns
`field___code`, yesno 1/0, form status 2 = complete), checked against those formats in the tests,
not against a live REDCap.

- Form `participant` (not repeating): `record_id` (the participant id), study, day 1, last day, time zone.
- Form `daily_diary`, repeating, instance = study day: the report that counts for the day (corrections
  applied): date, study day, phase (coded by position), timing, then one field per item, and
  whether the report is a correction (with its reason), the entry id and `submitted_at`.
- VAS items are sliders (0-100, anchors as slider labels), number items validated text,
  yes/no items yesno, choice items radio, multi items checkboxes with 0 = nothing chosen
  (`@NONEOFTHEABOVE=0`), text items notes. An item asked only in some phases has branching
  logic on `phase`. A skipped item is empty (a multi item's checkboxes too), so it never reads
  as "nothing chosen".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from diary_client.core import event as ev
from diary_client.core import private
from diary_client.core.design import fixed_sequence, longest, sequence_key
from diary_client.core.entry import Value
from diary_client.core.protocol import Item
from sync.hub.codebook import NONE_CODE, VAS_RANGE, Study, asked_prompt, phases_asked, stamp
from sync.hub.export_csv import CsvFile, write_codebook
from sync.hub.export_fhir import claim, fhir_id
from sync.hub.export_tables import Gathered, TableRows, event_span

DICTIONARY_HEADER = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]
PARTICIPANT_FORM, DIARY_FORM = "participant", "daily_diary"
REPEAT = ["redcap_repeat_instrument", "redcap_repeat_instance"]
COMPLETE = "2"  # REDCap form status: 0 incomplete, 1 unverified, 2 complete
TIMING_CODES = {"on_time": 1, "late": 2, "import": 3}

@dataclass(frozen=True)
class Field:
    """One row of the data dictionary."""

    name: str
    form: str
    type: str
    label: str
    choices: str = ""
    note: str = ""
    validation: str = ""
    min: str = ""
    max: str = ""
    branching: str = ""
    required: str = ""
    annotation: str = ""
    identifier: str = ""  # "y": REDCap leaves it out of de-identified exports (dates are identifiers under HIPAA)

    def row(self) -> list[str]:
        return [self.name, self.form, "", self.type, self.label, self.choices, self.note, self.validation, self.min,
                self.max, self.identifier, self.branching, self.required, "", "", "", "", self.annotation]


PARTICIPANT_FIELDS = [
    Field("record_id", PARTICIPANT_FORM, "text", "Participant ID"),
    Field("study_id", PARTICIPANT_FORM, "text", "Study"),
    Field("start_date", PARTICIPANT_FORM, "text", "Day 1", validation="date_ymd", identifier="y"),
    Field("end_date", PARTICIPANT_FORM, "text", "Last study day", validation="date_ymd", identifier="y"),
    Field("time_zone", PARTICIPANT_FORM, "text", "Time zone of the diary windows"),
]
DIARY_AFTER = [
    Field("corrected", DIARY_FORM, "yesno", "The report is a correction of an earlier one"),
    Field("correction_reason", DIARY_FORM, "notes", "Reason given for the correction"),
    Field("entry_id", DIARY_FORM, "text", "Entry id (UUID) on the hub"),
    Field("submitted_at", DIARY_FORM, "text", "When the device saved the report", note="ISO 8601 with UTC offset",
          identifier="y"),
    Field("flags", DIARY_FORM, "text", "The device's doubts about its clock"),
]
# A randomized design's participant form ends with her sequence (empty while it is concealed: docs/designs.md).
SEQUENCE_FIELD = Field("sequence", PARTICIPANT_FORM, "text", "Sequence of phases allocated (phase ids joined by >)",
                       note="empty until the participant is unblinded or the export is made with --reveal")
# Repeating instruments of the participant's events: each version that stands (corrections applied),
# numbered 1, 2, ... per participant in the order of their dates.
AE_FORM, MED_FORM, DOSE_FORM = "adverse_event", "medication", "dose_change"
SEVERITY_CODES = {"mild": 1, "moderate": 2, "severe": 3}
PURPOSE_CODES = {"rescue": 1, "regular": 2}


def _event_fields(form: str, prefix: str) -> list[Field]:
    """What every event form ends with: its period, whether it is a correction (and why), its id."""
    return [
        Field(f"{prefix}_period", form, "text", "The period (phase id) its date falls in; empty in the follow-up"),
        Field(f"{prefix}_corrected", form, "yesno", "The event as corrected by the participant"),
        Field(f"{prefix}_reason", form, "notes", "Reason given for the correction"),
        Field(f"{prefix}_event_id", form, "text", "Event id (UUID) on the hub"),
    ]


def _choices_of(codes: dict[str, int]) -> str:
    return " | ".join(f"{code}, {label}" for label, code in codes.items())


EVENT_FIELDS = [
    Field("ae_what", AE_FORM, "text", "What happened", required="y"),
    Field("ae_started", AE_FORM, "text", "The day it started", validation="date_ymd", required="y", identifier="y"),
    Field("ae_severity", AE_FORM, "radio", "Severity", _choices_of(SEVERITY_CODES), required="y"),
    Field("ae_serious", AE_FORM, "yesno", "Serious adverse event", required="y"),
    Field("ae_resolved", AE_FORM, "text", "The day it ended (empty: ongoing)", validation="date_ymd", identifier="y"),
    Field("ae_acknowledged", AE_FORM, "text", "When a coordinator acknowledged it (serious events)",
          note="ISO 8601 with UTC offset"),
    *_event_fields(AE_FORM, "ae"),
    Field("med_name", MED_FORM, "text", "Medicine", required="y"),
    Field("med_dose", MED_FORM, "text", "Dose"),
    Field("med_taken", MED_FORM, "text", "When it was taken (the participant's local time)", validation="datetime_ymd",
          required="y", identifier="y"),
    Field("med_purpose", MED_FORM, "radio", "Why it was taken", _choices_of(PURPOSE_CODES), required="y"),
    *_event_fields(MED_FORM, "med"),
    Field("dose_amount", DOSE_FORM, "text", "The study drug's new dose", required="y"),
    Field("dose_from", DOSE_FORM, "text", "Its first day", validation="date_ymd", required="y", identifier="y"),
    *_event_fields(DOSE_FORM, "dose"),
]
FIXED = ({f.name for f in PARTICIPANT_FIELDS + DIARY_AFTER + EVENT_FIELDS + [SEQUENCE_FIELD]}
         | {"diary_date", "study_day", "phase", "timing"})


def variable(item_id: str, taken: set[str]) -> str:
    """A REDCap variable name for an item: lower case letters, digits and single underscores."""
    name = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", item_id.lower())).strip("_")
    if not name or not name[0].isalpha() or name in taken or name.endswith("_complete"):
        name = f"item_{name}".rstrip("_")
    base, n = name[:95], 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _choices(pairs) -> str:
    return " | ".join(f"{code}, {label}" for code, label in pairs)


def item_field(study: Study, item: Item, name: str) -> Field:
    protocol = study.latest
    asked = phases_asked(protocol, item)
    common = {"name": name, "form": DIARY_FORM, "label": asked_prompt(item), "required": "" if item.optional else "y",
              "note": item.name + (f"; better: {item.better}" if item.numeric else ""),
              "branching": "" if len(asked) == len(protocol.phases) else
              " or ".join(f"[phase] = '{study.phase_code(ph)}'" for ph in asked)}
    match item.kind:
        case "vas":
            return Field(type="slider", choices=f"{item.min_label} | | {item.max_label}", validation="number",
                         min=str(VAS_RANGE[0]), max=str(VAS_RANGE[1]), **common)
        case "number":
            low, high = ("" if x is None else f"{x:g}" for x in (item.min, item.max))
            return Field(type="text", validation="number", min=low, max=high, **common)
        case "yesno":
            return Field(type="yesno", **common)
        case "choice":
            return Field(type="radio", choices=_choices(study.all_coded_options(item)), **common)
        case "multi":
            return Field(type="checkbox", choices=_choices(study.all_coded_options(item)),
                         annotation=f"@NONEOFTHEABOVE={NONE_CODE}", **common)
    return Field(type="notes", **common)


class StudyFiles:
    """One study's dictionary (written at once) and import file (a row per counted report)."""

    def __init__(self, folder: Path, study: Study):
        self.study = study
        protocol = study.latest
        taken = set(FIXED)
        self.names = {item.id: variable(item.id, taken) for item in study.items()}
        self._codes = {self.names[i.id]: study.all_coded_options(i) for i in study.items()}
        phases = _choices((n, p.label) for n, p in enumerate(protocol.phases, 1))
        self.randomized = protocol.allocation.randomized
        self.fields = [
            *PARTICIPANT_FIELDS,
            *([SEQUENCE_FIELD] if self.randomized else []),
            Field("diary_date", DIARY_FORM, "text", "Diary date (the day the report is about)", validation="date_ymd",
                  required="y", identifier="y"),
            Field("study_day", DIARY_FORM, "text", "Study day", validation="integer", min="1",
                  max=str(longest(protocol)), required="y"),
            Field("phase", DIARY_FORM, "dropdown", "Study phase", phases, required="y"),
            Field("timing", DIARY_FORM, "dropdown", "How the report was filed",
                  _choices((c, t.replace("_", " ")) for t, c in TIMING_CODES.items()), required="y"),
            *(item_field(study, item, self.names[item.id]) for item in study.items()),
            *DIARY_AFTER,
            *EVENT_FIELDS,
        ]
        stem = fhir_id(study.study_id)
        # Both files are for REDCap's importer, not a spreadsheet: values exactly as typed (a note
        # "-not a number" must not become "'-not a number"); the codebook beside them keeps the guard.
        d = CsvFile(folder / f"{stem}_DataDictionary.csv", DICTIONARY_HEADER, guard=False)
        d.write(f.row() for f in self.fields)
        d.close()
        self.columns = ["record_id", *REPEAT]
        for f, after in zip(self.fields[1:], [*self.fields[2:], None]):
            if f.type == "checkbox":
                self.columns += [f"{f.name}___{code}" for code, _ in self._coded(f.name)]
            else:
                self.columns.append(f.name)
            if after is None or after.form != f.form:  # each form's status after its last field
                self.columns.append(f"{f.form}_complete")
        self.data = CsvFile(folder / f"{stem}_ImportData.csv", self.columns, guard=False)

    def _coded(self, name: str) -> list[tuple[int, str]]:
        """A checkbox field's codes: the options of every version of the study."""
        return self._codes[name]

    def add(self, g: Gathered, counting: set[str]) -> None:
        p, study = g.participant, self.study
        end = g.spans[-1].end.isoformat() if g.spans else ""
        row: dict[str, object] = dict.fromkeys(self.columns, "")
        row.update(record_id=p.participant_id, study_id=p.study_id, start_date=p.start.isoformat() if p.start else "",
                   end_date=end, time_zone=p.tz, **{f"{PARTICIPANT_FORM}_complete": COMPLETE})
        if self.randomized and g.revealed:
            row["sequence"] = sequence_key(p.sequence or fixed_sequence(study.latest))
        rows = [row]
        for e in g.entries:
            span = next((s for s in g.spans if e.diary_date in s), None)
            if e.id not in counting or span is None:
                continue
            row = dict.fromkeys(self.columns, "")
            row.update({"record_id": p.participant_id, "redcap_repeat_instrument": DIARY_FORM,
                        "redcap_repeat_instance": e.study_day, "diary_date": e.diary_date.isoformat(),
                        "study_day": e.study_day, "phase": study.phase_code(span.phase.base) if g.revealed else "",
                        "timing": TIMING_CODES[e.timing], "corrected": int(e.supersedes is not None),
                        "correction_reason": e.reason or "", "entry_id": e.id,
                        "submitted_at": e.submitted_at.isoformat(timespec="microseconds"),
                        "flags": ";".join(g.flags.get(e.id, [])), f"{DIARY_FORM}_complete": COMPLETE})
            for item in g.view(e.protocol_version).items_in(span.phase.id):
                self._answer(row, item, e.answers.get(item.id))
            rows.append(row)
        rows += self._event_rows(g)
        self.data.write([r[c] for c in self.columns] for r in rows)

    def _event_rows(self, g: Gathered) -> list[dict[str, object]]:
        """The participant's events as they stand, one repeating instance each, by form then date."""
        standing = ev.current(r["event"] for r in g.events)
        acked = {r["event"].id: r["acknowledged_at"] for r in g.events}
        instance: dict[str, int] = {}
        out = []
        for e in sorted(standing, key=lambda e: (e.kind, e.day, e.submitted_at)):
            span = event_span(g, e)
            form, prefix = {"adverse_event": (AE_FORM, "ae"), "medication": (MED_FORM, "med"),
                            "dose": (DOSE_FORM, "dose")}[e.kind]
            instance[form] = instance.get(form, 0) + 1
            row: dict[str, object] = dict.fromkeys(self.columns, "")
            row.update({"record_id": e.participant_id, "redcap_repeat_instrument": form,
                        "redcap_repeat_instance": instance[form], f"{prefix}_period": span.phase.id if span else "",
                        f"{prefix}_corrected": int(e.supersedes is not None), f"{prefix}_reason": e.reason or "",
                        f"{prefix}_event_id": e.id, f"{form}_complete": COMPLETE})
            if isinstance(e, ev.AdverseEvent):
                row.update(ae_what=e.what, ae_started=e.started.isoformat(), ae_severity=SEVERITY_CODES[e.severity],
                           ae_serious=int(e.serious), ae_resolved=e.resolved.isoformat() if e.resolved else "",
                           ae_acknowledged=stamp(acked.get(e.id)) or "")
            elif isinstance(e, ev.Medication):
                row.update(med_name=e.name, med_dose=e.dose or "", med_taken=f"{e.taken:%Y-%m-%d %H:%M}",
                           med_purpose=PURPOSE_CODES[e.purpose])
            else:
                row.update(dose_amount=e.amount, dose_from=e.from_date.isoformat())
            out.append(row)
        return out

    def _answer(self, row: dict[str, object], item: Item, v: Value) -> None:
        name = self.names[item.id]
        if v is None:
            return  # skipped: every cell of the item stays empty
        if isinstance(v, list):  # multi
            chosen = {self.study.options[item.id][o] for o in v} or {NONE_CODE}
            for code, _ in self._coded(name):  # the study's columns: options of every version
                row[f"{name}___{code}"] = int(code in chosen)
        elif item.kind == "choice":
            row[name] = self.study.options[item.id][str(v)]
        elif item.kind == "yesno":
            row[name] = int(bool(v))
        else:
            row[name] = v


class RedcapWriter:
    def __init__(self, folder: Path, studies: dict[str, Study]):
        private.folder(folder)
        write_codebook(folder, studies)
        stems: dict[str, str] = {}
        for sid in studies:  # one pair of files per study, never two studies in one
            claim(stems, fhir_id(sid), sid)
        self.files = {sid: StudyFiles(folder, s) for sid, s in studies.items()}

    def add(self, g: Gathered, counting: set[str], rows: TableRows) -> None:
        self.files[g.study.study_id].add(g, counting)

    def finish(self) -> None:
        for f in self.files.values():
            f.data.close()

    abort = finish
