//! The web view: its JSON API with hand-sent spans, its headers, and the
//! rendered page in headless Chromium after a real example sent its trace.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use collector::testing::{self, Finished};
use collector::{Collector, CollectorConfig, expect};
use opentelemetry_proto::tonic::trace::v1::{Status, span::Event};
use prost::Message as _;
use serde_json::Value;
use support::*;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (Collector, SocketAddr) {
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let ui = collector.ui_addr().expect("the web view is on");
    (collector, ui)
}

async fn send(collector: &Collector, service: &str, spans: Vec<OtlpSpan>) {
    let body = export(service, spans).encode_to_vec();
    let response = post(
        collector.http_addr(),
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &body,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

type OtlpSpan = opentelemetry_proto::tonic::trace::v1::Span;

/// A span starting `start_ms` and ending `end_ms` after second 1000 of the epoch.
fn timed(
    trace: &[u8],
    id: u8,
    parent: Option<u8>,
    name: &str,
    start_ms: u64,
    end_ms: u64,
) -> OtlpSpan {
    let parent = parent.map(|p| [p; 8]);
    let mut s = span(trace, &[id; 8], parent.as_ref().map(|p| &p[..]), name);
    s.start_time_unix_nano = 1_000_000_000_000 + start_ms * 1_000_000;
    s.end_time_unix_nano = 1_000_000_000_000 + end_ms * 1_000_000;
    s
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value, HttpResponse) {
    let response = http_request(addr, "GET", path, &[], b"").await;
    let json = serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", response.text()));
    (response.status, json, response)
}

/// Two traces: `older` (one span of `svc-a`) and `newer` (`main` of `svc-a`
/// calling `GetUser` of `svc-b`, which failed and logged an event).
async fn two_traces(collector: &Collector) {
    send(
        collector,
        "svc-a",
        vec![timed(&[1; 16], 1, None, "older", 0, 100)],
    )
    .await;
    let mut get_user = timed(&[2; 16], 3, Some(2), "GetUser", 1010, 1040);
    get_user.attributes.push(int_attr("user.id", 100));
    get_user.status = Some(Status {
        code: 2,
        message: "no such user".into(),
    });
    get_user.events.push(Event {
        time_unix_nano: 1_000_000_000_000 + 1_020_000_000,
        name: "cache miss".into(),
        attributes: vec![string_attr("cache", "users")],
        ..Default::default()
    });
    send(collector, "svc-b", vec![get_user]).await;
    send(
        collector,
        "svc-a",
        vec![timed(&[2; 16], 2, None, "main", 1000, 1050)],
    )
    .await;
    collector.wait_for_spans(3, WAIT).await.expect("3 spans");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_list_is_newest_first_and_can_be_filtered() {
    let (collector, ui) = start().await;
    two_traces(&collector).await;

    let (status, json, response) = get_json(ui, "/api/traces").await;
    assert_eq!(status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    let traces = json["traces"].as_array().expect("a list");
    assert_eq!(traces.len(), 2, "{json:#}");
    assert_eq!(
        traces[0],
        serde_json::json!({
            "trace_id": "02".repeat(16),
            "root_name": "main",
            "root_service": "svc-a",
            "services": ["svc-a", "svc-b"],
            "span_count": 2,
            "error_count": 1,
            "start_unix_nano": 1_001_000_000_000u64,
            "duration_nanos": 50_000_000u64,
            "complete": true,
            "dropped_spans": 0,
        })
    );
    assert_eq!(json["evicted_traces"], 0);
    assert_eq!(traces[1]["root_name"], "older");

    let (_, json, _) = get_json(ui, "/api/traces?service=svc-b").await;
    let names: Vec<&Value> = json["traces"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| &t["root_name"])
        .collect();
    assert_eq!(names, ["main"]);

    let (_, json, _) = get_json(ui, "/api/traces?limit=1").await;
    assert_eq!(json["traces"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["traces"][0]["root_name"], "main");

    let (_, json, _) = get_json(ui, "/api/traces?service=nobody").await;
    assert_eq!(json["traces"], serde_json::json!([]));

    let (_, json, _) = get_json(ui, "/api/services").await;
    assert_eq!(json, serde_json::json!({"services": ["svc-a", "svc-b"]}));
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_has_every_span_in_tree_order_with_offsets() {
    let (collector, ui) = start().await;
    two_traces(&collector).await;

    let id = "02".repeat(16);
    // Upper case works as well.
    let (status, json, _) = get_json(ui, &format!("/api/traces/{}", id.to_uppercase())).await;
    assert_eq!(status, 200, "{json:#}");
    assert_eq!(json["trace_id"], id);
    assert_eq!(json["duration_nanos"], 50_000_000);
    assert_eq!(json["services"], serde_json::json!(["svc-a", "svc-b"]));
    let spans = json["spans"].as_array().expect("spans");
    let order: Vec<(&str, u64, u64)> = spans
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default(),
                s["depth"].as_u64().unwrap_or(99),
                s["offset_nanos"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(order, [("main", 0, 0), ("GetUser", 1, 10_000_000)]);

    let get_user = &spans[1];
    assert_eq!(get_user["span_id"], "03".repeat(8));
    assert_eq!(get_user["parent_span_id"], "02".repeat(8));
    assert_eq!(get_user["service_name"], "svc-b");
    assert_eq!(get_user["duration_nanos"], 30_000_000);
    assert_eq!(get_user["attributes"], serde_json::json!({"user.id": 100}));
    assert_eq!(get_user["status_code"], "error");
    assert_eq!(get_user["status_message"], "no such user");
    assert_eq!(get_user["events"][0]["name"], "cache miss");
    assert_eq!(
        get_user["events"][0]["attributes"],
        serde_json::json!({"cache": "users"})
    );
    assert_eq!(get_user["resource"]["service.name"], "svc-b");
    assert_eq!(get_user["transport"], "http_protobuf");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_paths_are_json_404s() {
    let (collector, ui) = start().await;
    let (status, json, response) = get_json(ui, &format!("/api/traces/{}", "ab".repeat(16))).await;
    assert_eq!(status, 404);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let error = json["error"].as_str().expect("an error message");
    assert!(error.contains(&"ab".repeat(16)), "{error}");

    let (status, json, _) = get_json(ui, "/nothing/here").await;
    assert_eq!(status, 404);
    assert!(json["error"].is_string(), "{json:#}");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_self_contained_with_a_strict_policy() {
    let (collector, ui) = start().await;
    let response = http_request(ui, "GET", "/", &[], b"").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    let csp = response
        .header("content-security-policy")
        .expect("a Content-Security-Policy");
    for directive in [
        "default-src 'none'",
        "script-src 'sha256-",
        "style-src 'sha256-",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let page = response.text();
    assert!(page.contains("<title>"), "{page}");
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert_eq!(
        collector.ui_url(),
        Some(format!("http://{ui}/")),
        "ui_url names the bound address"
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_view_can_be_off_and_a_taken_port_is_a_clear_error() {
    let collector = Collector::start(CollectorConfig {
        ui_addr: None,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting without a web view");
    assert_eq!((collector.ui_addr(), collector.ui_url()), (None, None));
    collector.shutdown().await;

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address");
    let error = Collector::start(CollectorConfig {
        ui_addr: Some(addr),
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect_err("the port is taken");
    let message = format!("{error:#}");
    assert!(
        message.contains(&addr.to_string()) && message.contains("--ui"),
        "{message}"
    );
}

// ---- the rendered page, in headless Chromium ----

/// A span name that runs script if anything puts it into the page as markup.
const EVIL_NAME: &str =
    r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"#;
const EVIL_SERVICE: &str = r#"evil"><svg onload="window.__pwned=3">"#;
const EVIL_VALUE: &str = r#"<img src=x onerror="window.__pwned=4">"#;
const EVIL_TRACE: [u8; 16] = [0xe1; 16];
const HEALTHY_TRACE: [u8; 16] = [0xe3; 16];

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

/// Loads `url` in headless Chromium with 5 s of virtual time (enough for
/// the page's fetches and first render), then dumps the DOM or takes a
/// screenshot.
async fn chromium_run(browser: &Path, url: &str, output: &[&str]) -> Finished {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let profile = std::env::temp_dir().join(format!(
        "collector-ui-test-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let mut command = tokio::process::Command::new(browser);
    command
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
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(output)
        .arg(url);
    let finished = testing::run(&mut command, Duration::from_secs(120))
        .await
        .expect("running chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        finished.status.success(),
        "chromium failed ({}):\n{}",
        finished.status,
        finished.stderr
    );
    finished
}

async fn dump_dom(browser: &Path, url: &str, save_as: &str) -> String {
    let dom = chromium_run(browser, url, &["--dump-dom"]).await.stdout;
    let path = artifact_dir().join(save_as);
    std::fs::write(&path, &dom).expect("saving the DOM");
    assert!(dom.contains("</body>"), "no DOM from {url}:\n{dom}");
    dom
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
    let Some(browser) = chromium() else {
        let message = "headless Chromium is needed for this test and `chromium` is not on the PATH: \
             run `.ci/run` (it installs it), or `apt-get install chromium`";
        if std::env::var_os("REQUIRE_BROWSER_TEST").is_some_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
        return;
    };
    let example = testing::workspace_binary("examples-inprocess-http")
        .expect("the example binary (run `cargo test --workspace`, which builds it)");

    let (collector, _) = start().await;
    let base = collector.ui_url().expect("the web view is on");

    // A real trace: the in-process example over OTLP/HTTP.
    let mut command = testing::example_command(&example.to_string_lossy());
    command.args(["--endpoint", &collector.http_endpoint()]);
    let out = testing::run(&mut command, Duration::from_secs(60))
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
    send(&collector, EVIL_SERVICE, vec![evil]).await;
    // A healthy server span of the service whose colour used to be red.
    let healthy = timed(&HEALTHY_TRACE, 0xe4, None, "GET /hello", 0, 5);
    send(&collector, "otlp-http-server", vec![healthy]).await;
    collector.wait_for_spans(11, WAIT).await.expect("11 spans");
    let evil_id = hex(&EVIL_TRACE);

    // The list: both traces, the example's with its 9 spans.
    let dom = dump_dom(&browser, &base, "list.html").await;
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
    let url = format!("{base}#trace={}&span={get_user_100}", real.trace_id);
    let dom = dump_dom(&browser, &url, "waterfall.html").await;
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
    let dom = dump_dom(&browser, &url, "escaped.html").await;
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
    let dom = dump_dom(&browser, &url, "healthy.html").await;
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
    let url = format!("{base}#trace={}&span={get_user_100}", real.trace_id);
    let waterfall = screenshot(&browser, &url, "waterfall.png").await;
    eprintln!("screenshot of the waterfall: {}", waterfall.display());
    let list = screenshot(&browser, &base, "list.png").await;
    eprintln!("screenshot of the trace list: {}", list.display());
    collector.shutdown().await;
}

/// Saves a 1400x900 screenshot of `url` in `target/ui-artifacts`.
async fn screenshot(browser: &Path, url: &str, name: &str) -> PathBuf {
    let path = artifact_dir().join(name);
    let _ = std::fs::remove_file(&path);
    chromium_run(
        browser,
        url,
        &[
            &format!("--screenshot={}", path.display()),
            "--window-size=1400,900",
        ],
    )
    .await;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {}", path.display());
    path
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
