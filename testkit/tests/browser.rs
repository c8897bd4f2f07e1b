//! The collector's web view, rendered in headless Chromium after a real
//! example (`examples-inprocess-http`) sent its trace: the healthy bar is not
//! red and markup from span data never runs. It lives here, not in the
//! collector's tests, because it runs an example binary; the collector's own
//! tests need none. One Chromium runs for the whole test, driven over the
//! DevTools protocol; each page is loaded in a tab of its own. Screenshots
//! and DOM dumps go to `target/ui-artifacts`; without Chromium the test is
//! skipped, unless `REQUIRE_BROWSER_TEST=1`.

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
use testkit::otlp::{send, string_attr, timed};
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
        let profile =
            std::env::temp_dir().join(format!("collector-ui-test-{}", std::process::id()));
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
            json!({"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
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
        let shot = self.call(
            Some(&tab),
            "Page.captureScreenshot",
            json!({"format": "png"}),
        );
        self.close(tab);
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("a base64 screenshot");
        assert!(png.len() > 10_000, "no screenshot of {url}");
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
    assert!(!dom.contains("<svg"), "an <svg> from span data:\n{dom}");
    assert_eq!(
        dom.matches("<script").count(),
        1,
        "only the page's own script:\n{dom}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_shows_real_traces_and_never_runs_span_markup() {
    let Some(chromium) = chromium() else {
        let message = "headless Chromium is needed for this test and `chromium` is not on the PATH: \
             run `.ci/run` (it installs it), or `apt-get install chromium`";
        if std::env::var_os("REQUIRE_BROWSER_TEST").is_some_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
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

    let mut browser = Browser::launch(&chromium);

    // The list: both traces, the example's with its 9 spans.
    let dom = browser.dom(&base, LIST_READY, "list.html");
    assert_nothing_injected(&dom);
    let roots = texts_of(&dom, "root-name");
    assert!(
        roots.contains(&"main".to_owned()) && roots.contains(&EVIL_NAME.to_owned()),
        "{roots:?}"
    );
    let row = dom
        .split("<tr class=\"trace-row\"")
        .find(|row| row.contains(&real.trace_id))
        .expect("a row for the example's trace");
    assert_eq!(texts_of(row, "num span-count"), ["9"], "{row}");
    assert!(row.contains(">inprocess<"), "{row}");

    // The waterfall of the example's trace, with a span's details open.
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

    // The hostile trace, details open: all of it shown as text.
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

    // Pictures for people: the waterfall with GetUser(100) open, the list.
    let shot = browser.screenshot(&waterfall, TRACE_READY, "waterfall.png");
    eprintln!("screenshot of the waterfall: {}", shot.display());
    let shot = browser.screenshot(&base, LIST_READY, "list.png");
    eprintln!("screenshot of the trace list: {}", shot.display());
    drop(browser);
    collector.shutdown().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
