"""`diary hub allocation`: a study's balance and allocation hash; the sequences only with --reveal --reason (audited)."""

from __future__ import annotations

from pathlib import Path

import click

from diary_client.cli.hub import _readonly, _store, db_option
from diary_client.cli.kit import check_reveal, emit_json, user_errors
from diary_client.core import clock
from diary_client.core.design import sequence_key
from diary_client.core.printable import printable
from sync.hub.errors import HubError


@click.command("allocation")
@db_option
@click.option("--study", "study_id", help="The study (default: the hub's only one).")
@click.option("--reveal", is_flag=True, help="Show each participant's sequence (audited: who, when, why).")
@click.option("--reason", help="Why the sequences are shown (required with --reveal; kept in the hub's audit).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"study_id", "method", "allocation_hash", "balance", "participants"}.')
@user_errors(HubError)
def hub_allocation(db_path: Path, study_id: str | None, reveal: bool, reason: str | None, as_json: bool) -> None:
    """How a study's sequences are balanced, and a hash that commits to the allocation.

    The sequences stay concealed unless --reveal --reason TEXT is given; every reveal is audited
    with the OS user, the time and the reason. The study's seed is never shown (docs/designs.md).
    """
    from sync.hub import allocation as al

    check_reveal(reveal, reason)
    store = _readonly(db_path)
    study = al.chosen_study(store, study_id)
    got = al.allocation(store, study)
    if reveal:
        al.reveal(_store(db_path), study, reason, clock.now())  # type: ignore[arg-type]  # checked above: a reason is given
    if as_json:
        emit_json(got.as_json(reveal))
        return
    click.echo(f"Study {printable(got.study_id)}: {got.method}, {len(got.participants)} participant(s)")
    click.echo(f"Allocation hash: {got.allocation_hash}")
    for key, n in got.balance.items():
        click.echo(f"  {n:>4}  {printable(key)}")
    if reveal:
        for a in got.participants:
            click.echo(f"{printable(a.participant_id)}  {printable(sequence_key(a.sequence))}")
    else:
        click.echo("Sequences concealed: --reveal --reason TEXT shows them (audited).")
