"""The device's settings as one frozen record, read from the store's key/value rows.

Only `Diary` writes them (`Diary.enroll`, `Diary.update_settings` and its named writers), so every
key is one of the fields below; a row this version does not know is kept in `other`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec


class DeviceSettings(msgspec.Struct, frozen=True):
    participant_id: str
    study_id: str
    device_id: str
    start: date  # day 1
    protocol_toml: str  # the study protocol as this device holds it (a hub may update it)
    timezone: str | None = None  # the zone the diary windows are local times of (a hub importing the file takes it)
    hub_url: str | None = None
    hub_device: str | None = None  # the device name given to the hub at enrolment
    theme: str | None = None  # the participant's light/dark choice
    unblinded: bool = False  # released by the hub
    history_fetched: bool = False  # this device has taken the participant's entries from the hub
    clock_offset_s: float | None = None  # hub time minus device time at the last sync
    last_upload: str | None = None
    last_error: str | None = None
    other: dict[str, Any] = msgspec.field(default_factory=dict)  # rows written by a newer version

    @classmethod
    def from_rows(cls, rows: dict[str, Any]) -> DeviceSettings:
        known = set(cls.__struct_fields__) - {"other"}
        values = {k: v for k, v in rows.items() if k in known}
        values["start"] = date.fromisoformat(values["start"])
        return cls(**values, other={k: v for k, v in rows.items() if k not in known})

    @staticmethod
    def check_keys(keys) -> None:
        """A writer names only fields of the settings (a typo would be a silent new key)."""
        unknown = set(keys) - set(DeviceSettings.__struct_fields__) - {"other"}
        if unknown:
            raise TypeError(f"not a device setting: {', '.join(sorted(unknown))}")
