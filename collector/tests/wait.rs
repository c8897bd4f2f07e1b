//! Waiting for spans: returns as soon as they arrive, or fails with a clear
//! message when they never do.

mod support;

use std::time::{Duration, Instant};

use collector::{Collector, CollectorConfig};
use support::*;

async fn start() -> Collector {
    Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_time_out_with_a_clear_error() {
    let collector = start().await;

    let err = collector
        .wait_for_spans(3, Duration::from_millis(200))
        .await
        .expect_err("nothing was sent");
    let message = err.to_string();
    assert!(message.contains("timed out after 200ms"), "{message}");
    assert!(message.contains("waiting for 3 span(s)"), "{message}");
    assert!(message.contains("has 0 span(s) in 0 trace(s)"), "{message}");
    assert_eq!((err.spans, err.traces), (0, 0));

    let err = collector
        .wait_for_trace(
            |t| t.span_named("main").is_some(),
            Duration::from_millis(200),
        )
        .await
        .expect_err("nothing was sent");
    assert!(err.to_string().contains("a matching trace"), "{err}");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_reports_what_did_arrive() {
    let collector = start().await;
    let main = span(&TRACE_ID, &SPAN_ID, None, "main");
    send(collector.http_addr(), "svc", vec![main]).await;
    let err = collector
        .wait_for_spans(2, Duration::from_millis(100))
        .await
        .expect_err("only one span was sent");
    assert!(
        err.to_string().contains("has 1 span(s) in 1 trace(s)"),
        "{err}"
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_return_as_soon_as_spans_arrive() {
    let collector = start().await;
    let addr = collector.http_addr();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let child_id = [9u8; 8];
        let spans = vec![
            span(&TRACE_ID, &child_id, Some(&SPAN_ID), "GetUser"),
            span(&TRACE_ID, &SPAN_ID, None, "main"),
        ];
        send(addr, "svc", spans).await;
    });

    let started = Instant::now();
    let generous = Duration::from_secs(30);
    let spans = collector
        .wait_for_spans(2, generous)
        .await
        .expect("two spans");
    assert_eq!(spans.len(), 2);
    let trace = collector
        .wait_for_trace(|t| t.root().is_some_and(|r| r.name == "main"), generous)
        .await
        .expect("the trace");
    assert!(started.elapsed() < generous);
    assert_eq!(trace.spans_named("GetUser").len(), 1);
    assert_eq!(
        trace
            .parent(trace.spans_named("GetUser")[0])
            .map(|s| s.name.as_str()),
        Some("main")
    );
    sender
        .await
        .expect("the sender task (its export answered 200)");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_spans_are_stored_once() {
    let collector = start().await;
    for _ in 0..2 {
        let main = span(&TRACE_ID, &SPAN_ID, None, "main");
        send(collector.http_addr(), "svc", vec![main]).await;
    }
    assert_eq!(collector.spans().len(), 1);
    assert_eq!(collector.requests().len(), 2);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_bounded_with_open_connections() {
    let collector = start().await;
    // Idle connections that never send anything must not hold shutdown up.
    let _grpc = tokio::net::TcpStream::connect(collector.grpc_addr())
        .await
        .expect("connect");
    let _http = tokio::net::TcpStream::connect(collector.http_addr())
        .await
        .expect("connect");
    let started = Instant::now();
    collector.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_traces_come_once_complete_and_quiet_to_every_feed() {
    let collector = start().await;
    let mut first = collector.settled_traces();
    let child_id = [9u8; 8];
    send(
        collector.http_addr(),
        "svc",
        vec![span(&TRACE_ID, &child_id, Some(&SPAN_ID), "GetUser")],
    )
    .await;
    // Incomplete (its parent is missing): not settled in a second and a
    // half, while the feed waits (for it to give up, five seconds)...
    let waiting = tokio::spawn(async move {
        let trace = first.next().await;
        (trace, first)
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!waiting.is_finished(), "an incomplete trace settled");

    // ...and complete, it settles a second after its last span.
    send(
        collector.http_addr(),
        "svc",
        vec![span(&TRACE_ID, &SPAN_ID, None, "main")],
    )
    .await;
    let completed = Instant::now();
    let (trace, mut first) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the trace settles")
        .expect("the feed's task");
    let trace = trace.expect("the collector runs");
    let after = completed.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(3),
        "given {after:?} after it was complete, not once quiet for a second"
    );
    assert_eq!(
        (trace.trace_id.as_str(), trace.spans.len()),
        (TRACE_ID_HEX, 2)
    );

    // Another feed, made later, is given the same trace at once...
    let mut second = collector.settled_traces();
    let again = tokio::time::timeout(Duration::from_secs(1), second.next())
        .await
        .expect("already settled")
        .expect("the collector runs");
    assert_eq!(again.trace_id, TRACE_ID_HEX);
    // ...and neither is given it twice, not even when a late span comes.
    send(
        collector.http_addr(),
        "svc",
        vec![span(&TRACE_ID, &[7u8; 8], Some(&SPAN_ID), "late")],
    )
    .await;
    let nothing = tokio::time::timeout(Duration::from_millis(1500), first.next()).await;
    assert!(nothing.is_err(), "{nothing:?}");

    // Shutdown ends a feed that is waiting.
    let waiting = tokio::spawn(async move { second.next().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    collector.shutdown().await;
    let end = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the feed ends on shutdown")
        .expect("the feed's task");
    assert!(end.is_none(), "{end:?}");
    assert!(first.next().await.is_none());
}
