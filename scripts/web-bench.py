#!/usr/bin/env python3
"""How fast the web view opens a big trace, in headless Chromium: this
release build beside a reference build (the page before), in one run.

    cargo build --release -p collector
    python3 scripts/web-bench.py --before PATH        # beside a reference binary
    python3 scripts/web-bench.py --spans 10000        # one size only

For each collector binary and each trace size (10k, 50k and 100k spans: the
per-trace limit): start the collector on free ports, post one trace of that
many spans (`POST /api/traces`, OTLP/JSON: a tree ten wide, five services,
a few attributes each), open `#trace=ID` in a fresh 1400x900 tab of one
headless Chromium (driven over the DevTools protocol on a pipe, with the
standard library only) and print:

- rows: from navigation to the first span row in the page;
- interactive: until the page is drawn and answers a script within 50 ms;
- scroll: from scrolling to the end until the trace's last span is on screen;
- details: from a click on a span until its details show its id;
- DOM: the elements in the page once it is interactive;
- bytes: the size of `GET /api/traces/{id}` as the browser receives it;
- stats API: the time of `GET /api/traces/{id}/stats` (statistics, flame
  graph frames and the sentence), and its size;
- stats: from navigation until the sentence and the statistics table are in
  the page;
- flame: from a click on "Flame graph" until it is drawn and the page
  answers a script within 50 ms.

Targets (issue 21): rows < 1 s, interactive < 2 s, scroll < 1 s, details
< 0.2 s, a few thousand DOM elements at 100k spans. CHROMIUM names the
browser (default: `chromium` on the PATH).
"""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
FREE_PORTS = ["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--ui", "127.0.0.1:0"]
TRACE_ID = "b2" * 16
SERVICES = ["frontend", "checkout", "inventory", "payments", "shipping"]
# Any step may take this long at most (the page before takes ~40 s at 100k).
LIMIT = 300


class Collector:
    """A collector binary on free ports; its web view URL."""

    def __init__(self, binary):
        self.process = subprocess.Popen([binary, *FREE_PORTS], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.ui = None
        lines = []
        while self.ui is None:
            line = self.process.stderr.readline()
            if not line:
                self.stop()
                raise RuntimeError("no banner from " + binary + ": " + "".join(lines))
            lines.append(line)
            if line.startswith("  web view"):
                self.ui = line.split()[2].rstrip("/")
        # Keep reading, so that a full pipe never blocks it.
        threading.Thread(target=lambda: self.process.stderr.read(), daemon=True).start()

    def stop(self):
        self.process.kill()
        self.process.wait()


def trace(spans):
    """One OTLP/JSON export request: span i's parent is (i - 1) // 10."""
    by_service = {name: [] for name in SERVICES}
    for i in range(spans):
        depth = 0
        j = i
        while j > 0:
            j = (j - 1) // 10
            depth += 1
        start = 1_000_000_000 + i * 1000
        span = {"traceId": TRACE_ID, "spanId": "%016x" % (i + 1), "name": "operation-%d" % (i % 97),
                "kind": 2 if i % 3 == 0 else 1,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 1_000_000 // (depth + 1)),
                "attributes": [
                    {"key": "http.route", "value": {"stringValue": "/api/items/{id}"}},
                    {"key": "user.id", "value": {"intValue": str(i % 1000)}},
                    {"key": "item.count", "value": {"intValue": str(i % 7)}},
                ]}
        if i > 0:
            span["parentSpanId"] = "%016x" % ((i - 1) // 10 + 1)
        by_service[SERVICES[i % len(SERVICES)]].append(span)
    resource_spans = []
    for name, service_spans in by_service.items():
        resource_spans.append({
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": name}},
                {"key": "host.name", "value": {"stringValue": "bench-host"}},
                {"key": "telemetry.sdk.language", "value": {"stringValue": "rust"}},
            ]},
            "scopeSpans": [{"scope": {"name": "web-bench"}, "spans": service_spans}]})
    return json.dumps({"resourceSpans": resource_spans}).encode()


def last_in_tree(spans):
    """The span the waterfall draws last: the last child, all the way down."""
    i = 0
    while 10 * i + 1 < spans:
        i = min(10 * i + 10, spans - 1)
    return "%016x" % (i + 1)


