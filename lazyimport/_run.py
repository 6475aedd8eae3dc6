"""Running a deferred module's body: first use, locks, failure, replacement.

Locking: a body runs while its thread holds importlib's own per-module lock
(``_bootstrap._get_module_lock``), the lock an eager import of that module would
hold.  So a thread that imports or touches the module meanwhile waits exactly as
it would for an eager import, and importlib's deadlock detection sees every lock
we take (gh-91351: locks it cannot see are how lazy loaders deadlock).  No other
lock is held while module code runs.
"""
import sys
from _thread import get_ident
from time import perf_counter

from . import _module, finder
from ._state import DEFERRED, FAILED, LOADED, LOADING, STATE, Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Callable
else:
    ModuleType = type(sys)  # the types module is not imported at start-up

_bootstrap = sys.modules["_frozen_importlib"]
_get_module_lock = _bootstrap._get_module_lock
_DeadlockError = _bootstrap._DeadlockError
_HANDLE_FROMLIST = _bootstrap._handle_fromlist.__code__
_FIND_AND_LOAD_UNLOCKED = _bootstrap._find_and_load_unlocked.__code__
# A module's namespace, read without going through its class (never runs a body).
_module_dict: "Callable[[ModuleType], dict[str, Any]]" = getattr(vars(ModuleType)["__dict__"], "__get__")
_MISSING = object()


def touch(module: "ModuleType", record: "Record", name: str, base_get: "Callable[[Any, str], Any]") -> "Any":
    """Answer attribute *name* of a deferred *module*, running its body if needed."""
    state = record.state
    if state is LOADING and record.owner == get_ident():
        return _read_while_running(module, record, name, base_get)
    if state is LOADED:  # the body chose to keep our class; never loop
        return base_get(module, name)
    if name == "__path__":
        # Only reached for a plain module.  The import system's child lookup
        # (`import six.moves`) needs the body to have run, as eagerly; anyone
        # else probing "is it a package?" gets the eager answer for a plain
        # module without running it.  Frames: 0 touch, 1 __getattribute__.
        if sys._getframe(2).f_code is not _FIND_AND_LOAD_UNLOCKED:
            raise AttributeError(f"module {record.name!r} has no attribute '__path__'")
    elif record.spec.submodule_search_locations is not None and name[:2] != "__":
        found = _submodule(module, record, name, base_get)
        if found is not _MISSING:
            return found
    load(record, None)
    if record.state is not LOADED and type(module) in _module.LAZY_TYPES:
        # A concurrent circular import was detected: like _lock_unlock_module,
        # accept the partially initialised module.
        return base_get(module, name)
    return getattr(module, name)


def _submodule(module: "ModuleType", record: "Record", name: str, base_get: "Callable[[Any, str], Any]") -> "Any":
    """Answer a package's submodule attribute without running the package, when safe.

    `import a.b as c` reads a.b, and `from a import b` asks hasattr(a, "b") from
    importlib's _handle_fromlist.  Neither needs a's body when b is (or will be)
    the submodule -- unless a's body binds the name to something else (a class
    re-exported under its module's name), which its source tells us.
    """
    from . import _bindings  # only here: parsing a package's source is rare

    from_import = sys._getframe(3).f_code is _HANDLE_FROMLIST  # 0 here, 1 touch, 2 __getattribute__
    value = _module_dict(module).get(name, _MISSING)
    if value is not _MISSING:
        if sys.modules.get(f"{record.name}.{name}") is value and _bindings.allows(record, name, from_import):
            return value
    elif from_import and _bindings.allows(record, name, strict=True):
        # hasattr() -> False: importlib then imports `a.b` itself, through our
        # finder, so b is deferred too; if there is no such submodule, the
        # attribute read that follows runs a, as eagerly.
        raise AttributeError(name)
    return _MISSING


def _read_while_running(
    module: "ModuleType", record: "Record", name: str, base_get: "Callable[[Any, str], Any]"
) -> "Any":
    # The body reads its own module (gh-117178: json's submodules read the
    # package mid-import): answer from the partial namespace, as eagerly.
    try:
        return base_get(module, name)
    except AttributeError:
        child = record.stashed.get(name) if record.stashed else None
        if child is None:
            raise
    # A submodule someone deferred before this package ran, asked for by name
    # (`from . import child`, `import pkg.child; pkg.child.x`): an ordinary
    # import made by the body, so the submodule runs now, in the body's order.
    load(child, f"imported by the body of {record.name}")
    return base_get(module, name) if name in _module_dict(module) else child.module


