//! The collector's web view, rendered in headless Chromium after real
//! examples sent their traces (`examples-inprocess-http` twice, and
//! `examples-http`'s client and server: one trace across two services):
//! the list, a search kept in the URL, the live list (events, not polling),
//! the waterfall with its critical path, key attributes and event marks, a
//! trace downloaded and loaded back through the page, two traces compared,
//! the service map; the healthy bar is not red and markup from span data
//! never runs. It lives here, not in the collector's tests, because it runs
//! example binaries (build them first: `cargo build -p
//! examples-inprocess-http -p examples-http`); the collector's own tests need
//! none. One Chromium runs for the whole test, driven over the DevTools
//! protocol; each page is loaded in a tab of its own. Screenshots and DOM
//! dumps go to `target/ui-artifacts`; the time from an export to the list
//! showing it, by event stream and by polling, is printed. Without Chromium
//! the test is skipped, unless `REQUIRE_BROWSER_TEST=1`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::trace::v1::span::Event;
use serde_json::{Value, json};
use testkit::expect;
use testkit::otlp::{int_attr, send, string_attr, timed};
use testkit::process;

const WAIT: Duration = Duration::from_secs(10);
/// How long Chromium may take to start, to answer a command, or to render a
/// page.
const BROWSER_LIMIT: Duration = Duration::from_secs(60);

/// A span name that runs script if anything puts it into the page as markup.
const EVIL_NAME: &str =
    r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"#;
const EVIL_SERVICE: &str = r#"evil"><svg onload="window.__pwned=3">"#;
const EVIL_VALUE: &str = r#"<img src=x onerror="window.__pwned=4">"#;
const EVIL_TRACE: [u8; 16] = [0xe1; 16];
const HEALTHY_TRACE: [u8; 16] = [0xe3; 16];

/// Page states to wait for: the list has rendered its rows, a trace its
/// waterfall (or that it is missing).
const LIST_READY: &str = "document.body.dataset.traces !== undefined";
const TRACE_READY: &str = "document.body.dataset.ready !== undefined";

/// `chromium` on the `PATH` (Debian's package puts it in /usr/bin);
/// `CHROMIUM` names another binary.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file())
}

/// Chromium, or `None` after saying the test is skipped; with
/// `REQUIRE_BROWSER_TEST=1` a missing Chromium fails the test instead.
fn chromium_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        let message = "headless Chromium is needed for this test and `chromium` is not on the PATH: \
             run `.ci/run` (it installs it), or `apt-get install chromium`";
        if std::env::var_os("REQUIRE_BROWSER_TEST").is_some_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// `target/ui-artifacts`, next to `target/<profile>/deps/<this test>`.
fn artifact_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test runs from target/<profile>/deps");
    let dir = target.join("ui-artifacts");
    std::fs::create_dir_all(&dir).expect("creating target/ui-artifacts");
    dir
}

/// One headless Chromium for the whole test, driven over the DevTools
/// protocol on a pipe (`--remote-debugging-pipe`: JSON messages, each ended
/// by a NUL byte). Killed, and its profile removed, when dropped.
struct Browser {
    child: Child,
    commands: ChildStdin,
    messages: Receiver<Value>,
    stderr: Receiver<String>,
    next_id: u64,
    profile: PathBuf,
}

/// A tab of the [`Browser`], attached in flat mode: commands for it carry
/// its session id.
struct Tab {
    target_id: String,
    session_id: String,
}

