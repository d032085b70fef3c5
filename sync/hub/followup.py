"""Who needs the coordinator's call: yesterday's report missed, or no upload for more than 3 days.

Pure: a participant, their entries, their last receipt time and `now` come in. Only a participant
whose study is running is marked (not one before day 1 or after the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from diary_client import schedule as sch
from diary_client.entry import Entry, filed_timing

from .rules import Participant

STALE_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class FollowUp:
    yesterday: str | None  # the state of yesterday's report (done, late, missed) or None: not a study day
    missed_yesterday: bool
    days_since_upload: float | None  # None: nothing received yet
    stale: bool  # running study, last upload (or day 1, if none yet) over 3 days ago

    def marks(self) -> list[str]:
        out = []
        if self.missed_yesterday:
            out.append("missed yesterday")
        if self.stale:
            out.append("no upload yet" if self.days_since_upload is None
                       else f"no upload for {self.days_since_upload:.0f} days")
        return out


def follow_up(p: Participant, entries: list[Entry], last_received_at: str | None, now: datetime) -> FollowUp:
    """The marks `hub status` shows for one participant."""
    since = None
    if last_received_at:
        since = (now - datetime.fromisoformat(last_received_at)).total_seconds() / 86400
    if p.start is None:
        return FollowUp(None, False, since, False)
    local = p.local(now)
    protocol = p.protocol
    today, end = local.date(), sch.end_date(protocol, p.start)
    running = p.start <= today and not sch.study_over(protocol, p.start, local)
    day = today - timedelta(days=1)
    state = None
    if p.start <= day <= end:
        filed = filed_timing(entries)
        state = sch.day_state(sch.window(protocol.schedule, day, local.tzinfo), local, day in filed)  # type: ignore[arg-type]
    waited = since if since is not None else (today - p.start).days
    stale = running and waited > STALE_AFTER.days
    return FollowUp(state, state == "missed", since, stale)
