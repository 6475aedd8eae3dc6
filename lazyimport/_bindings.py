"""Which names a package's ``__init__`` binds, read from its source without running it.

`from a import b` and `import a.b as c` read attribute ``b`` of package ``a``.
When ``b`` is a submodule, eager Python hands back the submodule -- unless a's
body binds ``b`` to something else (a class re-exported under its module's
name).  The source answers that: a name is *explicit* when some statement could
bind it to anything but the submodule; the source is *opaque* when it can bind
names we cannot see (star imports, globals()/setattr/__dict__ writes, sys.modules
tricks, a module __getattr__).

Parsing a large ``__init__`` costs milliseconds, so results are cached in memory
and on disk (marshal, keyed by path, size and mtime), like bytecode.
"""
from __future__ import annotations

import marshal
import os
import sys

from ._state import Record

TYPE_CHECKING = False  # typing costs ~7 ms to import; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

_VERSION = 1
_memory: dict[str, tuple[frozenset[str], bool] | None] = {}
_OPAQUE_CALLS = frozenset({"globals", "vars", "locals", "setattr", "exec", "eval"})


def allows(record: Record, name: str, strict: bool) -> bool:
    """Tell whether attribute *name* of package *record* is surely its submodule.

    ``strict`` (from-imports of a name not yet bound) also refuses opaque sources.
    """
    found = record.bindings
    if found is None:
        found = record.bindings = _for_spec(record) or False
    if not found:
        return False
    explicit, opaque = found
    return name not in explicit and not (strict and opaque)


def _for_spec(record: Record) -> tuple[frozenset[str], bool] | None:
    origin = getattr(record.spec, "origin", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return None
    if origin in _memory:
        return _memory[origin]
    result = None
    try:
        st = os.stat(origin)
        key = (_VERSION, origin, st.st_size, st.st_mtime_ns)
        result = _read_cache(origin, key)
        if result is None:
            with open(origin, "rb") as f:
                source = f.read()
            result = analyse(source, record.name)
            _write_cache(origin, key, result)
    except (OSError, SyntaxError, ValueError):
        result = None
    _memory[origin] = result
    return result


def analyse(source: bytes, package: str) -> tuple[frozenset[str], bool]:
    """Return (explicit names, opaque?) for the ``__init__`` source of *package*."""
    import ast

    tree = ast.parse(source)
    explicit: set[str] = set()
    opaque = False

    def bind(target: ast.AST) -> None:
        nonlocal opaque
        if isinstance(target, ast.Name):
            explicit.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                bind(element)
        elif isinstance(target, ast.Starred):
            bind(target.value)

    def resolve(module: str | None, level: int) -> str | None:
        if level == 0:
            return module
        base = package.rsplit(".", level - 1)[0] if level > 1 else package
        return f"{base}.{module}" if module else base

    def block(statements: list[ast.stmt]) -> None:
        for node in statements:
            statement(node)

    def statement(node: ast.stmt) -> None:
        nonlocal opaque
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            explicit.add(node.name)
            if node.name == "__getattr__" and not isinstance(node, ast.ClassDef):
                opaque = True  # PEP 562: any missing name may resolve to anything
            for inner in ast.walk(node):
                if isinstance(inner, ast.Global):
                    explicit.update(inner.names)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            bind(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            bind(node.target)
            block(node.body)
            block(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars)
            block(node.body)
        elif isinstance(node, (ast.If, ast.While)):
            block(node.body)
            block(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            block(node.body)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                if handler.name:
                    explicit.add(handler.name)
                block(handler.body)
            block(node.orelse)  # type: ignore[attr-defined]
            block(node.finalbody)  # type: ignore[attr-defined]
        elif type(node).__name__ == "Match":
            for case in node.cases:  # type: ignore[attr-defined]
                for inner in ast.walk(case.pattern):
                    for field in ("name", "rest"):
                        value = getattr(inner, field, None)
                        if isinstance(value, str):
                            explicit.add(value)
                block(case.body)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                bind(target)
        elif isinstance(node, ast.Global):
            explicit.update(node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None:
                    explicit.add(alias.name.partition(".")[0])
                elif alias.name != f"{package}.{alias.asname}":  # `import pkg.sub as sub`
                    explicit.add(alias.asname)
        elif isinstance(node, ast.ImportFrom):
            source_module = resolve(node.module, node.level)
            for alias in node.names:
                if alias.name == "*":
                    opaque = True
                    continue
                bound = alias.asname or alias.name
                if source_module == package and bound == alias.name:
                    continue  # `from . import sub`: binds the package's own submodule
                explicit.add(bound)

    block(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr):
            bind(node.target)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _OPAQUE_CALLS:
                opaque = True
        elif isinstance(node, ast.Attribute):
            if node.attr == "__dict__" or (
                node.attr == "modules" and isinstance(node.value, ast.Name) and node.value.id == "sys"
            ):
                opaque = True
    return frozenset(explicit), opaque


def _cache_file(origin: str) -> str | None:
    base = os.environ.get("LAZYIMPORT_CACHE_DIR")
    if base == "":
        return None  # caching switched off
    if base is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "lazyimport")
    import zlib

    tag = zlib.crc32(origin.encode("utf-8", "surrogateescape"))
    stem = os.path.basename(os.path.dirname(origin)) or "pkg"
    return os.path.join(base, f"bindings-{stem}-{tag:08x}-{sys.implementation.cache_tag}.marshal")


def _read_cache(origin: str, key: tuple[Any, ...]) -> tuple[frozenset[str], bool] | None:
    path = _cache_file(origin)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            stored_key, explicit, opaque = marshal.load(f)
    except Exception:  # absent, truncated, or from another version: recompute
        return None
    if stored_key != key:
        return None
    return frozenset(explicit), bool(opaque)


def _write_cache(origin: str, key: tuple[Any, ...], result: tuple[frozenset[str], bool]) -> None:
    path = _cache_file(origin)
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            marshal.dump((key, tuple(sorted(result[0])), result[1]), f)
        os.replace(tmp, path)  # atomic: concurrent processes never read half a file
    except OSError:
        pass  # a read-only home must never break an import
