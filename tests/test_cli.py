"""Issue 4: ``python -m lazyimport`` -- status of the configuration, run, profile."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest
from rich.console import Console

import lazyimport

# Imported here, at collection: the autouse fixture drops modules first
# imported during a test, and _boot/_config must stay one pair of modules.
from lazyimport import _boot, _cli, _config, _importtime, _probe, _program, _render, _stdlib, _views  # noqa: F401

from .conftest import ROOT

PACKAGES = {
    "heavy/__init__.py": "raise RuntimeError('heavy must not run during status')\n",
    "heavy/sub/__init__.py": "",
    "heavy/sub/leaf.py": "",
    "light.py": "LIGHT = 1\n",
}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean LAZYIMPORT* environment and a working directory without pyproject.toml."""
    for key in [k for k in os.environ if k.startswith("LAZYIMPORT")]:
        monkeypatch.delenv(key)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    return monkeypatch


def recording() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None)


def out(c: Console) -> str:
    return c.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def main(*argv: str, console: Console | None = None, err: Console | None = None) -> int:
    return _cli.main(list(argv), console=console, err_console=err)


# --- status of the configuration ---------------------------------------------

def test_status_finds_installed_and_missing_without_importing(fake, env):
    fake.write(PACKAGES)
    env.setenv("LAZYIMPORT", "heavy.sub.leaf:1,light,heavy.nothere,not_installed_xyz")
    c = recording()
    assert main("status", console=c) == 1  # something is missing
    text = out(c)
    for name, state in [("heavy.sub.leaf", "installed"), ("light", "installed"),
                        ("heavy.nothere", "missing"), ("not_installed_xyz", "missing")]:
        assert any(name in line and state in line for line in text.splitlines()), (name, text)
    assert fake.runs() == [] and "heavy" not in sys.modules and "light" not in sys.modules
    assert "configuration: LAZYIMPORT" in text


def test_status_json_and_exit_zero_when_all_installed(fake, env, capsys):
    fake.write(PACKAGES)
    env.setenv("LAZYIMPORT", "light:2,heavy.sub")
    assert main("status", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["active"] is True and data["problems"] == []
    assert data["packages"]["light"] == {
        "state": "installed", "installed": True, "priority": 2,
        "origin": str(fake.root / "light.py"), "distribution": None, "version": None,
    }
    assert data["packages"]["heavy.sub"]["origin"] == str(fake.root / "heavy" / "sub" / "__init__.py")
    assert fake.runs() == []


def test_status_shows_distribution_versions(fake, env, capsys):
    fake.write({"fakemod/__init__.py": ""})
    info = fake.root / "Fake_Dist-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Fake-Dist\nVersion: 1.2.3\n")
    (info / "top_level.txt").write_text("fakemod\n")
    if _probe._metadata() is None:
        pytest.skip("no importlib.metadata with packages_distributions() here")
    env.setenv("LAZYIMPORT", "fakemod")
    c = recording()
    assert main("status", console=c) == 0
    assert "1.2.3 (Fake-Dist)" in out(c)
    assert main("status", "--json") == 0
    package = json.loads(capsys.readouterr().out)["packages"]["fakemod"]
    assert (package["distribution"], package["version"]) == ("Fake-Dist", "1.2.3")


def test_status_shows_an_inactive_pyproject(fake, env):
    fake.write(PACKAGES)
    with open("pyproject.toml", "w") as f:  # in the working directory
        f.write("[tool.lazyimport]\nnames = {light = 1}\n")
    c = recording()
    assert main("status", console=c) == 0
    text = out(c)
    assert "inactive: set LAZYIMPORT=1 to use it" in text and "light" in text and "pyproject.toml" in text


def test_status_configuration_errors_exit_2(env, capsys):
    assert main("status") == 2  # nothing configured anywhere
    assert "nothing is configured" in capsys.readouterr().err
    env.setenv("LAZYIMPORT", "json:high")
    c = recording()
    assert main("status", console=c) == 2
    assert "priority of 'json' must be an integer" in out(c)


def test_usage_errors_exit_2(env, capsys):
    assert main() == 2
    assert main("status", "--watch") == 2
    assert "--watch needs --pid" in capsys.readouterr().err
    assert main("status", "--pid", "notanumber") == 2
    assert main("frobnicate") == 2
    assert main("run") == 2
    assert main("run", "--names", "x", "does_not_exist.py") == 2
    assert "can't open file 'does_not_exist.py'" in capsys.readouterr().err
    assert main("--help") == 0
    assert "exit status" in capsys.readouterr().out


