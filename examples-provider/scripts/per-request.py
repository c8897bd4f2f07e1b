#!/usr/bin/env python3
"""Wall time per request of `provider-grpc` and `provider-http` at each
sampler and span processor (release builds), against the embedded collector
and examples-http's server, both started here on free loopback ports.

    python3 examples-provider/scripts/per-request.py              # 1000 requests a run
    python3 examples-provider/scripts/per-request.py --count 3000 --repeat 5

Each figure is (wall time of a run of N requests - wall time of a run of 1)
/ (N - 1), the median over --repeat pairs of runs: the process start-up and
the final flush cancel out, what is left is the loop: a root span, the
sampler's decision, the traced GET to the server, and the span processor's
work on what was sampled.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

CRATE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(CRATE)
RELEASE = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                       "release")
SAMPLERS = [
    ("always_off", None),
    ("traceidratio", "0.1"),
    ("traceidratio", "0.5"),
    ("always_on", None),
    ("parentbased_always_on", None),
]


def drain(stream):
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()


def started(args, pattern, what):
    """Starts `args`, returns (process, the first match of `pattern` on stderr)."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")})
    deadline = time.monotonic() + 30
    found = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        found += re.findall(pattern, line)
        if len(found) >= (2 if what == "collector" else 1):
            drain(proc.stderr)
            return proc, found
    proc.kill()
    sys.exit(f"the {what} did not start")


def run(binary, args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    start = time.perf_counter()
    proc = subprocess.Popen([binary, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(300, proc.kill)
    watchdog.start()
    try:
        _, err = proc.communicate()
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} exited with {proc.returncode}: {err}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "collector",
                    "-p", "examples-http", "-p", "examples-provider", "--bins"],
                   cwd=ROOT, check=True)
    collector, urls = started(
        [os.path.join(RELEASE, "collector"), "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
         "--no-ui", "--max-traces", "100"],
        r"OTLP/(gRPC|HTTP)\S*\s+(http://127\.0\.0\.1:\d+)", "collector")
    endpoints = dict(urls)
    server, (addr,) = started(
        [os.path.join(RELEASE, "server"), "--listen", "127.0.0.1:0",
         "--endpoint", endpoints["HTTP"]], r"listening on (http://\S+)", "server")
    url = f"{addr}/hello"
    print(f"wall time per request, median of {opts.repeat} x ({opts.count} requests - 1), "
          "release builds, against the embedded collector and examples-http's server")
    print(f"{'sampler':<26} {'processor':<9} {'provider-grpc':>14} {'provider-http':>14}")
    try:
        for sampler, arg in SAMPLERS:
            for processor in ["batch", "simple"]:
                cells = []
                for binary, endpoint in [("provider-grpc", endpoints["gRPC"]),
                                         ("provider-http", endpoints["HTTP"])]:
                    args = ["--url", url, "--endpoint", endpoint, "--sampler", sampler,
                            "--processor", processor]
                    if arg:
                        args += ["--sampler-arg", arg]
                    path = os.path.join(RELEASE, binary)
                    per_request = []
                    for _ in range(opts.repeat):
                        many = run(path, args + ["--count", str(opts.count)])
                        one = run(path, args + ["--count", "1"])
                        per_request.append((many - one) / (opts.count - 1))
                    cells.append(f"{statistics.median(per_request) * 1e6:10.0f} µs")
                label = f"{sampler} {arg}" if arg else sampler
                print(f"{label:<26} {processor:<9} {cells[0]:>14} {cells[1]:>14}", flush=True)
    finally:
        server.kill()
        collector.kill()


if __name__ == "__main__":
    main()
