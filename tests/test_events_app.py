"""Events in the app, keys only (Pilot): E on home, an adverse event at 10:00, a medicine, a dose change;
readable at 80×24 and 60×20; a serious one goes to a real hub at once and says to call the team."""

from __future__ import annotations

from datetime import date

import pytest
from app_helpers import make_app, text_of

from diary_client.app.screens.event import EventScreen
from diary_client.app.screens.home import HomeScreen
from diary_client.core import event as ev
from diary_client.device.event_store import EventStore
from diary_client.device.store import Store


async def open_form(pilot, key: str) -> EventScreen:
    await pilot.pause()
    await pilot.press("e")
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(pilot.app.screen, EventScreen)
    return pilot.app.screen


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_an_adverse_event_at_ten_in_the_morning_with_keys_only(diary, data_dir, tmp_path, size):
    app, _ = make_app(data_dir, "2026-03-05T10:00")
    async with app.run_test(size=size) as pilot:
        screen = await open_form(pilot, "a")
        assert app.focused is screen.query_one("#what")
        await pilot.press(*"nausea", "tab")  # started: today, as offered
        await pilot.press("tab", "down", "space")  # severity: moderate
        await pilot.press("tab", "tab")  # not serious; resolved left empty (ongoing)
        await pilot.press("enter")  # Enter in the last field saves
        await pilot.pause()
        assert "Saved at 10:00" in text_of(app, "#event-message")
        app.save_screenshot(str(tmp_path / f"event-{size[0]}x{size[1]}.svg"))
        assert screen.query_one("#event-message").region.bottom <= size[1]  # the answer is on screen
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen) and text_of(app, "#sync") == ""  # no hub: nothing to say of uploads
    [e] = EventStore(Store.in_dir(data_dir)).all()
    assert isinstance(e, ev.AdverseEvent)
    assert (e.what, e.started, e.severity, e.serious, e.resolved) == ("nausea", date(2026, 3, 5), "moderate", False, None)


async def test_a_medicine_and_a_dose_change_and_a_mistyped_date(diary, data_dir):
    app, _ = make_app(data_dir, "2026-03-05T10:00")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot, "m")
        await pilot.press(*"ibuprofen", "tab", *"400 mg", "tab", "ctrl+a", "ctrl+k", *"2026-03-05 07:30", "ctrl+s")
        await pilot.pause()
        assert "Saved at 10:00" in text_of(app, "#event-message")
        await pilot.press("escape")
        await open_form(pilot, "d")
        await pilot.press(*"3 mg", "tab", "ctrl+a", "ctrl+k", *"soon", "enter")
        await pilot.pause()
        assert "'soon' is not a date" in text_of(app, "#event-message")
        await pilot.press("ctrl+a", "ctrl+k", *"2026-03-06", "enter")
        await pilot.pause()
        assert "has not come yet" in text_of(app, "#event-message")
        await pilot.press("ctrl+a", "ctrl+k", *"2026-03-04", "enter")
        await pilot.pause()
        assert "Saved" in text_of(app, "#event-message")
    med, dose = EventStore(Store.in_dir(data_dir)).all()
    assert isinstance(med, ev.Medication) and (med.name, med.dose, med.purpose) == ("ibuprofen", "400 mg", "rescue")
    assert med.taken.isoformat() == "2026-03-05T07:30:00+00:00"
    assert isinstance(dose, ev.Dose) and (dose.amount, dose.from_date) == ("3 mg", date(2026, 3, 4))


async def test_a_serious_event_is_sent_at_once_and_says_to_call(data_dir, tmp_path):
    from hub_fixture import running_hub

    from sync.client.upload import enroll_device

    with running_hub(tmp_path / "hub.db") as h:
        enroll_device(Store.in_dir(data_dir), h.url, h.code("P01", date(2026, 3, 2)))
        app, _ = make_app(data_dir, "2026-03-05T10:00")
        async with app.run_test(size=(60, 20)) as pilot:
            await app.workers.wait_for_complete()  # the start-up round
            await open_form(pilot, "a")
            await pilot.press(*"fainted", "tab", "tab", "down", "down", "space", "tab", "space")  # severe, serious
            await pilot.press("ctrl+s")
            await pilot.pause()
            message = text_of(app, "#event-message")
            assert "serious adverse event: please ALSO call the study team now" in message
            await app.workers.wait_for_complete()  # the round EventSaved started
            await pilot.pause()
        from sync.hub.events import serious_unacknowledged

        assert serious_unacknowledged(h.store.db) == {"P01": 1}
    assert EventStore(Store.in_dir(data_dir)).pending() == []