def test_real_python_dash_m_status(fake, tmp_path):
    fake.write(PACKAGES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env.update(LAZYIMPORT="light:1,heavy.sub,nope_pkg", COLUMNS="120",
               PYTHONPATH=os.pathsep.join([str(fake.root), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "lazyimport", "status"], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert any("light" in line and "installed" in line and " 1 " in line for line in lines), proc.stdout
    assert any("nope_pkg" in line and "missing" in line for line in lines), proc.stdout
    assert fake.runs() == []
    proc = subprocess.run([sys.executable, "-m", "lazyimport", "status", "--json"], cwd=str(tmp_path),
                          env={**env, "LAZYIMPORT": "light"}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["packages"]["light"]["installed"] is True


# --- run ---------------------------------------------------------------------

SCRIPT = """\
import sys
import light
import heavy_ok
print("program says", sys.argv[1:], light.LIGHT)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


def test_run_passes_output_and_status_through(fake, env, capsys, tmp_path):
    fake.write({"light.py": "LIGHT = 1\n", "heavy_ok.py": "H = 1\n", "prog.py": SCRIPT}, record=False)
    report = tmp_path / "report.json"
    err = recording()
    code = main("run", "--names", "light,heavy_ok:1", "--json-report", str(report),
                str(fake.root / "prog.py"), "7", "--verbose", err=err)
    assert code == 7
    assert capsys.readouterr().out == "program says ['7', '--verbose'] 1\n"
    table = out(err)
    assert "exited with status 7" in table
    assert any("light" in line and "loaded" in line and "first use at" in line for line in table.splitlines()), table
    assert any("heavy_ok" in line and "deferred" in line for line in table.splitlines()), table
    data = json.loads(report.read_text())
    assert data["packages"]["light"]["status"] == "loaded"
    assert data["packages"]["light"]["triggered_by"] == f"first use at {fake.root / 'prog.py'}:4"
    assert data["packages"]["heavy_ok"]["status"] == "deferred" and data["packages"]["heavy_ok"]["priority"] == 1
    assert sys.argv[0] != str(fake.root / "prog.py")  # restored


def test_run_module_form_and_names_from_the_environment(fake, env, capsys):
    fake.write({"light.py": "LIGHT = 1\n", "tool/__init__.py": "", "tool/__main__.py":
                "import sys, light\nprint('tool', sys.argv[1:], light.LIGHT)\n"}, record=False)
    env.setenv("LAZYIMPORT", "light")
    assert main("run", "-m", "tool", "a", "-m", "b", err=recording()) == 0
    assert capsys.readouterr().out == "tool ['a', '-m', 'b'] 1\n"


def test_run_uncaught_exception_is_shown_as_python_shows_it(fake, env, capsys):
    fake.write({"light.py": "LIGHT = 1\n",
                "boom.py": "import light\ndef f():\n    raise ValueError('boom here')\nf()\n"}, record=False)
    err = recording()
    assert main("run", "--names", "light", str(fake.root / "boom.py"), err=err) == 1
    trace = capsys.readouterr().err
    assert trace.startswith("Traceback (most recent call last):\n"), trace
    assert "boom.py" in trace and "ValueError: boom here" in trace
    assert "_program.py" not in trace and "runpy" not in trace
    assert "light" in out(err)


def test_run_exit_codes_like_python(fake, env, capsys):
    fake.write({"light.py": "", "none.py": "raise SystemExit\n", "text.py": "raise SystemExit('bye')\n"},
               record=False)
    assert main("run", "--names", "light", str(fake.root / "none.py"), err=recording()) == 0
    assert main("run", "--names", "light", str(fake.root / "text.py"), err=recording()) == 1
    assert capsys.readouterr().err == "bye\n"
    assert main("run", "--names", "light", "-m", "no_such_module_xyz", err=recording()) == 1
    assert capsys.readouterr().err == f"{sys.executable}: No module named no_such_module_xyz\n"


def test_run_without_names_is_a_usage_error(fake, env, capsys):
    fake.write({"p.py": "print('never')\n"}, record=False)
    assert main("run", str(fake.root / "p.py")) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "no modules to defer" in captured.err


def test_run_prefetch_calls_prefetch_when_there_is_one(fake, env, monkeypatch):
    fake.write({"light.py": "", "p.py": "import light\n"}, record=False)
    calls = []
    monkeypatch.setattr(lazyimport, "prefetch", lambda *a, **k: calls.append((a, k)), raising=False)
    assert main("run", "--prefetch", "--names", "light", str(fake.root / "p.py"), err=recording()) == 0
    assert calls == [((), {})]


def test_real_python_dash_m_run(fake, tmp_path):
    fake.write({"light.py": "LIGHT = 1\n", "heavy_ok.py": "H = 1\n", "prog.py": SCRIPT}, record=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env.update(COLUMNS="140", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "lazyimport", "run", "--names", "light,heavy_ok", "prog.py", "3"],
        cwd=str(fake.root), env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "program says ['3'] 1\n"
    assert "exited with status 3" in proc.stderr and "heavy_ok" in proc.stderr


# --- profile -----------------------------------------------------------------

IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       100 |        100 |   _io
import time:       500 |        600 | _frozen_importlib_external
import time:      1000 |       1000 |       torch._C
import time:      2000 |       3000 |     torch
import time:       400 |        400 |     json
import time:      5000 |       8400 |   transformers.utils
import time:       600 |       9000 | transformers
import time:        50 |         50 |   org.python
import time:       150 |        200 | org
import time:      1200 |       1200 | smallpkg
program noise that is not an importtime line
"""


def test_importtime_tree_and_suggestion():
    roots = _importtime.parse(IMPORTTIME.splitlines(True))
    assert [r.name for r in roots] == ["_frozen_importlib_external", "transformers", "org", "smallpkg"]
    assert [c.name for c in roots[1].children] == ["transformers.utils"]
    assert [c.name for c in roots[1].children[0].children] == ["torch", "json"]
    report = _importtime.analyse(roots, frozenset({"_io", "_frozen_importlib_external", "json"}),
                                 threshold_ms=2.0, installed=lambda name: name != "org")
    assert report["total_us"] == 600 + 9000 + 200 + 1200 and report["modules"] == 10
    by_name = {p["name"]: p for p in report["packages"]}
    assert set(by_name) == {"transformers", "torch", "smallpkg"}  # org was only tried
    assert by_name["torch"]["imported_by"] == "transformers" and by_name["torch"]["cumulative_us"] == 3000
    assert by_name["transformers"]["children"][0]["name"] == "transformers.utils"
    assert report["suggest"]["names"] == ["transformers", "torch"]
    assert report["suggest"]["saving_us"] == 9000  # torch is inside transformers: counted once
    assert report["suggest"]["env"] == "LAZYIMPORT=transformers,torch"
    assert report["suggest"]["pyproject"] == '[tool.lazyimport]\nnames = ["transformers", "torch"]\n'


def test_profile_renders_a_tree_and_the_configuration():
    report = _importtime.analyse(_importtime.parse(IMPORTTIME.splitlines()), _stdlib.names(), threshold_ms=2.0,
                                 installed=lambda name: name != "org")
    c = recording()
    _render.print_profile(c, report)
    text = out(c)
    assert "start-up imports: 11.0 ms in 10 modules" in text
    assert "transformers  9.0 ms  81.8%" in text and "(imported by transformers)" in text
    assert "LAZYIMPORT=transformers,torch" in text and 'names = ["transformers", "torch"]' in text
    c = recording()
    _render.print_profile(c, {**report, "suggest": {**report["suggest"], "names": []}})
    assert "nothing to defer" in out(c)


def test_real_profile_of_a_program(fake, tmp_path):
    fake.write({
        "slowpkg/__init__.py": "import time\ntime.sleep(0.05)\nfrom . import part\n",
        "slowpkg/part.py": "import time\ntime.sleep(0.03)\n",
        "prog.py": "import sys, json, slowpkg\nprint('out', sys.argv[1:])\n"
                   "print('to stderr', file=sys.stderr)\nsys.exit(5)\n",
    }, record=False)
    report = tmp_path / "profile.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env.update(COLUMNS="120", PYTHONPATH=str(ROOT), LAZYIMPORT="slowpkg")  # removed for the child
    proc = subprocess.run(
        [sys.executable, "-m", "lazyimport", "profile", "--threshold", "40", "--json-report", str(report),
         "prog.py", "x"], cwd=str(fake.root), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 5, proc.stderr
    assert proc.stdout == "out ['x']\n"
    assert "to stderr" in proc.stderr and "import time:" not in proc.stderr
    assert "slowpkg" in proc.stderr and "slowpkg.part" in proc.stderr
    assert "LAZYIMPORT=slowpkg" in proc.stderr
    data = json.loads(report.read_text())
    assert data["suggest"]["names"] == ["slowpkg"] and data["exit_code"] == 5
    assert data["packages"][0]["cumulative_us"] >= 80_000  # eager: LAZYIMPORT was removed


def test_profile_of_a_module_never_suggests_the_module_itself(fake, env):
    fake.write({"app/__init__.py": "import time\ntime.sleep(0.02)\n", "app/__main__.py": "print('hi')\n"},
               record=False)
    env.setenv("PYTHONPATH", os.pathsep.join([str(fake.root), str(ROOT)]))
    err = recording()
    assert main("profile", "--threshold", "0", "-m", "app", err=err) == 0
    assert "LAZYIMPORT=app" not in out(err)


def test_run_and_profile_usage_text():
    parser = _cli.build_parser()
    help_text = parser.format_help()
    assert "status" in help_text and "run" in help_text and "profile" in help_text
    for code in ("0    fine", "2    usage or configuration error", "3    no such process", "4    stale status file"):
        assert code in help_text
    sub = textwrap.dedent(_cli.build_parser()._subparsers._group_actions[0].choices["run"].format_usage())
    assert "(script.py | -m module) [args ...]" in sub


def test_without_rich_tables_become_plain_lines(fake, env, capsys, monkeypatch):
    fake.write({"light.py": "LIGHT = 1\n", "p.py": "import light\nprint(light.LIGHT)\n"}, record=False)
    monkeypatch.setitem(sys.modules, "rich.console", None)  # as if rich were not installed
    env.setenv("LAZYIMPORT", "light,nope_pkg")
    assert main("status") == 1
    captured = capsys.readouterr()
    assert "light  installed  3" in captured.out and "nope_pkg  missing" in captured.out
    assert "pip install 'lazyimport[cli]'" in captured.out
    assert main("run", str(fake.root / "p.py")) == 0
    captured = capsys.readouterr()
    assert captured.out == "1\n" and "light  loaded  3" in captured.err
    assert main("status", "--pid", str(os.getpid()), "--watch") == 2
