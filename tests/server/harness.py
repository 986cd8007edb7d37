"""harness.py — starts `flint serve` on a free loopback port for a test and
counts checks; each test script prints "NAME: N passed, M failed" last, as
the C tests do (tests/run.sh reads that line)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

FLINT = os.environ.get("FLINT_BIN", "build/flint")


class Checks:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what}", flush=True)
        return ok

    def run(self, fn, *args):
        """Runs one test function; an exception is one failure, not the end."""
        try:
            fn(self, *args)
        except Exception:
            self.failed += 1
            print(f"FAIL {self.name}: {fn.__name__} raised:\n{traceback.format_exc()}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """flint serve in a subprocess; stderr kept in a log file."""

    def __init__(self, model, *args, log_dir=os.path.dirname(FLINT) or "."):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, f"serve-{self.port}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([FLINT, "serve", "-m", model, "--port", str(self.port), "-t", "2", *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"flint serve exited with {self.proc.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, socket.timeout):
                pass
            time.sleep(0.1)
        raise RuntimeError("flint serve did not become healthy in 120 s")

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        if not os.path.exists(self.log_path):  # removed after a clean exit
            return ""
        with open(self.log_path) as f:
            return f.read()[-4000:]

    def get(self, path, headers=None):
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post(self, path, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def healthy(self):
        return self.get("/health")[0] == 200

    def metric(self, name):
        status, body = self.get("/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                if line.split(" ")[0] == name or "{" in name:
                    return float(line.rsplit(" ", 1)[1])
        return None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the server and returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.log.close()
        if self.proc.returncode == 0:  # a log is kept only when something went wrong
            os.remove(self.log_path)
        return self.proc.returncode


def model_path():
    m = os.environ.get("FLINT_REAL_MODEL")
    if not m or not os.path.exists(m):
        print("SKIPPED: the real model is not available (FLINT_REAL_MODEL unset: offline?)")
        return None
    return m
