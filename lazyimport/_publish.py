"""Publishing: a process writes its status() to a small file another process can read.

Opt-in (``LAZYIMPORT_PUBLISH=1`` or ``enable(..., publish=True)``).  The file is
``<runtime dir>/<pid>.json`` where the runtime directory is
``$XDG_RUNTIME_DIR/lazyimport`` or else ``/tmp/lazyimport-<uid>``: a directory of
ours, mode 0700, holding files of mode 0600, so no other user can read them.
``python -m lazyimport status --pid PID`` reads it.

Every write replaces the whole file (a temporary file, then os.replace), so a
reader sees an old snapshot or a new one, never half of one.  Writes are done
by a daemon thread, at most one per INTERVAL: a state change only sets an
event, and the thread writes the newest state when it wakes, so the last
change always ends up on disk.  The file is removed at exit.

This module imports threading; nothing imports this module until publishing
is asked for.
"""
from __future__ import annotations

import os
import sys

from ._dumps import dumps
from .status import status

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

    from ._state import Record

INTERVAL = 0.2  # seconds between two writes: at most 5 writes per second


class PublishError(OSError):
    """The status file cannot be published safely (directory not ours, not writable...)."""


def runtime_dir(environ: Any = None) -> str:
    """Return where status files live (the directory may not exist yet)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_RUNTIME_DIR")
    if base and os.path.isabs(base):
        return os.path.join(base, "lazyimport")
    uid = getattr(os, "getuid", None)
    if uid is None:  # Windows: a per-user temporary directory is already private
        import tempfile

        return os.path.join(tempfile.gettempdir(), "lazyimport")
    return os.path.join("/tmp", f"lazyimport-{uid()}")


def status_path(pid: int, directory: str | None = None) -> str:
    """Return the status file of process *pid*."""
    return os.path.join(directory or runtime_dir(), f"{pid}.json")


def check_dir(directory: str, create: bool) -> None:
    """Make sure *directory* is ours and private (0700); create it if asked.

    A directory someone else owns, or a symlink, is refused: they could read
    our files, or swap them.  One of ours that others can enter is tightened.
    """
    if create:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise PublishError(f"cannot create status directory {directory!r}: {exc}") from None
    try:
        info = os.lstat(directory)
    except OSError as exc:
        raise PublishError(f"status directory {directory!r} is not usable: {exc}") from None
    import stat

    if not stat.S_ISDIR(info.st_mode):
        raise PublishError(f"status directory {directory!r} is not a directory (a symlink?)")
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return
    if info.st_uid != getuid():
        raise PublishError(
            f"status directory {directory!r} belongs to uid {info.st_uid}, not to us "
            f"(uid {getuid()}); refusing to use it"
        )
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)


def process_token(pid: int) -> str | None:
    """Return what tells process *pid* from a later one with the same pid (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # Fields after the command name (which may hold spaces and parentheses);
    # the 22nd field, the start time in clock ticks since boot, is index 19.
    fields = data[data.rfind(b")") + 2:].split()
    return fields[19].decode() if len(fields) > 19 else None


class Publisher:
    """The daemon thread that keeps ``<pid>.json`` up to date."""

    def __init__(self, directory: str) -> None:
        import threading

        self.directory = directory
        self.pid = os.getpid()
        self.path = status_path(self.pid, directory)
        self.token = process_token(self.pid)
        self.sequence = 0
        self.closed = False
        self.complained = False
        self.wake = threading.Event()
        self.stopping = threading.Event()
        # Held only around file operations (never while module code runs), so
        # close() cannot remove the file while a write is about to replace it.
        self.io_lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="lazyimport-publisher", daemon=True)

    def changed(self, record: Record | None = None) -> None:
        """STATE listener: note a change; the thread writes it (cheap, never blocks)."""
        self.wake.set()

    def _loop(self) -> None:
        from time import monotonic

        while not self.closed:
            self.wake.wait()
            if self.closed:
                break
            self.wake.clear()  # before the snapshot: a later change wakes us again
            began = monotonic()
            self.write()
            rest = INTERVAL - (monotonic() - began)
            if rest > 0:
                self.stopping.wait(rest)  # the throttle; close() cuts it short

    def write(self) -> None:
        """Write the current snapshot (atomically); report a failure on stderr."""
        if self.closed:
            return
        try:
            self.sequence += 1
            snapshot = status()
            snapshot["publisher"] = {"sequence": self.sequence, "interval": INTERVAL, "token": self.token}
            data = dumps(snapshot).encode("utf-8")
            tmp = os.path.join(self.directory, f".{self.pid}.json.tmp")
            with self.io_lock:
                if self.closed:
                    return
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                fd = os.open(tmp, flags, 0o600)
                try:
                    if hasattr(os, "fchmod"):
                        os.fchmod(fd, 0o600)  # the file may predate us with other bits
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
                os.replace(tmp, self.path)
        except Exception as exc:  # publishing is a diagnostic: never break the program
            if not self.complained:  # once, not five times a second
                self.complained = True
                _say(f"could not publish status to {self.path!r}: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop writing and remove the file (atexit)."""
        if os.getpid() != self.pid:
            # A forked child runs its copy of our atexit handler: the file is
            # the parent's, and the lock may have been copied held.
            return
        from ._state import STATE

        try:
            STATE.listeners.remove(self.changed)
        except ValueError:
            pass
        with self.io_lock:
            self.closed = True
            for path in (self.path, os.path.join(self.directory, f".{self.pid}.json.tmp")):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        # No join: the thread can no longer write, and exit must not wait for it.
        self.stopping.set()
        self.wake.set()


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"lazyimport: {message}\n")
    except Exception:
        pass


