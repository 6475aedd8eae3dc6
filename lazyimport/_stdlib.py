"""The standard library's top-level module names (never deferred by `*`)."""
from __future__ import annotations

import os
import sys


def names() -> frozenset[str]:
    """Return the names of the standard library's top-level modules and packages."""
    found = getattr(sys, "stdlib_module_names", None)  # 3.10+
    if found is not None:
        return frozenset(found)
    # 3.9: list the stdlib directories themselves (cheap, done once).
    result = set(sys.builtin_module_names)
    libdir = os.path.dirname(os.__file__)
    for directory in (libdir, os.path.join(libdir, "lib-dynload")):
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            if entry in ("site-packages", "dist-packages") or entry.startswith("."):
                continue
            name = entry.partition(".")[0]
            if name.isidentifier():
                result.add(name)
    return frozenset(result)
