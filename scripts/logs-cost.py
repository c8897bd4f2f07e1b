#!/usr/bin/env python3
"""What sending the log lines as OTLP log records costs, in one run.

    python3 scripts/logs-cost.py                    # needs hyperfine
    python3 scripts/logs-cost.py --before DIR       # DIR: release binaries built
                                                    # from a commit before the logs

1. Wall time of `examples-inprocess-http` (release) against the release
   collector on free ports, with log records (the default) and without
   (`OTEL_LOGS_EXPORTER=none`), timed by hyperfine in one run; with
   --before, the earlier build too.
2. The size of the release binary (and of the earlier one).
3. `cargo bench -p common --bench log_event`: one `tracing::info!` with and
   without the OTLP appender, on the thread that writes it.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("chain_cost", os.path.join(HERE, "chain-cost.py"))
chain_cost = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chain_cost)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a directory with an earlier release build of "
                                         "examples-inprocess-http")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    if not shutil.which("hyperfine"):
        sys.exit("hyperfine is needed: apt-get install hyperfine (or cargo install hyperfine)")
    chain_cost.cargo("build", "--release", "--quiet", "-p", "collector",
                     "-p", "examples-inprocess-http")
    ours = os.path.join(chain_cost.RELEASE, "examples-inprocess-http")
    before = os.path.join(args.before, "examples-inprocess-http") if args.before else None
    collector, _grpc, http = chain_cost.start_collector()
    try:
        # Each through `env`, so that all pay the same exec; no shell (-N).
        commands = [
            ["--command-name", "logs on (the default)", f"env OTEL_LOGS_EXPORTER=otlp {ours}"],
            ["--command-name", "logs off (OTEL_LOGS_EXPORTER=none)",
             f"env OTEL_LOGS_EXPORTER=none {ours}"],
        ]
        if before:
            commands.append(["--command-name", "the earlier build",
                             f"env OTEL_LOGS_EXPORTER=otlp {before}"])
        cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(args.runs), "--style", "basic",
               "--output", "null"]
        for c in commands:
            cmd += c
        subprocess.run(cmd, env=dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=http), check=True)
    finally:
        collector.kill()
        collector.wait()
    print("binary size (release):")
    for label, path in (("now", ours), ("the earlier build", before)):
        if path:
            print(f"  {label}: {os.path.getsize(path) / 1e6:.2f} MB  {path}")
    chain_cost.cargo("bench", "--quiet", "-p", "common", "--bench", "log_event")


if __name__ == "__main__":
    main()
