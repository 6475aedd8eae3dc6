"""The classes a deferred module wears until its body has run.

A deferred module is the real module object (the one the loader created, of
the loader's own class), whose ``__class__`` is temporarily a subclass of that
real class.  The subclass answers the module's identity from what the import
system already put in its namespace, and runs the body on any other use.  Once
the body has run, the real class is put back, so a loaded module costs nothing.
"""
import sys
from _thread import get_ident

from . import finder
from ._state import LOADING, STATE

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any, Callable

else:
    ModuleType = type(sys)  # the types module is not imported at start-up

# _run (running bodies) is imported at the first use of a deferred module, not
# before: deferring costs no more start-up than it must.
_run: "Any" = None


def _runner() -> "Any":
    """Return lazyimport._run, importing it the first time."""
    global _run
    if _run is None:
        from . import _run as run

        _run = run
    return _run


# Read without running the body.  The import system asks for these on every
# import of a cached module (gh-127036: a second `import x` must not load x), and
# introspection walks sys.modules reading them (gh-139669, pytorch#185046:
# inspect.getmodule must not load every lazy module).  importlib has set them
# all (those that apply) before exec_module, so the namespace already holds them.
IDENTITY = frozenset(
    {"__name__", "__spec__", "__loader__", "__package__", "__path__", "__file__", "__cached__"}
)

_lazy_classes: dict[type, type] = {}
_forward_classes: dict[type, type] = {}
_spec_classes: dict[type, type] = {}
SPEC_TYPES: set[type] = set()
# Every class made here, so is_lazy() is one set lookup.
LAZY_TYPES: set[type] = set()


def lazy_class(real: type) -> "type | None":
    """Return the lazy subclass of module class *real*, or None if it cannot have one."""
    cls = _lazy_classes.get(real)
    if cls is None:
        if not isinstance(real, type) or not issubclass(real, ModuleType):
            return None
        cls = _make_lazy_class(real)
        _lazy_classes[real] = cls
        LAZY_TYPES.add(cls)
    return cls


def _make_lazy_class(real: type) -> type:
    # The real class's own slots, called unbound on the module.
    base_get: "Callable[[Any, str], Any]" = getattr(real, "__getattribute__")
    base_set: "Callable[[Any, str, Any], None]" = getattr(real, "__setattr__")
    base_del: "Callable[[Any, str], None]" = getattr(real, "__delattr__")
    base_dir: "Callable[[Any], Any]" = getattr(real, "__dir__")
    base_repr: "Callable[[Any], str]" = getattr(real, "__repr__")
    # ModuleType.__repr__ only reads __spec__/__loader__/__name__/__file__, so a
    # plain module can show its eager repr without running.
    plain_repr = base_repr is getattr(ModuleType, "__repr__")

    def __getattribute__(self: "ModuleType", name: str) -> "Any":
        if name in IDENTITY:
            try:
                return base_get(self, name)
            except AttributeError:
                pass  # not set by the import system; maybe the body sets it
        record = STATE.by_id.get(id(self))
        if record is None:  # state was reset under us (tests): behave as plain
            return base_get(self, name)
        if name == "__class__":
            return record.real_class
        if record.owner == get_ident():
            # The body itself (and the modules it imports) reading the module
            # while it runs -- tens of thousands of reads for torch: answer
            # from the partial namespace without a further Python call.
            try:
                return base_get(self, name)
            except AttributeError:
                pass  # maybe a submodule hidden while the body runs: touch() decides
        return (_run or _runner()).touch(self, record, name, base_get)

    def __setattr__(self: "ModuleType", name: str, value: "Any") -> None:
        # Writes do not run the body.  importlib binds submodules on a lazy
        # parent (see _run._stash_children); any other write made before the
        # body ran is put back after it, since eagerly it would come after.
        record = STATE.by_id.get(id(self))
        if record is not None and record.initial is not None and record.state is not LOADING:
            if sys.modules.get(f"{record.name}.{name}") is not value:
                record.writes[name] = value
        base_set(self, name, value)

    def __delattr__(self: "ModuleType", name: str) -> None:
        record = STATE.by_id.get(id(self))
        if record is not None:
            (_run or _runner()).load(record, "del attribute")
            if type(self) is not cls:
                delattr(self, name)
                return
        base_del(self, name)

    def __dir__(self: "ModuleType") -> list[str]:
        # dir() needs the full namespace; after the load the real class (or the
        # class the body chose) answers, so its own __dir__ is used from the
        # very first call (six.moves, r13).
        record = STATE.by_id.get(id(self))
        if record is not None:
            (_run or _runner()).load(record, "dir()")
            if type(self) is not cls:
                return dir(self)
        return list(base_dir(self))

    def __repr__(self: "ModuleType") -> str:
        if not plain_repr:
            record = STATE.by_id.get(id(self))
            if record is not None:
                (_run or _runner()).load(record, "repr()")
                if type(self) is not cls:
                    return repr(self)
        return base_repr(self)

    namespace = {
        "__slots__": (),
        "__module__": "lazyimport",
        "__qualname__": f"lazy[{real.__qualname__}]",
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__dir__": __dir__,
        "__repr__": __repr__,
    }
    cls = type(real.__name__, (real,), namespace)
    return cls


