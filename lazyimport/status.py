"""status(): what was deferred, what ran, when, how long, and why -- as plain data.

Taking a snapshot never runs a module and is safe while other threads import:
it copies the records and reads only fields lazyimport itself writes.
"""
from __future__ import annotations


from ._state import EAGER, FAILED, LOADED, LOADING, MISSING, STATE, Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any


def _since(t: float | None, origin: float | None) -> float | None:
    if t is None or origin is None:
        return None
    return round(t - origin, 6)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def describe(record: Record, origin: float | None) -> dict[str, Any]:
    """Return one record as a JSON-serialisable dict."""
    exc = record.exception
    self_time = None if record.wall is None else max(record.wall - record.nested, 0.0)
    return {
        "status": record.state,
        "load_time": _round(record.wall),
        "self_time": _round(self_time),
        "error": record.error,
        "error_type": None if exc is None else type(exc).__name__,
        "priority": record.priority,
        "reason": record.reason,
        "imported_at": record.site,
        "triggered_by": record.trigger,
        "thread": record.thread,
        "deferred_at": _since(record.created, origin) if record.state != EAGER else None,
        "started_at": _since(record.started, origin),
        "finished_at": _since(record.finished, origin),
    }


def status() -> dict[str, Any]:
    """Return a snapshot of lazyimport's state (see the README for the fields)."""
    st = STATE
    origin = st.enabled_at
    records = dict(st.records)  # one atomic copy; never touch a module
    configured = list(st.order)
    packages = {name: describe(records[name], origin) for name in configured if name in records}
    counted = [p for p in packages.values() if p["status"] != MISSING]
    done = sum(1 for p in counted if p["status"] in (LOADED, EAGER))
    failed = sum(1 for p in counted if p["status"] == FAILED)
    total = len(counted)
    return {
        "enabled": st.finder is not None and bool(st.names),
        "progress": {
            "total_packages": total,
            "loaded_packages": done,
            "failed_packages": failed,
            "is_loading": any(r.state == LOADING for r in records.values()),
            "progress_percentage": round(100.0 * done / total, 2) if total else 100.0,
        },
        "packages": packages,
        "modules": {name: describe(r, origin) for name, r in sorted(records.items())},
    }
