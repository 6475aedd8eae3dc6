"""Issue 5: the start-up hook and its settings (environment and pyproject.toml)."""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lazyimport import _config
from lazyimport._registry import SEED

from .conftest import ROOT, run_python


def resolve(env: dict[str, str], cwd: Path) -> _config.Settings:
    return _config.resolve(environ=env, cwd=str(cwd))


def test_unset_or_off_means_nothing_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.lazyimport]\nnames = ['json']\n")
    for env in ({}, {"LAZYIMPORT": "0"}, {"LAZYIMPORT": ""}, {"LAZYIMPORT": "off"}):
        s = resolve(env, tmp_path)
        assert not s.enabled and s.file is None and s.problems == []


def test_names_priorities_star_and_preset(tmp_path):
    s = resolve({"LAZYIMPORT": "torch:1, transformers:2 sklearn"}, tmp_path)
    assert s.names == {"torch": 1, "transformers": 2, "sklearn": 3} and s.enabled
    assert resolve({"LAZYIMPORT": "*"}, tmp_path).names == {"*": 3}
    assert resolve({"LAZYIMPORT": "seed"}, tmp_path).names == SEED


def test_malformed_variable_is_reported_and_ignored(tmp_path):
    s = resolve({"LAZYIMPORT": "torch:high", "LAZYIMPORT_DEBUG": "1"}, tmp_path)
    assert not s.enabled
    assert s.problems == ["LAZYIMPORT: priority of 'torch' must be an integer, got 'high'"]
    s = resolve({"LAZYIMPORT": "torch nn-x"}, tmp_path)
    assert "'nn-x' is not a module name" in s.problems[0]


def test_pyproject_table_and_environment_overrides(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.lazyimport]
        names = {torch = 1, transformers = 2}
        exclude = ["torch.testing"]
        prefetch = true
        """))
    sub = tmp_path / "src" / "app"
    sub.mkdir(parents=True)
    s = resolve({"LAZYIMPORT": "1"}, sub)  # found from the working directory upward
    assert s.names == {"torch": 1, "transformers": 2}
    assert s.exclude == ["torch.testing"] and s.prefetch is True
    assert s.file == str(tmp_path / "pyproject.toml")
    s = resolve({"LAZYIMPORT": "numpy", "LAZYIMPORT_PREFETCH": "0"}, sub)
    assert s.names == {"numpy": 3} and s.prefetch is False and s.exclude == ["torch.testing"]


def test_config_file_named_by_variable(tmp_path):
    path = tmp_path / "lazy.toml"
    path.write_text("[tool.lazyimport]\nnames = ['json']\n")
    s = resolve({"LAZYIMPORT_CONFIG": str(path)}, tmp_path / "elsewhere")
    assert s.enabled and s.names == {"json": 3}


def test_malformed_keys_are_reported_one_by_one(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.lazyimport]
        names = ["json"]
        prefetch = "sometimes"
        exclude = 3
        colour = "blue"
        """))
    s = resolve({"LAZYIMPORT": "on"}, tmp_path)
    assert s.enabled and s.names == {"json": 3}  # the valid settings still apply
    text = "\n".join(s.problems)
    assert "prefetch: expected 1/0, true/false" in text
    assert "exclude: expected a list of module names" in text
    assert "unknown key(s) in [tool.lazyimport]: colour" in text


