"""Study protocol: pydantic models, TOML loading and the built-in protocols."""

from __future__ import annotations

import tomllib
from datetime import time
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_PROTOCOL = "ldn-fm"
_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"


class ProtocolError(ValueError):
    """A protocol file that cannot be used; the message names the file, field and problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    opens: time = time(18, 0)
    closes: time = time(23, 59)
    grace_hours: float = Field(12, ge=0, le=48)
    remind: time = time(19, 0)


class AnalysisSettings(_Strict):
    responder_points: float = Field(30, ge=0, le=100)


class Phase(_Strict):
    id: str = Field(pattern=_ID)
    role: Literal["baseline", "placebo", "active", "washout", "other"]
    days: int = Field(ge=1, le=3660)
    label: str = Field(min_length=1)
    participant_label: str | None = None


ItemKind = Literal["vas", "yesno", "choice", "multi", "number", "text"]


class Item(_Strict):
    id: str = Field(pattern=_ID)
    kind: ItemKind
    prompt: str = Field(min_length=1)
    min_label: str = ""
    max_label: str = ""
    better: Literal["lower", "higher"] = "lower"
    primary: bool = False
    optional: bool = False
    phases: list[str] | None = None
    options: list[str] | None = None
    min: float | None = None  # for "number" items
    max: float | None = None

    @model_validator(mode="after")
    def _options_fit_kind(self) -> Item:
        if self.kind in ("choice", "multi"):
            if not self.options:
                raise ValueError(f"a {self.kind} item needs a non-empty 'options' list")
            if len(set(self.options)) != len(self.options):
                raise ValueError("'options' has the same option twice")
            if self.kind == "multi" and any(";" in o for o in self.options):
                raise ValueError("multi options may not contain ';' (it separates choices)")
        elif self.options is not None:
            raise ValueError(f"'options' is only for choice and multi items, not {self.kind}")
        if self.primary and self.kind not in ("vas", "number"):
            raise ValueError("the primary item must be a 'vas' or 'number' item")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        return self

    def asked_in(self, phase_id: str) -> bool:
        return self.phases is None or phase_id in self.phases

    @property
    def numeric(self) -> bool:
        return self.kind in ("vas", "number")


class Protocol(_Strict):
    id: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    version: int = Field(1, ge=1)
    blinding: Literal["open", "single", "double"] = "open"
    unblind_after_end: bool = True
    masked: bool = False  # a double-blind device's copy: phase ids, labels and roles withheld (`masked`)
    schedule: Schedule = Schedule()
    analysis: AnalysisSettings = AnalysisSettings()
    phases: list[Phase] = Field(min_length=1)
    items: list[Item] = Field(min_length=1)

    @field_validator("phases")
    @classmethod
    def _unique_phases(cls, phases: list[Phase]) -> list[Phase]:
        _no_repeats([p.id for p in phases], "phase")
        return [
            p if p.participant_label else p.model_copy(update={"participant_label": f"Period {i}"})
            for i, p in enumerate(phases, 1)
        ]

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[Item]) -> list[Item]:
        _no_repeats([i.id for i in items], "item")
        primaries = [i.id for i in items if i.primary]
        if len(primaries) != 1:
            raise ValueError(f"exactly one item must have primary = true (found {len(primaries)})")
        return items

    @model_validator(mode="after")
    def _item_phases_exist(self) -> Protocol:
        known = {p.id for p in self.phases}
        for n, item in enumerate(self.items):
            for ph in item.phases or []:
                if ph not in known:
                    raise ValueError(f"items[{n}] ({item.id}): unknown phase {ph!r} in 'phases'")
        return self

    @property
    def days_total(self) -> int:
        return sum(p.days for p in self.phases)

    @property
    def primary(self) -> Item:
        return next(i for i in self.items if i.primary)

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def phase(self, phase_id: str) -> Phase:
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)

    def first_phase(self, role: str) -> Phase | None:
        return next((p for p in self.phases if p.role == role), None)

    def items_in(self, phase_id: str) -> list[Item]:
        return self.split_items(phase_id)[0]

    def split_items(self, phase_id: str) -> tuple[list[Item], list[Item]]:
        """(items asked in the phase, items not asked); precomputed: the hub checks every entry."""
        return self._items_by_phase[phase_id]

    @cached_property
    def _items_by_phase(self) -> dict[str, tuple[list[Item], list[Item]]]:
        return {p.id: ([i for i in self.items if i.asked_in(p.id)], [i for i in self.items if not i.asked_in(p.id)])
                for p in self.phases}

    @cached_property
    def item_ids(self) -> frozenset[str]:
        return frozenset(i.id for i in self.items)


def _no_repeats(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{what} id {i!r} appears twice")
        seen.add(i)


def _where(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_protocol(text: str, source: str = "protocol") -> Protocol:
    """Parse and validate protocol TOML text; `source` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProtocolError(f"{source}: not valid TOML: {e}") from None
    try:
        return Protocol.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        more = f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        raise ProtocolError(f"{source}: {_where(err['loc'])}: {msg}{more}") from None


