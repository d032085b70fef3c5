"""What a participant's device may hold of her design (pure): concealed and masked schedules, the
masked-to-true update at unblinding, built-in protocols, and the allocation hash."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from diary_client.core import design
from diary_client.core.protocol import (
    ProtocolError,
    builtin_names,
    builtin_text,
    load_protocol,
    load_protocol_text,
    masked,
    parse_protocol,
    to_toml,
    update_problem,
)
from diary_client.core.schedule import phase_spans
from sync.hub.rules import Participant, entry_problem
from tests.hub_fixture import answers_for

WASHOUT_BETWEEN = builtin_text().replace('blinding = "single"', 'blinding = "double"') + (
    '\n[allocation]\nmethod = "counterbalanced"\n'
    'sequences = [["baseline", "ldn", "washout", "placebo"], ["baseline", "placebo", "washout", "ldn"]]\n')


def test_the_built_in_designs_are_valid_and_named_everywhere():
    assert builtin_names() == ["ldn-fm", "ldn-fm-2013", "nof1-abab"]
    p = load_protocol("ldn-fm-2013")
    assert p.blinding == "double" and p.allocation.method == "counterbalanced" and p.allocation.block_size == 4
    assert p.analysis.endpoint_days == 3 and p.analysis.responder is not None
    assert sorted(design.sequence_key(s) for s in design.admissible(p)) == [
        "baseline>ldn>placebo>followup", "baseline>placebo>ldn>followup"]
    assert design.longest(p) == 22 * 7  # the registry's 22 weeks
    n = load_protocol("nof1-abab")
    assert n.allocation.cycles == 3 and design.longest(n) == 7 + 6 * 14 and len(design.admissible(n)) == 8
    assert load_protocol_text("ldn-fm-2013") == builtin_text("ldn-fm-2013")
    with pytest.raises(ProtocolError, match="built-in protocol: ldn-fm, ldn-fm-2013, nof1-abab"):
        load_protocol_text("ldn-fm-2031")


def test_where_the_lengths_tell_the_order_a_double_blind_device_holds_one_span():
    p = load_protocol("ldn-fm-2013")
    assert design.order_shows(p) and not design.order_shows(load_protocol("nof1-abab"))
    views = {design.sequence_key(s): design.device_view(p, s, released=False) for s in design.admissible(p)}
    texts = {to_toml(v) for v in views.values()}
    assert len(texts) == 1  # both orders give the device the very same text
    v = next(iter(views.values()))
    assert [(ph.id, ph.days, ph.role) for ph in v.phases] == [("period-1", 14, "other"), ("period-2", 112, "other"),
                                                              ("period-3", 28, "other")]
    assert v.masked and v.conceal_periods and v.item("capsule").phases == ["period-2"]
    for seq in design.admissible(p):  # at unblinding her true schedule replaces the masked one
        true = design.device_view(p, seq, released=True)
        assert [ph.base for ph in true.phases] == list(seq) and update_problem(v, true) is None


def test_single_blinding_keeps_her_periods_with_neutral_labels_and_hides_them_as_weeks():
    p = parse_protocol(builtin_text("ldn-fm-2013").replace('blinding = "double"', 'blinding = "single"'))
    seq = design.admissible(p)[1]
    v = design.device_view(p, seq, released=False)
    assert not v.masked and v.conceal_periods
    assert [ph.participant_label for ph in v.phases] == ["Run-in", "Period 2", "Period 3", "Follow-up"]


def test_a_masked_copy_cannot_take_periods_that_move_its_boundaries():
    p = load_protocol("ldn-fm-2013")
    v = design.device_view(p, design.admissible(p)[0], released=False)
    other = parse_protocol(builtin_text("ldn-fm-2013").replace("days = 28\nlabel = \"Follow-up\"",
                                                                "days = 21\nlabel = \"Follow-up\""))
    true = design.device_view(other, design.admissible(other)[0], released=True)
    assert "lengths" in update_problem(v, true)
    changed = builtin_text("ldn-fm-2013").replace("version = 1", "version = 2").replace("block_size = 4", "block_size = 2")
    assert "allocation" in update_problem(p, parse_protocol(changed))


def test_a_fixed_double_blind_protocol_is_masked_as_before():
    p = parse_protocol(builtin_text().replace('blinding = "single"', 'blinding = "double"'))
    assert design.device_view(p, None, released=False) == p  # the hub masks a fixed design itself
    m = masked(p)
    assert [ph.id for ph in m.phases] == ["period-1", "period-2", "period-3", "period-4"]


def test_the_hub_accepts_reports_asked_by_the_concealed_span_or_by_her_true_periods():
    """A washout between the conditions: the concealed span asks the capsule item on washout days too."""
    study = parse_protocol(WASHOUT_BETWEEN)
    seq = design.admissible(study)[0]
    start = date(2026, 3, 2)
    p = Participant("P1", study.id, 1, WASHOUT_BETWEEN, start, "UTC", False, "2026-03-01T00:00:00+00:00",
                    sequence=tuple(seq))
    true = p.protocol
    washout = next(s for s in phase_spans(true, start) if s.phase.id == "washout")
    hidden = design.concealed(study, seq)
    span = next(s for s in phase_spans(hidden, start) if washout.start in s)
    from tests.hub_fixture import make_entry

    def entry(answers):
        return make_entry("P1", start, washout.first_day, answers=answers)

    assert entry_problem(entry(answers_for(hidden, span.phase.id)), p) is None  # the device's concealed span
    assert entry_problem(entry(answers_for(true, "washout")), p) is None  # her true period (after unblinding)
    bad = answers_for(true, "washout") | {"pain": 101}
    assert "pain" in entry_problem(entry(bad), p)


def test_the_allocation_hash_is_the_documented_sha256():
    text = "s1\n" + hashlib.sha256(b"seed").hexdigest() + "\nA\tx>y\nB\t\n"
    assert design.allocation_hash("s1", b"seed", [("A", ("x", "y")), ("B", None)]) == hashlib.sha256(text.encode()).hexdigest()
