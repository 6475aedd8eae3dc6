"""The whole loader protocol still answers through the spec: a found or deferred
module's loader serves code, source, data and resources (runpy, pkgutil,
importlib.resources, inspect, coverage) as the real loader would."""
from __future__ import annotations

import importlib.machinery
import importlib.resources
import importlib.util
import inspect
import json
import os
import pkgutil
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

import lazyimport

ROOT = Path(__file__).resolve().parent.parent

# tool.py and __main__.py report what had run when they started, then exit 3
# when run as __main__ (so `python -m` exit codes are compared too).
REPORT = """\
import json, sys, _lazylog
REPORT = {
    "runs_at_start": _lazylog.runs(),
    "name": __name__, "spec": __spec__.name, "package": __package__,
    "file": __file__, "argv": sys.argv,
}
if __name__ == "__main__":
    print(json.dumps(REPORT, sort_keys=True))
    raise SystemExit(3)
"""
PKG = {
    "pkg/__init__.py": "VALUE = 'the package body ran'\n",
    "pkg/tool.py": REPORT,
    "pkg/__main__.py": REPORT,
    "pkg/sub/__init__.py": "",
    "pkg/data.txt": "shipped with pkg\n",
}


def _python(fake, argv, *, extra_path=(), env=None):
    """Run ``python *argv`` in the fake root, with the fake packages importable."""
    # Our own settings and coverage's subprocess switch come only from *env*.
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LAZYIMPORT", "COVERAGE", "USE_"))}
    full["PYTHONPATH"] = os.pathsep.join([*map(str, extra_path), str(fake.root), str(ROOT)])
    full.update(env or {})
    return subprocess.run([sys.executable, *argv], cwd=str(fake.root), env=full,
                          capture_output=True, text=True, timeout=120)


def _explain(proc):
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _reference_spec(fake, name):
    """The spec the plain path finder gives, with lazyimport nowhere involved."""
    path = None if "." not in name else [str(fake.root / "pkg")]
    return importlib.machinery.PathFinder.find_spec(name, path)


def _answers(loader, name, fake):
    """Everything a tool may ask a loader (the package ones for packages)."""
    answers = {
        "filename": loader.get_filename(name),
        "is_package": loader.is_package(name),
        "source": loader.get_source(name),
        "code": loader.get_code(name),
        "data": loader.get_data(str(fake.root / "pkg" / "data.txt")),
    }
    if answers["is_package"]:
        reader = loader.get_resource_reader(name)
        with reader.open_resource("data.txt") as f:
            answers["resource"] = f.read()
    return answers


@pytest.mark.parametrize("name", ["pkg", "pkg.tool"])
def test_spec_found_before_import_answers_the_loader_protocol(fake, name):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    spec = importlib.util.find_spec(name)  # for pkg.tool this imports pkg: deferred

    reference = _reference_spec(fake, name)
    assert (spec.origin, spec.cached, spec.submodule_search_locations, spec.has_location) == (
        reference.origin, reference.cached, reference.submodule_search_locations, reference.has_location)
    assert _answers(spec.loader, name, fake) == _answers(reference.loader, name, fake)
    assert name not in sys.modules and fake.runs() == []
    if name == "pkg.tool":
        assert lazyimport.is_lazy(sys.modules["pkg"])


@pytest.mark.parametrize("name", ["pkg", "pkg.tool"])
def test_spec_of_a_deferred_module_answers_the_loader_protocol(fake, name):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    module = importlib.import_module(name)

    spec = module.__spec__
    reference = _reference_spec(fake, name)
    assert importlib.util.find_spec(name) is spec
    assert module.__loader__ is spec.loader and type(spec.loader) is type(reference.loader)
    assert _answers(spec.loader, name, fake) == _answers(reference.loader, name, fake)
    assert lazyimport.is_lazy(module) and fake.runs() == []


def test_exec_module_of_a_found_spec_defers_the_body(fake):
    # The documented recipe (importlib docs, "Approximating import_module"):
    # the loader a found spec carries defers the body like an import would.
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    spec = importlib.util.find_spec("pkg")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pkg"] = module
    spec.loader.exec_module(module)

    assert lazyimport.is_lazy(module) and fake.runs() == []
    assert module.VALUE == "the package body ran" and fake.runs() == ["pkg"]
    assert module.__spec__.loader is module.__loader__ is not None
    assert type(module.__loader__) is importlib.machinery.SourceFileLoader


