"""Text input: one policy for single-line text (names, titles) and one for multi-line text
(descriptions, review bodies, reasons), shared by every mutation that stores text.

Refused everywhere: control characters, lone surrogates (PostgreSQL cannot store them, and NUL
in particular would fail there), private-use and unassigned code points, and format characters
such as bidirectional overrides and zero-width spaces, which only serve to disguise what a text
says. The zero-width joiner and non-joiner are kept: emoji sequences and several scripts need
them. Single-line text has its whitespace collapsed to single spaces; multi-line text keeps its
line breaks (normalised to "\\n") and tabs, and is trimmed.
"""

from __future__ import annotations

import unicodedata

_JOINERS = frozenset("\u200c\u200d")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_LINE_BREAKS = frozenset("\n\t")
# Collapsed in single-line text, like spaces.
_ORDINARY_WHITESPACE = frozenset("\t\n\r")


def _refused(char: str) -> bool:
    category = unicodedata.category(char)
    return category in _REFUSED_CATEGORIES or (category == "Cf" and char not in _JOINERS)


# The refused ASCII characters (the C0 controls and DEL), for the common all-ASCII text.
_REFUSED_ASCII = frozenset(chr(code) for code in range(128) if _refused(chr(code)))


def has_refused_characters(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    # The same verdict as checking every character, faster: each distinct character once (a
    # long description holds few), and plain ASCII text with set operations alone.
    chars = set(text)
    if text.isascii():
        return not (chars & _REFUSED_ASCII) <= allowed
    return any(char not in allowed and _refused(char) for char in chars)


def clean_line(raw: str, max_length: int) -> str | None:
    """One line of 1 to `max_length` characters, whitespace collapsed; None if refused."""
    if has_refused_characters(raw, _ORDINARY_WHITESPACE):
        return None
    text = " ".join(raw.split())
    return text if text and len(text) <= max_length else None


def clean_multiline(raw: str, max_length: int) -> str | None:
    """Free text of at most `max_length` characters (may be empty), line breaks normalised to
    "\\n" and kept, trimmed; None if refused."""
    # Checked before trimming: strip() would silently drop some refused characters at the ends.
    if has_refused_characters(raw, _LINE_BREAKS | {"\r"}):
        return None
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text if len(text) <= max_length else None
