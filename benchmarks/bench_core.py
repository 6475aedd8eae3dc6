#!/usr/bin/env python3
"""lazyimport's core costs, each measured side by side with its baseline in one run.

    python benchmarks/bench_core.py                 # a few minutes
    python benchmarks/bench_core.py --quick         # CI smoke run, < ~60 s
    python benchmarks/bench_core.py --json out.json [--ref HEAD] [--keep]

Set-up: a throwaway venv made from the running interpreter's base Python, with
lazyimport installed non-editable (``pip install --no-deps <repo>``, so its .pth
hook is there, inert) and byte-compiled (checked with ``-v``).  If the running
interpreter is itself a venv, its site-packages (torch, transformers) is
appended to the throwaway venv's sys.path by a path line, so those packages
import exactly as installed.  Children run with the bytecode cache on
(PYTHONDONTWRITEBYTECODE removed), from an empty directory.  Variants are
interleaved: every variant once per round, in a shuffled (seeded) order.
Numbers are medians with p25-p75 and, for ratios, a bootstrap 95% interval;
whole-process CPU time (wait4) and in-process CPU time are printed next to wall
time because a shared 2-core machine makes wall time noisy.  Without
torch/transformers, sections a, d and e use big generated fake packages instead
(labelled "FAKE").

Sections:
  a  whole process: bare `python -c pass` vs lazyimport-deferred vs eager vs a
     naive importlib.util.LazyLoader finder
  b  the deferred import statement itself, per module (in-process)
  c  imports that are not deferred: ~300 stdlib modules, lazyimport enabled for
     unrelated names vs not enabled (in-process import loop)
  d  deferred `import torch` through first use `torch.tensor([1.0])` vs eager
  e  RSS of a deferred, never-used torch + transformers vs a bare interpreter
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

TARGETS = {
    "a": 1.15,   # lazy process / bare process
    "b": 0.2,    # ms per deferred import statement
    "c": 1.0,    # % overhead on imports that are not deferred
    "d": 1.03,   # lazy import-to-first-use / eager
    "e": 2.0,    # MB RSS over bare
}

# --------------------------------------------------------------------------- child code

# The textbook recipe the project is measured against: a meta path finder that
# finds the real spec through the other finders and wraps its loader in the
# stdlib's importlib.util.LazyLoader.
NAIVE = '''\
import sys
import importlib.util


class NaiveLazyFinder:
    def __init__(self, tops):
        self.tops = frozenset(tops)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in self.tops:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = None if find_spec is None else find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


sys.meta_path.insert(0, NaiveLazyFinder({tops!r}))
'''

ENABLE = "import lazyimport\nlazyimport.enable({tops!r})\n"

# Appended to a statement once, before timing, to see what it really did.
CHECK = '''
import sys as _s
_tops = {tops!r}
_loaded = sorted(n for n in _s.modules if n.partition(".")[0] in _tops)
_kinds = {{n: type(_s.modules[n]).__name__ for n in {names!r} if n in _s.modules}}
try:
    import lazyimport as _li
    _lazy = {{n: _li.is_lazy(_s.modules[n]) for n in {names!r} if n in _s.modules}}
except ImportError:
    _lazy = None
print(repr((len(_loaded), _kinds, _lazy)))
'''

RSS = '''
def _rss_kb():
    try:
        with open("/proc/self/status") as f:
            found = {}
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
        return found["VmRSS"], found["VmHWM"]
    except (OSError, KeyError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak
print(*_rss_kb())
'''

DEFERRED_STMTS = '''\
import sys, time
pc = time.perf_counter_ns
t_a = pc()
import lazyimport
t_b = pc()
lazyimport.enable({tops!r} + ["lzbempty000"])
t_c = pc()
{prime}t0 = pc()
import {torch}
t1 = pc()
import {transformers}
t2 = pc()
import {torch}.nn
t3 = pc()
import {torch}
t4 = pc()
import os
t5 = pc()
ok = all(lazyimport.is_lazy(sys.modules[n]) for n in ("{torch}", "{transformers}", "{torch}.nn"))
print(t_b - t_a, t_c - t_b, t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, int(ok))
'''

# The floor: what finding the same modules costs any import (fresh process; the
# path finder's directory caches are cold, as for the first import in the process).
FIND_FLOOR = '''\
import sys, time
from importlib.machinery import PathFinder
pc = time.perf_counter_ns
t0 = pc()
a = PathFinder.find_spec("{torch}")
t1 = pc()
b = PathFinder.find_spec("{transformers}")
t2 = pc()
c = PathFinder.find_spec("{torch}.nn", a.submodule_search_locations)
t3 = pc()
assert a and b and c
print(t1 - t0, t2 - t1, t3 - t2)
'''

FIRST_USE = '''\
import sys, time
if sys.argv[1] == "lazy":
    import lazyimport
    lazyimport.enable({tops!r})
pc, cpu = time.perf_counter_ns, time.process_time_ns
c0 = cpu()
t0 = pc()
import {torch}
t1 = pc()
x = {torch}.tensor([1.0])
t2 = pc()
c2 = cpu()
state = "eager"
if sys.argv[1] == "lazy":
    state = lazyimport.status()["modules"]["{torch}"]["status"]
n = sum(1 for m in sys.modules if m.partition(".")[0] == "{torch}")
print(t1 - t0, t2 - t1, t2 - t0, c2 - c0, state, n)
'''

STDLIB_PROBE = r'''
import io, os, sys, warnings
blocked = set(sys.argv[1].split(","))
if hasattr(sys, "stdlib_module_names"):
    candidates = set(sys.stdlib_module_names)
else:  # 3.9: list the stdlib directories
    candidates = set(sys.builtin_module_names)
    libdir = os.path.dirname(os.__file__)
    for d in (libdir, os.path.join(libdir, "lib-dynload")):
        for entry in os.listdir(d):
            name = entry.partition(".")[0]
            if name.isidentifier() and entry not in ("site-packages", "__pycache__"):
                candidates.add(name)
good = []
out, err = sys.stdout, sys.stderr
for name in sorted(candidates):
    if name in blocked or name.startswith(("_test", "_xx", "xx", "__")) or name.endswith("_test"):
        continue
    buf = io.StringIO()
    sys.stdout = sys.stderr = buf
    ok = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            __import__(name)
        ok = not caught and not buf.getvalue()
    except BaseException:
        pass
    finally:
        sys.stdout, sys.stderr = out, err
    if ok:
        good.append(name)
print(" ".join(good))
'''

# Interactive, GUI, side effects on import, or test-only: never in the list.
STDLIB_BLOCKED = ("antigravity,this,idlelib,tkinter,_tkinter,turtle,turtledemo,curses,_curses,_curses_panel,"
                  "readline,rlcompleter,test,lib2to3,ensurepip,site,sitecustomize,usercustomize,pydoc_data")

STDLIB_LOOP = '''\
import sys, time
with open(sys.argv[1]) as f:
    prelude, names = (line.split() for line in f.read().split("\\n")[:2])
if sys.argv[2] == "lazy":
    import lazyimport
    lazyimport.enable(["torch", "transformers"])
for n in prelude:
    __import__(n)
already = sum(1 for n in names if n in sys.modules)
before = len(sys.modules)
pc, cpu = time.perf_counter_ns, time.process_time_ns
c0 = cpu()
t0 = pc()
for n in names:
    __import__(n)
t1 = pc()
c1 = cpu()
print(t1 - t0, c1 - c0, len(sys.modules) - before, already)
'''

# How many find_spec calls the loop makes (each one is what a miss costs us).
STDLIB_COUNT = '''\
import sys
with open(sys.argv[1]) as f:
    prelude, names = (line.split() for line in f.read().split("\\n")[:2])
import lazyimport
lazyimport.enable(["torch", "transformers"])
for n in prelude:
    __import__(n)
class Count:
    calls = 0
    def find_spec(self, name, path=None, target=None):
        Count.calls += 1
        return None
sys.meta_path.insert(0, Count())
for n in names:
    __import__(n)
print(Count.calls)
'''

# The in-process price of one miss: one more finder in importlib's _find_spec
# loop (its lock context, the attribute, the call).  The caller chain mimics
# importlib's (_find_and_load -> _find_and_load_unlocked -> _find_spec, compiled
# as "<frozen importlib._bootstrap>" code) because lazyimport's fast path may
# walk the frames above it to find the importing module.  The same chain
# without the finder call is the baseline.
FINDER_MISS = '''\
import sys, time
with open(sys.argv[1]) as f:
    names = f.read().split("\\n")[1].split()
names = names + [n + ".sub" for n in names]
import lazyimport
lazyimport.enable(["torch", "transformers"])
finder = sys.meta_path[0]
assert type(finder).__name__ == "LazyFinder", sys.meta_path
CHAIN = """
def find_and_load(names, step):
    for n in names:
        find_and_load_unlocked(n, step)

