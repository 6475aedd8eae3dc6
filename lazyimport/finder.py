"""The meta path finder that makes configured imports lazy."""
import os
import sys
from _thread import get_ident

from . import _module
from ._state import DEFERRED, EAGER, FAILED, MISSING, STATE, Record
from .loader import DeferringLoader

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import CodeType, FrameType
    from typing import Any, Callable

_guarded: "Callable[[CodeType, int], bool] | None" = None  # lazyimport._guard.guarded, on first need
_EXCEPTION_TABLES = sys.version_info >= (3, 11)
_bootstrap = sys.modules["_frozen_importlib"]
_ModuleSpec = _bootstrap.ModuleSpec
# Frames when importlib asks us: 0 find_spec, 1 _find_spec, 2 _find_and_load_unlocked.
_FIND_AND_LOAD_UNLOCKED = _bootstrap._find_and_load_unlocked.__code__


# -- the importing frame: who asked for this import, past the machinery ------

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


def _pending_parent(name: str) -> "Record | None":
    parent_name = name.rpartition(".")[0]
    if parent_name:
        parent = sys.modules.get(parent_name)
        if parent is not None and type(parent) in _module.LAZY_TYPES:
            record = STATE.by_id.get(id(parent))
            if record is not None and (record.state is DEFERRED or record.state is FAILED):
                return record
    return None


def _may_guard(code: "CodeType") -> bool:
    """Cheap test before _guard (and its import): can *code* hold try or with at all?"""
    if _EXCEPTION_TABLES:
        return bool(getattr(code, "co_exceptiontable"))
    raw = code.co_code  # 3.9/3.10: SETUP_FINALLY, SETUP_WITH, SETUP_ASYNC_WITH
    return b"\x7a" in raw or b"\x8f" in raw or b"\x9a" in raw


def _listed_in_lazy_modules(fullname: str) -> "int | None":
    """PEP 810's spelling: the importing module lists *fullname* in ``__lazy_modules__``.

    Python 3.15 defers such imports natively and older Pythons ignore the
    attribute; with lazyimport enabled, 3.9-3.14 defer them too.  A listed
    ``a.b`` also defers its package ``a`` when this module imports it.
    """
    frame = importer(sys._getframe(2))
    if frame is None:
        return None
    listed = frame.f_globals.get("__lazy_modules__")
    if listed is None:
        return None
    try:
        if fullname in listed:
            return STATE.names.get(fullname, 3)
        prefix = fullname + "."
        if any(isinstance(name, str) and name.startswith(prefix) for name in listed):
            return 3
    except Exception:  # any container is allowed; a broken one just does not apply
        return None
    return None


def _other_package(fullname: str, running: "Record") -> bool:
    return fullname.partition(".")[0] != running.name.partition(".")[0]


def _importing() -> bool:
    """Tell whether find_spec was called by an import (not importlib.util.find_spec)."""
    try:
        return sys._getframe(3).f_code is _FIND_AND_LOAD_UNLOCKED  # 0 here, 1 find_spec, 2 _find_spec
    except ValueError:
        return False