def on_import_of_cached(spec: "Any") -> None:
    """React to an import of a module already in sys.modules (spec hook).

    An import made by a running body is an ordinary import: if it names a
    module that is still deferred, that module runs now, where the eager
    import would have run it.
    """
    record = STATE.by_spec.get(id(spec))
    if record is None or (record.state is not DEFERRED and record.state is not FAILED):
        return
    # Frames: 0 here, 1 the spec's _initializing getter, 2 whoever read it.
    # module_getattro reads it too, to word the AttributeError of a missing
    # attribute ("partially initialized module ..."): when lazyimport's own
    # lookup of a deferred module's attribute fails (hasattr(m, "__path__")
    # probes), that is no import.
    if sys._getframe(2).f_code.co_filename.startswith(finder.OWN_DIR):
        return
    running = STATE.running.get(get_ident())
    if running:
        # With `*`, a body's import of another package's deferred module is
        # itself deferred (see finder), so it does not run that module.
        if not STATE.everything or record.name.partition(".")[0] == running[-1].name.partition(".")[0]:
            load(record, f"imported by the body of {running[-1].name}")
        return
    frame = finder.importer(sys._getframe(1))
    if frame is not None and finder.is_runpy(frame):
        # `python -m pkg.tool` after pkg was deferred: runpy imports the package
        # to run its submodule, and eagerly the package has run by then.
        load(record, "imported by runpy (python -m)")


def ensure_parent(name: str) -> None:
    """Run the deferred package above *name*, if any, before *name* itself runs."""
    parent_name = name.rpartition(".")[0]
    if not parent_name:
        return
    parent = sys.modules.get(parent_name)
    if parent is not None and type(parent) in _module.LAZY_TYPES:
        record = STATE.by_id.get(id(parent))
        if record is not None and (record.state is DEFERRED or record.state is FAILED):
            load(record, f"parent of {name}")


def load(record: "Record", trigger: "str | None") -> None:
    """Run *record*'s body unless it ran; return once it has (or cannot yet)."""
    state = record.state
    if state is LOADED or (state is LOADING and record.owner == get_ident()):
        return
    if record.raise_next:
        _raise_background_failure(record)
    if trigger is None:
        trigger = "first use at " + finder.caller_site(2)
    parent = record.parent
    # Parents run before children (an eager `import a.b` runs a first).  A
    # parent that another thread is running is not waited for: eagerly, a
    # package's submodules are importable while it initialises.
    if parent is not None and (parent.state is DEFERRED or parent.state is FAILED):
        load(parent, f"parent of {record.name}")
    lock = _get_module_lock(record.name)
    try:
        lock.acquire()
    except _DeadlockError:
        return  # concurrent circular import: the caller accepts the partial module
    try:
        if record.state is LOADED or (record.state is LOADING and record.owner == get_ident()):
            return
        if record.raise_next:
            _raise_background_failure(record)
        if record.state is FAILED and not _prepare_retry(record):
            return
        run(record, trigger)
    finally:
        lock.release()


def run(record: "Record", trigger: str) -> None:
    """Execute the body now; the caller holds the module's import lock."""
    module = record.module
    spec = record.spec
    me = get_ident()
    record.state = LOADING
    record.owner = me
    record.trigger = trigger
    record.thread = _thread_name()
    record.error = record.exception = None
    stack = STATE.running.setdefault(me, [])
    stack.append(record)
    STATE.trace(f"running {record.name} ({trigger})")
    STATE.notify(record)
    # While the body runs, another thread's `import x` must wait for it: the
    # import fast path (import.c) only waits when __spec__._initializing is set.
    _stash_children(record)
    _hide_writes(record)
    was_initializing = getattr(spec, "__dict__", {}).get("_initializing", False)
    spec._initializing = True
    deferred = type(module) in _module.LAZY_TYPES
    start = record.started = perf_counter()
    try:
        record.loader.exec_module(module)
    except BaseException as exc:
        _end(record, stack, me, start)
        spec._initializing = was_initializing
        _unstash_children(record)
        raised = _fail(record, exc, deferred)
        if raised is exc:
            raise  # unchanged: same type, message and traceback as eagerly
        raise raised from exc
    _end(record, stack, me, start)
    spec._initializing = was_initializing
    _finish(record)