impl Browser {
    fn launch(binary: &Path) -> Browser {
        // One profile per browser: the tests of this file run at once, and
        // Chromium refuses a profile another instance holds.
        static LAUNCHED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = LAUNCHED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile =
            std::env::temp_dir().join(format!("collector-ui-test-{}-{n}", std::process::id()));
        // Chromium reads commands on fd 3 and writes answers on fd 4; std
        // cannot hand a child extra descriptors without unsafe code, so sh
        // moves our stdin and stdout pipes there.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-breakpad",
                "--no-pings",
                "--hide-scrollbars",
                "--mute-audio",
                "--window-size=1400,900",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let commands = child.stdin.take().expect("piped stdin");
        let answers = BufReader::new(child.stdout.take().expect("piped stdout"));
        let stderr = process::lines(child.stderr.take().expect("piped stderr"));
        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for message in answers.split(0).map_while(Result::ok) {
                let Ok(message) = serde_json::from_slice(&message) else {
                    continue;
                };
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Browser {
            child,
            commands,
            messages,
            stderr,
            next_id: 0,
            profile,
        }
    }

    /// Sends `method` (to `tab`, or to the browser itself) and returns its
    /// result; events that come meanwhile are passed over.
    fn call(&mut self, tab: Option<&Tab>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(tab) = tab {
            command["sessionId"] = json!(tab.session_id);
        }
        let mut bytes = serde_json::to_vec(&command).expect("a JSON command");
        bytes.push(0);
        if let Err(e) = self.commands.write_all(&bytes) {
            panic!("chromium took no `{method}` ({e}):\n{}", self.stderr());
        }
        let deadline = Instant::now() + BROWSER_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no answer to `{method}` within {BROWSER_LIMIT:?}:\n{}",
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "chromium closed its pipe (exited?) before answering `{method}`:\n{}",
                    self.stderr()
                ),
            };
            if message["id"] != id {
                continue;
            }
            if let Some(error) = message.get("error") {
                panic!("`{method}` failed: {error}");
            }
            return message["result"].clone();
        }
    }

    /// What Chromium printed on stderr (for a failure: waits until it has
    /// been quiet for a moment, or has exited).
    fn stderr(&self) -> String {
        let mut lines = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        lines.join("\n")
    }

    /// Opens `url` in a new tab and waits until the JavaScript `ready` is
    /// true there, then a little longer so that the page's 100 ms canary
    /// has run a few times.
    fn open(&mut self, url: &str, ready: &str) -> Tab {
        self.open_on(url, ready, (1400, 900, 1.0))
    }

    /// [`Browser::open`] on a screen of `width` x `height` CSS pixels at
    /// `scale` device pixels each (a zoom of 150% is 1.5).
    fn open_on(&mut self, url: &str, ready: &str, (width, height, scale): (u32, u32, f64)) -> Tab {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        let tab = Tab {
            target_id,
            session_id: attached["sessionId"]
                .as_str()
                .expect("a session id")
                .to_owned(),
        };
        self.call(
            Some(&tab),
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": false}),
        );
        self.call(Some(&tab), "Page.navigate", json!({"url": url}));
        let started = Instant::now();
        while self.evaluate(&tab, &format!("location.href === {url:?} && ({ready})")) != true {
            assert!(
                started.elapsed() < BROWSER_LIMIT,
                "{url} was not ready ({ready}) within {BROWSER_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        tab
    }

    /// The value of the JavaScript `expression` in `tab`.
    fn evaluate(&mut self, tab: &Tab, expression: &str) -> Value {
        let result = self.call(
            Some(tab),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        result["result"]["value"].clone()
    }

    /// Waits until the JavaScript `condition` is true in `tab`; how long
    /// that took.
    fn wait_until(&mut self, tab: &Tab, condition: &str) -> Duration {
        let started = Instant::now();
        while self.evaluate(tab, condition) != true {
            assert!(
                started.elapsed() < BROWSER_LIMIT,
                "not within {BROWSER_LIMIT:?}: {condition}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        started.elapsed()
    }

    /// Puts the file at `path` into the `<input type=file>` that `selector`
    /// finds (as a user choosing it would: a change event follows).
    fn choose_file(&mut self, tab: &Tab, selector: &str, path: &Path) {
        let document = self.call(Some(tab), "DOM.getDocument", json!({}));
        let found = self.call(
            Some(tab),
            "DOM.querySelector",
            json!({"nodeId": document["root"]["nodeId"], "selector": selector}),
        );
        self.call(
            Some(tab),
            "DOM.setFileInputFiles",
            json!({"files": [path], "nodeId": found["nodeId"]}),
        );
    }

    /// The page of `url` as Chromium serializes it (what `--dump-dom`
    /// prints), saved as `save_as` in `target/ui-artifacts`. Fails if
    /// script from span data ran there.
    fn dom(&mut self, url: &str, ready: &str, save_as: &str) -> String {
        let tab = self.open(url, ready);
        let dom = self.evaluate(&tab, "document.documentElement.outerHTML");
        let pwned = self.evaluate(&tab, "String(window.__pwned)");
        self.close(tab);
        let dom = dom.as_str().expect("the DOM as a string").to_owned();
        std::fs::write(artifact_dir().join(save_as), &dom).expect("saving the DOM");
        assert!(dom.contains("</body>"), "no DOM from {url}:\n{dom}");
        assert_eq!(pwned, "undefined", "injected script ran on {url}");
        dom
    }

    /// Saves a 1400x900 screenshot of `url` in `target/ui-artifacts`.
    fn screenshot(&mut self, url: &str, ready: &str, name: &str) -> PathBuf {
        let tab = self.open(url, ready);
        let path = self.screenshot_tab(&tab, name);
        self.close(tab);
        path
    }

    /// Saves a 1400x900 screenshot of `tab` as it is now.
    fn screenshot_tab(&mut self, tab: &Tab, name: &str) -> PathBuf {
        let shot = self.call(
            Some(tab),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("a base64 screenshot");
        assert!(png.len() > 10_000, "no screenshot for {name}");
        let path = artifact_dir().join(name);
        std::fs::write(&path, png).expect("saving the screenshot");
        path
    }

    fn close(&mut self, tab: Tab) {
        self.call(
            None,
            "Target.closeTarget",
            json!({"targetId": tab.target_id}),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The text of every element whose class attribute is exactly `class`, in
/// document order, with the serializer's escapes undone.
fn texts_of(dom: &str, class: &str) -> Vec<String> {
    let marker = format!("class=\"{class}\"");
    dom.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &dom[at..];
            let start = rest.find('>')? + 1;
            let end = rest[start..].find('<')?;
            Some(unescape(&rest[start..start + end]))
        })
        .collect()
}

/// The values of one attribute on every element that has it, in order.
fn attribute_values(dom: &str, attribute: &str) -> Vec<String> {
    let marker = format!(" {attribute}=\"");
    dom.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = &dom[at + marker.len()..];
            Some(unescape(&rest[..rest.find('"')?]))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// What injected markup would leave behind if it had become markup: its
/// elements, or the canary the page sets when `window.__pwned` exists.
fn assert_nothing_injected(dom: &str) {
    assert!(!dom.contains("data-pwned"), "injected script ran:\n{dom}");
    assert!(!dom.contains("<img"), "an <img> from span data:\n{dom}");
    // The service map is the page's own <svg>; no other may appear.
    assert_eq!(
        dom.matches("<svg").count(),
        dom.matches("<svg id=\"map\"").count(),
        "an <svg> from span data:\n{dom}"
    );
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script:\n{dom}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_shows_real_traces_and_never_runs_span_markup() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let example = process::workspace_binary("examples-inprocess-http", "examples-inprocess-http")
        .unwrap_or_else(|e| panic!("the example binary: {e:#}"));

    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let base = collector.ui_url().expect("the web view is on");

    // A real trace: the in-process example over OTLP/HTTP.
    let mut command = process::example_command(&example.to_string_lossy());
    command.args(["--endpoint", &collector.http_endpoint()]);
    let out = process::run(&mut command, Duration::from_secs(60))
        .await
        .expect("running the example");
    assert!(out.status.success(), "{}", out.stderr);
    let real = collector
        .wait_for_trace(|t| t.spans.len() == 9, WAIT)
        .await
        .expect("the example's 9 spans");
    if let Err(problems) = expect::inprocess(&real, "inprocess") {
        panic!("the example's trace differs from the documented one: {problems:#?}");
    }

    // A hostile one: markup in the span name, service, attributes and event.
    let mut evil = timed(&EVIL_TRACE, 0xe2, None, EVIL_NAME, 0, 5);
    evil.attributes.push(string_attr("note", EVIL_VALUE));
    evil.attributes.push(string_attr("<b>key</b>", "plain"));
    evil.events.push(Event {
        time_unix_nano: evil.start_time_unix_nano + 1_000_000,
        name: EVIL_VALUE.into(),
        ..Default::default()
    });
    send(collector.http_addr(), EVIL_SERVICE, vec![evil]).await;
    // A healthy server span of the service whose colour used to be red.
    let healthy = timed(&HEALTHY_TRACE, 0xe4, None, "GET /hello", 0, 5);
    send(collector.http_addr(), "otlp-http-server", vec![healthy]).await;
    collector.wait_for_spans(11, WAIT).await.expect("11 spans");
    let evil_id = hex(&EVIL_TRACE);

    // A second run of the example, to compare with the first.
    let out = process::run(&mut command, Duration::from_secs(60))
        .await
        .expect("running the example again");
    assert!(out.status.success(), "{}", out.stderr);
    let rerun = collector
        .wait_for_trace(|t| t.spans.len() == 9 && t.trace_id != real.trace_id, WAIT)
        .await
        .expect("the second run's 9 spans");
    // One trace across two processes: examples-http's client and server.
    let (http, failed) = http_traces(&collector).await;
    // A hand-made variant of the example's trace: one GetUser, and a span
    // the real one does not have, to compare with.
    let variant_id = [0xc0; 16];
    let mut get_user = timed(&variant_id, 2, Some(1), "GetUser", 1, 9);
    get_user.attributes.push(int_attr("user.id", 1));
    send(
        collector.http_addr(),
        "inprocess",
        vec![
            get_user,
            timed(&variant_id, 3, Some(2), "GetInfo", 2, 4),
            timed(&variant_id, 4, Some(1), "Cache", 9, 10),
            timed(&variant_id, 1, None, "main", 0, 10),
        ],
    )
    .await;
    let variant = hex(&variant_id);
    collector
        .wait_for_spans(11 + 9 + 4 + 4, WAIT)
        .await
        .expect("every span");

    let mut browser = Browser::launch(&chromium);

    // The list: every trace, the example's with its 9 spans; the service
    // map of the stored traces, with the evil service name as text.
    let dom = browser.dom(&base, LIST_READY, "list.html");
    assert_nothing_injected(&dom);
    let roots = texts_of(&dom, "root-name");
    assert!(
        roots.contains(&"main".to_owned())
            && roots.contains(&EVIL_NAME.to_owned())
            && roots.contains(&"StartRequests".to_owned()),
        "{roots:?}"
    );
    let row = dom
        .split("<tr class=\"trace-row\"")
        .find(|row| row.contains(&real.trace_id))
        .expect("a row for the example's trace");
    assert_eq!(texts_of(row, "num span-count"), ["9"], "{row}");
    assert!(row.contains(">inprocess<"), "{row}");
    assert!(
        row.contains(&format!("href=\"/api/traces/{}/otlp\"", real.trace_id)),
        "a download link on the row: {row}"
    );

    // 6. The service map: the real call from client to server, drawn.
    let tab = browser.open(&base, "document.body.dataset.mapEdges !== undefined");
    let edges = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#map .edge')).map(e => \
         [e.dataset.parent, e.dataset.child, e.querySelector('text').textContent]))",
    );
    let edges: Vec<Vec<String>> =
        serde_json::from_str(edges.as_str().expect("a JSON string")).expect("the edges");
    let api: Value = collector_json(&collector, "/api/dependencies").await;
    assert_eq!(
        api["dependencies"],
        json!([{"parent": "otlp-http-client", "child": "otlp-http-server", "calls": 2}]),
        "the example's client calls its server twice (/hello and /error)"
    );
    assert_eq!(
        edges,
        [["otlp-http-client", "otlp-http-server", "2 calls"]],
        "one edge, as the API says"
    );
    let nodes = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#map .node title')).map(t => t.textContent).join('|')",
    );
    assert_eq!(nodes, "otlp-http-client|otlp-http-server");
    let shot = browser.screenshot_tab(&tab, "service-map.png");
    eprintln!("screenshot of the service map: {}", shot.display());
    browser.close(tab);

    // 1. A search, from a shared link: the form shows it, the list holds
    // the two runs of the example and not the hand-made variant (user 1
    // only) nor the HTTP trace.
    let search = format!("{base}#span=GetUser&attr=user.id%3D100");
    let tab = browser.open(&search, LIST_READY);
    let listed = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('.trace-row')).map(r => r.dataset.traceId).sort().join(',')",
    );
    let mut both = [real.trace_id.clone(), rerun.trace_id.clone()];
    both.sort();
    assert_eq!(listed, both.join(","), "the search's traces");
    let form = browser.evaluate(
        &tab,
        "[document.forms.search.elements.span.value, document.forms.search.elements.attr.value].join('|')",
    );
    assert_eq!(
        form, "GetUser|user.id=100",
        "the form shows the URL's search"
    );
    let shot = browser.screenshot_tab(&tab, "list-search.png");
    eprintln!("screenshot of a search: {}", shot.display());
    // 4. Two picked in the list make a comparison.
    browser.evaluate(
        &tab,
        "document.querySelectorAll('.pick-box').forEach(b => b.click());          document.getElementById('compare').click(); true",
    );
    let listed: Vec<&str> = listed.as_str().unwrap_or_default().split(',').collect();
    browser.wait_until(
        &tab,
        &format!(
            "document.body.dataset.ready === 'compare' &&              ['#compare={a},{b}', '#compare={b},{a}'].includes(location.hash)",
            a = listed[0],
            b = listed[1]
        ),
    );
    history_back(&mut browser, &tab);
    // The form writes the URL: a search for errors-free traces over 0 ms
    // of the server's service finds the HTTP trace.
    browser.evaluate(
        &tab,
        "const f = document.forms.search.elements; f.span.value = 'HelloHandler'; \
         f.attr.value = ''; f.min_duration_ms.value = '0'; \
         document.forms.search.requestSubmit(); true",
    );
    browser.wait_until(
        &tab,
        &format!(
            "location.hash === '#span=HelloHandler&min_duration_ms=0' && \
             Array.from(document.querySelectorAll('.trace-row')).map(r => r.dataset.traceId).join() === '{}'",
            http.trace_id
        ),
    );
    // A bad value is the API's message, not an empty list.
    browser.evaluate(&tab, "location.hash = 'min_duration_ms=abc'; true");
    browser.wait_until(
        &tab,
        "document.getElementById('search-error').textContent.includes('min_duration_ms must be a number')",
    );
    browser.close(tab);

    // 2. Live: with the event stream open, a new trace shows up without
    // the list being fetched again; then the same by polling, for the
    // figures.
    let tab = browser.open(&base, LIST_READY);
    browser.wait_until(&tab, "document.body.dataset.live === 'stream'");
    // The list is fetched once when the stream opens, and then no more.
    std::thread::sleep(Duration::from_millis(500));
    let fetches = browser.evaluate(&tab, "document.body.dataset.listFetches");
    let mut by_stream = Vec::new();
    for n in 0..samples() {
        by_stream.push(export_to_list(&mut browser, &tab, &collector, 0xa0 + n).await);
    }
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        browser.evaluate(&tab, "document.body.dataset.listFetches"),
        fetches,
        "the list was fetched again (polled) while the stream was open"
    );
    // The new traces' service joined the search form's drop-down from the
    // events alone.
    assert_eq!(
        browser.evaluate(
            &tab,
            "Array.from(document.getElementById('service').options).some(o => o.value === 'live')"
        ),
        true,
        "the service of a streamed trace is in the drop-down"
    );
    browser.close(tab);
    let poll_url = format!("{base}?live=poll");
    let tab = browser.open(&poll_url, LIST_READY);
    assert_eq!(browser.evaluate(&tab, "document.body.dataset.live"), "poll");
    let mut by_polling = Vec::new();
    for n in 0..samples() {
        by_polling.push(export_to_list(&mut browser, &tab, &collector, 0xb0 + n).await);
    }
    browser.close(tab);
    eprintln!(
        "export answered -> row in the list: event stream {}, polling every 2 s {} \
         (median of {} each, sent at spread-out moments of the poll cycle)",
        millis(median(by_stream)),
        millis(median(by_polling)),
        samples()
    );

    // 5 and 7. The waterfall of the example's trace, with a span's details
    // open: the critical path, the user ids beside the two GetUser rows.
    let get_user_100 = real
        .spans_named("GetUser")
        .into_iter()
        .find(|s| s.attr_i64("user.id") == Some(100))
        .expect("GetUser(100)")
        .span_id
        .clone();
    let waterfall = format!("{base}#trace={}&span={get_user_100}", real.trace_id);
    let dom = browser.dom(&waterfall, TRACE_READY, "waterfall.html");
    assert_nothing_injected(&dom);
    assert!(dom.contains("data-ready=\"trace\""), "not rendered:\n{dom}");
    let names = texts_of(&dom, "span-name");
    let get_user = ["GetUser", "GetInfo", "GetDetail", "GetScores"];
    let expected: Vec<&str> = std::iter::once("main")
        .chain(get_user)
        .chain(get_user)
        .collect();
    assert_eq!(names, expected, "waterfall rows");
    let depths = attribute_values(&dom, "data-depth");
    assert_eq!(depths, ["0", "1", "2", "2", "2", "1", "2", "2", "2"]);
    assert_eq!(texts_of(&dom, "span-title"), ["GetUser"], "details open");
    assert!(dom.contains(">user.id<") && dom.contains(">100<"), "{dom}");
    // Beside each name under main, its user: the two GetUser rows (and
    // their children) tell themselves apart without a click.
    let users: Vec<String> = ["user.id=1", "user.id=100"]
        .iter()
        .flat_map(|user| std::iter::repeat_n(user.to_string(), 4))
        .collect();
    assert_eq!(texts_of(&dom, "key-attr"), users);
    // The rows marked critical are the spans the API flags, and the
    // trace's own critical path: main, and the last GetUser's last child.
    let detail: Value = collector_json(&collector, &format!("/api/traces/{}", real.trace_id)).await;
    let flagged: Vec<String> = detail["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .filter(|s| s["critical_path"] == true)
        .map(|s| s["span_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut on_path: Vec<String> = collector::critical_path(&real)
        .into_iter()
        .map(|s| s.span_id)
        .collect();
    on_path.sort();
    on_path.dedup();
    let mut sorted = flagged.clone();
    sorted.sort();
    assert_eq!(sorted, on_path);
    let root_id = real.root().expect("a root").span_id.clone();
    assert!(flagged.contains(&root_id), "main is on the critical path");
    assert!(flagged.len() >= 3, "{flagged:?}");
    let marked: Vec<String> = dom
        .split("<div class=\"wf-row critical")
        .skip(1)
        .filter_map(|row| attribute_values(row, "data-span-id").into_iter().next())
        .collect();
    assert_eq!(marked, flagged, "the waterfall marks the critical spans");
    assert!(
        dom.matches("class=\"crit\"").count() >= flagged.len(),
        "a stretch over each critical bar"
    );
    // The example's log records are marks on their span's bar.
    let log_marks = dom.matches("class=\"log-mark").count();
    assert_eq!(log_marks, real.logs.len(), "a mark per log record");
    assert!(log_marks > 0, "the example logs over OTLP");
    // ...and, with `main` open, its records are listed in its details:
    // severity and body, as text.
    let main_id = real.root().expect("a root").span_id.clone();
    let main_open = format!("{base}#trace={}&span={main_id}", real.trace_id);
    let dom = browser.dom(&main_open, TRACE_READY, "waterfall-main.html");
    assert_eq!(texts_of(&dom, "span-title"), ["main"], "details open");
    assert_eq!(
        texts_of(&dom, "log-body"),
        ["GetUser(1): not found", "GetUser(100): found"],
        "main's log records in its details"
    );
    assert_eq!(texts_of(&dom, "log-severity"), ["INFO", "INFO"]);
    // On every screen, every name whole: the in-process trace, the HTTP
    // one and the failing call, each with a span's details open.
    let span_of = |trace: &collector::Trace, name: &str| trace.spans_named(name)[0].span_id.clone();
    check_waterfall_layout(
        &mut browser,
        &base,
        &[
            ("inprocess", &real, &get_user_100),
            ("http", &http, &span_of(&http, "HelloHandler")),
            ("error", &failed, &span_of(&failed, "GET /error")),
        ],
    );
    let tab = browser.open(&waterfall, TRACE_READY);
    let shot = browser.screenshot_tab(&tab, "critical-path.png");
    eprintln!("screenshot of the critical path: {}", shot.display());
    // 3. The trace's download button names its OTLP/JSON...
    let href = browser.evaluate(
        &tab,
        "document.getElementById('download').getAttribute('href')",
    );
    assert_eq!(href, format!("/api/traces/{}/otlp", real.trace_id));
    browser.close(tab);

    // ...which another collector's page takes back: the file chosen in
    // its page is loaded and opened.
    let other = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting another collector");
    let file = artifact_dir().join(format!("trace-{}.json", http.trace_id));
    let ui = collector.ui_addr().expect("the web view");
    let saved = testkit::http::get(ui, &format!("/api/traces/{}/otlp", http.trace_id), &[]).await;
    assert_eq!(saved.status, 200);
    std::fs::write(&file, &saved.body).expect("saving the download");
    let other_base = other.ui_url().expect("its web view");
    let tab = browser.open(&other_base, LIST_READY);
    browser.choose_file(&tab, "#file", &file);
    browser.wait_until(
        &tab,
        &format!(
            "document.body.dataset.traceId === '{}' && document.body.dataset.ready === 'trace' \
             && document.querySelectorAll('.wf-row[data-span-id]').length === 4",
            http.trace_id
        ),
    );
    assert_eq!(
        other.export_otlp(&http.trace_id),
        collector.export_otlp(&http.trace_id),
        "loaded unchanged"
    );
    browser.close(tab);
    other.shutdown().await;

    // 4. Compare: the two runs (every span on both sides)...
    let compare = format!("{base}#compare={},{}", real.trace_id, rerun.trace_id);
    let tab = browser.open(&compare, "document.body.dataset.ready === 'compare'");
    let classes = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#compare-rows tr')).map(r => r.className).join(',')",
    );
    assert_eq!(classes, ["both"; 9].join(","), "every span matched");
    browser.close(tab);
    // ...and the first run against the variant: one GetUser and its
    // GetInfo matched, the rest on one side only.
    let compare = format!("{base}#compare={},{variant}", real.trace_id);
    let tab = browser.open(&compare, "document.body.dataset.ready === 'compare'");
    let rows = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#compare-rows tr')).map(r => \
         [r.dataset.path, r.className, r.cells[3].textContent]))",
    );
    let rows: Vec<(String, String, String)> =
        serde_json::from_str(rows.as_str().expect("a JSON string")).expect("the rows");
    let shape: Vec<(&str, &str)> = rows
        .iter()
        .map(|(path, class, _)| (path.as_str(), class.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("/main", "both"),
            ("/main/GetUser", "both"),
            ("/main/GetUser/GetInfo", "both"),
            ("/main/GetUser/GetDetail", "only-a"),
            ("/main/GetUser/GetScores", "only-a"),
            ("/main/GetUser#2", "only-a"),
            ("/main/GetUser#2/GetInfo", "only-a"),
            ("/main/GetUser#2/GetDetail", "only-a"),
            ("/main/GetUser#2/GetScores", "only-a"),
            ("/main/Cache", "only-b"),
        ]
    );
    // The variant's main took 10 ms; the difference is B - A.
    let main_a = real.root().expect("a root").duration();
    let diff = &rows[0].2;
    let sign = if main_a > Duration::from_millis(10) {
        '\u{2212}'
    } else {
        '+'
    };
    assert!(diff.starts_with(sign), "{diff} for {main_a:?} -> 10 ms");
    let shot = browser.screenshot_tab(&tab, "compare.png");
    eprintln!("screenshot of a comparison: {}", shot.display());
    browser.close(tab);

    // 7. Event marks: the hostile trace's event is a mark whose tooltip
    // is its time and name, as text. All of it shown as text.
    let url = format!("{base}#trace={evil_id}&span={}", hex(&[0xe2; 8]));
    let dom = browser.dom(&url, TRACE_READY, "escaped.html");
    assert_nothing_injected(&dom);
    assert_eq!(texts_of(&dom, "span-name"), [EVIL_NAME]);
    assert_eq!(texts_of(&dom, "span-title"), [EVIL_NAME]);
    assert!(
        texts_of(&dom, "event-name").contains(&EVIL_VALUE.to_owned()),
        "{dom}"
    );
    assert!(dom.contains("&lt;b&gt;key&lt;/b&gt;"), "{dom}");
    assert!(dom.contains("window.__pwned=4"), "the attribute as text");
    let marks: Vec<String> = dom
        .split("class=\"event-mark\"")
        .skip(1)
        .filter_map(|mark| attribute_values(mark, "title").into_iter().next())
        .collect();
    assert_eq!(marks, [format!("+1.00 ms event: {EVIL_VALUE}")]);

    // Red means error and nothing else: a healthy bar is never red.
    let url = format!("{base}#trace={}", hex(&HEALTHY_TRACE));
    let dom = browser.dom(&url, TRACE_READY, "healthy.html");
    let bar = dom.split("class=\"bar\"").nth(1).expect("a healthy bar");
    let colour = bar
        .split("background-color: rgb(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the bar's colour");
    let rgb: Vec<f64> = colour
        .split(',')
        .map(|c| c.trim().parse().expect("a colour component"))
        .collect();
    let reddish = rgb[0] > 1.3 * rgb[1] && rgb[0] > 1.3 * rgb[2];
    assert!(
        !reddish,
        "a healthy otlp-http-server bar is red: rgb({colour})"
    );

    where_the_time_goes(&mut browser, &collector, &base, [&real, &http, &failed]).await;

    // Pictures for people: the waterfall with GetUser(100) open, the list.
    let shot = browser.screenshot(&waterfall, TRACE_READY, "waterfall.png");
    eprintln!("screenshot of the waterfall: {}", shot.display());
    let shot = browser.screenshot(&base, LIST_READY, "list.png");
    eprintln!("screenshot of the trace list: {}", shot.display());
    drop(browser);
    collector.shutdown().await;
}

