"""Study protocol: frozen record models (msgspec Structs), TOML loading (validated by pydantic) and the built-in protocols."""

from __future__ import annotations

import math
import re
import tomllib
from datetime import time
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import field
from msgspec.structs import replace

from diary_client.core import constraints as c

if TYPE_CHECKING:
    from pydantic import TypeAdapter

DEFAULT_PROTOCOL = "ldn-fm"
_BUILTIN_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")  # a bare name, never a path
# A protocol file is small and shallow (the built-in ones: 4 KiB, 4 levels); anything far beyond
# is refused before it can exhaust the parser, a database column or the device.
MAX_BYTES = 256 * 1024
MAX_DEPTH = 8
MAX_INT = 2**31 - 1
ENDPOINT_DAYS = 3  # both papers: the mean of the final 3 days of each condition

Role = Literal["baseline", "placebo", "active", "washout", "other"]
ROLES: tuple[Role, ...] = ("baseline", "placebo", "active", "washout", "other")
ItemKind = Literal["vas", "yesno", "choice", "multi", "number", "text"]


class ProtocolError(ValueError):
    """A protocol file that cannot be used; the message names the file, field and problem."""


class Schedule(c.Checked, frozen=True, kw_only=True):
    opens: time = time(18, 0)
    closes: time = time(23, 59)
    grace_hours: Annotated[float, c.Ge(0), c.Le(48)] = 12
    remind: time | list[time] = time(19, 0)  # one time, or several
    # May a device that syncs with a hub import paper or legacy days (`diary import`)? By default
    # such days enter the study only through the coordinator; either way they are never "done".
    device_import: bool = False

    @property
    def reminders(self) -> list[time]:
        """Every reminder time of the day, in the protocol's order."""
        return list(self.remind) if isinstance(self.remind, list) else [self.remind]

    def __post_init__(self) -> None:
        if isinstance(self.remind, list) and not self.remind:
            raise ValueError("remind: give at least one time (or leave it out for 19:00)")


class ItemPoints(c.Checked, frozen=True, kw_only=True):
    """One part of a multi-item responder rule: this item's `vs_placebo_points` ≥ `points`."""

    item: c.Id
    points: Annotated[float, c.Ge(0), c.Le(100)]


class ResponderRule(c.Checked, frozen=True, kw_only=True):
    """`responder = { all = [...], any = [...] }`: every `all` part holds and, if `any` is given, at least one of it."""

    all: list[ItemPoints] = field(default_factory=list)
    any: list[ItemPoints] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.all and not self.any:
            raise ValueError("responder: give at least one item in 'all' or 'any'")


class AnalysisSettings(c.Checked, frozen=True, kw_only=True):
    responder_points: Annotated[float, c.Ge(0), c.Le(100)] = 30
    trend: bool = False  # the model adds a linear study-day term
    # By phase role: days at a phase's start the model leaves out (onset, carry-over); a role not
    # named leaves none out.
    exclude_first_days: dict[Role, Annotated[int, c.Ge(0), c.Le(3660)]] = field(default_factory=dict)
    multiplicity: Literal["holm", "none"] = "holm"
    endpoint_days: Annotated[int, c.Ge(1), c.Le(365)] = ENDPOINT_DAYS  # the endpoint mean's last N days with an entry
    responder: ResponderRule | None = None  # a multi-item rule beside `responder_points` (the 2013 trial's)

    def __post_init__(self) -> None:
        unknown = set(self.exclude_first_days) - set(ROLES)
        if unknown:
            raise ValueError(f"exclude_first_days: {sorted(unknown)[0]!r} is not a phase role ({', '.join(ROLES)})")



class Contact(c.Checked, frozen=True, kw_only=True):
    """`[contact]`: whom a participant calls besides filing a serious adverse event."""

    study_team: Annotated[str, c.MinLen(1), c.MaxLen(200)] | None = None  # e.g. "the LDN study nurse"
    phone: Annotated[str, c.MinLen(1), c.MaxLen(50)] | None = None

    def words(self) -> str:
        """Whom to call, in words: the study team (its name) at the phone, as much as the protocol says."""
        who = f"the study team ({self.study_team})" if self.study_team else "the study team"
        return who + (f" at {self.phone}" if self.phone else "")


