#!/usr/bin/env python3
"""husk serve end to end, with plain HTTP: deploys (python3 files, a static
binary in a tar.gz), invocations by path and Host, logs, metrics, a new
revision, scale to zero and a restore after it, a sandbox killed
mid-request (502, then a healthy request), delete, a node restart that
keeps every function, hostile API input (each a clean 4xx while the node
keeps serving), a request past timeout_s (504), and a load run.

usage: node.py HUSK STATIC_SERVER [REQUESTS]   (prints "N passed, N failed")
"""
import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile

HUSK = os.path.abspath(sys.argv[1])
STATIC = os.path.abspath(sys.argv[2])
LOAD = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
RUNTIMES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtimes")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS", name)
    else:
        failed += 1
        print("FAIL", name, detail)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Node:
    def __init__(self, state):
        self.state = state
        self.api_port, self.port = free_port(), free_port()
        self.start()

    def start(self):
        self.p = subprocess.Popen(
            [HUSK, "serve", "--api", "127.0.0.1:%d" % self.api_port, "--listen",
             "127.0.0.1:%d" % self.port, "--state", self.state, "--runtimes", RUNTIMES],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.p.stdout.readline()
        if "husk serve: api on" not in line:
            raise RuntimeError("husk serve did not start: " + line + self.p.stdout.read())
        threading.Thread(target=self.p.stdout.read, daemon=True).start()
        with open(os.path.join(self.state, "token")) as f:
            self.token = f.read().strip()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(timeout=60)

    def api(self, method, path, body=None, token=True, raw=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=180)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + (self.token if token is True else token)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            text = r.read()
        except (ConnectionError, http.client.HTTPException) as e:
            return 0, {"transport": str(e)}
        finally:
            c.close()
        try:
            return r.status, json.loads(text) if text else None
        except ValueError:
            return r.status, text.decode(errors="replace")

    def get(self, path, host=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request("GET", path, headers={"Host": host} if host else {})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
            return 0, str(e)
        finally:
            c.close()


APP = r'''
import http.server, os, sys, time
VERSION = %r
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path.startswith("/sleep"):
            time.sleep(float(self.path.split("/")[2]))
        if self.path.startswith("/alloc"):
            hog = bytearray(int(self.path.split("/")[2]) << 20)
        body = ("%%s %%s %%s %%s\n" %% (VERSION, os.environ["K_SERVICE"],
                os.environ["K_REVISION"], self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        # The body as it came (chunked or not), sent back reversed, chunked.
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                data += self.rfile.read(size)
                self.rfile.readline()
                if not size:
                    break
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        out = data[::-1]
        for i in range(0, len(out), 1000):
            part = out[i:i + 1000]
            self.wfile.write(b"%%x\r\n%%s\r\n" %% (len(part), part))
        self.wfile.write(b"0\r\n\r\n")
    def log_message(self, fmt, *args):
        print("served", fmt %% args, flush=True)
print("starting", VERSION, flush=True)
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
'''


def py_fn(name, version, **cfg):
    d = {"name": name, "runtime": "python3", "files": {"main.py": APP % version}}
    d.update(cfg)
    return d


def targz(entries):
    """entries: (name, bytes or None for a directory, mode, kind)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data, mode, kind in entries:
            i = tarfile.TarInfo(name)
            i.mode = mode
            if kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, data
                t.addfile(i)
            elif data is None:
                i.type = tarfile.DIRTYPE
                t.addfile(i)
            else:
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
    return base64.b64encode(buf.getvalue()).decode()


def metric(node, name, labels):
    _, text = node.api("GET", "/metrics", token=False)
    for line in text.splitlines():
        if line.startswith(name + "{") and all(l in line for l in labels):
            return float(line.split()[-1])
    return None


def wait_for(pred, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def main():
    state = tempfile.mkdtemp(prefix="husk-node-")
    node = Node(state)
    try:
        run(node)
    finally:
        if node.p.poll() is None:
            node.stop()
        shutil.rmtree(state, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run(node):
    st, body = node.api("GET", "/healthz", token=False)
    check("healthz is open", st == 200 and body == {"status": "ok"}, (st, body))
    st, _ = node.api("GET", "/functions", token=False)
    check("no token: 401", st == 401, st)
    st, _ = node.api("GET", "/functions", token="x" * 64)
    check("wrong token: 401", st == 401, st)
    with socket.create_connection(("127.0.0.1", node.api_port), timeout=10) as s:
        s.sendall(b"POST /functions HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
        head = s.recv(100)
    check("no token: 401 before the body is read", head.startswith(b"HTTP/1.1 401"), head)
    tok = os.stat(os.path.join(node.state, "token"))
    check("token file is 0600", tok.st_mode & 0o777 == 0o600, oct(tok.st_mode))

    # Deploys.
    t = time.monotonic()
    st, body = node.api("POST", "/functions?wait=1", py_fn("hello", "v1"))
    check("deploy python3 (wait): 201 ready", st == 201 and body.get("state") == "ready",
          (st, body))
    print("  python3 deploy: %.0f ms, snapshot %s bytes" % ((time.monotonic() - t) * 1000,
          body.get("snapshot_bytes") if isinstance(body, dict) else "?"))
    with open(STATIC, "rb") as f:
        server = f.read()
    st, body = node.api("POST", "/functions?wait=1", {
        "name": "static", "runtime": "binary", "handler": "bin/server",
        "archive": targz([("bin", None, 0o755, ""), ("bin/server", server, 0o755, "")])})
    check("deploy a static binary (tar.gz): 201 ready",
          st == 201 and body.get("state") == "ready", (st, body))
    st, body = node.api("POST", "/functions", py_fn("nowait", "v1"))
    check("deploy without wait: 202 deploying", st == 202 and body.get("state") == "deploying",
          (st, body))

    # Invocations.
    st, text = node.get("/hello/a/b?x=1")
    check("invoke by path: prefix stripped", st == 200 and text == "v1 hello hello-00001 /a/b?x=1\n",
          (st, text))
    st, text = node.get("/zzz", host="hello.example.com")
    check("invoke by Host", st == 200 and text.endswith(" /zzz\n"), (st, text))
    st, text = node.get("/static/")
    check("invoke the static binary", st == 200 and text.startswith("request "), (st, text))
    st, text = node.get("/nosuch/")
    check("unknown function: 404", st == 404, (st, text))
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    ok = True
    for i in range(20):
        c.request("GET", "/hello/k%d" % i)
        r = c.getresponse()
        ok &= r.status == 200 and r.read().decode().endswith("/k%d\n" % i)
    c.close()
    check("keep-alive: 20 requests on one connection", ok)
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as s:
        f = s.makefile("rb")
        ok = True
        for i in range(3):
            s.sendall(b"GET /hello/h10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = http.client.HTTPResponse(s)
            r.begin()
            ok &= r.status == 200 and r.getheader("Connection") == "keep-alive"
            ok &= r.read().endswith(b"/h10\n")
        f.close()
    check("HTTP/1.0 keep-alive", ok)

    # Chunked bodies, both ways, streamed.
    s = socket.create_connection(("127.0.0.1", node.port), timeout=30)
    payload = bytes(range(256)) * 400
    req = b"POST /hello/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(payload), 7000):
        part = payload[i:i + 7000]
        req += b"%x\r\n%s\r\n" % (len(part), part)
    s.sendall(req + b"0\r\n\r\n")
    r = http.client.HTTPResponse(s)
    r.begin()
    got = r.read()
    s.close()
    check("chunked request and response bodies", r.status == 200 and got == payload[::-1],
          (r.status, len(got)))

    # A connection the router kept that the instance then closes.
    app = APP.replace('protocol_version = "HTTP/1.1"', 'protocol_version = "HTTP/1.1"\n    timeout = 0.5')
    node.api("POST", "/functions?wait=1", {"name": "ka", "runtime": "python3",
                                          "files": {"main.py": app % "v1"}})
    st1, _ = node.get("/ka/")
    time.sleep(1.5)  # (the server times the kept connection out)
    st2, text = node.get("/ka/")
    check("a kept connection the instance closed: the next request is served",
          st1 == 200 and st2 == 200, (st1, st2, text))

    # Logs and metrics.
    st, body = node.api("GET", "/functions/hello/logs?tail=50")
    lines = body.get("logs", []) if isinstance(body, dict) else []
    check("logs: the guest's lines with time and instance",
          st == 200 and any("served" in l["text"] and l["instance"] > 0 and l["time"] for l in lines),
          (st, lines[-3:]))
    n = metric(node, "husk_requests_total", ['function="hello"', 'code="2xx"'])
    check("metrics: requests by function and code", n is not None and n >= 22, n)
    n = metric(node, "husk_cold_starts_total", ['function="hello"', 'kind="restore"'])
    check("metrics: restore cold starts", n is not None and n >= 1, n)

    # A new revision.
    st, body = node.api("PUT", "/functions/hello?wait=1", py_fn("hello", "v2"))
    check("update: 200, revision 2 ready",
          st == 200 and body.get("revision") == 2 and body.get("state") == "ready", (st, body))
    st, text = node.get("/hello/")
    check("the new revision serves", st == 200 and text.startswith("v2 hello hello-00002"),
          (st, text))

    # Scale to zero, then a restore.
    st, body = node.api("POST", "/functions?wait=1", py_fn("idle", "v1", idle_timeout_s=1))
    st, text = node.get("/idle/")
    check("idle function answers", st == 200, (st, text))

    def instances(name):
        # (Those serving: a sandbox booted ahead for the next cold start
        # stands by beside them.)
        s, b = node.api("GET", "/functions/%s/instances" % name)
        return [i for i in b.get("instances", []) if i["state"] != "standby"] if s == 200 else []
    check("scales to zero after idle_timeout_s", wait_for(lambda: not instances("idle"), 10),
          instances("idle"))
    t = time.monotonic()
    st, text = node.get("/idle/")
    check("a cold start from the snapshot after it", st == 200, (st, text))
    print("  cold start after scale to zero: %.1f ms" % ((time.monotonic() - t) * 1000))
    n = metric(node, "husk_cold_starts_total", ['function="idle"', 'kind="restore"'])
    check("metrics: two restores for it", n == 2, n)

    # A sandbox killed mid-request.
    res = {}

    def slow():
        res["r"] = node.get("/hello/sleep/3")
    th = threading.Thread(target=slow)
    th.start()
    ok = wait_for(lambda: any(i["active"] for i in instances("hello")), 5)
    pids = [i["pid"] for i in instances("hello") if i["active"]]
    if ok and pids:
        os.kill(pids[0], signal.SIGKILL)
    th.join()
    check("a sandbox killed mid-request: 502", res.get("r", (0,))[0] == 502, res)
    st, text = node.get("/hello/")
    check("then a healthy request", st == 200 and text.startswith("v2"), (st, text))

    # memory_mb: a guest past it is killed, as by the OOM killer, never
    # the node.
    node.api("POST", "/functions?wait=1", py_fn("mem", "v1", memory_mb=64))
    st, text = node.get("/mem/alloc/8")
    check("memory_mb: within it, served", st == 200, (st, text))
    st, text = node.get("/mem/alloc/256")
    check("memory_mb: past it, the instance is killed: 502", st == 502, (st, text))
    st, text = node.get("/mem/")
    check("memory_mb: then a new instance serves", st == 200, (st, text))

    # Past timeout_s.
    node.api("POST", "/functions?wait=1", py_fn("slow", "v1", timeout_s=1))
    st, text = node.get("/slow/sleep/3")
    check("past timeout_s: 504", st == 504, (st, text))
    st, text = node.get("/slow/")
    check("and the function still serves", st == 200, (st, text))

    # A client that goes frees its slot; a full queue is a 429.
    node.api("POST", "/functions?wait=1", py_fn("one", "v1", max_instances=1, concurrency=1))
    node.get("/one/")
    s = socket.create_connection(("127.0.0.1", node.port))
    s.sendall(b"GET /one/sleep/5 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    s.close()
    t = time.monotonic()
    st, _ = node.get("/one/")
    check("a client that goes frees its slot", st == 200 and time.monotonic() - t < 3,
          (st, time.monotonic() - t))
    codes = []

    def hold():
        codes.append(node.get("/one/sleep/0.5")[0])
    ths = [threading.Thread(target=hold) for _ in range(16)]
    for th in ths:
        th.start()
        time.sleep(0.01)
    for th in ths:
        th.join()
    check("1 slot, queue of 10: the rest 429", codes.count(429) == 5 and codes.count(200) == 11,
          sorted(codes))

    # Deploys at once are bounded (each boots a sandbox): the rest 429.
    got = []

    def burst(i):
        got.append(node.api("POST", "/functions", py_fn("burst%d" % i, "v1"))[0])
    ths = [threading.Thread(target=burst, args=(i,)) for i in range(14)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    check("14 deploys at once: at most 8 go, the rest 429",
          got.count(202) <= 8 and got.count(429) >= 1 and got.count(202) + got.count(429) == 14,
          sorted(got))
    for i in range(14):
        node.api("DELETE", "/functions/burst%d" % i)

    # Hostile input: each a clean 4xx.
    bad = [
        ("malformed JSON", "POST", "/functions", None, b"{\"name\": ", 400),
        ("not an object", "POST", "/functions", [1, 2], None, 400),
        ("wrong type", "POST", "/functions", dict(py_fn("t1", "v"), memory_mb="lots"), None, 400),
        ("out of range", "POST", "/functions", dict(py_fn("t2", "v"), concurrency=0), None, 400),
        ("unknown field", "POST", "/functions", dict(py_fn("t3", "v"), colour="red"), None, 400),
        ("bad name", "POST", "/functions", py_fn("Bad_Name", "v"), None, 400),
        ("name too long", "POST", "/functions", py_fn("a" * 64, "v"), None, 400),
        ("name with a dash first", "POST", "/functions", py_fn("-x", "v"), None, 400),
        ("unknown runtime", "POST", "/functions", dict(py_fn("t4", "v"), runtime="cobol"), None, 400),
        ("no code", "POST", "/functions", {"name": "t5", "runtime": "python3"}, None, 400),
        ("file path escapes", "POST", "/functions",
         {"name": "t6", "runtime": "python3", "files": {"../main.py": "x"}}, None, 400),
        ("absolute file path", "POST", "/functions",
         {"name": "t7", "runtime": "python3", "files": {"/etc/x": "x"}}, None, 400),
        ("reserved env", "POST", "/functions", dict(py_fn("t8", "v"), env={"PORT": "1"}), None, 400),
        ("archive not base64", "POST", "/functions",
         {"name": "t9", "runtime": "binary", "archive": "!!!"}, None, 400),
        ("archive garbage", "POST", "/functions",
         {"name": "t10", "runtime": "binary", "archive": base64.b64encode(b"x" * 100).decode()},
         None, 400),
        ("tar with ../", "POST", "/functions",
         {"name": "t11", "runtime": "binary", "archive": targz([("../evil", b"x", 0o644, "")])},
         None, 400),
        ("tar with a symlink", "POST", "/functions",
         {"name": "t12", "runtime": "binary",
          "archive": targz([("server", "/etc/passwd", 0o777, "sym")])}, None, 400),
        ("exists: 409", "POST", "/functions", py_fn("hello", "v"), None, 409),
        ("PUT unknown: 404", "PUT", "/functions/ghost", py_fn("ghost", "v"), None, 404),
        ("GET unknown: 404", "GET", "/functions/ghost", None, None, 404),
        ("bad method: 405", "PATCH", "/functions", None, None, 405),
        ("bad path: 404", "GET", "/nothing", None, None, 404),
        ("bad tail: 400", "GET", "/functions/hello/logs?tail=x", None, None, 400),
    ]
    zs = io.BytesIO()
    with zipfile.ZipFile(zs, "w") as z:
        z.writestr("../../evil", "x")
    bad.append(("zip-slip", "POST", "/functions",
                {"name": "t13", "runtime": "binary", "archive": base64.b64encode(zs.getvalue()).decode()},
                None, 400))
    for name, method, path, body, raw, want in bad:
        st, got = node.api(method, path, body, raw=raw)
        ok = st == want and isinstance(got, dict) and got.get("error", {}).get("code") == want
        check("bad input: %s -> %d" % (name, want), ok, (st, got))
    big = b"{\"name\": \"big\", \"x\": \"" + b"a" * (65 << 20) + b"\"}"
    st, got = node.api("POST", "/functions", raw=big)
    check("bad input: 65 MiB body -> 413", st in (413, 0), (st, str(got)[:200]))
    st, _ = node.api("GET", "/functions/t12")
    check("nothing was deployed by bad input", st == 404, st)
    st, text = node.get("/hello/")
    check("the node still serves", st == 200 and text.startswith("v2"), (st, text))
    # A hostile data-plane head.
    with socket.create_connection(("127.0.0.1", node.port)) as s:
        s.sendall(b"GET /hello/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        head = s.recv(100)
    check("data plane: smuggling head -> 400", head.startswith(b"HTTP/1.1 400"), head)

    # Many idle connections: the node still serves.
    idle = []
    try:
        for _ in range(1500):
            idle.append(socket.create_connection(("127.0.0.1", node.port), timeout=10))
        idle[0].sendall(b"GET /hello/ HTTP/1.1\r\nHost: x\r\n")  # (a head left unfinished)
        st, text = node.get("/hello/")
        check("1500 idle connections open: the node still serves", st == 200, (st, text))
    finally:
        for s in idle:
            s.close()

    # Delete.
    st, _ = node.api("DELETE", "/functions/static")
    check("delete: 204", st == 204, st)
    st, text = node.get("/static/")
    check("deleted: 404 on the data plane", st == 404, (st, text))
    st, _ = node.api("GET", "/functions/static")
    check("deleted: 404 on the API", st == 404, st)
    trash = os.path.join(node.state, "trash")
    check("deleted: its files go", wait_for(lambda: not [
        n for n in os.listdir(trash) if n.startswith("static.")], 15), os.listdir(trash))

    # Load: N requests over 50 keep-alive connections.
    errors, done, kinds = [0], [0], []
    lock = threading.Lock()

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        e = d = 0
        for _ in range(k):
            try:
                c.request("GET", "/hello/load")
                r = c.getresponse()
                body = r.read()
                if r.status != 200 or not body.startswith(b"v2"):
                    e += 1
                    if len(kinds) < 5:
                        kinds.append((r.status, body[:100]))
            except Exception as x:
                e += 1
                if len(kinds) < 5:
                    kinds.append(repr(x))
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
            d += 1
        c.close()
        with lock:
            errors[0] += e
            done[0] += d
    t = time.monotonic()
    ths = [threading.Thread(target=worker, args=(LOAD // 50,)) for _ in range(50)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    el = time.monotonic() - t
    check("load: %d requests over 50 connections, no error" % done[0], errors[0] == 0,
          (errors[0], kinds))
    print("  load: %d requests in %.1f s (%.0f/s), %d errors" % (done[0], el, done[0] / el, errors[0]))

    # A restart keeps every function.
    st = node.stop()
    check("SIGTERM stops the node", st == 0, st)
    node.start()
    st, text = node.get("/hello/")
    check("after a restart: invoked without redeploying",
          st == 200 and text.startswith("v2 hello hello-00002"), (st, text))
    st, body = node.api("GET", "/functions")
    names = sorted(f["name"] for f in body.get("functions", [])) if st == 200 else []
    check("after a restart: the registry", names == ["hello", "idle", "ka", "mem", "nowait", "one", "slow"], names)


if __name__ == "__main__":
    sys.exit(main())
