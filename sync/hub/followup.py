"""Who needs the coordinator's call: yesterday's report missed, or no upload for more than 3 days.

Pure: a participant, whether the hub holds yesterday's report, the last receipt time, whether a
device of theirs syncs, and `now` come in. Only a participant whose study is running is marked
(not one before day 1 or after the end). A participant without a syncing device (diary files
collected at visits) cannot be judged by yesterday: the hub learns of her days at the next visit,
so she is marked only when no file came for longer than a visit interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from diary_client.core import schedule as sch
from sync.hub.rules import Participant

STALE_AFTER = timedelta(days=3)
VISIT_GAP = timedelta(days=14)  # files collected by hand: the original study's two-weekly lab visits


@dataclass(frozen=True)
class FollowUp:
    yesterday: str | None  # the state of yesterday's report (done, late, missed) or None: not a study day
    missed_yesterday: bool
    days_since_upload: float | None  # None: nothing received yet
    stale: bool  # running study, last upload (or day 1, if none yet) over 3 days ago (by hand: 14)
    by_hand: bool = False  # no device syncs: the diary file is collected at visits

    def marks(self) -> list[str]:
        out = []
        if self.missed_yesterday:
            out.append("missed yesterday")
        if self.stale:
            what = "file collected" if self.by_hand else "upload"
            out.append(f"no {what} yet" if self.days_since_upload is None
                       else f"no {what} for {self.days_since_upload:.0f} days")
        return out


def yesterday(p: Participant, now: datetime) -> date | None:
    """The participant's yesterday (her own zone), if it is a day of her study."""
    if p.start is None:
        return None
    day = p.local(now).date() - timedelta(days=1)
    return day if p.start <= day <= sch.end_date(p.protocol, p.start) else None


def follow_up(p: Participant, filed_yesterday: bool, last_received_at: str | None, now: datetime,
              syncs: bool = True) -> FollowUp:
    """The marks `hub status` shows for one participant (`filed_yesterday`: the hub holds a report
    of it; `syncs`: a device of theirs uploads over the network)."""
    since = None
    if last_received_at:
        since = (now - datetime.fromisoformat(last_received_at)).total_seconds() / 86400
    if p.start is None:
        return FollowUp(None, False, since, False, not syncs)
    local, protocol = p.local(now), p.protocol
    running = p.start <= local.date() and not sch.study_over(protocol, p.start, local)
    day, state = yesterday(p, now), None
    if day is not None:
        state = sch.day_state(sch.window(protocol.schedule, day, local.tzinfo), local, filed_yesterday)
    waited = since if since is not None else (local.date() - p.start).days
    limit = STALE_AFTER if syncs else VISIT_GAP
    return FollowUp(state, syncs and state == "missed", since, running and waited > limit.days, not syncs)
