"""Progress: per item a chart of daily values with period bands, weekly means, a calendar, the summary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import cycle

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from diary_client.app.screens.common import USER_ERRORS, human
from diary_client.app.themes import chart_colours
from diary_client.core.days import LEGEND
from diary_client.device import progress as pd
from diary_client.device.diary import Diary


class Weeks(DataTable, can_focus=False):
    """The weekly means: read, not navigated (the focus stays on the tabs, so ←/→ switch them)."""


def _plot_theme(app_theme: str, colours: dict) -> str:
    """A plotext theme with the chart's checked colours (the plot sets its theme at each render)."""
    from plotext._dict import themes

    name = f"diary-chart-{'dark' if colours is chart_colours('diary-dark') else 'light'}"
    themes[name] = (colours["canvas"], colours["canvas"], colours["text"], "default", list(colours["bands"]))
    return name


def fitting_label(label: str, room: int) -> str:
    """A band's label in `room` columns: whole, else its first word, else nothing — never a cut
    word ("Baseli"); the line above the chart names every period with its days."""
    if len(label) <= room:
        return label
    first = label.split()[0] if label.split() else ""
    return first if len(first) <= room else ""


def _fmt(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


class ProgressScreen(Screen):
    """Opens fast: entries are read once; the phase summary is computed in a thread worker."""

    BINDINGS = [
        Binding("left", "tab(-1)", "Tabs", key_display="←/→", priority=True),
        Binding("right", "tab(1)", "Tabs", show=False, priority=True),
        Binding("n", "item(1)", "Next item"),
        Binding("b", "item(-1)", "Prev item"),
        Binding("down", "scroll(1)", "Scroll", key_display="↓/↑", show=False),
        Binding("up", "scroll(-1)", "Scroll", show=False),
        Binding("pagedown", "scroll(10)", "Scroll", show=False),
        Binding("pageup", "scroll(-10)", "Scroll", show=False),
        Binding("escape,q", "app.pop_screen", "Back"),
    ]
    TABS = ("tab-chart", "tab-weeks", "tab-calendar", "tab-summary")

    def __init__(self, diary: Diary, now_fn: Callable[[], datetime]) -> None:
        super().__init__()
        self.diary = diary
        self.now_fn = now_fn
        self.items = pd.numeric_items(diary.protocol)
        self.item_index = 0

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        with TabbedContent(id="progress-tabs"):
            with TabPane("Chart", id="tab-chart"):
                yield Static(id="chart-title")
                yield Static(id="chart-periods", classes="muted")
                yield PlotextPlot(id="chart")
            with TabPane("Weeks", id="tab-weeks"):
                with VerticalScroll(can_focus=False):
                    yield Static(id="weeks-periods")
                    yield Weeks(id="weeks", zebra_stripes=True, cursor_type="none", cell_padding=0, show_cursor=False)
            with TabPane("Calendar", id="tab-calendar"):
                with VerticalScroll(can_focus=False):
                    yield Static(id="calendar")
            with TabPane("Summary", id="tab-summary"):
                with VerticalScroll(can_focus=False):
                    yield Static("Your results in plain words. ↓ / PgDn: the numbers and how they were worked out.",
                                 id="summary-note", classes="muted")
                    yield Static("Working out your phase summary…", id="summary")
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.now = self.now_fn()
            self.entries = self.diary.entries()
            self.blinded = not self.diary.unblinded(self.now)
        except USER_ERRORS as e:
            self.query_one("#chart-title", Static).update(f"⚠ {human(e)}")
            return
        self.label_of = lambda span: self.diary.phase_label(span, self.now) or ""
        self.draw_chart()
        self.query_one("Tabs").focus()
        self.fill_weeks()
        self.fill_calendar()
        self.summarise()

    # -- chart -------------------------------------------------------------------------------

    def action_tab(self, step: int) -> None:
        """←/→ switch tabs wherever the focus is (the panes scroll with ↑/↓ instead)."""
        tabs = self.query_one(TabbedContent)
        tabs.active = self.TABS[(self.TABS.index(tabs.active) + step) % len(self.TABS)]
        self.query_one("Tabs").focus()

    def action_scroll(self, lines: int) -> None:
        pane = self.query_one(f"#{self.query_one(TabbedContent).active}", TabPane)
        for scroller in pane.query(VerticalScroll):
            scroller.scroll_relative(y=lines, animate=False)

    def action_item(self, step: int) -> None:
        self.item_index = (self.item_index + step) % len(self.items)
        self.draw_chart()
        self.query_one(TabbedContent).active = "tab-chart"

    def draw_chart(self) -> None:
        d, item = self.diary, self.items[self.item_index]
        pts = pd.series(d.protocol, d.start, self.entries, item.id)
        better = "lower is better" if item.better == "lower" else "higher is better"
        self.query_one("#chart-title", Static).update(
            f"{item.name} ({self.item_index + 1}/{len(self.items)}) · {better} · n/b: other item"
        )
        spans = self.bands()
        self.query_one("#chart-periods", Static).update(
            " · ".join(f"{label} {a}–{b}" for a, b, label in spans if label))
        plot = self.query_one("#chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        top = 100 if item.kind == "vas" else max([v for _, v in pts] or [1])
        columns = max(self.app.size.width - 6, 20)  # the plot spans the screen, less the y axis
        colours = chart_colours(self.app.theme)  # each checked against its canvas (≥ 4.5:1)
        plot.theme = _plot_theme(self.app.theme, colours)  # type: ignore[assignment]  # plotext's theme attribute takes our theme object at run time
        for (first, last, label), color in zip(spans, cycle(colours["bands"])):
            xs = [x for x, _ in pts if first <= x <= last]
            ys = [y for x, y in pts if first <= x <= last]
            if xs:
                plt.plot(xs, ys, marker="braille", color=color)
            if first > 1:
                plt.vline(first - 0.5, colours["text"])
            room = int((last - first + 1) * columns / d.protocol.days_total) - 1  # the band's width on screen
            shown = fitting_label(label, room)  # whole words only; the line above names every period
            if shown:
                plt.text(shown, x=first, y=top, alignment="left", color=color, background=colours["canvas"])
        plt.xlim(1, d.protocol.days_total)
        plt.xticks([float(first) for first, _, _ in spans] + [float(d.protocol.days_total)])
        if item.kind == "vas":
            plt.ylim(0, 100)
            plt.yticks([0, 25, 50, 75, 100])
        plt.xlabel("study day")
        plt.title("")
        plot.refresh()

    def bands(self) -> list[tuple[int, int, str]]:
        """The chart's periods; one unnamed band while the periods are concealed (their boundaries
        would tell the order: docs/designs.md)."""
        d = self.diary
        if d.conceals(self.now):
            return [(1, d.protocol.days_total, "")]
        return pd.bands(d.protocol, d.start, self.label_of)

    # -- weeks and calendar ------------------------------------------------------------------

    def fill_weeks(self) -> None:
        """Weekly means, a row per item and a column per week, so that 14 weeks fit 80 columns and
        each row reads as the item's course; the periods are named by week above the table."""
        d = self.diary
        weeks = pd.weekly_means(d.protocol, d.start, self.entries, self.now.date(), self.label_of)
        table = self.query_one("#weeks", DataTable)
        table.clear(columns=True)
        table.add_column("week")
        for w in weeks:  # three characters a week, so 14 weeks fit 60 columns beside the labels
            table.add_column(f"{w.number:>3}")
        table.add_row("days filed ", *[f"{w.filed:>3}" for w in weeks])
        for item in self.items:
            table.add_row(item.name + " ", *[f"{_fmt(w.means[item.id]):>3}" for w in weeks])
        runs: list[list] = []  # [label, first week, last week]
        for w in weeks:
            if runs and runs[-1][0] == w.label:
                runs[-1][2] = w.number
            else:
                runs.append([w.label, w.number, w.number])
        self.query_one("#weeks-periods", Static).update(
            "  ·  ".join(f"{label} wk {a}" + (f"–{b}" if b != a else "") for label, a, b in runs if label))

    def fill_calendar(self) -> None:
        d = self.diary
        lines = []
        for w in pd.calendar(d.protocol, d.start, self.entries, self.now, self.label_of):
            lines.append(f"Wk {w.number:>2}  {w.start:%d %b}  {' '.join(w.marks):<13}  {w.label}")
        lines += ["", LEGEND]
        self.query_one("#calendar", Static).update("\n".join(lines))

    # -- summary -----------------------------------------------------------------------------

    def summarise(self) -> None:
        if self.blinded:
            self.query_one("#summary", Static).update(
                "Your phase summary appears once the study is unblinded: at the end of the study, "
                "or when your study coordinator releases it.\nUntil then the chart, weeks and calendar show your own days."
            )
            return
        self._compute_summary(list(self.entries))

    @work(thread=True, exclusive=True)
    def _compute_summary(self, entries) -> None:
        """Pure analysis over data already read: safe in a thread, and keeps the view responsive."""
        d = self.diary
        try:
            from analysis.personal import analyse

            report = analyse(d.protocol, d.start, entries, self.now, d.participant_id, False)
            text = render_summary(report)
        except Exception as e:  # the view must stay up whatever the analysis does
            text = f"The phase summary could not be computed ({type(e).__name__}: {e})."
        self.app.call_from_thread(self.query_one("#summary", Static).update, text)


def render_summary(report):
    """The report's numbers (an analysis PersonalReport, read by attribute): per item each phase's
    mean and % better than baseline; drug vs placebo in percentage points (paper and model) and in
    the item's units, each p beside its number; the responder rule and the model's result in words."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from analysis.plain import headline
    from analysis.wording import fmt_p, model_sentence, responder_rule, responder_verdict

    plain = Text("\n\n".join(headline(report)) + "\n")
    head = ["── The numbers, and how they were worked out ──", "", "Phase summary (exploratory)", ""]
    for p in report.phases:
        comp = "—" if p.compliance is None else f"{p.compliance:.0%}"
        head.append(f"{p.label}: days {p.first_day}–{p.last_day}, {p.n} reports ({comp})")
    means = Table(box=None, pad_edge=False, header_style="bold", title_justify="left",
                  title="Mean per phase, % better than baseline (paper)")
    means.add_column("item", no_wrap=True)
    for p in report.phases:
        means.add_column(p.label, justify="right")  # a long name wraps in its header, never cut
    for rep in report.items.values():
        cells = []
        for p in report.phases:
            ph = rep.phases.get(p.key)
            cells.append("" if ph is None or ph.mean is None else
                         f"{ph.mean:.0f}" + ("" if ph.reduction_pct is None else f" {ph.reduction_pct:+.0f}%"))
        means.add_row(rep.label, *cells)
    drug = Table(box=None, pad_edge=False, header_style="bold", title_justify="left",
                 title="Drug − placebo (pp: percentage points of baseline)")
    for col in ("item", "paper", "model", "p", "diff.", "p adj."):
        drug.add_column(col, justify="left" if col == "item" else "right", no_wrap=True)
    for rep in report.items.values():
        vp = rep.model.vs_placebo_points if rep.model else None
        c = rep.active_vs_placebo
        drug.add_row(rep.label, "" if rep.vs_placebo_points is None else f"{rep.vs_placebo_points:+.1f} pp",
                     "" if vp is None or vp.value is None else f"{vp.value:+.1f} pp", "" if vp is None else fmt_p(vp.p),
                     "" if c is None else f"{c.diff:+.1f}", "" if c is None else fmt_p(c.p_adj))
    tail = []
    if report.responder is not None:
        tail.append(f"As in the paper you are {responder_verdict(report)}: a responder is someone for whom "
                    f"{responder_rule(report.responder_points)}.")
    sentence = model_sentence(report)
    if sentence:
        tail.append(sentence)
    tail.append("diff.: the model's drug − placebo difference in the item's own units (0–100 points for a "
                "scale); p adj.: its p adjusted for looking at several items (the primary item keeps its own).")
    tail += report.caveats[:1]
    return Group(plain, Text("\n".join(head) + "\n"), means, Text(""), drug, Text("\n" + "\n\n".join(tail)))
