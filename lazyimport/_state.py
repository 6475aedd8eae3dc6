"""All of lazyimport's mutable state, in one object with a reset for tests."""
import sys
from time import perf_counter

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Callable

    from .finder import LazyFinder

# Record states.  Plain strings: they go straight into status() output.
REGISTERED = "registered"  # configured, not imported yet
DEFERRED = "deferred"  # imported; its body has not run
LOADING = "loading"  # its body is running now
LOADED = "loaded"  # its body ran to the end
FAILED = "failed"  # its body raised; the next use retries
EAGER = "eager"  # within the configuration, but imported eagerly (see .reason)
MISSING = "missing"  # configured, but no finder knows it

DEFAULT_PRIORITY = 3


class Record:
    """What lazyimport knows about one module name."""

    __slots__ = (
        "name", "state", "priority", "reason", "spec", "module", "loader",
        "real_class", "initial", "parent", "children", "site", "owner",
        "replacement", "created", "started", "finished", "wall", "nested",
        "thread", "trigger", "error", "exception", "bindings", "stashed", "raise_next",
        "writes",
    )

    def __init__(self, name: str, state: str, priority: "int | None" = None) -> None:
        self.name = name
        self.state = state
        self.priority = priority
        self.reason: str | None = None
        self.spec: Any = None
        self.module: ModuleType | None = None
        self.loader: Any = None  # the real loader, under our wrapper
        self.real_class: type | None = None
        self.initial: dict[str, Any] | None = None  # namespace before the body ran
        self.parent: Record | None = None  # the lazy parent package, if any
        self.children: list[Record] = []
        # While the body runs: submodules deferred before it ran, taken out of
        # its namespace (short name -> Record) so the body sees what it would
        # see eagerly.
        self.stashed: dict[str, Record] | None = None
        # Failed in the background: the next use raises this very exception.
        self.raise_next = False
        # Attributes set on the module before its body ran, re-applied after it.
        self.writes: dict[str, Any] = {}
        self.site: str | None = None  # where the deferred import statement was
        self.owner: int | None = None  # thread running the body
        self.replacement: Any = None  # what the body put in sys.modules instead
        self.created = perf_counter()
        self.started: float | None = None
        self.finished: float | None = None
        self.wall: float | None = None
        self.nested = 0.0  # time spent in nested deferred bodies
        self.thread: str | None = None
        self.trigger: str | None = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.bindings: Any = None  # lazily computed _bindings.Bindings

    def __repr__(self) -> str:
        return f"<Record {self.name!r} {self.state}>"


class State:
    """The single home of every mutable thing lazyimport keeps."""

    finder: "LazyFinder | None"

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """Forget everything (tests); modules already lazy keep working."""
        # Configured names -> priority; `tops` holds their first components
        # so find_spec can bail out with one set lookup.
        self.names: dict[str, int] = {}
        self.tops: set[str] = set()
        self.order: dict[str, int] = {}  # registration order, for stable priorities
        self.excluded: set[str] = set()
        self.records: dict[str, Record] = {}
        # id(module) -> Record, for modules whose class is still ours.
        self.by_id: dict[int, Record] = {}
        # id(spec) -> Record, for the `_initializing` hook on deferred specs.
        self.by_spec: dict[int, Record] = {}
        # thread ident -> stack of Records whose bodies that thread is running.
        self.running: dict[int, list[Record]] = {}
        # thread ident -> names whose find_spec is in progress (re-entrancy).
        self.finding: dict[int, set[str]] = {}
        # `*`: every module outside the standard library (and `stdlib`).
        self.everything = False
        self.stdlib: frozenset[str] = frozenset()
        self.force_eager = False  # LAZYIMPORT_EAGER: go through the motions, defer nothing
        # Honour PEP 810's __lazy_modules__ in importing modules (once enabled).
        self.lazy_modules_attribute = False
        # Names with when_loaded() callbacks: seen by the finder even if not deferred.
        self.hooked: set[str] = set()
        self.callbacks: dict[str, list[Callable[[Any], Any]]] = {}  # when_loaded()
        self.enabled_at: float | None = None
        self.prefetcher: Any = None  # _prefetch.Prefetcher, once prefetch is asked for
        self.finder = None
        self.debug = False
        self.warned: set[str] = set()
        # Called with a Record after each change of its state (publishing,
        # post-load hooks, prefetch progress).  Never with a lock of ours held.
        self.listeners: list[Callable[[Record], None]] = []

    def wants(self, name: str) -> "int | None":
        """Return the priority if *name* falls under the configuration, else None."""
        names = self.names
        probe = name
        while True:
            if probe in self.excluded:
                return None
            prio = names.get(probe)
            if prio is not None:
                return prio
            cut = probe.rfind(".")
            if cut < 0:
                break
            probe = probe[:cut]
        if self.everything and probe not in self.stdlib:
            return self.names.get("*", DEFAULT_PRIORITY)
        return None

    def notify(self, record: "Record") -> None:
        """Tell the listeners that *record* changed; a listener's error never escapes."""
        for listener in list(self.listeners):
            try:
                listener(record)
            except Exception as exc:  # a status consumer must never break an import
                self.trace(f"listener {listener!r} failed: {type(exc).__name__}: {exc}")

    def trace(self, message: str) -> None:
        if self.debug:
            try:
                sys.stderr.write(f"lazyimport: {message}\n")
            except Exception:  # a closed stderr must never break an import
                pass


STATE = State()
