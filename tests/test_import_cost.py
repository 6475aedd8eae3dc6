"""``import lazyimport`` stays cheap: the command line's and the publisher's
dependencies (rich, argparse, importlib.metadata, threading) are never imported
by it, nor by enable() and status(); only asking to publish imports threading."""
from __future__ import annotations

import json

from .conftest import run_python

HEAVY = ["rich", "argparse", "importlib.metadata", "importlib_metadata", "threading",
         "lazyimport._cli", "lazyimport._render", "lazyimport._publish", "lazyimport._probe"]

PROBE = f"""
import json, sys
HEAVY = {HEAVY!r}
before = set(sys.modules)
import lazyimport
after_import = sorted(m for m in HEAVY if m in sys.modules and m not in before)
lazyimport.enable(["_costpkg"])
import _costpkg
snapshot = lazyimport.status()
after_use = sorted(m for m in HEAVY if m in sys.modules and m not in before)
print(json.dumps({{"before": sorted(m for m in HEAVY if m in before), "import": after_import,
                  "use": after_use, "state": snapshot["packages"]["_costpkg"]["status"]}}))
"""


def _probe(tmp_path, flags, env=None):
    (tmp_path / "_costpkg.py").write_text("X = 1\n")
    proc = run_python(PROBE, cwd=tmp_path, flags=flags, env=env, timeout=60)
    return json.loads(proc.stdout.splitlines()[-1])


def test_import_enable_and_status_import_nothing_heavy(tmp_path):
    # -S: no site, so nothing but the interpreter itself ran before us.
    found = _probe(tmp_path, ["-S"])
    assert found["before"] == []
    assert found["import"] == [] and found["use"] == []
    assert found["state"] == "deferred"


def test_the_same_with_site_and_the_start_up_hook(tmp_path):
    # With site (and LAZYIMPORT set, as the .pth hook sees it), whatever site
    # itself brings in is excluded: we check what lazyimport added.
    found = _probe(tmp_path, [], env={"LAZYIMPORT": "_costpkg"})
    assert found["import"] == [] and found["use"] == []


def test_the_hook_imports_threading_only_when_publishing(tmp_path):
    code = """
    import sys
    from lazyimport._boot import boot
    boot()
    print("threading" in sys.modules, "lazyimport._publish" in sys.modules)
    """
    env = {"LAZYIMPORT": "_costpkg", "XDG_RUNTIME_DIR": str(tmp_path)}
    (tmp_path / "_costpkg.py").write_text("X = 1\n")
    quiet = run_python(code, cwd=tmp_path, env=env, flags=["-S"])
    assert quiet.stdout.split() == ["False", "False"], quiet.stderr
    loud = run_python(code, cwd=tmp_path, env={**env, "LAZYIMPORT_PUBLISH": "1"}, flags=["-S"])
    assert loud.stdout.split() == ["True", "True"], loud.stderr
