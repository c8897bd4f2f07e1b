#!/usr/bin/env python3
"""Whether a trace of the per-trace limit (100,000 spans) goes out and back
in as a file, this build beside a reference build, in one run.

    python3 scripts/file-roundtrip.py --before PATH         # beside a reference binary
    COLLECTOR_REFERENCE_BIN=PATH python3 scripts/file-roundtrip.py   # the same
    python3 scripts/file-roundtrip.py --spans 20000         # a smaller trace

For each collector binary (this release build, then the reference): start
it on free ports, send the trace over OTLP/HTTP (JSON) in batches of 20,000
spans, download it (`GET /api/traces/{id}/otlp`, the page's download
button), then upload the file to a second collector of the same build
(`POST /api/traces`, what the page does with a chosen or dropped file) and
load it into a third (`--load FILE`); say the size of the download, how
long each step took, and whether each got every span back.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
FREE_PORTS = ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0"]
TRACE_ID = "b1" * 16
BATCH = 20_000


class Collector:
    """A collector binary on free ports; its OTLP/HTTP and web view URLs."""

    def __init__(self, binary, *args):
        self.process = subprocess.Popen([binary, *FREE_PORTS, *args], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.http = self.ui = None
        deadline = time.time() + 300
        while self.ui is None:
            line = self.process.stderr.readline()
            if not line or time.time() > deadline:
                self.stop()
                raise RuntimeError("no banner: " + "".join(self.lines))
            self.lines.append(line)
            words = line.split()
            if line.startswith("  OTLP/HTTP"):
                self.http = words[1]
            elif line.startswith("  web view"):
                self.ui = words[2].rstrip("/")

    def stop(self):
        self.process.kill()
        self.process.wait()


def request(url, body=None, headers=None):
    """Status and body of a GET (or a POST of `body`); errors are answers too."""
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        # A server that answers 413 early and closes breaks the pipe.
        return 0, f"connection closed while sending ({error}); 413 too large?".encode()


def batches(spans):
    """OTLP/JSON export requests: a root and its children, BATCH at a time."""
    for first in range(0, spans, BATCH):
        out = []
        for i in range(first, min(first + BATCH, spans)):
            span = {"traceId": TRACE_ID, "spanId": "%016x" % (i + 1), "name": "s", "kind": 1,
                    "startTimeUnixNano": str(1_000_000_000 + i),
                    "endTimeUnixNano": str(1_000_001_000 + i)}
            if i > 0:
                span["parentSpanId"] = "%016x" % 1
            out.append(span)
        yield json.dumps({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name",
                                         "value": {"stringValue": "big"}}]},
            "scopeSpans": [{"scope": {"name": "file-roundtrip"}, "spans": out}]}]}).encode()


def span_count(collector):
    status, body = request(collector.ui + "/api/traces")
    traces = json.loads(body)["traces"] if status == 200 else []
    return sum(t["span_count"] for t in traces)


def measure(binary, spans, workdir):
    row = {}
    sender = Collector(binary)
    try:
        for body in batches(spans):
            status, answer = request(sender.http + "/v1/traces", body,
                                     {"Content-Type": "application/json"})
            if status != 200:
                raise RuntimeError(f"export refused: {status} {answer[:200]!r}")
        deadline = time.time() + 120
        while span_count(sender) < spans and time.time() < deadline:
            time.sleep(0.2)
        started = time.time()
        status, download = request(f"{sender.ui}/api/traces/{TRACE_ID}/otlp")
        row["download"] = f"{len(download) / 1e6:.1f} MB in {time.time() - started:.1f} s"
    finally:
        sender.stop()
    path = os.path.join(workdir, os.path.basename(binary) + "-trace.json")
    with open(path, "wb") as file:
        file.write(download)

    receiver = Collector(binary)
    try:
        started = time.time()
        status, answer = request(receiver.ui + "/api/traces", download,
                                 {"Content-Type": "application/json"})
        took = time.time() - started
        got = span_count(receiver)
        row["upload"] = (f"{got} spans back in {took:.1f} s" if status == 200
                         else f"refused: {status or ''} {answer.decode(errors='replace').strip()[:90]}")
    finally:
        receiver.stop()

    started = time.time()
    try:
        loader = Collector(binary, "--load", path)
    except RuntimeError as error:
        # "error: --load PATH: why"
        message = [l.split("error: ", 1)[1] for l in str(error).splitlines() if "error: " in l]
        row["--load"] = "refused: " + (message[0].split(": ", 1)[-1][:90] if message else "?")
    else:
        try:
            took = time.time() - started
            row["--load"] = f"{span_count(loader)} spans back in {took:.1f} s (with start-up)"
        finally:
            loader.stop()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=os.environ.get("COLLECTOR_REFERENCE_BIN", ""),
                        help="the reference collector binary (default: $COLLECTOR_REFERENCE_BIN)")
    parser.add_argument("--spans", type=int, default=100_000)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "collector", "--bin",
                    "collector"], cwd=ROOT, check=True)
    builds = [("this build", os.path.join(TARGET, "release", "collector"))]
    if args.before and os.path.exists(args.before):
        builds.append(("reference", args.before))
    elif args.before:
        print(f"(no reference binary at {args.before})", file=sys.stderr)
    print(f"a trace of {args.spans} spans, downloaded, uploaded, loaded:")
    with tempfile.TemporaryDirectory() as workdir:
        for name, binary in builds:
            row = measure(binary, args.spans, workdir)
            print(f"  {name:<11} download {row['download']}")
            print(f"  {'':<11} upload   {row['upload']}")
            print(f"  {'':<11} --load   {row['--load']}")


if __name__ == "__main__":
    main()