/// The Logs view: records of no trace sent over OTLP are listed with their
/// time, service, severity and body, newest first, and the filters narrow
/// the list. Needs no example binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_view_lists_trace_less_records_and_filters_narrow_them() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let base = collector.ui_url().expect("the web view is on");
    // OTLP/JSON logs, as a log exporter posts them: no trace id.
    let record = |ms: u64, severity: i32, body: &str| {
        json!({
            "timeUnixNano": (1_700_000_000_000u64 + ms) * 1_000_000,
            "severityNumber": severity,
            "body": {"stringValue": body},
            "attributes": [{"key": "disk", "value": {"stringValue": "sda"}}],
        })
    };
    let logs = |service: &str, records: Vec<Value>| {
        json!({"resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeLogs": [{"scope": {"name": "app"}, "logRecords": records}],
        }]})
    };
    for request in [
        logs(
            "billing",
            vec![
                record(1, 9, "invoice sent"),
                record(2, 13, "disk almost full"),
            ],
        ),
        logs("storage", vec![record(3, 17, EVIL_VALUE)]),
    ] {
        let body = serde_json::to_vec(&request).expect("JSON");
        let response = testkit::http::post(
            collector.http_addr(),
            "/v1/logs",
            &[("Content-Type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    assert_eq!(collector.logs().len(), 3);
    // A trace whose spans never came (sampled out) but whose records did.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut sampled_out = record(4, 9, "sampled out, logged all the same");
    sampled_out["traceId"] = json!(trace_id);
    sampled_out["spanId"] = json!("00f067aa0ba902b7");
    let body = serde_json::to_vec(&logs("checkout", vec![sampled_out])).expect("JSON");
    let response = testkit::http::post(
        collector.http_addr(),
        "/v1/logs",
        &[("Content-Type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());

    let mut browser = Browser::launch(&chromium);
    // Listed as a trace of log records only, and opened as its records.
    let list = browser.dom(
        &base,
        "document.body.dataset.traces === '1'",
        "logs-only-list.html",
    );
    assert_eq!(texts_of(&list, "badge logs logs-only"), ["logs only"]);
    let opened = browser.dom(
        &format!("{base}#trace={trace_id}"),
        &format!("document.body.dataset.traceId === '{trace_id}'"),
        "logs-only-trace.html",
    );
    assert!(
        opened.contains("class=\"trace-logs\""),
        "no record table: {opened}"
    );
    assert_eq!(
        texts_of(&opened, "log-body"),
        ["sampled out, logged all the same"]
    );
    let logs_ready = "document.body.dataset.logs === '3'";
    let dom = browser.dom(&format!("{base}#logs"), logs_ready, "logs.html");
    assert_nothing_injected(&dom);
    // Newest first, every column as text.
    assert_eq!(
        texts_of(&dom, "log-body"),
        [EVIL_VALUE, "disk almost full", "invoice sent"]
    );
    assert_eq!(
        texts_of(&dom, "log-service"),
        ["storage", "billing", "billing"]
    );
    assert_eq!(texts_of(&dom, "log-severity error"), ["ERROR"]);
    assert_eq!(texts_of(&dom, "log-severity warn"), ["WARN"]);
    assert_eq!(texts_of(&dom, "log-severity"), ["INFO"]);

    // The filters narrow the list: through the form, as a user would.
    let tab = browser.open(&format!("{base}#logs"), logs_ready);
    browser.evaluate(
        &tab,
        "document.getElementById('log-q').value = 'DISK'; \
         document.getElementById('log-search').requestSubmit(); true",
    );
    browser.wait_until(&tab, "document.body.dataset.logs === '1'");
    let bodies = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#log-rows td.log-body')).map(td => td.textContent)",
    );
    assert_eq!(bodies, json!(["disk almost full"]));
    browser.evaluate(
        &tab,
        "document.getElementById('log-q').value = ''; \
         document.getElementById('log-severity').value = 'ERROR'; \
         document.getElementById('log-severity').dispatchEvent(new Event('change')); true",
    );
    // The list is fetched again with the new filter: wait for its rows.
    browser.wait_until(
        &tab,
        "location.hash.includes('severity=ERROR') && Array.from(document.querySelectorAll('#log-rows td.log-body')).every(td => !td.textContent.includes('disk'))",
    );
    let services = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#log-rows td.log-service')).map(td => td.textContent)",
    );
    assert_eq!(services, json!(["storage"]));
    // A click shows the record's attributes.
    browser.evaluate(
        &tab,
        "document.querySelector('#log-rows .log-row').click(); true",
    );
    browser.wait_until(
        &tab,
        "!document.querySelector('#log-rows .log-detail').hidden \
         && document.querySelector('#log-rows .log-detail').textContent.includes('sda')",
    );
    let shot = browser.screenshot_tab(&tab, "logs.png");
    eprintln!("screenshot of the Logs view: {}", shot.display());
    browser.close(tab);
    drop(browser);
    collector.shutdown().await;
}

/// The page for a presenter: dark mode from the system and a switch that
/// is remembered, large text that keeps every name whole, the keys (j/k,
/// left/right, Enter, Esc, `/`, `?`), a favicon, a 24-hour clock, one
/// spelling of transports, names as written and one sign style in the
/// compare view, and eight service colours that differ and are never red.
/// Hand-made traces over OTLP/HTTP (protobuf): no example binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_suits_a_presenter() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let base = collector.ui_url().expect("the web view is on");
    // main -> (GetUser -> GetInfo, GetDetail), Other; then a slower run.
    let tree = |trace: &[u8; 16], slow: u64| {
        vec![
            timed(trace, 1, None, "StartRequests", 0, 10 + slow),
            timed(trace, 2, Some(1), "GetUser", 1, 8 + slow),
            timed(trace, 3, Some(2), "GetInfo", 2, 4),
            timed(trace, 4, Some(2), "GetDetail", 4, 7 + slow),
            timed(trace, 5, Some(1), "Other", 8 + slow, 9 + slow),
        ]
    };
    let (a, b) = ([0xa1; 16], [0xa2; 16]);
    send(collector.http_addr(), "presenter", tree(&a, 3)).await;
    send(collector.http_addr(), "presenter", tree(&b, 0)).await;
    collector.wait_for_spans(10, WAIT).await.expect("10 spans");
    let mut browser = Browser::launch(&chromium);

    // The icon is there: no 404 on any load.
    for path in ["/favicon.ico", "/favicon.svg"] {
        let ui = collector.ui_addr().expect("the web view");
        let icon = testkit::http::get(ui, path, &[]).await;
        assert_eq!(icon.status, 200, "{path}");
        assert!(icon.text().starts_with("<svg"), "{path}: {}", icon.text());
    }

    let trace = format!("{base}#trace={}", hex(&a));
    let tab = browser.open(&trace, TRACE_READY);
    let rows = "document.querySelectorAll('#waterfall .wf-row[data-span-id]').length";
    let key = |browser: &mut Browser, tab: &Tab, key: &str| {
        browser.evaluate(
            tab,
            &format!("document.dispatchEvent(new KeyboardEvent('keydown', {{key: {key:?}, bubbles: true}})); true"),
        );
    };
    // j twice: the cursor on the second span; Enter: its details.
    key(&mut browser, &tab, "j");
    key(&mut browser, &tab, "j");
    key(&mut browser, &tab, "Enter");
    browser.wait_until(
        &tab,
        "!document.getElementById('details').hidden && document.querySelector('#details .span-title').textContent === 'GetUser'",
    );
    // One spelling of transports, as OTEL_EXPORTER_OTLP_PROTOCOL has it.
    let via = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#details tr')).find(r => r.cells[0].textContent === 'Received via').cells[1].textContent",
    );
    assert!(
        via.as_str()
            .is_some_and(|v| v.starts_with("http/protobuf ")),
        "{via}"
    );
    // k: back to the first; left: its subtree collapses; right: open again.
    key(&mut browser, &tab, "k");
    key(&mut browser, &tab, "ArrowLeft");
    browser.wait_until(&tab, &format!("{rows} === 1"));
    key(&mut browser, &tab, "ArrowRight");
    browser.wait_until(&tab, &format!("{rows} === 5"));
    // Esc closes the details; ? shows the keys and Esc hides them.
    key(&mut browser, &tab, "Escape");
    browser.wait_until(
        &tab,
        "document.getElementById('details').hidden && !location.hash.includes('span=')",
    );
    key(&mut browser, &tab, "?");
    browser.wait_until(&tab, "!document.getElementById('keys').hidden");
    let shot = browser.screenshot_tab(&tab, "keys.png");
    eprintln!("screenshot of the keys: {}", shot.display());
    key(&mut browser, &tab, "Escape");
    browser.wait_until(&tab, "document.getElementById('keys').hidden");
    // `/` goes to the find box; Enter there moves to the span found.
    key(&mut browser, &tab, "/");
    browser.wait_until(&tab, "document.activeElement.id === 'find'");
    browser.evaluate(
        &tab,
        "const f = document.getElementById('find'); f.value = 'detail';          f.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); true",
    );
    browser.wait_until(
        &tab,
        "document.querySelector('.wf-row.cursor .span-name').textContent === 'GetDetail'",
    );
    // One clock: 24-hour.
    let status = browser.evaluate(&tab, "document.getElementById('status').textContent");
    let clock = status.as_str().unwrap_or_default();
    assert!(
        clock.starts_with("updated ")
            && clock.len() == "updated 14:05:09".len()
            && !clock.contains('M'),
        "{clock}"
    );
    // Eight services, eight colours, none of them red.
    let colours = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from({length: 8}, (_, i) => { const d = document.createElement('span');          d.style.color = serviceColour('service-' + i); document.body.append(d);          const c = getComputedStyle(d).color; d.remove(); return c; }))",
    );
    let colours: Vec<String> =
        serde_json::from_str(colours.as_str().expect("JSON")).expect("colours");
    let distinct: std::collections::BTreeSet<&String> = colours.iter().collect();
    assert_eq!(distinct.len(), 8, "{colours:?}");
    for colour in &colours {
        let rgb: Vec<f64> = colour
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .map(|c| c.trim().parse().expect("a colour component"))
            .collect();
        assert!(
            !(rgb[0] > 1.3 * rgb[1] && rgb[0] > 1.3 * rgb[2]),
            "a service is red: {colour}"
        );
    }

    // Dark mode when the system is dark; the switch wins, and is remembered.
    let background = "getComputedStyle(document.documentElement).backgroundColor";
    browser.call(
        Some(&tab),
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    assert_eq!(browser.evaluate(&tab, background), "rgb(13, 17, 23)");
    let shot = browser.screenshot_tab(&tab, "dark.png");
    eprintln!("screenshot of dark mode: {}", shot.display());
    // system -> dark -> light
    browser.evaluate(
        &tab,
        "document.getElementById('theme').click(); document.getElementById('theme').click(); true",
    );
    assert_eq!(browser.evaluate(&tab, background), "rgb(255, 255, 255)");
    // Large text: the layout keeps, every name whole.
    browser.evaluate(&tab, "document.getElementById('size').click(); true");
    assert_eq!(
        browser.evaluate(&tab, "getComputedStyle(document.documentElement).fontSize"),
        "18px"
    );
    browser.close(tab);
    // Remembered in a new tab, on a projector (1024x768 at 150%) whose
    // system is dark: light and large, and every name whole.
    let (_, width, height, scale) = SCREENS[1];
    let tab = browser.open_on(&trace, TRACE_READY, (width, height, scale));
    browser.call(
        Some(&tab),
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    assert_eq!(browser.evaluate(&tab, background), "rgb(255, 255, 255)");
    assert_eq!(
        browser.evaluate(&tab, "getComputedStyle(document.documentElement).fontSize"),
        "18px"
    );
    let found = browser.evaluate(&tab, LAYOUT_PROBLEMS);
    let found: Value = serde_json::from_str(found.as_str().expect("JSON")).expect("the layout");
    assert_eq!(found["problems"], json!([]), "large text on a projector");
    assert_eq!(found["names"].as_array().map(Vec::len), Some(5));
    let shot = browser.screenshot_tab(&tab, "large-text-1024x768-150pc.png");
    eprintln!("screenshot of large text: {}", shot.display());
    browser.close(tab);

    // Compare: names as written, one sign style (a true minus, both places).
    let compare = format!("{base}#compare={},{}", hex(&a), hex(&b));
    let tab = browser.open(&compare, "document.body.dataset.ready === 'compare'");
    let head = browser.evaluate(
        &tab,
        "const h = document.getElementById('cmp-a'); h.innerText",
    );
    assert!(
        head.as_str()
            .is_some_and(|h| h.starts_with("A: StartRequests")),
        "{head}"
    );
    let diffs = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#compare-rows tr')).map(r => r.cells[3].textContent))",
    );
    let diffs: Vec<String> = serde_json::from_str(diffs.as_str().expect("JSON")).expect("diffs");
    // B's StartRequests took 10 ms, A's 13 ms.
    assert_eq!(diffs[0], "\u{2212}3.00 ms (\u{2212}23%)", "{diffs:?}");
    assert!(diffs.iter().all(|d| !d.contains('-')), "{diffs:?}");
    browser.close(tab);
    drop(browser);
    collector.shutdown().await;
}

/// A database span shows its statement (placeholders, never values) beside
/// its name, a cache lookup whether it hit, and a refused gRPC call its
/// status: on the real trace of examples-grpc-with-db's client and server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waterfall_shows_what_each_database_cache_and_grpc_span_did() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let binary = |bin| {
        process::workspace_binary("examples-grpc-with-db", bin)
            .unwrap_or_else(|e| panic!("examples-grpc-with-db's {bin}: {e:#}"))
    };
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let base = collector.ui_url().expect("the web view is on");
    // Both export over OTLP/gRPC, as GoFrame's do.
    let server = process::example_server(
        &binary("grpc-db-server").to_string_lossy(),
        &collector.grpc_endpoint(),
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await
    .expect("starting the gRPC user service");
    let mut client = process::example_command(&binary("grpc-db-client").to_string_lossy());
    client.args([
        "--url",
        &server.url(""),
        "--endpoint",
        &collector.grpc_endpoint(),
    ]);
    let out = process::run(&mut client, Duration::from_secs(60))
        .await
        .expect("running the client");
    assert!(out.status.success(), "{}", out.stderr);
    let trace = collector
        .wait_for_trace(|t| t.spans.len() == 15, WAIT)
        .await
        .expect("the client's and the server's 15 spans");
    server
        .stop(Duration::from_secs(30))
        .await
        .expect("stopping the server");

    let mut browser = Browser::launch(&chromium);
    let page = format!("{base}#trace={}", trace.trace_id);
    let dom = browser.dom(&page, TRACE_READY, "waterfall-grpc-db.html");
    assert_nothing_injected(&dom);
    // Each waterfall row: its span's name and what is shown beside it.
    let rows: Vec<String> = dom
        .split("<div class=\"wf-row")
        .skip(1)
        .filter_map(|row| {
            // (The time axis above the rows names no span.)
            let name = texts_of(row, "span-name").into_iter().next()?;
            let beside = texts_of(row, "key-attr").join("");
            Some(format!("{name} {beside}"))
        })
        .collect();
    assert_eq!(rows.len(), 15, "a row per span: {rows:#?}");
    let row = |name: &str, beside: &str| {
        assert!(
            rows.iter()
                .any(|row| row.contains(name) && row.contains(beside)),
            "no row `{name}` with `{beside}` beside it: {rows:#?}"
        );
    };
    row(
        "SELECT user",
        "db.query.text=SELECT uid, name FROM user WHERE uid=?",
    );
    row(
        "INSERT user",
        "db.query.text=INSERT INTO user(name) VALUES(?)",
    );
    row("GET", "cache.hit=false");
    row(
        "user.User/Delete",
        "rpc.response.status_code=INVALID_ARGUMENT",
    );
    // Values are never on a span: the name the client inserted is nowhere.
    assert!(!rows.iter().any(|row| row.contains("john")), "{rows:#?}");

    // The map: the database (SQLite) and the in-process cache as nodes of
    // their own, with the calls the API counts.
    let map = collector_json(&collector, "/api/map").await;
    let tab = browser.open(&base, "document.body.dataset.mapEdges !== undefined");
    let nodes = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#map .node')).map(n => \
         [n.dataset.kind, n.querySelector('title').textContent, Number(n.dataset.calls)]))",
    );
    let mut nodes: Vec<(String, String, u64)> =
        serde_json::from_str(nodes.as_str().expect("a JSON string")).expect("the nodes");
    nodes.sort();
    let mut expected: Vec<(String, String, u64)> = map["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            let text = |key: &str| n[key].as_str().unwrap_or_default().to_owned();
            (text("kind"), text("name"), n["calls"].as_u64().unwrap_or(0))
        })
        .collect();
    expected.sort();
    assert_eq!(nodes, expected, "the nodes the API gives, drawn");
    assert!(
        nodes
            .iter()
            .any(|(kind, name, calls)| kind == "database" && name == "sqlite" && *calls > 0),
        "{nodes:?}"
    );
    let shot = browser.screenshot_tab(&tab, "service-map-databases.png");
    eprintln!("screenshot of the map with a database: {}", shot.display());
    browser.close(tab);
    drop(browser);
    collector.shutdown().await;
}

