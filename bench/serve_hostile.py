#!/usr/bin/env python3
"""mfkit serve against hostile clients on loopback (issue 38), written as JSON:

- slowloris: `--slow` connections that each send an unfinished request and a header line every
  2 s (reconnecting when the server closes them), while `--clients` normal clients ask for
  recommendations in a closed loop on kept-alive connections for `--seconds`: the normal
  clients' latency percentiles and failures;
- a chunked body of `--body-mb` MB sent with the API key: the status, how much was sent before
  the server answered, and the server's resident memory before and after.

    /usr/bin/python3 bench/serve_hostile.py --out bench/results/serve_hostile.json
    /usr/bin/python3 bench/serve_hostile.py --cli /path/to/other/mfkit --out /tmp/other.json
    /usr/bin/python3 bench/serve_hostile.py --table RESULT.json...    # the docs table

The CPU and its vector extensions are recorded with the figures.
"""
import argparse
import http.client
import json
import pathlib
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from machine import cpu, save  # noqa: E402

KEY = "0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


class Slowloris:
    """`n` connections that never finish their request; each reconnects when closed."""

    def __init__(self, port, n):
        self.port, self.n, self.stop = port, n, threading.Event()
        self.connects = self.closed_by_server = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /v1/recommend?user=1 HTTP/1.1\r\nHost: x\r\n")
        self.connects += 1
        return s

    def run(self):
        socks = []
        for _ in range(self.n):
            try:
                socks.append(self.open())
            except OSError:
                socks.append(None)
        while not self.stop.wait(2.0):
            for k, s in enumerate(socks):
                try:
                    if s is None:
                        raise OSError
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    self.closed_by_server += s is not None
                    if s is not None:
                        s.close()
                    try:
                        socks[k] = self.open()
                    except OSError:
                        socks[k] = None
        for s in socks:
            if s is not None:
                s.close()


