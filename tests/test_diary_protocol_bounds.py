"""Hostile protocol files (issue 18, point 8): size, nesting and integer ranges bounded, one line
naming the field from every command that reads a protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from diary_client.cli.tree import main
from diary_client.core.protocol import MAX_BYTES, builtin_text, parse_protocol


def _commands(tmp_path: Path, protocol: Path) -> list[list[str]]:
    hub = str(tmp_path / "hub.db")
    return [["--data-dir", str(tmp_path / "device"), "enroll", "--participant", "C01", "--protocol", str(protocol)],
            ["hub", "enroll", "--db", hub, "C01", "--protocol", str(protocol)],
            ["hub", "protocol", "--db", hub, str(protocol)]]


BIG_VERSION = builtin_text().replace("version = 1", f"version = {2**70}", 1)


@pytest.mark.parametrize("text, says", [
    ('id = "x"\ntitle = "t"\nitems = ' + "[" * 5000 + "]" * 5000, "nested deeper than a protocol can be"),
    ('id = "x"\ntitle = "t"\n' + "a." * 3000 + "b = 1", "a.a.a.a.a.a.a.a: nested deeper"),
    (BIG_VERSION, f"version: {2**70} is out of range (at most 2147483647)"),
    (builtin_text().replace("days = 14", f"days = {-2**64}", 1), "phases[0].days: -18446744073709551616 is out of range"),
    (builtin_text().replace("grace_hours = 12", "grace_hours = nan", 1), "schedule.grace_hours: nan is not a finite number"),
    (builtin_text() + "#" * MAX_BYTES, "larger than a protocol can be (256 KiB at most)"),
])
def test_a_hostile_protocol_gets_one_line_naming_the_field_from_every_command(tmp_path, monkeypatch, text, says):
    monkeypatch.setenv("TZ", "UTC")
    protocol = tmp_path / "study.toml"
    protocol.write_text(text)
    for args in _commands(tmp_path, protocol):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (args, r.output)
        assert r.output.count("\n") == 1 and says in r.output and str(protocol) in r.output, (args, r.output)


def test_the_largest_version_is_accepted_and_fits_the_hubs_database(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    protocol = tmp_path / "study.toml"
    protocol.write_text(builtin_text().replace("version = 1", f"version = {2**31 - 1}", 1))
    assert parse_protocol(protocol.read_text()).version == 2**31 - 1
    for args in _commands(tmp_path, protocol)[:2]:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, (args, r.output)
