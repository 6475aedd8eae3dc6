"""Item 1: nothing of a deferred module runs until a real attribute is read."""
from __future__ import annotations

import importlib
import inspect
import sys
import types

import lazyimport

PKG = {
    "pkg/__init__.py": "VALUE = 1\n",
    "pkg/sub/__init__.py": "SUB = 2\n",
    "pkg/sub/leaf.py": "LEAF = 3\n",
    "other.py": "import pkg\nimport pkg.sub\n",
}


def test_plain_import_does_not_run(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg

    assert fake.runs() == []
    assert lazyimport.is_lazy(pkg)
    assert isinstance(pkg, types.ModuleType)
    assert pkg.VALUE == 1
    assert fake.runs() == ["pkg"]
    assert not lazyimport.is_lazy(pkg)


def test_repeated_imports_from_other_modules_do_not_run(fake):
    # gh-127036: CPython reads __spec__ on every import of a cached module.
    fake.write({**PKG, "third.py": "import pkg\nfrom pkg import sub\n"})
    lazyimport.enable(["pkg"])
    import pkg
    import other  # noqa: F401  (imports pkg and pkg.sub again)
    import third  # noqa: F401

    assert fake.runs() == ["other", "third"]
    assert lazyimport.is_lazy(pkg) and lazyimport.is_lazy(sys.modules["pkg.sub"])


def test_submodule_import_forms_do_not_run(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub
    import pkg.sub.leaf as leaf
    from pkg import sub
    from pkg.sub import leaf as leaf2

    again = importlib.import_module("pkg.sub.leaf")
    assert leaf is leaf2 is again is sys.modules["pkg.sub.leaf"]
    assert sub is pkg.sub is sys.modules["pkg.sub"]
    assert fake.runs() == []
    assert all(lazyimport.is_lazy(sys.modules[n]) for n in ("pkg", "pkg.sub", "pkg.sub.leaf"))


def test_identity_dunders_repr_and_isinstance_do_not_run(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg
    import pkg.sub.leaf as leaf

    spec = pkg.__spec__
    assert pkg.__name__ == "pkg" and spec.name == "pkg"
    assert pkg.__loader__ is spec.loader and type(spec.loader).__name__ == "SourceFileLoader"
    assert pkg.__package__ == "pkg"
    assert pkg.__path__ == spec.submodule_search_locations
    assert pkg.__file__.endswith("__init__.py") and leaf.__file__.endswith("leaf.py")
    assert repr(pkg).startswith("<module 'pkg' from ") and repr(leaf).startswith("<module 'pkg.sub.leaf'")
    assert isinstance(pkg, types.ModuleType) and isinstance(leaf, types.ModuleType)
    assert pkg.__class__ is types.ModuleType
    assert fake.runs() == []


def test_introspection_does_not_run(fake):
    # gh-139669, pytorch#185046: inspect walks sys.modules reading __file__.
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub.leaf  # noqa: F401

    for name, module in list(sys.modules.items()):
        getattr(module, "__file__", None)
        getattr(module, "__spec__", None)
    assert inspect.getmodule(test_introspection_does_not_run) is sys.modules[__name__]
    inspect.stack()
    assert inspect.getframeinfo(sys._getframe()).function == "test_introspection_does_not_run"
    hasattr(sys.modules["pkg.sub.leaf"], "__path__")  # "is it a package?" probes
    assert fake.runs() == []


def test_submodule_attribute_of_lazy_parent_stays_lazy(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub

    sub = pkg.sub  # the import system bound it; pkg's body never rebinds it
    assert lazyimport.is_lazy(sub) and fake.runs() == []
    assert sub.SUB == 2
    assert fake.runs() == ["pkg", "pkg.sub"]  # parents first


def test_in_a_fresh_interpreter(fake):
    fake.write(PKG)
    proc = fake.run(
        """
        import lazyimport, sys, _lazylog
        lazyimport.enable(["pkg"])
        import pkg, pkg.sub.leaf as leaf, other
        print("before", _lazylog.runs())
        print(leaf.LEAF)
        print("after", _lazylog.runs())
        """
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "before ['other']"
    assert lines[1] == "3"
    assert lines[2] == "after ['other', 'pkg', 'pkg.sub', 'pkg.sub.leaf']"
