"""Running the user's program: in this process (``run``) or under -X importtime (``profile``)."""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable

_HERE = os.path.abspath(__file__)


class Target:
    """``script.py args...`` or ``-m module args...``."""

    __slots__ = ("kind", "name", "args")

    def __init__(self, kind: str, name: str, args: list[str]) -> None:
        self.kind = kind  # "path" or "module"
        self.name = name
        self.args = args

    def python_args(self) -> list[str]:
        """The arguments after ``python`` that run it."""
        return (["-m", self.name] if self.kind == "module" else [self.name]) + self.args


def exit_code(code: Any) -> int:
    """Map SystemExit.code to an exit status as the interpreter does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def run_here(target: Target) -> int:
    """Run *target* as ``__main__`` in this process; return its exit status.

    Like ``python script.py``: sys.argv is the script and its arguments,
    sys.path[0] the script's directory (the working directory for -m), a
    SystemExit becomes the status, an uncaught exception goes to
    sys.excepthook and gives 1.
    """
    import runpy

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv[:] = [target.name, *target.args]
    # `python -m lazyimport` put the working directory first on sys.path:
    # `python -m module` keeps it, `python script.py` has the script's
    # directory there instead.
    first = os.path.abspath(sys.path[0] or os.curdir) if sys.path else None
    ours = 1 if first == os.getcwd() else 0
    try:
        if target.kind == "module":
            sys.path[0:ours] = [os.getcwd()]
            if not _findable(target.name):
                sys.stderr.write(f"{sys.executable}: No module named {target.name}\n")  # as python -m
                return 1
            runpy.run_module(target.name, run_name="__main__", alter_sys=True)
        else:
            sys.path[0:ours] = [os.path.dirname(os.path.abspath(target.name))]
            runpy.run_path(target.name, run_name="__main__")
    except SystemExit as exc:
        return exit_code(exc.code)
    except BaseException as exc:  # the program's own error: shown as python shows it
        tb = _user_frames(exc.__traceback__)
        exc.__traceback__ = tb  # the default hook prints the exception's own traceback
        sys.excepthook(type(exc), exc, tb)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        _flush()  # the program's output first, then whatever the caller prints
    return 0


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # closed or replaced by the program: nothing to flush
            pass


def _findable(name: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(name) is not None  # imports the parents of a dotted name, as -m does
    except (ImportError, ValueError):
        return False


def _user_frames(tb: Any) -> Any:
    # Drop our frames and runpy's from the top, as `python script.py` has none.
    while tb is not None and tb.tb_next is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == _HERE or filename.endswith(("runpy.py", "<frozen runpy>")):
            tb = tb.tb_next
        else:
            break
    return tb


def run_importtime(target: Target, env: dict[str, str], on_line: Callable[[str], None]) -> int:
    """Run *target* under ``-X importtime``; feed its stderr lines to *on_line*; return its status.

    stdin and stdout are the program's own: they are inherited, untouched.
    """
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *target.python_args()],
        stderr=subprocess.PIPE, env=env, text=True, errors="replace",
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            on_line(line)
        return proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the program too (same process group): let it finish.
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        return 130
    finally:
        if proc.stderr is not None:
            proc.stderr.close()
