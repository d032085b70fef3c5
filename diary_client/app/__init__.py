"""The participant's Textual app: the App, its screens, widgets, themes and styles."""
