"""Enrolment and protocol versions: registering participants, codes, device tokens, updates, revocation, unblinding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from diary_client.core import bounds
from diary_client.core.protocol import Protocol, parse_protocol, update_problem
from sync.hub import codes
from sync.hub.database import PARTICIPANTS, HubDatabase, first_participant, get_participant, iso, write_audit
from sync.hub.errors import CodeError, HubError
from sync.hub.rules import Participant, protocol_from


def _refuse_masked(protocol: Protocol, hint: str = "") -> None:
    """A double-blind device's masked copy is never taken for the study's protocol."""
    if protocol.masked:
        raise HubError(f"this is a double-blind device's masked copy of study {protocol.id}, not the study's protocol{hint}")


def _check_start(start: date | None, at: str) -> None:
    """Day 1 within the sane window (diary_client.core.bounds) of the hub's date `at`, or HubError."""
    problem = start and bounds.start_problem(start, date.fromisoformat(at[:10]))
    if problem:
        raise HubError(problem)


def device_day(today: date | None, now: datetime, tz: str) -> date:
    """Day 1 of a device enrolling without a start of its own or the coordinator's: the device's date
    (as the participant reads her calendar), unless its clock is more than a day from the hub's
    date in her zone (a Raspberry Pi without a battery clock), then the hub's date."""
    hub_day = now.astimezone(ZoneInfo(tz)).date()
    return today if today is not None and abs((today - hub_day).days) <= 1 else hub_day


@dataclass(frozen=True)
class DeviceEnrolment:
    """A redeemed code: the participant as the hub now knows them, and the device's new token."""

    participant: Participant
    token: str


