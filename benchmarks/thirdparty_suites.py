#!/usr/bin/env python3
"""Run pinned third-party test suites plain and under LAZYIMPORT=*, and compare them.

Each project is installed from its pinned sdist into a venv per (python, project) in the
cache dir, with pinned test dependencies and lazyimport (a wheel built from this repo, so
its .pth start-up hook is installed).  The suite runs twice, plain and with LAZYIMPORT=*;
exit code, counts and every test's outcome (junit xml) must match.  A few command lines
(pip --version, python -m pytest --version, ...) are compared too, with median wall times.

    python benchmarks/thirdparty_suites.py --ci --json out.json       # CI profile
    python benchmarks/thirdparty_suites.py --no-lazyimport --python 3.11 --project click

Exit status: 0 all same, 1 a difference or an unclean plain run, 2 a set-up error.
"""
import argparse, concurrent.futures, difflib, glob, hashlib, json, os, re, shutil, signal
import statistics, subprocess, sys, tarfile, tempfile, threading, time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CI_PYTHONS = ["3.11", "3.13"]
# Every installed version is pinned (a venv that pulls an unpinned package warns).
# These pins need Python >= 3.11 (hypothesis 6.170 dropped 3.10).
PYTEST = ["pytest==9.2.0", "iniconfig==2.3.1", "pluggy==1.7.0", "packaging==26.4",
          "Pygments==2.21.0"]
HYPOTHESIS = ["hypothesis==6.170.17", "sortedcontainers==2.4.0"]
# Per project: pinned sdist (version, sha256), test dependencies (what the suite imports
# or its config expects, nothing more) and extra pytest arguments.
PROJECTS = {
    "attrs": dict(
        version="26.1.0", args=["--hypothesis-seed=0"],
        sha256="d03ceb89cb322a8fd706d4fb91940737b6642aa36998fe130a9bc96c985eff32",
        deps=PYTEST + HYPOTHESIS + ["Pympler==1.1", "cloudpickle==3.1.3"]),
    "click": dict(
        version="8.5.1", args=[], deps=PYTEST,
        sha256="9bbfada76703fd1d784b83eea012e3e8c6a001a876543ef104fa56aaaeb072b4"),
    "jinja2": dict(
        version="3.1.6", args=[],
        sha256="0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d",
        deps=PYTEST + ["MarkupSafe==3.0.4", "trio==0.35.0", "attrs==26.1.0", "idna==3.20",
                       "outcome==1.3.0.post0", "sniffio==1.3.1", "sortedcontainers==2.4.0"]),
    "packaging": dict(
        version="26.4", args=["--hypothesis-seed=0"],
        sha256="c4b671c41ddb9bf26e543c37723610d28fb6bf7affc4da17cf048d419d2c062a",
        deps=PYTEST + HYPOTHESIS + ["pretend==1.0.9", "tomli_w==1.2.0"]),
    "pluggy": dict(
        version="1.7.0", args=[], deps=PYTEST,
        sha256="d1eaa46ebb595891b860ab086b4d09c8588af65ebd4361b8e8f4bb8920b90ba8"),
    "markdown-it-py": dict(
        version="4.3.0", args=[],
        sha256="91a58fa5b72c71a40cf7177250fd767480d7a2bb3ac426ccfb76fb90305fdaaa",
        deps=PYTEST + ["mdurl==0.1.2", "pytest-regressions==2.11.0", "pytest-datadir==1.9.0",
                       "PyYAML==6.0.4", "pytest-timeout==2.4.0", "linkify-it-py==2.2.0"]),
}
# Tests deselected in both runs because they fail without lazyimport too.
DESELECT = {
    "attrs": {
        # attrs assumes that on 3.11+ inspect.signature() sees a __call__ kept in an instance
        # slot; CPython 3.11.7 and 3.12.1 refuse ("is not a callable object"), 3.13.0 passes.
        "tests/test_converters.py::TestPipe::test_wrapped_annotation":
            "inspect.signature() of a slot __call__ fails before CPython 3.13",
    },
}
CLI_DEPS = PYTEST + ["markdown-it-py==4.3.0", "mdurl==0.1.2"]
CLI_CHECKS = [  # (label, argv); {bin} is the venv's bin dir, {md} a sample Markdown file
    ("pip --version", ["{bin}/pip", "--version"]),
    ("pytest --version", ["{bin}/pytest", "--version"]),
    ("python -m pip --version", ["{bin}/python", "-m", "pip", "--version"]),
    ("python -m pip list", ["{bin}/python", "-m", "pip", "list", "--disable-pip-version-check"]),
    ("python -m pytest --version", ["{bin}/python", "-m", "pytest", "--version"]),
    ("python -m pygments -V", ["{bin}/python", "-m", "pygments", "-V"]),
    ("python -m markdown_it.cli.parse F", ["{bin}/python", "-m", "markdown_it.cli.parse", "{md}"]),
    ("markdown-it --help", ["{bin}/markdown-it", "--help"]),
]
SAMPLE_MD = "# Title\n\nSome *text*, `code`, a [link](https://example.org).\n\n- a\n- b\n"
OUTCOMES = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
FETCH_LOCK = threading.Lock()


