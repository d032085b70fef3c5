"""`python -m diary_client`: the same as the `diary` command (the app, or a command given)."""

from diary_client.cli.launch import run

run()
