"""The start-up hook: enable lazyimport from the environment at interpreter start.

Run by ``lazyimport.pth`` (and by the shipped ``sitecustomize.py``) only when
LAZYIMPORT or LAZYIMPORT_CONFIG is set.  It must never break interpreter
start: every problem becomes one ``lazyimport:`` line on stderr, and Python
goes on eagerly.
"""
from __future__ import annotations

import os
import sys

_booted = False


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"lazyimport: {message}\n")
    except Exception:
        pass


def boot() -> None:
    """Apply the environment's settings once; report problems, never raise."""
    global _booted
    if _booted:
        return
    _booted = True
    try:
        from . import _api, _config

        _api.warn_with = _say  # at start-up, warnings are single stderr lines too

        settings = _config.resolve()
        for problem in settings.problems:
            _say(f"{problem} (ignored)")
        if settings.enabled:
            apply(settings)
        _api.warn_with = None
    except BaseException as exc:  # noqa: BLE001 - start-up must go on, whatever happened
        if isinstance(exc, KeyboardInterrupt):
            raise
        _say(f"start-up hook failed, continuing without lazy imports: {type(exc).__name__}: {exc}")


def apply(settings: object) -> None:
    from . import _api
    from ._config import Settings
    from ._state import STATE

    assert isinstance(settings, Settings)
    _api.enable(
        settings.names, exclude=settings.exclude, debug=settings.debug or None,
        eager=settings.eager, prefetch=bool(settings.prefetch),
    )
    if settings.publish:
        from . import _publish

        try:
            path = _publish.start()
        except _publish.PublishError as exc:
            _say(f"LAZYIMPORT_PUBLISH: not publishing: {exc}")
        else:
            STATE.trace(f"publishing status to {path}")
    if settings.report:
        import atexit

        # "{pid}" in the path gives every process of a tree its own report.
        atexit.register(_write_report, settings.report.replace("{pid}", str(os.getpid())))
    if not settings.children:
        # Child processes inherit the environment; LAZYIMPORT_CHILDREN=0 keeps
        # them eager.
        for key in [k for k in os.environ if k.startswith("LAZYIMPORT")]:
            del os.environ[key]


def _write_report(path: str) -> None:
    try:
        from .status import status

        snapshot = status()  # before importing json: json itself may be deferred
        import json

        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(snapshot, f, indent=1, default=str)
        os.replace(tmp, path)
    except Exception as exc:
        _say(f"could not write LAZYIMPORT_REPORT={path!r}: {type(exc).__name__}: {exc}")
