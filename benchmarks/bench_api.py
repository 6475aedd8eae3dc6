"""lazyimport.lazy_module() vs lazy_loader.load(), per call, in one run.

Four cases, each on N generated packages (distinct names per library, so each
call does its full work), interleaved in rounds:

* a new top-level module: both create a deferred module object;
* a submodule (``pkg.sub``) of a package whose ``__init__`` does ~2 ms of
  work: lazy_loader's find_spec imports -- runs -- the package first;
  lazy_module defers both (the torch.nn.functional case);
* a missing module: lazy_loader calls inspect.stack() to remember the call site
  (the known cost, and it touches every module's __file__: lazy_loader#131);
  lazy_module raises ModuleNotFoundError at once;
* a name already imported: both return the cached module.

    python benchmarks/bench_api.py [--n 200] [--rounds 5] [--json out.json]
"""
import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


HEAVY_INIT = "import time\n_end = time.perf_counter() + 0.002\nwhile time.perf_counter() < _end:\n    pass\n"


def _make(root: Path, prefix: str, n: int, sub: bool = False) -> list[str]:
    names = []
    for i in range(n):
        package = root / f"{prefix}{i}"
        package.mkdir()
        (package / "__init__.py").write_text(HEAVY_INIT if sub else "X = 1\n")
        if sub:
            (package / "sub.py").write_text("Y = 2\n")
        names.append(f"{package.name}.sub" if sub else package.name)
    return names


def _missing(fn):
    def call(name: str) -> None:
        try:
            module = fn(name)
            getattr(module, "__name__", None)
        except ImportError:
            pass
    return call


def _per_call(fn, names: list[str]) -> float:
    start = time.perf_counter()
    for name in names:
        fn(name)
    return (time.perf_counter() - start) / len(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quick", action="store_true", help="a smoke run (CI)")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rounds = 40, 1
    try:
        import lazy_loader
    except ImportError:
        print("lazy_loader is not installed (pip install lazy_loader); nothing to compare")
        return 0
    import lazyimport

    tmp = Path(tempfile.mkdtemp())
    sys.path.insert(0, str(tmp))
    cases = ("new module", "submodule of a package", "missing module", "already imported")
    data = {case: {"lazyimport.lazy_module": [], "lazy_loader.load": []} for case in cases}
    fns = {"lazyimport.lazy_module": lazyimport.lazy_module, "lazy_loader.load": lazy_loader.load}
    import warnings

    warnings.simplefilter("ignore")  # lazy_loader warns about subpackages (that is the point)
    for r in range(args.rounds):
        labels = list(fns)
        if r % 2:
            labels.reverse()
        made = {label: {
            "new module": _make(tmp, f"n{r}{label[5]}_", args.n),
            "submodule of a package": _make(tmp, f"s{r}{label[5]}_", args.n // 4 or 1, sub=True),
            "missing module": [f"absent{r}{label[5]}_{i}" for i in range(args.n // 4 or 1)],
        } for label in labels}
        importlib.invalidate_caches()
        for case in cases:
            for label in labels:
                names = made[label]["new module"] if case == "already imported" else made[label][case]
                fn = _missing(fns[label]) if case == "missing module" else fns[label]
                data[case][label].append(_per_call(fn, names))
    print(f"lazy_module vs lazy_loader.load -- {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
          f"lazy_loader {lazy_loader.__version__}, {os.cpu_count()} cores; {args.rounds} rounds, median per call")
    out = {}
    for case in cases:
        ours = statistics.median(data[case]["lazyimport.lazy_module"])
        theirs = statistics.median(data[case]["lazy_loader.load"])
        out[case] = {"lazy_module_us": ours * 1e6, "lazy_loader_us": theirs * 1e6, "ratio": theirs / ours}
        print(f"  {case:24} lazy_module {ours * 1e6:9.1f} us   lazy_loader.load {theirs * 1e6:9.1f} us   "
              f"lazy_loader / lazy_module = {theirs / ours:7.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
