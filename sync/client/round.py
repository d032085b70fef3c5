"""One sync round's machinery: the retried request, the hub's answers read as `answers` Structs,
and `Round`, the steps of a round (check in, history, uploads, protocol update) that
`upload.sync_diary` runs and `reconcile` extends.

All SQLite access happens on the calling thread; only the HTTP calls are awaited.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import httpx
import msgspec
import orjson

from diary_client.core.entry import Entry, canonical_json, content_hash, parse_entries_json
from diary_client.core.protocol import ProtocolError, parse_protocol, update_problem
from diary_client.device.diary import Diary
from diary_client.device.store import StoreError
from sync import BATCH_BYTES  # BATCH_BYTES: the hub takes bodies up to 4 MiB, long notes fill a batch by size first
from sync.client import answers

BATCH = 500  # the hub takes up to 1000; smaller batches lose less work to a dropped connection
MAX_PAGES = 10_000  # a bound on the history pages fetched in one round (500 entries each)
CLOCK_TOLERANCE = timedelta(minutes=5)
TRANSIENT = {408, 425, 429, 500, 502, 503, 504}

Answer = TypeVar("Answer", bound=msgspec.Struct)


class SyncError(Exception):
    """Enrolment with the hub failed in a way a person can fix; the message says how."""


class NotUnderstood(SyncError):
    """A 200 whose body is not the hub's answer as `answers` states it (another server, a broken one)."""

    @classmethod
    def at(cls, where: str, what: str) -> NotUnderstood:
        return cls(f"the hub's answer was not understood ({where or 'the body'}: {what})")


def read_answer(model: type[Answer], resp: httpx.Response) -> Answer:
    """The hub's answer as its `answers` Struct, decoded and checked here at the edge and then read
    by attribute.

    Fields the Struct does not know are passed over (a newer hub may add some); anything else
    that does not fit is `NotUnderstood`, the one place a body becomes "not understood".
    """
    try:
        return msgspec.json.decode(resp.content, type=model)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        # msgspec says "what - at `$.path[0].field`"; said as a dotted path, as the hub's 422s do
        what, _, path = str(e).partition(" - at `")
        where = path.rstrip("`").removeprefix("$").replace("[", ".").replace("]", "").strip(".")
        raise NotUnderstood.at(where, what) from None


def page_entries(page: answers.EntriesPage) -> list[Entry]:
    """The entries of a history page, validated as entries from outside are (pydantic, loaded only
    when a page holds some)."""
    if not page.entries:
        return []
    from pydantic import ValidationError

    try:
        return parse_entries_json(b"[" + b",".join(page.entries) + b"]", extra="ignore")
    except ValidationError as e:
        first = e.errors()[0]  # a ValidationError holds at least one
        raise NotUnderstood.at(".".join(str(x) for x in ("entries", *first["loc"])), first["msg"]) from None


