"""enable(), disable(), is_lazy(): switching lazy imports on and off."""
import sys
from _collections_abc import Mapping
from time import perf_counter

from . import _module
from ._state import DEFAULT_PRIORITY, EAGER, LOADED, MISSING, REGISTERED, STATE, Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Union

    Names = Union[str, Iterable[str], Mapping[str, int]]


class LazyImportWarning(UserWarning):
    """Something lazyimport was asked to do could not be done as asked."""


def _imp_lock() -> "Any":
    import _imp

    return _imp


def normalise(names: "Names") -> list[tuple[str, int]]:
    """Validate *names* into (name, priority) pairs; raise before changing anything."""
    if isinstance(names, str):
        names = [names]
    if isinstance(names, Mapping):
        items = list(names.items())
    else:
        try:
            items = [(name, DEFAULT_PRIORITY) for name in names]
        except TypeError:
            raise TypeError(
                f"names must be a module name, an iterable of names or a mapping of "
                f"names to priorities, not {type(names).__name__}"
            ) from None
    for name, priority in items:
        if not isinstance(name, str):
            raise TypeError(f"module name must be a str, not {type(name).__name__}: {name!r}")
        if name != "*" and not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"not a module name: {name!r}")
        if type(priority) is not int:  # bool is an int; a priority of True is a mistake
            raise TypeError(
                f"priority of {name!r} must be an int (1 is the highest), "
                f"not {type(priority).__name__}: {priority!r}"
            )
    return items


warn_with: "Callable[[str], None] | None" = None  # the start-up hook: one stderr line each


def _warn(message: str) -> None:
    if warn_with is not None:
        warn_with(message[len("lazyimport: "):])
        return
    import warnings

    warnings.warn(message, LazyImportWarning, stacklevel=4)


def enable(
    names: "Names" = (), *, exclude: "Iterable[str]" = (), debug: "bool | None" = None,
    eager: "bool | None" = None, prefetch: "bool | str" = False, publish: bool = False,
) -> None:
    """Defer the imports of *names* (and their submodules) until first use.

    *names* is a module name, an iterable of names, or a mapping of names to
    priorities (1 is the highest); ``"*"`` means every module outside the
    standard library.  Calling it again adds names.  A name that was already
    imported cannot be deferred: it warns once and stays eager.  *exclude*
    takes dotted names (``pygments.lexers`` leaves the rest of pygments lazy).
    *eager* (``LAZYIMPORT_EAGER``) keeps the bookkeeping but defers nothing.
    *prefetch* starts the background prefetcher for these names: ``True`` for
    those the app imports, ``"all"`` also for those it never imports.
    *publish* writes the status to a per-user file for ``python -m lazyimport
    status --pid`` (as ``LAZYIMPORT_PUBLISH=1`` does).
    """
    if prefetch not in (False, True, "all"):
        raise ValueError(f"prefetch must be False, True or 'all', not {prefetch!r}")
    items = normalise(names)
    excluded = [name for name, _ in normalise(list(exclude))]
    imp = _imp_lock()
    imp.acquire_lock()
    try:
        st = STATE
        if debug is not None:
            st.debug = debug
        if eager is not None:
            st.force_eager = eager
        if st.enabled_at is None:
            st.enabled_at = perf_counter()
        st.lazy_modules_attribute = True
        for name in excluded:
            st.excluded.add(name)
        for name, priority in items:
            if name == "*":
                _enable_everything(priority)
                continue
            st.excluded.discard(name)
            if name not in st.names:
                st.order[name] = len(st.order)
            st.names[name] = priority
            st.tops.add(name.partition(".")[0])
            if name not in st.records or st.records[name].state is MISSING:
                st.records[name] = Record(name, REGISTERED, priority)
            else:
                st.records[name].priority = priority
        _install()
    finally:
        imp.release_lock()
    for name, _ in items:
        if name != "*":
            _check_not_imported(name)
    if prefetch:
        from . import _prefetch

        _prefetch.get().add([name for name, _ in items], unimported=prefetch == "all")
    if publish:
        from . import _publish

        try:
            _publish.start()
        except _publish.PublishError as exc:  # a diagnostic must never stop the app
            _warn(f"lazyimport: not publishing the status: {exc}")


