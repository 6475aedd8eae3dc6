"""Regression tests for the failure classes seen when real programs ran under naive
deferral (the stdlib LazyLoader behind a finder): each scenario runs eagerly and
with LAZYIMPORT set, in fresh interpreters, and the outputs must match."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import ROOT

CASES: dict[str, tuple[str, dict[str, str], str]] = {
    # C: a package's __init__ imports its own submodule; the user imports the
    # submodule by full name while the package is still deferred.
    "submodule_executed_twice": ("marks", {
        "marks/__init__.py": "from .structures import Mark\nprint('ran marks')\n",
        "marks/structures.py": "print('ran structures')\nclass Mark: pass\n",
    }, "import marks\nfrom marks.structures import Mark\nprint(Mark is marks.Mark, isinstance(Mark(), marks.Mark))\n"),
    # A: a body swaps itself out of sys.modules (pygments.lexers, cryptography).
    "module_replaces_itself": ("auto", {
        "auto/__init__.py": "import sys, types\nclass _A(types.ModuleType):\n    def __getattr__(self, n): return 'auto-' + n\n"
                            "new = _A(__name__); new.__dict__.update(sys.modules[__name__].__dict__)\nsys.modules[__name__] = new\n",
        "auto/terminal.py": "class Formatter: pass\n",
    }, "from auto.terminal import Formatter\nimport auto\nprint(Formatter.__name__, auto.anything)\n"),
    # B: a body error must surface unchanged, and leave sys.modules.
    "body_error_unchanged": ("mod", {"mod.py": "A = 1\nraise RuntimeError('real cause')\n"},
        "import sys\ndef use():\n    import mod\n    from mod import A\ntry:\n    use()\nexcept Exception as e:\n"
        "    print(type(e).__name__, str(e).splitlines()[0])\nprint('mod' in sys.modules)\n"),
    # H: an installed-but-broken optional dependency behind an ImportError guard.
    "import_error_guard": ("fastjson", {"fastjson.py": "import _missing_speedups\n"},
        "try:\n    import fastjson as json\nexcept ImportError:\n    import json\nprint(json.__name__, json.dumps([1]))\n"),
    # G: threads racing on first use.
    "thread_race": ("slow", {"slow.py": "import time\nSTART = 1\ntime.sleep(0.2)\nLATE = 2\n"},
        "import threading, slow\nerrors = []\ndef use():\n    try:\n        slow.LATE\n    except AttributeError as e:\n        errors.append(e)\n"
        "ts = [threading.Thread(target=use) for _ in range(4)]\n[t.start() for t in ts]\n[t.join(10) for t in ts]\nprint(len(errors))\n"),
    # H: scanning sys.modules (inspect.getmodule) must not run (or crash on) deferred modules.
    "sys_modules_scan": ("broken", {"broken.py": "raise ImportError('backend not usable')\n"},
        "import inspect\ntry:\n    import broken\nexcept ImportError:\n    broken = None\ndef f(): pass\nprint(inspect.getmodule(f.__code__).__name__)\n"),
    # F: a package iterates its own globals while its submodules load (trio).
    "globals_iteration": ("pkg11", {
        "pkg11/__init__.py": "from . import sub\nfor name, obj in list(globals().items()):\n    getattr(obj, '__module__', None)\n"
                             "for name, obj in globals().items():\n    getattr(obj, '__module__', None)\n",
        "pkg11/sub.py": "from . import other\n", "pkg11/other.py": "",
    }, "import pkg11\nprint(pkg11.sub.__name__)\n"),
    # r12: a body's AttributeError must not silently become hasattr() == False.
    "attribute_error_in_guard": ("compat", {"compat.py": "import math\nOLD = math.removed_api\ndef fast(): pass\n"},
        "try:\n    import compat\nexcept AttributeError as e:\n    print('failed loudly:', e)\nelse:\n    print(hasattr(compat, 'fast'))\n"),
    # D/D': a loader's ModuleType subclass keeps its class and its special methods.
    "custom_module_class": ("moves", {"movesfinder.py": textwrap.dedent("""
        import sys, types, importlib.util
        class Moves(types.ModuleType):
            __path__ = []
            @property
            def answer(self): return 42
            def __dir__(self): return ['ParseResult', 'urlparse']
        class Importer:
            def find_spec(self, name, path=None, target=None):
                if name == 'moves':
                    return importlib.util.spec_from_loader(name, self)
            def create_module(self, spec): return Moves(spec.name)
            def exec_module(self, module): pass
        sys.meta_path.append(Importer())
        """)}, "import movesfinder\nimport moves\nprint(dir(moves), moves.answer, type(moves).__name__)\n"),
    # E: `python -m` and the loader protocol on a found-but-not-imported spec.
    "runpy_dash_m": ("pkg06", {"pkg06/__init__.py": "print('init ran')\n", "pkg06/__main__.py": "print('main ran')\n"},
        "import subprocess, sys, importlib.util\nr = subprocess.run([sys.executable, '-m', 'pkg06'], capture_output=True, text=True)\n"
        "print(r.stdout.split(), r.returncode)\nspec = importlib.util.find_spec('pkg06')\n"
        "print(spec.loader.is_package('pkg06'), spec.loader.get_filename('pkg06').endswith('__init__.py'), bool(spec.loader.get_source('pkg06')))\n"),
}


def _run(tmp_path: Path, names: str | None, files: dict[str, str], script: str, extra_env=None):
    site = tmp_path / "site"
    hook = tmp_path / "hook"
    for rel, source in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text((ROOT / "sitecustomize.py").read_text())
    (site / "main.py").write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env["PYTHONPATH"] = os.pathsep.join([str(hook), str(ROOT), str(site)])
    if names:
        env["LAZYIMPORT"] = names
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "main.py"], cwd=site, env=env, capture_output=True, text=True, timeout=60)
    return proc.stdout + ("" if proc.returncode == 0 else f"exit {proc.returncode}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_lazy_run_matches_eager_run(tmp_path, case):
    names, files, script = CASES[case]
    eager = _run(tmp_path, None, files, script)
    lazy = _run(tmp_path, names, files, script)
    assert "Traceback" not in lazy
    assert lazy == eager


def test_second_import_does_not_run_the_body(tmp_path):
    # J: the second `import x` used to execute x (gh-127036).
    files = {"mod05.py": "print('body ran')\n", "other.py": "import mod05\n"}
    script = "import mod05\nimport other\nimport mod05\nimport lazyimport\nprint(lazyimport.is_lazy(mod05))\n"
    assert _run(tmp_path, "mod05", files, script) == "True\n"


def test_side_effect_import_is_reported_and_exclusion_fixes_it(tmp_path):
    # I: `import app.rot99  # registers a codec` is never touched by name, so its
    # body never runs.  No laziness can know; the status shows it as deferred
    # and never run, and excluding the one dotted name restores the side effect.
    files = {
        "app/__init__.py": "",
        "app/rot99.py": "import codecs\ndef _s(n):\n    return codecs.lookup('rot13') if n == 'rot99' else None\ncodecs.register(_s)\n",
    }
    script = ("import app.rot99, codecs, lazyimport\ntry:\n    print(codecs.encode('abc', 'rot99'))\nexcept LookupError:\n"
              "    print('unregistered', lazyimport.status()['modules']['app.rot99']['status'])\n")
    assert _run(tmp_path, None, files, script) == "nop\n"
    assert _run(tmp_path, "app", files, script) == "unregistered deferred\n"
    assert _run(tmp_path, "app", files, script, {"LAZYIMPORT_EXCLUDE": "app.rot99"}) == "nop\n"
