//! The collector's web view, rendered in headless Chromium after a real
//! example (`examples-inprocess-http`) sent its trace: the healthy bar is not
//! red and markup from span data never runs. It lives here, not in the
//! collector's tests, because it runs an example binary; the collector's own
//! tests need none. Screenshots and DOM dumps go to `target/ui-artifacts`;
//! without Chromium the test is skipped, unless `REQUIRE_BROWSER_TEST=1`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Event};
use prost::Message as _;
use testkit::expect;
use testkit::http::post;
use testkit::process::{self, Finished};

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

type OtlpSpan = Span;

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
    let finished = process::run(&mut command, Duration::from_secs(120))
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
    let example = process::workspace_binary("examples-inprocess-http")
        .expect("the example binary (run `cargo test --workspace`, which builds it)");

    let (collector, _) = start().await;
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

// ---- OTLP requests built by hand and a minimal HTTP/1.1 client (from the collector's tests/support) ----

fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

/// A span of `service` with start 1 s and end 1.5 s after the epoch.
fn span(trace_id: &[u8], span_id: &[u8], parent: Option<&[u8]>, name: &str) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.map(<[u8]>::to_vec).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_500_000_000,
        ..Default::default()
    }
}

/// One resource (with `service.name`) and one scope holding `spans`.
fn export(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test-scope".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}
