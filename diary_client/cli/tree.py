"""The one `diary` command tree: every command and the module that holds it, imported only when used.

Adding a command is one line here and one module beside this one; nothing else lists commands.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click

from diary_client.cli.datadir import chosen_data_dir
from diary_client.cli.kit import Env
from diary_client.cli.lazy import LazyGroup

# `diary NAME`: the participant's device (and `hub`, the coordinator's group below).
COMMANDS = {
    "enroll": "diary_client.cli.participant:enroll",
    "status": "diary_client.cli.participant:status",
    "record": "diary_client.cli.participant:record",
    "import": "diary_client.cli.participant:import_",
    "export": "diary_client.cli.participant:export",
    "verify": "diary_client.cli.participant:verify",
    "sync": "diary_client.cli.hub:sync_command",
    "report": "diary_client.cli.report:report",
    "remind": "diary_client.cli.remind:remind",
    "demo": "diary_client.cli.demo:demo",
    "hub": "diary_client.cli.tree:hub",
}

# `diary hub NAME`: the coordinator's hub.
HUB_COMMANDS = {
    "serve": "diary_client.cli.hub:serve",
    "enroll": "diary_client.cli.hub:hub_enroll",
    "set-start": "diary_client.cli.hub:hub_set_start",
    "protocol": "diary_client.cli.hub:hub_protocol",
    "import": "diary_client.cli.hub:hub_import",
    "status": "diary_client.cli.hub:hub_status",
    "unblind": "diary_client.cli.hub:hub_unblind",
    "revoke": "diary_client.cli.hub:hub_revoke",
    "export": "diary_client.cli.hub:hub_export",
    "backup": "diary_client.cli.hub:hub_backup",
    "report": "diary_client.cli.report:hub_report",
}


@click.group(cls=LazyGroup, invoke_without_command=True, lazy=COMMANDS)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where this device keeps its diary (env DIARY_HOME; default: the user data dir).",
)
@click.version_option(package_name="symptom-diary")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None) -> None:
    """A daily symptom diary for clinical and N-of-1 studies.

    With no command, opens the diary app (the enrolment screen on first run).
    """
    from diary_client.core import clock

    ctx.obj = Env(chosen_data_dir(data_dir))
    notice = clock.override_notice()
    if notice:
        click.echo(notice, err=True)
    if ctx.invoked_subcommand is None:
        from diary_client.app.main import run_app

        run_app(ctx.obj.data_dir)


@click.group(cls=LazyGroup, lazy=HUB_COMMANDS)
def hub() -> None:
    """The coordinator's hub: serve it, enrol participants, import diary files, status, unblind, export."""
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:  # a participant's plain install: the hub is the coordinator's extra
        raise click.ClickException(f"the hub is not installed here ({', '.join(missing)} missing): "
                                   "pip install 'symptom-diary[hub]'")


def run() -> None:  # pragma: no cover - console entry point (launch.run, python -m diary_client)
    sys.exit(main(prog_name="diary"))
