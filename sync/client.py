"""The device side of sync: enrolment with a hub, and one upload round (`sync_diary`).

All SQLite access happens on the calling thread (in the app: the Textual UI thread, from an async
worker); only the HTTP calls are awaited. Offline is normal: a round never raises for network
trouble, it records `last_error` and returns it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import random
import ssl
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx

from diary_client import clock, private
from diary_client.diary import Diary, DiaryError
from diary_client.entry import Entry, content_hash, parse_entry
from diary_client.protocol import ProtocolError, parse_protocol, update_problem
from diary_client.store import Store, StoreError

from . import BATCH_BYTES  # the hub takes bodies up to 4 MiB: long notes fill a batch by size first
from .reconcile import reconcile

TOKEN_FILE = "hub_token"
CA_FILE = "hub_ca.pem"  # the hub's own certificate (or its CA), kept from `enroll --ca-file` for every sync
BATCH = 500  # the hub takes up to 1000; smaller batches lose less work to a dropped connection
MAX_PAGES = 10_000  # a bound on the history pages fetched in one round (500 entries each)
CLOCK_TOLERANCE = timedelta(minutes=5)
TRANSIENT = {408, 425, 429, 500, 502, 503, 504}


class SyncError(Exception):
    """Enrolment with the hub failed in a way a person can fix; the message says how."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a Retry-After longer than `cap` ends the round."""

    attempts: int = 4
    base: float = 0.5  # seconds
    cap: float = 8.0
    timeout: float = 15.0  # per request
    seed: int | None = None


