"""The participant's device without a UI: its store, audit chain, integrity checks, the Diary service, settings and progress data."""
