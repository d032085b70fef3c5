"""The participant id rule, one for device and hub: what a new id may be made of."""

from __future__ import annotations

import re

PARTICIPANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def participant_id_problem(participant_id: str) -> str | None:
    """Why this cannot be a new participant id (device and hub use the same rule), or None.

    Ids are shown on terminals, in file names and in other systems' fields: a new one is plain
    ASCII (ids stored before this rule stay readable, and are shown escaped: printable.py)."""
    if not PARTICIPANT_ID.fullmatch(participant_id):
        return ("a participant id is 1 to 64 characters: letters A-Z or a-z, digits, '.', '_' or '-', "
                "starting with a letter or digit")
    return None
