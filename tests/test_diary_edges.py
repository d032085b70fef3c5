"""User mistakes and odd servers at the device's edges are one line and exit 1, never a traceback:
an over-long correction reason, two diary programs saving the same day, a "hub" that is not one."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from click.testing import CliRunner
from conftest import at, one_line_error

from diary_client.cli.tree import main
from diary_client.core.protocol import builtin_text
from diary_client.device.diary import Diary
from diary_client.device.store import Store, StoreError

REPORT = ["severity=50", "pain=40", "fatigue=30", "sleep_quality=60", "sadness=10", "stress=20",
          "headache=0", "gi=0", "thinking=10", "side_effects="]


def run(data_dir, *args: str, now: str = "2026-03-02T19:30"):
    return CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], env={"TZ": "UTC", "DIARY_NOW": now})


def test_a_reason_over_2000_characters_is_one_line(tmp_path):
    assert run(tmp_path, "enroll", "--participant", "P01", "--start", "2026-03-02").exit_code == 0
    assert run(tmp_path, "record", *REPORT).exit_code == 0
    one_line_error(run(tmp_path, "record", "--reason", "x" * 2001, "pain=53"), "2001 characters", "at most 2000")
    assert run(tmp_path, "record", "--reason", "x" * 2000, "pain=53").exit_code == 0


def test_two_programs_saving_the_same_day_get_a_sentence_not_a_constraint(tmp_path):
    store = Store(tmp_path / "diary.db")
    diary = Diary.enroll(store, "P01", builtin_text(), date(2026, 3, 2))
    other = Diary(Store(tmp_path / "diary.db"))  # a second program on the same file
    now = at("2026-03-02T19:30")
    answers = {"severity": 50, "pain": 40, "fatigue": 30, "sleep_quality": 60, "sadness": 10, "stress": 20,
               "headache": 0, "gi": 0, "thinking": 10, "side_effects": []}
    mine, theirs = diary.prepare(answers, now, "cli"), other.prepare(answers, now, "cli")  # both checked before either saves
    other.store.save(theirs)
    with pytest.raises(StoreError) as got:
        diary.store.save(mine)
    assert "UNIQUE" not in str(got.value) and "just saved by another diary program" in str(got.value)


class _NotAHub(BaseHTTPRequestHandler):
    answers: dict[str, tuple[str, bytes]] = {
        "/html/api/v1/enroll": ("text/html", b"<html><body>Welcome to nginx!</body></html>"),
        "/json/api/v1/enroll": ("application/json", json.dumps({"ok": True, "participant_id": "P01"}).encode()),
        "/list/api/v1/enroll": ("application/json", b"[1, 2, 3]"),
    }

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        kind, body = self.answers.get(self.path, ("text/plain", b"?"))
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("kind", ["html", "json", "list"])
def test_enrolling_with_a_server_that_is_not_a_hub_is_one_line(tmp_path, kind):
    server = HTTPServer(("127.0.0.1", 0), _NotAHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{kind}"
        r = run(tmp_path, "enroll", "--participant", "P01", "--hub", url, "--code", "AAAA-AAAA")
        one_line_error(r, "not as a diary hub does")
        assert "participant_id" not in Store.in_dir(tmp_path).settings()
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