class LazyFinder:
    """Find configured modules through the rest of sys.meta_path, and defer them."""

    def find_spec(self, fullname: str, path: "Any" = None, target: "Any" = None) -> "Any":
        """Return the real spec with a deferring loader, or None for names we leave alone."""
        st = STATE
        # Fast path: a set lookup or two for everything we were not asked about.
        top = fullname.partition(".")[0]
        priority: int | None = None
        if top not in st.tops and (not st.everything or top in st.stdlib):
            if not st.lazy_modules_attribute:
                return None
            priority = _listed_in_lazy_modules(fullname)
            if priority is None:
                return None
        me = get_ident()
        finding = st.finding.get(me)
        if finding is not None and fullname in finding:
            return None  # re-entered through a finder that delegates to importlib.util.find_spec
        if priority is None:
            priority = st.wants(fullname)
            if priority is None and st.lazy_modules_attribute:
                priority = _listed_in_lazy_modules(fullname)
        pending_parent = _pending_parent(fullname)
        hooked = fullname in st.hooked
        if priority is None and pending_parent is None and not hooked:
            return None  # excluded, and its package is not deferred
        defer = False
        reason: str | None = None
        where: str | None = None
        if target is not None:
            # importlib.reload() of a module whose body never ran: run it now.
            existing = st.by_id.get(id(target))
            if existing is None:
                return None
            spec = self._real_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = DeferringLoader(spec.loader, existing, False)
            return spec
        running = st.running.get(me)
        if running and not (st.everything and _other_package(fullname, running[-1])):
            # Imports made by a running body are ordinary imports: the package's
            # own order and side effects stay as they are eagerly.  (With `*`,
            # PEP 690's experience, a body's imports of *other* packages are
            # deferred too; its own package's stay ordinary.)
            reason = f"imported by the body of {running[-1].name}"
        elif priority is None:
            reason = "has a when_loaded() hook" if hooked else "excluded"
        elif st.force_eager:
            reason = "LAZYIMPORT_EAGER is set"
        else:
            defer, reason, where = self._decide(fullname, sys._getframe(1))
        if not defer and pending_parent is None and fullname not in st.names and not st.force_eager and not hooked:
            return None  # an ordinary import; nothing to guard or report
        record = Record(fullname, DEFERRED if defer else EAGER, priority)
        record.reason = reason
        record.site = where
        spec = self._real_spec(fullname, path, target)
        if spec is None:
            if fullname in st.names:
                st.records[fullname] = Record(fullname, MISSING, priority)
            if pending_parent is not None and _importing():
                # A real import (not importlib.util.find_spec) of a submodule
                # nobody can find, under a package that has not run: eagerly the
                # package would run first and might create it (six.moves-style),
                # so run it, then fail or hand back what it made.
                return _ModuleSpec(fullname, DeferringLoader(None, record, False))
            return None
        loader = spec.loader
        why_not = _cannot_defer(spec)
        if why_not is not None and defer:
            defer = False
            record.reason = why_not
        if not defer:
            record.state = EAGER
        if loader is None or not hasattr(loader, "exec_module"):
            # A namespace package has no body; a legacy loader's load_module
            # does everything itself: hand importlib the spec untouched.
            st.records[fullname] = record
            return spec
        spec.loader = DeferringLoader(loader, record, defer)
        return spec

    def _decide(self, fullname: str, caller: "Any") -> "tuple[bool, str | None, str]":
        """Decide from the importing frame: (defer?, reason if not, import site)."""
        global _guarded
        frame = importer(caller)
        where = site(frame)
        if frame is None:
            return True, None, where
        if called_by_finder(frame):
            return False, "another import hook ahead of lazyimport runs it", where
        code = frame.f_code
        if is_runpy(frame):
            # `python -m pkg.tool` imports pkg first; eagerly, so the package is
            # initialised before its __main__ runs, as without lazyimport.
            return False, "imported by runpy (python -m)", where
        by = module_name_of(frame)
        if by.partition(".")[0] == fullname.partition(".")[0]:
            # Defer at package boundaries only: a package's imports of its own
            # modules keep their order (r11: trio iterating its own globals).
            return False, f"imported by its own package ({by})", where
        if _may_guard(code):
            if _guarded is None:
                from ._guard import guarded as guard_function

                _guarded = guard_function
            guarded = _guarded(code, frame.f_lasti)
        else:
            guarded = False
        if guarded:
            # PEP 690's rule: inside try/except or with, the import's own
            # ImportError (or other error) must reach that handler now (r07).
            return False, f"imported inside try/with at {where}", where
        return True, None, where

    def _real_spec(self, fullname: str, path: "Any", target: "Any") -> "Any":
        """Ask the finders after us (wrap, don't replace: hooks keep working)."""
        me = get_ident()
        finding = STATE.finding.setdefault(me, set())
        finding.add(fullname)
        try:
            meta_path = sys.meta_path
            start = 0
            for index, finder in enumerate(meta_path):
                if finder is self:
                    start = index + 1
                    break
            for finder in meta_path[start:]:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue  # a legacy finder: importlib asks it after us
                spec = find(fullname, path, target)
                if spec is not None:
                    return spec
            return None
        finally:
            finding.discard(fullname)
            if not finding:
                STATE.finding.pop(me, None)


def _cannot_defer(spec: "Any") -> "str | None":
    """Say why a found module must be imported eagerly, or None if it can wait."""
    loader = spec.loader
    origin = getattr(spec, "origin", None)
    if loader is None:
        return "namespace package (no body to defer)"
    if not hasattr(loader, "exec_module"):
        return "its loader has no exec_module (legacy loader)"
    if origin == "built-in":
        return "built-in module"
    if origin == "frozen" or type(loader).__name__ == "FrozenImporter":
        return "frozen module"
    if type(loader).__name__ == "ExtensionFileLoader" or (
        isinstance(origin, str) and origin.endswith((".so", ".pyd"))
    ):
        # A C extension's init runs in create_module (single-phase init runs
        # everything there): nothing would be deferred.
        return "C extension module (its init runs when it is created)"
    return None
