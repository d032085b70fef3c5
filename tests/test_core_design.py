"""Designs and allocation: bad designs refused in one line naming the field, allocation balanced in
permuted blocks and reproducible from the seed, a participant's schedule expanded into periods."""

from __future__ import annotations

from collections import Counter

import pytest

from diary_client.core import design
from diary_client.core.protocol import ProtocolError, builtin_text, hash_view, load_protocol, parse_protocol

BASE = builtin_text()  # ldn-fm: baseline, placebo, ldn, washout


def with_allocation(toml: str) -> str:
    return BASE + "\n" + toml


COUNTER = with_allocation('[allocation]\nmethod = "counterbalanced"\n'
                          'sequences = [["baseline", "ldn", "washout", "placebo"], ["baseline", "placebo", "washout", "ldn"]]\n'
                          "block_size = 4\n")
PAIRS = with_allocation('[allocation]\nmethod = "randomized_pairs"\nlead_in = ["baseline"]\npair = ["ldn", "placebo"]\n'
                        'cycles = 3\nbetween = "washout"\n')


@pytest.mark.parametrize("toml, field", [
    ('[allocation]\nmethod = "counterbalanced"\nsequences = [["baseline", "nope"], ["baseline", "ldn"]]\n',
     "allocation.sequences[0][1]: unknown phase 'nope'"),
    ('[allocation]\nmethod = "randomized_pairs"\npair = ["ldn", "ldn"]\ncycles = 2\n', "pair: "),
    ('[allocation]\nmethod = "randomized_pairs"\npair = ["placebo", "baseline"]\ncycles = 2\n', "pair: "),
    ('[allocation]\nmethod = "randomized_pairs"\npair = ["ldn", "placebo"]\ncycles = 0\n', "allocation.cycles: "),
    ('[allocation]\nmethod = "randomized_pairs"\npair = ["ldn", "placebo"]\ncycles = 2\nsequences = [["ldn"]]\n',
     "sequences: only a counterbalanced design"),
    ('[allocation]\nmethod = "counterbalanced"\nsequences = [["baseline", "ldn"], ["baseline", "placebo"]]\nblock_size = 3\n',
     "block_size: 3 is not a multiple"),
    ('[allocation]\nmethod = "crossover"\n', "allocation.method: "),
])
def test_a_bad_design_is_refused_in_one_line_naming_the_field(toml, field):
    with pytest.raises(ProtocolError) as e:
        parse_protocol(with_allocation(toml), "study.toml")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("study.toml: ") and field in msg, msg


def test_a_pair_of_the_same_role_is_refused_naming_the_role():
    toml = BASE.replace('id = "washout"\nrole = "washout"', 'id = "washout"\nrole = "active"')
    assert 'role = "active"' in toml.split('id = "washout"')[1][:40]
    with pytest.raises(ProtocolError, match="allocation.pair: both phases have the role 'active'"):
        parse_protocol(toml + '\n[allocation]\nmethod = "randomized_pairs"\npair = ["ldn", "washout"]\ncycles = 1\n')


def test_counterbalanced_allocation_is_balanced_in_each_block_and_reproducible():
    p = parse_protocol(COUNTER)
    seqs = [design.allocate(p, b"secret", i) for i in range(8)]
    for block in (seqs[:4], seqs[4:]):
        assert Counter(design.sequence_key(s) for s in block) == {
            "baseline>ldn>washout>placebo": 2, "baseline>placebo>washout>ldn": 2}
    assert seqs == [design.allocate(p, b"secret", i) for i in range(8)]  # the seed and order reproduce it
    others = [[design.allocate(p, seed.encode(), i) for i in range(8)] for seed in ("a", "b", "c", "d", "e")]
    assert any(o != seqs for o in others)  # and another seed gives another allocation
    assert design.balance(seqs, p) == {"baseline>ldn>washout>placebo": 4, "baseline>placebo>washout>ldn": 4}


def test_randomized_pairs_admit_two_to_the_cycles_sequences_each_pair_in_either_order():
    p = parse_protocol(PAIRS)
    every = design.admissible(p)
    assert len(every) == 8 and len(set(every)) == 8
    assert every[0] == ("baseline", "ldn", "washout", "placebo", "washout", "ldn", "washout", "placebo",
                        "washout", "ldn", "washout", "placebo")
    drawn = {design.allocate(p, b"s", i) for i in range(200)}
    assert drawn <= set(every) and len(drawn) == 8


def test_expand_gives_periods_with_unique_ids_and_neutral_labels_and_keeps_a_fixed_protocol_as_is():
    fixed = load_protocol()
    assert design.expand(fixed, None) is fixed and design.expand(fixed, design.fixed_sequence(fixed)) is fixed
    p = parse_protocol(PAIRS.replace('blinding = "single"', 'blinding = "double"'))
    seq = design.allocate(p, b"s", 0)
    e = design.expand(p, seq)
    ids = [ph.id for ph in e.phases]
    assert len(ids) == len(set(ids)) == 12 and ids[0] == "baseline"
    assert sorted(i for i in ids if i.startswith("ldn")) == ["ldn-1", "ldn-2", "ldn-3"]
    assert [ph.base for ph in e.phases] == list(seq)
    treatment = [ph for ph in e.phases if ph.role in ("active", "placebo")]
    assert all(ph.participant_label.startswith("Period ") for ph in treatment)  # nothing tells drug from placebo
    capsule = e.item("capsule")
    assert capsule.phases is not None and set(capsule.phases) == {ph.id for ph in treatment}
    assert e.days_total == sum(p.phase(ph).days for ph in seq)


def test_the_data_hash_view_of_a_protocol_without_the_new_fields_is_as_before():
    doc = hash_view(load_protocol())
    assert "allocation" not in doc and "endpoint_days" not in doc["analysis"] and "responder" not in doc["analysis"]
    assert all("phase" not in ph for ph in doc["phases"])
    assert "allocation" in hash_view(parse_protocol(COUNTER))
