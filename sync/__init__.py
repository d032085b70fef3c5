"""Sync: the device's upload client and the coordinator's hub (FastAPI + SQLite)."""

# The largest upload body a device sends (sync.client.upload's batches; one entry larger than this goes
# alone). The hub reads and throws away a refused body at least this long (hub/limits.BodyLimit),
# so the device always receives its 413 and sends less, never a connection reset.
BATCH_BYTES = 1024 * 1024

# The most entry ids one reconciliation request may ask about (sync.wire's ReconcileRequest; the
# device's reconcile sends them in chunks of this size). Here, so the device need not load pydantic.
MAX_RECONCILE_IDS = 5000