/// Two traces across examples-http's client and server, as the examples'
/// own tests run them: `/hello` (4 spans, two services) and the failing
/// `/error` (3 spans: `StartRequests`, `GET`, `GET /error`).
async fn http_traces(collector: &Collector) -> (collector::Trace, collector::Trace) {
    let binary = |bin| {
        process::workspace_binary("examples-http", bin)
            .unwrap_or_else(|e| panic!("examples-http's {bin}: {e:#}"))
    };
    let server = binary("server");
    let client = binary("client");
    let server = process::example_server(
        &server.to_string_lossy(),
        &collector.http_endpoint(),
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await
    .expect("starting examples-http's server");
    let run = |path: &'static str| {
        let mut command = process::example_command(&client.to_string_lossy());
        command.args([
            "--url",
            &server.url(path),
            "--endpoint",
            &collector.http_endpoint(),
        ]);
        command
    };
    let out = process::run(&mut run("/hello"), Duration::from_secs(60))
        .await
        .expect("running the client");
    assert!(out.status.success(), "{}", out.stderr);
    let trace = collector
        .wait_for_trace(|t| t.services().len() == 2 && t.spans.len() == 4, WAIT)
        .await
        .expect("the client's and the server's 4 spans");
    if let Err(problems) = expect::http_request(&trace, "otlp-http-client", "otlp-http-server") {
        panic!("the HTTP trace differs from the documented one: {problems:#?}");
    }
    // The failing route: the client exits 1, as it should.
    let out = process::run(&mut run("/error"), Duration::from_secs(60))
        .await
        .expect("running the client on /error");
    assert!(!out.status.success(), "{}", out.stderr);
    let failed = collector
        .wait_for_trace(
            |t| {
                t.services().len() == 2
                    && t.spans.len() == 3
                    && t.spans_named("GET /error").len() == 1
            },
            WAIT,
        )
        .await
        .expect("the failing call's 3 spans");
    if let Err(problems) = expect::http_error(&failed, "otlp-http-client", "otlp-http-server") {
        panic!("the error trace differs from the documented one: {problems:#?}");
    }
    server
        .stop(Duration::from_secs(30))
        .await
        .expect("stopping the server");
    (trace, failed)
}

