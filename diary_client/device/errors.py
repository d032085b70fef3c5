"""The one list of errors a participant can read and act on, shared by the command line and the app."""

from __future__ import annotations

from diary_client.core.answers import AnswerError
from diary_client.core.clock import ClockError
from diary_client.core.protocol import ProtocolError
from diary_client.device.diary import DiaryError
from diary_client.device.store import StoreError

# Raised with a sentence for a person: the command line prints it as one line, the app shows it.
USER_ERRORS: tuple[type[Exception], ...] = (DiaryError, AnswerError, ProtocolError, StoreError, ClockError)
