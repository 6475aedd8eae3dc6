"""Issue 4: a process publishes its status to a private file; ``status --pid`` reads it.

Every publishing process here is a real child interpreter; the file lives under
a temporary XDG_RUNTIME_DIR.  All waits are bounded.
"""
from __future__ import annotations

import io
import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

# Imported at collection (see test_cli.py): one set of modules for every test.
from lazyimport import _boot, _cli, _config, _dumps, _publish, _views, _watch  # noqa: F401
from lazyimport.status import status

from .conftest import ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX runtime directory semantics")

PACKAGES = {"light.py": "LIGHT = 1\n", "heavy_ok.py": "H = 1\n"}

CHILD = """
import os, sys, time
def wait_for(name, limit=30.0):
    deadline = time.monotonic() + limit
    while not os.path.exists(name):
        if time.monotonic() > deadline:
            sys.exit(9)
        time.sleep(0.01)
"""

BOOT = "from lazyimport._boot import boot\nboot()\n"


class Child:
    """A publishing child interpreter (killed, by pid, if the test ends early)."""

    def __init__(self, root: Path, runtime: Path, body: str, env: dict[str, str] | None = None,
                 boot: bool = True, prelude: str = "") -> None:
        full = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
        full.update(PYTHONPATH=os.pathsep.join([str(root), str(ROOT)]), XDG_RUNTIME_DIR=str(runtime),
                    LAZYIMPORT="light,heavy_ok", LAZYIMPORT_PUBLISH="1")
        full.update(env or {})
        self.root = root
        code = CHILD + prelude + (BOOT if boot else "") + textwrap.dedent(body)
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(root),
                                     env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid

    def line(self, timeout: float = 30.0) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"child {self.pid} printed nothing in {timeout}s"
        return self.proc.stdout.readline().strip()

    def signal(self, name: str) -> None:
        (self.root / name).write_text("")

    def finish(self, timeout: float = 30.0) -> tuple[int, str]:
        try:
            _, err = self.proc.communicate(timeout=timeout)
        finally:
            self.kill()
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """A private XDG_RUNTIME_DIR for this test, seen by us and our children."""
    path = tmp_path / "xdg"
    path.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path


@pytest.fixture
def children():
    made: list[Child] = []
    yield made
    for child in made:
        child.kill()


def recording() -> Console:
    return Console(file=io.StringIO(), width=140, color_system=None)


def read_status(pid: int, *extra: str) -> tuple[int, str]:
    c = recording()
    code = _cli.main(["status", "--pid", str(pid), *extra], console=c)
    return code, c.file.getvalue()  # type: ignore[attr-defined]


def poll(predicate, timeout: float = 10.0, every: float = 0.02):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


def snapshot_of(pid: int) -> dict | None:
    outcome, snapshot, _ = _watch.read(pid)
    return snapshot if outcome == _watch.LIVE else None