/// The screens the waterfall must read on: a laptop, a projector (1024x768
/// at 150% zoom) and a large screen at 200%: CSS width and height, and the
/// device scale factor (the screenshot is width x scale pixels wide).
const SCREENS: [(&str, u32, u32, f64); 3] = [
    ("1400x900", 1400, 900, 1.0),
    ("1024x768-150pc", 683, 512, 1.5),
    ("1920x1080-200pc", 960, 540, 2.0),
];

/// In the page: what is wrong with the waterfall as drawn (names cut or
/// out of sight, axis labels on top of each other, the critical path over
/// a duration label, marks narrower than 6 px), and the names drawn.
const LAYOUT_PROBLEMS: &str = r#"(() => {
  const problems = [];
  const viewport = document.documentElement.clientWidth;
  const names = Array.from(document.querySelectorAll('#waterfall .span-name'));
  for (const name of names) {
    const text = name.textContent;
    const r = name.getBoundingClientRect();
    const cell = name.parentElement;
    const box = cell.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) problems.push(text + ': no width');
    if (name.scrollWidth > name.clientWidth) problems.push(text + ': cut within itself');
    if (cell.scrollWidth > cell.clientWidth) problems.push(text + ': its name cell overflows (' + cell.scrollWidth + ' > ' + cell.clientWidth + ')');
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5) problems.push(text + ': outside its name cell');
    if (r.left < 0 || r.right > viewport + 0.5) problems.push(text + ': outside the viewport (' + r.left + '..' + r.right + ' of ' + viewport + ')');
  }
  const labels = Array.from(document.querySelectorAll('#waterfall .tick-label'))
    .map((l) => [l.textContent, l.getBoundingClientRect()])
    .sort((a, b) => a[1].left - b[1].left);
  for (let i = 1; i < labels.length; i++) {
    if (labels[i][1].left < labels[i - 1][1].right) problems.push('axis labels overlap: ' + labels[i - 1][0] + ' and ' + labels[i][0]);
  }
  for (const [text, r] of labels) if (r.left < 0 || r.right > viewport + 0.5) problems.push('axis label outside the viewport: ' + text);
  if (labels.length < 2) problems.push('fewer than 2 axis labels');
  for (const row of document.querySelectorAll('#waterfall .wf-row')) {
    const label = row.querySelector('.bar-label');
    for (const crit of row.querySelectorAll('.crit')) {
      const a = crit.getBoundingClientRect(), b = label && label.getBoundingClientRect();
      if (b && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) problems.push('the critical path crosses the label ' + label.textContent);
    }
  }
  for (const mark of document.querySelectorAll('#waterfall .log-mark, #waterfall .event-mark')) {
    const r = mark.getBoundingClientRect();
    if (r.width < 6) problems.push('a mark ' + r.width + ' px wide: ' + mark.title);
  }
  return JSON.stringify({ names: names.map((n) => n.textContent), problems });
})()"#;