class Chromium:
    """Headless Chromium on --remote-debugging-pipe: NUL-ended JSON messages."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="web-bench-")
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        self.process = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null', binary,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--hide-scrollbars", "--mute-audio", "--window-size=1400,900",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "about:blank"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.answers = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buffer = b""
        while True:
            chunk = self.process.stdout.read1(1 << 16)
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                message, buffer = buffer.split(b"\0", 1)
                message = json.loads(message)
                if "id" in message:
                    self.answers.put(message)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        command = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        self.process.stdin.write(json.dumps(command).encode() + b"\0")
        self.process.stdin.flush()
        while True:
            message = self.answers.get(timeout=LIMIT)
            if message["id"] == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def tab(self):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        return target, session

    def evaluate(self, session, expression, wait=False):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": wait}, session)
        return result["result"].get("value")

    def until(self, session, expression, started):
        """Seconds from `started` until `expression` is true in the tab."""
        while not self.evaluate(session, expression):
            if time.time() - started > LIMIT:
                raise RuntimeError("not within %d s: %s" % (LIMIT, expression))
            time.sleep(0.01)
        return time.time() - started

    def stop(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


# In the page: the scrolling boxes (the waterfall's own, or the window), and
# whether a span's row is drawn and on screen.
SCROLL_TO_END = """(() => {
  for (const box of [document.scrollingElement, ...document.querySelectorAll('*')]) {
    if (box.scrollHeight > box.clientHeight + 4) box.scrollTop = box.scrollHeight;
  }
  return true;
})()"""
ON_SCREEN = """(() => {
  const row = document.querySelector('.wf-row[data-span-id="%s"]');
  if (!row) return false;
  const r = row.getBoundingClientRect();
  return r.height > 0 && r.bottom > 0 && r.top < innerHeight;
})()"""
# Interactive: drawn, and a script runs at once (the main thread is free).
READY = "document.body.dataset.ready === 'trace'"


def quick(browser, session):
    started = time.time()
    browser.evaluate(session, "1")
    return time.time() - started < 0.05


def measure(browser, collector, spans):
    row = {}
    body = trace(spans)
    request = urllib.request.Request(collector.ui + "/api/traces", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=LIMIT) as answer:
        assert json.loads(answer.read())["spans"] == spans
    request = urllib.request.Request(f"{collector.ui}/api/traces/{TRACE_ID}",
                                     headers={"Accept-Encoding": "gzip, deflate, br"})
    with urllib.request.urlopen(request, timeout=LIMIT) as answer:
        size = len(answer.read())
        encoding = answer.headers.get("Content-Encoding") or "plain"
    row["bytes"] = f"{size / 1e6:.1f} MB {encoding}"
    request = urllib.request.Request(f"{collector.ui}/api/traces/{TRACE_ID}/stats",
                                     headers={"Accept-Encoding": "gzip, deflate, br"})
    started = time.time()
    # A reference build from before the statistics has no such endpoint:
    # its stats and flame columns are "-".
    has_stats = True
    try:
        with urllib.request.urlopen(request, timeout=LIMIT) as answer:
            size = len(answer.read())
        row["stats API"] = f"{time.time() - started:.2f}s {size / 1e6:.1f} MB"
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        has_stats = False
        row["stats API"] = "none"
        row["stats"] = row["flame"] = None

    target, session = browser.tab()
    try:
        started = time.time()
        browser.call("Page.navigate", {"url": f"{collector.ui}/#trace={TRACE_ID}"}, session)
        row["rows"] = browser.until(session, "document.querySelector('.wf-row[data-span-id]') !== null",
                                    started)
        browser.until(session, READY, started)
        while not quick(browser, session):
            pass
        row["interactive"] = time.time() - started
        row["DOM"] = browser.evaluate(session, "document.getElementsByTagName('*').length")
        if has_stats:
            row["stats"] = browser.until(session, f"document.body.dataset.stats === '{TRACE_ID}'",
                                         started)

        last = last_in_tree(spans)
        started = time.time()
        browser.evaluate(session, SCROLL_TO_END)
        row["scroll"] = browser.until(session, ON_SCREEN % last, started)

        # A click on a span drawn near the end (the scroll left it there).
        started = time.time()
        browser.evaluate(session, f"document.querySelector('.wf-row[data-span-id=\"{last}\"]').click(); true")
        row["details"] = browser.until(
            session, f"(document.getElementById('details') || document.body).textContent.includes('{last}')",
            started)
        while not quick(browser, session):
            pass
        row["details"] = max(row["details"], time.time() - started - 0.05)

        if has_stats:
            started = time.time()
            browser.evaluate(session,
                             "document.querySelector('#trace-tabs [data-tab=flame]').click(); true")
            browser.until(session, "Number(document.body.dataset.flame) > 0", started)
            while not quick(browser, session):
                pass
            row["flame"] = time.time() - started
    finally:
        browser.call("Target.closeTarget", {"targetId": target})
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=os.environ.get("COLLECTOR_REFERENCE_BIN"),
                        help="a reference collector binary (the page before)")
    parser.add_argument("--after", default=os.path.join(TARGET, "release", "collector"),
                        help="this build (default: the release build in the target dir)")
    parser.add_argument("--spans", default="10000,50000,100000",
                        help="trace sizes, comma-separated")
    args = parser.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("web-bench: no chromium on the PATH (apt-get install chromium) and no CHROMIUM=")
    builds = [("before", args.before)] if args.before else []
    builds.append(("after", args.after))
    for _, binary in builds:
        if not os.path.isfile(binary):
            sys.exit(f"web-bench: no collector binary at {binary} (cargo build --release -p collector)")

    print(f"{'build':7} {'spans':>7} {'rows':>8} {'interactive':>12} {'scroll':>8} {'details':>8} "
          f"{'DOM':>9} {'stats':>7} {'flame':>7}  API answer; stats API")
    browser = Chromium(chromium)
    try:
        for spans in [int(n) for n in args.spans.split(",")]:
            for name, binary in builds:
                collector = Collector(binary)
                try:
                    row = measure(browser, collector, spans)
                except (RuntimeError, queue.Empty) as error:
                    print(f"{name:7} {spans:>7} failed: {error}")
                    continue
                finally:
                    collector.stop()
                seconds = lambda v: "-" if v is None else f"{v:.2f}s"
                print(f"{name:7} {spans:>7} {row['rows']:>7.2f}s {row['interactive']:>11.2f}s "
                      f"{row['scroll']:>7.2f}s {row['details']:>7.2f}s {row['DOM']:>9,} "
                      f"{seconds(row['stats']):>7} {seconds(row['flame']):>7}  {row['bytes']}; "
                      f"{row['stats API']}",
                      flush=True)
    finally:
        browser.stop()


if __name__ == "__main__":
    main()
