#!/usr/bin/env python3
"""What the examples' chain costs, side by side with a reference, in one run.

    python3 scripts/chain-cost.py            # start-up and load (about 2 minutes)
    python3 scripts/chain-cost.py --runs 60  # more start-up runs

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
    done = subprocess.run([binary], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=30)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{binary} exited with {done.returncode}")
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


def startup(runs, ours_dir):
    cargo("build", "--release", "--quiet", "-p", "collector",
          "-p", "examples-inprocess-http", "-p", "examples-inprocess-grpc")
    cargo("build", "--release", "--quiet", "-p", "common", "--examples")
    collector, grpc, http = start_collector()
    pairs = [
        ("OTLP/HTTP", os.path.join(ours_dir, "examples-inprocess-http"),
         os.path.join(RELEASE, "examples", "anchor_otlp_http"), http),
        ("OTLP/gRPC", os.path.join(ours_dir, "examples-inprocess-grpc"),
         os.path.join(RELEASE, "examples", "anchor_otlp_grpc"), grpc),
    ]
    try:
        print(f"start-up, median of {runs} alternating runs each (wall time, release builds):")
        for label, ours, anchor, endpoint in pairs:
            # The anchor sends spans only; ours also sends its log lines as
            # OTLP log records unless OTEL_LOGS_EXPORTER=none: both are shown.
            spans_only = {"OTEL_LOGS_EXPORTER": "none"}
            run_once(ours, endpoint), run_once(anchor, endpoint)  # warm the page cache
            mine, mine_spans_only, theirs = [], [], []
            for _ in range(runs):
                mine.append(run_once(ours, endpoint))
                mine_spans_only.append(run_once(ours, endpoint, spans_only))
                theirs.append(run_once(anchor, endpoint))
            a, c, b = (statistics.median(mine), statistics.median(mine_spans_only),
                       statistics.median(theirs))
            print(f"  {label}: {os.path.basename(ours)} {a * 1000:.1f} ms "
                  f"({c * 1000:.1f} ms with OTEL_LOGS_EXPORTER=none), "
                  f"anchor {b * 1000:.1f} ms: ratio {a / b:.2f}, spans only {c / b:.2f} "
                  f"(target <= 1.1)")
            if shutil.which("strace"):
                for name, binary in ((os.path.basename(ours), ours), ("anchor", anchor)):
                    certs, execs = strace_counts(binary, endpoint)
                    print(f"    {name}: {certs} files opened under /etc/ssl, "
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
                        help="where examples-inprocess-http/-grpc are (e.g. a build of an "
                             "earlier commit, for a before/after figure)")
    args = parser.parse_args()
    startup(max(1, args.runs), args.examples_dir)
    if not args.skip_load:
        load(max(1, args.load_runs))


if __name__ == "__main__":
    main()
