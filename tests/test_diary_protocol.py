"""Protocol files: the built-in study, and clear errors naming the field for bad files."""

import pytest

from diary_client.core.protocol import ProtocolError, builtin_text, load_protocol, parse_protocol


def test_builtin_ldn_fm_matches_the_2009_design():
    p = load_protocol()
    assert [(ph.id, ph.role, ph.days) for ph in p.phases] == [
        ("baseline", "baseline", 14), ("placebo", "placebo", 14), ("ldn", "active", 56), ("washout", "washout", 14)]
    assert p.days_total == 98
    assert p.primary.id == "severity" and p.primary.better == "lower"
    assert p.item("sleep_quality").better == "higher"
    assert p.item("capsule").phases == ["placebo", "ldn"]
    assert p.item("note").optional and p.item("note").kind == "text"
    assert p.item("side_effects").options == ["vivid dreams", "insomnia", "nausea", "headache", "other"]
    assert {i.id for i in p.items} == {"severity", "pain", "fatigue", "sleep_quality", "sadness", "stress",
                                       "headache", "gi", "thinking", "side_effects", "capsule", "note"}
    assert p.phase("ldn").label == "Naltrexone 4.5 mg" and p.blinding == "single"


def _broken(old: str, new: str) -> str:
    text = builtin_text()
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old,new,expected", [
    ('days = 14', 'days = 0', "phases[0].days"),
    ('days = 14', 'days = "two weeks"', "phases[0].days"),
    ('role = "baseline"', 'role = "run-in"', "phases[0].role"),
    ('blinding = "single"', 'blinding = "triple"', "blinding"),
    ('opens = "18:00"', 'opens = "6pm"', "schedule.opens"),
    ('primary = true', 'primary = false', "exactly one item must have primary"),
    ('phases = ["placebo", "ldn"]', 'phases = ["placebo", "drug"]', "unknown phase 'drug'"),
    ('options = ["vivid dreams", "insomnia", "nausea", "headache", "other"]', 'options = []', "options"),
    ('id = "pain"', 'id = "severity"', "item id 'severity' appears twice"),
    ('version = 1', 'version = 1\ncolour = "blue"', "colour"),
    ('kind = "yesno"', 'kind = "slider"', "items[10].kind"),
    # the constraints of constraints.py, which load only when pydantic first reads them
    ('id = "pain"', 'id = "9pain"', "items[1].id: String should match pattern"),
    ('title = "Low-dose naltrexone in fibromyalgia"', 'title = ""', "title: String should have at least 1 character"),
    ('grace_hours = 12', 'grace_hours = 49', "schedule.grace_hours: Input should be less than or equal to 48"),
])
def test_bad_protocol_names_file_field_and_problem(old, new, expected):
    with pytest.raises(ProtocolError) as e:
        parse_protocol(_broken(old, new), "study.toml")
    msg = str(e.value)
    assert msg.startswith("study.toml: ") and expected in msg
    assert "\n" not in msg


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ProtocolError, match=r"x.toml: not valid TOML"):
        parse_protocol("id = [", "x.toml")
    with pytest.raises(ProtocolError, match="no such protocol file"):
        load_protocol(tmp_path / "nope.toml")


def test_participant_label_defaults_to_a_neutral_period_name():
    p = parse_protocol(_broken('participant_label = "Period A"', ""))
    assert p.phase("placebo").participant_label == "Period 2"


def test_new_fields_labels_trend_exclusions_multiplicity_and_several_reminders():
    p = load_protocol()
    assert p.item("severity").name == "Overall severity" and all(i.label for i in p.items)  # ldn-fm labels every item
    assert p.analysis.trend is False and p.analysis.multiplicity == "holm"
    assert p.analysis.exclude_first_days == {} and p.analysis.exclude_first_days.get("active", 0) == 0
    assert [f"{t:%H:%M}" for t in p.schedule.reminders] == ["19:00"]
    text = _broken('remind = "19:00"', 'remind = ["19:00", "22:00", "08:00"]').replace(
        "responder_points = 30", 'responder_points = 30\ntrend = true\nexclude_first_days = { active = 7 }\nmultiplicity = "none"', 1
    ).replace('label = "Pain"', 'label = "Pain level"', 1)
    q = parse_protocol(text)
    assert [f"{t:%H:%M}" for t in q.schedule.reminders] == ["19:00", "22:00", "08:00"]
    assert q.analysis.trend and q.analysis.multiplicity == "none"
    assert q.analysis.exclude_first_days.get("active", 0) == 7 and q.analysis.exclude_first_days.get("washout", 0) == 0
    assert q.item("pain").name == "Pain level"
    for bad, where in [('multiplicity = "none"', 'multiplicity = "bonferroni"'),
                       ("{ active = 7 }", "{ drug = 7 }"), ("{ active = 7 }", "{ active = -1 }")]:
        with pytest.raises(ProtocolError, match=r"^study.toml: .*(multiplicity|exclude_first_days)"):
            parse_protocol(text.replace(bad, where), "study.toml")


def test_the_devices_own_copy_is_built_without_pydantic_to_the_same_protocol():
    from diary_client.core.protocol import masked, stored_protocol, to_toml

    p = load_protocol()
    assert stored_protocol(builtin_text()) == p
    for q in (p, masked(p)):
        assert stored_protocol(to_toml(q)) == q == parse_protocol(to_toml(q))
    with pytest.raises(ProtocolError, match="^stored protocol: cannot be read"):
        stored_protocol("this = [is not toml")
