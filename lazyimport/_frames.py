"""Finding the frame that asked for an import, past the import machinery."""
import os
import sys
TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import FrameType

OWN_DIR = _OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# importlib/__init__.py (import_module) and importlib/util.py (find_spec) are
# part of the machinery, not importers.
_IMPORTLIB_DIR = os.path.join(os.path.dirname(os.__file__), "importlib") + os.sep
# A thread's bootstrap frames are not an importer: past them there is none
# (the prefetch thread's own imports).
_THREADING = os.path.join(os.path.dirname(os.__file__), "threading.py")
_FIND_SPEC_CODE = sys.modules["_frozen_importlib"]._find_spec.__code__


def _machinery(filename: str) -> bool:
    return (
        filename.startswith("<frozen importlib")
        or filename.startswith(_IMPORTLIB_DIR)
        or filename.startswith(_OWN_DIR)
        or filename == _THREADING
    )


def importer(frame: "FrameType | None") -> "FrameType | None":
    """Return the first frame at or above *frame* that is not import machinery."""
    while frame is not None and _machinery(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def called_by_finder(frame: "FrameType") -> bool:
    """Tell whether *frame* is another meta path finder's find_spec at work.

    A finder ahead of us that delegates through importlib.util.find_spec (wrapt's
    post-import hook finder, ddtrace) wraps the spec we return and expects
    exec_module to run the module: such an import must stay eager.
    """
    back = frame.f_back
    return back is not None and back.f_code is _FIND_SPEC_CODE


def is_runpy(frame: "FrameType") -> bool:
    """Tell whether *frame* is runpy's (a file up to 3.10, frozen from 3.11)."""
    filename = frame.f_code.co_filename
    return filename == "<frozen runpy>" or filename.endswith(os.sep + "runpy.py")


def site(frame: "FrameType | None") -> str:
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def caller_site(depth: int = 1) -> str:
    """Return ``file:line`` of the first non-machinery caller."""
    try:
        frame: FrameType | None = sys._getframe(depth + 1)
    except ValueError:
        return "<unknown>"
    return site(importer(frame))


def module_name_of(frame: "FrameType") -> str:
    """Return the importing module's real name (``__main__`` run by -m has a spec)."""
    g = frame.f_globals
    name = g.get("__name__")
    if name == "__main__":
        spec = g.get("__spec__")
        spec_name = getattr(spec, "name", None)
        if isinstance(spec_name, str):
            return spec_name
    return name if isinstance(name, str) else ""