def _enable_everything(priority: int) -> None:
    from . import _stdlib
    from ._registry import EVERYTHING_EXCLUDES

    st = STATE
    st.everything = True
    st.names["*"] = priority
    if not st.stdlib:
        st.stdlib = _stdlib.names()
    st.excluded.update(EVERYTHING_EXCLUDES)


def _check_not_imported(name: str) -> None:
    """Warn (once) about a name imported before enable(): it cannot be deferred.

    Names that are not installed are not checked here: sys.path may still
    change.  An import that finds nothing raises ModuleNotFoundError as usual
    and the name is reported as missing.
    """
    module = sys.modules.get(name)
    record = STATE.records[name]
    if module is not None and type(module) not in _module.LAZY_TYPES and record.state is REGISTERED:
        record.state = EAGER
        record.reason = "imported before lazyimport.enable()"
        if name not in STATE.warned:
            STATE.warned.add(name)
            _warn(f"lazyimport: {name!r} was imported before enable(); it stays eager")


def _install() -> "Any":
    from .finder import LazyFinder

    finder = STATE.finder
    if finder is None:
        finder = STATE.finder = LazyFinder()
    if finder not in sys.meta_path:
        sys.meta_path.insert(0, finder)
    return finder


def prefetch(names: "Iterable[str] | None" = None, *, all: bool = False) -> None:  # noqa: A002
    """Run deferred modules in the background, highest priority (1) first.

    *names* defaults to every configured name.  A configured module the app
    has not imported is prefetched only if it is named here explicitly or
    *all* is true; the others wait until the app imports them.  Starts one
    daemon thread (the first call imports threading).
    """
    from . import _prefetch

    st = STATE
    if names is None:
        chosen = [name for name in st.order if name != "*"]
        if st.everything:
            chosen += [r.name for r in list(st.records.values()) if r.parent is None and r.name not in st.names]
        unimported = all
    else:
        chosen = [name for name, _ in normalise(list(names))]
        for name in chosen:
            if name not in st.names and st.wants(name) is None:
                raise ValueError(f"{name!r} is not configured for lazy import; enable() it first")
        unimported = True
    _prefetch.get().add(chosen, unimported)


def wait(timeout: "float | None" = None) -> bool:
    """Block until every queued prefetch finished; return False on timeout."""
    prefetcher = STATE.prefetcher
    return True if prefetcher is None else bool(prefetcher.wait(timeout))


def stop_prefetch(wait: bool = True, timeout: "float | None" = None) -> bool:  # noqa: A002
    """Stop the prefetcher after the module it is running; True once it stopped."""
    prefetcher = STATE.prefetcher
    return True if prefetcher is None else bool(prefetcher.stop(wait, timeout))


def disable() -> None:
    """Stop deferring new imports; modules already deferred keep working.

    The finder leaves sys.meta_path, unless some deferred package has not run
    yet: then it stays, with nothing configured, only so that the submodules of
    such a package still run after it (parents first).
    """
    stop_prefetch(wait=True, timeout=10.0)
    imp = _imp_lock()
    imp.acquire_lock()
    try:
        st = STATE
        st.names.clear()
        st.order.clear()
        st.everything = False
        st.lazy_modules_attribute = False
        st.tops = {record.name.partition(".")[0] for record in st.records.values() if is_lazy(record.module)}
        st.tops.update(name.partition(".")[0] for name in st.hooked)
        if not st.tops and st.finder is not None:
            try:
                sys.meta_path.remove(st.finder)
            except ValueError:
                pass
    finally:
        imp.release_lock()


def is_lazy(module: "Any") -> bool:
    """Tell whether *module* is deferred: imported, but its body has not run yet."""
    if type(module) not in _module.LAZY_TYPES:
        return False
    record = STATE.by_id.get(id(module))
    return record is not None and record.state is not LOADED
