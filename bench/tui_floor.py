"""The start-up floor for the app: a minimal Textual app with a header, a footer and a few widgets."""

from textual.app import App
from textual.widgets import Button, Footer, Header, Static


class Floor(App):
    BINDINGS = [("q", "quit", "Quit"), ("s", "bell", "Settings")]

    def compose(self):
        yield Header()
        yield Static("Day 1 of 98")
        yield Static("Run-in · open now — press Enter")
        yield Static("Compliance —")
        yield Button("Start")
        yield Footer()


if __name__ == "__main__":
    Floor().run()
