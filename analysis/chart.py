"""The personal report's chart: daily values over phase bands, raw phase means, model means with 95% intervals."""

from __future__ import annotations

import io
import math

from analysis.results import ItemResult, PersonalReport

BAND_COLOURS = ("#eef3fb", "#fbf3e6", "#eaf6ee", "#f6ecf5", "#f2f2f2")
LINE = "#3b5b92"
MEAN = "#c0392b"
MODEL = "#6c3483"


def chart_png(report: PersonalReport, dpi: int = 110) -> bytes:
    """PNG bytes: the primary item full width on top, the other numeric items two to a row below."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    items = sorted(report.items.values(), key=lambda r: not r.item.primary)
    rest = len(items) - 1
    rows = 1 + math.ceil(rest / 2)
    fig = Figure(figsize=(11, 3.4 + 2.3 * (rows - 1)), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(rows, 2, height_ratios=[1.5] + [1] * (rows - 1))
    for k, rep in enumerate(items):
        ax = fig.add_subplot(grid[0, :] if k == 0 else grid[1 + (k - 1) // 2, (k - 1) % 2])
        _panel(ax, report, rep, big=k == 0)
    by = "participant labels (blinded)" if report.blinded else "true phase names"
    shows = "period means" if report.blinded else "raw phase means, model means with 95% intervals"
    fig.suptitle(f"{report.participant_id} · {report.study_id} · daily values, {shows} · {by}", fontsize=10)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _panel(ax, report: PersonalReport, rep: ItemResult, big: bool) -> None:
    item, series = rep.item, rep.series
    hi = 100 if item.kind == "vas" else None
    for i, ph in enumerate(report.phases):
        ax.axvspan(ph.first_day - 0.5, ph.last_day + 0.5, color=BAND_COLOURS[i % len(BAND_COLOURS)], lw=0)
        ax.text((ph.first_day + ph.last_day) / 2, 1.0, ph.label, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=8 if big else 6.5, color="#444", clip_on=False)
        stats = rep.phases.get(ph.key)
        if not stats or stats.mean is None or series is None:
            continue
        seen = [d for d in series.days if ph.first_day <= d <= ph.last_day]
        x = (ph.first_day - 0.5, max(seen) + 0.5)  # a phase still running: only the days so far
        model = rep.model.phases.get(ph.key) if rep.model else None
        if model is not None and model.ci95 is not None:
            ax.fill_between(x, *model.ci95, color=MODEL, alpha=0.18, lw=0)
            ax.plot(x, (model.value,) * 2, color=MODEL, lw=1.2, ls="--")
        ax.plot(x, (stats.mean,) * 2, color=MEAN, lw=2 if big else 1.5)
    if series is not None:
        days, values = _with_gaps(list(series.days), list(series.values))
        ax.plot(days, values, color=LINE, lw=0.9 if big else 0.7)
        ax.plot(series.days, series.values, "o", color=LINE, ms=2.5 if big else 1.6)
    if report.phases:
        ax.set_xlim(report.phases[0].first_day - 0.5, report.phases[-1].last_day + 0.5)
    if hi is not None:
        ax.set_ylim(0, hi)
    better = "lower is better" if item.better == "lower" else "higher is better"
    ax.set_title(f"{rep.label}{' (primary)' if item.primary else ''} — {better}", fontsize=10 if big else 8,
                 loc="left", pad=16 if big else 10)
    ax.tick_params(labelsize=8 if big else 6.5)
    if big:
        ax.set_xlabel("study day", fontsize=8)


def _with_gaps(days: list[int], values: list[float]) -> tuple[list[float], list[float]]:
    """The series with a break (NaN) wherever a day is missing, so the line does not bridge gaps."""
    xs: list[float] = []
    ys: list[float] = []
    for k, (d, v) in enumerate(zip(days, values)):
        if k and d != days[k - 1] + 1:
            xs.append(math.nan)
            ys.append(math.nan)
        xs.append(d)
        ys.append(v)
    return xs, ys
