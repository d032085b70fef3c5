"""A protocol without [allocation] reports byte for byte as before the designs (frozen outputs of main).

The files in tests/data/fixed-*.{json,txt} were made by main (the merge of designs-run) before designs came to the analysis,
then the blinded JSON and the text made again when issue 21 put plain words first (the unblinded JSON and the
cohort's stayed byte for byte)
(`python tests/test_analysis_fixed_unchanged.py` writes them again: only do that on purpose).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from analysis.cohort import cohort_report
from analysis.participant import ParticipantData
from analysis.simulate import Profile, as_entries, simulate
from diary_client.core.protocol import load_protocol

DATA = Path(__file__).parent / "data"
NOW = "2026-03-20T21:00:00"  # the demo participant finished day 98 before this
MID = "2026-01-20T21:00:00"  # day 42 of the demo: still blinded


def demo_outputs(tmp: Path, env: dict[str, str]) -> dict[str, str]:
    """`diary demo --dir D --no-app`, then `diary --data-dir D report --json` (unblinded and blinded) and the text report."""
    from diary_client.cli.tree import main

    runner = CliRunner()
    demo = tmp / "demo"
    out = {}
    r = runner.invoke(main, ["demo", "--dir", str(demo), "--no-app"], env={**env, "DIARY_NOW": NOW},
                      catch_exceptions=False)
    assert r.exit_code == 0, r.output
    for name, now, args in (("fixed-demo-report.json", NOW, ["--json"]), ("fixed-demo-blinded.json", MID, ["--json"]),
                            ("fixed-demo-report.txt", NOW, [])):
        r = runner.invoke(main, ["--data-dir", str(demo), "report", *args], env={**env, "DIARY_NOW": now,
                                                                                  "COLUMNS": "120"},
                          catch_exceptions=False)
        assert r.exit_code == 0, r.output
        out[name] = r.stdout
    return out


def cohort_output() -> str:
    """A fixed-design cohort of four simulated participants, as `hub report --json` writes its body."""
    protocol = load_protocol()
    start = date(2026, 1, 5)
    rng = np.random.default_rng(19)
    people = []
    for k in range(4):
        pid = f"F{k}"
        days = simulate(protocol, start, rng, Profile(missing=0.05))
        people.append(ParticipantData(pid, protocol, start, as_entries(protocol, start, days, pid)))
    return "".join(cohort_report(people, datetime(2026, 6, 1, tzinfo=UTC)).json_text())


def test_demo_reports_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    for name, text in demo_outputs(tmp_path, {"TZ": "UTC", "DIARY_NOW_QUIET": "1"}).items():
        assert text == (DATA / name).read_text(encoding="utf-8"), name


def test_fixed_cohort_report_is_byte_identical():
    assert cohort_output() == (DATA / "fixed-cohort-report.json").read_text(encoding="utf-8")


if __name__ == "__main__":  # writes the frozen files again
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        files = demo_outputs(Path(d), {"TZ": "UTC", "DIARY_NOW_QUIET": "1"})
    files["fixed-cohort-report.json"] = cohort_output()
    for name, text in files.items():
        (DATA / name).write_text(text, encoding="utf-8")
    sys.exit(0)
