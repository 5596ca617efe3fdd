#!/usr/bin/env python3
"""Benchmark of `nigehban hunt`: every SigmaHQ rule over >= 1,000,000 events.

Builds a corpus by replicating the EVTX files of the outside test corpus
(events/evtx-attack-samples and sigma/regression/**/*.evtx) with hard links
(no extra disk space; the page cache serves them, so the figures measure the
hunt, not the disk), and the same events as JSON lines in the evtx crate's
nested Event.System / Event.EventData layout. Then runs `nigehban hunt` with
all SigmaHQ rules loaded on one thread and on all cores, and reports events/s,
MB/s (of decoded input) and peak memory (max RSS), plus start-up time with the
full rule set.

Baseline, in the same run: the same hunt with a single rule that never fires,
which costs what reading and decoding cost and nothing for matching.

Usage (from the repository root):
    python3 bench/hunt.py [--events 1000000] [--workdir bench/out] [--skip-build]

Needs the release build of `nigehban` and of the `to_jsonl` example; the
script builds them unless --skip-build. Respects CARGO_TARGET_DIR.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(
    r"hunted (\d+) file\(s\).*?, (\d+) events \(([\d.]+) MB\) with (\d+) rules in ([\d.]+) s"
)

NEVER_FIRES = """title: Never fires (benchmark baseline)
id: 00000000-0000-4000-8000-000000000001
status: test
logsource:
    product: windows
detection:
    selection:
        EventID: 999999
    condition: selection
level: low
"""


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def wall_seconds(cmd):
    """Runs cmd; returns its wall-clock time in seconds."""
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    return wall


def max_rss_mib(cmd):
    """Peak RSS (MiB) and CPU time (user + system, s) of one command, measured by GNU time.

    CPU time says what the hunt costs whatever else the machine runs; wall-clock
    time is what a user waits.
    """
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS %M CPU %U %S"] + [str(c) for c in cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    match = re.search(r"MAXRSS (\d+) CPU ([\d.]+) ([\d.]+)", proc.stderr)
    if proc.returncode != 0 or not match:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    return int(match.group(1)) / 1024, float(match.group(2)) + float(match.group(3)), proc.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="minimum events in each corpus")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("NIGEHBAN_CORPUS", ROOT.parent / "shared" / "data")))
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}", help="comma-separated thread counts")
    args = parser.parse_args()

    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        sys.exit(f"corpus not found at {corpus}")
    if not args.skip_build:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "nigehban", "-p", "nigehban-hunt", "--bin", "nigehban", "--example", "to_jsonl"],
            cwd=ROOT,
            check=True,
        )
    binary = target_dir() / "release" / "nigehban"
    to_jsonl = target_dir() / "release" / "examples" / "to_jsonl"

    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "evtx").mkdir(parents=True)
    (work / "jsonl").mkdir(parents=True)

    sources = sorted((corpus / "events" / "evtx-attack-samples").rglob("*.evtx"))
    sources += sorted((corpus / "sigma" / "regression").rglob("*.evtx"))
    base_jsonl = work / "base.jsonl"
    with open(base_jsonl, "wb") as out:
        subprocess.run([str(to_jsonl)] + [str(s) for s in sources], stdout=out, check=True)
    per_replica = sum(1 for _ in open(base_jsonl, "rb"))
    replicas = -(-args.events // per_replica)
    evtx_bytes = sum(s.stat().st_size for s in sources)
    for r in range(replicas):
        d = work / "evtx" / f"r{r:04}"
        d.mkdir()
        for i, s in enumerate(sources):
            os.link(s, d / f"{i:03}_{s.name}")
        os.link(base_jsonl, work / "jsonl" / f"r{r:04}.jsonl")
    jsonl_size = base_jsonl.stat().st_size
    print(
        f"corpus: {replicas} replicas x {per_replica} events = {replicas * per_replica} events; "
        f"EVTX {replicas * evtx_bytes / 1e9:.2f} GB in {replicas * len(sources)} files; "
        f"JSON lines {replicas * jsonl_size / 1e9:.2f} GB in {replicas} files "
        f"({jsonl_size / per_replica:.0f} bytes/event)",
        flush=True,
    )

    rules = corpus / "sigma" / "rules"
    all_rules = []
    for d in ("rules", "rules-emerging-threats", "rules-threat-hunting"):
        all_rules += ["--rules", str(rules / d)]
    baseline_rules = work / "never_fires.yml"
    baseline_rules.write_text(NEVER_FIRES)

    # Start-up: all rules loaded and compiled, hunting one small file.
    tiny = work / "tiny.jsonl"
    with open(base_jsonl, "rb") as src, open(tiny, "wb") as dst:
        dst.write(src.readline())
    startups = []
    for _ in range(5):
        startups.append(wall_seconds([binary, "hunt", *all_rules, "--format", "jsonl", "-o", "/dev/null", tiny]))
    print(f"start-up with all rules (median of 5, whole process): {statistics.median(startups):.3f} s", flush=True)

    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        for fmt in ("evtx", "jsonl"):
            for label, rule_args in (("baseline: 1 rule, never fires", ["--rules", str(baseline_rules)]), ("all SigmaHQ rules", all_rules)):
                cmd = [binary, "hunt", *rule_args, "--threads", str(threads), "--format", "jsonl", "-o", "/dev/null", work / fmt]
                wall_start = time.perf_counter()
                rss, cpu, stderr = max_rss_mib(cmd)
                wall = time.perf_counter() - wall_start
                match = SUMMARY.search(stderr)
                if not match:
                    sys.exit(f"no summary from: {' '.join(map(str, cmd))}\n{stderr}")
                files, events, mb, nrules, hunt_s = match.groups()
                events, mb = int(events), float(mb)
                detections = re.search(r"detections: (\d+)", stderr).group(1)
                row = (fmt, threads, label, nrules, events, wall, events / wall, mb / wall, rss, detections, events / cpu)
                rows.append(row)
                print(
                    f"{fmt:5} threads={threads} {label:32} rules={nrules:>5} events={events} "
                    f"wall={wall:.1f}s {events / wall:,.0f} events/s {mb / wall:.1f} MB/s "
                    f"peak RSS {rss:.0f} MiB detections={detections} {events / cpu:,.0f} events per CPU-second",
                    flush=True,
                )

    print()
    print("| input | threads | rules | events | wall s | events/s | MB/s | events per CPU-s | peak RSS MiB | detections |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for fmt, threads, label, nrules, events, wall, eps, mbs, rss, det, per_cpu in rows:
        print(f"| {fmt} | {threads} | {label} ({nrules}) | {events:,} | {wall:.1f} | {eps:,.0f} | {mbs:.1f} | {per_cpu:,.0f} | {rss:.0f} | {det} |")
    print(f"\nstart-up (all rules, median of 5): {statistics.median(startups):.3f} s")


if __name__ == "__main__":
    main()
