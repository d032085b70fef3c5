"""A hub behind the study's own certificate: enrolment names the certificate and the fix, and
`--ca-file` makes enrolment and every later sync work (a real uvicorn hub over TLS on 127.0.0.1)."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from hub_fixture import running_hub

from diary_client.device.store import Store
from sync.client.upload import CA_FILE

START = date(2026, 3, 2)
NOW = "2026-03-02T19:30"
REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def study_ca(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A study's own CA and the hub's certificate for 127.0.0.1 signed by it (openssl, EC keys)."""
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=Study CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", *ec, "-keyout", "hub.key", "-out", "hub.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                               "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n")
    _openssl("x509", "-req", "-in", "hub.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "hub.pem", "-days", "3650", "-extfile", "ext.cnf", cwd=d)
    return d / "ca.pem", d / "hub.pem", d / "hub.key"


@pytest.fixture
def tls_hub(tmp_path, study_ca):
    _, cert, key = study_ca
    with running_hub(tmp_path / "hub.db", tls=(cert, key)) as h:
        yield h


def test_an_untrusted_certificate_is_named_with_its_fix(cli, tls_hub, data_dir, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    code = tls_hub.code("P01", START)
    r = cli("enroll", "--participant", "P01", "--hub", tls_hub.url, "--code", code, now=NOW)
    assert r.exit_code == 1 and "Traceback" not in r.output and r.output.count("\n") == 1, r.output
    assert "certificate this device does not trust" in r.output and "--ca-file FILE" in r.output
    assert "SSL_CERT_FILE" in r.output and "cannot reach the hub" not in r.output
    assert "participant_id" not in Store.in_dir(data_dir).settings()


def test_ca_file_enrols_and_is_kept_for_later_syncs(cli, tls_hub, data_dir, study_ca):
    ca, _, _ = study_ca
    code = tls_hub.code("P01", START)
    r = cli("enroll", "--participant", "P01", "--hub", tls_hub.url, "--code", code, "--ca-file", str(ca), now=NOW)
    assert r.exit_code == 0, r.output
    assert (data_dir / CA_FILE).read_bytes() == ca.read_bytes()
    assert cli("record", *REPORT, now=NOW).exit_code == 0
    r = cli("sync", "--json", now="2026-03-02T19:40")  # no --ca-file: the kept one is trusted
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["accepted"] == 1 and len(tls_hub.store.reads.entries("P01")) == 1


def test_ssl_cert_file_is_honoured_too(cli, tls_hub, data_dir, study_ca, monkeypatch):
    ca, _, _ = study_ca
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    from sync.client import upload as client

    client._tls.cache_clear()  # the process's default context is made once
    try:
        code = tls_hub.code("P01", START)
        r = cli("enroll", "--participant", "P01", "--hub", tls_hub.url, "--code", code, now=NOW)
        assert r.exit_code == 0, r.output
    finally:
        client._tls.cache_clear()


def test_a_sync_with_an_untrusted_certificate_says_so(cli, tls_hub, data_dir, study_ca):
    ca, _, _ = study_ca
    code = tls_hub.code("P01", START)
    assert cli("enroll", "--participant", "P01", "--hub", tls_hub.url, "--code", code, "--ca-file", str(ca),
               now=NOW).exit_code == 0
    (data_dir / CA_FILE).unlink()  # as on a device whose kept certificate is gone
    r = cli("sync", now="2026-03-02T19:40")
    assert r.exit_code == 1 and "certificate is not trusted" in r.output and "--ca-file FILE" in r.output
    r = cli("sync", "--ca-file", str(ca), now="2026-03-02T19:41")
    assert r.exit_code == 0, r.output


def test_a_file_that_is_not_a_certificate_is_one_line(cli, tls_hub, data_dir, tmp_path):
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello\n")
    code = tls_hub.code("P01", START)
    r = cli("enroll", "--participant", "P01", "--hub", tls_hub.url, "--code", code, "--ca-file", str(bad), now=NOW)
    assert r.exit_code == 1 and "cannot be used as the hub's certificate" in r.output and "Traceback" not in r.output