def _end(record: "Record", stack: "list[Record]", me: int, start: float) -> None:
    end = record.finished = perf_counter()
    record.wall = end - start
    stack.pop()
    if stack:
        stack[-1].nested += record.wall  # the enclosing body's self time excludes ours
    else:
        STATE.running.pop(me, None)


def _finish(record: "Record") -> None:
    module = record.module
    assert module is not None
    name = record.name
    spec = record.spec
    STATE.by_spec.pop(id(spec), None)
    if type(spec) in _module.SPEC_TYPES:
        spec.__class__ = type(spec).__mro__[1]
    final = sys.modules.get(name)
    lazy = _module.lazy_class(record.real_class) if record.real_class else None
    # Before the class goes back (other threads then read without us): the
    # submodules hidden while the body ran are bound again, and writes made
    # before the body ran come after it, as eagerly.
    _unstash_children(record)
    _bind_in_running_parent(record)
    _reapply_writes(record, final if final is not None else module)
    if final is not None and final is not module and type(module) is lazy and lazy is not None:
        # The body put another object in sys.modules (pygments.lexers,
        # cryptography's deprecation wrapper): old references must see it, and
        # the parent's attribute is that object, as _find_and_load_unlocked does.
        record.replacement = final
        module.__class__ = _module.forward_class(lazy.__mro__[1])
        _bind_on_parent(name, final)
    else:
        if type(module) is lazy and lazy is not None:  # unless the body set its own __class__ (gh-117182)
            module.__class__ = lazy.__mro__[1]
        STATE.by_id.pop(id(module), None)
    record.initial = None
    record.owner = None
    record.state = LOADED  # last: other threads test it without the lock
    STATE.trace(f"loaded {name} in {record.wall:.4f}s")
    STATE.notify(record)


def _hide_writes(record: "Record") -> None:
    # The body must start from the namespace importlib made, as eagerly.
    if record.writes and record.initial is not None and record.module is not None:
        namespace = _module_dict(record.module)
        for name in record.writes:
            if name in record.initial:
                namespace[name] = record.initial[name]
            else:
                namespace.pop(name, None)


def _reapply_writes(record: "Record", namespace: "Any") -> None:
    writes, record.writes = record.writes, {}
    for name, value in writes.items():
        try:
            if isinstance(namespace, ModuleType):
                _module_dict(namespace)[name] = value
            else:
                setattr(namespace, name, value)
        except Exception:
            pass


def _stash_children(record: "Record") -> None:
    # importlib bound the submodules deferred before this package ran on it
    # (setattr after each child import).  Eagerly they would not be there yet:
    # a body that walks its own namespace (torch's `dir(torch)` loop, trio's
    # fixup_module_metadata, r11) must not find, and so run, them early.
    assert record.module is not None
    namespace = _module_dict(record.module)
    stashed = {}
    for child in record.children:
        short = child.name.rpartition(".")[2]
        if child.state is DEFERRED and namespace.get(short) is child.module:
            del namespace[short]
            stashed[short] = child
    record.stashed = stashed or None


def _unstash_children(record: "Record") -> None:
    # After the body: importlib binds a submodule on its package once the
    # package ran, unless the body imported it itself (then the body's own
    # binding, whatever it is, stands).
    stashed, record.stashed = record.stashed, None
    if not stashed:
        return
    namespace = sys.modules.get(record.name)
    if namespace is None:
        namespace = record.module
    for short, child in list(stashed.items()):  # a child thread may pop meanwhile
        if child.state is DEFERRED or not _has(namespace, short):
            _bind_on_parent(child.name, child.module, namespace)


def _bind_in_running_parent(record: "Record") -> None:
    # A stashed submodule that ran during its package's body is bound at once,
    # as importlib does right after importing a submodule.
    parent = record.parent
    stashed = None if parent is None else parent.stashed  # read once: the parent's thread may clear it
    short = record.name.rpartition(".")[2]
    if parent is not None and parent.module is not None and stashed is not None and stashed.get(short) is record:
        stashed.pop(short, None)
        namespace = _module_dict(parent.module)
        if short not in namespace:
            namespace[short] = record.module if record.replacement is None else record.replacement


def _has(namespace: "Any", name: str) -> bool:
    if isinstance(namespace, ModuleType):
        return name in _module_dict(namespace)
    return hasattr(namespace, name)


