"""status(): what was deferred, what ran, when, how long, and why -- as plain data.

Taking a snapshot never runs a module and is safe while other threads import:
it copies the records and reads only fields lazyimport itself writes (never an
attribute of a module).  It imports nothing.

The snapshot (every value is JSON-serialisable)::

    enabled       bool   lazy imports are on and some name is configured
    version       str    lazyimport's version
    pid           int    os.getpid()
    python        dict   {"version": "3.11.7", "implementation": "cpython",
                          "executable": sys.executable}
    generated_at  float  when the snapshot was taken, Unix time in seconds
    elapsed       float  seconds since the first enable() (the origin of every
                         *_at field below); None before enable()
    progress      dict   over the configured packages that were found:
        total_packages       int    configured, found, and imported or queued for prefetch
        loaded_packages      int    ran (deferred then used, or eager)
        failed_packages      int    their body raised (the next use retries)
        is_loading           bool   some body (any module) is running now
        progress_percentage  float  100 * loaded / total (100.0 when total is 0)
    packages      dict   configured name -> record (below), in configuration order
    modules       dict   every module lazyimport handled -> record, sorted by name
    prefetch      dict   the background prefetcher:
        running   bool   its thread is alive
        current   str    the module it is running now, else None
        queued    list   what it will run next, in order
        done      list   what it ran (loaded or failed), in order

A record::

    status        str    registered | deferred | loading | loaded | failed |
                         eager | missing
    load_time     float  seconds its body ran, nested deferred bodies included
    self_time     float  load_time minus the nested deferred bodies
    error         str    "Type: message" of the last failure, else None
    error_type    str    the exception's class name, else None
    priority      int    1 is the highest (prefetch order); None if not configured
    reason        str    why it was not deferred (eager) or how it was imported
    imported_at   str    "file:line" of the import statement that deferred it
    triggered_by  str    what ran the body ("first use at file:line", "parent of
                         x", "imported by the body of y", "prefetch", ...)
    thread        str    the name of the thread that ran the body
    origin        str    the module's file (spec.origin) once found, else None
    deferred_at   float  seconds after enable() when it was deferred (None if eager)
    started_at    float  seconds after enable() when its body started
    finished_at   float  seconds after enable() when its body ended

Times are None until they happen.
"""
import os
import sys
from time import perf_counter, time

from ._state import EAGER, FAILED, LOADED, LOADING, MISSING, REGISTERED, STATE, Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

_PYTHON = {
    "version": ".".join(str(part) for part in sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "executable": sys.executable,
}


def _since(t: "float | None", origin: "float | None") -> "float | None":
    if t is None or origin is None:
        return None
    return round(t - origin, 6)


def _round(x: "float | None") -> "float | None":
    return None if x is None else round(x, 6)


def _origin(spec: "Any") -> "str | None":
    # A spec is plain data set by a finder; only its `_initializing` is ours.
    origin = getattr(spec, "origin", None)
    return origin if isinstance(origin, str) else None


def describe(record: "Record", origin: "float | None") -> "dict[str, Any]":
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
        "origin": _origin(record.spec),
        "deferred_at": _since(record.created, origin) if record.state != EAGER else None,
        "started_at": _since(record.started, origin),
        "finished_at": _since(record.finished, origin),
    }


def _prefetch_state(prefetcher: "Any") -> "dict[str, Any]":
    if prefetcher is None:
        return {"running": False, "current": None, "queued": [], "done": []}
    thread = prefetcher.thread
    return {
        "running": bool(thread is not None and thread.is_alive()),
        "current": prefetcher.busy,
        "queued": prefetcher.pending(),
        "done": list(prefetcher.done),
    }


def status() -> "dict[str, Any]":
    """Return a snapshot of lazyimport's state (the fields: this module's docstring)."""
    from . import __version__

    st = STATE
    origin = st.enabled_at
    now = perf_counter()
    # One copy of each container, each made by a single C call (no Python code
    # runs meanwhile, so another thread cannot change it half-way); then only
    # the copies are read, and never a module.
    records = dict(st.records)
    configured = list(st.order)
    packages = {name: describe(records[name], origin) for name in configured if name in records}
    prefetch = _prefetch_state(st.prefetcher)
    # Progress counts what is on its way to loading: configured names the app
    # imported, plus those queued for prefetch.  A configured name nobody
    # imports (most of a preset) would otherwise keep it below 100% for good.
    queued = set(prefetch["queued"])
    counted = [
        p for name, p in packages.items()
        if p["status"] != MISSING and (p["status"] != REGISTERED or name in queued)
    ]
    done = sum(1 for p in counted if p["status"] in (LOADED, EAGER))
    failed = sum(1 for p in counted if p["status"] == FAILED)
    total = len(counted)
    return {
        "enabled": st.finder is not None and bool(st.names),
        "prefetch": prefetch,
        "version": __version__,
        "pid": os.getpid(),
        "python": dict(_PYTHON),
        "generated_at": round(time(), 3),
        "elapsed": _since(now, origin),
        "progress": {
            "total_packages": total,
            "loaded_packages": done,
            "failed_packages": failed,
            "is_loading": prefetch["current"] is not None or any(r.state == LOADING for r in records.values()),
            "progress_percentage": round(100.0 * done / total, 2) if total else 100.0,
        },
        "packages": packages,
        "modules": {name: describe(r, origin) for name, r in sorted(records.items())},
    }
