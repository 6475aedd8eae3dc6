"""Item 2: `from a import name` -- what runs, and never a different object than eagerly."""
from __future__ import annotations

import sys

import lazyimport


def test_from_import_of_a_plain_name_runs_the_package(fake):
    fake.write({"pkg/__init__.py": "def helper():\n    return 'h'\n"})
    lazyimport.enable(["pkg"])
    from pkg import helper  # attribute access: unavoidable

    assert fake.runs() == ["pkg"]
    assert helper() == "h"


def test_idiom_that_keeps_it_lazy(fake):
    fake.write({"pkg/__init__.py": "def helper():\n    return 'h'\n"})
    lazyimport.enable(["pkg"])
    import pkg  # the documented idiom: import the module, read the name at use

    def use():
        return pkg.helper()

    assert fake.runs() == []
    assert use() == "h" and fake.runs() == ["pkg"]


def test_from_import_of_a_submodule_does_not_run(fake):
    fake.write({"pkg/__init__.py": "X = 1\n", "pkg/sub.py": "Y = 2\n"})
    lazyimport.enable(["pkg"])
    from pkg import sub

    assert fake.runs() == [] and lazyimport.is_lazy(sub)
    assert sub is sys.modules["pkg.sub"]
    assert sub.Y == 2
    assert fake.runs() == ["pkg", "pkg.sub"]


def test_package_importing_the_submodule_itself_still_lazy(fake):
    fake.write({"pkg/__init__.py": "from . import sub\nfrom .sub import Y\n", "pkg/sub.py": "Y = 2\n"})
    lazyimport.enable(["pkg"])
    from pkg import sub

    assert fake.runs() == []
    assert sub.Y == 2
    assert fake.runs() == ["pkg", "pkg.sub"]
    assert sys.modules["pkg"].sub is sub


def test_reexported_class_under_the_submodule_name(fake):
    # pkg binds `tool` to a class defined in pkg/tool.py: eagerly
    # `from pkg import tool` is the class, so pkg must run.
    files = {
        "pkg/__init__.py": "from .tool import tool\n",
        "pkg/tool.py": "class tool:\n    pass\n",
    }
    fake.write(files)
    eager = fake.run("from pkg import tool; import pkg.tool as t2; print(type(tool).__name__, type(t2).__name__)")
    lazyimport.enable(["pkg"])
    from pkg import tool

    assert isinstance(tool, type) and tool.__name__ == "tool"
    assert eager.stdout.split() == ["type", "type"]


def test_import_as_of_a_rebound_submodule_name_matches_eager(fake):
    files = {
        "pkg/__init__.py": "from .tool import tool\n",
        "pkg/tool.py": "class tool:\n    pass\n",
    }
    fake.write(files)
    lazyimport.enable(["pkg"])
    import pkg.tool as t

    assert isinstance(t, type)  # eager hands back pkg.tool, the class


def test_undecidable_source_runs_the_package(fake):
    # A star import could bind `sub` to anything: decide by running pkg.
    fake.write({
        "pkg/__init__.py": "from .names import *\n",
        "pkg/names.py": "sub = 'a string, not the submodule'\n",
        "pkg/sub.py": "Y = 2\n",
    })
    lazyimport.enable(["pkg"])
    from pkg import sub

    assert sub == "a string, not the submodule"
    assert fake.runs() == ["pkg", "pkg.names"]


def test_missing_name_raises_import_error_like_eager(fake):
    fake.write({"pkg/__init__.py": "X = 1\n"})
    lazyimport.enable(["pkg"])
    try:
        from pkg import nothing_here  # noqa: F401
    except ImportError as exc:
        assert "cannot import name 'nothing_here'" in str(exc)
    else:
        raise AssertionError("expected ImportError")


def test_star_import_runs(fake):
    fake.write({"pkg/__init__.py": "__all__ = ['A']\nA = 1\nB = 2\n"})
    lazyimport.enable(["pkg"])
    namespace: dict[str, object] = {}
    exec("from pkg import *", namespace)
    assert namespace["A"] == 1 and "B" not in namespace
