"""Background prefetch: run deferred modules, highest priority first, while the app works.

Nothing here is imported, and no thread exists, until prefetch is asked for
(gh-117983: importing threading early breaks gevent's monkey-patching).

One daemon thread takes the configured modules that are deferred (and, if
asked, the configured ones the app never imported) in (priority, registration)
order and runs each through the same path as a first use: importlib's module
lock, so an app thread that touches a module the prefetcher is running simply
waits for it and gets the complete module.  The queue's own lock is never held
while module code runs.

fork() (multiprocessing, gunicorn --preload) while the thread is inside a body
would leave the child with import locks owned by a thread that does not exist
there, and half-initialised modules (celery-healthcheck#45): a before-fork hook
lets the current module finish, the child starts without the thread.
"""
from __future__ import annotations

import os
import sys
import threading
from time import monotonic

from . import _run
from ._state import DEFERRED, FAILED, REGISTERED, STATE, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable

# How long fork() may wait for the module being prefetched to finish.  Past
# it, the child cleans up what the unfinished body left behind.
FORK_WAIT = 120.0
# An app imports its heavy modules in a burst (`import torch, transformers`):
# let the burst settle before picking, so priorities decide the order rather
# than whichever import came first.  Bounded so a steady trickle never starves.
SETTLE = 0.01  # a deferred import costs ~0.1 ms: a burst is over well within this
MAX_SETTLE = 0.1


