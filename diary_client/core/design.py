"""Designs and allocation, pure: each participant's sequence of periods, made from a secret seed and
her enrolment order, the sequences a design admits, and her schedule as an expanded protocol."""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from itertools import product

from msgspec.structs import replace

from diary_client.core.protocol import Allocation, Protocol, masked

SEPARATOR = ">"  # a sequence written as text: phase ids joined by '>' ("baseline>ldn>washout>placebo")


def fixed_sequence(protocol: Protocol) -> tuple[str, ...]:
    """The phases in file order: a fixed design's one sequence."""
    return tuple(p.id for p in protocol.phases)


def sequence_key(sequence: Sequence[str]) -> str:
    return SEPARATOR.join(sequence)


def parse_sequence(text: str) -> tuple[str, ...]:
    return tuple(text.split(SEPARATOR))


def admissible(protocol: Protocol) -> list[tuple[str, ...]]:
    """Every sequence the design could give a participant, in a fixed order (the randomization
    test relabels her days under each): fixed, one; counterbalanced, the listed sequences;
    randomized_pairs, 2^cycles (each cycle's pair in either order)."""
    a = protocol.allocation
    if a.method == "counterbalanced":
        return [tuple(s) for s in a.sequences or []]
    if a.method == "randomized_pairs":
        assert a.pair is not None and a.cycles is not None
        first, second = a.pair
        return [_pairs_sequence(protocol, [(first, second) if keep else (second, first) for keep in flips])
                for flips in product((True, False), repeat=a.cycles)]
    return [fixed_sequence(protocol)]


