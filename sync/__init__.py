"""Sync: the device's upload client and the coordinator's hub (FastAPI + SQLite)."""
