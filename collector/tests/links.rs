//! Span links in the JSON API (`links` and `linked_from` on the spans of
//! `GET /api/traces/{id}`), and the service map with databases and caches
//! (`GET /api/map`): real OTLP/HTTP into a real collector, read back over
//! HTTP.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span::Link};
use serde_json::{Value, json};
use support::*;

const WAIT: Duration = Duration::from_secs(10);

async fn start(config: CollectorConfig) -> (Collector, SocketAddr) {
    let collector = Collector::start(config)
        .await
        .expect("starting the collector");
    let ui = collector.ui_addr().expect("the web view is on");
    (collector, ui)
}

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let response = get(addr, path, &[]).await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", response.text()))
}

fn link(trace: [u8; 16], span: u8) -> Link {
    Link {
        trace_id: trace.to_vec(),
        span_id: vec![span; 8],
        attributes: vec![string_attr("link.reason", "retry")],
        ..Default::default()
    }
}

/// The span with id `[n; 8]` of a trace's JSON.
fn span_of(trace: &Value, n: u8) -> &Value {
    let id = format!("{n:02x}").repeat(8);
    trace["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .find(|s| s["span_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no span {id} in {trace:#}"))
}

const A: [u8; 16] = [0xa; 16];
const B: [u8; 16] = [0xb; 16];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_shown_both_ways_within_and_across_traces() {
    let (collector, ui) = start(CollectorConfig::ephemeral()).await;
    let otlp = collector.http_addr();
    // Trace A: a first attempt (1) and, in the same trace, a retry (2)
    // linked to it.
    let first = timed(&A, 1, None, "first attempt", 0, 10);
    let mut retry = timed(&A, 2, None, "retry", 20, 30);
    retry.links.push(link(A, 1));
    send(otlp, "client", vec![first, retry]).await;
    // Trace B: a span linked to A's first attempt, and to a span that is
    // not stored anywhere.
    let mut batch = timed(&B, 3, None, "batch", 40, 50);
    batch.links.push(link(A, 1));
    batch.links.push(link(B, 9));
    send(otlp, "worker", vec![batch]).await;
    collector.wait_for_spans(3, WAIT).await.expect("3 spans");

    let a = get_json(ui, &format!("/api/traces/{}", "0a".repeat(16))).await;
    let retry = span_of(&a, 2);
    assert_eq!(
        retry["links"],
        json!([{
            "trace_id": "0a".repeat(16),
            "span_id": "01".repeat(8),
            "attributes": {"link.reason": "retry"},
            "stored": true,
        }])
    );
    assert!(retry.get("linked_from").is_none(), "{retry:#}");
    let first = span_of(&a, 1);
    assert!(
        first.get("links").is_none(),
        "no links: no field: {first:#}"
    );
    let mut from = first["linked_from"]
        .as_array()
        .expect("linked_from")
        .clone();
    from.sort_by_key(|f| f["span_id"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        from,
        [
            json!({"trace_id": "0a".repeat(16), "span_id": "02".repeat(8), "name": "retry", "service_name": "client"}),
            json!({"trace_id": "0b".repeat(16), "span_id": "03".repeat(8), "name": "batch", "service_name": "worker"}),
        ]
    );

    let b = get_json(ui, &format!("/api/traces/{}", "0b".repeat(16))).await;
    let stored: Vec<(&str, bool)> = span_of(&b, 3)["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| {
            (
                l["span_id"].as_str().unwrap_or_default(),
                l["stored"] == true,
            )
        })
        .collect();
    assert_eq!(
        stored,
        [("0101010101010101", true), ("0909090909090909", false)],
        "a link to an absent span is not stored"
    );
    // A page of the waterfall carries them too.
    let page = get_json(
        ui,
        &format!("/api/traces/{}?offset=0&limit=1", "0a".repeat(16)),
    )
    .await;
    assert_eq!(
        page["spans"][0]["linked_from"].as_array().map(Vec::len),
        Some(2)
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_linking_trace_leaves_no_linked_from() {
    let config = CollectorConfig {
        max_traces: 2,
        ..CollectorConfig::ephemeral()
    };
    let (collector, ui) = start(config).await;
    let otlp = collector.http_addr();
    send(otlp, "a", vec![timed(&A, 1, None, "target", 0, 10)]).await;
    let mut linking = timed(&B, 2, None, "linking", 20, 30);
    linking.links.push(link(A, 1));
    send(otlp, "b", vec![linking]).await;
    collector.wait_for_spans(2, WAIT).await.expect("2 spans");
    let a = format!("/api/traces/{}", "0a".repeat(16));
    let before = get_json(ui, &a).await;
    assert_eq!(
        span_of(&before, 1)["linked_from"].as_array().map(Vec::len),
        Some(1)
    );

    // A third trace makes the oldest (A, the target) go; a fourth, B.
    send(otlp, "c", vec![timed(&[0xc; 16], 3, None, "c", 40, 50)]).await;
    collector
        .wait_for_spans(2, WAIT)
        .await
        .expect("still 2 spans");
    let b = get_json(ui, &format!("/api/traces/{}", "0b".repeat(16))).await;
    assert_eq!(
        span_of(&b, 2)["links"][0]["stored"],
        false,
        "the target went"
    );
    // The target comes back (the exporter retried it), then B goes: the
    // target no longer shows B's link.
    send(otlp, "d", vec![timed(&[0xd; 16], 4, None, "d", 60, 70)]).await;
    send(otlp, "a", vec![timed(&A, 1, None, "target", 0, 10)]).await;
    collector
        .wait_for_trace(|t| t.trace_id == "0a".repeat(16), WAIT)
        .await
        .expect("A again");
    assert!(collector.trace(&"0b".repeat(16)).is_none(), "B evicted");
    // B's span comes again, without its link this time: an entry left
    // behind by the evicted B would show it as linking.
    send(otlp, "b", vec![timed(&B, 2, None, "linking", 20, 30)]).await;
    collector
        .wait_for_trace(|t| t.trace_id == "0b".repeat(16), WAIT)
        .await
        .expect("B again");
    let after = get_json(ui, &a).await;
    assert!(
        span_of(&after, 1).get("linked_from").is_none(),
        "no dangling entry: {after:#}"
    );
    collector.shutdown().await;
}

fn attrs(span: &mut Span, pairs: &[(&str, &str)]) {
    for (k, v) in pairs {
        span.attributes.push(string_attr(k, v));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_has_databases_caches_counts_and_methods() {
    let (collector, ui) = start(CollectorConfig::ephemeral()).await;
    let otlp = collector.http_addr();
    const T: [u8; 16] = [0x1; 16];
    let mut call = timed(&T, 1, None, "/user.User/GetUser", 0, 100);
    call.kind = 3;
    attrs(&mut call, &[("rpc.method", "user.User/GetUser")]);
    send(otlp, "web", vec![call]).await;
    let mut server = timed(&T, 2, Some(1), "user.User/GetUser", 1, 99);
    server.kind = 2;
    attrs(&mut server, &[("rpc.method", "user.User/GetUser")]);
    let mut select = timed(&T, 3, Some(2), "SELECT user", 2, 10);
    select.kind = 3;
    attrs(
        &mut select,
        &[("db.system.name", "mysql"), ("server.address", "db.local")],
    );
    select.attributes.push(int_attr("server.port", 3306));
    let mut failed = timed(&T, 4, Some(2), "SELECT user", 11, 20);
    failed.kind = 3;
    failed.attributes = select.attributes.clone();
    failed.status = Some(Status {
        code: 2,
        message: "timeout".into(),
    });
    let mut get_cached = timed(&T, 5, Some(2), "GET", 21, 22);
    get_cached.kind = 3;
    attrs(&mut get_cached, &[("db.system", "redis")]);
    let mut local = timed(&T, 6, Some(2), "GET", 23, 24);
    attrs(&mut local, &[("cache.key", "SelectCache:userInfo:1")]);
    send(
        otlp,
        "users",
        vec![server, select, failed, get_cached, local],
    )
    .await;
    collector.wait_for_spans(6, WAIT).await.expect("6 spans");

    let map = get_json(ui, "/api/map").await;
    assert_eq!(
        map["nodes"],
        json!([
            {"name": "in-process cache (users)", "kind": "cache", "calls": 1, "errors": 0},
            {"name": "mysql db.local:3306", "kind": "database", "calls": 2, "errors": 1},
            {"name": "redis", "kind": "cache", "calls": 1, "errors": 0},
            {"name": "users", "kind": "service", "calls": 1, "errors": 0},
            {"name": "web", "kind": "service", "calls": 0, "errors": 0},
        ]),
        "{map:#}"
    );
    let edges = map["edges"].as_array().expect("edges");
    assert_eq!(
        edges[3],
        json!({"from": "web", "to": "users", "calls": 1, "errors": 0, "methods": ["user.User/GetUser"]}),
        "{map:#}"
    );
    assert_eq!(edges.len(), 4, "{map:#}");
    // The old answer is unchanged.
    let dependencies = get_json(ui, "/api/dependencies").await;
    assert_eq!(
        dependencies["dependencies"],
        json!([{"parent": "web", "child": "users", "calls": 1}])
    );
    collector.shutdown().await;
}
