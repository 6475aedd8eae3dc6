"""lazy_module() and lazy_attr(): explicit laziness, without configuring a finder.

We often see the following pattern in libraries::

    def embed(text):
        import torch            # deferred by hand, repeated in every function
        ...

With lazyimport the module is imported once, at the top, and stays deferred::

    torch = lazyimport.lazy_module("torch")
    CrossEntropyLoss = lazyimport.lazy_attr("torch.nn:CrossEntropyLoss")
"""
from __future__ import annotations

import sys

from . import _module
from ._state import DEFERRED, STATE, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

_bootstrap = sys.modules["_frozen_importlib"]


def lazy_module(name: str) -> ModuleType:
    """Return module *name*, deferred: the real module object, whose body runs on first use.

    Its parent packages are deferred too.  A later plain ``import`` of the name
    gets this very object.  A module already imported is returned as it is.
    Raises ModuleNotFoundError at once if the module cannot be found.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module  # fast path: already imported (deferred or not)
    from ._api import normalise

    normalise([name])
    parent_name, _, child = name.rpartition(".")
    parent = lazy_module(parent_name) if parent_name else None
    with _bootstrap._ModuleLockManager(name):
        module = sys.modules.get(name)
        if module is None:
            module = _create(name, parent)
    if parent is not None:
        _bind(parent, child, module)
    return module


def _create(name: str, parent: Any) -> ModuleType:
    from ._api import _install
    from .loader import DeferringLoader

    finder = _install()  # passive for this name: it keeps children of deferred packages parents-first
    path = None if parent is None else parent.__path__  # identity: never runs the parent
    spec = finder._real_spec(name, path, None)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    record = Record(name, DEFERRED, None)
    record.site = _caller()
    defer = spec.loader is not None and hasattr(spec.loader, "exec_module")
    if defer:
        spec.loader = DeferringLoader(spec.loader, record, True)
    module = _bootstrap.module_from_spec(spec)
    # As importlib's _load_unlocked: _initializing before the module is visible.
    spec._initializing = True
    try:
        sys.modules[name] = module
        if defer:
            spec.loader.exec_module(module)
        elif spec.loader is not None:  # no exec_module: nothing to defer
            sys.modules[name] = module = spec.loader.load_module(name)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        spec._initializing = False
    STATE.tops.add(name.partition(".")[0])
    result: "ModuleType" = module
    return result


def _bind(parent: Any, child: str, module: Any) -> None:
    if type(parent) in _module.LAZY_TYPES:
        from ._run import _module_dict

        _module_dict(parent).setdefault(child, module)
    elif getattr(parent, child, None) is not module:
        setattr(parent, child, module)


def _caller() -> str:
    from .finder import caller_site

    return caller_site(2)


class LazyAttr:
    """A stand-in for ``module:attribute`` that resolves on first real use.

    Calling it, reading its attributes, isinstance()/issubclass() against it,
    subclassing it, comparing and hashing it all act on the real object.  It is
    not the real object: ``type(x)``, ``x is real`` and pickling the stand-in
    itself differ; ``lazyimport.resolve(x)`` returns the real object.
    """

    __slots__ = ("_lazyimport_target", "_lazyimport_value")

    def __init__(self, module: str, attribute: str) -> None:
        object.__setattr__(self, "_lazyimport_target", (module, attribute))

    def _lazyimport_resolve(self) -> Any:
        try:
            return object.__getattribute__(self, "_lazyimport_value")
        except AttributeError:
            pass
        module_name, attribute = object.__getattribute__(self, "_lazyimport_target")
        module = __import__(module_name, fromlist=["__name__"])
        try:
            value = getattr(module, attribute)
        except AttributeError:
            raise ImportError(f"cannot import name {attribute!r} from {module_name!r}", name=module_name) from None
        object.__setattr__(self, "_lazyimport_value", value)
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lazyimport_resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._lazyimport_resolve(), name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._lazyimport_resolve()(*args, **kwargs)

    def __instancecheck__(self, obj: Any) -> bool:
        return isinstance(obj, self._lazyimport_resolve())

    def __subclasscheck__(self, cls: Any) -> bool:
        return issubclass(cls, self._lazyimport_resolve())

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[Any, ...]:
        return (self._lazyimport_resolve(),)  # `class Loss(CrossEntropyLoss):`

    def __getitem__(self, key: Any) -> Any:
        return self._lazyimport_resolve()[key]

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, LazyAttr):
            other = other._lazyimport_resolve()
        return bool(self._lazyimport_resolve() == other)

    def __hash__(self) -> int:
        return hash(self._lazyimport_resolve())

    def __str__(self) -> str:
        return str(self._lazyimport_resolve())

    def __repr__(self) -> str:
        try:
            return repr(object.__getattribute__(self, "_lazyimport_value"))
        except AttributeError:
            module_name, attribute = object.__getattribute__(self, "_lazyimport_target")
            return f"<lazy attribute {module_name}:{attribute}>"

    def __dir__(self) -> list[str]:
        return dir(self._lazyimport_resolve())

    def __reduce__(self) -> Any:
        return (getattr, (lazy_module(self._lazyimport_target[0]), self._lazyimport_target[1]))


def lazy_attr(target: str, attribute: str | None = None) -> Any:
    """Return a stand-in for ``module.attribute`` (``"module:attribute"`` or two arguments)."""
    if attribute is None:
        module_name, sep, attribute = target.partition(":")
        if not sep:
            module_name, _, attribute = target.rpartition(".")
    else:
        module_name = target
    if not module_name or not attribute or not attribute.isidentifier():
        raise ValueError(f"expected 'module:attribute' or (module, attribute), got {target!r}, {attribute!r}")
    from ._api import normalise

    normalise([module_name])
    lazy_module(module_name)  # fails now if the module does not exist; defers it otherwise
    return LazyAttr(module_name, attribute)


def resolve(obj: Any) -> Any:
    """Return the real object behind a lazy_attr() stand-in (anything else unchanged)."""
    if isinstance(obj, LazyAttr):
        return obj._lazyimport_resolve()
    return obj
