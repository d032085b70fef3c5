"""Whether requirements/*.lock agree with pyproject.toml: each direct requirement pinned, inside its range, none stale.

Run by tests/test_lock.py and, before anything is installed, by .ci/run (`python tests/lock_check.py`):
one line on stderr and exit 1 when they disagree.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
TEST_LOCK = "requirements/test.lock"
HUB_LOCK = "requirements/hub.lock"
# Which of pyproject.toml's requirement sets each lock holds ("" is the plain dependencies).
LOCKS = {TEST_LOCK: ("", "hub", "test"), HUB_LOCK: ("", "hub")}
REFRESH = "bash requirements/refresh.sh"
# How uv names pyproject.toml as the source of a direct requirement in a lock's "# via" notes.
VIA_PYPROJECT = "(pyproject.toml)"


@dataclass(frozen=True)
class Pin:
    """One `name==version ; marker` line of a lock, with the names its "# via" notes give."""

    name: NormalizedName
    version: str
    marker: Marker | None
    via: tuple[str, ...]

    def applies(self) -> bool:
        """Whether this pin is the one for the running interpreter and platform."""
        return self.marker is None or self.marker.evaluate()


def read_lock(path: Path) -> list[Pin]:
    """The pins of a pip-style lock (uv pip compile's or pip-compile's output)."""
    pins: list[Pin] = []
    via: list[str] = []
    for raw in path.read_text().splitlines() + [""]:
        line = raw.strip()
        if raw.startswith((" ", "\t")) and line.startswith("#"):
            note = line.lstrip("#").strip()
            via.append("" if note == "via" else note.removeprefix("via ").strip())
            continue
        if pins and via:
            pins[-1] = Pin(pins[-1].name, pins[-1].version, pins[-1].marker, tuple(v for v in via if v))
        via = []
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise ValueError(f"{path.name}: {line!r} is not an exact pin")
        pins.append(Pin(canonicalize_name(req.name), specs[0].version, req.marker, ()))
    return pins


def locked_version(name: str, lock: str = TEST_LOCK, root: Path = ROOT) -> str | None:
    """The version the lock pins for this interpreter, or None when it pins none."""
    for pin in read_lock(root / lock):
        if pin.name == canonicalize_name(name) and pin.applies():
            return pin.version
    return None


def declared(root: Path, groups: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's requirements in these sets, with the project's own extras taken as their contents."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    own = canonicalize_name(project["name"])
    extras = project.get("optional-dependencies", {})
    out: list[Requirement] = []
    for group in groups:
        for text in project["dependencies"] if group == "" else extras.get(group, []):
            req = Requirement(text)
            if canonicalize_name(req.name) != own:
                out.append(req)
    return out


def problems(root: Path = ROOT) -> list[str]:
    """Every way the locks and pyproject.toml disagree, one short phrase each."""
    found: list[str] = []
    locks: dict[str, list[Pin]] = {}
    for lock, groups in LOCKS.items():
        if not (root / lock).is_file():
            found.append(f"{lock} is missing")
            continue
        pins = locks[lock] = read_lock(root / lock)
        by_name: dict[str, list[Pin]] = {}
        for pin in pins:
            by_name.setdefault(pin.name, []).append(pin)
        wanted = declared(root, groups)
        for req in wanted:
            name = canonicalize_name(req.name)
            if name not in by_name and req.marker is None:
                found.append(f"{req.name} ({req.specifier or 'any version'}) is in pyproject.toml but not in {lock}")
            for pin in by_name.get(name, []):
                if not req.specifier.contains(pin.version, prereleases=True):
                    found.append(f"{lock} pins {pin.name}=={pin.version}, outside pyproject.toml's {req.specifier}")
        names = {canonicalize_name(r.name) for r in wanted}
        for pin in pins:
            if pin.name not in names and any(v.endswith(VIA_PYPROJECT) for v in pin.via):
                found.append(f"{lock} pins {pin.name} for pyproject.toml, which no longer asks for it")
    if TEST_LOCK in locks and HUB_LOCK in locks:
        tested = {(p.name, p.version) for p in locks[TEST_LOCK]}
        for pin in locks[HUB_LOCK]:
            if (pin.name, pin.version) not in tested:
                found.append(f"{HUB_LOCK} pins {pin.name}=={pin.version}, which {TEST_LOCK} does not (the image would run untested)")
    return found


def summary(found: list[str]) -> str:
    """The one line a person reads: what disagrees and the command that mends it."""
    return f"the locks disagree with pyproject.toml: {'; '.join(found)}; refresh them with `{REFRESH}`"


def main() -> int:
    found = problems()
    if found:
        print(summary(found), file=sys.stderr)
        return 1
    print(f"locks agree with pyproject.toml: {', '.join(LOCKS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
