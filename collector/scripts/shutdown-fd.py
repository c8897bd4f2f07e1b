#!/usr/bin/env python3
"""Figures for the collector's shutdown, file descriptors and line widths,
each build side by side in one run (issue 19):

1. SIGTERM to exit with a stdout nobody reads (a full pipe): seconds, or
   "never" past 20 s.
2. Under RLIMIT_NOFILE 1024 (soft and hard, `prlimit`), 1,100 idle TCP
   connections to the OTLP/HTTP port, then one OTLP/HTTP export (JSON) and
   one OTLP/gRPC export (`curl --http2-prior-knowledge`): answered or not
   within 8 s (the head timeout closes idle connections after 10 s), and how
   fast.
3. The widest line printed to stdout at COLUMNS=80 for a trace of 301 spans
   of 301 services with long names and attributes.

Run with (loopback only, every wait bounded):

    cargo build -p collector [--release]
    collector/scripts/shutdown-fd.py [BIN...]

Without arguments it compares $CARGO_TARGET_DIR/{release,debug}/collector
(target/ by default) with the reference builds named by
COLLECTOR_REFERENCE_BIN and COLLECTOR_REFERENCE_DEBUG_BIN (e.g. the
collector of an older commit), those that exist.
"""

import fcntl
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import urllib.request

HTTP_PATH = "/v1/traces"
GRPC_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def start(binary, env=None, stdout=subprocess.DEVNULL, prefix=()):
    """The binary on free ports, no web view; its OTLP/gRPC and HTTP
    addresses from the banner."""
    proc = subprocess.Popen(
        [*prefix, binary, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
        text=True,
    )
    addrs = {}
    lines = []
    for line in proc.stderr:
        lines.append(line)
        for name in ("OTLP/gRPC", "OTLP/HTTP"):
            if line.strip().startswith(name):
                addrs[name] = line.split("//")[1].split()[0]
        if len(addrs) == 2:
            break
    else:
        raise RuntimeError(f"{binary}: no banner: {''.join(lines)}")
    # Keep draining stderr so the collector never blocks on it.
    rest = []
    threading.Thread(target=lambda: rest.extend(proc.stderr), daemon=True).start()
    return proc, addrs["OTLP/gRPC"], addrs["OTLP/HTTP"], rest


def span(trace, i, parent, name, attrs=()):
    return {
        "traceId": trace,
        "spanId": f"{i + 1:016x}",
        "parentSpanId": "" if parent is None else f"{parent + 1:016x}",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(1_000_000_000 + i),
        "endTimeUnixNano": str(2_000_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs],
    }


def export(http, resource_spans, timeout=30):
    body = json.dumps({"resourceSpans": resource_spans}).encode()
    request = urllib.request.Request(
        f"http://{http}{HTTP_PATH}",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status


def service(name, spans):
    return {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": name}}]},
        "scopeSpans": [{"spans": spans}],
    }


def blocked_stdout(binary):
    read_end, write_end = os.pipe()
    proc, _, http, _ = start(binary, stdout=write_end)
    os.close(write_end)
    for t in range(10):
        trace = f"{t + 1:032x}"
        spans = [span(trace, i, None if i == 0 else i - 1, "link") for i in range(2000)]
        export(http, [service("blocked-svc", spans)])
    deadline = time.time() + 30
    buffered = bytearray(4)
    while time.time() < deadline:
        fcntl.ioctl(read_end, termios.FIONREAD, buffered)
        if int.from_bytes(buffered, sys.byteorder) >= 60 * 1024:
            break
        time.sleep(0.05)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
        took = f"{time.monotonic() - started:.2f} s"
    except subprocess.TimeoutExpired:
        took = "never (>20 s, killed)"
        proc.kill()
        proc.wait()
    os.close(read_end)
    return took


def fd_limit(binary):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    proc, grpc, http, _ = start(binary, prefix=("prlimit", "--nofile=1024:1024"))
    host, port = http.rsplit(":", 1)
    idle = [socket.create_connection((host, int(port))) for _ in range(1100)]
    results = {}

    def http_export():
        started = time.monotonic()
        try:
            status = export(http, [service("fd-svc", [span(f"{99:032x}", 0, None, "main")])], timeout=8)
            results["http"] = f"HTTP {status} in {time.monotonic() - started:.2f} s"
        except Exception as e:  # noqa: BLE001 - the figure is the failure
            results["http"] = f"HTTP no answer ({type(e).__name__}, {time.monotonic() - started:.1f} s)"

    def grpc_export():
        started = time.monotonic()
        curl = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "8",
             "--http2-prior-knowledge", "-H", "content-type: application/grpc",
             "-H", "te: trailers", "--data-binary", "@-", f"http://{grpc}{GRPC_PATH}"],
            input=b"\0\0\0\0\0",
            capture_output=True,
        )
        took = time.monotonic() - started
        code = curl.stdout.decode()
        results["grpc"] = (
            f"gRPC {code} in {took:.2f} s" if code == "200" else f"gRPC no answer ({took:.1f} s)"
        )

    # Both at once: neither frees descriptors for the other.
    threads = [threading.Thread(target=f) for f in (http_export, grpc_export)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in idle:
        s.close()
    proc.kill()
    proc.wait()
    return f"{results['http']}, {results['grpc']}"


def widest_line(binary):
    proc, _, http, _ = start(binary, env={"COLUMNS": "80"}, stdout=subprocess.PIPE)
    trace = f"{77:032x}"
    root = span(trace, 0, None, "GetUserProfile" * 4,
                [("db.query.text", "SELECT * FROM user WHERE id = ? " * 6)])
    kids = [service(f"backend-service-{i:03}", [span(trace, i + 1, 0, "GetInfo")]) for i in range(300)]
    export(http, [service("frontend-service", [root]), *kids])
    time.sleep(2.5)  # the trace settles after 1 s quiet
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    lines = out.splitlines()
    return f"{max((len(l) for l in lines), default=0)} columns ({len(lines)} lines)"


def main():
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    binaries = sys.argv[1:] or [
        b
        for b in (
            f"{target}/release/collector",
            os.environ.get("COLLECTOR_REFERENCE_BIN", ""),
            f"{target}/debug/collector",
            os.environ.get("COLLECTOR_REFERENCE_DEBUG_BIN", ""),
        )
        if b and os.path.exists(b)
    ]
    figures = [
        ("SIGTERM to exit, stdout not read", blocked_stdout),
        ("1,100 idle conns, NOFILE 1024: exports", fd_limit),
        ("widest stdout line at COLUMNS=80", widest_line),
    ]
    for title, figure in figures:
        print(title)
        for binary in binaries:
            print(f"  {binary:40} {figure(binary)}", flush=True)


if __name__ == "__main__":
    main()
