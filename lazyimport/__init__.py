"""lazyimport: make heavy imports free at start-up.

    import lazyimport
    lazyimport.enable(["torch", "transformers"])
    import torch          # about a file lookup; torch's code has not run
    torch.tensor([1.0])   # first real use: torch runs now

``import lazyimport`` itself imports nothing heavy (no threading, no rich, no
typing, no importlib.util, no importlib.metadata); the explicit API is loaded
on first access.  The modules on the start-up path do without
``from __future__ import annotations`` (importing __future__ alone costs ~0.1 ms
of every user's start-up): their annotations that need it are strings.
"""
from ._api import LazyImportWarning, disable, enable, is_lazy, prefetch, stop_prefetch, wait
from .status import status  # eager: the submodule's name would shadow a lazy function

__all__ = [
    "LazyImportWarning", "disable", "enable", "is_available", "is_lazy", "lazy_attr",
    "lazy_module", "prefetch", "resolve", "status", "stop_prefetch", "wait", "when_loaded",
]
__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._available import is_available
    from ._explicit import lazy_attr, lazy_module, resolve
    from ._hooks import when_loaded

_LATER = {
    "lazy_module": "_explicit", "lazy_attr": "_explicit", "resolve": "_explicit",
    "when_loaded": "_hooks", "is_available": "_available",
}


def __getattr__(name: str) -> object:
    # PEP 562: the explicit API costs nothing until it is used.
    where = _LATER.get(name)
    if where is None:
        raise AttributeError(f"module 'lazyimport' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LATER))
