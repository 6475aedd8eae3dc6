"""Shared plumbing for the benchmarks in this folder (stdlib only).

* A throwaway venv with lazyimport installed the way users get it: a
  non-editable ``pip install --no-deps`` of this repo (so ``lazyimport.pth`` is
  in site-packages), byte-compiled, and checked to load from ``.pyc``.
* Children run with the bytecode cache on (PYTHONDONTWRITEBYTECODE removed),
  without LAZYIMPORT*/coverage/PYTHON* variables, from an empty directory.
* Whole-process timing with posix_spawn + wait4 (wall and CPU time).
* Statistics: medians, p25-p75, ratios of medians with a bootstrap 95% interval,
  and per-round paired ratios of interleaved runs.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Variables that would change what a child does or measures.
_DROP = ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME",
         "PYTHONVERBOSE", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONMALLOC", "PYTHONMALLOCSTATS",
         "PYTHONINSPECT", "PYTHONWARNINGS", "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
         "PYTHONBREAKPOINT", "PYTHONEXECUTABLE", "PYTHONCASEOK", "PYTHONOPTIMIZE", "PYTHONDEBUG",
         "PYTHONFAULTHANDLER", "PYTHONHASHSEED", "VIRTUAL_ENV")


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _DROP and not k.startswith(("LAZYIMPORT", "COVERAGE_"))}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                "TOKENIZERS_PARALLELISM": "false"})
    env.update(extra)
    return env


def log(msg: str = "") -> None:
    print(msg, flush=True)


def run(cmd: list[str], what: str, **kw) -> str:
    """Run a set-up command; on failure show its output and stop."""
    kw.setdefault("env", child_env())
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


# --------------------------------------------------------------------------- venv


class BenchVenv:
    """A throwaway venv holding an installed (non-editable) lazyimport."""

    def __init__(self, root: Path, python: Path, site: Path, base: str, extra_site: list[str]) -> None:
        self.root, self.python, self.site, self.base, self.extra_site = root, python, site, base, extra_site
        self.pth = site / "lazyimport.pth"
        self.pkg = site / "lazyimport"

    def query(self, code: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
        return run([self.python, "-c", code], "query", env=env or child_env(), cwd=cwd).strip()


def interpreter_facts(python: str) -> dict:
    code = ("import sys, sysconfig, json; print(json.dumps({'version': sys.version.split()[0], "
            "'full_version': sys.version, 'implementation': sys.implementation.name, "
            "'prefix': sys.prefix, 'base_prefix': sys.base_prefix, "
            "'purelib': sysconfig.get_paths()['purelib'], 'platlib': sysconfig.get_paths()['platlib'], "
            "'mm': '%d.%d' % sys.version_info[:2]}))")
    return json.loads(run([python, "-c", code], f"asking {python} about itself"))


def export_source(ref: str | None, workdir: Path) -> tuple[Path, str]:
    """The tree to install: the work tree itself, or a clean export of a git ref."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "?"
    if ref is None:
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "lazyimport",
                                "lazyimport.pth", "pyproject.toml"], capture_output=True, text=True).stdout.strip()
        return REPO, f"work tree of {REPO} at {head}" + (" with uncommitted changes under lazyimport/" if dirty else " (clean)")
    import io
    import tarfile
    sha = run(["git", "-C", REPO, "rev-parse", "--short", ref], f"git rev-parse {ref}").strip()
    blob = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref], capture_output=True, check=True).stdout
    dest = workdir / f"src-{sha}"
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return dest, f"git {ref} = {sha} (clean export of {REPO})"