def sweep(directory: str) -> None:
    """Remove the files of our processes that died without removing theirs."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        stem = entry[:-5] if entry.endswith(".json") else ""
        if stem.isdigit() and int(stem) != os.getpid() and not alive(int(stem)):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass


def alive(pid: int, token: str | None = None) -> bool:
    """Tell whether process *pid* runs (and, given its *token*, is the same process)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: alive
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return True  # no /proc: os.kill said it exists
    fields = data[data.rfind(b")") + 2:].split()
    if fields and fields[0] == b"Z":
        return False  # a zombie: exited, not yet reaped
    return token is None or len(fields) <= 19 or fields[19].decode() == token


_publisher: Publisher | None = None
_fork_hook = False


def start() -> str:
    """Publish this process's status until it exits; return the file's path.

    Idempotent.  Raise PublishError if the runtime directory is unsafe.
    """
    global _publisher
    if _publisher is not None and _publisher.pid == os.getpid() and not _publisher.closed:
        return _publisher.path
    import atexit

    from ._state import STATE

    directory = runtime_dir()
    check_dir(directory, create=True)
    sweep(directory)  # a few stat calls; files of processes killed before their atexit
    publisher = _publisher = Publisher(directory)
    atexit.register(publisher.close)
    publisher.thread.start()
    STATE.listeners.append(publisher.changed)
    publisher.wake.set()  # the first snapshot
    global _fork_hook
    if not _fork_hook and hasattr(os, "register_at_fork"):
        _fork_hook = True
        os.register_at_fork(after_in_child=_after_fork_in_child)
    return publisher.path


def _after_fork_in_child() -> None:
    # A forked child (gunicorn/multiprocessing workers) has no writer thread,
    # another pid, and the parent's file is not its own.  It publishes under
    # its own pid from its first state change on: not at once, since a child
    # forked only to exec another program (subprocess's preexec_fn runs this
    # hook) must leave no file that would then speak for that program.
    old = _publisher
    if old is None or old.closed:
        return
    from ._state import STATE

    old.closed = True
    try:
        STATE.listeners.remove(old.changed)
    except ValueError:
        pass
    STATE.listeners.append(_start_on_change)


def _start_on_change(record: Record | None = None) -> None:
    from ._state import STATE

    try:
        STATE.listeners.remove(_start_on_change)
    except ValueError:
        return  # another thread got here first
    try:
        start()
    except Exception as exc:
        _say(f"forked child {os.getpid()} does not publish: {type(exc).__name__}: {exc}")


def stop() -> None:
    """Stop publishing and remove the file (tests; atexit does it otherwise)."""
    global _publisher
    if _publisher is not None:
        _publisher.close()
        _publisher = None
