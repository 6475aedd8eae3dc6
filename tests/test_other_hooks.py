"""Other import hooks keep working underneath: a source-transforming loader,
pytest's assertion rewriter, an editable install's finder and wrapt's
post-import hooks each still do their part of a deferred import."""
from __future__ import annotations

import importlib.machinery
import importlib.resources
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lazyimport
from lazyimport.finder import LazyFinder

ROOT = Path(__file__).resolve().parent.parent

PKG = {
    "pkg/__init__.py": "WORD = 'ORIGINAL'\nLAST = 'end of pkg'\n",
    "pkg/sub.py": "WORD = 'ORIGINAL'\nLAST = 'end of pkg.sub'\n",
}


def _explain(proc):
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


# -- (a) a loader that transforms source, after ours on sys.meta_path ---------


class RewritingLoader:
    """Compile each module's source with ORIGINAL replaced (as pytest's rewriter does)."""

    def __init__(self):
        self.compiled = []

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        origin = module.__spec__.origin
        with open(origin) as f:
            source = f.read()
        self.compiled.append(module.__name__)
        code = compile(source.replace("ORIGINAL", "REWRITTEN"), origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)


class RewritingFinder:
    """Take over the source modules of one top-level package."""

    def __init__(self, top):
        self.top = top
        self.loader = RewritingLoader()

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] != self.top:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not str(spec.origin).endswith(".py"):
            return None
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=self.loader,
            submodule_search_locations=spec.submodule_search_locations)


@pytest.mark.parametrize("installed", ["before enable", "after enable"])
def test_source_transforming_loader_underneath(fake, installed):
    fake.write(PKG)
    finder = RewritingFinder("pkg")
    if installed == "before enable":
        sys.meta_path.insert(0, finder)
        lazyimport.enable(["pkg"])
    else:
        lazyimport.enable(["pkg"])
        ours = next(i for i, f in enumerate(sys.meta_path) if isinstance(f, LazyFinder))
        sys.meta_path.insert(ours + 1, finder)
    import pkg.sub

    assert lazyimport.is_lazy(pkg) and lazyimport.is_lazy(pkg.sub)
    assert finder.loader.compiled == [] and fake.runs() == []
    assert pkg.sub.WORD == "REWRITTEN"  # first use: the transformed code runs
    assert finder.loader.compiled == ["pkg", "pkg.sub"] == fake.runs()
    assert pkg.WORD == "REWRITTEN"
    for module in (pkg, pkg.sub):
        assert module.__loader__ is module.__spec__.loader is finder.loader
    pkg.sub.LAST
    assert finder.loader.compiled == ["pkg", "pkg.sub"]  # each body ran once


# -- (b) pytest's real assertion rewriting, in a child pytest run -------------

HELPERS = {
    "helpers/__init__.py": "",
    "helpers/checks.py": "def check_total(values, expected):\n    assert sum(values) == expected\n",
}
CONFTEST = """\
import os
import pytest
pytest.register_assert_rewrite("helpers")
if os.environ.get("USE_LAZYIMPORT"):
    import lazyimport
    lazyimport.enable(["helpers"])
"""
SUITE = """\
import json, os, sys
import _lazylog
import helpers.checks

LAZY_AT_IMPORT = "lazyimport" in sys.modules and sys.modules["lazyimport"].is_lazy(helpers.checks)
RUNS_AT_IMPORT = _lazylog.runs()

def test_total():
    helpers.checks.check_total([1, 2, 3], 10)

def test_zz_report():
    with open(os.environ["REPORT"], "w") as f:
        json.dump({
            "lazy_at_import": LAZY_AT_IMPORT,
            "runs_at_import": RUNS_AT_IMPORT,
            "runs": _lazylog.runs(),
            "loader": type(helpers.checks.__loader__).__name__,
        }, f)
"""


def _child_pytest(fake, suite, lazy):
    report = suite / f"report-{lazy}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAZYIMPORT", "PYTEST_", "COVERAGE", "USE_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(fake.root), str(ROOT)]), REPORT=str(report))
    if lazy:
        env["USE_LAZYIMPORT"] = "1"
    proc = subprocess.run(
        # -W error: a helper imported before it could be rewritten fails the run.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={suite}",
         "-W", "error::pytest.PytestAssertRewriteWarning", "test_suite.py"],
        cwd=str(suite), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "1 failed, 1 passed" in proc.stdout, _explain(proc)
    explanation = [line for line in proc.stdout.splitlines() if line.startswith("E ")]
    return explanation, json.loads(report.read_text())


