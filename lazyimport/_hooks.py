"""when_loaded(): run a callback right after a module's body really ran.

We often see optional plugins registered by importing them at start-up
(pillow-avif, pillow-jxl).  That costs the import of PIL up front.  Instead::

    lazyimport.when_loaded("PIL.Image", lambda Image: importlib.import_module("pillow_avif"))

The callback runs when PIL.Image's body has run -- not when a deferred module
object is created -- and at once if it already ran.  A callback that raises is
reported through sys.unraisablehook, never raised into the importing code.
"""
from __future__ import annotations

import sys

from ._state import EAGER, LOADED, STATE, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable



def when_loaded(name: str, callback: Callable[[Any], Any]) -> None:
    """Call ``callback(module)`` once module *name* has run (now, if it already has)."""
    from . import _module
    from ._api import _imp_lock, _install, normalise

    normalise([name])
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}: {callback!r}")
    imp = _imp_lock()
    imp.acquire_lock()
    try:
        module = sys.modules.get(name)
        ran = module is not None and (
            type(module) not in _module.LAZY_TYPES or _replaced_or_loaded(module)
        )
        if not ran:
            STATE.callbacks.setdefault(name, []).append(callback)
            # The finder must see this name even if it is not deferred, so the
            # callback fires after an ordinary import too.
            STATE.hooked.add(name)
            STATE.tops.add(name.partition(".")[0])
            _install()
            if _on_change not in STATE.listeners:
                STATE.listeners.append(_on_change)
    finally:
        imp.release_lock()
    if ran:
        _call(name, callback, sys.modules.get(name))


def _replaced_or_loaded(module: Any) -> bool:
    record = STATE.by_id.get(id(module))
    return record is None or record.state is LOADED


def _on_change(record: Record) -> None:
    if record.state is not LOADED and record.state is not EAGER:
        return
    if record.module is None or record.name not in STATE.callbacks:
        return
    callbacks = STATE.callbacks.pop(record.name, [])
    STATE.hooked.discard(record.name)
    module = sys.modules.get(record.name, record.module)
    for callback in callbacks:
        _call(record.name, callback, module)


def _call(name: str, callback: Callable[[Any], Any], module: Any) -> None:
    try:
        callback(module)
    except Exception as exc:
        _report(name, callback, exc)


class _Unraisable:
    """The argument sys.unraisablehook expects."""

    def __init__(self, exc: BaseException, message: str, obj: Any) -> None:
        self.exc_type = type(exc)
        self.exc_value = exc
        self.exc_traceback = exc.__traceback__
        self.err_msg = message
        self.object = obj


def _report(name: str, callback: Callable[[Any], Any], exc: BaseException) -> None:
    message = f"Exception ignored in lazyimport.when_loaded({name!r}) callback"
    try:
        sys.unraisablehook(_Unraisable(exc, message, callback))  # type: ignore[arg-type]
    except Exception:
        sys.stderr.write(f"lazyimport: {message}: {type(exc).__name__}: {exc}\n")
