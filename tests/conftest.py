"""Shared fixtures: fake packages that record their own execution, state isolation,
and a fresh-interpreter runner with bounded waits."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import lazyimport
from lazyimport._state import STATE

ROOT = Path(__file__).resolve().parent.parent

# Every fake module body starts with this line: it appends the module's name to
# runs.log next to the package tree, so a test can tell exactly what ran, in
# which order, in this process or a child one.
PRELUDE = "__import__('_lazylog').hit(__name__)\n"
LAZYLOG = """\
import os
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs.log")
def hit(name):
    with open(PATH, "a") as f:
        f.write(name + "\\n")
def runs():
    try:
        with open(PATH) as f:
            return f.read().split()
    except FileNotFoundError:
        return []
"""


class FakePackages:
    """A directory on sys.path holding fake modules written from a dict."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "_lazylog.py").write_text(LAZYLOG)

    def write(self, files: dict[str, str], record: bool = True) -> FakePackages:
        for rel, source in files.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            body = textwrap.dedent(source)
            path.write_text((PRELUDE if record and rel.endswith(".py") else "") + body)
        importlib.invalidate_caches()  # the directory listing cache may predate these files
        return self

    def runs(self) -> list[str]:
        log = self.root / "runs.log"
        return log.read_text().split() if log.exists() else []

    def run(self, code: str, *, env: dict[str, str] | None = None, timeout: float = 60,
            check: bool = True, args: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run *code* in a fresh interpreter with the fake packages importable."""
        return run_python(code, cwd=self.root, env=env, timeout=timeout, check=check, args=args)


def run_python(code: str, *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60,
               check: bool = True, args: list[str] | None = None,
               flags: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT)])
    for key in list(full_env):
        if key.startswith("LAZYIMPORT"):
            del full_env[key]
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, *(flags or []), "-c", textwrap.dedent(code), *(args or [])],
        cwd=str(cwd), env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"child exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakePackages]:
    root = tmp_path / "site"
    root.mkdir()
    sys.path.insert(0, str(root))
    try:
        yield FakePackages(root)
    finally:
        if str(root) in sys.path:
            sys.path.remove(str(root))


@pytest.fixture(autouse=True)
def isolated_import_state() -> Iterator[None]:
    """Snapshot and restore the import system around each test (slice assignment)."""
    modules = dict(sys.modules)
    path = sys.path[:]
    meta_path = sys.meta_path[:]
    path_hooks = sys.path_hooks[:]
    importer_cache = dict(sys.path_importer_cache)
    try:
        yield
    finally:
        lazyimport.disable()
        STATE._reset()
        # lazyimport's own modules stay: dropping one imported during the test
        # would leave the package attribute pointing at a copy nobody else uses.
        own = {n: m for n, m in sys.modules.items() if n == "lazyimport" or n.startswith("lazyimport.")}
        sys.modules.clear()
        sys.modules.update(modules)
        sys.modules.update(own)
        sys.path[:] = path
        sys.meta_path[:] = meta_path
        sys.path_hooks[:] = path_hooks
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(importer_cache)