def make_venv(target_python: str, workdir: Path, share_site: bool = True, repo: Path = REPO) -> BenchVenv:
    """Create a venv from *target_python*'s base interpreter and install lazyimport into it.

    With *share_site*, the target's own site-packages (torch, transformers, ...) is
    appended to the venv's sys.path by a plain path line in a .pth file: its
    packages are importable exactly as installed, but its .pth files (coverage
    hooks and the like) do not run.  The venv's own site-packages comes first, so
    the lazyimport under test is the one installed here.
    """
    facts = interpreter_facts(target_python)
    base = str(Path(facts["base_prefix"]) / "bin" / f"python{facts['mm']}")
    if not Path(base).exists():
        base = target_python
    root = workdir / f"venv{facts['mm'].replace('.', '')}"
    t0 = time.perf_counter()
    run([base, "-m", "venv", root], f"creating a venv with {base}")
    py = root / "bin" / "python"
    site = Path(interpreter_facts(str(py))["purelib"])
    # Non-editable install of the repo as users get it (pip builds the wheel with
    # hatchling); --no-deps keeps the venv exactly base + lazyimport.
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", repo],
        "pip install --no-deps <repo>")
    extra: list[str] = []
    if share_site:
        for key in ("purelib", "platlib"):
            p = facts[key]
            if p not in extra and Path(p).is_dir() and Path(p) != site:
                extra.append(p)
        if extra:
            (site / "zz_bench_shared_site.pth").write_text("".join(p + "\n" for p in extra))
    # Byte-compile (pip does too; this makes sure, whatever PYTHONDONTWRITEBYTECODE said).
    run([py, "-m", "compileall", "-q", site / "lazyimport"], "compileall lazyimport")
    venv = BenchVenv(root, py, site, base, extra)
    where = venv.query("import lazyimport; print(lazyimport.__file__)", cwd=workdir)
    if not where.startswith(str(site)):
        sys.exit(f"the venv imports lazyimport from {where}, not from {site}")
    if not venv.pth.is_file():
        sys.exit(f"{venv.pth} was not installed")
    log(f"set-up: venv {root} from {base} ({time.perf_counter() - t0:.1f} s); "
        f"lazyimport installed non-editable in {site}" + (f"; shared site dirs: {', '.join(extra)}" if extra else ""))
    return venv


def check_bytecode(venv: BenchVenv, cwd: Path) -> list[str]:
    """Import every lazyimport module under -v; return those NOT loaded from a .pyc."""
    mods = sorted(p.stem for p in venv.pkg.glob("*.py") if p.stem not in ("__init__", "__main__"))
    code = ("import importlib, lazyimport\nfor m in %r:\n    try:\n        importlib.import_module('lazyimport.' + m)\n"
            "    except Exception:\n        pass\n" % (mods,))
    proc = subprocess.run([str(venv.python), "-v", "-c", code], capture_output=True, text=True,
                          env=child_env(), cwd=cwd)
    if proc.returncode != 0:
        sys.exit(f"importing lazyimport's modules failed:\n{proc.stderr[-3000:]}")
    pkg = str(venv.pkg)
    from_pyc, from_source = set(), []
    for line in proc.stderr.splitlines():
        if "code object from" in line and pkg in line:
            path = line.split("code object from", 1)[1].strip().strip("'\"")
            (from_pyc.add(path) if path.endswith(".pyc") else from_source.append(path))
    if not from_pyc:
        from_source.append("(no lazyimport module reported loading from a .pyc)")
    log(f"bytecode: {len(from_pyc)} lazyimport modules loaded from .pyc, {len(from_source)} from source"
        + (f": {from_source}" if from_source else ""))
    return from_source


# --------------------------------------------------------------------------- running children


