#!/usr/bin/env python3
"""A real server under load: gunicorn with 2 sync workers on the 100k bench database.

    DATABASE_URL=... .venv/bin/python bench/http.py [--seconds 60] [--clients 50] [--workers 2]

Uses the bench database of bench/batches.py (`rp_bench_100k`, built there once and reused here).
Starts `gunicorn -w 2 'app:create_app()'` on 127.0.0.1, signs in (API token for planner and prod,
a page session for qp), then 50 client threads, each with its own keep-alive connection, loop for
60 s over a mix of:

    35 % list     GET /api/v1/batches (3 filters, sort, page of 50)
    30 % detail   GET /api/v1/batches/<random batch>
    15 % journey  GET /batches/<the batch with 300 events>   (the whole HTML page)
    20 % move     POST /api/v1/batches/<a SCHEDULED batch>/transition -> IN_PRODUCTION

and prints requests/s, p50/p95/p99 per kind and overall, errors (must be 0) and each worker's RSS
(goal under 250 MB). Moved batches are put back afterwards. The clients run on the same 2 cores as
the server (Python threads, one GIL): the figures are a floor for what the server can do.
"""

# ruff: noqa: E402  (the path is fixed before the standard library's http is imported)
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The script's folder goes last on the path: bench/http.py must not shadow the standard library's http.
sys.path[:] = (
    [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"] + [str(ROOT / "bench")]
)

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.parse
from collections import deque

from audit import libpq_url, server_url  # noqa: E402  (bench/audit.py helpers)
from batches import BENCH_DB, LIST_ARGS, PASSWORD, restore_batches, saved_batches  # noqa: E402

MIX = (("list", 35), ("detail", 30), ("journey", 15), ("move", 20))
RSS_GOAL_MB = 250


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar of one session cookie."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt:
                    raise
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, data


def api_token(port: int, username: str) -> str:
    status, data = Client(port).request(
        "POST",
        "/api/v1/security/login",
        json.dumps({"username": username, "password": PASSWORD, "provider": "db"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200, (status, data[:300])
    return json.loads(data)["access_token"]


def page_session(port: int, username: str) -> str:
    client = Client(port)
    status, data = client.request("GET", "/login/")
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', data) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', data
    )
    form = {"username": username, "password": PASSWORD}
    if match:
        form["csrf_token"] = match.group(1).decode()
    status, data = client.request(
        "POST",
        "/login/",
        urllib.parse.urlencode(form).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 302, (status, data[:300])
    return client.cookie


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def worker_rss(master: int) -> dict[int, tuple[float, float]]:
    """{pid: (RSS MB, peak RSS MB)} of the gunicorn master's children."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) != master:
                continue
            fields = dict(
                line.split(":", 1)
                for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                if ":" in line
            )
            out[int(entry)] = (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", default=BENCH_DB)
    args = ap.parse_args()

    import psycopg

    from app.core.embedded import with_database

    server, _handle = server_url()
    url = with_database(server, args.db)
    raw_url = libpq_url(url)
    with psycopg.connect(raw_url, autocommit=True) as conn:
        n = conn.execute("SELECT count(*) FROM batch").fetchone()[0]
        assert n, f"{args.db} holds no batches: run bench/batches.py first (it builds the database once)"
        big = conn.execute(
            "SELECT batch_id FROM batch_event WHERE event_type = 'DOSE_UNIT' GROUP BY batch_id"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        scheduled = [
            r[0] for r in conn.execute("SELECT id FROM batch WHERE status = 'SCHEDULED' ORDER BY id")
        ]
        ids = [r[0] for r in conn.execute("SELECT id FROM batch TABLESAMPLE SYSTEM (2) LIMIT 2000")]
    saved = saved_batches(raw_url, scheduled)

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEMO_MODE": "1",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
        "AUTH_RATE_LIMIT": "10000 per minute",
    }
    gunicorn = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open("/tmp/bench_http_gunicorn.log", "w"),  # noqa: SIM115
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, _ = Client(port).request("GET", "/health")
                break
            except OSError:
                if time.time() > deadline or gunicorn.poll() is not None:
                    raise SystemExit("gunicorn did not start: see /tmp/bench_http_gunicorn.log") from None
                time.sleep(0.5)
        planner = {"Authorization": f"Bearer {api_token(port, 'planner')}"}
        prod = {"Authorization": f"Bearer {api_token(port, 'prod')}", "Content-Type": "application/json"}
        qp_cookie = page_session(port, "qp")
        today = dt.date.today()
        list_path = "/api/v1/batches?" + urllib.parse.urlencode(
            {
                **LIST_ARGS,
                "date_from": (today - dt.timedelta(days=90)).isoformat(),
                "date_to": today.isoformat(),
            }
        )
        pool = deque(scheduled)
        kinds = [k for k, w in MIX for _ in range(w)]
        latencies: dict[str, list[float]] = {k: [] for k, _ in MIX}
        errors: list[str] = []
        lock = threading.Lock()
        start_at = time.time() + 1.0
        stop_at = start_at + args.seconds

        def run(seed: int) -> None:
            rnd = random.Random(seed)
            client = Client(port)
            client.cookie = qp_cookie
            while time.time() < start_at:
                time.sleep(0.01)
            while time.time() < stop_at:
                kind = rnd.choice(kinds)
                body, headers, method = None, planner, "GET"
                if kind == "list":
                    path = list_path
                elif kind == "detail":
                    path = f"/api/v1/batches/{rnd.choice(ids)}"
                elif kind == "journey":
                    path, headers = f"/batches/{big}", {}
                else:
                    try:
                        batch_id = pool.popleft()
                    except IndexError:
                        kind, path = "detail", f"/api/v1/batches/{rnd.choice(ids)}"
                    else:
                        method, headers, path = "POST", prod, f"/api/v1/batches/{batch_id}/transition"
                        body = json.dumps({"to_status": "IN_PRODUCTION", "note": "HTTP bench"}).encode()
                t = time.perf_counter()
                try:
                    status, data = client.request(method, path, body, headers)
                except Exception as exc:  # noqa: BLE001  (counted as an error, the run goes on)
                    status, data = 0, repr(exc).encode()
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    if status == 200:
                        latencies[kind].append(ms)
                    else:
                        errors.append(f"{kind} {path} -> {status} {data[:200]!r}")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rss = worker_rss(gunicorn.pid)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
        restore_batches(raw_url, saved)

    total = [ms for values in latencies.values() for ms in values]
    print(
        f"\ngunicorn -w {args.workers} (sync), {args.clients} concurrent clients on localhost, {args.seconds} s,"
        f" {n:,} batches; {os.cpu_count()} cores shared by server and clients"
    )
    print(f"{'kind':8} {'requests':>8} {'req/s':>7} {'p50':>8} {'p95':>8} {'p99':>8}")
    for kind, values in [*latencies.items(), ("all", total)]:
        if values:
            print(
                f"{kind:8} {len(values):8} {len(values) / args.seconds:7.1f} {statistics.median(values):6.1f}ms"
                f" {percentile(values, 0.95):6.1f}ms {percentile(values, 0.99):6.1f}ms"
            )
    print(f"errors: {len(errors)} (goal 0: {'met' if not errors else 'MISSED'})")
    for line in errors[:10]:
        print("   ", line)
    for pid, (now_mb, peak_mb) in sorted(rss.items()):
        verdict = "met" if peak_mb < RSS_GOAL_MB else "MISSED"
        print(
            f"worker {pid}: RSS {now_mb:.0f} MB, peak {peak_mb:.0f} MB (goal < {RSS_GOAL_MB} MB: {verdict})"
        )


if __name__ == "__main__":
    main()
