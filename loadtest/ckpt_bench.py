#!/usr/bin/env python3
"""Snapshots, measured: boot-to-first-response against restore-to-first-
response (p50, p99) for python3's http.server and a static C server, the
snapshots' sizes (lz4 and uncompressed), restore with lz4 against none,
and the memory each idle restored instance holds with many alive.

usage: loadtest/ckpt_bench.py [RUNS] [INSTANCES]   (from the repository root,
after `make bin/husk build/special/ckpt_server`)
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HUSK = "bin/husk"
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
INSTANCES = int(sys.argv[2]) if len(sys.argv) > 2 else 50
REPO = os.getcwd()
WWW = os.path.join(REPO, "build", "e2e-www")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def first_response(port, deadline=30.0):
    """Polls until an HTTP answer comes; the time it came."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1."):
                    return time.monotonic()
        except OSError:
            time.sleep(0.0002)
    raise RuntimeError("no answer on %d" % port)


def start(args, port):
    return subprocess.Popen([HUSK] + args[0] + ["--publish", "%d:8080" % port] + args[1],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)


def stop(p):
    p.send_signal(signal.SIGKILL)
    p.wait()


def timed(args, runs):
    """Start-to-first-response of `husk ARGS`, in ms, runs times."""
    out = []
    for _ in range(runs):
        port = free_port()
        t0 = time.monotonic()
        p = start(args, port)
        out.append((first_response(port) - t0) * 1000)
        stop(p)
    return out


def restore_request(sock, snap):
    """The restore request on a waiting sandbox's control socket, as the
    executor sends it (and husk load does): the snapshot's path and its
    descriptor."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as c, open(snap, "rb") as f:
        c.connect(sock)
        req = json.dumps({"op": "restore", "path": os.path.abspath(snap)}).encode()
        socket.send_fds(c, [req], [f.fileno()])
        rep = json.loads(c.recv(4096))
        if not rep.get("ok"):
            raise RuntimeError("restore refused: %s" % rep)


def prestarted(snap, runs, via_cli):
    """A sandbox started ahead (husk restore --wait): from the restore
    request (husk load, or the request sent on the control socket
    directly) to the first response, in ms."""
    out = []
    d = tempfile.mkdtemp()
    for i in range(runs):
        port, sock = free_port(), os.path.join(d, "w%d.sock" % i)
        p = start((["restore", "--bind", REPO, "--control", sock], ["--wait"]), port)
        while not os.path.exists(sock):
            time.sleep(0.001)
        time.sleep(0.05)  # (booted and waiting)
        t0 = time.monotonic()
        if via_cli:
            subprocess.run([HUSK, "load", "--control", sock, snap], check=True,
                           stdout=subprocess.DEVNULL)
        else:
            restore_request(sock, snap)
        out.append((first_response(port) - t0) * 1000)
        stop(p)
    return out


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def checkpoint(server, snap, compress=True):
    sock = snap + ".sock"
    port = free_port()
    p = start((["run", "--bind", REPO, "--control", sock], ["--"] + server), port)
    first_response(port)
    cmd = [HUSK, "checkpoint", "--control", sock, snap] + ([] if compress else ["--no-compress"])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    p.wait()
    return json.loads(out)


def tree(pid):
    """pid and its descendants."""
    out, queue = [], [pid]
    while queue:
        q = queue.pop()
        out.append(q)
        try:
            for t in os.listdir("/proc/%d/task" % q):
                with open("/proc/%d/task/%s/children" % (q, t)) as f:
                    queue += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def pss_kib(pids):
    total = 0
    for q in pids:
        try:
            with open("/proc/%d/smaps_rollup" % q) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def host_used_kib():
    """Memory the host has handed out, page cache of files aside: what
    processes hold privately (anonymous and memory-file pages) and what
    the kernel holds for them (page tables, slab, stacks)."""
    m = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            m[k] = int(v.split()[0])
    return m["MemTotal"] - m["MemFree"] - m["Buffers"] - (m["Cached"] - m["Shmem"])


def main():
    os.makedirs(WWW, exist_ok=True)
    with open(os.path.join(WWW, "index.txt"), "w") as f:
        f.write("served from inside husk\n")
    py = ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", WWW]
    st = [os.path.join(REPO, "build/special/ckpt_server"), "8080"]
    d = tempfile.mkdtemp()
    snaps = {}
    for name, server in (("python", py), ("static", st)):
        for comp in (True, False):
            path = os.path.join(d, "%s-%s.snap" % (name, "lz4" if comp else "raw"))
            snaps[name, comp] = (path, checkpoint(server, path, comp))
    rows = []
    for name, server in (("python3 http.server", py), ("static C server", st)):
        key = "python" if server is py else "static"
        boot = timed((["run", "--bind", REPO], ["--"] + server), RUNS)
        lz4 = timed((["restore", "--bind", REPO], [snaps[key, True][0]]), RUNS)
        raw = timed((["restore", "--bind", REPO], [snaps[key, False][0]]), RUNS)
        rows.append((name + ": boot to first response", boot))
        rows.append((name + ": restore (lz4) to first response", lz4))
        rows.append((name + ": restore (no compression) to first response", raw))
        rows.append((name + ": pre-started, husk load to first response",
                     prestarted(snaps[key, True][0], RUNS, True)))
        rows.append((name + ": pre-started, control request to first response",
                     prestarted(snaps[key, True][0], RUNS, False)))
    print("%-58s %9s %9s" % ("ms over %d runs" % RUNS, "p50", "p99"))
    for label, v in rows:
        print("%-58s %9.2f %9.2f" % (label, pct(v, 0.5), pct(v, 0.99)))
    print()
    for key in ("python", "static"):
        (lz, info), (raw, rinfo) = snaps[key, True], snaps[key, False]
        print("%s snapshot: memory %.1f MiB, lz4 file %.2f MiB, uncompressed file %.2f MiB, "
              "save %.1f ms" % (key, info["memory_bytes"] / 2**20, os.path.getsize(lz) / 2**20,
                                os.path.getsize(raw) / 2**20, info["save_ms"]))
    # Idle restored instances, all alive at once: memory per instance.
    procs = []
    before = host_used_kib()
    for _ in range(INSTANCES):
        port = free_port()
        procs.append((start((["restore", "--bind", REPO], [snaps["python", True][0]]), port), port))
    for p, port in procs:
        first_response(port)
    time.sleep(0.5)
    unshared = (host_used_kib() - before) / INSTANCES
    per = [pss_kib(tree(p.pid)) for p, _ in procs]
    for p, _ in procs:
        stop(p)
    native = subprocess.Popen(py[:3] + ["18999", "--directory", WWW], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    first_response(18999)
    npss = pss_kib([native.pid])
    stop(native)
    print("python3 http.server, %d restored instances alive: PSS per instance p50 %.1f MiB "
          "(max %.1f); native process %.1f MiB" % (INSTANCES, pct(per, 0.5) / 1024,
                                                  max(per) / 1024, npss / 1024))
    print("python3 http.server, %d restored instances alive: host memory each holds unshared "
          "(the host's, page cache aside, before and after, over %d) %.2f MiB"
          % (INSTANCES, INSTANCES, unshared / 1024))


if __name__ == "__main__":
    main()
