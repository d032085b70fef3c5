"""What every screen shares: the errors a person can act on, their wording, and the error screen."""

from __future__ import annotations

import sqlite3

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from diary_client.device import errors
from diary_client.device.store import StoreError

# Problems a participant can read and act on, shown on screen, never as a traceback: the command
# line's list, and the database and disk problems the app words itself (`human`).
USER_ERRORS: tuple[type[Exception], ...] = (*errors.USER_ERRORS, sqlite3.DatabaseError, OSError)


def human(e: BaseException) -> str:
    """One sentence for a person; database and disk problems get a hint of what to do."""
    msg = str(e) or e.__class__.__name__
    if isinstance(e, sqlite3.DatabaseError) and not isinstance(e, StoreError):
        msg = f"the diary database cannot be read ({msg})"
    if isinstance(e, OSError) and not isinstance(e, sqlite3.DatabaseError):
        msg = f"{e.filename or 'file'}: {e.strerror or msg}"
    low = msg.lower()
    if "disk is full" in low or "no space" in low:
        msg += " — free some space; nothing you entered was lost, try again"
    elif "locked" in low:
        msg += " — another diary program is using the file; close it and try again"
    elif "malformed" in low or "not a database" in low:
        msg += " — run `diary verify`, and tell your study coordinator"
    return msg[:1].upper() + msg[1:]


class ErrorScreen(Screen):
    """A problem that stops the app from starting, in words, with a way out."""

    BINDINGS = [Binding("q,escape", "app.quit", "Quit")]

    def __init__(self, message: str, title: str = "The diary cannot open") -> None:
        super().__init__()
        self.message = message
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self.title_text, classes="title")
            yield Static(self.message, id="error-message")
            yield Static("Nothing has been changed or lost. Press q to quit.", classes="muted")
        yield Footer()


class ChoiceScreen(ModalScreen[str | None]):
    """A question with a few keyed answers; returns the chosen answer's value, None on Escape."""

    def __init__(self, question: str, detail: str, choices: list[tuple[str, str, str]],
                 escape: str = "stay here") -> None:
        super().__init__()
        self.question, self.detail, self.choices = question, detail, choices  # (key, words, value)
        self.escape = escape
        for key, words, value in choices:  # listed in full on the screen: a footer would cut them at 60 columns
            self._bindings.bind(key, f"choose('{value}')", words, show=False)
        self._bindings.bind("escape", "choose('')", escape, show=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="choice"):
            yield Static(self.question, classes="prompt", id="choice-question")
            yield Static(self.detail + "\n", classes="muted")
            yield Static("\n".join(f"{key.split(',')[0].title():<6} {words}" for key, words, _ in self.choices)
                         + f"\n{'Esc':<6} {self.escape}", id="choice-keys")

    def action_choose(self, value: str) -> None:
        self.dismiss(value or None)


def LeaveScreen() -> ChoiceScreen:  # noqa: N802 - reads as the screen it makes
    """Asked on leaving a report that holds answers."""
    return ChoiceScreen("Leave this report?", "Your answers so far are kept on this device (not sent, not counted).",
                        [("k,enter", "keep my answers and leave", "keep"), ("d", "throw them away and leave", "discard")])


def DiscardScreen(answers: int | None = None) -> ChoiceScreen:  # noqa: N802
    """The second question before a draft is thrown away: only y does it, so a second D or an
    Enter typed on the way does not."""
    what = "Your answers" if answers is None else f"Your {answers} answer{'' if answers == 1 else 's'}"
    return ChoiceScreen("Throw your answers away?", f"{what} will be gone for good: this cannot be undone.",
                        [("y", "yes, throw them away", "discard")], escape="no, keep them")


def QuitScreen() -> ChoiceScreen:  # noqa: N802
    """Asked on quitting while a report holds answers."""
    return ChoiceScreen("Quit the diary?", "Your report is not saved yet. Its answers are kept: the next start "
                        "offers to go on with them.", [("y,enter", "quit", "quit")])


class Enrolled(Message):
    """The device was just enrolled; the app opens home on this diary."""

    def __init__(self, diary) -> None:
        super().__init__()
        self.diary = diary


class ReportSaved(Message):
    """A report or correction is durably saved; the app syncs."""

    def __init__(self, entry) -> None:
        super().__init__()
        self.entry = entry