def normal_clients(port, clients, seconds, users):
    lat, failures = [], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(c):
        conn, n = None, 0
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", f"/v1/recommend?user={users[(c * 7 + n) % len(users)]}&k=10",
                             headers={"Authorization": f"Bearer {KEY}"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn = None
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    lat.append(dt)
                else:
                    failures[0] += 1
            n += 1

    ts = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return lat, failures[0]


def chunked_body(port, megabytes):
    """Sends a chunked body of `megabytes` MB (64 KB chunks) until the server answers; returns
    (status or None, MB sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall((f"GET /v1/recommend?user=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode())
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    sent, status = 0, None
    s.setblocking(False)
    reply = b""
    t0 = time.monotonic()
    while sent < megabytes * 2**20 and time.monotonic() - t0 < 120:
        try:
            reply += s.recv(65536)
        except BlockingIOError:
            pass
        except OSError:
            break
        if reply:
            break
        try:
            sent += s.send(chunk)
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            break
    s.setblocking(True)
    s.settimeout(5)
    try:
        while b"\r\n" not in reply:
            more = s.recv(65536)
            if not more:
                break
            reply += more
    except OSError:
        pass
    s.close()
    if reply.startswith(b"HTTP/1.1 "):
        status = int(reply[9:12])
    return status, sent / 2**20


def table(paths):
    """The docs table of one or more result files (docs/security.md)."""
    rows = ["| server | normal clients alone: p50 / p99 ms | beside slowloris: p50 / p99 / max ms, failed | "
            "chunked body: status, MB sent before the answer, server RSS before -> after |",
            "|---|---|---|---|"]
    for p in paths:
        r = json.loads(pathlib.Path(p).read_text())
        a, b, c = r["alone"], r["beside_slowloris"], r["chunked_body"]
        fmt = lambda x: "-" if x is None else f"{x:.2f}"  # noqa: E731
        rows.append(f"| {r.get('label', r['cli'])} | {fmt(a['p50_ms'])} / {fmt(a['p99_ms'])} | "
                    f"{fmt(b['p50_ms'])} / {fmt(b['p99_ms'])} / {fmt(b['max_ms'])}, {b['failed']} of "
                    f"{b['requests'] + b['failed']} | {c['status'] or 'none'}, {c['sent_mb_before_answer']}, "
                    f"{c['server_rss_mb_before']} -> {c['server_rss_mb_after']} MB |")
    r = json.loads(pathlib.Path(paths[0]).read_text())
    s = r["setup"]
    rows.append("")
    rows.append(f"{s['slow_connections']} slowloris connections (an unfinished request, a header line every 2 s, "
                f"reconnecting when closed) beside {s['normal_clients']} closed-loop clients for {s['seconds']:g} s; "
                f"then one chunked body of {r['chunked_body']['declared_mb']} MB. {r['cpu']['model']}, "
                f"{r['cpu']['cores']} cores. Command: `{r['command']}`.")
    print("\n".join(rows))


def main():
    if sys.argv[1:2] == ["--table"]:
        return table(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=str(ROOT / "build" / "mfkit"))
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--body-mb", type=int, default=300)
    ap.add_argument("--label", help="how the table names this server")
    ap.add_argument("--out")
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mfkit-hostile-"))
    data = tmp / "r.csv"
    with data.open("w") as f:
        for u in range(2000):
            for i in range(0, 500, 7):
                if (u * 31 + i) % 5:
                    f.write(f"{u},{(i + u) % 500},1\n")
    model = tmp / "m.mfk"
    subprocess.run([a.cli, "train", "-m", "implicit-als", "--data", str(data), "--format", "user,item,rating",
                    "--split", "none", "-q", "-o", str(model), "--set", "factors=32"], check=True)
    (tmp / "key").write_text(KEY + "\n")
    port = free_port()
    server = subprocess.Popen([a.cli, "serve", "-f", str(model), "--port", str(port), "--api-key-file",
                               str(tmp / "key"), "-q"], stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        users = [str(u) for u in range(0, 2000, 13)]
        # Normal clients alone first, then beside the slow ones.
        base_lat, base_fail = normal_clients(port, a.clients, min(5.0, a.seconds), users)
        slow = Slowloris(port, a.slow)
        slow.thread.start()
        time.sleep(3)  # every slow connection open and trickling
        lat, failures = normal_clients(port, a.clients, a.seconds, users)
        slow.stop.set()
        slow.thread.join()
        rss_before = rss_kb(server.pid)
        status, sent_mb = chunked_body(port, a.body_mb)
        time.sleep(0.5)
        rss_after = rss_kb(server.pid)
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    out = {
        "command": shlex.join(["/usr/bin/python3", "bench/serve_hostile.py"] + sys.argv[1:]),
        "cli": a.cli,
        "label": a.label or a.cli,
        "cpu": cpu(),
        "setup": {"slow_connections": a.slow, "normal_clients": a.clients, "seconds": a.seconds,
                  "server": "mfkit serve defaults (8 threads), API key, implicit-als 2000 users x 500 items, k=10"},
        "alone": {"requests": len(base_lat), "failed": base_fail, "p50_ms": percentile(base_lat, 0.5),
                  "p99_ms": percentile(base_lat, 0.99)},
        "beside_slowloris": {"requests": len(lat), "failed": failures, "p50_ms": percentile(lat, 0.5),
                             "p99_ms": percentile(lat, 0.99), "max_ms": max(lat) if lat else None,
                             "slow_connects": slow.connects, "slow_closed_by_server": slow.closed_by_server},
        "chunked_body": {"declared_mb": a.body_mb, "status": status, "sent_mb_before_answer": round(sent_mb, 2),
                         "server_rss_mb_before": round(rss_before / 1024, 1), "server_rss_mb_after": round(rss_after / 1024, 1),
                         "server_alive": alive},
    }
    print(json.dumps(out, indent=2))
    if a.out:
        save(a.out, out, indent=2)


if __name__ == "__main__":
    main()
