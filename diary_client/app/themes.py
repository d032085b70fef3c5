"""The app's two themes: Textual's dark and light, with every text/background pair at ≥ 4.5:1.

Textual's own defaults put a few pairs below WCAG AA (the focused tab's white on blue, the light
footer's keys, inactive tabs at half the foreground); these variables lift them. The chart's
colours live here too, one set per theme, each checked against that theme's canvas.
"""

from __future__ import annotations

from dataclasses import replace

from textual.theme import BUILTIN_THEMES, Theme

DARK, LIGHT = "diary-dark", "diary-light"

THEMES: dict[str, Theme] = {
    DARK: replace(BUILTIN_THEMES["textual-dark"], name=DARK, variables={
        "block-cursor-background": "#0A4F8C", "block-cursor-foreground": "#FFFFFF",
        "footer-key-foreground": "#FFB454", "text-disabled": "#9E9E9E",
    }),
    LIGHT: replace(BUILTIN_THEMES["textual-light"], name=LIGHT, variables={
        "block-cursor-background": "#004578", "block-cursor-foreground": "#FFFFFF",
        "footer-key-foreground": "#00406E", "text-muted": "#4A4A4A", "text-disabled": "#545454",
        "text-warning": "#6B3F00",
    }),
}

# Per theme: the chart's canvas and text, and one colour per period band (labels and lines).
CHART: dict[str, dict] = {
    DARK: {"canvas": (18, 18, 18), "text": (224, 224, 224),
           "bands": [(108, 182, 255), (255, 166, 87), (126, 231, 135), (210, 168, 255), (118, 227, 234)]},
    LIGHT: {"canvas": (247, 247, 247), "text": (20, 20, 20),
            "bands": [(5, 80, 174), (149, 56, 0), (17, 99, 41), (110, 64, 201), (0, 94, 110)]},
}


def is_dark(name: str) -> bool:
    return name != LIGHT and (THEMES.get(name) or BUILTIN_THEMES.get(name, THEMES[DARK])).dark


def other(name: str) -> str:
    """The theme T switches to."""
    return LIGHT if is_dark(name) else DARK


def chart_colours(name: str) -> dict:
    return CHART[DARK if is_dark(name) else LIGHT]