class Enrolment:
    """Who is in which study, at which protocol version, with which codes and device tokens."""

    def __init__(self, db: HubDatabase):
        self.db = db

    def _register(self, db: Database, participant_id: str, toml: str, start: date | None,
                  tz: str, at: str, actor: str) -> Participant:
        """Add the participant (and the study protocol) if new; check they match if known.

        A new participant joins a study the hub already has at its latest protocol version (the
        protocol given must be one of the study's versions, as the hub holds it).
        """
        _check_start(start, at)
        protocol = parse_protocol(toml)
        have = get_participant(db, participant_id)
        if have is not None:
            if have.study_id != protocol.id:
                raise HubError(f"participant {participant_id} is already in study {have.study_id}, not {protocol.id}")
            if protocol.version > have.protocol_version:
                raise HubError(f"participant {participant_id} is on version {have.protocol_version} of study "
                               f"{protocol.id}: publish version {protocol.version} with `diary hub protocol` first")
            if start and have.start and start != have.start:
                raise HubError(f"participant {participant_id}'s day 1 on the hub is {have.start}, not {start}")
            return have
        _refuse_masked(protocol, f": enrol {participant_id} on the hub with the study's own protocol first")
        versions = dict(db.execute("SELECT version, protocol_toml FROM studies WHERE study_id = ?",
                                   [protocol.id]).fetchall())
        version = max(versions, default=protocol.version)
        if not versions:
            db.execute("INSERT INTO studies VALUES (?, ?, ?, ?)", [protocol.id, protocol.version, toml, at])
            write_audit(db, at, actor, "add_study", study_id=protocol.id, version=protocol.version)
        elif protocol.version > version:
            raise HubError(f"the hub has study {protocol.id} up to version {version}: publish version "
                           f"{protocol.version} with `diary hub protocol` first")
        elif protocol.version not in versions or protocol_from(versions[protocol.version]) != protocol:
            raise HubError(f"the hub already has study {protocol.id} version {protocol.version} with "
                           "other content: give the protocol a new version number")
        db.execute(
            "INSERT INTO participants (participant_id, study_id, protocol_version, start, tz, enrolled_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [participant_id, protocol.id, version, start.isoformat() if start else None, tz, at],
        )
        write_audit(db, at, actor, "register", participant_id, study_id=protocol.id,
                    start=start.isoformat() if start else None)
        return get_participant(db, participant_id)  # type: ignore[return-value]  # inserted just above

    def register(self, participant_id: str, toml: str, start: date | None, tz: str, now: datetime,
                 actor: str = "coordinator") -> Participant:
        with self.db.tx() as db:
            return self._register(db, participant_id, toml, start, tz, iso(now), actor)

    def enroll(self, participant_id: str, toml: str, start: date | None, tz: str, now: datetime) -> str:
        """Register the participant if new and issue a one-time enrolment code (only its keyed hash is kept)."""
        code = codes.new_code()
        at = iso(now)
        with self.db.tx() as db:
            self._register(db, participant_id, toml, start, tz, at, "coordinator")
            db.execute("INSERT INTO codes VALUES (?, ?, ?, ?, NULL)",
                       [self.db.keys.digest(codes.normalize_code(code)), participant_id, at,  # type: ignore[arg-type]  # the code was just made, so it normalises
                        iso(now + codes.CODE_TTL)])
            write_audit(db, at, "coordinator", "issue_code", participant_id)
        return code

    def redeem(self, code: str, device: str, now: datetime, participant_id: str | None = None,
               start: date | None = None, tz: str | None = None, device_id: str | None = None,
               today: date | None = None) -> DeviceEnrolment:
        """Exchange a valid code, once, for a new device token. Nothing changes if anything is off.

        Once means once per device: the same `device_id` redeeming the same code again within
        `codes.RETRY_WINDOW` gets a new token, and the one issued before is revoked (the answer
        that carried it never reached the device, or the device would not ask again).
        """
        norm = codes.normalize_code(code)
        at = iso(now)
        keyed = None if norm is None else self.db.keys.digest(norm)
        result: DeviceEnrolment | None = None
        with self.db.tx() as db:
            row = None if norm is None else db.execute(
                "SELECT code_hash, participant_id, expires_at, used_at FROM codes WHERE code_hash IN (?, ?)",
                [keyed, codes.legacy_digest(norm)]).fetchone()
            lost = row is not None and row[3] is not None and self._lost_answer(db, keyed, device_id, now)
            refused = (row is None or (row[3] is not None and not lost) or row[2] < at
                       or bool(participant_id and participant_id != row[1]))
            if refused:
                write_audit(db, at, "device", "redeem_refused", None)
            else:
                result = self._issue(db, row, keyed, device, device_id, start, tz, now, lost, today)  # type: ignore[arg-type]  # not refused: row and keyed are set
        if result is None:
            raise CodeError("this enrolment code is not valid (mistyped, already used, expired, "
                            "or for another participant): ask the coordinator for a new one")
        return result

    @staticmethod
    def _lost_answer(db: Database, code_hash: str | None, device_id: str | None, now: datetime) -> bool:
        """Was this code redeemed by this very device a moment ago (its token not yet revoked)?"""
        if not device_id or code_hash is None:
            return False
        return db.execute(
            "SELECT 1 FROM tokens WHERE code_hash = ? AND device_id = ? AND revoked_at IS NULL AND created_at >= ?",
            [code_hash, device_id, iso(now - codes.RETRY_WINDOW)]).fetchone() is not None

    def _issue(self, db: Database, row: tuple, keyed: str, device: str, device_id: str | None,
               start: date | None, tz: str | None, now: datetime, again: bool,
               today: date | None = None) -> DeviceEnrolment:
        at = iso(now)
        p = get_participant(db, row[1])
        assert p is not None  # codes reference participants
        if start and p.start and start != p.start:
            raise HubError(f"the hub has {p.start} as day 1 for {p.participant_id}, not {start}: "
                           "enrol without --start")
        _check_start(start, at)
        if p.start is None or (tz and tz != p.tz):
            new_start = p.start or start or device_day(today, now, tz or p.tz)
            db.execute("UPDATE participants SET start = ?, tz = ? WHERE participant_id = ?",
                       [new_start.isoformat(), tz or p.tz, p.participant_id])
        if again:
            db.execute("UPDATE tokens SET revoked_at = ? WHERE code_hash = ? AND device_id = ? AND revoked_at IS NULL",
                       [at, keyed, device_id])
        token = codes.new_token()
        db.execute("UPDATE codes SET used_at = COALESCE(used_at, ?), code_hash = ? WHERE code_hash = ?",
                   [at, keyed, row[0]])  # a legacy (unkeyed) hash is rehashed on use
        db.execute("INSERT INTO tokens (token_hash, participant_id, device, created_at, code_hash, device_id)"
                   " VALUES (?, ?, ?, ?, ?, ?)", [self.db.keys.digest(token), p.participant_id, device, at, keyed, device_id])
        write_audit(db, at, "device", "redeem_again" if again else "redeem", p.participant_id, device=device)
        return DeviceEnrolment(get_participant(db, p.participant_id), token)  # type: ignore[arg-type]  # the participant was read in this transaction: it exists

    def take_start(self, participant_id: str, start: date, tz: str, now: datetime, actor: str,
                   **detail) -> Participant:
        """Give a participant day 1 and time zone from a collected diary file (audited): one the
        hub has no day 1 for, or whose day 1 moves while the hub holds none of their entries."""
        return self._move_start(participant_id, start, tz, now, actor, "take_start", **detail)

    def set_start(self, participant_id: str, start: date, now: datetime) -> Participant:
        """The coordinator corrects day 1 (`hub set-start`, audited as `set_start`): allowed while the
        hub holds none of the participant's entries; their device takes it at its next sync."""
        return self._move_start(participant_id, start, None, now, "coordinator", "set_start")

    def _move_start(self, participant_id: str, start: date, tz: str | None, now: datetime, actor: str,
                    action: str, **detail) -> Participant:
        at = iso(now)
        _check_start(start, at)
        with self.db.tx() as db:
            p = get_participant(db, participant_id)
            if p is None:
                raise HubError(f"no participant {participant_id!r} on this hub")
            tz = tz or p.tz
            if p.start is not None and p.start != start:
                n = db.execute("SELECT COUNT(*) FROM entries WHERE participant_id = ?", [participant_id]).fetchone()[0]
                if n:
                    raise HubError(f"the hub already holds {n} entries of {participant_id} counted from day 1 "
                                   f"{p.start}: day 1 cannot move to {start}")
            db.execute("UPDATE participants SET start = ?, tz = ? WHERE participant_id = ?",
                       [start.isoformat(), tz, participant_id])
            write_audit(db, at, actor, action, participant_id, start=start.isoformat(),
                        was=p.start.isoformat() if p.start else None, tz=tz, was_tz=p.tz, **detail)
            return get_participant(db, participant_id)  # type: ignore[return-value]  # updated just above in this transaction: it exists

    def publish(self, toml: str, now: datetime) -> tuple[str, int, list[str]]:
        """Add a newer version of a study's protocol and move the study's participants to it.

        Returns (study id, version, participants moved); their devices take it at their next
        sync. Entries made under an earlier version are still checked against that version.
        """
        new = parse_protocol(toml)
        _refuse_masked(new)
        at = iso(now)
        with self.db.tx() as db:
            row = db.execute("SELECT protocol_toml FROM studies WHERE study_id = ? ORDER BY version DESC LIMIT 1",
                             [new.id]).fetchone()
            if row is None:
                raise HubError(f"the hub has no study {new.id!r} yet: enrol a participant with it first")
            problem = update_problem(protocol_from(row[0]), new)
            if problem:
                raise HubError(f"this protocol cannot update study {new.id}: {problem}")
            db.execute("INSERT INTO studies VALUES (?, ?, ?, ?)", [new.id, new.version, toml, at])
            moved = [r[0] for r in db.execute(
                "SELECT participant_id FROM participants WHERE study_id = ? ORDER BY participant_id", [new.id])]
            db.execute("UPDATE participants SET protocol_version = ? WHERE study_id = ?", [new.version, new.id])
            write_audit(db, at, "coordinator", "publish_protocol", None, study_id=new.id, version=new.version,
                        participants=len(moved))
        return new.id, new.version, moved

    def revoke(self, participant_id: str, now: datetime) -> int:
        """Revoke every live device token of the participant, and void their unused enrolment
        codes (a lost device's papers may hold one); returns how many tokens."""
        at = iso(now)
        with self.db.tx() as db:
            if get_participant(db, participant_id) is None:
                raise HubError(f"no participant {participant_id!r} on this hub")
            n = db.execute("UPDATE tokens SET revoked_at = ? WHERE participant_id = ? AND revoked_at IS NULL",
                           [at, participant_id]).rowcount
            codes_voided = db.execute("UPDATE codes SET used_at = ? WHERE participant_id = ? AND used_at IS NULL",
                                      [at, participant_id]).rowcount
            write_audit(db, at, "coordinator", "revoke_tokens", participant_id, tokens=n, codes=codes_voided)
        return n

    def authenticate(self, token_hash: str, legacy_hash: str | None = None) -> Participant | None:
        """The participant a (keyed-hashed) device token belongs to, or None. A token stored by a
        hub from before the key (`legacy_hash`, plain SHA-256) is found too, and rehashed."""
        sql = PARTICIPANTS + " JOIN tokens t ON t.participant_id = p.participant_id WHERE t.token_hash = ? AND t.revoked_at IS NULL"
        with self.db.read() as db:
            p = first_participant(db, sql, [token_hash])
            if p is not None or legacy_hash is None:
                return p
            if db.execute("SELECT 1 FROM tokens WHERE token_hash = ?", [legacy_hash]).fetchone() is None:
                return None
        with self.db.tx() as db:
            db.execute("UPDATE tokens SET token_hash = ? WHERE token_hash = ?", [token_hash, legacy_hash])
            return first_participant(db, sql, [token_hash])

    def unblind(self, ids: list[str], now: datetime, user: str | None = None, reason: str | None = None) -> list[str]:
        """Release true phase names to these participants; returns who. Each is audited with the
        coordinator's OS `user`, the time, the `reason`, and whether her study was still running
        (`in_study`): the caller asks for a reason and a confirmation before that."""
        at = iso(now)
        with self.db.tx() as db:
            people = {p.participant_id: p for p in (get_participant(db, i) for i in ids) if p is not None}
            missing = [i for i in ids if i not in people]
            if missing:
                raise HubError(f"no participant {missing[0]!r} on this hub")
            for pid in ids:
                db.execute("UPDATE participants SET unblinded = 1 WHERE participant_id = ?", [pid])
                write_audit(db, at, "coordinator", "unblind", pid, user=user, reason=reason,
                            in_study=in_study(people[pid], now))
            return ids


def in_study(p: Participant, now: datetime) -> bool:
    """Is the participant still in her study (no day 1 yet, or her last day's grace not over)?"""
    if p.start is None:
        return True
    from diary_client.core.schedule import study_over

    return not study_over(p.protocol, p.start, p.local(now))
