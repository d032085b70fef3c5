"""Answer values: typed text round-trips, and every invalid value is named."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diary_client.core.answers import AnswerError, format_value, parse_answers, parse_text, problems
from diary_client.core.protocol import load_protocol

P = load_protocol()


def answers_for(phase_id):
    def value(item):
        match item.kind:
            case "vas":
                return st.integers(0, 100)
            case "yesno":
                return st.booleans()
            case "multi":
                return st.lists(st.sampled_from(item.options), unique=True)
            case "text":
                return st.none() | st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                                            max_size=40).filter(lambda t: t.strip() == t and t)
    return st.fixed_dictionaries({i.id: value(i) for i in P.items_in(phase_id)})


@given(st.sampled_from([p.id for p in P.phases]).flatmap(lambda ph: st.tuples(st.just(ph), answers_for(ph))))
def test_typed_text_round_trips_to_the_same_answers(case):
    phase_id, answers = case
    assert problems(P, phase_id, answers) == []
    texts = {i.id: format_value(i, answers.get(i.id)) for i in P.items}
    assert parse_answers(P, phase_id, texts) == answers


@pytest.mark.parametrize("item,text,msg", [
    ("severity", "50.5", "not a whole number"),
    ("severity", "-1", "not a whole number"),
    ("severity", "101", "outside 0–100"),
    ("capsule", "maybe", "not yes or no"),
    ("side_effects", "nausea;nausea", "same option twice"),
])
def test_bad_values_are_named(item, text, msg):
    texts = {i.id: format_value(i, 1 if i.kind == "vas" else None) for i in P.items_in("placebo")}
    texts["capsule"] = "yes"
    texts[item] = text
    with pytest.raises(AnswerError, match=msg) as e:
        parse_answers(P, "placebo", texts)
    assert str(e.value).startswith(f"{item}:")


def test_yes_no_spellings_and_empty_vas():
    cap = P.item("capsule")
    assert parse_text(cap, "Yes") is True and parse_text(cap, "n") is False
    assert parse_text(P.item("severity"), " ") is None
    assert parse_text(P.item("side_effects"), "") == []


def test_number_items_refuse_huge_and_non_finite_values():
    from diary_client.core.answers import value_problem
    from diary_client.core.protocol import Item

    item = Item(id="steps", kind="number", prompt="Steps?")
    assert value_problem(item, 10**400) and value_problem(item, float("inf")) and value_problem(item, float("nan"))
    assert value_problem(item, 12000) is None and value_problem(item, 3.5) is None