def find_and_load_unlocked(n, step):
    step(n)

def with_finder(n):
    for f in one:
        with ctx():
            try:
                find_spec = f.find_spec
            except AttributeError:
                continue
            else:
                spec = find_spec(n, None, None)
        if spec is not None:
            raise SystemExit("unexpected spec for " + n)

def without_finder(n):
    for f in one:
        pass
"""
ns = {"ctx": sys.modules["_frozen_importlib"]._ImportLockContext, "one": [finder]}
exec(compile(CHAIN, "<frozen importlib._bootstrap>", "exec"), ns)
run, with_finder, without_finder = ns["find_and_load"], ns["with_finder"], ns["without_finder"]
pc = time.perf_counter_ns
best = {}
for _ in range(30):
    for label, step in (("with", with_finder), ("without", without_finder)):
        t0 = pc()
        run(names, step)
        t = pc() - t0
        best[label] = min(best.get(label, t), t)
print((best["with"] - best["without"]) / len(names))
'''


def fake_stack(site: Path) -> None:
    """Big fake 'torch'/'transformers' (for machines without them), written into site-packages."""
    def module_body(n_funcs: int, tag: str) -> str:
        lines = [f'"""Generated module {tag} (lazyimport benchmark)."""', "import os, sys", "CONST = 1"]
        for i in range(n_funcs):
            lines.append(f"def f{i}(x, y=2):\n    z = x * y + {i}\n    return [z, z + 1, {{'k': z}}]")
        lines.append(f"class C{tag.replace('.', '_')}:\n    a = 1\n    def m(self):\n        return self.a\n")
        lines.append("TABLE = {i: str(i) for i in range(200)}")
        return "\n".join(lines) + "\n"

    def package(name: str, n_sub: int, extra: str = "") -> None:
        root = site / name.replace(".", "/")
        root.mkdir(parents=True, exist_ok=True)
        imports = "".join(f"from . import m{i:03d}\n" for i in range(n_sub))
        (root / "__init__.py").write_text(imports + module_body(40, name) + extra)
        for i in range(n_sub):
            (root / f"m{i:03d}.py").write_text(module_body(80, f"{name}.m{i:03d}"))

    package("lzbbig_torch", 150, "from . import nn\ndef tensor(values):\n    return list(values)\n")
    package("lzbbig_torch.nn", 40)
    package("lzbbig_transformers", 100)


def fake_many(site: Path, n: int) -> None:
    """n small real-looking packages (3 files each) and n empty ones, in site-packages."""
    for i in range(n):
        root = site / f"lzbfake{i:03d}"
        root.mkdir(exist_ok=True)
        funcs = "".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(40))
        (root / "__init__.py").write_text(
            f'"""Fake package {i}."""\nfrom . import core, util\nfrom .core import Thing\nVERSION = (1, 2, {i})\n'
            + funcs + "TABLE = {k: str(k) for k in range(50)}\n")
        (root / "core.py").write_text("import os\n" + funcs.replace("def f", "def g") * 2
                                      + "class Thing:\n    def run(self):\n        return 1\n")
        (root / "util.py").write_text("import sys\n" + funcs.replace("def f", "def h") * 2)
        empty = site / f"lzbempty{i:03d}"
        empty.mkdir(exist_ok=True)
        (empty / "__init__.py").write_text("")


def timed_imports(names: list[str], tops: list[str] | None) -> str:
    """A script whose body is one timed `import name` statement after another."""
    head = "import time\n" + (ENABLE.format(tops=tops) if tops else "")
    body = ["pc = time.perf_counter_ns", f"_t = [0] * {len(names) + 1}", "_t[0] = pc()"]
    for i, name in enumerate(names):
        body += [f"import {name}", f"_t[{i + 1}] = pc()"]
    body.append(f"print(' '.join(str(_t[i + 1] - _t[i]) for i in range({len(names)})))")
    return head + "\n".join(body) + "\n"


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, args: argparse.Namespace, work: H.Workdir) -> None:
        self.args = args
        self.quick = args.quick
        self.work = work
        self.scripts = work.path / "scripts"
        self.scripts.mkdir()
        self.results: dict = {"targets": TARGETS, "quick": self.quick}
        self.summary: list[tuple[str, str, str, str]] = []
        self.env = H.child_env()

    def script(self, name: str, text: str) -> Path:
        path = self.scripts / name
        path.write_text(text)
        return path

    def out(self, argv: list, env: dict | None = None) -> str:
        return H.run_child([self.venv.python, *argv], env or self.env, self.work.cwd)

    def row(self, metric: str, target: str, measured: str, ok: bool | None, note: str = "") -> None:
        verdict = "info" if ok is None else ("PASS" if ok else "FAIL")
        self.summary.append((metric, target, measured + (f" {note}" if note else ""), verdict))

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        src, desc = H.export_source(self.args.ref, self.work.path)
        H.log(f"lazyimport source: {desc}")
        self.venv = H.make_venv(sys.executable, self.work.path, share_site=True, repo=src)
        vfacts = H.interpreter_facts(str(self.venv.python))
        self.results["facts"] = H.machine_facts(self.venv, vfacts)
        self.results["source"] = desc
        H.print_facts(self.results["facts"])
        has = self.venv.query("import importlib.util as u; print(int(all(u.find_spec(n) is not None "
                              "for n in ('torch', 'transformers'))))", cwd=self.work.cwd)
        self.real = has == "1" and not self.args.fake
        site = self.venv.site
        if self.real:
            self.torch, self.transformers = "torch", "transformers"
            versions = self.venv.query("from importlib.metadata import version as v; "
                                       "print(v('torch'), v('transformers'))", cwd=self.work.cwd)
            self.stack = f"real torch {versions.split()[0]} + transformers {versions.split()[1]}"
        else:
            self.torch, self.transformers = "lzbbig_torch", "lzbbig_transformers"
            fake_stack(site)
            self.stack = ("FAKE stack (torch/transformers not installed): lzbbig_torch (150 modules + nn: 40), "
                          "lzbbig_transformers (100 modules)")
        self.tops = [self.torch, self.transformers]
        self.n_fake = 60 if self.quick else 200
        fake_many(site, self.n_fake)
        H.run([self.venv.python, "-m", "compileall", "-q", site], "compileall site-packages")
        not_pyc = H.check_bytecode(self.venv, self.work.cwd)
        H.log(f"stack: {self.stack}")
        self.results["stack"] = self.stack
        self.results["bytecode_problems"] = not_pyc

    # ------------------------------------------------------------------ a
    def section_a(self) -> None:
        T, X, tops = self.torch, self.transformers, self.tops
        three = f"import {T}, {X}, {T}.nn\n"
        two = f"import {T}, {X}\n"
        codes = {
            "bare": "pass",
            "lazy": ENABLE.format(tops=tops) + three,
            "eager": three,
            "lazy2": ENABLE.format(tops=tops) + two,
            "naive2": NAIVE.format(tops=tops) + two,
        }
        labels = {
            "bare": "python -c pass",
            "lazy": f"lazyimport: enable; import {T}, {X}, {T}.nn",
            "eager": f"eager: import {T}, {X}, {T}.nn",
            "lazy2": f"lazyimport: enable; import {T}, {X}",
            "naive2": f"naive LazyLoader finder; import {T}, {X}",
        }
        H.log(f"\n== a. whole process ({self.stack})")
        # What each statement really does (once, untimed).
        checks = {}
        for v, code in list(codes.items()) + [("naive3", NAIVE.format(tops=tops) + three)]:
            if v == "bare":
                continue
            proc = subprocess.run([str(self.venv.python), "-c",
                                   code + CHECK.format(tops=tops, names=[T, X, f"{T}.nn"])],
                                  capture_output=True, text=True, env=self.env, cwd=self.work.cwd)
            if proc.returncode == 0:
                n_loaded, kinds, lazy = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
                checks[v] = f"ok; {n_loaded} modules under {T}/{X} in sys.modules" + (
                    f"; deferred: {lazy}" if lazy else f"; classes: {kinds}")
            else:
                last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
                checks[v] = f"FAILS: {last}"
            H.log(f"  check {v:7s}: {checks[v]}")
        self.results["a"] = {"checks": checks}
        rounds = self.args.rounds_a or (20 if self.quick else 150)
        eager_runs = 2 if self.quick else 10
        every = max(1, rounds // eager_runs)
        fast = ["bare", "lazy", "lazy2", "naive2"]
        sp = H.Spawner(self.work.path, self.work.cwd)
        wall: dict[str, list[float]] = {v: [] for v in codes}
        cpu: dict[str, list[float]] = {v: [] for v in codes}
        argv = {v: [str(self.venv.python), "-c", c] for v, c in codes.items()}
        for v in codes:  # warm the page cache and the .pyc of every variant
            sp.time(argv[v], self.env)
        t_start = time.perf_counter()
        for i in range(rounds):
            order = fast + (["eager"] if i % every == every // 2 and len(wall["eager"]) < eager_runs else [])
            for v in H.rounds_order(order, i):
                w, c = sp.time(argv[v], self.env)
                wall[v].append(w)
                cpu[v].append(c)
        H.log(f"  {rounds} interleaved rounds ({time.perf_counter() - t_start:.0f} s); eager in {len(wall['eager'])} "
              f"of them.  wall = whole process as the parent sees it; CPU = the child's user+sys time (wait4)")
        res: dict = {}
        for v in codes:
            rw = H.med(wall[v]) / H.med(wall["bare"])
            rc = H.med(cpu[v]) / H.med(cpu["bare"])
            lo, hi = H.boot_ci(wall["bare"], wall[v]) if v != "bare" else (1.0, 1.0)
            clo, chi = H.boot_ci(cpu["bare"], cpu[v]) if v != "bare" else (1.0, 1.0)
            H.log(f"  {labels[v]}")
            H.log(f"      wall {H.summary(wall[v])}  ratio {rw:.3f}x (95% CI {lo:.3f}-{hi:.3f})")
            H.log(f"      CPU  {H.summary(cpu[v])}  ratio {rc:.3f}x (95% CI {clo:.3f}-{chi:.3f})")
            res[v] = {"label": labels[v], "n": len(wall[v]),
                      "wall_ms_median": H.med(wall[v]) * 1e3, "wall_ms_p25_p75": [x * 1e3 for x in H.spread(wall[v])],
                      "cpu_ms_median": H.med(cpu[v]) * 1e3, "cpu_ms_p25_p75": [x * 1e3 for x in H.spread(cpu[v])],
                      "wall_ratio": rw, "wall_ratio_ci95": [lo, hi], "cpu_ratio": rc, "cpu_ratio_ci95": [clo, chi]}
        for kind, d in (("wall", wall), ("CPU", cpu)):
            pr = H.paired(d["bare"], d["lazy"])
            p25, p75 = H.spread(pr)
            H.log(f"  lazy/bare per round ({kind}): median {H.med(pr):.3f}x (p25-p75 {p25:.3f}-{p75:.3f}); "
                  f"lazy - bare = {(H.med(d['lazy']) - H.med(d['bare'])) * 1e3:+.2f} ms")
            res[f"lazy_paired_ratio_{kind.lower()}"] = {"median": H.med(pr), "p25_p75": [p25, p75]}
        self.results["a"].update(res)
        self.importtime_breakdown(codes["lazy"])
        lazy = res["lazy"]
        for kind in ("wall", "cpu"):
            r, (lo, hi) = lazy[f"{kind}_ratio"], lazy[f"{kind}_ratio_ci95"]
            self.row(f"a. whole process, deferred / bare ({kind.upper() if kind == 'cpu' else kind})", f"<= {TARGETS['a']}x",
                     f"{r:.3f}x ({lazy[f'{kind}_ms_median']:.1f} vs {res['bare'][f'{kind}_ms_median']:.1f} ms; "
                     f"CI {lo:.3f}-{hi:.3f})", r <= TARGETS["a"])
        self.row("a. eager / bare (wall, CPU)", "(info)",
                 f"{res['eager']['wall_ratio']:.0f}x, {res['eager']['cpu_ratio']:.0f}x "
                 f"({res['eager']['wall_ms_median']:.0f} ms wall, n={res['eager']['n']})", None)
        self.row(f"a. naive LazyLoader (import {T}, {X}) / bare", "(info)",
                 f"wall {res['naive2']['wall_ratio']:.3f}x, CPU {res['naive2']['cpu_ratio']:.3f}x; lazyimport same "
                 f"statement: wall {res['lazy2']['wall_ratio']:.3f}x, CPU {res['lazy2']['cpu_ratio']:.3f}x", None)
        self.row(f"a. naive LazyLoader, with {T}.nn", "(info)", checks["naive3"][:72], None)

    def importtime_breakdown(self, code: str) -> None:
        """-X importtime of the deferred run: median self time of each module lazyimport adds."""
        runs = 5 if self.quick else 15
        self_us: dict[str, list[int]] = {}
        for _ in range(runs):
            proc = subprocess.run([str(self.venv.python), "-X", "importtime", "-c", code], capture_output=True,
                                  text=True, env=self.env, cwd=self.work.cwd)
            after_site = False
            for line in proc.stderr.splitlines():
                if not line.startswith("import time:") or "self [us]" in line:
                    continue
                own, _, name = (x.strip() for x in line[len("import time:"):].split("|"))
                if after_site:
                    self_us.setdefault(name, []).append(int(own))
                if name == "site":
                    after_site = True  # everything after site is the -c code's
        H.log(f"  -X importtime of the deferred run, median self time over {runs} runs "
              "(importtime inflates each entry somewhat):")
        total = 0.0
        rows = {}
        for name, xs in self_us.items():
            m = H.med(xs)
            total += m
            rows[name] = m
            H.log(f"      {name:28s} {m:7.0f} us")
        H.log(f"      {'sum':28s} {total:7.0f} us")
        self.results["a"]["importtime_self_us"] = rows

    # ------------------------------------------------------------------ b
    def section_b(self) -> None:
        T, X = self.torch, self.transformers
        H.log(f"\n== b. the deferred import statement itself (in-process, fresh process each; {self.stack})")
        fmt = dict(tops=self.tops, torch=T, transformers=X)
        s_first = self.script("b_stack.py", DEFERRED_STMTS.format(prime="", **fmt))
        s_primed = self.script("b_stack_primed.py", DEFERRED_STMTS.format(prime="import lzbempty000\n", **fmt))
        s_floor = self.script("b_find_floor.py", FIND_FLOOR.format(**fmt))
        fakes = [f"lzbfake{i:03d}" for i in range(self.n_fake)]
        empties = [f"lzbempty{i:03d}" for i in range(self.n_fake)]
        variants = {
            "first": s_first, "primed": s_primed, "floor": s_floor,
            "fake_lazy": self.script("b_fake_lazy.py", timed_imports(fakes, fakes)),
            "fake_eager": self.script("b_fake_eager.py", timed_imports(fakes, None)),
            "empty_eager": self.script("b_empty_eager.py", timed_imports(empties, None)),
            "empty_lazy": self.script("b_empty_lazy.py", timed_imports(empties, empties)),
        }
        rounds = self.args.rounds_b or (6 if self.quick else 30)
        raw: dict[str, list[list[int]]] = {v: [] for v in variants}
        for v, s in variants.items():
            self.out([s])  # warm-up
        for i in range(rounds):
            for v in H.rounds_order(list(variants), i):
                raw[v].append([int(x) for x in self.out([variants[v]]).split()])
        bad = [r for r in raw["first"] + raw["primed"] if r[7] != 1]
        if bad:
            H.log(f"  WARNING: in {len(bad)} runs the stack was not left deferred")

        def col(v: str, j: int) -> list[float]:
            return [r[j] / 1e6 for r in raw[v]]  # ms

        res: dict = {}
        H.log(f"  {'':44s} {'first deferred import in the process':>40s}   {'after one deferred import (primed)':>40s}")
        names = ["import lazyimport", "enable()", f"import {T}", f"import {X}", f"import {T}.nn",
                 f"import {T} again (deferred, cached)", "import os again (cached)"]
        for j, name in enumerate(names):
            a, b = col("first", j), col("primed", j)
            if j >= 5:
                sa, sb = H.summary(a, 1e3, "us", 2), H.summary(b, 1e3, "us", 2)
            else:
                sa, sb = H.summary(a, 1.0, "ms", 3), H.summary(b, 1.0, "ms", 3)
            H.log(f"  {name:44s} {sa:>40s}   {sb:>40s}")
            res[name] = {"first_ms_median": H.med(a), "first_ms_p25_p75": list(H.spread(a)),
                         "primed_ms_median": H.med(b), "primed_ms_p25_p75": list(H.spread(b))}
        for j, name in enumerate([T, X, f"{T}.nn"]):
            xs = col("floor", j)
            H.log(f"  floor: PathFinder.find_spec({name!r}) in a fresh process  {H.summary(xs, 1.0, 'ms', 3)}")
            res[f"find_spec floor {name}"] = {"ms_median": H.med(xs)}
        per = {}
        for v in ("fake_lazy", "fake_eager", "empty_eager", "empty_lazy"):
            # Per process: the median over its n imports (the first pays one-time costs,
            # shown apart); then the median over processes.
            per[v] = ([H.med(r) / 1e6 for r in raw[v]], [r[0] / 1e6 for r in raw[v]])
        desc = {"fake_lazy": "deferred (lazyimport)", "fake_eager": "eager (body runs)",
                "empty_eager": "eager, empty __init__", "empty_lazy": "deferred, empty __init__"}
        H.log(f"  {self.n_fake} generated packages (3 modules each) per process, per `import` statement:")
        for v in ("fake_lazy", "empty_eager", "empty_lazy", "fake_eager"):
            H.log(f"    {desc[v]:26s} {H.summary(per[v][0], 1.0, 'ms', 3)}; the first in the process: "
                  f"median {H.med(per[v][1]):.3f} ms")
            res[f"generated {v}"] = {"ms_median": H.med(per[v][0]), "ms_p25_p75": list(H.spread(per[v][0])),
                                     "first_ms_median": H.med(per[v][1])}
        over = H.med(per["fake_lazy"][0]) / H.med(per["empty_eager"][0])
        H.log(f"    deferred / eager import of an empty package (the floor of any import): {over:.2f}x; "
              f"eager / deferred: {H.med(per['fake_eager'][0]) / H.med(per['fake_lazy'][0]):.1f}x")
        res["deferred_over_empty_floor"] = over
        self.results["b"] = res
        for name in (f"import {T}", f"import {X}", f"import {T}.nn"):
            for kind in ("first", "primed"):
                if kind == "first" and name != f"import {T}":
                    continue
                m = res[name][f"{kind}_ms_median"]
                label = f"b. deferred `{name}`" + (" (1st deferred in process)" if kind == "first" else "")
                self.row(label, f"<= {TARGETS['b']} ms", f"{m:.3f} ms", m <= TARGETS["b"])
        m = res["generated fake_lazy"]["ms_median"]
        self.row("b. deferred import, generated pkgs", f"<= {TARGETS['b']} ms",
                 f"{m:.3f} ms ({over:.2f}x an empty pkg's eager import)", m <= TARGETS["b"])

    # ------------------------------------------------------------------ c
    def section_c(self) -> None:
        H.log("\n== c. imports that are not deferred: the stdlib, enabled for unrelated names vs not")
        probe = self.script("c_probe.py", STDLIB_PROBE)
        candidates = self.out([probe, STDLIB_BLOCKED]).split()
        startup = set(self.venv.query("import sys; print(' '.join(sys.modules))", cwd=self.work.cwd).split())
        after = set(self.venv.query("import sys; import lazyimport; lazyimport.enable(['torch', 'transformers']); "
                                    "print(' '.join(sys.modules))", cwd=self.work.cwd).split())
        prelude = sorted(n for n in after - startup if n.partition(".")[0] != "lazyimport")
        names = [n for n in candidates if n not in startup and n not in prelude]
        listfile = self.work.path / "stdlib-list.txt"
        listfile.write_text(" ".join(prelude) + "\n" + " ".join(names) + "\n")
        loop = self.script("c_loop.py", STDLIB_LOOP)
        variants = ["base", "lazy"] + ([] if self.quick else ["base2"])
        rounds = self.args.rounds_c or (12 if self.quick else 120)
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        info = {}
        for v in variants:  # warm-up (and writes the .pyc of any module that has none)
            for _ in range(2):
                _, _, n_new, already = self.out([loop, listfile, v.rstrip("2")]).split()
                info[v] = (int(n_new), int(already))
        if len(set(info.values())) != 1:
            H.log(f"  WARNING: the variants import different module counts: {info}")
        t0 = time.perf_counter()
        for i in range(rounds):
            for v in H.rounds_order(variants, i):
                w, c, _, _ = self.out([loop, listfile, v.rstrip("2")]).split()
                wall[v].append(int(w) / 1e9)
                cpu[v].append(int(c) / 1e9)
        n_new, already = info["base"]
        H.log(f"  {len(names)} top-level stdlib modules in the list (prelude both variants import first: "
              f"{' '.join(prelude) or 'none'}); the loop imports {n_new} modules in all; "
              f"{rounds} interleaved rounds ({time.perf_counter() - t0:.0f} s); lazy = lazyimport.enable(['torch', "
              "'transformers']) before the loop")
        for v in variants:
            H.log(f"  {v:6s} import loop CPU {H.summary(cpu[v])}; wall {H.summary(wall[v])}")
        res: dict = {"n_names": len(names), "n_modules_imported": n_new, "prelude": prelude, "names": names}
        for label, a, b in (("lazy vs base", "base", "lazy"), ("base2 vs base (control)", "base", "base2")):
            if b not in cpu:
                continue
            res[label] = {}
            for kind, d in (("CPU", cpu), ("wall", wall)):
                ov = (H.med(d[b]) / H.med(d[a]) - 1) * 100
                lo, hi = H.boot_ci(d[a], d[b])
                pr = [(x - 1) * 100 for x in H.paired(d[a], d[b])]
                p25, p75 = H.spread(pr)
                H.log(f"  {label:24s} {kind:4s} overhead {ov:+.2f}% (95% CI {(lo - 1) * 100:+.2f}..{(hi - 1) * 100:+.2f}%); "
                      f"paired per round median {H.med(pr):+.2f}% (p25-p75 {p25:+.2f}..{p75:+.2f}%)")
                res[label][kind] = {"overhead_pct": ov, "ci95_pct": [(lo - 1) * 100, (hi - 1) * 100],
                                    "paired_median_pct": H.med(pr), "paired_p25_p75_pct": [p25, p75]}
        # Deterministic estimate: find_spec calls in the loop x in-process price of one miss.
        calls = int(self.out([self.script("c_count.py", STDLIB_COUNT), listfile]).strip())
        miss = [float(self.out([self.script("c_miss.py", FINDER_MISS), listfile]).strip()) for _ in range(5)]
        est_ms = calls * H.med(miss) / 1e6
        est_pct = est_ms / (H.med(cpu["base"]) * 1e3) * 100
        H.log(f"  estimate: {calls} find_spec calls in the loop x {H.med(miss):.0f} ns per miss (in-process, best of 30) "
              f"= {est_ms:.3f} ms = {est_pct:.2f}% of the {H.med(cpu['base']) * 1e3:.1f} ms loop")
        res.update({"find_spec_calls": calls, "miss_ns": H.med(miss), "estimate_pct": est_pct})
        self.results["c"] = res
        ov = res["lazy vs base"]["CPU"]
        ctl = res.get("base2 vs base (control)", {}).get("CPU")
        self.row("c. non-deferred imports (stdlib loop, CPU)", f"<= {TARGETS['c']}%",
                 f"{ov['overhead_pct']:+.2f}% (CI {ov['ci95_pct'][0]:+.2f}..{ov['ci95_pct'][1]:+.2f}"
                 + (f"; control {ctl['overhead_pct']:+.2f}%" if ctl else "") + ")", ov["overhead_pct"] <= TARGETS["c"])
        self.row("c. same, computed (calls x miss)", f"<= {TARGETS['c']}%", f"{est_pct:.3f}% ({calls} x {H.med(miss):.0f} ns)",
                 est_pct <= TARGETS["c"])

    # ------------------------------------------------------------------ d
    def section_d(self) -> None:
        T = self.torch
        H.log(f"\n== d. `import {T}` through first use `{T}.tensor([1.0])`, deferred vs eager ({self.stack})")
        s = self.script("d_first_use.py", FIRST_USE.format(tops=self.tops, torch=T))
        rounds = self.args.rounds_d or (2 if self.quick else 12)
        raw: dict[str, list[list]] = {"eager": [], "lazy": []}
        if not self.quick:
            self.out([s, "eager"])  # warm-up
            self.out([s, "lazy"])
        for i in range(rounds):
            for v in H.rounds_order(["eager", "lazy"], i):
                parts = self.out([s, v]).split()
                raw[v].append([int(x) / 1e9 for x in parts[:4]] + parts[4:])
        states = {r[4] for r in raw["lazy"]}
        counts = {v: sorted({int(r[5]) for r in raw[v]}) for v in raw}
        res: dict = {"lazy_states": sorted(states), "modules_under_top": counts}
        for v in ("eager", "lazy"):
            H.log(f"  {v:5s} import {H.summary([r[0] for r in raw[v]])}; first use {H.summary([r[1] for r in raw[v]])}")
            H.log(f"        total wall {H.summary([r[2] for r in raw[v]])}; CPU {H.summary([r[3] for r in raw[v]])}")
        for kind, j in (("wall", 2), ("CPU", 3)):
            a, b = [r[j] for r in raw["eager"]], [r[j] for r in raw["lazy"]]
            r = H.med(b) / H.med(a)
            lo, hi = H.boot_ci(a, b)
            pr = H.paired(a, b)
            p25, p75 = H.spread(pr)
            H.log(f"  lazy / eager ({kind}): {r:.4f}x (95% CI {lo:.4f}-{hi:.4f}); paired median {H.med(pr):.4f}x "
                  f"(p25-p75 {p25:.4f}-{p75:.4f})")
            res[kind] = {"ratio": r, "ci95": [lo, hi], "paired_median": H.med(pr), "paired_p25_p75": [p25, p75],
                         "eager_ms_median": H.med(a) * 1e3, "lazy_ms_median": H.med(b) * 1e3}
            self.row(f"d. import + first use, deferred / eager ({kind})", f"<= {TARGETS['d']}x",
                     f"{r:.4f}x (CI {lo:.4f}-{hi:.4f}; n={rounds})", r <= TARGETS["d"])
        H.log(f"  lazyimport's record of {T} after the use: {sorted(states)}; modules under {T} afterwards: {counts}")
        self.results["d"] = res

    # ------------------------------------------------------------------ e
    def section_e(self) -> None:
        T, X, tops = self.torch, self.transformers, self.tops
        H.log(f"\n== e. memory at the end of the child: VmRSS (and peak VmHWM) ({self.stack})")
        codes = {
            "bare": "",
            "lazy": ENABLE.format(tops=tops) + f"import {T}, {X}, {T}.nn\n",
            "eager torch": f"import {T}\n",
            "eager all": f"import {T}, {X}, {T}.nn\n",
        }
        n = {"bare": 3, "lazy": 3, "eager torch": 1, "eager all": 0} if self.quick else \
            {"bare": 10, "lazy": 10, "eager torch": 3, "eager all": 3}
        rss: dict[str, list[tuple[int, int]]] = {v: [] for v in codes}
        for i in range(max(n.values())):
            for v in H.rounds_order(list(codes), i):
                if len(rss[v]) < n[v]:
                    a, b = self.out(["-c", codes[v] + RSS]).split()
                    rss[v].append((int(a), int(b)))
        res = {}
        for v in codes:
            if not rss[v]:
                continue
            cur = [a / 1024 for a, _ in rss[v]]
            peak = [b / 1024 for _, b in rss[v]]
            H.log(f"  {v:12s} VmRSS {H.summary(cur, 1.0, 'MB', 2)}; VmHWM median {H.med(peak):.2f} MB")
            res[v] = {"rss_mb_median": H.med(cur), "rss_mb_p25_p75": list(H.spread(cur)), "hwm_mb_median": H.med(peak)}
        d = res["lazy"]["rss_mb_median"] - res["bare"]["rss_mb_median"]
        H.log(f"  deferred {T}+{X} (never used) - bare = {d:+.2f} MB")
        res["lazy_minus_bare_mb"] = d
        self.results["e"] = res
        self.row("e. RSS deferred-unused - bare", f"<= {TARGETS['e']} MB", f"{d:+.2f} MB", d <= TARGETS["e"])
        if "eager torch" in res:
            self.row(f"e. RSS eager {T}", "(info)", f"{res['eager torch']['rss_mb_median']:.0f} MB "
                     f"(bare {res['bare']['rss_mb_median']:.1f} MB)", None)

    def print_summary(self) -> None:
        H.log(f"\n== summary ({self.results['facts']['python'].split()[0]}, {self.stack}; "
              f"{'quick' if self.quick else 'full'} run; {self.results['facts']['date']})")
        w = [max(len(r[i]) for r in self.summary + [("metric", "target", "measured (median)", "result")])
             for i in range(4)]
        fmt = f"  {{:{w[0]}}}  {{:{w[1]}}}  {{:{w[2]}}}  {{}}"
        H.log(fmt.format("metric", "target", "measured (median)", "result"))
        for r in self.summary:
            H.log(fmt.format(*r))
        self.results["summary"] = [dict(zip(("metric", "target", "measured", "result"), r)) for r in self.summary]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI smoke run (< ~60 s)")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument("--sections", default="abcde", help="which sections to run (default abcde)")
    ap.add_argument("--ref", help="install this git ref of the repo (a clean export) instead of the work tree")
    ap.add_argument("--fake", action="store_true", help="use the generated fake stack even if torch is installed")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (venv, scripts)")
    ap.add_argument("--strict", action="store_true", help="exit 1 if any target is missed (default: report only)")
    for s in "abcd":
        ap.add_argument(f"--rounds-{s}", type=int, default=0, help=f"rounds for section {s}")
    args = ap.parse_args()
    json_path = args.json.resolve() if args.json else None
    t0 = time.perf_counter()
    work = H.Workdir(args.keep)
    try:
        bench = Bench(args, work)
        bench.setup()
        for s in args.sections.replace(",", ""):
            getattr(bench, f"section_{s}")()
        bench.results["facts"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        bench.print_summary()
        H.log(f"  (load average at start {bench.results['facts']['loadavg_at_start']}, at end "
              f"{bench.results['facts']['loadavg_at_end']}; {time.perf_counter() - t0:.0f} s in all)")
        if json_path:
            json_path.write_text(json.dumps(bench.results, indent=1, default=str))
            H.log(f"wrote {json_path}")
    finally:
        work.close()
    failed = [r for r in bench.summary if r[3] == "FAIL"]
    sys.exit(1 if failed and args.strict else 0)


if __name__ == "__main__":
    main()