def test_broken_toml_is_reported(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.lazyimport\nnames = [")
    s = resolve({"LAZYIMPORT": "1"}, tmp_path)
    assert not s.enabled and "cannot be read as TOML" in s.problems[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.sampled_from("torch:,.* 0123abc_-\t\u00e9\u6f22xyz!=/;"), max_size=30)
       | st.text(max_size=20))
def test_any_value_resolves_without_raising(tmp_path, value):
    value = value.replace("\x00", "")
    s = resolve({"LAZYIMPORT": value}, tmp_path)
    assert all(isinstance(p, str) and p for p in s.problems)
    assert s.enabled == bool(s.names)


# --- in a fresh interpreter -------------------------------------------------

def _site_with_hook(tmp_path: Path) -> Path:
    """A directory holding lazyimport.pth, as site-packages would."""
    site_dir = tmp_path / "sitedir"
    site_dir.mkdir(exist_ok=True)
    (site_dir / "lazyimport.pth").write_text((ROOT / "lazyimport.pth").read_text())
    return site_dir


def _start(tmp_path: Path, env: dict[str, str], code: str):
    # `site.addsitedir` processes the .pth exactly as interpreter start does.
    # -S: an installed lazyimport.pth must not run before the one under test.
    boot = f"import site; site.addsitedir({str(_site_with_hook(tmp_path))!r})\n"
    return run_python(boot + code, cwd=tmp_path, env=env, check=False, timeout=60, flags=["-S"])


def test_hook_enables_from_the_environment(tmp_path):
    proc = _start(tmp_path, {"LAZYIMPORT": "json"}, "import json, lazyimport; print(lazyimport.is_lazy(json), json.dumps([1]))")
    assert proc.returncode == 0 and proc.stdout.split() == ["True", "[1]"] and proc.stderr == ""


def test_hook_with_variable_unset_imports_nothing(tmp_path):
    proc = _start(tmp_path, {}, "import sys; print('lazyimport' in sys.modules, 'lazyimport._boot' in sys.modules)")
    assert proc.stdout.split() == ["False", "False"]


def test_hook_never_breaks_start_up(tmp_path):
    proc = _start(tmp_path, {"LAZYIMPORT": "json:notanint"}, "import json; print(json.dumps([2]))")
    assert proc.returncode == 0 and proc.stdout.strip() == "[2]"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lazyimport: LAZYIMPORT: priority of 'json'")


def test_hook_survives_a_broken_package(tmp_path):
    # Even if lazyimport itself cannot be imported, start-up goes on eagerly.
    broken = tmp_path / "shadow" / "lazyimport"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('broken install')\n")
    code = (f"import site, sys; sys.path.insert(0, {str(broken.parent)!r}); "
            f"site.addsitedir({str(_site_with_hook(tmp_path))!r})\nimport json; print(json.dumps([3]))")
    proc = run_python(code, cwd=tmp_path, env={"LAZYIMPORT": "json"}, check=False, flags=["-S"])
    assert proc.returncode == 0 and proc.stdout.strip() == "[3]"
    assert proc.stderr.splitlines() == ["lazyimport: start-up hook not loaded: RuntimeError: broken install"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.sampled_from("json:,.* 01xyz_-!\u00e9"), max_size=16))
def test_fuzzed_variable_always_starts_and_json_works(tmp_path, value):
    proc = _start(tmp_path, {"LAZYIMPORT": value}, "import json; print(json.dumps({'a': 1}))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"a": 1}'
    assert all(line.startswith("lazyimport: ") for line in proc.stderr.splitlines()), proc.stderr


def test_report_file_written_at_exit(tmp_path):
    report = tmp_path / "report-{pid}.json"
    proc = _start(tmp_path, {"LAZYIMPORT": "json", "LAZYIMPORT_REPORT": str(report)}, "import json, os; print(os.getpid())")
    pid = proc.stdout.strip()
    data = (tmp_path / f"report-{pid}.json").read_text()
    assert '"json"' in data and '"deferred"' in data


def test_children_inherit_unless_told_not_to(tmp_path):
    code = ("import subprocess, sys\n"
            "print(subprocess.run([sys.executable, '-c', 'import os; print(os.environ.get(\"LAZYIMPORT\"))'],"
            " capture_output=True, text=True).stdout.strip())")
    assert _start(tmp_path, {"LAZYIMPORT": "json"}, code).stdout.strip() == "json"
    assert _start(tmp_path, {"LAZYIMPORT": "json", "LAZYIMPORT_CHILDREN": "0"}, code).stdout.strip() == "None"


def test_shipped_sitecustomize_chains_to_the_one_it_hides(tmp_path):
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "sitecustomize.py").write_text((ROOT / "sitecustomize.py").read_text())
    (second / "sitecustomize.py").write_text("import sys\nsys.stderr.write('original ran\\n')\nMARK = 7\n")
    env = {"LAZYIMPORT": "json", "PYTHONPATH": os.pathsep.join([str(first), str(second), str(ROOT)])}
    proc = subprocess_run(env, "import sitecustomize, json, lazyimport; print(lazyimport.is_lazy(json), sitecustomize.MARK)")
    assert proc.stdout.split() == ["True", "7"] and proc.stderr == "original ran\n"


def subprocess_run(env: dict[str, str], code: str):
    import subprocess

    full = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=60)