def masked(protocol: Protocol) -> Protocol:
    """The protocol as a double-blind participant's device holds it until unblinding.

    In double blinding the phase order lives on the hub: the device gets the phases as
    "period-1", "period-2", ... with their participant labels and no roles, and items limited to
    some phases name them the same way, so the device asks the same items on the same days
    without holding anything that tells placebo from drug.
    """
    ids = {p.id: f"period-{n}" for n, p in enumerate(protocol.phases, 1)}
    phases = [p.model_copy(update={"id": ids[p.id], "label": p.participant_label, "role": "other"})
              for p in protocol.phases]
    items = [i.model_copy(update={"phases": [ids[x] for x in i.phases]}) if i.phases else i for i in protocol.items]
    return protocol.model_copy(update={"phases": phases, "items": items, "masked": True})


def to_toml(protocol: Protocol) -> str:
    """Protocol TOML text for a protocol object (a device stores its protocol as text)."""
    import tomli_w

    return tomli_w.dumps(protocol.model_dump(mode="json", exclude_none=True))


def update_problem(old: Protocol, new: Protocol) -> str | None:
    """Why `new` cannot replace `old` for participants already in the study, or None if it can.

    An update may add items and change prompts, labels, blinding and the schedule's times. It
    may not change the phases' ids, lengths or roles, which would move participants' phase
    dates or what their phases are compared as; nor remove an item or change its kind, which
    would strand the answers given to it, nor its direction or which item is primary, which
    would change the analysis of the data already collected. The true protocol replaces a
    device's masked copy at unblinding (same version, true ids and roles).
    """
    if new.id != old.id:
        return f"it is study {new.id!r}, not {old.id!r}"
    unmasking = old.masked and not new.masked
    if new.version < old.version or (new.version == old.version and not unmasking):
        return f"its version {new.version} is not newer than version {old.version}"
    same = (lambda p: p.days) if old.masked != new.masked else (lambda p: (p.id, p.days, p.role))
    if [same(p) for p in new.phases] != [same(p) for p in old.phases]:
        return "it changes the phases' ids, lengths or roles, which would move participants' phases"
    kept = {i.id: (i.kind, i.better, i.primary) for i in new.items}
    for item in old.items:
        if kept.get(item.id) != (item.kind, item.better, item.primary):
            return (f"it removes item {item.id!r} or changes its kind, direction or primary mark, "
                    "which would change how the answers already given are read")
    return None


def builtin_text(name: str = DEFAULT_PROTOCOL) -> str:
    path = resources.files("diary_client") / "protocols" / f"{name}.toml"
    if not path.is_file():
        raise ProtocolError(f"no built-in protocol called {name!r}")
    return path.read_text(encoding="utf-8")


def load_protocol_text(path: str | Path | None) -> str:
    """The TOML text of a protocol file, or of the built-in default when `path` is None."""
    if path is None:
        return builtin_text()
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{p}: no such protocol file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProtocolError(f"{p}: cannot read protocol file ({e})") from None


def checked_protocol_text(path: str | Path | None) -> str:
    """`load_protocol_text`, refused with the file's name in the message unless it is a valid protocol."""
    text = load_protocol_text(path)
    parse_protocol(text, str(path) if path else DEFAULT_PROTOCOL)
    return text


def load_protocol(path: str | Path | None = None) -> Protocol:
    return parse_protocol(load_protocol_text(path), str(path) if path else DEFAULT_PROTOCOL)
