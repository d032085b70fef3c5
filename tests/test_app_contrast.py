"""Readable by everyone: every text/background pair the app draws, in both themes, is ≥ 4.5:1 (WCAG AA).

The ratio is computed from the colours of the cells the screen actually renders (Textual's
compositor), so Textual's own widgets, the theme variables and the chart are all checked.
Lines, borders and scrollbars are graphics (WCAG asks 3:1 of those) and left out; text is every
letter, digit, punctuation mark and the diary's marks (✓ ✗ … · ⚠ →).
"""

from __future__ import annotations

import unicodedata

import pytest
from app_helpers import make_app, start_report
from conftest import at
from rich.terminal_theme import DEFAULT_TERMINAL_THEME

from diary_client.app.themes import CHART, DARK, LIGHT
from diary_client.cli.demo import build_demo

MARKS = set("✓✗…·⚠→←↑↓—–")


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(channel, rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(color, default):
    if color is None or color.is_default:
        return default
    t = color.get_truecolor(DEFAULT_TERMINAL_THEME)
    return (t.red, t.green, t.blue)


def is_text(ch: str) -> bool:
    return ch in MARKS or unicodedata.category(ch)[0] in "LNP"


def low_pairs(app) -> list[str]:
    """Every text cell on screen whose colours are below 4.5:1, described."""
    bad = set()
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for seg in strip:
            text = "".join(ch for ch in seg.text if is_text(ch))
            if not text or seg.style is None:
                continue
            st = seg.style
            fg, bg = _rgb(st.color, (255, 255, 255)), _rgb(st.bgcolor, (0, 0, 0))
            if st.reverse:
                fg, bg = bg, fg
            if st.dim:  # a terminal draws dim text at about half intensity
                fg = tuple((f + b) // 2 for f, b in zip(fg, bg))
            r = ratio(fg, bg)
            if r < 4.5:
                bad.add(f"row {y} {seg.text.strip()[:24]!r}: {fg} on {bg} = {r:.2f}:1")
    return sorted(bad)


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_every_screen_reads_at_4_5_to_1(theme, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    home = tmp_path / "demo"
    home.mkdir()
    build_demo(home, at("2026-07-01T19:00"))
    seen: dict[str, list[str]] = {}
    app, _ = make_app(home, "2026-07-01T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.pause()
        seen["home"] = low_pairs(app)
        await pilot.press("p")
        await pilot.pause()
        await pilot.pause()
        for tab in ("chart", "weeks", "calendar", "summary"):
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen[tab] = low_pairs(app)
            await pilot.press("right")
            await pilot.pause()
        await pilot.press("escape", "s")
        await pilot.pause()
        seen["settings"] = low_pairs(app)
    assert {k: v for k, v in seen.items() if v} == {}


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_the_report_forms_read_at_4_5_to_1(theme, diary, data_dir):
    seen: dict[str, list[str]] = {}
    app, _ = make_app(data_dir, "2026-03-16T19:00")  # placebo: every item kind
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await start_report(pilot)
        await pilot.press("4")
        seen["vas"] = low_pairs(app)
        await pilot.press("backspace", "escape")
        await pilot.pause()
        await start_report(pilot)
        await pilot.press("9", "9", "9")  # a refused digit: the hint shows
        await pilot.pause()
        seen["hint"] = low_pairs(app)
        await pilot.press("escape")
        await pilot.pause()
        seen["leave"] = low_pairs(app)
        await pilot.press("k")
        await pilot.pause()
        await start_report(pilot)
        while app.screen.item.kind == "vas":
            await pilot.press("5", "enter")
            await pilot.pause()
        seen["multi"] = low_pairs(app)
        await answer_all_left(pilot)
        seen["review"] = low_pairs(app)
    assert {k: v for k, v in seen.items() if v} == {}


async def answer_all_left(pilot) -> None:
    from diary_client.app.screens.report import ReportScreen

    while isinstance(pilot.app.screen, ReportScreen):
        kind = pilot.app.screen.item.kind
        await pilot.press(*{"vas": "5", "yesno": "y", "multi": "", "text": ""}[kind], "enter")
        await pilot.pause()


@pytest.mark.parametrize("theme", [DARK, LIGHT])
async def test_enrolment_reads_at_4_5_to_1_and_its_focused_field_is_marked(theme, data_dir):
    app, _ = make_app(data_dir, "2026-03-02T19:00")
    async with app.run_test(size=(80, 24)) as pilot:
        app.theme = theme
        await pilot.pause()
        assert low_pairs(app) == []
        for focused in ("participant", "start", "protocol"):
            rows = {}
            for key in ("participant", "start", "protocol", "hub", "code"):
                field = app.screen.query_one(f"#{key}").parent
                y = field.region.y
                strip = app.screen._compositor.render_strips()[y]
                rows[key] = strip.text[field.region.x]  # the cell at the field's left edge
            marked = [k for k, ch in rows.items() if ch.strip()]
            assert marked == [focused], rows  # a bar at the left of the focused field only
            await pilot.press("down")
            await pilot.pause()


def test_the_chart_colours_read_on_their_canvas():
    for name, c in CHART.items():
        for colour in [c["text"], *c["bands"]]:
            assert ratio(colour, c["canvas"]) >= 4.5, (name, colour)
