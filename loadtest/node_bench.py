#!/usr/bin/env python3
"""The node, measured through its API and data plane: deploy time, the
latency of requests that find their function scaled to zero (a cold start
from the snapshot, first restore of a revision apart from later ones),
and a load run over keep-alive connections, for a python3 http.server
function and a static C server.

usage: loadtest/node_bench.py [COLD_STARTS] [REQUESTS] [CONNS]
(from the repository root, after `make bin/husk build/special/ckpt_server`)
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.getcwd()
HUSK = os.path.join(REPO, "bin/husk")
COLD = int(sys.argv[1]) if len(sys.argv) > 1 else 100
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
CONNS = int(sys.argv[3]) if len(sys.argv) > 3 else 50
FUNCS = 20  # cold starts are taken round-robin over this many functions

APP = r'''
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


class Node:
    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="husk-bench-")
        self.api_port, self.port = free_port(), free_port()
        self.p = subprocess.Popen([HUSK, "serve", "--api", "127.0.0.1:%d" % self.api_port,
                                   "--listen", "127.0.0.1:%d" % self.port, "--state", self.state],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if "api on" not in self.p.stdout.readline():
            raise RuntimeError("husk serve did not start")
        threading.Thread(target=self.p.stdout.read, daemon=True).start()
        self.token = open(os.path.join(self.state, "token")).read().strip()

    def api(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=300)
        c.request(method, path, body=json.dumps(body) if body else None,
                  headers={"Authorization": "Bearer " + self.token})
        r = c.getresponse()
        out = json.loads(r.read() or b"null")
        c.close()
        return r.status, out

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status

    def close(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=60)
        shutil.rmtree(self.state, ignore_errors=True)


def instances(node, name):
    _, b = node.api("GET", "/functions/%s/instances" % name)
    return [i for i in b["instances"] if i["state"] != "standby"]


def cold_starts(node, names, total):
    """Requests to functions at zero: (first restore of each, later ones)."""
    first, later = [], []
    rounds = (total + len(names) - 1) // len(names)
    for r in range(rounds):
        end = time.monotonic() + 30
        while any(instances(node, n) for n in names) and time.monotonic() < end:
            time.sleep(0.2)
        time.sleep(0.3)  # (the machine idle, as a function at zero finds it)
        for n in names[:total - r * len(names)]:
            t = time.monotonic()
            st = node.get("/%s/" % n)
            ms = (time.monotonic() - t) * 1000
            if st != 200:
                raise RuntimeError("cold start of %s: %d" % (n, st))
            (first if r == 0 else later).append(ms)
    return first, later


def load(node, path, requests, conns):
    lat, errors = [], [0]
    lock = threading.Lock()

    def worker(k):
        c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        mine, e = [], 0
        for _ in range(k):
            t = time.monotonic()
            try:
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                e += r.status != 200
            except (OSError, http.client.HTTPException):
                e += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
            mine.append((time.monotonic() - t) * 1000)
        c.close()
        with lock:
            lat.extend(mine)
            errors[0] += e
    t = time.monotonic()
    ths = [threading.Thread(target=worker, args=(requests // conns,)) for _ in range(conns)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return len(lat) / (time.monotonic() - t), lat, errors[0]


def main():
    node = Node()
    try:
        static = os.path.join(REPO, "build/special/ckpt_server")
        import base64, io, tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            t.add(static, arcname="server")
        deploy_ms = {}
        for kind in ("python3", "binary"):
            times = []
            for i in range(FUNCS):
                body = {"name": "%s-%d" % ("py" if kind == "python3" else "bin", i),
                        "runtime": kind, "idle_timeout_s": 1}
                if kind == "python3":
                    body["files"] = {"main.py": APP}
                else:
                    body["archive"] = base64.b64encode(buf.getvalue()).decode()
                t = time.monotonic()
                st, out = node.api("POST", "/functions?wait=1", body)
                if st != 201 or out["state"] != "ready":
                    raise RuntimeError("deploy: %s" % out)
                times.append((time.monotonic() - t) * 1000)
                snap = out["snapshot_bytes"]
            deploy_ms[kind] = (times, snap)
        print("%-40s %8s %8s %8s" % ("ms", "p50", "p90", "p99"))
        for kind, (times, snap) in deploy_ms.items():
            print("%-40s %8.1f %8.1f %8.1f   (snapshot %.2f MiB)" % (
                "%s: deploy (boot + checkpoint)" % kind, pct(times, .5), pct(times, .9),
                pct(times, .99), snap / 2**20))
        for kind, prefix in (("python3", "py"), ("binary", "bin")):
            names = ["%s-%d" % (prefix, i) for i in range(FUNCS)]
            first, later = cold_starts(node, names, COLD + FUNCS)
            print("%-40s %8.1f %8.1f %8.1f" % ("%s: first request, first restore" % kind,
                                               pct(first, .5), pct(first, .9), pct(first, .99)))
            print("%-40s %8.1f %8.1f %8.1f   (%d scale-from-zero requests)" % (
                "%s: first request from zero" % kind, pct(later, .5), pct(later, .9),
                pct(later, .99), len(later)))
        for kind, path in (("python3", "/py-0/"), ("binary", "/bin-0/")):
            node.get(path)
            rate, lat, errors = load(node, path, REQUESTS, CONNS)
            print("%-40s %8.2f %8.2f %8.2f   (%.0f requests/s, %d errors, %d connections)" % (
                "%s: warm requests" % kind, pct(lat, .5), pct(lat, .9), pct(lat, .99), rate,
                errors, CONNS))
    finally:
        node.close()


if __name__ == "__main__":
    main()