def test_pytest_rewrites_asserts_of_a_deferred_helper(fake, tmp_path):
    fake.write(HELPERS)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text(CONFTEST)
    (suite / "test_suite.py").write_text(SUITE)
    eager_explanation, eager = _child_pytest(fake, suite, lazy=False)
    (fake.root / "runs.log").unlink()
    lazy_explanation, lazy = _child_pytest(fake, suite, lazy=True)

    # The rewritten assertion explains itself (unrewritten, it would only say
    # "AssertionError"), with the same text as eagerly.
    assert any("where 6 = sum([1, 2, 3])" in line for line in lazy_explanation), lazy_explanation
    assert lazy_explanation == eager_explanation
    assert eager["runs_at_import"] == ["helpers", "helpers.checks"]
    assert lazy["lazy_at_import"] and lazy["runs_at_import"] == []
    assert lazy["runs"] == eager["runs"] == ["helpers", "helpers.checks"]
    assert lazy["loader"] == eager["loader"] == "AssertionRewritingHook"


# -- (c) an editable-install finder at the end of sys.meta_path ---------------


class EditableFinder:
    """Map top-level names to source trees outside sys.path, as editable installs do."""

    def __init__(self, mapping):
        self.mapping = mapping

    def find_spec(self, fullname, path=None, target=None):
        tree = self.mapping.get(fullname)
        if tree is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, os.path.join(tree, "__init__.py"), submodule_search_locations=[tree])


def test_editable_install_finder_underneath(fake, tmp_path):
    tree = tmp_path / "checkout" / "edpkg"  # not on sys.path
    fake.write({os.path.relpath(tree / "__init__.py", fake.root): "VALUE = 1\n",
                os.path.relpath(tree / "sub.py", fake.root): "VALUE = 2\n",
                os.path.relpath(tree / "data.txt", fake.root): "edited in place\n"})
    assert importlib.util.find_spec("edpkg") is None
    sys.meta_path.append(EditableFinder({"edpkg": str(tree)}))
    lazyimport.enable(["edpkg"])
    import edpkg.sub

    assert lazyimport.is_lazy(edpkg) and lazyimport.is_lazy(edpkg.sub) and fake.runs() == []
    assert edpkg.__file__ == str(tree / "__init__.py") and edpkg.__path__ == [str(tree)]
    assert edpkg.sub.__file__ == str(tree / "sub.py")
    assert importlib.resources.files(edpkg).joinpath("data.txt").read_text() == "edited in place\n"
    assert fake.runs() == []
    assert edpkg.sub.VALUE == 2 and fake.runs() == ["edpkg", "edpkg.sub"]
    assert edpkg.VALUE == 1 and fake.runs() == ["edpkg", "edpkg.sub"]
    modules = lazyimport.status()["modules"]
    assert modules["edpkg"]["status"] == modules["edpkg.sub"]["status"] == "loaded"
    assert type(edpkg.__spec__.loader) is importlib.machinery.SourceFileLoader


# -- (d) wrapt post-import hooks, in fresh interpreters ------------------------

REGISTER = {
    "register_post_import_hook": "wrapt.register_post_import_hook(hook, TARGET)\n",
    "when_imported": "wrapt.when_imported(TARGET)(hook)\n",
}
HOOKED = """\
import importlib, json, sys
import _lazylog, wrapt
LAZY = {lazy!r}
if LAZY:
    import lazyimport
TARGET = {target!r}
calls = []
def hook(module):
    # What the hook finds: what had run when it was called, then the module's
    # namespace (reading it is a real use).
    runs = _lazylog.runs()
    calls.append({{
        "name": module.__name__,
        "runs_when_called": runs,
        "names": sorted(k for k in vars(module) if not k.startswith("_")),
        "last": module.LAST,
        "in_sys_modules": sys.modules.get(module.__name__) is module,
    }})
def snapshot():
    module = sys.modules.get(TARGET)
    return {{"calls": len(calls), "runs": _lazylog.runs(),
             "lazy": bool(LAZY) and module is not None and lazyimport.is_lazy(module)}}
steps = []
{script}
print(json.dumps({{"steps": steps, "calls": calls,
                  "status": lazyimport.status()["modules"] if LAZY else None}}))
"""
USE = """\
steps.append(snapshot())
sys.modules[TARGET].LAST  # first use
steps.append(snapshot())
import pkg.sub
importlib.import_module(TARGET).LAST
pkg.sub.LAST, pkg.LAST
steps.append(snapshot())
"""


def _hooked(fake, target, script, lazy):
    code = HOOKED.format(lazy=lazy, target=target, script=script)
    return json.loads(fake.run(code).stdout)


