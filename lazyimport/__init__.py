"""lazyimport: make heavy imports free at start-up.

    import lazyimport
    lazyimport.enable(["torch", "transformers"])
    import torch          # about a file lookup; torch's code has not run
    torch.tensor([1.0])   # first real use: torch runs now

``import lazyimport`` itself imports nothing heavy (no threading, no rich, no
importlib.util, no importlib.metadata).
"""
from __future__ import annotations

from ._api import LazyImportWarning, disable, enable, is_lazy, prefetch, stop_prefetch, wait
from .status import status

__all__ = [
    "LazyImportWarning", "disable", "enable", "is_lazy", "prefetch", "status", "stop_prefetch", "wait",
]
__version__ = "0.1.0"