class SetupError(Exception):
    pass


def run(argv, what, **kw):
    """Run a set-up command; raise SetupError with the tail of its output if it fails."""
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    if p.returncode:
        raise SetupError(f"{what} failed (exit {p.returncode}):\n{(p.stdout + p.stderr)[-3000:]}")
    return p.stdout


def clean_env(lazy, report=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")
           and k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if lazy:
        env["LAZYIMPORT"] = "*"
        env.update({"LAZYIMPORT_REPORT": str(report)} if report else {})
    return env


def find_python(spec):
    """A path, a command on PATH, or X.Y (pyenv's newest X.Y.z, else pythonX.Y on PATH)."""
    if os.sep in spec:
        return os.path.abspath(spec)
    if re.fullmatch(r"\d+\.\d+", spec):
        root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
        found = sorted(glob.glob(f"{root}/versions/{spec}.*/bin/python"), key=lambda p:
                       [int(x) for x in re.findall(r"\d+", Path(p).parent.parent.name)])
        if found:
            return found[-1]
        spec = "python" + spec
    if not shutil.which(spec):
        raise SetupError(f"python {spec!r} not found")
    return shutil.which(spec)


def fetch_sdist(cache, name, version, sha):
    """The pinned sdist, `pip download`ed into the cache once; sha256-checked."""
    dest = cache / "sdists" / f"{name}-{version}"
    with FETCH_LOCK:
        if not list(dest.glob("*.tar.gz")):
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", name,
                 "-d", dest, f"{name}=={version}"], f"pip download {name}=={version}")
    sdist = next(dest.glob("*.tar.gz"))
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != sha:
        raise SetupError(f"{sdist} has sha256 {digest}, expected {sha}")
    return sdist


def ensure_venv(python, venv, requirements):
    """Make VENV hold REQUIREMENTS (reused while its stamp matches); (freeze, created)."""
    stamp, want = venv / "harness-stamp.json", {"python": python, "requirements": requirements}
    if stamp.exists() and json.loads(stamp.read_text()).get("want") == want:
        return json.loads(stamp.read_text())["freeze"], False
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", venv], f"creating {venv}")
    py = venv / "bin" / "python"
    run([py, "-m", "pip", "install", "-q", *requirements], f"installing into {venv}")
    freeze = run([py, "-m", "pip", "freeze", "--all"], "pip freeze").splitlines()
    norm = lambda r: re.split(r"[=<>;@ ]", r)[0].lower().replace("_", "-")
    known = {norm(r) for r in requirements} | {"pip", "setuptools", "lazyimport"}
    extra = [f for f in freeze if norm(f) not in known and " @ " not in f]
    if extra:
        print(f"warning: {venv} pulled unpinned {', '.join(extra)}", file=sys.stderr)
    stamp.write_text(json.dumps({"want": want, "freeze": freeze}, indent=1))
    return freeze, True


def build_lazyimport_wheel(python, repo, out):
    """Build lazyimport from a copy of the repo, so no build/ lands in the work tree."""
    shutil.copytree(repo, out / "src", ignore=shutil.ignore_patterns(
        ".git", ".cache", "build", "dist", "*.egg-info", "__pycache__", ".venv*", ".tox"))
    run([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, out / "src"],
        f"building lazyimport from {repo} (not ready yet? --no-lazyimport runs baselines)")
    return next(out.glob("lazyimport-*.whl"))


def install_lazyimport(venv, wheel):
    """Install the wheel (None: remove any old copy) and check the start-up hook works."""
    py = venv / "bin" / "python"
    if wheel is None:
        subprocess.run([py, "-m", "pip", "uninstall", "-qy", "lazyimport"], capture_output=True)
        return
    run([py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel],
        f"installing lazyimport into {venv}")
    site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], "purelib")
    if not any("lazyimport" in p.read_text() for p in Path(site.strip()).glob("*.pth")):
        raise SetupError(f"lazyimport is installed in {venv} without a .pth start-up hook")
    probe = "import sys; print([m for m in sys.modules if 'lazyimport' in m])"
    if run([py, "-c", probe], "start-up probe", env=clean_env(True)).strip() == "[]":
        raise SetupError(f"LAZYIMPORT=* did not load lazyimport at start-up in {venv}")