@dataclass
class SyncResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pending: int = 0  # still to upload after this round
    error: str | None = None  # None when the round completed
    unblinded: bool = False
    released_now: bool = False  # unblinded by this round (the hub released the phase names)
    clock_offset_s: float | None = None  # hub time minus device time
    protocol_version: int | None = None  # the study protocol's new version, if this round took an update
    fetched: int = 0  # entries the participant filed on another device, taken from the hub (once per device)
    resent: int = 0  # acknowledged entries the hub no longer held (restored from an older copy), uploaded again
    left_on_hub: int = 0  # of those, entries that clash with this device's own and stay on the hub only
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (entry id, hub's reason)

    def as_dict(self) -> dict:
        return asdict(self)


# -- the token file ------------------------------------------------------------------------------

def token_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def save_token(data_dir: str | Path, token: str) -> Path:
    """Write the device token readable by this user only (0600), atomically."""
    path = token_path(data_dir)
    private.folder(path.parent)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # in case the file was left by an earlier try with other bits
        os.write(fd, token.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    return path


def load_token(data_dir: str | Path) -> str | None:
    try:
        return token_path(data_dir).read_text().strip() or None
    except FileNotFoundError:
        return None


def data_dir_of(store: Store) -> Path:
    return store.path.parent


def hub_configured(diary: Diary) -> bool:
    """True when this device has a hub URL and a token, so automatic sync makes sense."""
    return bool(diary.store.settings().get("hub_url")) and load_token(data_dir_of(diary.store)) is not None


# -- enrolment -----------------------------------------------------------------------------------

def _reason(resp: httpx.Response) -> str:
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    detail = doc.get("detail") if isinstance(doc, dict) else None
    return detail if isinstance(detail, str) and detail else f"HTTP {resp.status_code}"


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def ca_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / CA_FILE


def _trusting(ca_file: str | Path) -> ssl.SSLContext:
    """A TLS context that trusts the certificates in `ca_file` (PEM): SyncError if it holds none."""
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError, ValueError) as e:
        reason = getattr(e, "strerror", None) or getattr(e, "reason", None) or e
        raise SyncError(f"{ca_file} cannot be used as the hub's certificate ({reason}): give the PEM file "
                        "(-----BEGIN CERTIFICATE-----) your coordinator sent") from None


def save_ca(data_dir: str | Path, ca_file: str | Path) -> Path:
    """Keep a copy of the hub's certificate in the data dir: later syncs trust it too."""
    _trusting(ca_file)
    path = ca_path(data_dir)
    tmp = path.with_name(f".{CA_FILE}.{os.getpid()}")
    tmp.write_bytes(Path(ca_file).read_bytes())
    tmp.replace(path)
    return path


def _verify(url: str, data_dir: str | Path | None = None, ca_file: str | Path | None = None) -> ssl.SSLContext | bool:
    """Loading CA certificates takes ~70 ms: do it once per process, and not at all for http://.
    A certificate given (`--ca-file`) or kept in the data dir is trusted instead of the usual ones."""
    if not url.startswith("https://"):
        return False
    kept = ca_path(data_dir) if data_dir is not None else None
    if ca_file is None and kept is not None and kept.exists():
        ca_file = kept
    return _trusting(ca_file) if ca_file is not None else _tls()


def tls_problem(e: BaseException) -> str | None:
    """The certificate failure behind a connection error, in words (None when it is not one)."""
    seen: BaseException | None = e
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


TLS_FIX = ("if your study uses its own certificate, ask your coordinator for it and give it with "
           "`--ca-file FILE` (or set SSL_CERT_FILE to it)")


def _zone_name() -> str | None:
    return getattr(clock.local_tz(), "key", None)


def enroll_device(
    target: Store | Diary,
    hub_url: str,
    code: str,
    *,
    participant_id: str | None = None,
    start: date | None = None,
    device: str = "diary device",
    transport: httpx.BaseTransport | None = None,
    ca_file: str | Path | None = None,
) -> Diary:
    """Exchange a one-time code for a device token and keep the token (0600) in the data dir.

    A `Store` not enrolled yet is enrolled with the hub's participant, protocol and day 1 (the
    code is checked first, so a bad code leaves the device as it was). An enrolled `Diary` is
    connected to the hub if the code is for its participant. Raises SyncError or DiaryError.
    """
    store = target.store if isinstance(target, Diary) else target
    enrolled = store.settings().get("participant_id")
    if isinstance(target, Store) and enrolled:
        raise DiaryError(f"this device is already enrolled ({store.path}); use another --data-dir")
    if isinstance(target, Diary):
        participant_id = target.participant_id
    hub_url = hub_url.rstrip("/")
    if not hub_url.startswith(("http://", "https://")):
        raise SyncError(f"{hub_url!r} is not a hub URL like https://hub.example.org")
    body = {"code": code, "device": device, "device_id": Diary.device_id_of(store), "participant_id": participant_id,
            "start": start.isoformat() if start else None, "timezone": _zone_name()}
    verify = _verify(hub_url, data_dir_of(store), ca_file)
    resp = _post_enrolment(hub_url, body, transport, verify)
    if resp.status_code != 200:
        raise SyncError(f"the hub refused the enrolment: {_reason(resp)}")
    got = _enrolment_answer(resp)
    if isinstance(target, Diary) and got.get("participant_id") != target.participant_id:
        raise SyncError(f"the hub enrolled {got.get('participant_id')!r} with this code, but this device "
                        f"holds {target.participant_id!r}: ask the coordinator for a code for {target.participant_id}")
    save_token(data_dir_of(store), got["token"])
    if ca_file is not None:
        save_ca(data_dir_of(store), ca_file)
    if isinstance(target, Diary):
        target.link_hub(hub_url, device)
        return target
    return Diary.enroll(store, got["participant_id"], got["protocol"], date.fromisoformat(got["start"]),
                        hub_url=hub_url, hub_device=device)


ENROL_ATTEMPTS = 3


def _post_enrolment(hub_url: str, body: dict, transport: httpx.BaseTransport | None,
                    verify: ssl.SSLContext | bool) -> httpx.Response:
    """POST /api/v1/enroll, tried again when the connection fails (the hub may have redeemed the
    code and lost the answer: the same device id gets a new token within 10 minutes). A
    certificate this device does not trust is said as such at once: trying again cannot help."""
    problem = ""
    for attempt in range(ENROL_ATTEMPTS):
        if attempt:
            time.sleep(0.5 * attempt)
        try:
            with httpx.Client(base_url=hub_url, timeout=15, transport=transport, verify=verify) as client:
                return client.post("/api/v1/enroll", json=body)
        except httpx.HTTPError as e:
            tls = tls_problem(e)
            if tls is not None:
                raise SyncError(f"the hub at {hub_url} answered with a certificate this device does not trust "
                                f"({tls}): {TLS_FIX}") from None
            problem = type(e).__name__
    raise SyncError(f"cannot reach the hub at {hub_url} ({problem}): check the URL and the network; "
                    "the same code works again from this device for 10 minutes")


def _enrolment_answer(resp: httpx.Response) -> dict:
    """The hub's answer to an enrolment, checked: a server that is not a diary hub (a web page,
    some other JSON) is one line, not a traceback."""
    try:
        got = resp.json()
        ok = (isinstance(got, dict) and all(isinstance(got.get(k), str) and got[k]
                                            for k in ("token", "participant_id", "protocol", "start")))
        if ok:
            date.fromisoformat(got["start"])
    except ValueError:
        ok = False
    if not ok:
        raise SyncError(f"the server at {resp.request.url.copy_with(path='/')} answered, but not as a diary hub "
                        "does: check the hub URL")
    return got


# -- one sync round ------------------------------------------------------------------------------

def _json(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8", "surrogatepass")


def upload_body(batch: list[Entry], flags: list[dict]) -> bytes:
    """The bytes of POST /api/v1/entries for this batch (the clock guard's doubts go along)."""
    doc: dict = {"entries": [e.wire() for e in batch]}
    if flags:
        doc["flags"] = flags
    return _json(doc)


def batches(pending: list[Entry], flags: list[dict], max_count: int = BATCH,
            max_bytes: int = BATCH_BYTES) -> list[list[Entry]]:
    """Pending entries in order, cut into batches of at most `max_count` entries and, but for an
    entry bigger than that on its own, `max_bytes` of body (each entry's flags counted with it)."""
    size_of_flags: dict[str, int] = {}
    for f in flags:
        size_of_flags[f["entry_id"]] = size_of_flags.get(f["entry_id"], 0) + len(_json(f)) + 1
    out: list[list[Entry]] = []
    room = 0
    envelope = len(_json({"entries": [], "flags": []}))
    for e in pending:
        size = len(_json(e.wire())) + 1 + size_of_flags.get(e.id, 0)
        if not out or len(out[-1]) >= max_count or size > room:
            out.append([])
            room = max_bytes - envelope
        out[-1].append(e)
        room -= size
    return out


class _Failed(Exception):
    """The round cannot go on; the message is what `last_error` shows."""


async def _request(client: httpx.AsyncClient, policy: RetryPolicy, rng: random.Random,
                   method: str, url: str, **kw) -> httpx.Response:
    """A request retried on transient failure (network, 429, 5xx) with backoff and jitter."""
    problem = "no attempt made"
    for attempt in range(max(1, policy.attempts)):
        wait = rng.uniform(0, min(policy.cap, policy.base * 2**attempt))
        try:
            resp = await client.request(method, url, **kw)
        except httpx.TransportError as e:
            tls = tls_problem(e)
            if tls is not None:  # not a passing fault: say what it is and how to fix it
                raise _Failed(f"the hub's certificate is not trusted ({tls}): ask your coordinator for it "
                              "and run `diary sync --ca-file FILE` (or set SSL_CERT_FILE to it)") from None
            problem = f"hub not reachable ({type(e).__name__})"
        else:
            if resp.status_code not in TRANSIENT:
                return resp
            problem = f"hub busy or failing (HTTP {resp.status_code})"
            after = resp.headers.get("Retry-After", "")
            if after.isdigit():
                if int(after) > policy.cap:
                    raise _Failed(f"{problem}; it asks to retry after {after} s")
                wait = max(wait, float(after))
        if attempt + 1 < policy.attempts:
            await asyncio.sleep(wait)
    raise _Failed(problem)


def _permanent(resp: httpx.Response) -> _Failed:
    if resp.status_code == 401:
        return _Failed("the hub does not accept this device's token: ask the coordinator for a new enrolment code")
    return _Failed(f"the hub refused the request: {_reason(resp)}")


class _Round:
    def __init__(self, diary: Diary, now: datetime, client: httpx.AsyncClient, policy: RetryPolicy):
        self.diary, self.store, self.now, self.client, self.policy = diary, diary.store, now, client, policy
        self.rng = random.Random(policy.seed)
        self.result = SyncResult()
        self.started = time.monotonic()
        self.hub_version: int | None = None  # the participant's protocol version on the hub (/me)
        self.send_flags = True  # off when the hub cannot read them (a hub older than flags)

    def device_time(self, mono: float) -> datetime:
        # The caller's `now` is the device clock at the start; monotonic time carries it forward.
        return self.now + timedelta(seconds=mono - self.started)

    async def call(self, method: str, url: str, **kw) -> httpx.Response:
        return await _request(self.client, self.policy, self.rng, method, url, **kw)

    async def check_in(self) -> None:
        """GET /me: unblinding, and the device clock's offset from the hub's."""
        sent = time.monotonic()
        resp = await self.call("GET", "/api/v1/me")
        if resp.status_code != 200:
            raise _permanent(resp)
        me = resp.json()
        mid = self.device_time((sent + time.monotonic()) / 2)
        offset = (datetime.fromisoformat(me["server_time"]) - mid).total_seconds()
        self.result.clock_offset_s = round(offset, 3)
        self.result.unblinded = bool(me.get("unblinded"))
        self.hub_version = me.get("protocol_version")
        changes: dict = {"clock_offset_s": round(offset, 3)}
        if me.get("unblinded") and not self.store.settings().get("unblinded"):
            changes |= {"unblinded": True, "hub_phases": me.get("phases")}
            self.result.released_now = True
        self.diary.update_settings(**changes)
        self.store.anchor(self.now, round(offset, 3))  # the clock guard's reading, re-anchored by the hub
        if abs(offset) > CLOCK_TOLERANCE.total_seconds():
            flagged = {f["entry_id"] for f in self.store.flags() if f["flag"] == "clock_off"}
            for e in self.store.pending():
                if e.id not in flagged:
                    self.store.flag(e.id, "clock_off", f"the device clock was {offset:+.0f} s off the hub's "
                                                        f"at the sync of {self.now.isoformat(timespec='seconds')}")

    async def fetch_history(self) -> None:
        """Once per device: the participant's entries already on the hub (filed on a device this
        one replaces), kept with their receipts, so days, compliance and corrections go on from them."""
        if self.store.settings().get("history_fetched"):
            return
        after: int | None = 0
        for _ in range(MAX_PAGES):
            resp = await self.call("GET", "/api/v1/entries", params={"after": after, "limit": BATCH})
            if resp.status_code in (404, 405):  # a hub from before history: nothing to fetch
                break
            if resp.status_code != 200:
                raise _permanent(resp)
            page = resp.json()
            got = [(parse_entry(e), r["received_at"], r["content_hash"])
                   for e, r in zip(page["entries"], page["receipts"], strict=True)]
            try:
                stored, left_out = self.store.adopt(got)
            except StoreError as e:
                raise _Failed(str(e)) from None
            self.result.fetched += stored
            self.result.left_on_hub += len(left_out)
            after = page["next_after"]
            if after is None:
                break
        self.diary.update_settings(history_fetched=True)

    async def update_protocol(self) -> None:
        """Take a newer version of the study protocol from the hub, if /me announced one, or the
        true phases of a double blind once the participant is unblinded."""
        local = self.diary.protocol
        newer = isinstance(self.hub_version, int) and self.hub_version > local.version
        if not newer and not (local.masked and self.result.unblinded):
            return
        resp = await self.call("GET", "/api/v1/protocol")
        if resp.status_code != 200:
            raise _permanent(resp)
        text = resp.json()["protocol"]
        try:
            new = parse_protocol(text, "the hub's protocol update")
        except ProtocolError as e:
            raise _Failed(str(e)) from None
        problem = update_problem(self.diary.protocol, new)
        if problem:
            raise _Failed(f"the hub's protocol update cannot be used here: {problem}")
        self.diary.update_settings(protocol_toml=text)
        if newer:
            self.result.protocol_version = new.version

    async def upload(self, batch: list[Entry]) -> None:
        ids = {e.id for e in batch}
        flags = [f for f in self.store.flags() if f["entry_id"] in ids] if self.send_flags else []
        resp = await self.call("POST", "/api/v1/entries", content=upload_body(batch, flags),
                               headers={"content-type": "application/json"})
        if resp.status_code == 422 and flags and _reason(resp).startswith("flags"):
            # A hub from before flags, or a flag it cannot read: the doubts must not hold back the entries.
            self.send_flags = False
            await self.upload(batch)
            return
        if resp.status_code in (413, 422) and len(batch) > 1:
            # One entry the hub cannot read must not hold back the others: halve until found.
            half = len(batch) // 2
            await self.upload(batch[:half])
            await self.upload(batch[half:])
            return
        if resp.status_code in (413, 422):
            what = "take" if resp.status_code == 413 else "read"
            self.reject([(batch[0].id, f"the hub cannot {what} this entry: {_reason(resp)}")])
            return
        if resp.status_code != 200:
            raise _permanent(resp)
        self.apply(batch, resp.json())

    def apply(self, batch: list[Entry], answer: dict) -> None:
        ours = {e.id: e for e in batch}  # read from the store by pending(): the device's own copy
        receipts, mismatched = [], []
        for r in answer.get("receipts", []):
            if r["id"] not in ours:
                continue
            if r["content_hash"] == content_hash(ours[r["id"]]):
                receipts.append((r["id"], r["received_at"], r["content_hash"]))
            else:
                mismatched.append((r["id"], "the hub holds other content under this entry's id"))
        self.store.record_receipts(receipts)
        self.result.accepted += len([i for i in answer.get("accepted", []) if i in ours])
        self.result.duplicate += len([i for i in answer.get("duplicate", []) if i in ours])
        self.reject([(r["id"], r["error"]) for r in answer.get("rejected", []) if r["id"] in ours] + mismatched)

    def reject(self, rejected: list[tuple[str, str]]) -> None:
        if rejected:
            self.store.quarantine(rejected)
            self.result.rejected += len(rejected)
            self.result.rejections += rejected


async def sync_diary(
    diary: Diary,
    now: datetime,
    *,
    policy: RetryPolicy = RetryPolicy(),
    transport: httpx.AsyncBaseTransport | None = None,
) -> SyncResult:
    """One full round: check in (unblinding, clock offset), fetch the participant's earlier entries
    (a new device, once), upload pending entries in batches, record receipts, quarantine
    rejections, take a protocol update. Never raises for network trouble."""
    store = diary.store
    settings = store.settings()
    hub_url, token = settings.get("hub_url"), load_token(data_dir_of(store))
    if not hub_url or not token:
        return SyncResult(pending=len(store.pending()), error="this device is not connected to a hub",
                          unblinded=bool(settings.get("unblinded")))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=hub_url, headers=headers, timeout=policy.timeout, transport=transport,
                                 verify=_verify(hub_url, data_dir_of(store))) as client:
        rnd = _Round(diary, now, client, policy)
        try:
            await rnd.check_in()
            try:
                await rnd.fetch_history()
            except _Failed as e:  # the uploads matter more; the next round fetches again
                rnd.result.error = f"earlier entries not fetched yet: {e}"
            for batch in batches(store.pending(), store.flags()):
                await rnd.upload(batch)
            try:
                await reconcile(rnd)  # entries the hub lost since it acknowledged them (a restore) go again
            except _Failed as e:  # like the history: it must not hold back the rest; the next round asks again
                rnd.result.error = f"not reconciled with the hub yet: {e}"
            await rnd.update_protocol()  # after the uploads: entries made before it keep their version
            diary.update_settings(last_upload=now.isoformat(timespec="seconds"),
                               last_error=f"{now:%Y-%m-%d %H:%M}: {rnd.result.error}" if rnd.result.error else None)
        except (ValueError, KeyError, TypeError) as e:  # a 200 whose body is not the hub's answer
            rnd.result.error = f"the hub's answer was not understood ({type(e).__name__})"
            diary.update_settings(last_error=f"{now:%Y-%m-%d %H:%M}: {rnd.result.error}")
        except _Failed as e:
            rnd.result.error = str(e)
            diary.update_settings(last_error=f"{now:%Y-%m-%d %H:%M}: {e}")
    result = rnd.result
    result.pending = len(store.pending())
    result.unblinded = result.unblinded or bool(store.settings().get("unblinded"))
    diary.reload()  # the Diary caches settings and the protocol; the screens read them
    return result
