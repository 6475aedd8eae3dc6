"""is_available(): can a module be imported?  Found, not imported.

We often see ``importlib.util.find_spec("a.b")`` used to probe for optional
modules; for a dotted name it imports (runs) the parent package ``a``.  This
looks the module up through the import system's finders only: no module body
runs, not even a parent's.
"""
from __future__ import annotations

import sys


def is_available(name: str) -> bool:
    """Tell whether module *name* could be imported, without importing it or its parents."""
    from ._api import normalise

    normalise([name])
    if name in sys.modules:
        return sys.modules[name] is not None
    parent_name, _, _ = name.rpartition(".")
    path = None
    if parent_name:
        parent = sys.modules.get(parent_name)
        if parent is not None:
            path = getattr(parent, "__path__", None)  # a deferred package answers without running
        else:
            spec = _find(parent_name, _parent_path(parent_name))
            path = None if spec is None else spec.submodule_search_locations
        if path is None:
            return False  # the parent is missing, or not a package
    return _find(name, path) is not None


def _parent_path(name: str):  # type: ignore[no-untyped-def]
    grand = name.rpartition(".")[0]
    if not grand:
        return None
    module = sys.modules.get(grand)
    if module is not None:
        return getattr(module, "__path__", None)
    spec = _find(grand, _parent_path(grand))
    return None if spec is None else spec.submodule_search_locations


def _find(name: str, path):  # type: ignore[no-untyped-def]
    from ._state import STATE

    ours = STATE.finder
    for finder in list(sys.meta_path):
        if finder is ours:
            continue  # ours would only wrap what the others find
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, path)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            return spec
    return None