def report_states(path):
    """Count modules by state in lazyimport's status JSON: {"modules": {name: {"status": s}}}
    (also accepted: a "state" key, a list of such dicts, or {name: s})."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    mods = data.get("modules", data) if isinstance(data, dict) else data
    items = mods.values() if isinstance(mods, dict) else mods if isinstance(mods, list) else []
    states = [v.get("status", v.get("state")) if isinstance(v, dict) else v for v in items]
    return dict(Counter(s for s in states if isinstance(s, str)))


def deferred(states):
    """Modules that stayed deferred (imported, body never run) of all in the report."""
    return None if states is None else f"{states.get('deferred', 0)}/{sum(states.values())}"


def parse_junit(path):
    """{test id: 'passed' | 'failed' | 'error' | 'skipped' | 'xfailed' | combination};
    junit xml cannot tell xpassed from passed, pytest's closing line can."""
    try:
        cases = ET.parse(path).getroot().iter("testcase")
    except (OSError, ET.ParseError):
        return {}
    kind = {"failure": "failed", "error": "error", "skipped": "skipped"}
    outcomes, seen = {}, Counter()
    for case in cases:
        key = f"{case.get('classname')}::{case.get('name')}"
        seen[key] += 1
        outcomes[key + (f"#{seen[key]}" if seen[key] > 1 else "")] = "+".join(sorted(
            "xfailed" if c.get("type") == "pytest.xfail" else kind[c.tag]
            for c in case if c.tag in kind)) or "passed"
    return outcomes


def parse_summary(output):
    """Counts from pytest's closing line, e.g. '812 passed, 3 skipped, 1 xfailed in 4.20s'."""
    for line in reversed(output.splitlines()):
        found = re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|"
                           r"warnings?|deselected)\b", line)
        if found and re.search(r" in [\d.]+s\b", line):
            counts = dict.fromkeys(OUTCOMES, 0)
            for num, word in found:
                counts[{"error": "errors", "warning": "warnings"}.get(word, word)] = int(num)
            return counts
    return None


def run_suite(venv, src, args, work, lazy, timeout):
    tag = "lazy" if lazy else "plain"
    junit, report, logf = work / f"{tag}.xml", work / f"{tag}-report.json", work / f"{tag}.log"
    for f in (junit, report):
        f.unlink(missing_ok=True)
    argv = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", "-q", f"--junitxml={junit}"]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv + args, cwd=src, env=clean_env(lazy, report), text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, rc = p.communicate(timeout=timeout)[0], p.returncode
    except subprocess.TimeoutExpired:  # kill the whole group: tests start subprocesses too
        os.killpg(p.pid, signal.SIGKILL)
        out, rc = p.communicate()[0] + f"\n[harness] killed after {timeout}s", "timeout"
    seconds = round(time.perf_counter() - t0, 2)
    logf.write_text(" ".join(argv + args) + "\n\n" + out)
    tests = parse_junit(junit)
    counts = parse_summary(out) or dict(Counter(  # no closing line: count the junit xml
        {"error": "errors"}.get(v, v) for v in tests.values()))
    states = report_states(report) if lazy else None
    return {"rc": rc, "seconds": seconds, "counts": counts, "log": str(logf), "states": states,
            "tests": tests, "not_passed": sorted(
                k for k, v in tests.items() if {"failed", "error"} & set(v.split("+")))}


