"""Text from outside (ids, names, notes) made safe to print on a terminal: control and bidi characters escaped."""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (ESC, CR, LF, BEL …); Cf: format characters, the bidi overrides and isolates
# (U+202A–U+202E, U+2066–U+2069) among them; Zl/Zp: line and paragraph separators.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def printable(text: str) -> str:
    """`text` with every character that could move the cursor, recolour, retitle, break a line or
    reorder it shown as a Python-style escape (`\\x1b`, `\\n`, `\\u202e`); everything else as is."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) in _UNSAFE:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)
