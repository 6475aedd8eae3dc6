"""Issue 3: background prefetch by priority -- order, waiting, errors, threads,
fork and exit.  Every claim runs in a fresh interpreter with bounded waits."""
from __future__ import annotations

import json
import sys

import pytest

SLOW = {
    "heavy.py": "import time\ntime.sleep(0.4)\nX = 1\n",
    "light.py": "import time\ntime.sleep(0.1)\nY = 2\n",
    "never.py": "Z = 3\n",
    "bad.py": "import time\ntime.sleep(0.1)\nraise ValueError('broken in the background')\n",
}


def test_priority_order_and_only_imported_modules(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, _lazylog, json
        lazyimport.enable({"light": 2, "heavy": 1, "never": 1})
        import light, heavy          # `never` is configured but not imported
        lazyimport.prefetch()        # both queued before the thread picks: order is by priority
        assert lazyimport.wait(timeout=30)
        print(json.dumps(_lazylog.runs()))
        print(lazyimport.status()["packages"]["never"]["status"])
        """)
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0]) == ["heavy", "light"]
    assert lines[1] == "registered"


def test_unimported_modules_when_asked(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, _lazylog, sys
        lazyimport.enable({"light": 2, "never": 1})
        lazyimport.prefetch(all=True)
        assert lazyimport.wait(timeout=30)
        print(_lazylog.runs(), "never" in sys.modules, lazyimport.is_lazy(sys.modules["never"]))
        """)
    assert proc.stdout.strip() == "['never', 'light'] True False"


def test_explicit_names_are_prefetched_even_if_not_imported(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, _lazylog
        lazyimport.enable(["light", "never"])
        lazyimport.prefetch(["never"])
        assert lazyimport.wait(timeout=30)
        print(_lazylog.runs())
        """)
    assert proc.stdout.strip() == "['never']"


def test_app_thread_waits_for_the_prefetcher_and_gets_the_same_module(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, _lazylog, time, sys
        lazyimport.enable(["heavy"], prefetch=True)
        import heavy
        time.sleep(0.1)                      # the prefetcher is inside heavy's body now
        assert lazyimport.status()["prefetch"]["current"] == "heavy"
        import heavy as again                # a plain import waits too
        print(heavy.X, again is heavy is sys.modules["heavy"], _lazylog.runs())
        print(lazyimport.status()["packages"]["heavy"]["triggered_by"])
        """)
    lines = proc.stdout.splitlines()
    assert lines[0] == "1 True ['heavy']"
    assert lines[1].startswith("prefetch")


def test_background_failure_reaches_the_app_thread(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, traceback, sys
        lazyimport.enable(["bad"], prefetch=True)
        import bad
        assert lazyimport.wait(timeout=30)
        info = lazyimport.status()["packages"]["bad"]
        print(info["status"], info["error"], info["load_time"] > 0)
        try:
            bad.anything
        except ValueError as exc:
            frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
            print(type(exc).__name__, str(exc), any(f.endswith("bad.py") for f in frames))
        """, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "failed ValueError: broken in the background True"
    assert lines[1] == "ValueError broken in the background True"
    assert "Exception in thread" not in proc.stderr and proc.stderr == ""


def test_no_thread_and_no_threading_until_asked(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import sys
        import lazyimport
        lazyimport.enable(["heavy", "light"])
        import heavy, light
        print("threading" in sys.modules, lazyimport.status()["prefetch"]["running"])
        lazyimport.prefetch()
        print("threading" in sys.modules, lazyimport.wait(timeout=30))
        """)
    assert proc.stdout.split() == ["False", "False", "True", "True"]


def test_exit_while_prefetching_is_prompt_and_silent(fake):
    fake.write({"slowest.py": "import time\nfor _ in range(100):\n    time.sleep(0.05)\n"})
    proc = fake.run("""
        import lazyimport, time
        lazyimport.enable(["slowest"], prefetch=True)
        import slowest
        time.sleep(0.2)
        print("bye")
        """, timeout=20)
    assert proc.stdout.strip() == "bye" and proc.stderr == ""


def test_disable_stops_the_prefetcher(fake):
    fake.write(SLOW)
    proc = fake.run("""
        import lazyimport, time, threading
        lazyimport.enable({"heavy": 1, "light": 2}, prefetch=True)
        import heavy, light
        time.sleep(0.1)
        lazyimport.disable()                  # lets heavy finish, never starts light
        alive = [t.name for t in threading.enumerate() if t.name == "lazyimport-prefetch"]
        print(alive, lazyimport.is_lazy(light), heavy.X, light.Y)
        """)
    assert proc.stdout.strip() == "[] True 1 2"


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork()")
def test_fork_at_random_moments_during_prefetch(fake):
    # gunicorn --preload / multiprocessing with fork: children must never hang
    # on an import lock held by the (vanished) prefetch thread, nor see a
    # half-initialised module.
    fake.write({
        "big/__init__.py": "import time\nfrom . import part\ntime.sleep(0.05)\nfrom .part import P\nDONE = True\n",
        "big/part.py": "import time\ntime.sleep(0.05)\nP = 1\n",
        "other.py": "import time\ntime.sleep(0.03)\nO = 1\n",
    })
    proc = fake.run("""
        import lazyimport, os, random, sys, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)   # 3.12+: fork with threads
        random.seed(1234)
        failures = 0
        for trial in range(12):
            for name in [n for n in list(sys.modules) if n in ("big", "big.part", "other")]:
                del sys.modules[name]
            lazyimport.disable()
            lazyimport._state.STATE._reset()
            lazyimport.enable({"big": 1, "other": 2}, prefetch=True)
            import big, other
            time.sleep(random.uniform(0, 0.15))
            pid = os.fork()
            if pid == 0:
                try:
                    import big, other
                    ok = big.DONE and big.P == 1 and other.O == 1
                    os._exit(0 if ok else 3)
                except BaseException:
                    os._exit(4)
            deadline = time.monotonic() + 20
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    status = -1
                    break
                time.sleep(0.01)
            failures += status != 0
            lazyimport.wait(timeout=20)
        print("failures", failures)
        """, timeout=240)
    assert proc.stdout.strip() == "failures 0", proc.stderr


def test_prefetcher_and_app_threads_importing_related_modules(fake):
    # Bounded stress: the prefetcher runs a package while app threads touch
    # its submodules and a sibling that imports it back.
    fake.write({
        "ring/__init__.py": "import time\ntime.sleep(0.02)\nfrom . import a\nR = 1\n",
        "ring/a.py": "import time\ntime.sleep(0.02)\nfrom . import b\nA = 1\n",
        "ring/b.py": "import ring\nB = 1\n",
        "user.py": "import ring.a\nU = ring.a.A\n",
    })
    proc = fake.run("""
        import lazyimport, threading, _lazylog, collections
        for trial in range(5):
            pass
        lazyimport.enable({"ring": 1, "user": 2}, prefetch=True)
        import ring.b, user
        results = []
        def touch(mod, attr):
            results.append(getattr(mod, attr))
        ts = [threading.Thread(target=touch, args=a) for a in [(ring.b, "B"), (user, "U"), (ring, "R")] * 3]
        [t.start() for t in ts]
        [t.join(20) for t in ts]
        assert not any(t.is_alive() for t in ts), "hung"
        assert lazyimport.wait(timeout=20)
        counts = collections.Counter(_lazylog.runs())
        print(sorted(results), max(counts.values()))
        """, timeout=60)
    assert proc.stdout.strip() == "[1, 1, 1, 1, 1, 1, 1, 1, 1] 1"
