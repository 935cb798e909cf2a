"""Spreadsheet formula injection (OWASP "CSV injection"): the one rule, and its inverse.

A text cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or
a carriage return) is written with a single quote `'` in front, which spreadsheets show as
text. So the import can undo it exactly, a cell that already starts with quotes followed by
one of those characters gets one more quote as well:

    neutralise("=SUM(A1)")  == "'=SUM(A1)"      unneutralise("'=SUM(A1)")  == "=SUM(A1)"
    neutralise("'=x")       == "''=x"           unneutralise("''=x")       == "'=x"
    neutralise("'quoted")   == "'quoted"        unneutralise("'quoted")    == "'quoted"

`unneutralise(neutralise(text)) == text` for every text. Numbers written as numbers (XLSX
numeric cells) are not text and are never touched. The import applies `unneutralise` to every
text cell it reads (it is the identity on cells nobody neutralised, except a cell typed by
hand as `'=…`, which a spreadsheet shows as `=…` too).
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# First characters worth a closer look (the export calls this for every text cell).
_FIRST = frozenset("=+-@\t\r'")


def _needs_quote(text: str) -> bool:
    return text.lstrip("'").startswith(TRIGGERS)


def neutralise(text: str) -> str:
    return "'" + text if text and text[0] in _FIRST and _needs_quote(text) else text


def unneutralise(text: str) -> str:
    return text[1:] if text.startswith("'") and _needs_quote(text) else text