def reason(resp: httpx.Response) -> str:
    """The hub's `detail` of a refusal, or the HTTP status when there is none."""
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    detail = doc.get("detail") if isinstance(doc, dict) else None
    return detail if isinstance(detail, str) and detail else f"HTTP {resp.status_code}"


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
    start_moved: str | None = None  # day 1 as the coordinator corrected it (`hub set-start`), taken by this round
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (entry or event id, hub's reason)
    events_sent: int = 0  # events (adverse events, medications, dose changes) the hub acknowledged this round
    events_rejected: int = 0
    events_pending: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def json_body(doc) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8", "surrogatepass")


def upload_body(batch: list[Entry], flags: list[dict]) -> bytes:
    """The bytes of POST /api/v1/entries for this batch (the clock guard's doubts go along); each entry
    as its canonical JSON, made once per entry for the body, its size and its receipt's check."""
    body = b'{"entries":[' + b",".join(canonical_json(e) for e in batch) + b"]"
    if flags:
        body += b',"flags":' + orjson.dumps(flags)
    return body + b"}"


ENVELOPE = len(b'{"entries":[],"flags":[]}')


def batches(pending: list[Entry], flags: list[dict], max_count: int = BATCH,
            max_bytes: int = BATCH_BYTES) -> list[list[Entry]]:
    """Pending entries in order, cut into batches of at most `max_count` entries and, but for an
    entry bigger than that on its own, `max_bytes` of body (each entry's flags counted with it)."""
    size_of_flags: dict[str, int] = {}
    for f in flags:
        size_of_flags[f["entry_id"]] = size_of_flags.get(f["entry_id"], 0) + len(orjson.dumps(f)) + 1
    out: list[list[Entry]] = []
    room = 0
    for e in pending:
        size = len(canonical_json(e)) + 1 + size_of_flags.get(e.id, 0)
        if not out or len(out[-1]) >= max_count or size > room:
            out.append([])
            room = max_bytes - ENVELOPE
        out[-1].append(e)
        room -= size
    return out


class RoundFailed(Exception):
    """The round cannot go on; the message is what `last_error` shows."""


async def request(client: httpx.AsyncClient, policy: RetryPolicy, rng: random.Random,
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
                raise RoundFailed(f"the hub's certificate is not trusted ({tls}): ask your coordinator for it "
                                  "and run `diary sync --ca-file FILE` (or set SSL_CERT_FILE to it)") from None
            problem = f"hub not reachable ({type(e).__name__})"
        else:
            if resp.status_code not in TRANSIENT:
                return resp
            problem = f"hub busy or failing (HTTP {resp.status_code})"
            after = resp.headers.get("Retry-After", "")
            if after.isdigit():
                if int(after) > policy.cap:
                    raise RoundFailed(f"{problem}; it asks to retry after {after} s")
                wait = max(wait, float(after))
        if attempt + 1 < policy.attempts:
            await asyncio.sleep(wait)
    raise RoundFailed(problem)


def permanent(resp: httpx.Response) -> RoundFailed:
    """A refusal that trying again will not change, in words."""
    if resp.status_code == 401:
        return RoundFailed("the hub does not accept this device's token: ask the coordinator for a new enrolment code")
    return RoundFailed(f"the hub refused the request: {reason(resp)}")


class Round:
    """One round's state (the device's diary, the client, the result so far) and its steps."""

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
        return await request(self.client, self.policy, self.rng, method, url, **kw)

    async def check_in(self) -> None:
        """GET /me: unblinding, and the device clock's offset from the hub's."""
        sent = time.monotonic()
        resp = await self.call("GET", "/api/v1/me")
        if resp.status_code != 200:
            raise permanent(resp)
        me = read_answer(answers.MeResponse, resp)
        mid = self.device_time((sent + time.monotonic()) / 2)
        offset = (me.server_time - mid).total_seconds()
        self.result.clock_offset_s = round(offset, 3)
        self.result.unblinded = me.unblinded
        self.hub_version = me.protocol_version
        changes: dict = {"clock_offset_s": round(offset, 3)}
        if me.unblinded and not self.diary.settings.unblinded:
            changes |= {"unblinded": True}
            self.result.released_now = True
        if me.start and me.start != self.diary.start and not self.store.count("entries"):
            changes["start"] = me.start.isoformat()  # corrected on the hub (`hub set-start`) before anything was filed
            self.result.start_moved = me.start.isoformat()
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
        if self.diary.settings.history_fetched:
            return
        after: int | None = 0
        for _ in range(MAX_PAGES):
            resp = await self.call("GET", "/api/v1/entries", params={"after": after, "limit": BATCH})
            if resp.status_code in (404, 405):  # a hub from before history: nothing to fetch
                break
            if resp.status_code != 200:
                raise permanent(resp)
            page = read_answer(answers.EntriesPage, resp)
            got = [(e, r.received_at, r.content_hash) for e, r in zip(page_entries(page), page.receipts, strict=True)]
            try:
                stored, left_out = self.store.adopt(got)
            except StoreError as e:
                raise RoundFailed(str(e)) from None
            self.result.fetched += stored
            self.result.left_on_hub += len(left_out)
            after = page.next_after
            if after is None:
                break
        self.diary.update_settings(history_fetched=True)

    async def update_protocol(self) -> None:
        """Take a newer version of the study protocol from the hub, if /me announced one, or the
        true phases of a double blind once the participant is unblinded."""
        local = self.diary.protocol
        newer = self.hub_version is not None and self.hub_version > local.version
        if not newer and not (local.masked and self.result.unblinded):
            return
        resp = await self.call("GET", "/api/v1/protocol")
        if resp.status_code != 200:
            raise permanent(resp)
        text = read_answer(answers.ProtocolResponse, resp).protocol
        try:
            new = parse_protocol(text, "the hub's protocol update")
        except ProtocolError as e:
            raise RoundFailed(str(e)) from None
        problem = update_problem(self.diary.protocol, new)
        if problem:
            raise RoundFailed(f"the hub's protocol update cannot be used here: {problem}")
        self.diary.update_settings(protocol_toml=text)
        if newer:
            self.result.protocol_version = new.version

    async def upload(self, batch: list[Entry]) -> None:
        ids = {e.id for e in batch}
        flags = [f for f in self.store.flags() if f["entry_id"] in ids] if self.send_flags else []
        resp = await self.call("POST", "/api/v1/entries", content=upload_body(batch, flags),
                               headers={"content-type": "application/json"})
        if resp.status_code == 422 and flags and reason(resp).startswith("flags"):
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
            self.reject([(batch[0].id, f"the hub cannot {what} this entry: {reason(resp)}")])
            return
        if resp.status_code != 200:
            raise permanent(resp)
        self.apply(batch, read_answer(answers.EntriesResponse, resp))

    def apply(self, batch: list[Entry], answer: answers.EntriesResponse) -> None:
        ours = {e.id: e for e in batch}  # read from the store by pending(): the device's own copy
        receipts, mismatched = checked_receipts(answer.receipts, {i: content_hash(e) for i, e in ours.items()}, "entry")
        self.store.record_receipts(receipts)
        self.result.accepted += len([i for i in answer.accepted if i in ours])
        self.result.duplicate += len([i for i in answer.duplicate if i in ours])
        refused = [r for r in answer.rejected if r.id in ours]
        self.reject([(r.id, r.error) for r in refused] + mismatched, retry=[r.id for r in refused if r.retry])

    def reject(self, rejected: list[tuple[str, str]], retry: list[str] | None = None) -> None:
        if rejected:
            self.store.quarantine(rejected, retry or ())
            self.result.rejected += len(rejected)
            self.result.rejections += rejected


def checked_receipts(got: list[answers.Receipt], hashes: dict[str, str], what: str) -> tuple[list, list]:
    """(receipts to keep, (id, why) of those refused) from the hub's receipts for a batch whose ids
    and content hashes are `hashes`: a receipt counts only for the content this device holds."""
    receipts, mismatched = [], []
    for r in got:
        if r.id not in hashes:
            continue
        if r.content_hash == hashes[r.id]:
            receipts.append((r.id, r.received_at, r.content_hash))
        else:
            mismatched.append((r.id, f"the hub holds other content under this {what}'s id"))
    return receipts, mismatched


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
