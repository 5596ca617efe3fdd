#!/usr/bin/env python3
"""Benchmark of telemetry intake through a running `nigehban serve`.

Starts the release binary on the embedded default (a fresh data directory:
the embedded event log fsyncs before every acknowledgement), registers an
organisation and a sensor, then for a fixed time:

- http: several connections POST /api/v1/ingest with NDJSON bodies of 1,000
  typical events of about 500 bytes (Suricata EVE, Zeek, Windows, syslog in a
  JSON string); an event counts when the server answered 202 for it, i.e.
  once it is durable;
- syslog-tcp: several connections write RFC 5424 messages (octet counting)
  to the syslog TCP listener; a message counts when the server's
  `nigehban_intake_accepted` counter for that transport says it is durable.

The server runs whole, as deployed: the search indexer consumes the same
bus on the same two cores at the lowest CPU priority (intake first); its lag
at the end of each scenario is reported, and after the last HTTP scenario how
fast it catches up once intake is idle. Intake holds senders back past
2,000,000 events of lag. Every scenario gets a fresh server and data
directory, so none inherits another's backlog.

Usage (from the repository root):
    python3 bench/intake.py [--seconds 10] [--connections 4] [--skip-build]

Respects CARGO_TARGET_DIR; the data directory goes to --workdir (default:
a temporary directory on the same disk as the system's temp dir).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PER_REQUEST = 1000
PASSWORD = "benchmark passphrase, long enough"


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pad(line: str, size: int = 500) -> str:
    """Brings a JSON line to about `size` bytes through its PADDING value."""
    missing = max(0, size - (len(line) - len("PADDING")))
    return line.replace("PADDING", "x" * missing, 1)


def typical_line(i: int) -> str:
    kind = i % 4
    if kind == 0:
        return pad(
            '{"timestamp":"2024-03-15T10:22:14.985026+0100","flow_id":%d,"event_type":"alert",'
            '"src_ip":"10.1.%d.%d","src_port":%d,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP",'
            '"alert":{"action":"allowed","gid":1,"signature_id":2013504,"rev":6,'
            '"signature":"ET POLICY GNU/Linux APT User-Agent Outbound","category":"Not Suspicious Traffic","severity":3},'
            '"http":{"hostname":"deb.example.org","url":"/debian/PADDING","http_method":"GET"}}'
            % (i, i % 256, (i // 256) % 256, 1024 + i % 60000)
        )
    if kind == 1:
        return pad(
            '{"ts":1710494534.9,"uid":"C%08d","id.orig_h":"10.2.%d.%d","id.orig_p":%d,'
            '"id.resp_h":"192.0.2.53","id.resp_p":53,"proto":"udp","trans_id":%d,"query":"PADDING.example.com",'
            '"qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR",'
            '"AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":["203.0.113.9"],"TTLs":[300.0],"rejected":false}'
            % (i, i % 256, (i // 7) % 256, 1024 + i % 60000, i % 65536)
        )
    if kind == 2:
        return pad(
            '{"EventTime":"2024-03-15 10:22:14","Hostname":"ws-%d.corp.example","Keywords":-9214364837600034816,'
            '"EventType":"AUDIT_SUCCESS","SeverityValue":2,"Severity":"INFO","EventID":4688,'
            '"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security",'
            '"NewProcessName":"C:\\\\Windows\\\\System32\\\\cmd.exe","CommandLine":"cmd.exe /c PADDING",'
            '"ParentProcessName":"C:\\\\Windows\\\\explorer.exe","SubjectUserName":"analyst%d"}'
            % (i % 500, i % 50)
        )
    return pad(
        '"<34>1 2024-03-15T10:22:14.003Z fw-%d.example.net sshd 4123 ID47 '
        '[exampleSDID@32473 iut=\\"3\\" eventSource=\\"Application\\"] '
        "Failed password for invalid user admin from 203.0.113.%d port %d ssh2 PADDING\"" % (i % 20, i % 256, 1024 + i % 60000)
    )


def syslog_message(i: int) -> bytes:
    msg = (
        "<34>1 2024-03-15T10:22:14.003Z fw-%d.example.net sshd 4123 ID47 "
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
        "Failed password for invalid user admin from 203.0.113.%d port %d ssh2 %s"
        % (i % 20, i % 256, 1024 + i % 60000, "y" * 240)
    ).encode()
    return b"%d %s" % (len(msg), msg)


class Api:
    """A signed-in session on the server."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = None
        self.csrf = None

    def call(self, method: str, path: str, body=None, expect=(200, 201)):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
            headers["X-CSRF-Token"] = self.csrf
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        answer = conn.getresponse()
        text = answer.read().decode()
        if answer.status not in expect:
            sys.exit(f"{method} {path}: {answer.status} {text}")
        cookie = answer.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        conn.close()
        return json.loads(text) if text else None

    def login(self, username: str, password: str):
        answer = self.call("POST", "/api/v1/auth/login", {"username": username, "password": password})
        self.csrf = answer["csrf_token"]


