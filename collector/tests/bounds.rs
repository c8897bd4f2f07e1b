//! The store's bounds, through real OTLP/HTTP requests: a 40k-span trace in
//! one request, the total span bound (oldest traces evicted), the per-trace
//! cap (the trace says what it dropped), and the JSON API reporting both.

mod support;

use collector::{Collector, CollectorConfig};
use serde_json::Value;
use support::*;

async fn start(config: CollectorConfig) -> Collector {
    Collector::start(config)
        .await
        .expect("starting the collector")
}

fn trace_id(n: u32) -> [u8; 16] {
    let mut id = [7u8; 16];
    id[..4].copy_from_slice(&n.to_be_bytes());
    id
}

fn span_id(n: u64) -> [u8; 8] {
    (n + 1).to_be_bytes()
}

/// `n` spans of one trace: a chain (each the parent of the next) or a root
/// with `n - 1` children.
fn spans(trace: u32, n: u64, chain: bool) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    let id = trace_id(trace);
    (0..n)
        .map(|i| {
            let parent = match (i, chain) {
                (0, _) => None,
                (i, true) => Some(span_id(i - 1)),
                (_, false) => Some(span_id(0)),
            };
            span(&id, &span_id(i), parent.as_ref().map(|p| &p[..]), "s")
        })
        .collect()
}

async fn api(collector: &Collector, path: &str) -> Value {
    let addr = collector.ui_addr().expect("the web view is on");
    let response = get(addr, path, &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_40k_span_chain_in_one_request_is_stored_whole() {
    let collector = start(CollectorConfig::ephemeral()).await;
    send(collector.http_addr(), "bounds-svc", spans(1, 40_000, true)).await;

    let list = api(&collector, "/api/traces").await;
    let summary = &list["traces"][0];
    assert_eq!(summary["span_count"], 40_000);
    assert_eq!(summary["complete"], true);
    assert_eq!(summary["root_name"], "s");
    assert_eq!(summary["dropped_spans"], 0);

    let id = summary["trace_id"].as_str().expect("an id").to_owned();
    let detail = api(&collector, &format!("/api/traces/{id}")).await;
    let spans = detail["spans"].as_array().expect("spans");
    assert_eq!(spans.len(), 40_000);
    assert_eq!(spans[39_999]["depth"], 39_999);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_span_bound_evicts_the_oldest_traces_first() {
    let collector = start(CollectorConfig {
        max_spans: 1_000,
        max_spans_per_trace: 1_000,
        ..CollectorConfig::ephemeral()
    })
    .await;
    for trace in 0..3 {
        send(
            collector.http_addr(),
            "bounds-svc",
            spans(trace, 400, false),
        )
        .await;
    }
    assert_eq!(collector.span_count(), 800);
    let list = api(&collector, "/api/traces").await;
    let ids: Vec<&str> = list["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| t["trace_id"].as_str().expect("an id"))
        .collect();
    let hex = |n| {
        trace_id(n)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(ids.len(), 2, "{list}");
    assert!(!ids.contains(&hex(0).as_str()), "the oldest went: {list}");
    assert_eq!(list["evicted_traces"], 1);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_at_its_cap_says_what_it_dropped() {
    let collector = start(CollectorConfig {
        max_spans_per_trace: 100,
        ..CollectorConfig::ephemeral()
    })
    .await;
    let all = spans(1, 150, false);
    send(collector.http_addr(), "bounds-svc", all[..120].to_vec()).await;
    send(collector.http_addr(), "bounds-svc", all[120..].to_vec()).await;
    assert_eq!(collector.span_count(), 100);

    let list = api(&collector, "/api/traces").await;
    let summary = &list["traces"][0];
    assert_eq!(
        (
            summary["span_count"].as_u64(),
            summary["dropped_spans"].as_u64()
        ),
        (Some(100), Some(50))
    );
    let id = summary["trace_id"].as_str().expect("an id").to_owned();
    let detail = api(&collector, &format!("/api/traces/{id}")).await;
    assert_eq!(detail["dropped_spans"], 50);
    assert_eq!(collector.traces()[0].dropped_spans, 50);
    collector.shutdown().await;
}
