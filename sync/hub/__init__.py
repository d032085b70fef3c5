"""The coordinator's hub: FastAPI app, its SQLite store, and the coordinator's commands."""
