"""The device side of sync: enrolment with a hub, the token file, and one round (`sync_diary`),
whose steps are `round.Round`'s and `reconcile`'s.

All SQLite access happens on the calling thread (in the app: the Textual UI thread, from an async
worker); only the HTTP calls are awaited. Offline is normal: a round never raises for network
trouble, it records `last_error` and returns it.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from datetime import date, datetime
from pathlib import Path

import httpx

from diary_client.core import clock, private
from diary_client.device.diary import Diary, DiaryError
from diary_client.device.event_store import EventStore
from diary_client.device.store import Store
from sync.client import answers
from sync.client.blocking import BlockingTransport
from sync.client.events import upload_events
from sync.client.reconcile import reconcile
from sync.client.round import (
    NotUnderstood,
    RetryPolicy,
    Round,
    RoundFailed,
    SyncError,
    SyncResult,
    batches,
    read_answer,
    reason,
    tls_problem,
)

TOKEN_FILE = "hub_token"


# -- the token file ------------------------------------------------------------------------------
CA_FILE = "hub_ca.pem"  # the hub's own certificate (or its CA), kept from `enroll --ca-file` for every sync

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
    return bool(diary.settings.hub_url) and load_token(data_dir_of(diary.store)) is not None


# -- enrolment -----------------------------------------------------------------------------------

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
    today: date | None = None,
    device: str = "diary device",
    transport: httpx.BaseTransport | None = None,
    ca_file: str | Path | None = None,
) -> Diary:
    """Exchange a one-time code for a device token and keep the token (0600) in the data dir.

    A `Store` not enrolled yet is enrolled with the hub's participant, protocol and day 1 (the
    code is checked first, so a bad code leaves the device as it was). An enrolled `Diary` is
    connected to the hub if the code is for its participant. `today`, the device's date, is day 1
    when neither `start` nor the coordinator set one. Raises SyncError or DiaryError.
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
    if today is not None:
        body["today"] = today.isoformat()
    verify = _verify(hub_url, data_dir_of(store), ca_file)
    resp = _post_enrolment(hub_url, body, transport, verify)
    if resp.status_code == 422 and today is not None and reason(resp).startswith("today"):
        del body["today"]  # a hub from before the field: it takes its own date, as it always did
        resp = _post_enrolment(hub_url, body, transport, verify)
    if resp.status_code != 200:
        raise SyncError(f"the hub refused the enrolment: {reason(resp)}")
    got = _enrolment_answer(resp)
    if isinstance(target, Diary) and got.participant_id != target.participant_id:
        raise SyncError(f"the hub enrolled {got.participant_id!r} with this code, but this device "
                        f"holds {target.participant_id!r}: ask the coordinator for a code for {target.participant_id}")
    save_token(data_dir_of(store), got.token)
    if ca_file is not None:
        save_ca(data_dir_of(store), ca_file)
    if isinstance(target, Diary):
        target.link_hub(hub_url, device)
        return target
    return Diary.enroll(store, got.participant_id, got.protocol, got.start, hub_url=hub_url, hub_device=device)


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


def _enrolment_answer(resp: httpx.Response) -> answers.EnrollResponse:
    """The hub's answer to an enrolment, checked: a server that is not a diary hub (a web page,
    some other JSON) is one line, not a traceback."""
    try:
        return read_answer(answers.EnrollResponse, resp)
    except NotUnderstood:
        raise SyncError(f"the server at {resp.request.url.copy_with(path='/')} answered, but not as a diary hub "
                        "does: check the hub URL") from None


# -- one sync round ------------------------------------------------------------------------------

async def sync_diary(
    diary: Diary,
    now: datetime,
    *,
    policy: RetryPolicy = RetryPolicy(),
    transport: httpx.AsyncBaseTransport | None = None,
    alone: bool = False,
) -> SyncResult:
    """One full round: check in (unblinding, clock offset), fetch the participant's earlier entries
    (a new device, once), upload pending entries in batches, record receipts, quarantine
    rejections, take a protocol update. Never raises for network trouble. `alone`: nothing else
    runs in this process (a command), so the requests may block (`blocking.BlockingTransport`)."""
    store = diary.store
    diary.reload()  # the settings as the file holds them now (another process, `diary sync`, may have synced)
    hub_url, token = diary.settings.hub_url, load_token(data_dir_of(store))
    if not hub_url or not token:
        return SyncResult(pending=len(store.pending()), error="this device is not connected to a hub",
                          unblinded=diary.settings.unblinded)
    headers = {"Authorization": f"Bearer {token}"}
    verify = _verify(hub_url, data_dir_of(store))
    if alone and transport is None:
        transport = BlockingTransport(verify)
    async with httpx.AsyncClient(base_url=hub_url, headers=headers, timeout=policy.timeout, transport=transport,
                                 verify=verify) as client:
        rnd = Round(diary, now, client, policy)
        try:
            await rnd.check_in()
            try:
                await rnd.fetch_history()
            except RoundFailed as e:  # the uploads matter more; the next round fetches again
                rnd.result.error = f"earlier entries not fetched yet: {e}"
            # Entries refused for a reason time may cure (the hub's clock behind) go again, first (they are older).
            for batch in batches(store.retryable() + store.pending(), store.flags()):
                await rnd.upload(batch)
            await upload_events(rnd)  # after the entries; a serious adverse event's round starts at once
            try:
                await reconcile(rnd)  # entries the hub lost since it acknowledged them (a restore) go again
            except RoundFailed as e:  # like the history: it must not hold back the rest; the next round asks again
                rnd.result.error = f"not reconciled with the hub yet: {e}"
            await rnd.update_protocol()  # after the uploads: entries made before it keep their version
            diary.update_settings(last_upload=now.isoformat(timespec="seconds"),
                               last_error=f"{now:%Y-%m-%d %H:%M}: {rnd.result.error}" if rnd.result.error else None)
        except (NotUnderstood, RoundFailed) as e:  # NotUnderstood: a 200 whose body is not the hub's answer
            rnd.result.error = str(e)
            diary.update_settings(last_error=f"{now:%Y-%m-%d %H:%M}: {e}")
    result = rnd.result
    result.pending = len(store.pending())
    result.events_pending = EventStore(store).pending_count()
    diary.reload()  # the Diary caches settings and the protocol; the screens read them
    result.unblinded = result.unblinded or diary.settings.unblinded
    return result