class Phase(c.Checked, frozen=True, kw_only=True):
    id: c.Id
    role: Role
    days: Annotated[int, c.Ge(1), c.Le(3660)]
    label: c.Text
    participant_label: str | None = None
    # In a participant's expanded schedule (`design.expand`) each period is a Phase whose id is the
    # period's ("ldn-2") and `phase` the protocol phase it is an occurrence of; None: the phase itself.
    phase: str | None = None

    @property
    def base(self) -> str:
        """The protocol phase this phase (or period) is an occurrence of."""
        return self.phase or self.id


DesignMethod = Literal["fixed", "counterbalanced", "randomized_pairs"]


class Allocation(c.Checked, frozen=True, kw_only=True):
    """`[allocation]`: how each participant's sequence of periods is chosen (docs/designs.md).

    fixed: the phases in file order (the 2009 design); counterbalanced: one of `sequences`, balanced
    in permuted blocks of `block_size`; randomized_pairs: `lead_in`, then `cycles` cycles each holding
    the two phases of `pair` in random order, `between` (if given) between any two treatment periods."""

    method: DesignMethod = "fixed"
    sequences: list[list[c.Id]] | None = None
    block_size: Annotated[int, c.Ge(1), c.Le(1000)] | None = None
    lead_in: list[c.Id] = field(default_factory=list)
    pair: list[c.Id] | None = None
    cycles: Annotated[int, c.Ge(1), c.Le(50)] | None = None
    between: c.Id | None = None

    def __post_init__(self) -> None:
        m = self.method
        if m == "counterbalanced":
            if not self.sequences or len(self.sequences) < 2:
                raise ValueError("sequences: a counterbalanced design needs at least two sequences of phase ids")
            if any(not seq for seq in self.sequences):
                raise ValueError("sequences: a sequence is empty")
            if len({tuple(seq) for seq in self.sequences}) != len(self.sequences):
                raise ValueError("sequences: the same sequence appears twice")
            if self.block_size is not None and self.block_size % len(self.sequences):
                raise ValueError(f"block_size: {self.block_size} is not a multiple of the {len(self.sequences)} sequences")
        elif self.sequences is not None:
            raise ValueError(f"sequences: only a counterbalanced design lists sequences, not {m}")
        if m == "randomized_pairs":
            if not self.pair or len(self.pair) != 2 or self.pair[0] == self.pair[1]:
                raise ValueError("pair: a randomized_pairs design needs two different phase ids")
            if self.cycles is None:
                raise ValueError("cycles: a randomized_pairs design needs cycles = 1 or more")
        else:
            for name in ("pair", "cycles", "between"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only a randomized_pairs design has {name}, not {m}")
            if self.lead_in:
                raise ValueError(f"lead_in: only a randomized_pairs design has a lead_in, not {m}")
        if m != "counterbalanced" and self.block_size is not None:
            raise ValueError(f"block_size: only a counterbalanced design has blocks, not {m}")

    @property
    def randomized(self) -> bool:
        return self.method != "fixed"


class Item(c.Checked, frozen=True, kw_only=True):
    id: c.Id
    kind: ItemKind
    prompt: c.Text
    label: c.Text | None = None  # a short name wherever a person reads (default: the id)
    min_label: str = ""
    max_label: str = ""
    better: Literal["lower", "higher"] = "lower"
    primary: bool = False
    optional: bool = False
    phases: list[str] | None = None
    options: list[str] | None = None
    min: float | None = None  # for "number" items
    max: float | None = None

    def __post_init__(self) -> None:
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

    @property
    def name(self) -> str:
        """What a person reads for this item: its label, or its id."""
        return self.label or self.id

    def asked_in(self, phase_id: str) -> bool:
        return self.phases is None or phase_id in self.phases

    @property
    def numeric(self) -> bool:
        return self.kind in ("vas", "number")


BLIND_GUESS = "blind_guess"
BLIND_SURE = "blind_sure"
BLIND_OPTIONS = ("drug", "placebo", "don't know")
CHECKED_ROLES = ("active", "placebo")


class BlindingCheck(c.Checked, frozen=True, kw_only=True):
    """`[blinding_check]`: on the last day of each treatment phase the day's report also asks
    which treatment the participant thinks she was taking, and how sure she is."""

    ask: Literal["period_end"] = "period_end"
    # The phases whose last day asks; None: every active and placebo phase. A double-blind
    # device's copy names them (`masked`), as it holds no roles.
    phases: list[str] | None = None


def blinding_items() -> tuple[Item, ...]:
    """The two questions of the blinding check, asked as items of that day's report."""
    return (
        Item(id=BLIND_GUESS, kind="choice", label="Blinding guess",
             prompt="Which do you think you were taking in this period?", options=list(BLIND_OPTIONS)),
        Item(id=BLIND_SURE, kind="vas", label="Blinding guess: how sure",
             prompt="How sure are you of that answer?", min_label="Not sure at all", max_label="Completely sure",
             optional=True),
    )


class Protocol(c.Checked, frozen=True, kw_only=True, dict=True):  # dict: room for the cached properties
    id: c.Id
    title: c.Text
    version: Annotated[int, c.Ge(1), c.Le(MAX_INT)] = 1
    blinding: Literal["open", "single", "double"] = "open"
    unblind_after_end: bool = True
    masked: bool = False  # a double-blind device's copy: phase ids, labels and roles withheld (`masked`)
    # While blinded, show "Week 7 of 22" instead of period names and boundaries: set by the hub on a
    # randomized design's device copy where the periods' lengths would tell the order (docs/designs.md).
    conceal_periods: bool = False
    schedule: Schedule = field(default_factory=Schedule)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    allocation: Allocation = field(default_factory=Allocation)
    contact: Contact | None = None  # `[contact]`: the study team's phone (a serious adverse event)
    phases: Annotated[list[Phase], c.MinLen(1)]
    items: Annotated[list[Item], c.MinLen(1)]
    blinding_check: BlindingCheck | None = None

    def __post_init__(self) -> None:
        # The messages name the field: pydantic gives a dataclass's own check no location.
        _no_repeats([p.id for p in self.phases], "phases: phase")
        _no_repeats([i.id for i in self.items], "items: item")
        primaries = [i.id for i in self.items if i.primary]
        if len(primaries) != 1:
            raise ValueError(f"items: exactly one item must have primary = true (found {len(primaries)})")
        known = {p.id for p in self.phases}
        for n, item in enumerate(self.items):
            for ph in item.phases or []:
                if ph not in known:
                    raise ValueError(f"items[{n}] ({item.id}): unknown phase {ph!r} in 'phases'")
        self._check_design({p.base for p in self.phases})
        self._check_responder()
        if self.blinding_check is not None:
            for ph in self.blinding_check.phases or []:
                if ph not in known:
                    raise ValueError(f"blinding_check.phases: unknown phase {ph!r}")
            for i in self.items:
                if i.id in (BLIND_GUESS, BLIND_SURE):
                    raise ValueError(f"items: {i.id!r} is the blinding check's own item; "
                                     "give your item another id")
        if any(not p.participant_label for p in self.phases):
            c.set_field(self, "phases", [
                p if p.participant_label else replace(p, participant_label=f"Period {i}")
                for i, p in enumerate(self.phases, 1)])

    def _check_design(self, known: set[str]) -> None:
        """The allocation names only this protocol's phases, and a randomized pair compares two roles."""
        a = self.allocation
        named: list[tuple[str, str]] = []
        for n, seq in enumerate(a.sequences or []):
            named += [(f"allocation.sequences[{n}][{k}]", ph) for k, ph in enumerate(seq)]
        named += [(f"allocation.lead_in[{k}]", ph) for k, ph in enumerate(a.lead_in)]
        named += [(f"allocation.pair[{k}]", ph) for k, ph in enumerate(a.pair or [])]
        named += [("allocation.between", a.between)] if a.between else []
        for where, ph in named:
            if ph not in known:
                raise ValueError(f"{where}: unknown phase {ph!r} (phases: {', '.join(sorted(known))})")
        if a.pair:
            roles = [next(p.role for p in self.phases if p.base == ph) for ph in a.pair]
            if roles[0] == roles[1]:
                raise ValueError(f"allocation.pair: both phases have the role {roles[0]!r}; a pair compares two "
                                 "roles (one 'active' and one 'placebo')")
            if set(roles) != {"active", "placebo"}:
                raise ValueError(f"allocation.pair: a pair holds one 'active' and one 'placebo' phase "
                                 f"(found {roles[0]!r} and {roles[1]!r})")

    def _check_responder(self) -> None:
        rule = self.analysis.responder
        if rule is None:
            return
        numeric = {i.id for i in self.items if i.numeric}
        for part, parts in (("all", rule.all), ("any", rule.any)):
            for n, ip in enumerate(parts):
                if ip.item not in numeric:
                    raise ValueError(f"analysis.responder.{part}[{n}].item: {ip.item!r} is not a vas or number item")

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
        """The protocol's own items asked on the days of a phase (the blinding check's aside)."""
        return self.split_items(phase_id)[0]

    def items_on(self, phase_id: str, last_day: bool) -> list[Item]:
        """Every item a day's report asks: `last_day` is whether the day is its phase's last."""
        return self.split_items(phase_id, last_day)[0]

    def split_items(self, phase_id: str, last_day: bool = False) -> tuple[list[Item], list[Item]]:
        """(items asked on a day of the phase, items not asked): the one rule of what a day asks,
        which the device, the command line and the hub all use. The blinding check's items are
        asked on the last day of a phase it covers (`last_day`); precomputed: the hub checks every entry."""
        return self._items_by_day[phase_id, last_day and self.checks_blinding(phase_id)]

    def checks_blinding(self, phase_id: str) -> bool:
        """Whether the last day of this phase asks the blinding check."""
        check = self.blinding_check
        if check is None:
            return False
        if check.phases is not None:
            return phase_id in check.phases
        return self.phase(phase_id).role in CHECKED_ROLES

    @cached_property
    def check_items(self) -> tuple[Item, ...]:
        """The blinding check's items, or none without `[blinding_check]`."""
        return () if self.blinding_check is None else blinding_items()

    @cached_property
    def all_items(self) -> list[Item]:
        """The protocol's items and the blinding check's: every item an answer may be given to."""
        return [*self.items, *self.check_items]

    @cached_property
    def _items_by_day(self) -> dict[tuple[str, bool], tuple[list[Item], list[Item]]]:
        """(phase id, whether the day asks the blinding check) -> (asked, not asked)."""
        out = {}
        for p in self.phases:
            asked = [i for i in self.items if i.asked_in(p.id)]
            not_asked = [i for i in self.items if not i.asked_in(p.id)]
            out[p.id, False] = (asked, not_asked + list(self.check_items))
            out[p.id, True] = (asked + list(self.check_items), not_asked)
        return out

    @cached_property
    def item_ids(self) -> frozenset[str]:
        """Every item id an answer may be given to (the blinding check's included)."""
        return frozenset(i.id for i in self.all_items)


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


@cache
def _adapter() -> TypeAdapter[Protocol]:
    from pydantic import TypeAdapter

    return TypeAdapter(Protocol)


def parse_protocol(text: str, source: str = "protocol") -> Protocol:
    """Parse and validate protocol TOML text; `source` names it in error messages."""
    from pydantic import ValidationError

    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ProtocolError(f"{source}: larger than a protocol can be ({MAX_BYTES // 1024} KiB at most)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ProtocolError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        raise ProtocolError(f"{source}: nested deeper than a protocol can be ({MAX_DEPTH} levels at most)") from None
    problem = _bounds_problem(data)
    if problem:
        raise ProtocolError(f"{source}: {problem}")
    try:
        return _adapter().validate_python(data)
    except ValidationError as e:
        err = e.errors()[0]
        more = f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "unexpected_keyword_argument":  # what pydantic says of an unknown key of a dataclass
            msg = "Extra inputs are not permitted"
        where = f"{_where(err['loc'])}: " if err["loc"] else ""  # a whole-protocol check names its field
        raise ProtocolError(f"{source}: {where}{msg}{more}") from None


def _bounds_problem(data: dict) -> str | None:
    """Where the parsed TOML is deeper than MAX_DEPTH, or holds an integer beyond ±MAX_INT or a
    float that is not finite (no field of a protocol needs one), or None. Walked without recursion."""
    todo: list[tuple[tuple, Any]] = [((), data)]
    while todo:
        loc, value = todo.pop()
        if len(loc) > MAX_DEPTH:
            return f"{_where(loc[:MAX_DEPTH])}: nested deeper than a protocol can be ({MAX_DEPTH} levels at most)"
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > MAX_INT:
            return f"{_where(loc)}: {value} is out of range (at most {MAX_INT})"
        if isinstance(value, float) and not math.isfinite(value):
            return f"{_where(loc)}: {value} is not a finite number"
        if isinstance(value, dict):
            todo += [((*loc, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [((*loc, i), v) for i, v in enumerate(value)]
    return None


def stored_protocol(text: str, source: str = "stored protocol") -> Protocol:
    """A protocol from TOML text that was validated before it was stored (the device's own copy),
    built without pydantic: the app's start path reads it, and pydantic is slow to load.
    A damaged copy is a ProtocolError (`source` names it), not a crash."""
    try:
        data = tomllib.loads(text)
        schedule = {k: _time(v) if k != "remind" else _times(v) for k, v in data.get("schedule", {}).items()}
        return Protocol(**{
            **data,
            "schedule": Schedule(**schedule),
            "analysis": _analysis(data.get("analysis", {})),
            "allocation": Allocation(**data.get("allocation", {})),
            "contact": Contact(**data["contact"]) if "contact" in data else None,
            "phases": [Phase(**p) for p in data["phases"]],
            "items": [Item(**i) for i in data["items"]],
            **({"blinding_check": BlindingCheck(**data["blinding_check"])} if "blinding_check" in data else {}),
        })
    except (tomllib.TOMLDecodeError, TypeError, ValueError, KeyError, AttributeError) as e:
        raise ProtocolError(f"{source}: cannot be read ({type(e).__name__}: {e})") from None


def _analysis(data: dict) -> AnalysisSettings:
    rule = data.get("responder")
    if rule is not None:
        rule = ResponderRule(**{k: [ItemPoints(**p) for p in v] for k, v in rule.items()})
    return AnalysisSettings(**{**data, "responder": rule})


def _time(v: Any) -> Any:
    return time.fromisoformat(v) if isinstance(v, str) else v


def _times(v: Any) -> Any:
    return [_time(t) for t in v] if isinstance(v, list) else _time(v)


def masked(protocol: Protocol) -> Protocol:
    """The protocol as a double-blind participant's device holds it until unblinding.

    In double blinding the phase order lives on the hub: the device gets the phases as
    "period-1", "period-2", ... with their participant labels and no roles, and items limited to
    some phases name them the same way, so the device asks the same items on the same days
    without holding anything that tells placebo from drug.
    """
    ids = {p.id: f"period-{n}" for n, p in enumerate(protocol.phases, 1)}
    phases = [replace(p, id=ids[p.id], label=p.participant_label or p.label, role="other", phase=None)
              for p in protocol.phases]
    items = [replace(i, phases=[ids[x] for x in i.phases]) if i.phases else i for i in protocol.items]
    check = protocol.blinding_check
    if check is not None:  # named by period: the masked phases have no roles to find them by
        check = replace(check, phases=[ids[p.id] for p in protocol.phases if protocol.checks_blinding(p.id)])
    return replace(protocol, phases=phases, items=items, masked=True, blinding_check=check,
                   allocation=Allocation())  # the design's sequences name phases and orders: none of it here


def _plain(value: Any, keep_none: bool) -> Any:
    """Records, dicts and lists as plain JSON/TOML values (times as text), None left out unless `keep_none`."""
    if isinstance(value, msgspec.Struct):
        value = msgspec.structs.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v, keep_none) for k, v in value.items() if keep_none or v is not None}
    if isinstance(value, list):
        return [_plain(v, keep_none) for v in value]
    if isinstance(value, time):
        return value.isoformat()
    return value


# Fields added after reports began to hash `as_json(protocol)` (`analysis.personal.data_hash`):
# left out while unset, so a protocol without them keeps the hash it had.
def as_json(protocol: Protocol) -> dict[str, Any]:
    """The protocol as JSON values (times as text, every field, None included)."""
    return _plain(protocol, keep_none=True)


# Fields added after reports began to hash the protocol, with the value that means "as before": left
# out of the hash view at that value, so a protocol that does not use them keeps its data hash.
_LATER_DEFAULTS: dict[tuple[str, ...], Any] = {
    ("analysis", "endpoint_days"): ENDPOINT_DAYS,
    ("analysis", "responder"): None,
    ("schedule", "device_import"): False,
    ("blinding_check",): None,
    ("contact",): None,
    ("conceal_periods",): False,
    ("allocation",): _plain(Allocation(), keep_none=True),  # the fixed design: no [allocation]
}


def hash_view(protocol: Protocol) -> dict[str, Any]:
    """`as_json` without the later fields at their "as before" values (the data hash's protocol part)."""
    doc = as_json(protocol)
    for path, default in _LATER_DEFAULTS.items():
        *parents, key = path
        node = doc
        for part in parents:
            node = node.get(part, {})
        if key in node and node[key] == default:
            node.pop(key)
    for ph in doc["phases"]:
        if ph.get("phase") is None:
            ph.pop("phase", None)
    return doc


def to_toml(protocol: Protocol) -> str:
    """Protocol TOML text for a protocol object (a device stores its protocol as text)."""
    import tomli_w

    return tomli_w.dumps(_plain(protocol, keep_none=False))


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
    if old.masked != new.masked:
        if not _same_days(old, new):
            return "it changes the phases' ids, lengths or roles, which would move participants' phases"
    elif [(p.id, p.days, p.role) for p in new.phases] != [(p.id, p.days, p.role) for p in old.phases]:
        return "it changes the phases' ids, lengths or roles, which would move participants' phases"
    elif new.allocation != old.allocation:
        return "it changes the allocation, which would change the sequences participants were given"
    kept = {i.id: (i.kind, i.better, i.primary) for i in new.items}
    for item in old.items:
        if kept.get(item.id) != (item.kind, item.better, item.primary):
            return (f"it removes item {item.id!r} or changes its kind, direction or primary mark, "
                    "which would change how the answers already given are read")
    return None


def _same_days(old: Protocol, new: Protocol) -> bool:
    """A masked copy and the true protocol (either way round) cover the same days, and every boundary
    of the masked one is a boundary of the true one (a masked copy may merge periods whose order it
    conceals: docs/designs.md)."""
    def cuts(p: Protocol) -> set[int]:
        out, day = set(), 0
        for ph in p.phases:
            day += ph.days
            out.add(day)
        return out

    m, t = (old, new) if old.masked else (new, old)
    return m.days_total == t.days_total and cuts(m) <= cuts(t)


def builtin_names() -> list[str]:
    """The built-in protocols' names (`--protocol NAME` takes any of them)."""
    from importlib import resources  # ~5 ms (tempfile, shutil, the compressors): only a built-in protocol needs it

    folder = resources.files("diary_client.core") / "protocols"
    return sorted(f.name.removesuffix(".toml") for f in folder.iterdir() if f.name.endswith(".toml"))


def builtin_text(name: str = DEFAULT_PROTOCOL) -> str:
    from importlib import resources

    path = resources.files("diary_client.core") / "protocols" / f"{name}.toml"
    if not path.is_file():
        raise ProtocolError(f"no built-in protocol called {name!r} (built-in: {', '.join(builtin_names())})")
    return path.read_text(encoding="utf-8")


def load_protocol_text(path: str | Path | None) -> str:
    """The TOML text of a protocol file, or of the built-in default when `path` is None; a bare
    built-in name (`ldn-fm-2013`) that is not a file here names that built-in protocol."""
    if path is None:
        return builtin_text()
    p = Path(path)
    if not p.exists() and _BUILTIN_NAME.fullmatch(str(path)) and str(path) in builtin_names():
        return builtin_text(str(path))
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # a larger file is refused without reading it all
        if len(raw) > MAX_BYTES:
            raise ProtocolError(f"{p}: larger than a protocol can be ({MAX_BYTES // 1024} KiB at most)")
        return raw.decode("utf-8")
    except FileNotFoundError:
        raise ProtocolError(f"{p}: no such protocol file (or built-in protocol: {', '.join(builtin_names())})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProtocolError(f"{p}: cannot read protocol file ({e})") from None


def checked_protocol_text(path: str | Path | None) -> str:
    """`load_protocol_text`, refused with the file's name in the message unless it is a valid protocol."""
    text = load_protocol_text(path)
    parse_protocol(text, str(path) if path else DEFAULT_PROTOCOL)
    return text


def load_protocol(path: str | Path | None = None) -> Protocol:
    return parse_protocol(load_protocol_text(path), str(path) if path else DEFAULT_PROTOCOL)