def _eager_and_lazy(fake, target, register, order):
    """Run the same script eagerly, and with lazyimport enabled *order* the hook."""
    pytest.importorskip("wrapt")
    fake.write(PKG)
    enable = "lazyimport.enable(['pkg'])\n"
    if order == "before":
        script = REGISTER[register] + enable + "import pkg.sub\n"
    elif order == "after":
        script = enable + REGISTER[register] + "import pkg.sub\n"
    else:  # after the deferred import itself
        script = enable + "import pkg.sub\n" + REGISTER[register]
    eager = _hooked(fake, target, script.replace(enable, "") + USE, lazy=False)
    (fake.root / "runs.log").unlink()
    return eager, _hooked(fake, target, script + USE, lazy=True)


def _expected_runs(target):
    return ["pkg"] if target == "pkg" else ["pkg", "pkg.sub"]


@pytest.mark.parametrize("register", sorted(REGISTER))
@pytest.mark.parametrize("target", ["pkg", "pkg.sub"])
def test_wrapt_hook_registered_before_enable_fires_when_the_body_runs(fake, target, register):
    eager, lazy = _eager_and_lazy(fake, target, register, "before")

    # Nothing at the deferred import; at first use the body runs, then the hook,
    # once, with the complete module -- the same call the eager import makes.
    assert lazy["steps"][0] == {"calls": 0, "runs": [], "lazy": True}
    assert lazy["steps"][1] == {"calls": 1, "runs": _expected_runs(target), "lazy": False}
    assert lazy["steps"][2]["calls"] == 1 and lazy["steps"][2]["runs"] == ["pkg", "pkg.sub"]
    assert lazy["calls"] == eager["calls"]
    assert lazy["calls"][0]["runs_when_called"] == _expected_runs(target)
    assert lazy["calls"][0]["last"] == f"end of {target}" and lazy["calls"][0]["in_sys_modules"]
    assert lazy["status"][target]["status"] == "loaded"


@pytest.mark.parametrize("register", sorted(REGISTER))
@pytest.mark.parametrize("target", ["pkg", "pkg.sub"])
def test_wrapt_hook_registered_after_enable_makes_its_module_eager(fake, target, register):
    eager, lazy = _eager_and_lazy(fake, target, register, "after")

    # wrapt's finder now sits ahead of ours and asks importlib.util.find_spec:
    # lazyimport cannot keep the module deferred behind it, so the import is
    # eager (a deferred package above it runs first), and status() says why.
    assert lazy["steps"][0] == {"calls": 1, "runs": _expected_runs(target), "lazy": False}
    assert lazy["steps"][2]["calls"] == 1
    assert lazy["calls"] == eager["calls"]
    assert lazy["calls"][0]["last"] == f"end of {target}"
    record = lazy["status"][target]
    assert record["status"] == "eager"
    assert record["reason"] == "another import hook ahead of lazyimport runs it"
    if target == "pkg":  # only the hooked module is eager: pkg.sub was still deferred
        assert lazy["status"]["pkg.sub"]["triggered_by"].startswith("first use at ")
    else:  # the deferred package ran first, as the eager import of pkg.sub runs pkg
        assert lazy["status"]["pkg"]["triggered_by"] == "parent of pkg.sub"


@pytest.mark.parametrize("register", sorted(REGISTER))
@pytest.mark.parametrize("target", ["pkg", "pkg.sub"])
def test_wrapt_hook_registered_after_a_deferred_import_gets_the_deferred_module(fake, target, register):
    eager, lazy = _eager_and_lazy(fake, target, register, "after import")

    # wrapt finds the module in sys.modules and calls the hook at once, with the
    # deferred module: nothing has run when it is called, and its first read of
    # the namespace runs the body, so it still sees the complete module.
    assert lazy["steps"][0] == {"calls": 1, "runs": _expected_runs(target), "lazy": False}
    call, eager_call = lazy["calls"][0], eager["calls"][0]
    assert call["runs_when_called"] == [] and eager_call["runs_when_called"] == ["pkg", "pkg.sub"]
    assert {**call, "runs_when_called": None} == {**eager_call, "runs_when_called": None}
    assert lazy["steps"][2]["calls"] == 1


WRITING_HOOK = """\
import json, sys
import lazyimport, wrapt
lazyimport.enable(["pkg"])
import pkg
def hook(module):
    module.WORD = "set by the hook"  # a write, no read: configure the module
wrapt.register_post_import_hook(hook, "pkg")
print(json.dumps([pkg.WORD, pkg.LAST]))
"""


def test_wrapt_hook_that_only_writes_keeps_its_write(fake):
    pytest.importorskip("wrapt")
    fake.write(PKG)
    eager = fake.run(WRITING_HOOK.replace('lazyimport.enable(["pkg"])', "pass")).stdout
    assert json.loads(eager) == ["set by the hook", "end of pkg"]
    (fake.root / "runs.log").unlink()
    assert fake.run(WRITING_HOOK).stdout == eager