/// Opens each trace in each of [`SCREENS`] (with the details of the span
/// `select` open) and checks that every span name is whole and in view,
/// that the axis labels do not overlap and that marks are wide enough;
/// keeps a screenshot of each.
fn check_waterfall_layout(
    browser: &mut Browser,
    base: &str,
    traces: &[(&str, &collector::Trace, &str)],
) {
    let mut failures = Vec::new();
    for &(screen_name, width, height, scale) in &SCREENS {
        for &(label, trace, select) in traces {
            let url = format!("{base}#trace={}&span={select}", trace.trace_id);
            let tab = browser.open_on(&url, TRACE_READY, (width, height, scale));
            let found = browser.evaluate(&tab, LAYOUT_PROBLEMS);
            let found: Value =
                serde_json::from_str(found.as_str().expect("a JSON string")).expect("the layout");
            let mut drawn: Vec<String> = found["names"]
                .as_array()
                .expect("names")
                .iter()
                .map(|n| n.as_str().unwrap_or_default().to_owned())
                .collect();
            drawn.sort();
            let mut expected: Vec<String> = trace.spans.iter().map(|s| s.name.clone()).collect();
            expected.sort();
            let screen = format!("{label} at {screen_name} ({width}x{height} CSS px)");
            if drawn != expected {
                failures.push(format!(
                    "{screen}: names drawn {drawn:?}, expected {expected:?}"
                ));
            }
            for problem in found["problems"].as_array().expect("problems") {
                failures.push(format!(
                    "{screen}: {}",
                    problem.as_str().unwrap_or_default()
                ));
            }
            let name = format!("waterfall-{label}-{screen_name}.png");
            let shot = browser.screenshot_tab(&tab, &name);
            eprintln!("screenshot of the {screen}: {}", shot.display());
            browser.close(tab);
        }
    }
    assert!(
        failures.is_empty(),
        "the waterfall hides or garbles what it shows:\n{}",
        failures.join("\n")
    );
}

/// Back to the previous page of `tab` (the search), and its list shown.
fn history_back(browser: &mut Browser, tab: &Tab) {
    browser.evaluate(tab, "history.back(); true");
    browser.wait_until(
        tab,
        "document.body.dataset.view === 'list' && location.hash.startsWith('#span=')",
    );
}