def _pairs_sequence(protocol: Protocol, cycles: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    a = protocol.allocation
    out = list(a.lead_in)
    treatment = [ph for cycle in cycles for ph in cycle]
    for n, ph in enumerate(treatment):
        if n and a.between:
            out.append(a.between)
        out.append(ph)
    return tuple(out)


def _rng(seed: bytes, *parts: object) -> random.Random:
    """A generator determined by the study's secret seed and the parts named (block or enrolment number)."""
    digest = hashlib.sha256(seed + b"\0" + "\0".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def allocate(protocol: Protocol, seed: bytes, index: int) -> tuple[str, ...]:
    """The sequence of the `index`-th participant enrolled in the study (0-based), reproducible from
    the seed and the enrolment order. counterbalanced: permuted blocks (every sequence appears
    block_size / len(sequences) times in each block of enrolments; block_size defaults to two of each);
    randomized_pairs: each cycle's order drawn independently, a fair coin per cycle."""
    if index < 0:
        raise ValueError("an enrolment number is 0 or more")
    a = protocol.allocation
    if a.method == "counterbalanced":
        sequences = admissible(protocol)
        size = a.block_size or 2 * len(sequences)
        block = [s for s in sequences for _ in range(size // len(sequences))]
        _rng(seed, "block", index // size).shuffle(block)
        return block[index % size]
    if a.method == "randomized_pairs":
        assert a.pair is not None and a.cycles is not None
        rng = _rng(seed, "participant", index)
        first, second = a.pair
        return _pairs_sequence(protocol, [(first, second) if rng.random() < 0.5 else (second, first)
                                          for _ in range(a.cycles)])
    return fixed_sequence(protocol)


def balance(sequences: Sequence[Sequence[str]], protocol: Protocol) -> dict[str, int]:
    """How many participants follow each sequence the design admits (zeros included; a design with
    more than 64 sequences lists only those in use)."""
    counts = Counter(sequence_key(s) for s in sequences)
    every = admissible(protocol)
    keys = [sequence_key(s) for s in every] if len(every) <= 64 else sorted(counts)
    return {k: counts.get(k, 0) for k in keys}


def period_ids(sequence: Sequence[str]) -> list[str]:
    """Each period's id: the phase id where the phase occurs once, else `phase-k` for its k-th occurrence."""
    total = Counter(sequence)
    seen: Counter[str] = Counter()
    out = []
    for ph in sequence:
        seen[ph] += 1
        out.append(ph if total[ph] == 1 else f"{ph}-{seen[ph]}")
    return out


def expand(protocol: Protocol, sequence: Sequence[str] | None) -> Protocol:
    """The participant's schedule as a protocol whose phases are her periods, in her order: each a
    copy of its phase with the period's id and `phase` naming the phase it repeats; items limited to
    some phases are asked in every period of those phases. The fixed sequence (or None) gives the
    protocol itself, unchanged, so everything written for one fixed order reads an expanded one."""
    if sequence is None or tuple(sequence) == fixed_sequence(protocol):
        return protocol
    unknown = [ph for ph in sequence if ph not in {p.id for p in protocol.phases}]
    if unknown:
        raise ValueError(f"sequence: unknown phase {unknown[0]!r}")
    ids = period_ids(sequence)
    neutral = protocol.allocation.randomized and protocol.blinding != "open"
    periods = []
    for n, (pid, ph) in enumerate(zip(ids, sequence), 1):
        phase = protocol.phase(ph)
        treatment = phase.role in ("active", "placebo")
        label = f"Period {n}" if neutral and treatment else phase.participant_label
        periods.append(replace(phase, id=pid, phase=None if pid == ph else ph, participant_label=label))
    by_phase: dict[str, list[str]] = {}
    for pid, ph in zip(ids, sequence):
        by_phase.setdefault(ph, []).append(pid)
    items = [replace(i, phases=[pid for ph in i.phases for pid in by_phase.get(ph, [])]) if i.phases else i
             for i in protocol.items]
    return replace(protocol, phases=periods, items=items)


# -- what a blinded participant's device may hold (docs/designs.md) -------------------------------

CONCEALED_LABEL = "Treatment periods"  # the merged span of a concealed schedule, as a person reads it


def _representatives(protocol: Protocol) -> list[tuple[str, ...]]:
    """Sequences enough to see where the admissible ones differ: all of a counterbalanced design's;
    for randomized pairs the two with every cycle the same way round (2^cycles would be too many:
    any two orders differ from the first treatment period on, exactly where these two do)."""
    a = protocol.allocation
    if a.method == "randomized_pairs":
        assert a.pair is not None and a.cycles is not None
        first, second = a.pair
        return [_pairs_sequence(protocol, [(first, second)] * a.cycles),
                _pairs_sequence(protocol, [(second, first)] * a.cycles)]
    return admissible(protocol)


def _shown(protocol: Protocol, sequence: Sequence[str]) -> list[tuple]:
    """Per period, what a blinded participant's device shows or asks: its length, its label and
    the items asked in it (never its id or role)."""
    e = expand(protocol, sequence)
    return [(p.days, p.participant_label, frozenset(i.id for i in e.items_in(p.id))) for p in e.phases]


def order_shows(protocol: Protocol) -> bool:
    """Would a blinded device's periods tell the participant her sequence? True for a blinded
    randomized design whose admissible sequences give periods of different lengths, labels or
    items at some place (the 2013 design: 12 weeks of one, 4 of the other)."""
    if not protocol.allocation.randomized or protocol.blinding == "open":
        return False
    return len({tuple(_shown(protocol, s)) for s in _representatives(protocol)}) > 1


def _common_ends(protocol: Protocol) -> tuple[int, int]:
    """How many periods at the start and at the end every admissible sequence shows alike."""
    shown = [_shown(protocol, s) for s in _representatives(protocol)]
    shortest = min(len(s) for s in shown)
    head = 0
    while head < shortest and len({s[head] for s in shown}) == 1:
        head += 1
    tail = 0
    while tail < shortest - head and len({s[-1 - tail] for s in shown}) == 1:
        tail += 1
    return head, tail


def concealed(protocol: Protocol, sequence: Sequence[str]) -> Protocol:
    """Her expanded schedule with the periods whose place differs between admissible sequences
    merged into one span (`CONCEALED_LABEL`, role "other"), where the order shows; an item asked in
    any merged period is asked throughout the span. What a double-blind device holds, masked."""
    e = expand(protocol, sequence)
    if not order_shows(protocol):
        return e
    head, tail = _common_ends(protocol)
    inner = e.phases[head:len(e.phases) - tail]
    if len(inner) < 2:
        return e
    merged_ids = {p.id for p in inner}
    span = replace(inner[0], role="other", days=sum(p.days for p in inner), label=CONCEALED_LABEL,
                   participant_label=CONCEALED_LABEL, phase=None)
    phases = [*e.phases[:head], span, *e.phases[len(e.phases) - tail:]]
    items = [replace(i, phases=[x for x in i.phases if x not in merged_ids]
                     + ([span.id] if merged_ids & set(i.phases) else [])) if i.phases else i for i in e.items]
    return replace(e, phases=phases, items=items, allocation=Allocation())  # the merged span names no phase


def device_view(protocol: Protocol, sequence: Sequence[str] | None, released: bool) -> Protocol:
    """The participant's protocol as the hub serves it to her device: her expanded schedule; while
    a blind holds in a randomized design, with `conceal_periods` where the order would show, and in
    double blinding concealed and masked (no phase id, role, design or order on the device)."""
    e = expand(protocol, sequence)
    if released or not protocol.allocation.randomized or protocol.blinding == "open":
        return e
    shows = order_shows(protocol)
    if protocol.blinding == "single":
        return replace(e, conceal_periods=shows)
    return replace(masked(concealed(protocol, sequence or fixed_sequence(protocol))), conceal_periods=shows)


def seed_digest(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def allocation_hash(study_id: str, seed: bytes, sequences: Sequence[tuple[str, Sequence[str] | None]]) -> str:
    """SHA-256 (hex) committing to a study's allocation without showing it: over the UTF-8 text
    `study_id`, a newline, the seed's SHA-256 in hex, a newline, then per participant in enrolment
    order `participant_id`, a tab, her sequence's phase ids joined by '>' (empty for none) and a newline.
    Anyone later shown the seed and the sequences can recompute it (docs/designs.md)."""
    lines = [study_id, seed_digest(seed)] + [f"{pid}\t{sequence_key(s) if s else ''}" for pid, s in sequences]
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


def shown(protocol: Protocol, sequence: Sequence[str] | None, revealed: bool) -> Protocol:
    """Her schedule as a coordinator's export shows it: her true periods once her sequence may be
    shown (`revealed`), else as her double-blind device would hold it (concealed, masked)."""
    if revealed or not protocol.allocation.randomized:
        return expand(protocol, sequence)
    return masked(concealed(protocol, sequence or fixed_sequence(protocol)))


def longest(protocol: Protocol) -> int:
    """The most study days any sequence of the design gives a participant."""
    return max(expand(protocol, s).days_total for s in _representatives(protocol))
