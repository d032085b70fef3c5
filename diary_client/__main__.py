"""`python -m diary_client`: the same as the `diary` command (the app, or a command given)."""

from diary_client.launch import run

run()
