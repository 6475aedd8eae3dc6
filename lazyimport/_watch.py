"""``status --pid PID [--watch]``: read the status another process publishes."""
from __future__ import annotations

import os
import sys

from . import _publish

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

# Reading outcomes.
LIVE, STALE, ABSENT, DEAD, UNREADABLE = "live", "stale", "absent", "dead", "unreadable"
APPEAR_WAIT = 5.0  # --watch: how long a live process may take to write its first snapshot
POLL = 0.25


def read(pid: int) -> tuple[str, dict[str, Any] | None, str]:
    """Return (outcome, snapshot or None, message) for process *pid*."""
    import json

    directory = _publish.runtime_dir()
    path = _publish.status_path(pid, directory)
    if os.path.isdir(directory):
        try:
            _publish.check_dir(directory, create=False)
        except _publish.PublishError as exc:
            return UNREADABLE, None, str(exc)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        if _publish.alive(pid):
            return ABSENT, None, (
                f"process {pid} does not publish its status (no {path}); start it with "
                "LAZYIMPORT_PUBLISH=1 or lazyimport.enable(..., publish=True)"
            )
        return DEAD, None, f"no process {pid} (and no status file {path})"
    except OSError as exc:
        return UNREADABLE, None, f"cannot read {path}: {exc}"
    try:
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            data = f.read()
        getuid = getattr(os, "getuid", None)
        if getuid is not None and info.st_uid != getuid():
            return UNREADABLE, None, f"{path} is not ours (uid {info.st_uid}); refusing to read it"
        snapshot = json.loads(data.decode("utf-8"))
        if not isinstance(snapshot, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return UNREADABLE, None, f"{path} is not a status file: {exc}"
    token = (snapshot.get("publisher") or {}).get("token")
    if not _publish.alive(pid, token):
        return STALE, snapshot, (
            f"stale: process {pid} is gone but left {path}; this is its last status"
        )
    return LIVE, snapshot, str(path)


def status_of(args: Any) -> int:
    """One reading (or a live view with --watch); return the exit status."""
    from ._cli import NO_PROCESS, OK, _print_json, fail, show
    from ._cli import STALE as STALE_CODE

    if args.watch:
        return _watch(args)
    outcome, snapshot, message = read(args.pid)
    if snapshot is None:
        return fail(message, NO_PROCESS)
    code = STALE_CODE if outcome == STALE else OK
    if args.json:
        _print_json(snapshot)
        if outcome == STALE:
            sys.stderr.write(f"lazyimport: {message}\n")
    else:
        view = _view(snapshot, args, [message] if outcome == STALE else [], live=outcome != STALE)
        show(args, view)
    if code == OK:
        from ._views import exit_code_for

        code = exit_code_for(_rows(snapshot, args))
    return code


def _view(snapshot: dict[str, Any], args: Any, notes: list[str], live: bool = True) -> dict[str, Any]:
    from time import time

    from ._views import snapshot_view

    return snapshot_view(snapshot, modules=args.modules, notes=notes, now=time() if live else None,
                         title=f"lazyimport: process {args.pid}")


def _rows(snapshot: dict[str, Any], args: Any) -> list[dict[str, Any]]:
    records = snapshot.get("modules" if args.modules else "packages") or {}
    return [{"state": rec.get("status")} for rec in records.values()]


def _watch(args: Any) -> int:
    """A live view until the process exits (or Ctrl-C)."""
    from time import monotonic, sleep

    from ._cli import INTERRUPTED, NO_PROCESS, NO_RICH, USAGE, _out, fail
    from ._cli import STALE as STALE_CODE
    from ._views import exit_code_for

    try:
        from rich.live import Live
        from rich.text import Text

        from . import _render

        console = _out(args)
    except ImportError:
        return fail(NO_RICH[len("lazyimport: "):-1], USAGE)
    began = monotonic()
    last: dict[str, Any] | None = None
    code = None
    try:
        with Live(Text(f"waiting for process {args.pid}...", style="dim"), console=console,
                  refresh_per_second=4, transient=False) as live:
            while True:
                outcome, snapshot, message = read(args.pid)
                if snapshot is not None:
                    last = snapshot
                    notes = [message] if outcome == STALE else [f"watching {args.pid} (Ctrl-C to stop)"]
                    live.update(_render.view(_view(snapshot, args, notes, live=outcome != STALE)))
                if outcome == STALE:
                    code = STALE_CODE
                    break
                if outcome in (DEAD, UNREADABLE):
                    break
                if outcome == ABSENT and last is None and monotonic() - began > APPEAR_WAIT:
                    break
                if outcome == ABSENT and last is not None and not _publish.alive(args.pid):
                    break  # removed its file at exit
                sleep(POLL)
            if last is not None and code is None:
                note = f"process {args.pid} exited; its last status:"
                live.update(_render.view(_view(last, args, [note], live=False)))
    except KeyboardInterrupt:
        return INTERRUPTED
    if last is None:
        return fail(message, NO_PROCESS)
    if code is not None:
        return code
    return exit_code_for(_rows(last, args))
