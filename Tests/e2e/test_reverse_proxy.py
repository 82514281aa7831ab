"""base_path behind a real nginx reverse proxy that keeps the /logs/ prefix."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from conftest import append_lines, find_free_port, run, wait_for

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def nginx(workdir: Path):
    if not Path(NGINX).exists():
        pytest.skip("nginx missing")
    procs = []

    def start(upstream_port: int) -> int:
        port = find_free_port()
        prefix = workdir / "nginx"
        (prefix / "logs").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(f"""
daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location /logs/ {{
      proxy_pass http://127.0.0.1:{upstream_port};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host:$server_port;
      proxy_read_timeout 1h;
      proxy_buffering off;
    }}
  }}
}}
""")
        p = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        wait_for(lambda: _get(port, "/logs/healthz")[0] == 200, 10, "nginx to proxy /logs/healthz")
        return port

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return 0, b""


def test_ui_api_and_ws_work_under_a_path_prefix(tailcast, workdir: Path, nginx):
    log = workdir / "app.log"
    append_lines(log, ["through the proxy"])
    srv = tailcast(sources=[{"name": "app", "kind": "file", "path": str(log)}], server={"base_path": "/logs"})
    port = nginx(srv.port)
    status, body = _get(port, "/logs/")
    assert status == 200 and b'<base href="/logs/">' in body
    assert _get(port, "/logs/ui/app.js")[0] == 200
    status, body = _get(port, "/logs/api/sources")
    assert status == 200 and json.loads(body)[0]["name"] == "app"
    assert _get(port, "/logs/metrics")[0] == 200

    async def scenario():
        # A browser on the proxy's origin: same origin through the proxy's Host header.
        async with connect(f"ws://127.0.0.1:{port}/logs/ws?n=1", origin=f"http://127.0.0.1:{port}", max_size=None) as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert first["lines"][0]["text"] == "through the proxy"
            append_lines(log, ["live line"])
            live = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert live["lines"][0]["text"] == "live line"

    run(scenario())
