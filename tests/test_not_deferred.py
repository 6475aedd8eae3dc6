"""Item 7 and the try/with rule: what is imported eagerly, and the status says why."""
from __future__ import annotations

import sys
import types

import pytest

import lazyimport

_find_spec = sys.modules["_frozen_importlib"]._find_spec


def _reason(name):
    return lazyimport.status()["modules"][name]


def _unimported(candidates, kind):
    import importlib.machinery as machinery

    for name in candidates:
        if name in sys.modules:
            continue
        spec = machinery.PathFinder.find_spec(name) if kind == "ext" else None
        if kind == "builtin" and name in sys.builtin_module_names:
            return name
        if kind == "ext" and spec is not None and str(spec.origin).endswith(".so"):
            return name
    pytest.skip(f"no unimported {kind} module on this build")


def test_builtin_module_is_eager():
    name = _unimported(sorted(sys.builtin_module_names), "builtin")
    lazyimport.enable([name])
    module = __import__(name)
    assert not lazyimport.is_lazy(module)
    assert _reason(name)["status"] == "eager" and "built-in" in _reason(name)["reason"]


def test_frozen_module_is_eager(capsys):
    sys.modules.pop("__hello__", None)
    lazyimport.enable(["__hello__"])
    import __hello__

    assert not lazyimport.is_lazy(__hello__)
    assert _reason("__hello__")["reason"] == "frozen module"


def test_extension_module_is_eager():
    name = _unimported(["_lzma", "_bz2", "_decimal", "mmap", "_csv", "_ctypes", "_sqlite3", "_curses"], "ext")
    lazyimport.enable([name])
    module = __import__(name)
    assert not lazyimport.is_lazy(module)
    assert "C extension" in _reason(name)["reason"]


def test_namespace_package_is_eager_but_its_modules_defer(fake):
    fake.write({"nspkg/mod.py": "X = 1\n"})
    lazyimport.enable(["nspkg"])
    import nspkg.mod

    assert not lazyimport.is_lazy(sys.modules["nspkg"])
    assert "namespace" in _reason("nspkg")["reason"]
    assert lazyimport.is_lazy(nspkg.mod) and fake.runs() == []
    assert nspkg.mod.X == 1


def test_loader_without_exec_module_is_eager():
    class Legacy:
        def find_spec(self, name, path=None, target=None):
            if name == "legacymod":
                return sys.modules["_frozen_importlib"].spec_from_loader(name, self)
            return None

        def load_module(self, name):
            module = sys.modules[name] = types.ModuleType(name)
            module.X = 1
            return module

    sys.meta_path.append(Legacy())
    lazyimport.enable(["legacymod"])
    import warnings

    def unguarded_import():  # an import inside `with` would be eager anyway
        return __import__("legacymod")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # importlib's own ImportWarning about load_module
        module = unguarded_import()
    assert module.X == 1 and not lazyimport.is_lazy(module)
    assert "exec_module" in _reason("legacymod")["reason"]


def test_import_inside_try_except_is_eager(fake):
    fake.write({"opt.py": "X = 1\n", "opt2.py": "X = 2\n", "opt3.py": "X = 3\n"})
    lazyimport.enable(["opt", "opt2", "opt3"])
    try:
        import opt
    except ImportError:
        pass
    import contextlib

    with contextlib.suppress(ImportError):
        import opt2
    import opt3

    assert not lazyimport.is_lazy(opt) and not lazyimport.is_lazy(opt2)
    assert lazyimport.is_lazy(opt3)
    assert "try/with" in _reason("opt")["reason"]


def test_try_finally_without_except_stays_lazy(fake):
    fake.write({"fin.py": "X = 1\n"})
    lazyimport.enable(["fin"])
    try:
        import fin
    finally:
        pass
    assert lazyimport.is_lazy(fin)


def test_already_imported_name_warns_once(fake):
    fake.write({"early.py": "X = 1\n"})
    import early  # noqa: F401

    with pytest.warns(lazyimport.LazyImportWarning, match="'early' was imported before enable"):
        lazyimport.enable(["early"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazyimport.enable(["early"])  # no second warning
    assert lazyimport.status()["packages"]["early"]["status"] == "eager"


def test_star_mode_defers_other_packages_imported_by_a_body(fake):
    # LAZYIMPORT=*: a body's imports of other packages are deferred too (PEP
    # 690's experience); its own package's imports stay ordinary.
    fake.write({
        "apkg/__init__.py": "from . import own\nimport bpkg\nX = 1\n",
        "apkg/own.py": "",
        "bpkg/__init__.py": "Y = 2\n",
    })
    lazyimport.enable(["*"])
    import apkg

    assert apkg.X == 1
    assert fake.runs() == ["apkg", "apkg.own"]
    assert lazyimport.is_lazy(sys.modules["bpkg"])
    assert apkg.bpkg.Y == 2 and fake.runs() == ["apkg", "apkg.own", "bpkg"]


def test_named_mode_keeps_a_body_s_imports_ordinary(fake):
    fake.write({"apkg/__init__.py": "import bpkg\nX = 1\n", "bpkg/__init__.py": "Y = 2\n"})
    lazyimport.enable(["apkg", "bpkg"])
    import apkg

    assert apkg.X == 1 and fake.runs() == ["apkg", "bpkg"]
    assert lazyimport.status()["packages"]["bpkg"]["reason"] == "imported by the body of apkg"
