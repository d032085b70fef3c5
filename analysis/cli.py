"""`diary report` (the participant's own phases) and `diary hub report` (the coordinator's cohort)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click

from diary_client.cli import Env, emit_json, pass_env, user_errors

from .participant import ParticipantData


class ReportError(Exception):
    """A report that cannot be made or written (bad covariates file, unwritable path); says why."""


def _write(path: Path, data: bytes | str) -> None:
    try:
        from diary_client import private

        private.write(path, data)  # a report holds symptom data: owner only (0600)
    except OSError as e:
        raise ReportError(f"{path}: cannot write ({e.strerror})") from None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the report contract).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML page (chart, numbers, caveats).")
@click.option("--png", "png_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the chart as a PNG image.")
@pass_env
@user_errors(ReportError)
def report(env: Env, as_json: bool, html_file: Path | None, png_file: Path | None) -> None:
    """Your phase report: per item and phase, means and compliance; comparisons once unblinded."""
    from .personal import analyse

    diary, now = env.diary(), env.now()
    rep = analyse(diary.protocol, diary.start, diary.entries(), now, diary.participant_id,
                  blinded=not diary.unblinded(now))
    png = None
    if png_file or html_file:
        from .chart import chart_png

        png = chart_png(rep)
    if png_file:
        _write(png_file, png)  # type: ignore[arg-type]  # png is set whenever png_file is given
    if html_file:
        from .render_html import personal_html

        _write(html_file, personal_html(rep, png))
    if as_json:
        emit_json(rep.as_json())
    elif not (png_file or html_file):  # a file was asked for: say where it went, not the whole report again
        from .render_text import print_personal

        print_personal(rep)
    for path in (png_file, html_file):
        if path:
            click.echo(f"Wrote {path}", err=as_json)


def read_covariates(path: Path) -> dict[str, dict[str, float]]:
    """`participant_id,<name>...` CSV -> {participant_id: {name: value}}; empty cells are left out."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if not header or header[0] != "participant_id" or len(header) < 2:
                raise ReportError(f"{path}: the header must be participant_id,<covariate names...>")
            if len(set(header)) != len(header):
                raise ReportError(f"{path}: a column name appears twice in the header")
            out: dict[str, dict[str, float]] = {}
            for row in reader:
                if not any(c.strip() for c in row):
                    continue
                line = reader.line_num
                if len(row) != len(header):
                    raise ReportError(f"{path}: line {line}: {len(row)} cells, the header has {len(header)}")
                pid = row[0].strip()
                if pid in out:
                    raise ReportError(f"{path}: line {line}: participant {pid} appears twice")
                values = {}
                for name, cell in zip(header[1:], row[1:]):
                    if not cell.strip():
                        continue
                    try:
                        v = float(cell)
                    except ValueError:
                        raise ReportError(f"{path}: line {line}: {name} = {cell!r} is not a number") from None
                    if not math.isfinite(v):
                        raise ReportError(f"{path}: line {line}: {name} = {cell!r} is not a finite number")
                    values[name] = v
                out[pid] = values
            return out
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ReportError(f"{path}: not a readable CSV file ({e})") from None


def load_cohort(db_path: Path, study: str | None, now: datetime) -> tuple[Iterator[ParticipantData], list[str]]:
    """The hub's participants of one study with a day 1, one at a time, and the ids of those without."""
    from sync.hub.store import HubStore

    if not db_path.is_file():
        raise ReportError(f"{db_path}: no hub database there (check --db)")
    store = HubStore(db_path)
    people = store.reads.participants()
    studies = sorted({p.study_id for p in people})
    if study is None:
        if len(studies) > 1:
            raise ReportError(f"the hub holds several studies ({', '.join(studies)}): choose one with --study")
        study = studies[0] if studies else None
    chosen = [p for p in people if p.study_id == study]
    if not chosen:
        raise ReportError(f"no participants in study {study}" if study else "the hub has no participants yet")
    waiting = [p.participant_id for p in chosen if p.start is None]
    if len(waiting) == len(chosen):
        raise ReportError(f"no participant of the study has a start date yet ({', '.join(waiting)})")
    ready = (ParticipantData(p.participant_id, p.protocol, p.start, store.reads.entries(p.participant_id),
                             p.local(now).tzinfo)
             for p in chosen if p.start is not None)
    return ready, waiting


@click.command("report")
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              envvar="DIARY_HUB_DB", help="The hub's SQLite file (env DIARY_HUB_DB).")
@click.option("--study", help="The study to report on (needed when the hub holds several).")
@click.option("--covariates", "covariates_file", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with header participant_id,<name>...: each against the primary item's vs_placebo_points.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the cohort report contract).")
@user_errors(ReportError)
def hub_report(db_path: Path, study: str | None, covariates_file: Path | None, as_json: bool) -> None:
    """The cohort report, the paper's table: reductions, paired tests, responders, covariates, mixed model."""
    from diary_client import clock
    from sync.hub.store import HubError

    from .cohort import cohort_report

    covariates = read_covariates(covariates_file) if covariates_file else None
    now = clock.now()
    try:
        ready, waiting = load_cohort(db_path, study, now)
        rep = cohort_report(ready, now, covariates)
    except HubError as e:
        raise ReportError(str(e)) from None
    if covariates:
        unknown = sorted(set(covariates) - {r.participant_id for r in rep.participants})
        if unknown:
            click.echo(f"covariates: no such participant in the study: {', '.join(unknown)}", err=True)
    if waiting:
        click.echo(f"left out (no start date yet): {', '.join(waiting)}", err=True)
    if as_json:  # compact: indent=2 falls back to the pure-Python encoder (2.1 s vs 0.8 s at 1,000 participants)
        for piece in rep.json_text():  # one participant at a time, never the whole document in memory
            click.echo(piece, nl=False)
        click.echo()
    else:
        from .render_text import print_cohort

        print_cohort(rep)
