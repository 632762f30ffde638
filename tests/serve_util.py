"""Start a real ``apkscan serve`` on a loopback port and talk to it over HTTP (stdlib client).

Used by tests/test_serve.py, tests/test_serve_browser.py and benchmarks/bench_serve.py."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Server:
    def __init__(self, data: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data = data
        cmd = [sys.executable, "-m", "apkscan", "serve", "--data", str(data), "--port", "0", *args]
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=full_env, cwd=ROOT)
        self.lines: list[str] = []
        self.url = ""
        self.token = ""
        deadline = time.monotonic() + 120
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"listening on (http://\S+?)/? ", line)
            if m:
                self.url = m.group(1).rstrip("/")
            m = re.search(r"first admin token .*: (aps_\S+)", line)
            if m:
                self.token = m.group(1)
            if self.url and ("token" in line):
                break
        if not self.url:
            self.stop()
            raise RuntimeError("apkscan serve did not start:\n" + "".join(self.lines))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_ready(self, token: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code, body = request(self.url + "/api/v1/health", token)
            if code == 200 and body["status"] == "ready":
                return dict(body)
            if code == 200 and body["status"] == "error":
                raise RuntimeError(body["error"])
            time.sleep(0.2)
        raise TimeoutError("the service's workers did not start")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


def request(url: str, token: str | None = None, data: bytes | None = None, method: str | None = None,
            headers: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, Any]:
    """(HTTP status, parsed JSON body or raw bytes)."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if data is not None:
        h.setdefault("Content-Type", "application/octet-stream")
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            code, raw, ctype = resp.status, resp.read(), resp.headers.get("content-type", "")
    except urllib.error.HTTPError as exc:
        code, raw, ctype = exc.code, exc.read(), exc.headers.get("content-type", "")
    if ctype.startswith("application/") and "json" in ctype.split(";")[0]:
        return code, json.loads(raw)
    return code, raw


def upload(server: Server, token: str, data: bytes, filename: str = "app.apk", wait: float = 60) -> tuple[int, Any]:
    q = f"?filename={urllib.request.quote(filename)}" + (f"&wait={wait:g}" if wait else "")
    return request(server.url + "/api/v1/scans" + q, token, data=data, method="POST")


def upload_multipart(server: Server, token: str, data: bytes, filename: str, wait: float = 60,
                     note: bytes = b"hello") -> tuple[int, Any]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n".encode() + note +
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/vnd.android.package-archive\r\n\r\n".encode() + data +
            f"\r\n--{boundary}--\r\n".encode())
    return request(f"{server.url}/api/v1/scans?wait={wait:g}", token, data=body, method="POST",
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apkscan", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
