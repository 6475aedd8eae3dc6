"""Items 4 and 5: a failing body raises its own error at first use and is retried;
a missing module fails at the import statement, as without lazyimport."""
from __future__ import annotations

import sys
import traceback

import pytest

import lazyimport

BROKEN = {
    "broken/__init__.py": "X = 1\nraise RuntimeError('config file missing')\n",
    "broken/sub.py": "Y = 2\n",
}


def test_body_error_at_first_use_same_type_message_and_frames(fake):
    fake.write(BROKEN)
    lazyimport.enable(["broken"])
    import broken

    with pytest.raises(RuntimeError) as info:
        broken.X
    assert str(info.value) == "config file missing"
    frames = [f.filename for f in traceback.extract_tb(info.value.__traceback__)]
    assert any(name.endswith("broken/__init__.py") for name in frames)
    if sys.version_info >= (3, 11):
        notes = info.value.__notes__
        assert any("'broken'" in n and "test_errors.py" in n for n in notes), notes


def test_failed_module_leaves_sys_modules_and_retries(fake):
    fake.write(BROKEN)
    lazyimport.enable(["broken"])
    import broken
    import broken.sub as sub

    with pytest.raises(RuntimeError):
        sub.Y  # the parent runs first and fails
    assert "broken" not in sys.modules and "broken.sub" not in sys.modules
    assert fake.runs() == ["broken"]
    with pytest.raises(RuntimeError):
        broken.X  # the next use retries, as a new import would
    assert fake.runs() == ["broken", "broken"]
    info = lazyimport.status()["packages"]["broken"]
    assert info["status"] == "failed"
    assert info["error"] == "RuntimeError: config file missing" and info["error_type"] == "RuntimeError"


def test_retry_succeeds_once_the_cause_is_fixed(fake):
    fake.write({"flaky.py": "import os\nif not os.path.exists('ok'):\n    raise OSError('not yet')\nV = 1\n"})
    lazyimport.enable(["flaky"])
    import flaky

    with pytest.raises(OSError):
        flaky.V
    (fake.root / "ok").write_text("")
    import os

    old = os.getcwd()
    os.chdir(fake.root)
    try:
        assert flaky.V == 1
    finally:
        os.chdir(old)
    assert sys.modules["flaky"] is flaky and not lazyimport.is_lazy(flaky)


def test_missing_module_raises_at_the_import_statement(fake):
    lazyimport.enable(["not_installed_anywhere"])
    with pytest.raises(ModuleNotFoundError) as info:
        import not_installed_anywhere  # noqa: F401
    assert info.value.name == "not_installed_anywhere"
    assert lazyimport.status()["packages"]["not_installed_anywhere"]["status"] == "missing"


def test_missing_submodule_raises_at_the_import_statement(fake):
    fake.write({"pkg/__init__.py": ""})
    lazyimport.enable(["pkg"])

    def unguarded_import() -> None:  # inside `with pytest.raises` it would run eagerly
        import pkg.nope  # noqa: F401

    with pytest.raises(ModuleNotFoundError) as info:
        unguarded_import()
    assert info.value.name == "pkg.nope"
    assert fake.runs() == ["pkg"]  # eagerly too: the package runs, then the lookup fails


def test_submodule_created_by_its_package_body(fake):
    # six-style: the package's body registers a submodule no finder knows.
    fake.write({"pkg/__init__.py": "import sys, types\nsys.modules['pkg.virtual'] = types.ModuleType('pkg.virtual')\n"})
    lazyimport.enable(["pkg"])

    def unguarded_import():
        import pkg.virtual

        return pkg.virtual

    assert unguarded_import() is sys.modules["pkg.virtual"]
    assert fake.runs() == ["pkg"]


def test_try_except_import_error_guard_keeps_working(fake):
    lazyimport.enable(["torch_not_here"])
    try:
        import torch_not_here  # noqa: F401
        fallback = False
    except ImportError:
        fallback = True
    assert fallback


def test_guard_around_a_broken_installed_module_falls_back(fake):
    # r07: installed but its body raises ImportError.  Inside try/except the
    # import runs eagerly (PEP 690's rule), so the guard sees the error.
    fake.write({"fastjson.py": "import _no_such_speedups\n"})
    lazyimport.enable(["fastjson"])
    try:
        import fastjson as json
    except ImportError:
        import json
    assert json.__name__ == "json"
    assert lazyimport.status()["packages"]["fastjson"]["status"] == "failed"


def test_attribute_error_in_body_is_not_swallowed_by_hasattr(fake):
    # r12: hasattr()/getattr(m, x, None) must not turn a broken import into
    # "feature missing".
    fake.write({"compat.py": "import math\nOLD = math.removed_api\ndef fast():\n    pass\n"})
    lazyimport.enable(["compat"])
    import compat

    with pytest.raises(ImportError) as info:
        hasattr(compat, "fast")
    assert isinstance(info.value.__cause__, AttributeError)
    assert "removed_api" in str(info.value)


def test_error_in_a_fresh_interpreter_traceback(fake):
    fake.write(BROKEN)
    proc = fake.run(
        """
        import lazyimport
        lazyimport.enable(["broken"])
        import broken
        broken.X
        """,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.rstrip().splitlines()[-1 if sys.version_info < (3, 11) else -2] == (
        "RuntimeError: config file missing"
    )
    assert "broken/__init__.py" in proc.stderr