def _bind_on_parent(name: str, value: "Any", parent: "Any" = None) -> None:
    parent_name, _, child = name.rpartition(".")
    if not parent_name:
        return
    if parent is None:
        parent = sys.modules.get(parent_name)
        if parent is None:
            return
    try:
        if isinstance(parent, ModuleType) and type(parent) in _module.LAZY_TYPES:
            _module_dict(parent)[child] = value
        elif getattr(parent, child, _MISSING) is not value:
            setattr(parent, child, value)
    except Exception:  # importlib only warns when the parent refuses (ImportWarning)
        pass


def _fail(record: "Record", exc: BaseException, deferred: bool) -> BaseException:
    """Record the failure, undo the import as eagerly, and return what to raise."""
    name = record.name
    raised = exc
    if deferred:
        note = (
            f"lazyimport: the body of deferred module {name!r} (imported at {record.site}) "
            f"raised at its {record.trigger}"
        )
        if isinstance(exc, AttributeError):
            # An AttributeError escaping a body at first use would read as "no
            # such attribute": hasattr()/getattr(m, x, None) would swallow a
            # broken import (r12).  Raise it as the import failure it is.
            raised = ImportError(f"deferred module {name!r} failed to import: {type(exc).__name__}: {exc}", name=name)
            raised.__cause__ = exc
        _add_note(raised, note)
    record.state = FAILED
    record.owner = None
    record.exception = raised
    record.error = f"{type(raised).__name__}: {raised}"
    # A failure in the prefetch thread is raised in the app thread that uses
    # the module next (set under the module lock: that thread is waiting on it).
    record.raise_next = bool(record.trigger and record.trigger.startswith("prefetch"))
    # Eagerly, a failed module leaves sys.modules (so the next import retries),
    # its submodules were never imported, and its parent never got the attribute.
    module = record.module
    if sys.modules.get(name) is module:
        del sys.modules[name]
    prefix = name + "."
    for other in list(STATE.records.values()):
        if other.name.startswith(prefix) and other.state is DEFERRED:
            if sys.modules.get(other.name) is other.module:
                del sys.modules[other.name]
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if isinstance(parent, ModuleType) and _module_dict(parent).get(child) is module:
        del _module_dict(parent)[child]
    STATE.trace(f"failed {name}: {record.error}")
    STATE.notify(record)
    return raised


def _add_note(exc: BaseException, note: str) -> None:
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and note in notes:
        return
    try:
        if hasattr(exc, "add_note"):
            exc.add_note(note)  # 3.11+: shown under the traceback
        else:
            setattr(exc, "__notes__", [*(notes or ()), note])  # noqa: B010 -- 3.9/3.10 have no add_note
    except Exception:
        pass


def _prepare_retry(record: "Record") -> bool:
    """Put a failed module back as it was before its body ran; False if superseded."""
    module = record.module
    if module is None or record.initial is None:
        return False
    current = sys.modules.get(record.name)
    if current is not None and current is not module:
        # Imported afresh since the failure: this old object now speaks for it.
        record.replacement = current
        module.__class__ = _module.forward_class(type(module).__mro__[1])
        record.state = LOADED
        return False
    namespace = _module_dict(module)
    namespace.clear()
    namespace.update(record.initial)
    if current is None:
        sys.modules[record.name] = module
        _bind_on_parent(record.name, module)
    return True


def _raise_background_failure(record: "Record") -> None:
    # The body failed in the prefetch thread: the first app thread to use the
    # module gets that very exception (type, message, the body's frames);
    # later uses retry, as a new import would.
    exc = record.exception
    record.raise_next = False
    if exc is not None:
        raise exc


def reset_after_fork(record: "Record") -> None:
    """In a forked child: put back a module whose body a vanished thread was running."""
    module = record.module
    if module is None or record.initial is None:
        return
    namespace = _module_dict(module)
    namespace.clear()
    namespace.update(record.initial)
    record.state = DEFERRED
    record.owner = None
    STATE.running.clear()
    STATE.finding.clear()
    spec = record.spec
    if spec is not None:
        spec._initializing = False
    sys.modules[record.name] = module


def _thread_name() -> str:
    threading = sys.modules.get("threading")
    if threading is None:
        return "MainThread"
    try:
        return str(threading.current_thread().name)
    except Exception:
        return str(get_ident())
