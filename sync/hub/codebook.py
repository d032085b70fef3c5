"""The export codebook: what every item of every protocol version means, and how answers are coded.

One place for the coding every export format uses: option codes (stable across a study's protocol
versions), the code of "chose nothing" on a multi item, the status that tells an answer from a
skipped item, phase codes, and the one timestamp format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from diary_client.core.answers import format_value
from diary_client.core.days import render_prompt
from diary_client.core.entry import Value
from diary_client.core.protocol import Item, Protocol
from sync.hub.rules import protocol_from

NONE_CODE = 0  # a multi item answered with no option chosen (an answer, not a skipped item)
NONE_LABEL = "(none chosen)"
ANSWERED, SKIPPED = "answered", "skipped"
VAS_RANGE = (0, 100)


def stamp(t: datetime | str | None) -> str | None:
    """Every timestamp of every export: ISO 8601 with its UTC offset, to the microsecond."""
    if t is None:
        return None
    if isinstance(t, str):
        if len(t) == 32 and t[19] == "." and t[26] in "+-":
            return t  # already so (the hub writes its own times this way)
        t = datetime.fromisoformat(t)
    return t.isoformat(timespec="microseconds")


def asked_prompt(item: Item) -> str:
    """The prompt as a participant read it for the day itself ({day}: "today", {night}: "last night")."""
    return render_prompt(item.prompt, date.min, date.min)


@dataclass(frozen=True)
class Study:
    """A study's protocol versions (oldest first) and the codes its answers are exported with."""

    study_id: str
    versions: tuple[Protocol, ...]
    options: dict[str, dict[str, int]]  # item id -> option text -> code (1, 2, ...)

    @property
    def latest(self) -> Protocol:
        return self.versions[-1]

    def version(self, number: int) -> Protocol:
        return next((p for p in self.versions if p.version == number), self.latest)

    def phase_code(self, phase_id: str) -> int:
        """Phases by position (1, 2, ...): protocol updates keep the phases, so this never moves."""
        return next(n for n, p in enumerate(self.latest.phases, 1) if p.id == phase_id)

    def items(self) -> list[Item]:
        """Every item of the study, in the latest version's order (updates never remove items)."""
        return list(self.latest.items)

    def coded_options(self, item: Item) -> list[tuple[int, str]]:
        """(code, label) of an item's options as a version lists them; multi items add "none"."""
        if item.kind not in ("choice", "multi"):
            return []
        out = [(self.options[item.id][o], o) for o in item.options or []]
        return out + [(NONE_CODE, NONE_LABEL)] if item.kind == "multi" else out

    def all_coded_options(self, item: Item) -> list[tuple[int, str]]:
        """(code, label) of every option any version of the study offered (one data dictionary
        serves every version: an option an update dropped still has answers)."""
        out = [(code, text) for text, code in self.options[item.id].items()]
        return out + [(NONE_CODE, NONE_LABEL)] if item.kind == "multi" else out

    def code(self, item: Item, v: Value) -> str | None:
        """The coded answer: "2" for a choice, "1;3" for a multi, "0" for a multi with nothing chosen."""
        if v is None or item.kind not in ("choice", "multi"):
            return None
        codes = self.options[item.id]
        if item.kind == "choice":
            return str(codes[v])  # type: ignore[index]  # a choice answer is one of the options' texts (answers.check)
        return ";".join(str(codes[o]) for o in v) if v else str(NONE_CODE)  # type: ignore[union-attr]  # a multi answer is a list of option texts


def studies(versions: Iterable[tuple[str, int, str]]) -> dict[str, Study]:
    """Each study from its (study id, version, protocol TOML) rows."""
    by_study: dict[str, list[Protocol]] = {}
    for study_id, _version, toml in versions:
        by_study.setdefault(study_id, []).append(protocol_from(toml))
    out = {}
    for study_id, protocols in sorted(by_study.items()):
        protocols.sort(key=lambda p: p.version)
        options: dict[str, dict[str, int]] = {}
        for p in protocols:  # first seen, first coded: an option added later gets the next code
            for item in p.items:
                codes = options.setdefault(item.id, {})
                for o in item.options or []:
                    codes.setdefault(o, len(codes) + 1)
        out[study_id] = Study(study_id, tuple(protocols), options)
    return out


def value_range(item: Item) -> tuple[float | None, float | None]:
    if item.kind == "vas":
        return VAS_RANGE
    if item.kind == "number":
        return item.min, item.max
    return None, None


def phases_asked(protocol: Protocol, item: Item) -> list[str]:
    return [p.id for p in protocol.phases if item.asked_in(p.id)]


CODEBOOK_COLUMNS = (
    "study_id", "protocol_version", "position", "item_id", "label", "prompt", "kind", "min_label", "max_label",
    "options", "range_min", "range_max", "better", "primary", "optional", "phases",
)


def codebook_rows(study: Study) -> Iterable[tuple]:
    """One row per item of each protocol version, in `CODEBOOK_COLUMNS` order."""
    for p in study.versions:
        for n, item in enumerate(p.items, 1):
            lo, hi = value_range(item)
            options = " | ".join(f"{c} = {label}" for c, label in study.coded_options(item)) or None
            yield (study.study_id, p.version, n, item.id, item.name, item.prompt, item.kind,
                   item.min_label or None, item.max_label or None, options, lo, hi,
                   item.better if item.numeric else None, int(item.primary), int(item.optional),
                   ";".join(phases_asked(p, item)))


def option_rows(study: Study) -> Iterable[tuple]:
    """(study id, item id, code, label, exclusive) for every coded option of the study."""
    for item in study.items():
        if item.kind in ("choice", "multi"):
            for text, code in study.options[item.id].items():
                yield study.study_id, item.id, code, text, 0
            if item.kind == "multi":
                yield study.study_id, item.id, NONE_CODE, NONE_LABEL, 1


def answer_cells(study: Study, item: Item, v: Value) -> tuple[str, str | None, str | None, float | int | None]:
    """(status, value as typed text, code, number) of one answer; a skipped item has only its status."""
    if v is None:
        return SKIPPED, None, None, None
    number = int(bool(v)) if item.kind == "yesno" else v if item.numeric else None
    return ANSWERED, format_value(item, v), study.code(item, v), number  # type: ignore[return-value]  # number is an int or float for numeric items, as the row type says
