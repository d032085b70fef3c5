"""docs/architecture.md's module list names every module file of diary_client/, sync/ and analysis/, each
on a line that says what it holds, and names no module that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("diary_client", "sync", "analysis")


def architecture_section() -> str:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found = re.search(r"^## Modules\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert found, "docs/architecture.md has no '## Modules' section"
    return found.group(1)


def named_modules(section: str) -> dict[str, str]:
    """Module path -> what its line says it holds. A module is named in the first cell of a table
    row (`| `name.py` | holds |`) or before the dash of a bullet (`- `name.py` — holds`); a bare
    name belongs to the package of the `### ... (`package/`)` heading above it, a name with a
    slash is a path from the top. Names in the descriptions are cross references, not entries."""
    out: dict[str, str] = {}
    package = ""
    for line in section.splitlines():
        heading = re.match(r"^###.*\(`([\w/]+?)/?`\)", line)
        if heading:
            package = heading.group(1) + "/"
            continue
        row = re.match(r"^\|([^|]*)\|(.*)$", line) or re.match(r"^- (.*?) — (.*)$", line)
        if not row:
            continue
        names, holds = row.groups()
        for name in re.findall(r"`([\w./]+\.py)`", names):
            path = name if "/" in name else package + name
            if path.startswith(tuple(p + "/" for p in PACKAGES)):
                out.setdefault(path, holds.strip(" |"))
    return out


def module_files() -> list[str]:
    """Every .py file of the three packages (package markers, `__init__.py`, left aside)."""
    return sorted(p.relative_to(ROOT).as_posix() for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                  if p.name != "__init__.py" and ".venv" not in p.parts)


def test_every_module_file_is_named_in_the_architecture_section():
    named = named_modules(architecture_section())
    missing = [m for m in module_files() if m not in named]
    assert not missing, ("docs/architecture.md does not name " + ", ".join(missing)
                         + ": add a line for each saying what it holds")


def test_the_architecture_section_names_no_module_that_is_gone():
    gone = [m for m in named_modules(architecture_section()) if not (ROOT / m).is_file()]
    assert not gone, f"docs/architecture.md names {', '.join(gone)}, which no longer exist"


def test_each_module_line_says_what_it_holds():
    bare = [m for m, holds in named_modules(architecture_section()).items()
            if len(re.sub(r"[^\w]", "", holds)) < 12]
    assert not bare, f"docs/architecture.md names {', '.join(bare)} without saying what they hold"


def test_the_check_finds_a_missing_module():
    section = ("### Sync (`sync/`)\n| `sync/client.py` | the device side, beside `wire.py` |\n"
               "### Analysis (`analysis/`)\n| `cli.py`, `chart.py` | commands |\n- `analysis/stats.py` — models\n")
    named = named_modules(section)
    assert set(named) == {"sync/client.py", "analysis/cli.py", "analysis/chart.py", "analysis/stats.py"}
    assert named["sync/client.py"] == "the device side, beside `wire.py`"
