"""Symptom diary: the participant's device (protocol, diary rules, local store, command line, app)."""

__version__ = "0.1.0"
