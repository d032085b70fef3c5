"""deploy/: the systemd units verify, their commands parse, the Caddyfile validates, the image is put together right.

Docker has no engine on the development machine, so the image is not built here: its file is
checked for the parts that matter (stages, user, health check, volume, sources that exist).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from diary_client.cli.tree import main

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
INSTALLED = "/opt/symptom-diary/venv/bin/diary"
UNITS = ["diary-hub.service", "diary-hub-backup.service", "diary-hub-backup.timer"]


def parses(args: list[str]) -> None:
    """The command line is one our `diary` accepts: every option exists and takes its value."""
    r = CliRunner().invoke(main, [*args, "--help"])
    assert r.exit_code == 0, f"{shlex.join(args)}: {r.output}"


def exec_start(unit: str) -> list[str]:
    line = next(ln for ln in (DEPLOY / unit).read_text().splitlines() if ln.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    diary = Path(sys.executable).with_name("diary")  # the unit's installed path, here: this venv's
    assert diary.is_file()
    for name in UNITS:
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace(INSTALLED, str(diary)))
    r = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
                       capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values (it only warns): any line is a finding
    findings = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.strip()]
    assert r.returncode == 0 and not findings, "\n".join(findings)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_hub_unit_is_hardened(tmp_path):
    (tmp_path / "diary-hub.service").write_text((DEPLOY / "diary-hub.service").read_text()
                                                .replace(INSTALLED, sys.executable))
    r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=20",
                        str(tmp_path / "diary-hub.service")], capture_output=True, text=True, timeout=60)
    exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", r.stdout).group(1))
    assert r.returncode == 0 and exposure <= 2.0, r.stdout[-2000:]


def test_the_hub_unit_serves_on_loopback_behind_the_proxy_and_keeps_state_in_its_directory():
    text = (DEPLOY / "diary-hub.service").read_text()
    for setting in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "StateDirectory=diary-hub",
                    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "UMask=0077",
                    "Environment=DIARY_HUB_DB=/var/lib/diary-hub/hub.db"):
        assert re.search(rf"^{re.escape(setting)}$", text, re.M), setting
    args = exec_start("diary-hub.service")
    assert args[0] == INSTALLED and args[args.index("--host") + 1] == "127.0.0.1"
    assert args[args.index("--forwarded-allow-ips") + 1] == "127.0.0.1"
    parses(args[1:])


def test_the_backup_unit_runs_hub_backup():
    script = exec_start("diary-hub-backup.service")[-1]  # /bin/sh -c '...'
    command = shlex.split(script.replace("%%", "%").removeprefix("exec "))
    assert command[0] == INSTALLED and command[1:3] == ["hub", "backup"]
    parses(command[1:3] + ["/tmp/x.db"])


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_the_caddyfile_validates():
    r = subprocess.run(["caddy", "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")],
                       capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert r.returncode == 0 and "Valid configuration" in r.stdout + r.stderr, r.stderr[-2000:]
    assert "warn" not in r.stderr, r.stderr


def test_the_caddyfile_proxies_to_the_hub_the_unit_runs():
    text = "\n".join(ln for ln in (DEPLOY / "Caddyfile").read_text().splitlines() if not ln.strip().startswith("#"))
    assert "reverse_proxy {$DIARY_HUB_UPSTREAM:127.0.0.1:8765}" in text
    assert "trusted_proxies" not in text  # clients connect directly: what they claim is not believed
    assert "lb_try_duration" in text  # a request waits out a hub restart instead of a 503


def test_the_image_is_multi_stage_non_root_with_a_health_check_and_a_data_volume():
    lines = [ln.strip() for ln in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    final = lines[lines.index(froms[1]):]
    user = [ln for ln in final if ln.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("root", "0")
    assert any(ln.startswith("HEALTHCHECK ") and "/healthz" in ln for ln in final)
    assert 'VOLUME ["/data"]' in final and any("DIARY_HUB_DB=/data/hub.db" in ln for ln in final)
    assert any("pip install -c requirements/hub.lock '.[hub]'" in ln for ln in lines)  # the versions CI tested
    base = [ln for ln in lines if ln.startswith("ARG BASE=")]
    assert base and re.fullmatch(r"ARG BASE=python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base[0]), base
    assert froms[0].split()[1] == froms[1].split()[1] == "${BASE}"
    assert any(ln.startswith("COPY --from=build /opt/venv") for ln in final)
    for ln in lines:
        if ln.startswith("COPY ") and "--from" not in ln:
            sources = ln.split()[1:-1]
            assert any(list(ROOT.glob(s)) for s in sources), ln
            for s in sources:
                assert "*" in s or (ROOT / s).exists(), f"{s} is not in the repository"
    entry = _json_list(final, "ENTRYPOINT")
    cmd = _json_list(final, "CMD")
    assert entry == ["diary", "hub"]
    parses(entry[1:] + cmd)


def test_compose_trusts_only_the_caddy_container():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    caddy = doc["services"]["caddy"]["networks"]["hubnet"]["ipv4_address"]
    cmd = _json_list([ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines()], "CMD")
    assert cmd[cmd.index("--forwarded-allow-ips") + 1] == caddy
    assert "ports" not in doc["services"]["hub"]
    assert doc["services"]["caddy"]["environment"]["DIARY_HUB_UPSTREAM"] == "hub:8765"


def _json_list(lines: list[str], instruction: str) -> list[str]:
    import json

    line = [ln for ln in lines if ln.startswith(instruction + " ")][-1]
    return json.loads(line.removeprefix(instruction + " "))
