"""Time-to-ready of a model app: eager imports vs deferred vs deferred + prefetch.

The app spends A seconds on its own start-up work, then needs torch and
transformers (first real use of both).  Measured in fresh interpreters,
interleaved, median of --runs:

  eager     import torch, transformers; work(A); use    ~ T + A
  lazy      deferred imports;           work(A); use    ~ A + T (fast start, same total)
  prefetch  deferred + prefetch=True;   work(A); use    goal <= 1.05 x max(A, T) when
                                                          the work waits on I/O

The work is I/O (sleep), pure Python (a CPU loop; the GIL serialises it with
the prefetcher), or half of each.  Also reported: how much the app's own
start-up work slows down while the prefetcher runs.

Without torch installed (only CPython 3.11 has it here) two generated fake
heavy packages stand in, labelled as such.

    python benchmarks/bench_prefetch.py [--runs 5] [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

APP = r"""
import sys, time
t0 = time.perf_counter()
mode, kind, amount = sys.argv[1], sys.argv[2], float(sys.argv[3])
names = sys.argv[4].split(",")
if mode != "eager":
    import lazyimport
    lazyimport.enable({n: i + 1 for i, n in enumerate(names)}, prefetch=(mode == "prefetch"))
modules = [__import__(n) for n in names]
started = time.perf_counter()

def cpu(iterations):
    # A fixed amount of pure-Python work (calibrated to take the requested
    # time on a quiet interpreter), so a slowdown shows up as elapsed time.
    n = 0
    for _ in range(int(iterations)):
        n += sum(range(200))
    return n

w0 = time.perf_counter()
rate = float(sys.argv[5])  # CPU iterations per second, calibrated by the parent
if kind == "io":
    time.sleep(amount)
elif kind == "cpu":
    cpu(amount * rate)
else:
    time.sleep(amount / 2)
    cpu(amount / 2 * rate)
work = time.perf_counter() - w0
for m in modules:            # first real use of each
    m.__dict__
    getattr(m, "__version__", None)
ready = time.perf_counter()
print(f"{started - t0:.6f} {work:.6f} {ready - t0:.6f}")
"""

FAKE_BODY = textwrap.dedent("""
    import time
    def _burn(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            sum(range(200))
    _burn({cpu})
    time.sleep({io})
    __version__ = "0"
    """)


def _env(extra_path: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run it: byte-compiled
    paths = [str(REPO)] + ([extra_path] if extra_path else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


CALIBRATE = "import time\nt=time.perf_counter()\nn=0\nfor _ in range(200000):\n    n += sum(range(200))\nprint(200000/(time.perf_counter()-t))"
RATE = 1.0


def _run(mode: str, kind: str, amount: float, names: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", APP, mode, kind, str(amount), ",".join(names), str(RATE)],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def _fake_packages(directory: str) -> list[str]:
    # Roughly torch-like: mostly CPU-bound module bodies, a little file I/O.
    for name, cpu, io in (("fakeheavy_a", 0.6, 0.1), ("fakeheavy_b", 0.3, 0.05)):
        Path(directory, f"{name}.py").write_text(FAKE_BODY.format(cpu=cpu, io=io))
    return ["fakeheavy_a", "fakeheavy_b"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run each (CI smoke)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "lazyimport")], check=True)

    tmp = tempfile.TemporaryDirectory()
    real = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
    names = ["torch", "transformers"] if real else _fake_packages(tmp.name)
    env = _env(None if real else tmp.name)
    label = "torch + transformers" if real else "two FAKE heavy packages (torch not installed)"

    global RATE
    RATE = statistics.median(
        float(subprocess.run([sys.executable, "-c", CALIBRATE], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    )
    # T: what the heavy imports cost on their own (eager, no work).
    base = [_run("eager", "io", 0.0, names, env)[2] for _ in range(max(runs, 3))]
    heavy = statistics.median(base)
    amount = round(heavy, 2)  # A = T: where overlap matters most
    print(f"lazyimport prefetch benchmark -- {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores, {platform.machine()}")
    print(f"modules: {label}; T (eager import alone) = {heavy:.3f} s; app work A = {amount:.2f} s; "
          f"median of {runs} interleaved run(s)\n")

    results: dict[str, dict[str, dict[str, float]]] = {}
    for kind in ("io", "cpu", "mixed"):
        samples: dict[str, list[tuple[float, float, float]]] = {m: [] for m in ("eager", "lazy", "prefetch")}
        for _ in range(runs):
            for mode in samples:
                samples[mode].append(_run(mode, kind, amount, names, env))
        results[kind] = {
            mode: {
                "start": statistics.median(s[0] for s in values),
                "work": statistics.median(s[1] for s in values),
                "ready": statistics.median(s[2] for s in values),
            }
            for mode, values in samples.items()
        }
    bound = max(amount, heavy)
    print(f"{'work':6} {'mode':9} {'start-up':>9} {'work':>7} {'ready':>7} {'ready/max(A,T)':>15} {'work slowdown':>14}")
    for kind, modes in results.items():
        own = modes["lazy"]["work"]
        for mode, m in modes.items():
            print(f"{kind:6} {mode:9} {m['start']:9.3f} {m['work']:7.3f} {m['ready']:7.3f} "
                  f"{m['ready'] / bound:15.2f} {m['work'] / own:13.2f}x")
    io = results["io"]["prefetch"]["ready"] / bound
    verdict = "PASS" if io <= 1.05 else "MISS"
    print(f"\nI/O-bound work with prefetch: ready at {io:.2f} x max(A, T) (goal <= 1.05: {verdict})")
    print(f"pure-Python work with prefetch: ready at {results['cpu']['prefetch']['ready'] / bound:.2f} x max(A, T) "
          f"(the GIL serialises the two; eager is {results['cpu']['eager']['ready'] / bound:.2f} x)")
    if args.json:
        Path(args.json).write_text(json.dumps({"T": heavy, "A": amount, "modules": label, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
