"""Symptom diary: the participant's device (protocol, diary rules, local store, command line, app)."""

import os

__version__ = "0.1.0"

# pydantic scans every installed distribution's entry points for plugins when it builds the first
# model (importlib.metadata and the email package: ~40 ms of the app's cold start); we use none.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
