"""Issue 4: the status() snapshot -- its fields, that taking it never runs a
module and is safe while other threads import -- and rendering it with rich."""
from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time

import pytest
from rich.console import Console

import lazyimport
from lazyimport import _render, _views
from lazyimport.status import status

from .conftest import ROOT

TOP_KEYS = {"enabled", "version", "pid", "python", "generated_at", "elapsed", "progress", "packages", "modules"}
PROGRESS_KEYS = {"total_packages", "loaded_packages", "failed_packages", "is_loading", "progress_percentage"}
RECORD_KEYS = {
    "status", "load_time", "self_time", "error", "error_type", "priority", "reason", "imported_at",
    "triggered_by", "thread", "origin", "deferred_at", "started_at", "finished_at",
}

PACKAGES = {
    "alpha/__init__.py": "import time\ntime.sleep(0.01)\nVALUE = 1\n",
    "alpha/sub.py": "S = 2\n",
    "beta.py": "B = 3\n",
    "broken.py": "raise LookupError('no beta config')\n",
}


def console(width: int = 120) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None)


def text_of(c: Console) -> str:
    return c.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_snapshot_shape_is_seed_compatible_plus_documented_extras(fake):
    fake.write(PACKAGES)
    lazyimport.enable({"alpha": 1, "beta": 2, "missing_pkg": 3})
    import alpha  # noqa: F401

    snap = status()
    assert TOP_KEYS <= set(snap)
    assert set(snap["progress"]) == PROGRESS_KEYS
    assert list(snap["packages"]) == ["alpha", "beta", "missing_pkg"]  # configuration order
    for record in list(snap["packages"].values()) + list(snap["modules"].values()):
        assert set(record) == RECORD_KEYS
    assert snap["version"] == lazyimport.__version__ and snap["pid"] == os.getpid()
    assert snap["python"]["version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert abs(snap["generated_at"] - time.time()) < 60 and snap["elapsed"] >= 0
    alpha_record = snap["packages"]["alpha"]
    assert alpha_record["status"] == "deferred" and alpha_record["priority"] == 1
    assert alpha_record["origin"] == str(fake.root / "alpha" / "__init__.py")
    assert alpha_record["imported_at"].endswith(f"test_status.py:{_line_of('import alpha  # noqa: F401')}")
    json.dumps(snap, allow_nan=False)  # plain JSON, no NaN


def _line_of(text: str) -> int:
    with open(__file__) as f:
        return next(i for i, line in enumerate(f, 1) if text in line and "_line_of" not in line)


def test_times_and_trigger_after_first_use(fake):
    fake.write(PACKAGES)
    lazyimport.enable(["alpha"])
    import alpha

    assert alpha.VALUE == 1
    rec = status()["packages"]["alpha"]
    assert rec["status"] == "loaded" and rec["load_time"] >= 0.01
    assert rec["self_time"] <= rec["load_time"]
    assert 0 <= rec["deferred_at"] <= rec["started_at"] <= rec["finished_at"]
    assert rec["triggered_by"].startswith("first use at ") and "test_status.py" in rec["triggered_by"]
    assert rec["thread"] == threading.current_thread().name
    progress = status()["progress"]
    assert progress["loaded_packages"] == 1 and progress["progress_percentage"] == 100.0


def test_taking_a_snapshot_never_runs_a_module(fake):
    fake.write(PACKAGES)
    lazyimport.enable(["alpha", "beta", "broken"])
    import alpha
    import alpha.sub  # noqa: F401
    import beta  # noqa: F401
    import broken  # noqa: F401

    for _ in range(20):
        snap = status()
        json.dumps(snap)
    assert fake.runs() == []
    assert {name: r["status"] for name, r in snap["modules"].items()} == {
        "alpha": "deferred", "alpha.sub": "deferred", "beta": "deferred", "broken": "deferred"}
    assert lazyimport.is_lazy(alpha)


def test_snapshots_while_other_threads_import_and_load(fake):
    names = [f"mod{i}" for i in range(40)]
    fake.write({f"{name}.py": "import time\ntime.sleep(0.001)\nX = 1\n" for name in names})
    lazyimport.enable(names)
    errors: list[BaseException] = []
    snapshots: list[dict] = []
    done = threading.Event()

    def observe() -> None:
        try:
            while not done.is_set():
                snapshot = status()
                json.dumps(snapshot)
                snapshots.append(snapshot["progress"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def work(part: list[str]) -> None:
        try:
            for name in part:
                module = __import__(name)
                assert module.X == 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    observers = [threading.Thread(target=observe) for _ in range(2)]
    workers = [threading.Thread(target=work, args=(names[i::3],)) for i in range(3)]
    for t in observers + workers:
        t.start()
    for t in workers:
        t.join(timeout=60)
    done.set()
    for t in observers:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in observers + workers), "a thread hung"
    assert errors == []
    final = status()["progress"]
    assert final["loaded_packages"] == final["total_packages"] == 40
    loaded = [p["loaded_packages"] for p in snapshots]
    assert loaded and all(0 <= n <= 40 for n in loaded)


def test_failure_is_reported_with_its_type(fake):
    fake.write(PACKAGES)
    lazyimport.enable(["broken"])
    import broken

    with pytest.raises(LookupError):
        _ = broken.anything
    rec = status()["packages"]["broken"]
    assert rec["status"] == "failed" and rec["error_type"] == "LookupError"
    assert rec["error"] == "LookupError: no beta config"
    assert status()["progress"]["failed_packages"] == 1


def test_every_field_is_documented():
    doc = sys.modules["lazyimport.status"].__doc__ or ""  # lazyimport.status is the function
    guide = (ROOT / "docs" / "status.md").read_text()
    for key in TOP_KEYS | PROGRESS_KEYS | RECORD_KEYS:
        assert re.search(rf"^\s+{key}\s", doc, re.MULTILINE), f"{key} missing from lazyimport.status's docstring"
        assert f"`{key}`" in guide, f"{key} missing from docs/status.md"


# --- rendering ---------------------------------------------------------------

def test_table_shows_state_time_trigger_version_and_error():
    rows = [
        {"name": "torch", "state": "loaded", "priority": 1, "load_time": 2.5,
         "triggered_by": "first use at app/server.py:93", "version": "2.13.0", "error": None},
        {"name": "PIL", "state": "deferred", "priority": 2, "load_time": None,
         "triggered_by": "not used yet", "version": "11.0.0 (Pillow)", "error": None},
        {"name": "cv2", "state": "failed", "priority": 1, "load_time": 0.0123,
         "triggered_by": "prefetch", "version": None, "error": "ImportError: libGL.so.1"},
    ]
    c = console()
    c.print(_render.status_table(rows, "lazyimport: status"))
    out = text_of(c)
    for header in ("name", "state", "priority", "load time", "triggered by", "version"):
        assert header in out
    assert re.search(r"torch\s+│\s+loaded\s+│\s+1\s+│\s+2\.50 s\s+│ first use at app/server.py:93", out), out
    assert "11.0.0 (Pillow)" in out and "12.3 ms" in out
    assert "ImportError: libGL.so.1" in out


def test_configuration_table_has_no_timing_columns():
    rows = [{"name": "rich", "state": "installed", "priority": 3, "load_time": None,
             "triggered_by": None, "version": "15.0.0", "error": None}]
    c = console()
    c.print(_render.status_table(rows))
    out = text_of(c)
    assert "load time" not in out and "triggered by" not in out and "15.0.0" in out


def test_view_of_a_live_snapshot(fake):
    fake.write(PACKAGES)
    lazyimport.enable({"alpha": 1, "beta": 2})
    import alpha
    import beta  # noqa: F401

    assert alpha.VALUE == 1
    view = _views.snapshot_view(status(), title="now")
    assert [(r["name"], r["state"]) for r in view["rows"]] == [("alpha", "loaded"), ("beta", "deferred")]
    assert view["rows"][1]["triggered_by"].startswith("not used yet (imported at ")
    assert _views.exit_code_for(view["rows"]) == 0
    c = console()
    _render.print_view(c, view)
    out = text_of(c)
    assert f"pid {os.getpid()}" in out and "1/2 packages loaded (50%)" in out
    assert "test_status.py" in out


def test_durations_and_paths():
    assert [_render.duration(x) for x in (None, 2.0, 0.0456, 0.00078)] == ["-", "2.00 s", "45.6 ms", "780 µs"]
    site = os.sep.join(["", "venv", "lib", "site-packages", "torch", "nn.py:3"])
    assert _views.short_path(f"first use at {site}") == f"first use at torch{os.sep}nn.py:3"
    assert _views.short_path("at /work/app/x.py:1", cwd="/work") == "at app/x.py:1"


def test_a_running_body_shows_how_long_it_has_been_running():
    record = {"status": "loading", "started_at": 1.0, "triggered_by": "prefetch", "priority": 1}
    snapshot = {"elapsed": 2.0, "generated_at": 100.0, "packages": {"torch": record}}
    # Written 3 s ago, one second into the load: running for 4 s now.
    view = _views.snapshot_view(snapshot, now=103.0)
    assert view["rows"][0]["triggered_by"] == "running for 4.0 s (prefetch)"
    assert _views.snapshot_view(snapshot)["rows"][0]["triggered_by"] == "running for 1.0 s (prefetch)"
