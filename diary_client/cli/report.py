"""`diary report` (the participant's own phases) and `diary hub report` (the coordinator's cohort)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from analysis.participant import AdverseEvent, ParticipantData
from diary_client.cli.kit import Env, emit_json, pass_env, user_errors
from diary_client.core.printable import printable

if TYPE_CHECKING:  # the hub's modules load only for `hub report`, never for the participant's `diary report`
    from analysis.cohort_page import HeatRow, PageRow
    from analysis.results import CohortSummary
    from diary_client.core.protocol import Protocol
    from sync.hub.roster import LeftOut
    from sync.hub.rules import Participant
    from sync.hub.store import HubStore


class ReportError(Exception):
    """A report that cannot be made or written (bad covariates file, unwritable path); says why."""


def _write(path: Path, data: bytes | str | Iterable[str]) -> None:
    try:
        from diary_client.core import private

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
    from analysis.personal import analyse

    diary, now = env.diary(), env.now()
    rep = analyse(diary.protocol, diary.start, diary.entries(), now, diary.participant_id,
                  blinded=not diary.unblinded(now))
    png = None
    if png_file or html_file:
        from analysis.chart import chart_png

        png = chart_png(rep)
    if png_file:
        _write(png_file, png)  # type: ignore[arg-type]  # png is set whenever png_file is given
    if html_file:
        from analysis.render_html import personal_html

        _write(html_file, personal_html(rep, png))
    if as_json:
        emit_json(rep.as_json())
    elif not (png_file or html_file):  # a file was asked for: say where it went, not the whole report again
        from analysis.render_text import print_personal

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


class Cohort(msgspec.Struct, frozen=True):
    """The hub's participants of one study that `hub report` reads: those with a day 1 (`people`)
    and those already left out (no day 1 yet, a damaged record), on the hub opened read-only."""

    hub: HubStore
    people: list[Participant]
    left_out: list[LeftOut]

    def data(self, now: datetime) -> Iterator[ParticipantData | LeftOut]:
        """Each participant's data in turn (one in memory at a time), or why she is left out (a damaged entry)."""
        from sync.hub import roster

        for m in roster.members(self.hub, self.people):
            if isinstance(m, roster.LeftOut):
                yield m
                continue
            p = m.participant
            assert p.start is not None  # `people` all have a day 1
            yield ParticipantData(p.participant_id, p.protocol, p.start, m.entries, p.local(now).tzinfo,
                                  adverse_events=self.adverse_events(p.participant_id), sequence=p.sequence)

    def adverse_events(self, participant_id: str) -> tuple[AdverseEvent, ...]:
        """Her adverse events as they stand (a correction replaces its original), for the harms table."""
        from diary_client.core import event as ev
        from sync.hub.events import received_events

        events = ev.current(r["event"] for r in received_events(self.hub.db, participant_id))
        return tuple(AdverseEvent(e.id, e.started, e.severity, e.serious, e.resolved, e.what)
                     for e in events if isinstance(e, ev.AdverseEvent))


def load_cohort(db_path: Path, study: str | None) -> Cohort:
    """The hub's participants of one study (the only one, when `study` is None), read through
    `sync.hub.roster` with the hub opened read-only; ReportError when there is none to report on."""
    from sync.hub import roster
    from sync.hub.store import HubStore

    if not db_path.is_file():
        raise ReportError(f"{db_path}: no hub database there (check --db)")
    hub = HubStore.open_readonly(db_path)
    everyone = roster.read(hub)
    studies = everyone.studies()
    if study is None:
        if len(studies) > 1:
            raise ReportError(f"the hub holds several studies ({', '.join(studies)}): choose one with --study")
        study = studies[0] if studies else None
    chosen = everyone.of_study(study)
    left_out = chosen.left_out + [roster.LeftOut(p.participant_id, p.damaged or roster.NO_DAY_1, p.study_id)
                                  for p in chosen.people if p.start is None]
    if not chosen.people and not left_out:
        raise ReportError(f"no participants in study {study}" if study else "the hub has no participants yet")
    people = [p for p in chosen.people if p.start is not None]
    if not people:
        raise ReportError(f"no participant of study {study} can be reported on yet: {roster.describe(left_out)}")
    return Cohort(hub, people, left_out)


class CohortRead(msgspec.Struct, frozen=True):
    """What one read pass over the hub gives `hub report`."""

    summary: CohortSummary
    left_out: list[LeftOut]  # by id: no day 1, a damaged record or entry
    page: list[PageRow]  # --html: each participant's row of the page, not her report
    heat: list[HeatRow]  # --html: each participant's compliance heat-map row
    json_tail: str | None  # --json: the document's closing piece, held back for "left_out"
    cent: list  # --cent: each participant's row of the CENT page (`CentRow`)
    protocol: Protocol  # the study's protocol, as the stream read it (the CENT page's design)


