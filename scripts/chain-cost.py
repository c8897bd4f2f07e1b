#!/usr/bin/env python3
"""What the examples' chain costs, side by side with a reference, in one run.

    python3 scripts/chain-cost.py            # start-up and load (about 2 minutes)
    python3 scripts/chain-cost.py --runs 400 # more start-up runs
    python3 scripts/chain-cost.py --before DIR  # beside an earlier release build in DIR

1. Start-up: `examples-inprocess-http` and `-grpc` (release builds) against
   the traces part of opentelemetry-rust's basic-otlp-http / basic-otlp
   examples (`scripts/anchor`, a Cargo workspace of its own, so that the
   main workspace's unified features, TLS and its certificate store among
   them, stay out of it), run alternately against one collector; the
   medians and their ratio. The anchor sends spans only, so the examples are
   compared with `OTEL_LOGS_EXPORTER=none` (target <= 1.1x), and also timed
   with their log records on (what logs cost) and without gzip, which the
   anchor does not do either (what gzip costs). With strace present it also
   counts, for each, the files opened under /etc/ssl, the threads and the
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
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
RELEASE = os.path.join(TARGET, "release")
ANCHOR = os.path.join(ROOT, "scripts", "anchor")


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


def strace_counts(binary, endpoint, extra=None):
    """Files opened under /etc/ssl, threads started, and processes started
    (those that ran execve)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "trace")
        env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, **(extra or {}))
        subprocess.run(["strace", "-f", "-qq", "-o", log, "-e",
                        "trace=openat,execve,clone,clone3,fork,vfork", binary],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60, check=True)
        text = open(log).read()
    certs = len(re.findall(r'openat\([^"]*"/etc/ssl/', text))
    # Processes that ran execve (a PATH search tries each directory), less
    # the program itself; every other clone is a thread.
    execs = len(set(re.findall(r"^(\d+)\s+execve\(", text, re.M))) - 1
    clones = len(re.findall(r"^\d+\s+(?:clone3?|v?fork)\(", text, re.M))
    return certs, clones - execs, execs


def build_anchor(target_dir):
    """The anchor's two binaries, built in its own workspace (its own
    features and lock file) into `target_dir`; returns their directory."""
    cargo("build", "--release", "--quiet", "--locked", "--manifest-path",
          os.path.join(ANCHOR, "Cargo.toml"), "--target-dir", target_dir)
    return os.path.join(target_dir, "release")


def startup(runs, ours_dir, anchor_target, before_dir=None):
    cargo("build", "--release", "--quiet", "-p", "collector",
          "-p", "examples-inprocess-http", "-p", "examples-inprocess-grpc")
    anchors = build_anchor(anchor_target)
    collector, grpc, http = start_collector()
    pairs = [
        ("OTLP/HTTP", "examples-inprocess-http",
         os.path.join(anchors, "anchor-otlp-http"), http),
        ("OTLP/gRPC", "examples-inprocess-grpc",
         os.path.join(anchors, "anchor-otlp-grpc"), grpc),
    ]
    # The anchor sends spans only; ours also sends its log lines as OTLP log
    # records unless OTEL_LOGS_EXPORTER=none. Spans only is the comparison;
    # logs on is timed too (what they cost), and so is an earlier build
    # (--before, spans only) when given. Runs alternate, so that a noisy
    # neighbour hits all alike.
    spans_only = {"OTEL_LOGS_EXPORTER": "none"}
    # The examples gzip their exports (GoFrame's do); upstream's examples,
    # and so the anchor, send them as they are: timed without gzip too.
    uncompressed = dict(spans_only, OTEL_EXPORTER_OTLP_COMPRESSION="none")
    try:
        print(f"start-up, median of {runs} alternating runs each (wall time, release builds):")
        for label, name, anchor, endpoint in pairs:
            ours = os.path.join(ours_dir, name)
            traces = f"{name}, OTEL_LOGS_EXPORTER=none"
            plain = f"{name}, spans only, OTEL_EXPORTER_OTLP_COMPRESSION=none"
            runners = [
                (traces, lambda: run_once(ours, endpoint, spans_only)),
                (f"{name}, logs on", lambda: run_once(ours, endpoint)),
                (plain, lambda: run_once(ours, endpoint, uncompressed)),
                ("anchor", lambda: run_once(anchor, endpoint)),
            ]
            if before_dir:
                before = os.path.join(before_dir, name)
                runners.append((f"{name}, the earlier build, OTEL_LOGS_EXPORTER=none",
                                lambda: run_once(before, endpoint, spans_only)))
            for _, run in runners:
                run()  # warm the page cache
            times = {who: [] for who, _ in runners}
            for _ in range(runs):
                for who, run in runners:
                    times[who].append(run())
            medians = {who: statistics.median(t) for who, t in times.items()}
            reference = medians["anchor"]
            print(f"  {label}:")
            # The fastest run beside the median: on a busy machine it moves
            # less.
            for who, median in medians.items():
                print(f"    {who}: {median * 1000:.1f} ms, {median / reference:.2f}x the anchor "
                      f"(fastest {min(times[who]) * 1000:.1f} ms)")
            logs_cost = medians[f"{name}, logs on"] - medians[traces]
            gzip_cost = medians[traces] - medians[plain]
            verdict = "met" if medians[traces] <= 1.1 * reference else "NOT met"
            print(f"    spans only: {medians[traces] / reference:.2f}x the anchor "
                  f"(target <= 1.1x: {verdict}); log records on cost "
                  f"{logs_cost * 1000:+.1f} ms, gzip {gzip_cost * 1000:+.1f} ms")
            if shutil.which("strace"):
                binaries = [(traces, ours, spans_only), (f"{name}, logs on", ours, None),
                            ("anchor", anchor, None)]
                if before_dir:
                    binaries.append((f"{name}, the earlier build", before, spans_only))
                for who, binary, extra in binaries:
                    certs, threads, execs = strace_counts(binary, endpoint, extra)
                    print(f"    {who}: {certs} files opened under /etc/ssl, "
                          f"{threads} threads and {execs} programs started")
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
    # A run takes a few milliseconds: 40 rounds last about a second,
    # shorter than the bursts of a busy machine, and their medians moved by
    # 0.3x from one invocation to the next; 200 rounds held within 0.05x.
    parser.add_argument("--runs", type=int, default=200, help="start-up runs of each binary")
    parser.add_argument("--load-runs", type=int, default=3, help="runs of the load bench")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--examples-dir", default=RELEASE,
                        help="where examples-inprocess-http/-grpc are")
    parser.add_argument("--before", help="where an earlier build of them is (a release "
                                         "build of an earlier commit), timed beside them")
    parser.add_argument("--anchor-target-dir", default=os.path.join(TARGET, "anchor"),
                        help="the anchor workspace's target directory")
    args = parser.parse_args()
    startup(max(1, args.runs), args.examples_dir, args.anchor_target_dir, args.before)
    if not args.skip_load:
        load(max(1, args.load_runs))


if __name__ == "__main__":
    main()