class Prefetcher:
    """The queue and the thread; one per process (STATE.prefetcher)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.wanted: dict[str, bool] = {}  # name -> import it ourselves if never imported
        self.thread: threading.Thread | None = None
        self.current: Record | None = None
        self.busy: str | None = None  # picked, maybe not yet imported: wait() must not return
        self.stopping = False
        self.last_deferral = 0.0
        self.pausing = False
        self.done: list[str] = []

    # -- the queue ------------------------------------------------------------
    def add(self, names: Iterable[str], unimported: bool) -> None:
        with self.cond:
            for name in names:
                self.wanted[name] = self.wanted.get(name, False) or unimported
            self.stopping = False
            self.cond.notify_all()
        self._start()

    def _key(self, name: str) -> tuple[int, int]:
        return (STATE.names.get(name, STATE.names.get("*", 3)), STATE.order.get(name, 1 << 30))

    def _next(self) -> tuple[str, Record | None] | None:
        """Pick the best runnable name; call with self.cond held."""
        best: "tuple[str, Record | None] | None" = None
        for name in sorted(self.wanted, key=self._key):
            record = STATE.records.get(name)
            if record is not None and record.state in (DEFERRED, FAILED) and record.module is not None:
                if record.state is FAILED and record.exception is not None:
                    continue  # failed here already: the app will see the error
                best = (name, record)
                break
            if (record is None or record.state is REGISTERED) and self.wanted[name]:
                best = (name, None)
                break
        return best

    def pending(self) -> list[str]:
        with self.cond:
            return [n for n in sorted(self.wanted, key=self._key) if self._runnable(n)]

    def _runnable(self, name: str) -> bool:
        record = STATE.records.get(name)
        if record is None or record.state is REGISTERED:
            return self.wanted[name]
        return record.state is DEFERRED

    # -- the thread -----------------------------------------------------------
    def _start(self) -> None:
        with self.cond:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._loop, name="lazyimport-prefetch", daemon=True)
            self.thread.start()

    def _loop(self) -> None:
        try:
            while True:
                with self.cond:
                    settled = 0.0
                    while True:
                        if self.stopping:
                            return
                        picked = None if self.pausing else self._next()
                        if picked is not None:
                            quiet = monotonic() - self.last_deferral
                            if quiet < SETTLE and settled < MAX_SETTLE:
                                self.cond.wait(SETTLE - quiet)
                                settled += SETTLE - quiet
                                continue
                            break
                        self.cond.notify_all()  # wake wait(): nothing runnable is left
                        self.cond.wait()
                    name, record = picked
                    self.wanted.pop(name, None)
                    self.busy = name
                self._prefetch(name, record)
        except BaseException:
            if not sys.is_finalizing():  # at interpreter exit a daemon thread just stops
                raise
        finally:
            with self.cond:
                self.current = None
                self.busy = None
                self.cond.notify_all()

    def _prefetch(self, name: str, record: Record | None) -> None:
        if record is None:
            record = self._import(name)
            if record is None:
                with self.cond:
                    self.busy = None
                    self.cond.notify_all()
                return
        with self.cond:
            self.current = record
        try:
            _run.load(record, f"prefetch (priority {record.priority})")
        except Exception:  # kept on the record (raise_next): the app thread that uses it gets it
            pass
        finally:
            with self.cond:
                self.current = None
                self.busy = None
                self.done.append(name)
                self.cond.notify_all()

    def _import(self, name: str) -> Record | None:
        """Import a configured module the app never imported (deferred), or None."""
        import importlib

        try:
            module = importlib.import_module(name)
        except Exception as exc:  # missing or broken: the status tells
            STATE.trace(f"prefetch could not import {name}: {type(exc).__name__}: {exc}")
            return None
        record = STATE.by_id.get(id(module))
        return record if record is not None and record.state is DEFERRED else None

    # -- control ---------------------------------------------------------------
    def wait(self, timeout: float | None) -> bool:
        """Block until nothing runnable is queued and nothing runs; True if so."""
        with self.cond:
            return self.cond.wait_for(lambda: self.busy is None and not self._any_runnable(), timeout)

    def _any_runnable(self) -> bool:
        return any(self._runnable(n) for n in self.wanted)

    def stop(self, wait: bool, timeout: float | None) -> bool:
        with self.cond:
            self.stopping = True
            self.wanted.clear()
            self.cond.notify_all()
            thread = self.thread
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- fork ------------------------------------------------------------------
    def before_fork(self) -> None:
        thread = self.thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            return
        with self.cond:
            self.pausing = True
            self.cond.wait_for(lambda: self.busy is None, FORK_WAIT)

    def after_fork_in_parent(self) -> None:
        with self.cond:
            self.pausing = False
            self.cond.notify_all()

    def after_fork_in_child(self) -> None:
        # The thread does not exist here, and its lock may be held: start over.
        unfinished = self.current
        self.cond = threading.Condition()
        self.thread = None
        self.current = None
        self.busy = None
        self.pausing = False
        if unfinished is not None:
            _forget_unfinished(unfinished)


def _forget_unfinished(record: Record) -> None:
    """In a child forked mid-body (FORK_WAIT exceeded): undo what that body left.

    Modules whose import was still in progress in the vanished thread are
    half-initialised; drop them and their locks so the child imports afresh.
    """
    bootstrap = sys.modules["_frozen_importlib"]
    for name, ref in list(bootstrap._module_locks.items()):
        lock = ref()
        if lock is not None and lock.owner is not None and lock.owner != threading.get_ident():
            bootstrap._module_locks.pop(name, None)
            module = sys.modules.get(name)
            spec = getattr(module, "__spec__", None) if module is not None else None
            if getattr(spec, "_initializing", False) and name != record.name:
                del sys.modules[name]
    if record.module is not None and record.initial is not None:
        _run.reset_after_fork(record)


_hooks_registered = False  # process-wide hooks act on whatever STATE.prefetcher is


def get() -> Prefetcher:
    """Return the process's prefetcher, creating it (and its process hooks) once."""
    prefetcher: "Prefetcher | None" = STATE.prefetcher
    if prefetcher is None:
        _register_process_hooks()
        prefetcher = STATE.prefetcher = Prefetcher()
        STATE.listeners.append(_on_change)
    return prefetcher


def _register_process_hooks() -> None:
    global _hooks_registered
    if _hooks_registered:
        return
    _hooks_registered = True
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=lambda: _each(Prefetcher.before_fork),
            after_in_parent=lambda: _each(Prefetcher.after_fork_in_parent),
            after_in_child=lambda: _each(Prefetcher.after_fork_in_child),
        )
    # Stop taking new modules once the interpreter starts to exit.
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(lambda: _each(lambda p: p.stop(False, None)))


def _each(method) -> None:  # type: ignore[no-untyped-def]
    prefetcher = STATE.prefetcher
    if prefetcher is not None:
        method(prefetcher)


def _on_change(record: Record) -> None:
    # A configured module just got deferred: the thread may have work now.
    prefetcher = STATE.prefetcher
    if prefetcher is not None and record.state is DEFERRED and record.name in prefetcher.wanted:
        with prefetcher.cond:
            prefetcher.last_deferral = monotonic()
            prefetcher.cond.notify_all()