def suite_job(python, pyver, name, cache, wheel, timeout):
    cfg, deselect = PROJECTS[name], DESELECT.get(name, {})
    res = {"python": python, "python_version": pyver, "project": name, "version": cfg["version"],
           "deselected": deselect}
    work = cache / f"py{pyver}" / name
    venv = work / "venv"
    try:
        sdist = fetch_sdist(cache, name, cfg["version"], cfg["sha256"])
        src = work / sdist.name[: -len(".tar.gz")]
        fresh = not src.exists()
        if fresh:
            with tarfile.open(sdist) as tf:
                safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tf.extractall(work, **safe)
        reqs = [d for d in cfg["deps"] if re.split(r"[=<>;]", d)[0].lower() != name.lower()]
        res["freeze"], created = ensure_venv(python, venv, reqs + [str(src)])
        if fresh or created:  # write the tests' bytecode once, outside the timed runs
            subprocess.run([venv / "bin" / "pytest", "-p", "no:cacheprovider", "--collect-only",
                            *cfg["args"]], cwd=src, capture_output=True, env=clean_env(False))
        install_lazyimport(venv, wheel)
    except SetupError as e:
        return {**res, "status": "ERROR", "error": str(e)}
    args = cfg["args"] + [a for d in deselect for a in ("--deselect", d)]
    res["plain"] = plain = run_suite(venv, src, args, work, False, timeout)
    diffs = []
    if plain["rc"] != 0 or plain["counts"].get("failed") or plain["counts"].get("errors"):
        diffs = [f"plain run not clean (exit {plain['rc']}), see {plain['log']}"]
        diffs += [f"plain: {t}" for t in plain["not_passed"]]
    if wheel:
        res["lazy"] = lazy = run_suite(venv, src, args, work, True, timeout)
        pick = lambda r: {k: r["counts"].get(k, 0) for k in OUTCOMES}
        if pick(plain) != pick(lazy) or plain["rc"] != lazy["rc"]:
            diffs.append(f"exit {plain['rc']} -> {lazy['rc']}; counts {pick(plain)} -> "
                         f"{pick(lazy)}; see {lazy['log']}")
        diffs += [f"{k}: {plain['tests'].get(k, 'absent')} -> {lazy['tests'].get(k, 'absent')}"
                  for k in sorted(set(plain["tests"]) | set(lazy["tests"]))
                  if plain["tests"].get(k) != lazy["tests"].get(k)]
    return {**res, "status": "FAIL" if diffs else "OK", "differences": diffs}


def describe(ref, other):
    """What differs between two (exit code, stdout, stderr) results, as diff lines."""
    out = [f"exit {ref[0]} -> {other[0]}"] if ref[0] != other[0] else []
    for i, stream in ((1, "stdout"), (2, "stderr")):
        diff = difflib.unified_diff(ref[i].splitlines(), other[i].splitlines(),
                                    f"plain {stream}", f"lazy {stream}", n=1, lineterm="")
        out += list(diff)[:20]
    return out


def cli_job(python, pyver, cache, wheel, repeat=5):
    work = cache / f"py{pyver}" / "_cli"
    try:
        ensure_venv(python, work / "venv", CLI_DEPS)
        install_lazyimport(work / "venv", wheel)
    except SetupError as e:
        return [{"python_version": pyver, "check": "setup", "status": "ERROR", "error": str(e)}]
    (work / "sample.md").write_text(SAMPLE_MD)
    modes, rows, report = ([False, True] if wheel else [False]), [], work / "report.json"
    for label, template in CLI_CHECKS:
        argv = [a.format(bin=work / "venv" / "bin", md=work / "sample.md") for a in template]
        seen, times = {m: [] for m in modes}, {m: [] for m in modes}
        for i in range(repeat + 1):  # round 0 warms the caches and is not timed
            for lazy in modes:  # alternate plain and lazy, so drift hits both alike
                report.unlink(missing_ok=True)
                t0 = time.perf_counter()
                p = subprocess.run(argv, capture_output=True, text=True, cwd=work,
                                   env=clean_env(lazy, report))
                times[lazy] += [time.perf_counter() - t0] if i else []
                seen[lazy].append((p.returncode, p.stdout, p.stderr))
        ref = seen[False][0]
        odd = [s for m in modes for s in seen[m] if s != ref]
        rows.append({"python_version": pyver, "check": label, "argv": argv, "rc": ref[0],
                     "status": "FAIL" if odd else "OK",
                     "difference": describe(ref, odd[0]) if odd else [],
                     "plain_ms": round(1000 * statistics.median(times[False]), 1),
                     "lazy_ms": round(1000 * statistics.median(times[True]), 1) if wheel else None,
                     "states": report_states(report)})
    return rows


