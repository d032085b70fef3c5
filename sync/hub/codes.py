"""One-time enrolment codes and device tokens: generation, normalising and hashing."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# No 0/O, 1/I/L, 5/S or 2/Z look-alikes: a code read aloud or off paper is typed right.
ALPHABET = "ABCDEFGHJKMNPQRTUVWXY346789"
CODE_LENGTH = 8
CODE_TTL = timedelta(days=14)


def new_code() -> str:
    """A short code for a person to type, shown as XXXX-XXXX (about 38 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(text: str) -> str | None:
    """The canonical form of a typed code (case, spaces and dashes do not matter), or None."""
    raw = "".join(c for c in text.upper() if c not in " -\t")
    if len(raw) != CODE_LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def new_token() -> str:
    """A random 256-bit device token (URL-safe text); only its hash is ever stored."""
    return secrets.token_urlsafe(32)


def legacy_digest(secret: str) -> str:
    """Plain SHA-256 hex, as hubs before the key stored codes and tokens (accepted, rehashed on use)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


KEY_BYTES = 32
RETRY_WINDOW = timedelta(minutes=10)  # a device that lost the answer may redeem its code again


def key_path(db_path: str | Path) -> Path:
    """The hub's hashing key lives beside its database: `study.db` -> `study.db.key`."""
    p = Path(db_path)
    return p.with_name(p.name + ".key")


@dataclass(frozen=True)
class Keys:
    """HMAC-SHA-256 of codes and tokens under the hub's own key: a copy of the database alone
    does not let anyone try the ≈ 38-bit codes offline."""

    key: bytes

    def digest(self, secret: str) -> str:
        return hmac.new(self.key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    @classmethod
    def beside(cls, db_path: str | Path) -> Keys:
        """The key file next to the database, made (0600, random) on first use."""
        path = key_path(db_path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
            if len(key) != KEY_BYTES:
                raise ValueError(f"{path} is not a hub key ({len(key)} bytes, not {KEY_BYTES}): restore it from "
                                 "the hub's backup (without it no device token or enrolment code is recognised)") from None
            return cls(key)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        return cls(key)