def metric(port: int, name: str, label: str) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_healthy(port: int, server: subprocess.Popen):
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("the server did not become ready")


def http_scenario(port: int, token: str, connections: int, seconds: float) -> dict:
    body = ("\n".join(typical_line(i) for i in range(EVENTS_PER_REQUEST)) + "\n").encode()
    accepted = [0] * connections
    counting = threading.Event()
    stop = threading.Event()
    errors = []

    def sender(k: int):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        while not stop.is_set():
            try:
                conn.request("POST", "/api/v1/ingest", body=body, headers=headers)
                answer = conn.getresponse()
                text = answer.read()
            except OSError as e:
                errors.append(str(e))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            if answer.status != 202:
                errors.append(f"{answer.status} {text[:200]!r}")
                time.sleep(0.1)
                continue
            if counting.is_set():
                accepted[k] += json.loads(text)["accepted"]

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # warm-up
    cpu_before = server_cpu(port)
    counting.set()
    started = time.perf_counter()
    time.sleep(seconds)
    counting.clear()
    elapsed = time.perf_counter() - started
    cpu = server_cpu(port) - cpu_before
    stop.set()
    for t in threads:
        t.join()
    events = sum(accepted)
    return {
        "events": events,
        "elapsed": elapsed,
        "rate": events / elapsed,
        "mb_s": events * len(body) / EVENTS_PER_REQUEST / elapsed / 1e6,
        "server_cores": cpu / elapsed,
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


SERVER_PID = {}


def server_cpu(_port: int) -> float:
    """User + system CPU seconds of the server process so far."""
    pid = SERVER_PID["pid"]
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def syslog_scenario(port: int, syslog_port: int, connections: int, seconds: float) -> dict:
    batch = b"".join(syslog_message(i) for i in range(2000))
    stop = threading.Event()

    def sender():
        with socket.create_connection(("127.0.0.1", syslog_port)) as s:
            while not stop.is_set():
                s.sendall(batch)

    threads = [threading.Thread(target=sender) for _ in range(connections)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    before = metric(port, "nigehban_intake_accepted", 'transport="tcp"')
    cpu_before = server_cpu(port)
    started = time.perf_counter()
    time.sleep(seconds)
    after = metric(port, "nigehban_intake_accepted", 'transport="tcp"')
    elapsed = time.perf_counter() - started
    cpu = server_cpu(port) - cpu_before
    stop.set()
    for t in threads:
        t.join()
    events = after - before
    return {
        "events": events,
        "elapsed": elapsed,
        "rate": events / elapsed,
        "mb_s": events * len(batch) / 2000 / elapsed / 1e6,
        "server_cores": cpu / elapsed,
    }


class Server:
    """A fresh `nigehban serve` on the embedded default, with a signed-up sensor."""

    def __init__(self, binary: Path, workdir, serve_args=(), prefix="nigehban-intake-bench-"):
        self.work = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
        data = self.work / "data"
        create = subprocess.run(
            [binary, "admin", "create-user", "--username", "bench", "--password-stdin", "--data-dir", data],
            input=PASSWORD + "\n",
            text=True,
            capture_output=True,
        )
        if create.returncode != 0:
            sys.exit(f"admin create-user failed: {create.stderr}")
        self.port, self.syslog_port = free_port(), free_port()
        log = open(self.work / "serve.log", "wb")
        self.process = subprocess.Popen(
            [
                binary, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{self.port}",
                "--syslog-tcp", f"127.0.0.1:{self.syslog_port}", *serve_args,
            ],
            stdout=log,
            stderr=log,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        SERVER_PID["pid"] = self.process.pid
        try:
            wait_healthy(self.port, self.process)
            api = Api(self.port)
            api.login("bench", PASSWORD)
            tenants = api.call("GET", "/api/v1/tenants")
            root = tenants["items"][0]["id"]
            sector = api.call("POST", "/api/v1/tenants", {"parent": root, "name": "CERT Telecom", "kind": "sectoral", "sector": "telecom"})
            org = api.call("POST", "/api/v1/tenants", {"parent": sector["id"], "name": "Example Telecom", "kind": "organisation"})
            sensor = api.call(
                "POST",
                "/api/v1/sensors",
                {
                    "tenant": org["id"],
                    "name": "bench sensor",
                    "kind": "ids",
                    "expected_formats": ["json", "syslog"],
                    "expected_interval_seconds": 300,
                    "source_addresses": ["127.0.0.1"],
                },
            )
            self.token = sensor["secret"]
        except BaseException:
            self.stop()
            raise

    def lag(self) -> float:
        return metric(self.port, "nigehban_bus_consumer_lag", "search")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="1,4,8", help="comma-separated connection counts")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--sources", default="http,syslog", help="which scenarios: http, syslog or both")
    parser.add_argument("--drain-seconds", type=float, default=10.0, help="how long to watch the indexer catch up after the last HTTP scenario")
    args = parser.parse_args()

    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "nigehban", "--bin", "nigehban"], cwd=ROOT, check=True)
    binary = target_dir() / "release" / "nigehban"
    counts = [int(c) for c in args.connections.split(",")]
    print(
        f"nigehban serve (embedded log, fsync before acknowledging), {os.cpu_count()} cores; "
        f"a fresh server per scenario; {args.seconds:.0f} s per scenario after 1 s warm-up",
        flush=True,
    )
    rows = []
    drain = None
    sources = set(args.sources.split(","))
    for i, n in enumerate(counts if "http" in sources else []):
        server = Server(binary, args.workdir)
        try:
            r = http_scenario(server.port, server.token, n, args.seconds)
            r["lag"] = server.lag()
            rows.append(("http NDJSON", n, r))
            print(
                f"http       connections={n:<2} {r['rate']:>9,.0f} events/s durable {r['mb_s']:6.1f} MB/s "
                f"server {r['server_cores']:.2f} cores, search lag {r['lag']:,.0f} errors={r['errors']} {r['first_error']}",
                flush=True,
            )
            if i == len(counts) - 1 and args.drain_seconds > 0:
                before = server.lag()
                time.sleep(args.drain_seconds)
                after = server.lag()
                drain = (before - after) / args.drain_seconds
                print(f"search indexer with intake idle: {drain:,.0f} events/s ({before:,.0f} -> {after:,.0f} lag)", flush=True)
        finally:
            server.stop()
    for n in counts if "syslog" in sources else []:
        server = Server(binary, args.workdir)
        try:
            r = syslog_scenario(server.port, server.syslog_port, n, args.seconds)
            r["lag"] = server.lag()
            rows.append(("syslog TCP", n, r))
            print(
                f"syslog-tcp connections={n:<2} {r['rate']:>9,.0f} events/s durable {r['mb_s']:6.1f} MB/s "
                f"server {r['server_cores']:.2f} cores, search lag {r['lag']:,.0f}",
                flush=True,
            )
        finally:
            server.stop()
    print()
    print("| source | connections | events/s durable | MB/s | server CPU cores | search lag at the end |")
    print("|---|---|---|---|---|---|")
    for source, n, r in rows:
        print(f"| {source} | {n} | {r['rate']:,.0f} | {r['mb_s']:.1f} | {r['server_cores']:.2f} | {r['lag']:,.0f} |")
    if drain is not None:
        print(f"\nSearch indexer catching up with intake idle: {drain:,.0f} events/s")


if __name__ == "__main__":
    main()