/// Exports measured per way of updating the list: one proves each way
/// works; for the figures (a median over moments spread across the poll
/// cycle) ask for more:
/// `UI_LATENCY_SAMPLES=5 REQUIRE_BROWSER_TEST=1 cargo test -p testkit --test browser -- --nocapture`.
fn samples() -> u8 {
    std::env::var("UI_LATENCY_SAMPLES")
        .ok()
        .and_then(|n| n.parse::<u8>().ok())
        .map_or(1, |n| n.clamp(1, 20))
}

/// Sends a one-span trace (id `[n; 16]`) and returns how long after its
/// export was answered `tab`'s list showed it. It waits `n % SAMPLES`
/// fifths of the 2 s poll interval first, so that the exports of a series
/// fall at different moments of the polling cycle.
async fn export_to_list(
    browser: &mut Browser,
    tab: &Tab,
    collector: &Collector,
    n: u8,
) -> Duration {
    tokio::time::sleep(Duration::from_millis(400) * u32::from(n % samples())).await;
    let id = [n; 16];
    send(
        collector.http_addr(),
        "live",
        vec![timed(&id, 1, None, "live", 0, 1)],
    )
    .await;
    browser.wait_until(
        tab,
        &format!(
            "document.querySelector('tr[data-trace-id=\"{}\"]') !== null",
            hex(&id)
        ),
    )
}

/// `GET path` on the collector's web view, as JSON.
async fn collector_json(collector: &Collector, path: &str) -> Value {
    let ui = collector.ui_addr().expect("the web view");
    let response = testkit::http::get(ui, path, &[]).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn millis(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Span links in the details panel, one click each way: on the real trace
/// of examples-http's client retrying `/error` (`--retries 1`: the retry's
/// `GET` links to the first attempt's), with a span of another trace
/// linking to the first attempt too, and to a span that is not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_clicked_opens_the_linked_span() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let binary = |bin| {
        process::workspace_binary("examples-http", bin)
            .unwrap_or_else(|e| panic!("examples-http's {bin}: {e:#}"))
    };
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let base = collector.ui_url().expect("the web view is on");
    let server = process::example_server(
        &binary("server").to_string_lossy(),
        &collector.http_endpoint(),
        &[("OTEL_BSP_SCHEDULE_DELAY", "100")],
    )
    .await
    .expect("starting examples-http's server");
    let mut client = process::example_command(&binary("client").to_string_lossy());
    let url = server.url("/error");
    client.args(["--url", &url, "--retries", "1"]);
    client.args(["--endpoint", &collector.http_endpoint()]);
    let out = process::run(&mut client, Duration::from_secs(60))
        .await
        .expect("running the client");
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let trace = collector
        .wait_for_trace(|t| t.spans.len() == 5, WAIT)
        .await
        .expect("StartRequests and two attempts");
    server
        .stop(Duration::from_secs(30))
        .await
        .expect("stopping the server");
    let gets = trace.spans_named("GET");
    let [first, retry] = gets[..] else {
        panic!("two attempts: {trace:#?}");
    };
    assert_eq!(retry.links.len(), 1, "{retry:#?}");
    // Another trace's span linking to the first attempt, and to nothing
    // stored.
    let other = [0x5e; 16];
    let mut batch = timed(&other, 7, None, "batch", 0, 5);
    let ids = |t: &str, s: &str| (unhex(t), unhex(s));
    for (trace_id, span_id) in [
        ids(&first.trace_id, &first.span_id),
        (other.to_vec(), vec![9; 8]),
    ] {
        batch
            .links
            .push(opentelemetry_proto::tonic::trace::v1::span::Link {
                trace_id,
                span_id,
                ..Default::default()
            });
    }
    send(collector.http_addr(), "batcher", vec![batch]).await;
    collector.wait_for_spans(6, WAIT).await.expect("6 spans");

    let mut browser = Browser::launch(&chromium);
    let shown = |trace: &str, span: &str| {
        format!(
            "document.body.dataset.traceId === '{trace}' && \
             Array.from(document.querySelectorAll('#details .mono')).some(m => m.textContent === '{span}')"
        )
    };
    // The retry's details: "Links" leads to the first attempt.
    let page = format!("{base}#trace={}&span={}", trace.trace_id, retry.span_id);
    let tab = browser.open(&page, &shown(&trace.trace_id, &retry.span_id));
    browser.evaluate(
        &tab,
        "document.querySelector('#span-links a').click(); true",
    );
    browser.wait_until(&tab, &shown(&trace.trace_id, &first.span_id));
    // The first attempt's "Linked from": the retry, and the other trace's
    // span, one click away.
    let from = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#span-linked-from a')).map(a => [a.dataset.trace, a.dataset.span, a.textContent]))",
    );
    let mut from: Vec<Vec<String>> =
        serde_json::from_str(from.as_str().expect("a JSON string")).expect("the entries");
    from.sort();
    let mut expected = vec![
        vec![
            trace.trace_id.clone(),
            retry.span_id.clone(),
            "GET (otlp-http-client)".to_owned(),
        ],
        vec![
            hex(&other),
            "0707070707070707".to_owned(),
            "batch (batcher)".to_owned(),
        ],
    ];
    expected.sort();
    assert_eq!(from, expected);
    let shot = browser.screenshot_tab(&tab, "span-links.png");
    eprintln!("screenshot of a span's links: {}", shot.display());
    browser.evaluate(
        &tab,
        &format!(
            "document.querySelector('#span-linked-from a[data-trace=\"{}\"]').click(); true",
            hex(&other)
        ),
    );
    browser.wait_until(&tab, &shown(&hex(&other), "0707070707070707"));
    // Its own links: the first attempt (a link), and a span not stored
    // (text, no link).
    let links = browser.evaluate(
        &tab,
        "JSON.stringify(Array.from(document.querySelectorAll('#span-links li')).map(li => [li.querySelector('a') !== null, li.textContent]))",
    );
    let links: Vec<(bool, String)> =
        serde_json::from_str(links.as_str().expect("a JSON string")).expect("the links");
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(
        links[0].0 && links[0].1.contains(&first.span_id),
        "{links:?}"
    );
    assert!(
        !links[1].0 && links[1].1.contains("0909090909090909") && links[1].1.contains("not stored"),
        "{links:?}"
    );
    browser.close(tab);
    drop(browser);
    collector.shutdown().await;
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Where the time goes, on real traces of the examples: the statistics of
/// `GET /api/traces/{id}/stats` add up to the root's duration, the sentence
/// names spans of the critical path with their time on it; in the page,
/// the sentence's link selects its span, the statistics table sorts by a
/// column and switches to services, and a click on a flame graph frame
/// opens its span's details.
async fn where_the_time_goes(
    browser: &mut Browser,
    collector: &Collector,
    base: &str,
    traces: [&collector::Trace; 3],
) {
    for trace in traces {
        let id = &trace.trace_id;
        let stats = collector_json(collector, &format!("/api/traces/{id}/stats")).await;
        let root = trace.root().expect("a root");
        let field = |name: &str| stats[name].as_u64().expect(name);
        let self_sum: u64 = stats["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|r| r["self_nanos"].as_u64().expect("self_nanos"))
            .sum();
        // Every span is under the root, so the rows hold the root's tree.
        let root_nanos = root.end_unix_nano - root.start_unix_nano;
        assert_eq!(field("root_duration_nanos"), root_nanos);
        assert_eq!(
            self_sum,
            root_nanos + field("parallel_nanos") + field("outside_nanos"),
            "{stats:#}"
        );
        let count = |name: &str| {
            stats["operations"]
                .as_array()
                .expect("operations")
                .iter()
                .filter(|r| r["name"] == name)
                .map(|r| r["count"].as_u64().expect("count"))
                .sum::<u64>()
        };
        for span in &trace.spans {
            assert_eq!(
                count(&span.name),
                trace.spans_named(&span.name).len() as u64
            );
        }
        // The spans the sentence names, each with its time on the critical
        // path (its own stretches, or its tree's) written beside it.
        let sections = collector::critical_path(trace);
        let on_path = |span: &collector::Span, tree: bool| -> u64 {
            sections
                .iter()
                .filter(|s| {
                    let mut at = trace.spans.iter().find(|x| x.span_id == s.span_id);
                    let mut depth = 0;
                    while let Some(x) = at {
                        if x.span_id == span.span_id {
                            return tree || depth == 0;
                        }
                        at = trace.parent(x);
                        depth += 1;
                    }
                    false
                })
                .map(|s| s.end_unix_nano - s.start_unix_nano)
                .sum()
        };
        let parts = stats["summary"].as_array().expect("the sentence");
        let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        assert!(text.contains(" in all"), "{text}");
        let mut named = 0;
        for (k, part) in parts.iter().enumerate() {
            let Some(span_id) = part["span_id"].as_str() else {
                continue;
            };
            let span = trace
                .spans
                .iter()
                .find(|s| s.span_id == span_id)
                .expect("a span of the trace");
            assert_eq!(part["text"], span.name.as_str());
            let before = parts[k - 1]["text"].as_str().unwrap_or_default();
            let after = parts
                .get(k + 1)
                .and_then(|p| p["text"].as_str())
                .unwrap_or_default();
            if before.contains("failed") || after.starts_with(" on") && after.contains("failed") {
                assert!(span.is_error(), "{text}");
                continue;
            }
            let times = [on_path(span, true), on_path(span, false)].map(collector::text::duration);
            let beside = times.iter().any(|d| {
                before.ends_with(&format!("{d} of it is "))
                    || before.ends_with(&format!("{d} is "))
                    || before.ends_with(&format!("{d} of it is the own work of "))
                    || after.starts_with(&format!(" on {} ({d})", span.service_name))
                    || before.ends_with(" and another ") && after.starts_with(&format!(" ({d})"))
            });
            assert!(beside, "{text}: {} is not beside {times:?}", span.name);
            named += 1;
        }
        assert!(
            named > 0,
            "the sentence names no span of the critical path: {text}"
        );
    }

    // The page: the HTTP trace (4 spans, two services).
    let trace = traces[1];
    let url = format!("{base}#trace={}", trace.trace_id);
    let ready = format!("document.body.dataset.stats === {:?}", trace.trace_id);
    let tab = browser.open(&url, &ready);
    // The sentence's first link selects its span.
    let link = browser.evaluate(
        &tab,
        "(() => { const a = document.querySelector('#why a.why-span'); a.click(); return [a.textContent, a.dataset.spanId]; })()",
    );
    let (name, span_id) = (
        link[0].as_str().expect("a name"),
        link[1].as_str().expect("an id"),
    );
    browser.wait_until(
        &tab,
        &format!(
            "location.hash.endsWith('span={span_id}') && document.querySelector('#details .span-title')?.textContent === {name:?} \
             && document.querySelector('.wf-row.selected') !== null"
        ),
    );
    // The statistics: by operation, sorted by name both ways, then by service.
    let names = |browser: &mut Browser, tab: &Tab| -> Vec<String> {
        let names = browser.evaluate(
            tab,
            "Array.from(document.querySelectorAll('#stats-table tbody tr')).map(r => r.children[1].textContent)",
        );
        serde_json::from_value(names).expect("names")
    };
    browser.evaluate(
        &tab,
        "document.querySelector('#trace-tabs [data-tab=stats]').click()",
    );
    browser.wait_until(&tab, "!document.getElementById('stats').hidden && document.querySelectorAll('#stats-table tbody tr').length === 4");
    browser.evaluate(
        &tab,
        "document.querySelector('#stats-table th[data-key=name]').click()",
    );
    let ascending = names(browser, &tab);
    let mut sorted = ascending.clone();
    sorted.sort();
    assert_eq!(ascending, sorted);
    browser.evaluate(
        &tab,
        "document.querySelector('#stats-table th[data-key=name]').click()",
    );
    let descending = names(browser, &tab);
    sorted.reverse();
    assert_eq!(descending, sorted);
    assert_ne!(ascending, descending);
    assert_eq!(
        browser.evaluate(
            &tab,
            "document.querySelector('#stats-table th[data-key=name]').getAttribute('aria-sort')"
        ),
        "descending"
    );
    browser.evaluate(
        &tab,
        "document.querySelector('#stats-tools [data-group=services]').click()",
    );
    assert_eq!(
        browser.evaluate(
            &tab,
            "document.querySelectorAll('#stats-table tbody tr').length"
        ),
        2
    );
    // The flame graph: hover and click the frame of the server span.
    browser.evaluate(
        &tab,
        "document.querySelector('#trace-tabs [data-tab=flame]').click()",
    );
    browser.wait_until(&tab, "document.body.dataset.flame === '4'");
    let at = browser.evaluate(
        &tab,
        "(() => { const r = document.getElementById('flame-canvas').getBoundingClientRect(); \
         for (const row of analysis.hits) for (const h of row) \
           if (h.frame !== undefined && analysis.stats.flame[h.frame].name === 'GET /hello') \
             return [r.left + h.x + h.w / 2, r.top + (analysis.stats.flame[h.frame].depth + 0.5) * analysis.rowHeight, analysis.stats.flame[h.frame].span_id]; })()",
    );
    let (x, y) = (at[0].as_f64().expect("x"), at[1].as_f64().expect("y"));
    let server_span = at[2].as_str().expect("the frame's span").to_owned();
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        browser.call(
            Some(&tab),
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
        );
    }
    browser.wait_until(
        &tab,
        &format!(
            "location.hash.endsWith('span={server_span}') && document.querySelector('#details .span-title')?.textContent === 'GET /hello'"
        ),
    );
    let tip = browser.evaluate(&tab, "document.getElementById('flame-tip').textContent");
    assert!(
        tip.as_str()
            .is_some_and(|t| t.contains("GET /hello") && t.contains("self")),
        "{tip}"
    );
    assert_eq!(
        browser.evaluate(&tab, "document.getElementById('flame').hidden"),
        false
    );
    browser.screenshot_tab(&tab, "flame.png");
    browser.close(tab);
}