@pytest.mark.parametrize("anchor", ["module", "name"])
def test_importlib_resources_reads_shipped_data_without_running_the_body(fake, anchor):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    import pkg

    files = importlib.resources.files(pkg if anchor == "module" else "pkg")
    assert files.joinpath("data.txt").read_text() == "shipped with pkg\n"
    assert sorted(p.name for p in files.iterdir() if p.name != "__pycache__") == [
        "__init__.py", "__main__.py", "data.txt", "sub", "tool.py"]
    assert lazyimport.is_lazy(pkg) and fake.runs() == []


def test_importlib_resources_imports_an_unimported_package_deferred(fake):
    # Eagerly files("pkg") imports pkg and so runs its body; here the import
    # it makes is deferred like any other, and reading data does not need it.
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    assert importlib.resources.files("pkg").joinpath("data.txt").read_bytes() == b"shipped with pkg\n"
    assert lazyimport.is_lazy(sys.modules["pkg"]) and fake.runs() == []


def test_pkgutil_lists_and_reads_without_running_the_body(fake):
    fake.write(PKG)
    listing = "[(m.name, m.ispkg) for m in pkgutil.iter_modules(pkg.__path__)]"
    eager = fake.run(f"import pkg, pkgutil\nprint({listing})")
    (fake.root / "runs.log").unlink()
    lazyimport.enable(["pkg"])
    import pkg

    found = [(m.name, m.ispkg) for m in pkgutil.iter_modules(pkg.__path__)]
    assert repr(found) == eager.stdout.strip() == "[('__main__', False), ('sub', True), ('tool', False)]"
    assert pkgutil.get_data("pkg", "data.txt") == b"shipped with pkg\n"
    assert pkgutil.get_data("pkg", "sub/__init__.py") == (fake.root / "pkg/sub/__init__.py").read_bytes()
    assert lazyimport.is_lazy(pkg) and fake.runs() == []


def test_pkgutil_get_data_imports_an_unimported_package_deferred(fake):
    # Eagerly get_data imports (and runs) the package; its import is deferred here.
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    assert pkgutil.get_data("pkg", "data.txt") == b"shipped with pkg\n"
    assert lazyimport.is_lazy(sys.modules["pkg"]) and fake.runs() == []


@pytest.mark.parametrize("name", ["pkg.tool", "pkg"])
def test_run_module_runs_the_package_before_the_module(fake, name):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    report = runpy.run_module(name)["REPORT"]

    main = "pkg.tool" if name == "pkg.tool" else "pkg.__main__"
    assert report["runs_at_start"] == ["pkg", main]  # as eagerly: the package first
    assert (report["name"], report["spec"], report["package"]) == (main, main, "pkg")
    assert lazyimport.status()["modules"]["pkg"]["status"] == "eager"


# 3.11+ run runpy frozen: its code's filename is "<frozen runpy>".
RUNPY_FROZEN = not runpy.run_module.__code__.co_filename.endswith("runpy.py")


def test_status_says_runpy_made_the_package_eager(fake):
    fake.write(PKG)
    lazyimport.enable(["pkg"])
    runpy.run_module("pkg.tool")
    assert lazyimport.status()["modules"]["pkg"]["reason"] == "imported by runpy (python -m)"


@pytest.mark.parametrize("name", ["pkg.tool", "pkg"])
def test_run_module_runs_an_already_deferred_package_first(fake, name):
    fake.write(PKG)
    code = f"import json, pkg, runpy; print(json.dumps(runpy.run_module({name!r})['REPORT']))"
    eager = json.loads(fake.run(code).stdout)["runs_at_start"]
    assert eager == ["pkg", "pkg.tool" if name == "pkg.tool" else "pkg.__main__"]
    (fake.root / "runs.log").unlink()
    lazyimport.enable(["pkg"])
    import pkg  # noqa: F401  (deferred; eagerly its body has run by now)

    assert runpy.run_module(name)["REPORT"]["runs_at_start"] == eager


# Enables lazyimport and writes its status to status.json at exit (after
# SystemExit, so the run's own stdout, stderr and exit code are untouched).
ENABLE = """\
import atexit, json, lazyimport
lazyimport.enable(["pkg"])
def _dump():
    with open("status.json", "w") as f:
        json.dump(lazyimport.status()["modules"], f)
atexit.register(_dump)
"""
# `python -m` as a -c bootstrap: enable, then what -m does.
BOOTSTRAP = ENABLE + "import runpy\nrunpy.run_module({name!r}, run_name='__main__', alter_sys=True)\n"