def print_tables(suites, cli, pyvers):
    fmt = lambda c: "/".join(str(c.get(k, 0)) for k in OUTCOMES) if c else "-"
    dash = lambda v: "-" if v is None else str(v)
    row = "{:15} {:8} {:20} {:20} {:6} {:>8} {:>8} {:>10}".format
    cli_row = "{:36} {:>4} {:6} {:>9} {:>9} {:>10}".format
    for pyver in pyvers:
        print(f"\n== Python {pyver}   counts: passed/failed/errors/skipped/xfailed/xpassed; "
              "deferred: modules never run / modules in the lazy report")
        print(row("project", "version", "plain", "lazy", "same?", "plain s", "lazy s", "deferred"))
        for r in (r for r in suites if r["python_version"] == pyver):
            pl, lz = r.get("plain", {}), r.get("lazy", {})
            print(row(r["project"], r["version"], fmt(pl.get("counts")), fmt(lz.get("counts")),
                      r["status"], dash(pl.get("seconds")), dash(lz.get("seconds")),
                      dash(deferred(lz.get("states")))))
            lines = [r["error"]] if "error" in r else r["differences"]
            for line in lines[:25] + ([f"... {len(lines) - 25} more"] if len(lines) > 25 else []):
                print(f"    {line}")
        rows = [c for c in cli if c["python_version"] == pyver]
        print("\n" + cli_row("command (median of 5 runs)", "exit", "same?", "plain ms", "lazy ms",
                             "deferred") if rows else "")
        for c in rows:
            print(cli_row(c["check"], dash(c.get("rc")), c["status"], dash(c.get("plain_ms")),
                          dash(c.get("lazy_ms")), dash(deferred(c.get("states")))))
            for line in [c["error"]] if "error" in c else c["difference"]:
                print(f"    {line}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = ap.add_argument
    add("--ci", action="store_true", help=f"CI profile: Pythons {CI_PYTHONS}, all projects")
    add("--python", action="append", default=[],
        help="interpreter: path, command or X.Y (repeatable; default: the running one)")
    add("--project", action="append", default=[], choices=list(PROJECTS), help="repeatable")
    add("--cache", type=Path, default=REPO / ".cache" / "thirdparty",
        help="sdists, sources, venvs and logs (default: %(default)s)")
    add("--repo", type=Path, default=REPO, help="lazyimport source tree to build and install")
    add("--no-lazyimport", action="store_true", help="baseline: plain runs only, no lazyimport")
    add("--skip-cli", action="store_true", help="skip the command-line checks")
    add("-j", "--jobs", type=int, default=1, help="parallel jobs (default 1)")
    add("--timeout", type=float, default=900, help="seconds allowed per pytest run")
    add("--json", type=Path, help="write all results to this file")
    a = ap.parse_args(argv)
    t_start, cache, wheel, tmp = time.perf_counter(), a.cache.resolve(), None, None
    try:
        pythons = [find_python(p) for p in a.python or (CI_PYTHONS if a.ci else [sys.executable])]
        pyvers = [run([p, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                      f"running {p}").strip() for p in pythons]
        (cache / "sdists").mkdir(parents=True, exist_ok=True)
        if not a.no_lazyimport:
            tmp = Path(tempfile.mkdtemp(dir=cache, prefix="wheel-"))
            wheel = build_lazyimport_wheel(pythons[0], a.repo.resolve(), tmp)
    except SetupError as e:
        shutil.rmtree(tmp, ignore_errors=True) if tmp else None
        print(f"error: {e}", file=sys.stderr)
        return 2
    projects, suites, cli = a.project or list(PROJECTS), [], []
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
        jobs = {pool.submit(suite_job, py, v, name, cache, wheel, a.timeout): (v, name)
                for py, v in zip(pythons, pyvers) for name in projects}
        jobs.update({} if a.skip_cli else {pool.submit(cli_job, py, v, cache, wheel): (v, "cli")
                                          for py, v in zip(pythons, pyvers)})
        for f in concurrent.futures.as_completed(jobs):
            try:
                r = f.result()
            except Exception as e:  # a harness bug: report it, keep the other results
                r = {"python_version": jobs[f][0], "project": jobs[f][1], "version": "?",
                     "status": "ERROR", "error": f"{type(e).__name__}: {e}", "differences": []}
            for x in r if isinstance(r, list) else [r]:
                (cli if "check" in x else suites).append(x)
                print(f"[{x['python_version']}] {x.get('check', x.get('project'))}: "
                      f"{x['status']}", file=sys.stderr, flush=True)
    order = {(v, n): i for i, (v, n) in enumerate(jobs.values())}
    suites.sort(key=lambda r: order.get((r["python_version"], r["project"]), -1))
    cli.sort(key=lambda r: pyvers.index(r["python_version"]))
    print_tables(suites, cli, pyvers)
    if wheel:
        shutil.rmtree(wheel.parent, ignore_errors=True)
    total = round(time.perf_counter() - t_start, 1)
    statuses = Counter(r["status"] for r in suites + cli)
    print(f"\ntotal {total}s: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    if a.json:
        for leg in (r[k] for r in suites for k in ("plain", "lazy") if k in r):
            leg.pop("tests")  # large; the differences list names every test that matters
        a.json.write_text(json.dumps({
            "total_seconds": total, "lazyimport": wheel is not None, "pythons": pythons,
            "cache": str(cache), "projects": {n: PROJECTS[n] for n in projects},
            "cli_deps": CLI_DEPS, "suites": suites, "cli": cli}, indent=1))
    return 2 if statuses["ERROR"] else 1 if statuses["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