def forward_class(real: type) -> type:
    """Return the class that makes an old module object speak for its replacement.

    A body may put another object in sys.modules (pygments.lexers, cryptography's
    deprecation wrapper, transformers).  References taken before the load still
    point at the original object; they must see the replacement (r03).
    """
    cls = _forward_classes.get(real)
    if cls is None:
        cls = _make_forward_class(real)
        _forward_classes[real] = cls
        LAZY_TYPES.add(cls)
    return cls


def _replacement(module: "ModuleType") -> "Any":
    return STATE.by_id[id(module)].replacement


def _make_forward_class(real: type) -> type:
    def __getattribute__(self: "ModuleType", name: str) -> "Any":
        return getattr(_replacement(self), name)

    def __setattr__(self: "ModuleType", name: str, value: "Any") -> None:
        setattr(_replacement(self), name, value)

    def __delattr__(self: "ModuleType", name: str) -> None:
        delattr(_replacement(self), name)

    def __dir__(self: "ModuleType") -> list[str]:
        return dir(_replacement(self))

    def __repr__(self: "ModuleType") -> str:
        return repr(_replacement(self))

    namespace = {
        "__slots__": (),
        "__module__": "lazyimport",
        "__qualname__": f"replaced[{real.__qualname__}]",
        "__getattribute__": __getattribute__,
        "__setattr__": __setattr__,
        "__delattr__": __delattr__,
        "__dir__": __dir__,
        "__repr__": __repr__,
    }
    return type(real.__name__, (real,), namespace)


def spec_class(real: type) -> "type | None":
    """Return the subclass of spec class *real* whose ``_initializing`` is a hook.

    CPython reads ``module.__spec__._initializing`` on every import of a module
    that is already in sys.modules.  That read is how we learn that a running
    body imports a module that is still deferred: such an import is an ordinary
    one, so the module must run there and then, in the body's order.
    """
    cls = _spec_classes.get(real)
    if cls is None:
        if "__slots__" in real.__dict__ and "__dict__" not in getattr(real, "__slots__"):
            return None
        cls = type(
            real.__name__,
            (real,),
            {"__module__": real.__module__, "__qualname__": real.__qualname__,
             "_initializing": property(_get_initializing, _set_initializing)},
        )
        _spec_classes[real] = cls
        SPEC_TYPES.add(cls)
    return cls


def _get_initializing(spec: "Any") -> "Any":
    value = spec.__dict__.get("_initializing", False)
    # Cheap tests first: every `import a.b` re-reads a's spec, and only a
    # running body's import (or runpy's) of a deferred module needs _run.
    if not value and (STATE.running or finder.is_runpy(sys._getframe(1))):
        (_run or _runner()).on_import_of_cached(spec)
    return value


def _set_initializing(spec: "Any", value: "Any") -> None:
    spec.__dict__["_initializing"] = value