class Spawner:
    """Whole-process timing: posix_spawn, wait4; stdout to /dev/null, stderr to a file.

    posix_spawn has no cwd argument: the child inherits ours, so we chdir to the
    child's directory first (outside the timed region).  It matters: `python -c`
    puts the cwd first on sys.path, and lazyimport's settings look for a
    pyproject.toml from the cwd up.
    """

    def __init__(self, workdir: Path, cwd: Path) -> None:
        self.err = str(workdir / "child-stderr.txt")
        self.cwd = str(cwd)

    def time(self, argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float]:
        """Return (wall seconds, child CPU seconds) of one run; stop on failure."""
        want = str(cwd) if cwd is not None else self.cwd
        if os.getcwd() != want:
            os.chdir(want)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, self.err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
        if status != 0:
            with open(self.err) as f:
                sys.exit(f"child failed ({status}): {' '.join(argv)}\n{f.read()[-3000:]}")
        return wall, ru.ru_utime + ru.ru_stime


def run_child(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    """Run a child that reports its own numbers on stdout; return its stdout."""
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)
    if proc.returncode != 0:
        sys.exit(f"child failed (exit {proc.returncode}): {' '.join(map(str, argv))}\n"
                 f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def rounds_order(variants: list[str], i: int, seed: int = 20260101) -> list[str]:
    """The order of round *i*: every variant once, shuffled (seeded, reproducible).

    A fixed pattern (ABAB, ABBA, rotations) keeps the same predecessor in front
    of some variant, and the run before matters on a shared machine (a heavy run
    leaves caches cold): a control pair of identical states measured 0.15 ms
    apart with rotations.  Shuffling spreads predecessors evenly."""
    order = list(variants)
    random.Random(seed * 1000003 + i).shuffle(order)
    return order


# --------------------------------------------------------------------------- statistics


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def spread(xs: list[float]) -> tuple[float, float]:
    return quantile(xs, 0.25), quantile(xs, 0.75)


def boot_ci(a: list[float], b: list[float], stat: str = "ratio", n: int = 2000, seed: int = 12345) -> tuple[float, float]:
    """Bootstrap 95% interval of median(b)/median(a) ("ratio") or median(b)-median(a) ("diff")."""
    rng = random.Random(seed)
    out = []
    la, lb = len(a), len(b)
    for _ in range(n):
        ma = med([a[rng.randrange(la)] for _ in range(la)])
        mb = med([b[rng.randrange(lb)] for _ in range(lb)])
        out.append(mb / ma if stat == "ratio" else mb - ma)
    return quantile(out, 0.025), quantile(out, 0.975)


def paired(a: list[float], b: list[float], stat: str = "ratio") -> list[float]:
    """Per-round b/a (or b-a) of interleaved runs."""
    return [(y / x if stat == "ratio" else y - x) for x, y in zip(a, b)]


def summary(xs: list[float], scale: float = 1e3, unit: str = "ms", digits: int = 2) -> str:
    lo, hi = spread(xs)
    f = f"{{:.{digits}f}}"
    return f"median {f.format(med(xs) * scale)} {unit} (p25-p75 {f.format(lo * scale)}-{f.format(hi * scale)}, n={len(xs)})"


# --------------------------------------------------------------------------- machine facts


def machine_facts(venv: BenchVenv | None, target: dict) -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "python": target.get("full_version", "?").replace("\n", " "),
        "implementation": target.get("implementation"),
        "venv": str(venv.root) if venv else None,
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory": mem,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def print_facts(facts: dict) -> None:
    log(f"date: {facts['date']}")
    log(f"python: {facts['python']} ({facts['implementation']})")
    log(f"machine: {facts['platform']}; {facts['cpu']}; {facts['cpus']} CPUs "
        f"(affinity {facts['affinity']}); {facts['memory']}; load average at start {facts['loadavg_at_start']}")


class Workdir:
    """A temp dir (kept with --keep) holding the venv, child scripts and an empty cwd."""

    def __init__(self, keep: bool) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="lazyimport-bench-"))
        self.keep = keep
        self.home = os.getcwd()
        self.cwd = self.path / "cwd"
        self.cwd.mkdir()

    def close(self) -> None:
        os.chdir(self.home)
        if self.keep:
            log(f"(kept {self.path})")
        else:
            shutil.rmtree(self.path, ignore_errors=True)
