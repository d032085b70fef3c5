"""One-time enrolment codes and device tokens: generation, normalising and hashing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

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


def digest(secret: str) -> str:
    """SHA-256 hex of a code or token: what the hub keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