@pytest.mark.parametrize("launcher", ["-c bootstrap", "sitecustomize"])
@pytest.mark.parametrize("name", ["pkg.tool", "pkg"])
def test_python_dash_m_matches_the_eager_run(fake, tmp_path, name, launcher):
    fake.write(PKG)
    args = ["first", "--second"]
    eager = _python(fake, ["-m", name, *args])
    (fake.root / "runs.log").unlink()
    if launcher == "sitecustomize":
        # lazyimport enabled at start-up, then the real `python -m`.
        startup = tmp_path / "startup"
        startup.mkdir()
        (startup / "sitecustomize.py").write_text(ENABLE)
        lazy = _python(fake, ["-m", name, *args], extra_path=[startup])
    else:
        lazy = _python(fake, ["-c", BOOTSTRAP.format(name=name), *args])

    assert eager.returncode == 3 and eager.stderr == "", _explain(eager)
    assert (lazy.returncode, lazy.stdout, lazy.stderr) == (3, eager.stdout, ""), _explain(lazy)
    report = json.loads(lazy.stdout)
    assert report["runs_at_start"] == ["pkg", "__main__"]  # the package ran first, as eagerly
    status = json.loads((fake.root / "status.json").read_text())
    assert status["pkg"]["status"] == "eager"  # lazyimport was on, and let runpy run it


def test_inspect_getsource_of_a_deferred_module(fake):
    fake.write({**PKG, "pkg/__init__.py": "VALUE = 1\n\ndef func():\n    return VALUE\n"})
    lazyimport.enable(["pkg"])
    import pkg

    assert inspect.getsourcefile(pkg) == str(fake.root / "pkg" / "__init__.py")
    assert fake.runs() == []  # finding the file only reads __file__
    source = inspect.getsource(pkg)
    assert source == (fake.root / "pkg" / "__init__.py").read_text()
    # getsource passes module.__dict__ to linecache: that is a real use, so the
    # body has run (once), and the module is complete.
    assert fake.runs() == ["pkg"] and not lazyimport.is_lazy(pkg)
    assert inspect.getsource(pkg.func) == "def func():\n    return VALUE\n"
    assert fake.runs() == ["pkg"]


COVERED = {
    "pkg/__init__.py": "VALUE = 1\n",
    "pkg/used.py": "def double(x):\n    return x * 2\n\ndef never_called():\n    return None\n",
    "pkg/unused.py": "X = 1\nY = 2\n",
}
SCRIPT = {
    "script.py": """\
        import os, sys
        if os.environ.get("USE_LAZYIMPORT"):
            import lazyimport
            lazyimport.enable(["pkg"])
        import pkg.used, pkg.unused
        if os.environ.get("USE_LAZYIMPORT"):
            assert lazyimport.is_lazy(pkg.used) and lazyimport.is_lazy(pkg.unused)
        print(pkg.used.double(21))
        """,
}


def _coverage(fake, core, lazy):
    """Measure script.py under `coverage run`; return {file: (executed, missing)}."""
    env = {"COVERAGE_CORE": core, "COVERAGE_FILE": str(fake.root / f".coverage-{lazy}")}
    if lazy:
        env["USE_LAZYIMPORT"] = "1"
    report = fake.root / f"coverage-{lazy}.json"
    run = _python(fake, ["-m", "coverage", "run", "--source=pkg", "script.py"], env=env)
    assert run.returncode == 0 and run.stdout == "42\n", _explain(run)
    assert "Warning" not in run.stderr, _explain(run)
    proc = _python(fake, ["-m", "coverage", "json", "-o", str(report)], env=env)
    assert proc.returncode == 0, _explain(proc)
    files = json.loads(report.read_text())["files"]
    return {Path(path).as_posix(): (data["executed_lines"], data["missing_lines"])
            for path, data in files.items()}


@pytest.mark.parametrize("core", ["ctrace", "pytrace", "sysmon"])
def test_coverage_measures_a_deferred_module(fake, core):
    pytest.importorskip("coverage")
    if core == "sysmon" and sys.version_info < (3, 12):
        pytest.skip("sys.monitoring is new in 3.12")
    fake.write(COVERED)
    fake.write(SCRIPT, record=False)
    eager = _coverage(fake, core, lazy=False)
    assert fake.runs() == ["pkg", "pkg.used", "pkg.unused"]
    (fake.root / "runs.log").unlink()
    lazy = _coverage(fake, core, lazy=True)

    assert fake.runs() == ["pkg", "pkg.used"]  # pkg.unused stayed deferred
    # The modules that ran are measured exactly as eagerly: every line the
    # body executed, and only the uncalled function's body missing.
    assert lazy["pkg/used.py"] == eager["pkg/used.py"] == ([1, 2, 3, 5], [6])
    assert lazy["pkg/__init__.py"] == eager["pkg/__init__.py"] == ([1, 2], [])
    # The module that never ran is still reported, with nothing executed.
    assert lazy["pkg/unused.py"] == ([], [1, 2, 3]) and eager["pkg/unused.py"] == ([1, 2, 3], [])
