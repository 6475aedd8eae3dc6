"""Is a module installed, where, and which distribution version -- without importing it.

We often see ``importlib.util.find_spec("a.b")`` used to ask "is a.b installed?";
it imports (runs) package ``a`` first.  Here each component is looked up
through the finders of ``sys.meta_path`` (lazyimport's own finder skipped: it
would record the lookup), a submodule on its parent's
``submodule_search_locations`` (as ``is_available()`` does).  No module body
runs.  A submodule that a package creates only when it runs
(``six.moves``) or a ``__path__`` extended at run time is not seen.

Used by the command line only: it imports importlib.metadata.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Iterable


class Found:
    """Where a module name was found (``installed`` False: nowhere)."""

    __slots__ = ("name", "installed", "origin", "package")

    def __init__(self, name: str, installed: bool, origin: str | None = None, package: bool = False) -> None:
        self.name = name
        self.installed = installed
        self.origin = origin  # file, "built-in", "frozen", or None (namespace package)
        self.package = package

    def __repr__(self) -> str:
        return f"<Found {self.name!r} installed={self.installed} origin={self.origin!r}>"


def find(name: str, first: list[str] | None = None) -> Found:
    """Locate module *name* without running it or any of its parents.

    *first*: directories searched before sys.path (another program's sys.path[0]).
    """
    from importlib.machinery import PathFinder

    from ._available import _find

    top, _, rest = name.partition(".")
    spec = PathFinder.find_spec(top, first) if first else None
    if spec is None:
        spec = _find(top, None)
    prefix = top
    for part in rest.split(".") if rest else ():
        path = None if spec is None else spec.submodule_search_locations
        if not path:
            return Found(name, False)  # the parent is missing, or not a package
        prefix = f"{prefix}.{part}"
        spec = _find(prefix, list(path))
    if spec is None:
        return Found(name, False)
    origin = spec.origin if isinstance(spec.origin, str) else None
    return Found(name, True, origin, spec.submodule_search_locations is not None)


def _metadata() -> Any:
    """Return importlib.metadata with packages_distributions() (the backport on 3.9), or None."""
    if sys.version_info >= (3, 10):
        from importlib import metadata

        return metadata
    try:
        import importlib_metadata as backport  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return backport


class Versions:
    """Distribution name and version of top-level import names (``PIL`` -> Pillow 11.0)."""

    def __init__(self) -> None:
        self.metadata = _metadata()
        self._ours: dict[str, list[str]] | None = None
        self._dirs: dict[str, dict[str, tuple[str, str]]] = {}

    def lookup(self, name: str, origin: str | None = None) -> tuple[str | None, str | None]:
        """Return (distribution, version) of the package that provides *name*, or Nones.

        Given the module's *origin* (its file), the distribution is looked for in
        the directory that holds the top-level package: that is right even for
        another process's environment (``status --pid``).
        """
        if self.metadata is None:
            return None, None
        top = name.partition(".")[0]
        site = _site_dir(top, origin)
        if site is not None:
            found = self._in_dir(site).get(top)
            if found is not None:
                return found
        if origin is not None and site is not None and site not in _our_path():
            return None, None  # another environment, and no metadata there for it
        if self._ours is None:
            try:
                self._ours = dict(self.metadata.packages_distributions())
            except Exception:
                self._ours = {}
        for dist in self._ours.get(top, ()):
            try:
                return dist, self.metadata.version(dist)
            except Exception:
                continue
        return None, None

    def _in_dir(self, directory: str) -> dict[str, tuple[str, str]]:
        cached = self._dirs.get(directory)
        if cached is None:
            cached = self._dirs[directory] = _scan(self.metadata, directory)
        return cached


def _our_path() -> set[str]:
    return {os.path.abspath(p or os.curdir) for p in sys.path}


def _site_dir(top: str, origin: str | None) -> str | None:
    """Return the directory holding top-level module *top*, from a file inside it."""
    if not origin or not os.path.isabs(origin):
        return None
    directory = os.path.dirname(origin)
    if os.path.basename(origin).partition(".")[0] == top:
        return directory  # a top-level module file: .../site-packages/six.py
    while directory != os.path.dirname(directory):
        if os.path.basename(directory) == top:
            return os.path.dirname(directory)  # .../site-packages/torch/nn/__init__.py
        directory = os.path.dirname(directory)
    return None


def _scan(metadata: Any, directory: str) -> dict[str, tuple[str, str]]:
    """Map the top-level names of the distributions installed in *directory*."""
    out: dict[str, tuple[str, str]] = {}
    try:
        dists = list(metadata.distributions(path=[directory]))
    except Exception:
        return out
    for dist in dists:
        try:
            name = dist.metadata["Name"]
            version = dist.version
            tops = _tops(dist)
        except Exception:
            continue
        for top in tops:
            out.setdefault(top, (name, version))
    return out


def _tops(dist: Any) -> Iterable[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.split() if line.strip()]
    names = set()
    for path in dist.files or ():
        first = str(path).replace("\\", "/").split("/")[0]
        if first.endswith(".py"):
            names.add(first[:-3])
        elif "." not in first and first != "__pycache__":
            names.add(first)
        elif first.endswith((".so", ".pyd")):
            names.add(first.partition(".")[0])
    return names
