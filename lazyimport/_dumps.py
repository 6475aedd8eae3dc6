"""JSON for status() data without the json module.

The publisher writes from a thread of its own while the app imports; ``json``
may be one of the configured lazy names, and the publisher must never be the
one that runs a deferred module.  status() data is plain (dicts, lists, str,
int, float, bool, None), so a small encoder does.
"""
from __future__ import annotations

from math import isfinite

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any


def dumps(value: Any) -> str:
    """Encode plain data as compact JSON (anything else as its str())."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(value) if isfinite(value) else "null"  # as JSON has no NaN or Infinity
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(str(k))}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return _string(str(value))


def _string(text: str) -> str:
    if '"' not in text and "\\" not in text and text.isprintable():
        return f'"{text}"'  # the common case; isprintable() is False for controls, surrogates
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch < " " or "\ud800" <= ch <= "\udfff":  # controls; lone surrogates
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