def test_runtime_directory_choice(monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert _publish.runtime_dir() == "/run/user/1000/lazyimport"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/dir")  # not absolute: ignored, as the spec says
    assert _publish.runtime_dir() == f"/tmp/lazyimport-{os.getuid()}"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert _publish.runtime_dir() == f"/tmp/lazyimport-{os.getuid()}"
    assert _publish.status_path(42, "/x") == "/x/42.json"


def test_publish_read_permissions_and_removal_at_exit(fake, runtime, children):
    fake.write(PACKAGES, record=False)
    # The most permissive umask: our modes must not depend on it.
    child = Child(fake.root, runtime, """
        import light, heavy_ok
        print("ready", flush=True)
        wait_for("go")
        light.LIGHT
        print("used", flush=True)
        wait_for("exit")
        """, prelude="os.umask(0)\n")
    children.append(child)
    assert child.line() == "ready"
    directory = runtime / "lazyimport"
    path = directory / f"{child.pid}.json"
    poll(lambda: (snapshot_of(child.pid) or {}).get("packages", {}).get("heavy_ok", {}).get("status") == "deferred")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_uid == os.getuid()
    code, text = read_status(child.pid)
    assert code == 0, text
    assert any("light" in line and "deferred" in line for line in text.splitlines()), text
    child.signal("go")
    assert child.line() == "used"
    poll(lambda: (snapshot_of(child.pid) or {}).get("packages", {}).get("light", {}).get("status") == "loaded")
    code, text = read_status(child.pid)
    assert code == 0 and "loaded" in text and f"pid {child.pid}" in text and "1/2 packages loaded" in text
    child.signal("exit")
    rc, err = child.finish()
    assert rc == 0, err
    assert not path.exists() and os.listdir(directory) == []
    code, _ = read_status(child.pid)
    assert code == _cli.NO_PROCESS


def test_writes_are_atomic_throttled_and_end_with_the_latest_state(fake, runtime, children):
    names = [f"m{i}" for i in range(60)]
    fake.write({f"{n}.py": "import time\ntime.sleep(0.005)\nX = 1\n" for n in names}, record=False)
    child = Child(fake.root, runtime, f"""
        import importlib
        names = {names!r}
        mods = [importlib.import_module(n) for n in names]
        print("ready", flush=True)
        wait_for("go")
        for m in mods:
            m.X
        print("done", flush=True)
        wait_for("exit")
        """, env={"LAZYIMPORT": ",".join(names)})
    children.append(child)
    assert child.line() == "ready"
    poll(lambda: snapshot_of(child.pid))
    child.signal("go")
    sequences = []
    reads = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        outcome, snapshot, message = _watch.read(child.pid)
        assert outcome == _watch.LIVE, message  # never half a file
        reads += 1
        sequences.append(snapshot["publisher"]["sequence"])
        if snapshot["progress"]["loaded_packages"] == 60:
            break
    else:
        raise AssertionError("the final state was never published")
    assert sequences == sorted(sequences) and reads > 10
    final = snapshot_of(child.pid)
    assert final is not None
    # At most one write per interval, plus the first one and the one in flight.
    assert final["publisher"]["sequence"] <= final["elapsed"] / _publish.INTERVAL + 3, final["publisher"]
    assert set(os.listdir(runtime / "lazyimport")) <= {f"{child.pid}.json", f".{child.pid}.json.tmp"}
    child.signal("exit")
    assert child.finish()[0] == 0


def test_a_killed_process_leaves_a_stale_file_that_is_reported_then_swept(fake, runtime, children, capsys):
    fake.write(PACKAGES, record=False)
    # The enable(..., publish=True) path: _publish.start() after enable().
    body = """
        import lazyimport
        from lazyimport import _publish
        lazyimport.enable(["light"])
        _publish.start()
        import light
        print("ready", flush=True)
        wait_for("never")
        """
    # (ROOT's sitecustomize.py would boot from LAZYIMPORT*: switch that off.)
    victim = Child(fake.root, runtime, body, boot=False, env={"LAZYIMPORT": "0", "LAZYIMPORT_PUBLISH": "0"})
    children.append(victim)
    assert victim.line() == "ready"
    path = runtime / "lazyimport" / f"{victim.pid}.json"
    poll(lambda: (snapshot_of(victim.pid) or {}).get("packages", {}).get("light", {}).get("status") == "deferred")
    victim.kill()  # SIGKILL: no atexit
    assert path.exists()
    code, text = read_status(victim.pid)
    assert code == _cli.STALE and "stale" in text and "light" in text and "deferred" in text
    assert _cli.main(["status", "--pid", str(victim.pid), "--json"]) == _cli.STALE
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pid"] == victim.pid and "stale" in captured.err
    # The next process that publishes sweeps it away.
    (fake.root / "never").write_text("")
    sweeper = Child(fake.root, runtime, "print('ready', flush=True)\n")
    children.append(sweeper)
    assert sweeper.line() == "ready"
    assert sweeper.finish()[0] == 0
    assert not path.exists()
    assert read_status(victim.pid)[0] == _cli.NO_PROCESS


def test_status_of_a_process_that_does_not_publish(fake, runtime, children):
    fake.write(PACKAGES, record=False)
    child = Child(fake.root, runtime, "print('ready', flush=True)\nwait_for('exit')\n",
                  env={"LAZYIMPORT_PUBLISH": "0"})
    children.append(child)
    assert child.line() == "ready"
    code, _ = read_status(child.pid)
    assert code == _cli.NO_PROCESS
    child.signal("exit")
    assert child.finish()[0] == 0


def test_watch_follows_the_process_until_it_exits(fake, runtime, children):
    fake.write(PACKAGES, record=False)
    child = Child(fake.root, runtime, """
        import light
        print("ready", flush=True)
        wait_for("go")
        light.LIGHT
        time.sleep(0.5)
        """)
    children.append(child)
    assert child.line() == "ready"
    poll(lambda: snapshot_of(child.pid))
    c = recording()
    result: list[int] = []
    watcher = threading.Thread(target=lambda: result.append(
        _cli.main(["status", "--pid", str(child.pid), "--watch"], console=c)))
    watcher.start()
    time.sleep(0.3)
    child.signal("go")
    assert child.finish()[0] == 0
    watcher.join(timeout=30)
    assert not watcher.is_alive(), "--watch did not end when the process exited"
    assert result == [0]
    text = c.file.getvalue()  # type: ignore[attr-defined]
    assert f"process {child.pid} exited" in text and "loaded" in text


def test_watch_exits_cleanly_on_ctrl_c(monkeypatch):
    def interrupted(pid: int):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(_watch, "read", interrupted)
    assert _cli.main(["status", "--pid", "1", "--watch"], console=recording()) == _cli.INTERRUPTED


def test_a_directory_that_is_not_ours_is_refused(fake, runtime, children, tmp_path):
    if os.getuid() != 0:
        pytest.skip("making a directory owned by another user needs root")
    directory = runtime / "lazyimport"
    directory.mkdir(mode=0o755)
    os.chown(directory, 12345, 12345)
    fake.write(PACKAGES, record=False)
    child = Child(fake.root, runtime, "import light, lazyimport\nprint(lazyimport.is_lazy(light))\n")
    children.append(child)
    assert child.line() == "True"  # lazy imports still on
    rc, err = child.finish()
    assert rc == 0
    assert "not publishing" in err and "belongs to uid 12345" in err
    assert os.listdir(directory) == []
    with pytest.raises(_publish.PublishError, match="belongs to uid 12345"):
        _publish.check_dir(str(directory), create=False)


def test_a_symlink_or_loose_directory(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o755)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(_publish.PublishError, match="not a directory"):
        _publish.check_dir(str(link), create=False)
    os.chmod(real, 0o777)
    _publish.check_dir(str(real), create=False)  # ours, too open: tightened
    assert stat.S_IMODE(real.stat().st_mode) == 0o700


def test_a_forked_worker_publishes_under_its_own_pid(fake, runtime, children):
    fake.write(PACKAGES, record=False)
    child = Child(fake.root, runtime, """
        import subprocess, warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads
        import light
        from lazyimport import _publish
        directory = _publish.runtime_dir()
        mine = os.path.join(directory, f"{os.getpid()}.json")
        deadline = time.monotonic() + 10
        while not os.path.exists(mine) and time.monotonic() < deadline:
            time.sleep(0.01)
        sys.stdout.flush()
        worker = os.fork()
        if worker == 0:
            light.LIGHT  # its first state change: it publishes from here on
            theirs = os.path.join(directory, f"{os.getpid()}.json")
            deadline = time.monotonic() + 10
            while not os.path.exists(theirs) and time.monotonic() < deadline:
                time.sleep(0.01)
            print("worker file", os.path.exists(theirs), flush=True)
            sys.exit(0)  # atexit: removes the worker's file, never the parent's
        os.waitpid(worker, 0)
        plain = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
        # The nap gives a publisher started by the at-fork hook time to write.
        subprocess.Popen([sys.executable, "-S", "-c", "pass"], env=plain, preexec_fn=lambda: time.sleep(0.3)).wait()
        print("after worker", os.path.exists(mine), os.path.exists(os.path.join(directory, f"{worker}.json")),
              sorted(os.listdir(directory)) == [os.path.basename(mine)], flush=True)
        """)
    children.append(child)
    assert child.line() == "worker file True"
    # The parent's file stays; the worker's went at its exit; a fork+exec
    # (subprocess with preexec_fn runs the at-fork hooks) left no file.
    assert child.line() == "after worker True False True"
    assert child.finish()[0] == 0


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
))
def test_the_encoder_agrees_with_json(value):
    assert json.loads(_dumps.dumps(value)) == value


def test_the_encoder_on_a_real_snapshot(fake):
    import lazyimport

    fake.write(PACKAGES)
    lazyimport.enable(["light"])
    import light  # noqa: F401

    snapshot = status()
    assert json.loads(_dumps.dumps(snapshot)) == json.loads(json.dumps(snapshot))
