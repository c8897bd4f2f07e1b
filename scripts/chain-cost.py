#!/usr/bin/env python3
"""What the examples' chain costs, side by side with a reference, in one run.

    python3 scripts/chain-cost.py            # start-up and load (about 2 minutes)
    python3 scripts/chain-cost.py --runs 60  # more start-up runs
    python3 scripts/chain-cost.py --before DIR  # beside an earlier release build in DIR

1. Start-up: `examples-inprocess-http` and `-grpc` (release builds) against
   the traces part of opentelemetry-rust's basic-otlp-http / basic-otlp
   examples (`common/examples/anchor_otlp_*.rs`), run alternately against
   one collector; the medians and their ratio (target <= 1.1). With strace
   present it also counts, for each, the files opened under /etc/ssl and the
   child processes started.
2. Load: `cargo bench -p examples-http --bench load` a few times at the
   server's default batch settings: spans dropped (target 0) and the ratio
   of requests per second with tracing on and off.

The third figure, `users::get_user(100)` against the raw SDK, is a divan
bench: `cargo bench -p common --bench chain`.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                       "release")


def cargo(*args):
    subprocess.run(["cargo", *args], cwd=ROOT, check=True)


def start_collector():
    """The release collector on free ports; returns (process, grpc, http)."""
    proc = subprocess.Popen(
        [os.path.join(RELEASE, "collector"), "--grpc", "127.0.0.1:0",
         "--http", "127.0.0.1:0", "--no-ui", "--max-traces", "100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    grpc = http = None
    deadline = time.monotonic() + 30
    while (grpc is None or http is None) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        for name, url in re.findall(r"OTLP/(gRPC|HTTP)\S*\s+(http://127\.0\.0\.1:\d+)", line):
            if name == "gRPC":
                grpc = url
            else:
                http = url
    if grpc is None or http is None:
        proc.kill()
        sys.exit("the collector did not print its OTLP addresses")
    # Keep reading its stderr so that it never blocks on a full pipe.
    subprocess.Popen(["cat"], stdin=proc.stderr, stdout=subprocess.DEVNULL)
    return proc, grpc, http


def run_once(binary, endpoint, extra=None):
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **(extra or {}))
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # A blocking wait: subprocess's wait(timeout=...) polls with growing
    # sleeps, which rounded every run up to a few milliseconds. A timer
    # kills a run that hangs.
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        code = proc.wait()
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - start
    if code != 0:
        sys.exit(f"{binary} exited with {code}")
    return elapsed


def strace_counts(binary, endpoint):
    """Files opened under /etc/ssl, and processes started (clone/fork/exec)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "trace")
        env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
        subprocess.run(["strace", "-f", "-qq", "-o", log, "-e",
                        "trace=openat,execve,clone,clone3,fork,vfork", binary],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
        text = open(log).read()
    certs = len(re.findall(r'openat\([^"]*"/etc/ssl/', text))
    # Processes that ran execve (a PATH search tries each directory), less
    # the program itself.
    execs = len(set(re.findall(r"^(\d+)\s+execve\(", text, re.M))) - 1
    return certs, execs


def startup(runs, ours_dir, before_dir=None):
    cargo("build", "--release", "--quiet", "-p", "collector",
          "-p", "examples-inprocess-http", "-p", "examples-inprocess-grpc")
    cargo("build", "--release", "--quiet", "-p", "common", "--examples")
    collector, grpc, http = start_collector()
    pairs = [
        ("OTLP/HTTP", "examples-inprocess-http",
         os.path.join(RELEASE, "examples", "anchor_otlp_http"), http),
        ("OTLP/gRPC", "examples-inprocess-grpc",
         os.path.join(RELEASE, "examples", "anchor_otlp_grpc"), grpc),
    ]
    # The anchor sends spans only; ours also sends its log lines as OTLP log
    # records unless OTEL_LOGS_EXPORTER=none: both are timed, and so is an
    # earlier build (--before) when given. Runs alternate, so that a noisy
    # neighbour hits all alike.
    spans_only = {"OTEL_LOGS_EXPORTER": "none"}
    try:
        print(f"start-up, median of {runs} alternating runs each (wall time, release builds):")
        for label, name, anchor, endpoint in pairs:
            ours = os.path.join(ours_dir, name)
            runners = [
                (name, lambda: run_once(ours, endpoint)),
                (f"{name} with OTEL_LOGS_EXPORTER=none",
                 lambda: run_once(ours, endpoint, spans_only)),
                ("anchor", lambda: run_once(anchor, endpoint)),
            ]
            if before_dir:
                before = os.path.join(before_dir, name)
                runners.append((f"{name}, the earlier build",
                                lambda: run_once(before, endpoint)))
            for _, run in runners:
                run()  # warm the page cache
            times = {who: [] for who, _ in runners}
            for _ in range(runs):
                for who, run in runners:
                    times[who].append(run())
            medians = {who: statistics.median(t) for who, t in times.items()}
            reference = medians["anchor"]
            print(f"  {label}:")
            for who, median in medians.items():
                print(f"    {who}: {median * 1000:.1f} ms, {median / reference:.2f}x the anchor")
            print("    (target <= 1.1x)")
            if shutil.which("strace"):
                binaries = [(name, ours), ("anchor", anchor)]
                if before_dir:
                    binaries.append((f"{name}, the earlier build", before))
                for who, binary in binaries:
                    certs, execs = strace_counts(binary, endpoint)
                    print(f"    {who}: {certs} files opened under /etc/ssl, "
                          f"{execs} programs started")
    finally:
        collector.kill()
        collector.wait()


def load(times):
    cargo("bench", "-p", "examples-http", "--bench", "load", "--no-run", "--quiet")
    modes = [
        ("the server's defaults", {}),
        ("the SDK's 2048/512", {"OTEL_BSP_MAX_QUEUE_SIZE": "2048",
                                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512"}),
    ]
    print(f"load: `cargo bench -p examples-http --bench load`, {times} alternating runs "
          f"of each batch setting:")
    results = {label: ([], []) for label, _ in modes}
    for _ in range(times):
        for label, env in modes:
            out = subprocess.run(
                ["cargo", "bench", "--quiet", "-p", "examples-http", "--bench", "load"],
                cwd=ROOT, env=dict(os.environ, **env), capture_output=True, text=True,
                check=True).stdout
            rates = dict(re.findall(
                r"(tracing o(?:n|ff)): \d+ requests in [\d.]+ s = (\d+) req/s", out))
            spans = re.search(r"expected (\d+), server exported (\d+)", out)
            expected, exported = int(spans.group(1)), int(spans.group(2))
            dropped, ratios = results[label]
            dropped.append((expected - exported) / expected * 100 if expected else 0.0)
            ratios.append(int(rates["tracing on"]) / int(rates["tracing off"]))
            print(f"  {label:>21}: {rates['tracing on']} req/s traced, "
                  f"{rates['tracing off']} untraced; {expected - exported} of {expected} "
                  f"spans dropped")
    for label, (dropped, ratios) in results.items():
        print(f"  {label:>21}: dropped median {statistics.median(dropped):.2f}% "
              f"(max {max(dropped):.2f}%; target 0); throughput traced/untraced "
              f"median {statistics.median(ratios):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="start-up runs of each binary")
    parser.add_argument("--load-runs", type=int, default=3, help="runs of the load bench")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--examples-dir", default=RELEASE,
                        help="where examples-inprocess-http/-grpc are")
    parser.add_argument("--before", help="where an earlier build of them is (a release "
                                         "build of an earlier commit), timed beside them")
    args = parser.parse_args()
    startup(max(1, args.runs), args.examples_dir, args.before)
    if not args.skip_load:
        load(max(1, args.load_runs))


if __name__ == "__main__":
    main()