def read_cohort(cohort: Cohort, now: datetime, covariates: dict[str, dict[str, float]] | None, html: bool,
                json_out: Callable[[str], object] | None = None, cent: bool = False) -> CohortRead:
    """One pass over the cohort: each participant read, reported on, written (`json_out`: her part
    of the JSON document, as soon as it is made) and dropped, keeping what the page needs of her."""
    from analysis.cohort import CohortStream
    from analysis.cohort_page import heat_row
    from sync.hub.roster import LeftOut

    left_out = list(cohort.left_out)
    page: list[PageRow] = []
    heat: list[HeatRow] = []
    cent_rows: list = []

    def ready() -> Iterator[ParticipantData]:
        for p in cohort.data(now):
            if isinstance(p, LeftOut):
                left_out.append(p)
                continue
            if html:
                heat.append(heat_row(p.participant_id, p.protocol, p.start, list(p.entries),
                                     cohort.hub.reads.flags(p.participant_id), p.local(now)))
            yield p

    # each participant's report is written (or passed over) as soon as it is made, then dropped
    stream = CohortStream(ready(), now, covariates, _rows_of(page if html else None, cent_rows if cent else None),
                          daily=html)  # the page's small multiples draw each day's value
    tail = None
    try:
        if json_out is not None:
            for piece in stream.json_text():  # all but the last piece, written as they come
                if tail is not None:
                    json_out(tail)
                tail = piece
        else:
            for _ in stream.reports():
                pass
        summary = stream.summary()
    except ValueError as e:  # every participant with a day 1 turned out damaged
        from sync.hub.roster import describe

        raise ReportError(f"{e}: {describe(left_out)}" if left_out else str(e)) from None
    return CohortRead(summary, sorted(left_out, key=lambda x: x.participant_id), page, heat, tail, cent_rows,
                      stream.protocol)


@click.command("report")
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              envvar="DIARY_HUB_DB", help="The hub's SQLite file (env DIARY_HUB_DB).")
@click.option("--study", help="The study to report on (needed when the hub holds several).")
@click.option("--covariates", "covariates_file", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with header participant_id,<name>...: each against the primary item's vs_placebo_points.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (the cohort report contract).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML page (table, compliance heat map, daily charts, responders) "
                   "instead of the text report; one line says what was written.")
@click.option("--cent", "cent_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML page laid out by the CENT 2015 checklist (design, blinding, "
                   "flow per period, effects, harms per period); one line says what was written.")
@user_errors(ReportError)
def hub_report(db_path: Path, study: str | None, covariates_file: Path | None, as_json: bool,
               html_file: Path | None, cent_file: Path | None) -> None:
    """The cohort report, the paper's table: reductions, paired tests, responders, covariates, mixed model."""
    from diary_client.core import clock
    from sync.hub.errors import HubError
    from sync.hub.roster import describe

    covariates = read_covariates(covariates_file) if covariates_file else None
    now = clock.now()
    try:
        got = read_cohort(load_cohort(db_path, study), now, covariates, html=bool(html_file), cent=bool(cent_file),
                          json_out=(lambda piece: click.echo(piece, nl=False)) if as_json else None)
    except HubError as e:
        raise ReportError(str(e)) from None
    if as_json:
        import json

        click.echo(', "left_out": ' + json.dumps([x.as_json() for x in got.left_out], ensure_ascii=False)
                   + (got.json_tail or ""))
    if covariates:
        unknown = sorted(set(covariates) - set(got.summary.participant_ids))
        if unknown:
            click.echo(f"covariates: no such participant in the study: {', '.join(map(printable, unknown))}", err=True)
    if got.left_out:
        click.echo(describe(got.left_out), err=True)
    if html_file:
        from analysis.cohort_page import page_pieces

        _write(html_file, page_pieces(got.summary, got.page, got.heat, covariates,
                                      [(x.participant_id, x.reason) for x in got.left_out]))
    if cent_file:
        from analysis.cent_page import cent_html

        _write(cent_file, cent_html(got.summary, got.protocol, got.cent))
    if html_file:  # the page is what was asked for: one line about it (the text report is `hub report` alone)
        click.echo(f"Wrote {html_file}: {got.summary.n_participants} participants, {got.summary.responders_phrase()}",
                   err=as_json)
    if cent_file:
        click.echo(f"Wrote {cent_file}: the CENT 2015 items for {got.summary.n_participants} participants", err=as_json)
    if not (as_json or html_file or cent_file):
        from analysis.render_text import print_cohort

        print_cohort(got.summary)


def _rows_of(page: list | None, cent: list | None):
    """What `CohortStream` hands each report to: the HTML page's row and the CENT page's, as asked."""
    if page is None and cent is None:
        return None
    from analysis.cohort_page import page_row

    def keep(r) -> None:
        if page is not None:
            page.append(page_row(r))
        if cent is not None:
            from analysis.cent_page import cent_row

            cent.append(cent_row(r))

    return keep


def _echo_but_last(pieces: Iterator[str]) -> str | None:
    """Write the pieces to stdout as they come (compact JSON: indent=2 falls back to the pure-Python
    encoder, 2.1 s vs 0.8 s at 1,000 participants), all but the last, which is returned."""
    last = None
    for piece in pieces:
        if last is not None:
            click.echo(last, nl=False)
        last = piece
    return last
