"""The loader lazyimport puts in front of the real one.

It wraps whatever loader the rest of the import system found (source files,
pytest's assertion rewriter, an editable install's finder, wrapt's chained
loader...), so every hook underneath keeps working, and it forwards the whole
loader protocol (get_code, get_source, get_filename, is_package, get_data,
get_resource_reader, ...) so runpy, pkgutil, importlib.resources and coverage
work on specs that were found but not imported (r06; the stdlib LazyLoader
forwards none of them).
"""
import sys

from . import _module
from ._state import DEFERRED, EAGER, STATE, Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any
else:
    ModuleType = type(sys)  # the types module is not imported at start-up

_module_dict: "Any" = getattr(vars(ModuleType)["__dict__"], "__get__")  # never runs a body


class DeferringLoader:
    """Loader wrapper: defer the module's body (``defer``) or run it now, parents first."""

    __slots__ = ("loader", "record", "defer", "adopted")

    def __init__(self, loader: "Any", record: "Record", defer: bool) -> None:
        self.loader = loader
        self.record = record
        self.defer = defer
        self.adopted: Any = None

    def __getattr__(self, name: str) -> "Any":
        return getattr(self.loader, name)

    def __repr__(self) -> str:
        mode = "deferring" if self.defer else "running"
        return f"<lazyimport {mode} loader for {self.loader!r}>"

    def create_module(self, spec: "Any") -> "Any":
        """Create the module with the real loader (its class is kept)."""
        if not self.defer:
            # An ordinary import of a submodule of a package that is still
            # deferred: the package runs first, as eagerly.  Its body may import
            # this very module; then that object is the module (r01: never two
            # copies of one submodule, never a body run twice).
            _module._runner().ensure_parent(spec.name)
            existing = sys.modules.get(spec.name)
            if existing is not None:
                self.adopted = (existing, getattr(existing, "__spec__", None))
                return existing
            if self.loader is None:
                # No finder knows this submodule, and running its package did
                # not create it either: the import fails as it would eagerly.
                raise ModuleNotFoundError(f"No module named {spec.name!r}", name=spec.name)
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: "ModuleType") -> None:
        """Make the module lazy, or run it now."""
        spec = module.__spec__
        _point_at_real_loader(spec, module, self)
        if self.adopted is not None:
            if self.adopted[1] is not None:
                module.__spec__ = self.adopted[1]  # importlib re-set it to ours
            return
        record = self.record
        record.spec = spec
        record.loader = self.loader
        if STATE.by_id.get(id(module)) is record:
            # importlib.reload() of a module whose body never ran: run it now,
            # in the module object everyone already holds (gh-139686).
            _module._runner().run(record, "importlib.reload()")
            return
        record.module = module
        record.real_class = type(module)
        if self.defer and _make_lazy(module, spec, record):
            return
        STATE.records[record.name] = record
        if record.state is not EAGER:
            record.state = EAGER
            record.reason = record.reason or "could not be deferred"
        _module._runner().run(record, record.reason or "eager")
        record.state = EAGER  # ran to the end; it was never deferred
        STATE.notify(record)


def _point_at_real_loader(spec: "Any", module: "ModuleType", wrapper: "DeferringLoader") -> None:
    # Once the module exists, everything that asks its loader (runpy,
    # importlib.resources, coverage, reload) must talk to the real one.
    if getattr(spec, "loader", None) is wrapper:
        spec.loader = wrapper.loader
    if _module_dict(module).get("__loader__") is wrapper:
        module.__loader__ = wrapper.loader


def _make_lazy(module: "ModuleType", spec: "Any", record: "Record") -> bool:
    """Swap in the lazy classes; False if this module cannot be deferred."""
    real = type(module)
    lazy = _module.lazy_class(real)
    spec_cls = _module.spec_class(type(spec))
    if lazy is None or spec_cls is None:
        record.state = EAGER
        record.reason = f"the loader made a {real.__qualname__}, not a module"
        return False
    initial = dict(module.__dict__)
    try:
        module.__class__ = lazy
        spec.__class__ = spec_cls
    except TypeError as exc:  # exotic layouts refuse __class__ assignment
        module.__class__ = real
        record.state = EAGER
        record.reason = f"its class cannot be swapped ({exc})"
        return False
    record.initial = initial
    name = record.name
    parent_name = name.rpartition(".")[0]
    if parent_name:
        parent = sys.modules.get(parent_name)
        if parent is not None and type(parent) in _module.LAZY_TYPES:
            parent_record = STATE.by_id.get(id(parent))
            if parent_record is not None and parent_record.module is parent:
                record.parent = parent_record
                parent_record.children.append(record)
    STATE.by_id[id(module)] = record
    STATE.by_spec[id(spec)] = record
    STATE.records[name] = record
    STATE.tops.add(name.partition(".")[0])
    record.state = DEFERRED
    STATE.trace(f"deferred {name} (imported at {record.site})")
    STATE.notify(record)
    return True
