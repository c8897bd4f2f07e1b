//! The web view: its JSON API with hand-sent spans, and its headers. The
//! rendered page in headless Chromium, after a real example sent its trace,
//! is tested in `testkit/tests/browser.rs` (it runs an example binary).

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::trace::v1::{Status, span::Event};
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

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value, HttpResponse) {
    let response = get(addr, path, &[]).await;
    let json = serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", response.text()));
    (response.status, json, response)
}

/// Two traces: `older` (one span of `svc-a`) and `newer` (`main` of `svc-a`
/// calling `GetUser` of `svc-b`, which failed and logged an event).
async fn two_traces(collector: &Collector) {
    let otlp = collector.http_addr();
    send(
        otlp,
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
    send(otlp, "svc-b", vec![get_user]).await;
    send(
        otlp,
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
    let response = get(ui, "/", &[]).await;
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
