"""Item 3: on first use, parents run before children, each once, and the result
is the module an eager import would have produced."""
from __future__ import annotations

import importlib
import pickle
import pydoc
import sys
from unittest import mock

import lazyimport

PKG = {
    "pkg/__init__.py": "import sys\nVALUE = 1\ndef func():\n    return 'real'\n",
    "pkg/sub/__init__.py": "from pkg import VALUE\nSUB = VALUE + 1\n",
    "pkg/sub/leaf.py": "class Thing:\n    def __init__(self, n):\n        self.n = n\n",
}

SNAPSHOT = """
import sys, json, pickle, pkg.sub.leaf
pkg = sys.modules['pkg']
leaf = pkg.sub.leaf
def public(m):
    return sorted(k for k in vars(m) if k not in ('__builtins__', '__loader__', '__spec__'))
out = {
    'vars': {n: public(sys.modules[n]) for n in ('pkg', 'pkg.sub', 'pkg.sub.leaf')},
    'dir': dir(pkg.sub),
    'bound': [pkg.sub is sys.modules['pkg.sub'], pkg.sub.leaf is sys.modules['pkg.sub.leaf']],
    'types': [type(sys.modules[n]).__name__ for n in ('pkg', 'pkg.sub', 'pkg.sub.leaf')],
    'pickle': pickle.loads(pickle.dumps(leaf.Thing(5))).n,
    'runs': __import__('_lazylog').runs(),
}
print(json.dumps(out, sort_keys=True))
"""


def test_parents_run_first_each_once(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub.leaf as leaf

    assert leaf.Thing(1).n == 1
    assert fake.runs() == ["pkg", "pkg.sub", "pkg.sub.leaf"]
    import pkg.sub.leaf  # noqa: F811

    pkg.func()
    assert fake.runs() == ["pkg", "pkg.sub", "pkg.sub.leaf"]


def test_result_identical_to_eager_import(fake):
    fake.write(PKG)
    eager = fake.run(SNAPSHOT).stdout
    (fake.root / "runs.log").unlink()
    lazy = fake.run("import lazyimport\nlazyimport.enable(['pkg'])\n" + SNAPSHOT).stdout
    assert lazy == eager


def test_dir_vars_help_after_load(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg

    assert "func" in dir(pkg)  # dir() is a real use: it runs pkg first
    assert vars(pkg)["VALUE"] == 1
    eager = fake.run("import pydoc, pkg; print(pydoc.render_doc(pkg), end='')").stdout
    assert pydoc.render_doc(pkg) == eager


def test_pickle_of_objects_defined_in_a_deferred_module(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub.leaf as leaf

    data = pickle.dumps(leaf.Thing(7))
    assert pickle.loads(data).n == 7


def test_pickle_by_reference_before_any_use(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg.sub.leaf  # noqa: F401

    # Unpickling imports the module and reads the class: that is first use.
    thing = pickle.loads(b"cpkg.sub.leaf\nThing\n.")
    assert thing.__name__ == "Thing"


def test_reload_of_a_module_that_never_ran(fake):
    # gh-139686: reloading an unloaded lazy module failed in the stdlib.
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg

    same = importlib.reload(pkg)
    assert same is pkg and fake.runs() == ["pkg"]
    assert pkg.VALUE == 1 and not lazyimport.is_lazy(pkg)
    importlib.reload(pkg)
    assert fake.runs() == ["pkg", "pkg"]


def test_mock_patch_of_a_deferred_module_attribute(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg

    with mock.patch("pkg.func", return_value="mocked"):
        assert pkg.func() == "mocked"
    assert pkg.func() == "real"
    assert fake.runs() == ["pkg"]


def test_write_before_use_wins_over_the_body_as_eagerly(fake):
    # Eagerly the body runs at import and a later write wins; lazily the write
    # comes first, so it is hidden from the body and put back after it.
    fake.write({"pkg/__init__.py": "SEEN = globals().get('VALUE', 'unset')\nVALUE = 1\n"})
    lazyimport.enable(["pkg"])
    import pkg

    pkg.VALUE = "written before the body ran"
    pkg.EXTRA = "new name"
    assert fake.runs() == []
    assert pkg.SEEN == "unset"  # the body did not see the write
    assert pkg.VALUE == "written before the body ran" and pkg.EXTRA == "new name"


def test_parent_attribute_after_load(fake):
    fake.write({"pkg/__init__.py": "sub = 'the body binds sub'\n", "pkg/sub.py": "Y = 2\n"})
    eager = fake.run("import pkg.sub, sys; print(type(sys.modules['pkg'].sub).__name__)").stdout.strip()
    lazyimport.enable(["pkg"])
    import pkg.sub

    assert type(sys.modules["pkg"].sub).__name__ == eager == "module"
