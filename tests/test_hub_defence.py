"""The hub defends itself: idle and slow connections closed, connection cap, limits that a
spoofed header or made-up tokens cannot get around, buckets that expire one by one, a log that
cannot be flooded. Real uvicorn on 127.0.0.1, port 0."""

from __future__ import annotations

import logging
import selectors
import socket
import time
from datetime import date

import httpx
from hub_fixture import TEST_LIMITS, running_hub

from sync.hub.limits import Limits, RateLimiter, address_key
from sync.hub.server import RepeatFilter, ServeOptions

START = date(2026, 3, 2)


def _open(port: int, n: int, first_bytes: bytes = b"") -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if first_bytes:
            s.sendall(first_bytes)
        out.append(s)
    return out


def _closed_within(socks: list[socket.socket], seconds: float) -> int:
    """How many of the sockets the hub closed (EOF or reset) within `seconds`."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed, deadline = 0, time.monotonic() + seconds
    while closed < len(socks) and (left := deadline - time.monotonic()) > 0:
        for key, _ in sel.select(timeout=left):
            try:
                data = key.fileobj.recv(4096)  # type: ignore[union-attr]  # every registered file object is a socket
            except ConnectionResetError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                closed += 1
    sel.close()
    return closed


def test_300_idle_and_slow_sockets_do_not_stop_the_hub_and_are_closed(tmp_path):
    # A hub that waited for the idle sockets would answer only once their deadline closed them; the
    # deadline is set well above what a request takes on a loaded machine, so the check is not a race.
    options = ServeOptions(head_timeout=3.0)
    with running_hub(tmp_path / "hub.db", options=options) as h:
        port = int(h.url.rsplit(":", 1)[1])
        idle = _open(port, 250)
        slow = _open(port, 50, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        try:
            t = time.monotonic()
            r = httpx.get(f"{h.url}/healthz", timeout=5)
            assert r.status_code == 200 and time.monotonic() - t < options.head_timeout
            opened = time.monotonic()
            assert _closed_within(idle + slow, options.head_timeout + 3) == 300
            assert time.monotonic() - opened < options.head_timeout + 3
            assert httpx.get(f"{h.url}/healthz", timeout=5).status_code == 200
        finally:
            for s in idle + slow:
                s.close()


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_request(tmp_path):
    with running_hub(tmp_path / "hub.db", options=ServeOptions(head_timeout=0.5, keep_alive=60)) as h:
        port = int(h.url.rsplit(":", 1)[1])
        (s,) = _open(port, 1, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert b"200 OK" in s.recv(4096)
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # then nothing: uvicorn's keep-alive timer is off now
            assert _closed_within([s], 3) == 1
        finally:
            s.close()


def test_connections_beyond_the_cap_are_closed_on_arrival(tmp_path):
    with running_hub(tmp_path / "hub.db", options=ServeOptions(max_connections=20, limit_concurrency=40)) as h:
        port = int(h.url.rsplit(":", 1)[1])
        held = _open(port, 20)
        extra = _open(port, 5)
        try:
            assert _closed_within(extra, 3) == 5
        finally:
            for s in held + extra:
                s.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the held ones are gone: room again
            try:
                if httpx.get(f"{h.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
        else:
            raise AssertionError("the hub did not take connections again")


def test_a_spoofed_forwarded_for_does_not_multiply_enrolment_attempts(tmp_path):
    limits = Limits(enroll_rate=0.001, enroll_burst=3)
    with running_hub(tmp_path / "hub.db", limits=limits) as h:
        got = [httpx.post(f"{h.url}/api/v1/enroll", json={"code": "AAAA-AAAA", "device": "x"},
                          headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(8)]
        assert got[:3] == [400, 400, 400] and set(got[3:]) == {429}
    # Believed only from a named proxy: here the test itself, on 127.0.0.1.
    with running_hub(tmp_path / "hub2.db", limits=limits, options=ServeOptions(forwarded_allow_ips="127.0.0.1")) as h:
        got = [httpx.post(f"{h.url}/api/v1/enroll", json={"code": "AAAA-AAAA", "device": "x"},
                          headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(8)]
        assert set(got) == {400}
    with running_hub(tmp_path / "hub3.db", limits=limits, options=ServeOptions(forwarded_allow_ips="10.9.9.9")) as h:
        got = [httpx.post(f"{h.url}/api/v1/enroll", json={"code": "AAAA-AAAA", "device": "x"},
                          headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(8)]
        assert set(got[3:]) == {429}


def test_made_up_tokens_are_limited_by_address_and_get_no_bucket(tmp_path):
    limits = Limits(**{**TEST_LIMITS.__dict__, "unknown_rate": 0.001, "unknown_burst": 5})
    with running_hub(tmp_path / "hub.db", limits=limits) as h:
        code = h.code("P01", START)
        token = httpx.post(f"{h.url}/api/v1/enroll", json={"code": code, "device": "t"}).json()["token"]
        good = httpx.Client(base_url=h.url, headers={"Authorization": f"Bearer {token}"})
        assert good.get("/api/v1/me").status_code == 200
        made_up = [httpx.get(f"{h.url}/api/v1/me", headers={"Authorization": f"Bearer guess{i}"}).status_code
                   for i in range(30)]
        assert made_up[:4] == [401] * 4 and set(made_up[5:]) == {429}
        assert good.get("/api/v1/me").status_code == 200  # the real device, known already, goes on
        assert len(h.app.state.hub.token_limit) == 1  # no bucket per made-up token


def test_buckets_expire_one_by_one():
    t = [0.0]
    rl = RateLimiter(rate=1.0, burst=2, clock=lambda: t[0], max_keys=3)
    assert rl.wait("device") == 0 and rl.wait("device") == 0 and rl.wait("device") > 0
    for k in ("a", "b", "c", "d", "e"):  # an attacker's stream of new keys, at the cap
        rl.wait(k)
    assert len(rl) <= 3
    assert rl.wait("e") == 0 and rl.wait("e") > 0  # recent buckets are kept, not all cleared
    t[0] = 10.0  # everyone refilled: forgotten as they come up
    rl.wait("f")
    assert len(rl) == 1


def test_addresses_are_keyed_ipv6_by_64():
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("192.0.2.7") == "192.0.2.7" and address_key(None) == "?"


def test_a_repeated_log_line_is_held_back_and_counted():
    t = [0.0]
    f = RepeatFilter(burst=3, window=60, clock=lambda: t[0])

    def rec(msg: str) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, msg, None, None)

    passed = [f.filter(rec(f"socket.accept() out of system resource\nsocket: <socket fd={n}>")) for n in range(1000)]
    assert sum(passed) == 3
    assert f.filter(rec("another problem"))
    t[0] = 61.0
    r = rec("socket.accept() out of system resource")
    assert f.filter(r) and "997 more" in r.getMessage()


def test_an_oversized_request_head_is_refused_whole_or_in_pieces(tmp_path):
    limits = Limits(**{**TEST_LIMITS.__dict__, "max_head": 4096})
    with running_hub(tmp_path / "hub.db", limits=limits, options=ServeOptions(max_head_bytes=4096)) as h:
        r = httpx.get(f"{h.url}/healthz", headers={"X-Padding": "x" * 8000})
        assert r.status_code == 431
        assert httpx.get(f"{h.url}/healthz", headers={"X-Padding": "x" * 1000}).status_code == 200
        (s,) = _open(int(h.url.rsplit(":", 1)[1]), 1, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            # A head still incomplete past the limit (nothing more sent: a reset could swallow the answer).
            s.sendall(b"X-Padding: " + b"x" * 5000 + b"\r\n")
            assert b"400" in s.recv(4096).split(b"\r\n", 1)[0]
        finally:
            s.close()


def test_at_descriptor_exhaustion_the_hubs_log_stays_one_line_per_event(tmp_path):
    """A real `diary hub serve` with 48 descriptors, sent 120 connections: asyncio's accept errors
    and its shutdown after them come as single lines (held back after 10), never tracebacks."""
    import re
    import resource
    import subprocess
    import sys
    import threading
    from pathlib import Path

    diary = Path(sys.executable).parent / "diary"
    proc = subprocess.Popen(
        [str(diary), "hub", "serve", "--db", str(tmp_path / "hub.db"), "--port", "0", "--head-timeout", "30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48)))
    lines: list[str] = []
    seen_port, seen_error = threading.Event(), threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if "Uvicorn running on" in line:
                seen_port.set()
            if "out of system resource" in line:
                seen_error.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    socks = []
    try:
        assert seen_port.wait(60), "".join(lines)
        port = int(re.search(r"127\.0\.0\.1:(\d+)", "".join(lines)).group(1))
        for _ in range(120):
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", port))  # the kernel's backlog takes them; the hub's accepts fail
            socks.append(s)
        assert seen_error.wait(60), "".join(lines)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        for s in socks:
            s.close()
    log = "".join(lines)
    assert "Traceback" not in log, log[-3000:]
    errors = [ln for ln in lines if "out of system resource" in ln]
    assert 1 <= len(errors) <= 11 and all("Too many open files" in e and "ulimit -n" in e for e in errors), errors
