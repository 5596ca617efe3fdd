#!/usr/bin/env python3
"""Benchmark of live detection: event-received-to-alert-stored latency.

Starts the release binary on the embedded default with every SigmaHQ rule of
the corpus loaded (`--rules` for `rules`, `rules-emerging-threats` and
`rules-threat-hunting`), search indexing on (the whole server, as deployed),
registers an organisation and a sensor, then sends Windows events (Sysmon
process creation, NXLog's flat JSON layout, about 500 bytes each) over HTTP
NDJSON at a steady rate for a fixed time. One event in 20 is an attacker's
`whoami /priv` (from a varying host and user, so that alerts open and fold);
the others are ordinary process starts that no rule should match.

The latency is the server's own histogram `nigehban_alert_latency_seconds`
(from intake receiving an event to its alert being stored, opened or
folded), read before and after the measured window; percentiles are
interpolated linearly inside the histogram's buckets (bounds 5 ms, 10 ms,
25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, ...). After sending stops
the benchmark waits for detection to finish the backlog, so that late alerts
count too. Every rate gets a fresh server and data directory.

Usage (from the repository root):
    python3 bench/detection.py [--rates 10000,20000,30000,40000] [--seconds 60] [--skip-build]

Respects CARGO_TARGET_DIR and NIGEHBAN_CORPUS (default ../shared/data).
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intake import Server, server_cpu, target_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500
ATTACK_EVERY = 20


def sysmon_line(i: int) -> str:
    host = f"ws-{i % 300}.corp.example"
    user = f"CORP\\\\user{i % 97}"
    if i % ATTACK_EVERY == 0:
        image, command = "C:\\\\Windows\\\\System32\\\\whoami.exe", "whoami.exe /priv"
    else:
        image = "C:\\\\Program Files\\\\Office\\\\winword.exe"
        command = f"\\\"C:\\\\Program Files\\\\Office\\\\winword.exe\\\" /n C:\\\\Users\\\\user{i % 97}\\\\Documents\\\\report-{i}.docx"
    line = (
        '{"EventTime":"2024-03-15 10:22:14","Hostname":"%s","EventID":1,'
        '"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational",'
        '"ProviderGuid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}","RecordNumber":%d,'
        '"UtcTime":"2024-03-15 10:22:14.123","ProcessGuid":"{a1b2c3d4-0000-0000-0000-%012d}","ProcessId":%d,'
        '"Image":"%s","FileVersion":"16.0","Description":"Process","Product":"Windows","Company":"Example",'
        '"OriginalFileName":"%s","CommandLine":"%s","CurrentDirectory":"C:\\\\Users\\\\user%d\\\\",'
        '"User":"%s","LogonId":"0x3e7","IntegrityLevel":"Medium",'
        '"ParentImage":"C:\\\\Windows\\\\explorer.exe","ParentCommandLine":"C:\\\\Windows\\\\Explorer.EXE"}'
        % (host, i, i, 1000 + i % 60000, image, image.rsplit("\\\\", 1)[-1], command, i % 97, user)
    )
    return line


def scrape(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def value(text: str, name: str, label: str = "") -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and (line[len(name)] in " {") and label in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def histogram(text: str, name: str) -> list:
    """Cumulative (upper bound, count) pairs of a histogram."""
    buckets = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets.append((bound, float(line.rsplit(" ", 1)[1])))
    return sorted(buckets)


def percentile(before: list, after: list, q: float) -> float:
    """The q-quantile of the observations between two scrapes, interpolated in its bucket."""
    counts = [(b, a - c) for (b, a), (_, c) in zip(after, before)]
    total = counts[-1][1] if counts else 0
    if total <= 0:
        return float("nan")
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, cumulative in counts:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / max(cumulative - lower_count, 1e-9)
            return lower_bound + share * (bound - lower_bound)
        lower_bound, lower_count = bound, cumulative
    return lower_bound


def start_server(binary: Path, corpus: Path, workdir) -> Server:
    """A fresh `nigehban serve` (see bench/intake.py) with every SigmaHQ rule."""
    rules = []
    for part in ["rules", "rules-emerging-threats", "rules-threat-hunting"]:
        rules += ["--rules", str(corpus / "sigma" / "rules" / part)]
    return Server(binary, workdir, serve_args=rules, prefix="nigehban-detection-bench-")


def run_rate(server: Server, rate: int, seconds: float, connections: int, drain: float) -> dict:
    bodies = [
        ("\n".join(sysmon_line(k * BATCH + i) for i in range(BATCH)) + "\n").encode()
        for k in range(40)
    ]
    interval = connections * BATCH / rate  # seconds between one sender's batches
    stop = threading.Event()
    sent = [0] * connections
    errors = []

    def sender(k: int):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/x-ndjson"}
        due = time.perf_counter() + k * interval / connections
        n = k
        while not stop.is_set():
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due += interval
            try:
                conn.request("POST", "/api/v1/ingest", body=bodies[n % len(bodies)], headers=headers)
                answer = conn.getresponse()
                text = answer.read()
            except OSError as e:
                errors.append(str(e))
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                continue
            n += connections
            if answer.status != 202:
                errors.append(f"{answer.status} {text[:200]!r}")
                continue
            sent[k] += json.loads(text)["accepted"]

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    time.sleep(5.0)  # warm-up: rules and caches settle
    before = scrape(server.port)
    sent_before = sum(sent)
    cpu_before = server_cpu(server.port)
    started = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    sent_in_window = sum(sent) - sent_before
    stop.set()
    for t in threads:
        t.join()
    cpu = server_cpu(server.port) - cpu_before
    at_end = scrape(server.port)
    detect_lag_at_end = value(at_end, "nigehban_bus_consumer_lag", 'consumer="detect"')
    search_lag_at_end = value(at_end, "nigehban_bus_consumer_lag", 'consumer="search"')
    # Let detection finish the backlog (up to --drain seconds) so that late
    # alerts are counted; what is still behind then is reported as lag.
    deadline = time.time() + drain
    while time.time() < deadline:
        after = scrape(server.port)
        if value(after, "nigehban_bus_consumer_lag", 'consumer="detect"') == 0:
            break
        time.sleep(0.5)
    after = scrape(server.port)
    undrained = value(after, "nigehban_bus_consumer_lag", 'consumer="detect"')
    b, a = histogram(before, "nigehban_alert_latency_seconds"), histogram(after, "nigehban_alert_latency_seconds")
    return {
        "rate": sent_in_window / elapsed,
        "alerts_stored": (a[-1][1] - b[-1][1]) if a and b else 0,
        "p50": percentile(b, a, 0.50),
        "p99": percentile(b, a, 0.99),
        "detect_lag": detect_lag_at_end,
        "undrained": undrained,
        "evaluated_rate": (value(at_end, "nigehban_detection_events_evaluated_total") - value(before, "nigehban_detection_events_evaluated_total")) / (elapsed + 0.0),
        "search_lag": search_lag_at_end,
        "cores": cpu / elapsed,
        # Where the detection loop's time went in the window (share of the window).
        "phases": {
            phase: (value(at_end, "nigehban_detection_stage_seconds_total", f'phase="{phase}"')
                    - value(before, "nigehban_detection_stage_seconds_total", f'phase="{phase}"')) / elapsed
            for phase in ["fetch", "match", "correlate", "store", "acknowledge"]
        },
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="10000,20000,30000,40000", help="comma-separated events/s")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for detection to finish its backlog")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()
    corpus = Path(os.environ.get("NIGEHBAN_CORPUS", ROOT.parent / "shared" / "data")).resolve()
    if not (corpus / "sigma" / "rules" / "rules").is_dir():
        sys.exit(f"the SigmaHQ rules are not under {corpus}/sigma/rules (set NIGEHBAN_CORPUS)")
    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "-p", "nigehban", "--bin", "nigehban"], cwd=ROOT, check=True)
    binary = target_dir() / "release" / "nigehban"
    print(
        f"nigehban serve with every SigmaHQ rule, search indexing on, {os.cpu_count()} cores; "
        f"{args.seconds:.0f} s per rate after 5 s warm-up; one event in {ATTACK_EVERY} raises an alert",
        flush=True,
    )
    rows = []
    for rate in [int(r) for r in args.rates.split(",")]:
        server = start_server(binary, corpus, args.workdir)
        try:
            r = run_rate(server, rate, args.seconds, args.connections, args.drain)
        finally:
            server.stop()
        rows.append((rate, r))
        print(
            f"target {rate:>6,}/s sent {r['rate']:>9,.0f}/s alerts stored {r['alerts_stored']:>8,.0f} "
            f"p50 {r['p50'] * 1000:7.1f} ms p99 {r['p99'] * 1000:8.1f} ms detect lag {r['detect_lag']:,.0f} "
            f"(after drain {r['undrained']:,.0f}) detection evaluated {r['evaluated_rate']:,.0f}/s "
            f"search lag {r['search_lag']:,.0f} server {r['cores']:.2f} cores errors={r['errors']} {r['first_error']}",
            flush=True,
        )
        print(
            "  detection loop time: " + ", ".join(f"{phase} {share:.0%}" for phase, share in r["phases"].items()),
            flush=True,
        )
    print()
    print("| target events/s | sent events/s | detection evaluated events/s | alert signals stored | p50 | p99 | detection lag at the end (after drain) | search lag at the end | server CPU cores |")
    print("|---|---|---|---|---|---|---|---|---|")
    for rate, r in rows:
        print(
            f"| {rate:,} | {r['rate']:,.0f} | {r['evaluated_rate']:,.0f} | {r['alerts_stored']:,.0f} | {r['p50'] * 1000:.0f} ms | {r['p99'] * 1000:.0f} ms "
            f"| {r['detect_lag']:,.0f} ({r['undrained']:,.0f}) | {r['search_lag']:,.0f} | {r['cores']:.2f} |"
        )
    # A p99 counts only if detection kept up (nothing left after the drain).
    ok = [rate for rate, r in rows if r["p99"] < 1.0 and r["undrained"] == 0]
    print(f"\nHighest rate measured with p99 under 1 s: {max(ok):,}/s" if ok else "\nNo rate measured had p99 under 1 s")


if __name__ == "__main__":
    main()
