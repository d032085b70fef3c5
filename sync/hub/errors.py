"""The hub's errors for people: light to import, so `diary sync` need not load the hub's database code."""


class HubError(Exception):
    """Something a coordinator or a device can fix; the message says what."""


class CodeError(HubError):
    """An enrolment code that is wrong, used or expired (deliberately not saying which)."""