/// Runs: a collector restarted on its `--store` file, the in-process
/// example run once in each run. The list filters by run (the current run
/// marked in the select, an export link per run), and the second run's
/// trace opens the first run's beside it in the compare view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_filter_the_list_and_a_trace_compares_with_the_previous_run() {
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let example = process::workspace_binary("examples-inprocess-http", "examples-inprocess-http")
        .unwrap_or_else(|e| panic!("the example binary: {e:#}"));
    let dir = std::env::temp_dir().join(format!("collector-ui-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let config = CollectorConfig {
        store: Some(dir.join("traces.db")),
        ..CollectorConfig::ephemeral()
    };
    let mut ids = Vec::new();
    let mut collectors = Vec::new();
    for run in 1..=2 {
        let collector = Collector::start(config.clone())
            .await
            .expect("starting the collector");
        assert_eq!(collector.run(), run);
        let mut command = process::example_command(&example.to_string_lossy());
        command.args(["--endpoint", &collector.http_endpoint()]);
        let out = process::run(&mut command, Duration::from_secs(60))
            .await
            .expect("running the example");
        assert!(out.status.success(), "{}", out.stderr);
        let trace = collector
            .wait_for_trace(|t| t.spans.len() == 9 && !ids.contains(&t.trace_id), WAIT)
            .await
            .expect("the example's 9 spans");
        ids.push(trace.trace_id);
        if run == 1 {
            collector.shutdown().await;
        } else {
            collectors.push(collector);
        }
    }
    let collector = collectors.pop().expect("the second run's collector");
    let base = collector.ui_url().expect("the web view is on");
    let (first, second) = (&ids[0], &ids[1]);

    let mut browser = Browser::launch(&chromium);
    let tab = browser.open(
        &format!("{base}#run=1"),
        "document.body.dataset.traces === '1'",
    );
    let listed = "Array.from(document.querySelectorAll('#trace-rows tr[data-trace-id]')).map(r => r.dataset.traceId)";
    assert_eq!(browser.evaluate(&tab, listed), json!([first]));
    let options = browser.evaluate(
        &tab,
        "Array.from(document.getElementById('run').options).map(o => o.textContent)",
    );
    assert_eq!(options, json!(["all runs", "run 1", "run 2 (current)"]));
    let exports = browser.evaluate(
        &tab,
        "Array.from(document.querySelectorAll('#run-exports a')).map(a => a.getAttribute('href'))",
    );
    assert_eq!(exports, json!(["/api/export?run=1", "/api/export?run=2"]));
    // The other run, through the select, as a user would.
    browser.evaluate(
        &tab,
        "document.getElementById('run').value = '2'; \
         document.getElementById('run').dispatchEvent(new Event('change')); true",
    );
    browser.wait_until(
        &tab,
        &format!(
            "location.hash.includes('run=2') && document.querySelector('#trace-rows tr[data-trace-id]') \
             && document.querySelector('#trace-rows tr[data-trace-id]').dataset.traceId === '{second}'"
        ),
    );
    assert_eq!(browser.evaluate(&tab, listed), json!([second]));
    browser.close(tab);

    // The second run's trace: compared with the first run's.
    let tab = browser.open(
        &format!("{base}#trace={second}"),
        "!document.getElementById('previous-run').hidden",
    );
    let link = browser.evaluate(&tab, "document.getElementById('previous-run').textContent");
    assert_eq!(link, json!("Compare with run 1"));
    browser.evaluate(
        &tab,
        "document.getElementById('previous-run').click(); true",
    );
    browser.wait_until(&tab, "document.body.dataset.ready === 'compare'");
    let hash = browser.evaluate(&tab, "location.hash");
    assert_eq!(hash, json!(format!("#compare={first},{second}")));
    // Each side says its run.
    let sides = browser.evaluate(
        &tab,
        "[document.getElementById('cmp-a').textContent, document.getElementById('cmp-b').textContent]",
    );
    assert_eq!(
        sides,
        json!([
            format!("A: main · run 1 · {}", &first[..8]),
            format!("B: main · run 2 · {}", &second[..8])
        ])
    );
    let shot = browser.screenshot_tab(&tab, "compare-runs.png");
    eprintln!(
        "screenshot of a trace compared with the previous run: {}",
        shot.display()
    );
    browser.close(tab);
    // The first run's trace has no earlier run: no such action.
    let tab = browser.open(
        &format!("{base}#trace={first}"),
        &format!("document.body.dataset.traceId === '{first}'"),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hidden = browser.evaluate(&tab, "document.getElementById('previous-run').hidden");
    assert_eq!(hidden, json!(true));
    browser.close(tab);
    drop(browser);
    collector.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
