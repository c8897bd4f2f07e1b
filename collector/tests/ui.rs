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
            "run": 1,
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

/// A page of a trace's spans (`offset`, `limit`: what the web view fetches
/// first for a big trace), `span_count` for all of them; a bad page
/// parameter is a 400; the answer is gzip-compressed for a client that
/// takes gzip, and plain for one that does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_comes_in_pages_and_gzip_when_the_client_takes_it() {
    let (collector, ui) = start().await;
    let id = [7; 16];
    let mut spans = vec![timed(&id, 1, None, "root", 0, 100)];
    for n in 2..=40u8 {
        let mut child = timed(&id, n, Some(1), &format!("child-{n}"), u64::from(n), 90);
        child
            .attributes
            .push(string_attr("padding", &"x".repeat(100)));
        spans.push(child);
    }
    send(collector.http_addr(), "paged", spans).await;
    collector.wait_for_spans(40, WAIT).await.expect("40 spans");
    let path = format!("/api/traces/{}", "07".repeat(16));

    let names = |json: &Value| -> Vec<String> {
        json["spans"]
            .as_array()
            .expect("spans")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (status, all, plain) = get_json(ui, &path).await;
    assert_eq!(status, 200);
    assert_eq!(all["span_count"], 40);
    assert_eq!(all["offset"], 0);
    assert_eq!(names(&all).len(), 40);
    assert_eq!(plain.header("content-encoding"), None, "not asked for gzip");
    let (status, page, _) = get_json(ui, &format!("{path}?offset=2&limit=3")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["span_count"], 40);
    assert_eq!(page["offset"], 2);
    assert_eq!(names(&page), names(&all)[2..5]);
    let (status, rest, _) = get_json(ui, &format!("{path}?offset=38")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&rest), names(&all)[38..]);
    let (status, error, _) = get_json(ui, &format!("{path}?offset=-1")).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("offset and limit")),
        "{error}"
    );

    let gzipped = get(ui, &path, &[("Accept-Encoding", "gzip, deflate, br")]).await;
    assert_eq!(gzipped.status, 200);
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    assert!(
        gzipped.body.len() < plain.body.len() / 3,
        "{} of {} bytes",
        gzipped.body.len(),
        plain.body.len()
    );
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gzipped.body[..]),
        &mut unzipped,
    )
    .expect("gzip");
    assert_eq!(unzipped, plain.body, "the same answer, compressed");
    let refused = get(ui, &path, &[("Accept-Encoding", "gzip;q=0, identity")]).await;
    assert_eq!(refused.header("content-encoding"), None);

    // The page's icon: no 404 on a page load.
    for icon in ["/favicon.ico", "/favicon.svg"] {
        let answer = get(ui, icon, &[]).await;
        assert_eq!(answer.status, 200, "{icon}");
        assert_eq!(
            answer.header("content-type"),
            Some("image/svg+xml"),
            "{icon}"
        );
    }
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

/// Method, path, headers, body; the status and what the error says.
type ErrorCase<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [u8],
    u16,
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_error_is_json_that_says_what_to_do() {
    let collector = Collector::start(CollectorConfig {
        max_upload_bytes: 100,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector");
    let ui = collector.ui_addr().expect("the web view is on");
    let big = vec![b' '; 101];
    let cases: [ErrorCase<'_>; 8] = [
        (
            "POST",
            "/api/logs",
            &[],
            b"",
            405,
            "method POST not allowed on /api/logs: use GET",
        ),
        (
            "PUT",
            "/api/traces",
            &[],
            b"",
            405,
            "method PUT not allowed on /api/traces: use GET or HEAD or POST",
        ),
        ("DELETE", "/", &[], b"", 405, "use GET"),
        (
            "GET",
            "/api/nothing",
            &[],
            b"",
            404,
            "no such page: /api/nothing",
        ),
        (
            "GET",
            "/api/logs?limit=x",
            &[],
            b"",
            400,
            "limit must be a whole number",
        ),
        (
            "POST",
            "/api/traces",
            &[("Content-Type", "text/plain")],
            b"{}",
            415,
            "unsupported content type text/plain",
        ),
        (
            "POST",
            "/api/traces",
            &[("Content-Type", "application/json")],
            &big,
            413,
            "file too large: an upload takes at most 100 bytes",
        ),
        (
            "POST",
            "/api/traces",
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "br"),
            ],
            b"{}",
            400,
            "unsupported content encoding br",
        ),
    ];
    for (method, path, headers, body, status, says) in cases {
        let response = http_request(ui, method, path, headers, body).await;
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{method} {path}"
        );
        let json: Value = serde_json::from_slice(&response.body)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {}", response.text()));
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{method} {path}: {error}");
        if status == 405 {
            assert!(
                response.header("allow").is_some(),
                "{method} {path}: an Allow header"
            );
        }
    }
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

/// The `root_name`s of `/api/traces?{query}`, newest first.
async fn search(ui: SocketAddr, query: &str) -> Vec<String> {
    let (status, json, _) = get_json(ui, &format!("/api/traces?{query}")).await;
    assert_eq!(status, 200, "{query}: {json:#}");
    json["traces"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["root_name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_list_searches_by_service_span_attribute_duration_and_errors() {
    let (collector, ui) = start().await;
    two_traces(&collector).await;
    // A third: `batch` (svc-c, 200 ms) with a resource attribute.
    let mut request = export("svc-c", vec![timed(&[3; 16], 4, None, "batch", 2000, 2200)]);
    if let Some(resource) = request.resource_spans[0].resource.as_mut() {
        resource
            .attributes
            .push(string_attr("deployment.environment", "staging"));
    }
    assert_eq!(
        post_export(collector.http_addr(), &request).await.status,
        200
    );
    collector.wait_for_spans(4, WAIT).await.expect("4 spans");

    assert_eq!(search(ui, "").await, ["batch", "main", "older"]);
    assert_eq!(search(ui, "service=svc-b").await, ["main"]);
    assert_eq!(search(ui, "span=GetUser").await, ["main"]);
    assert_eq!(search(ui, "span=main&service=svc-a").await, ["main"]);
    assert!(
        search(ui, "span=getuser").await.is_empty(),
        "names are exact"
    );
    // Values read as the API shows them: an int as its JSON.
    assert_eq!(search(ui, "attr=user.id=100").await, ["main"]);
    assert!(search(ui, "attr=user.id=1").await.is_empty());
    // The name and the attributes on one span.
    assert_eq!(search(ui, "span=GetUser&attr=user.id=100").await, ["main"]);
    assert!(search(ui, "span=main&attr=user.id=100").await.is_empty());
    // Resource attributes count, and repeated `attr`s all must hold.
    assert_eq!(
        search(ui, "attr=deployment.environment=staging").await,
        ["batch"]
    );
    assert_eq!(
        search(
            ui,
            "attr=service.name=svc-c&attr=deployment.environment=staging"
        )
        .await,
        ["batch"]
    );
    assert!(
        search(
            ui,
            "attr=service.name=svc-a&attr=deployment.environment=staging"
        )
        .await
        .is_empty()
    );
    // Percent-encoded, as a browser's form sends it.
    assert_eq!(search(ui, "attr=user.id%3D100").await, ["main"]);
    // Durations: older 100 ms, main 50 ms, batch 200 ms.
    assert_eq!(search(ui, "min_duration_ms=100").await, ["batch", "older"]);
    assert_eq!(search(ui, "max_duration_ms=99.5").await, ["main"]);
    assert_eq!(
        search(ui, "min_duration_ms=60&max_duration_ms=150").await,
        ["older"]
    );
    assert_eq!(search(ui, "errors=true").await, ["main"]);
    assert_eq!(
        search(ui, "errors=true&service=svc-c").await,
        Vec::<String>::new()
    );
    assert_eq!(search(ui, "limit=2").await, ["batch", "main"]);
    // The library answers the same.
    let query = collector::TraceQuery {
        attributes: vec![("user.id".into(), "100".into())],
        ..Default::default()
    };
    let found: Vec<String> = collector
        .search(&query)
        .into_iter()
        .map(|t| t.root_name)
        .collect();
    assert_eq!(found, ["main"]);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_search_parameter_is_a_json_400_that_says_what_is_wrong() {
    let (collector, ui) = start().await;
    for (query, says) in [
        ("min_duration_ms=abc", "min_duration_ms must be a number"),
        ("max_duration_ms=-3", "max_duration_ms must be a number"),
        ("attr=novalue", "attr must be KEY=VALUE"),
        ("errors=maybe", "errors must be true or false"),
        ("limit=many", "limit must be a whole number"),
        ("sevice=x", "unknown parameter \"sevice\""),
    ] {
        let (status, json, response) = get_json(ui, &format!("/api/traces?{query}")).await;
        assert_eq!(status, 400, "{query}: {json:#}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{query}: {error}");
    }
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_critical_path_is_flagged_on_each_span() {
    let (collector, ui) = start().await;
    // root 0-100; a 10-60 and b 20-40 overlap (a finishes last); c 70-90.
    let t = [7; 16];
    send(
        collector.http_addr(),
        "svc",
        vec![
            timed(&t, 2, Some(1), "a", 10, 60),
            timed(&t, 3, Some(1), "b", 20, 40),
            timed(&t, 4, Some(1), "c", 70, 90),
            timed(&t, 5, Some(9), "orphan", 0, 200),
            timed(&t, 1, None, "root", 0, 100),
        ],
    )
    .await;
    let (status, json, _) = get_json(ui, &format!("/api/traces/{}", "07".repeat(16))).await;
    assert_eq!(status, 200, "{json:#}");
    let flags: Vec<(&str, bool)> = json["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default(),
                s["critical_path"].as_bool().expect("a flag on every span"),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("orphan", false),
            ("root", true),
            ("a", true),
            ("b", false),
            ("c", true)
        ]
    );
    let root = &json["spans"][1];
    let ms = 1_000_000u64;
    assert_eq!(
        root["critical_sections"],
        serde_json::json!([[0, 10 * ms], [60 * ms, 70 * ms], [90 * ms, 100 * ms]])
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_count_the_calls_between_services() {
    let (collector, ui) = start().await;
    two_traces(&collector).await;
    // Two more calls svc-a -> svc-b, one svc-b -> svc-c, and a same-service
    // child that is no call.
    let t = [4; 16];
    send(
        collector.http_addr(),
        "svc-a",
        vec![
            timed(&t, 1, None, "root", 0, 10),
            timed(&t, 5, Some(1), "local", 0, 1),
        ],
    )
    .await;
    send(
        collector.http_addr(),
        "svc-b",
        vec![
            timed(&t, 2, Some(1), "x", 1, 2),
            timed(&t, 3, Some(1), "y", 2, 3),
        ],
    )
    .await;
    send(
        collector.http_addr(),
        "svc-c",
        vec![timed(&t, 4, Some(3), "z", 2, 3)],
    )
    .await;
    collector.wait_for_spans(8, WAIT).await.expect("8 spans");
    let (status, json, _) = get_json(ui, "/api/dependencies").await;
    assert_eq!(status, 200);
    assert_eq!(
        json,
        serde_json::json!({"dependencies": [
            {"parent": "svc-a", "child": "svc-b", "calls": 3},
            {"parent": "svc-b", "child": "svc-c", "calls": 1},
        ]})
    );
    collector.shutdown().await;
}

/// The HTTP example's shape, sent over OTLP by two services: the client's
/// `StartRequests` 0-10 ms and its `GET` 1-9 ms, the server's `GET /hello`
/// 2-8 ms with `HelloHandler` 3-4 ms, and a second `HelloHandler` 5-6 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_add_up_to_the_trace_and_the_sentence_names_its_critical_span() {
    let (collector, ui) = start().await;
    let t = [8; 16];
    let mut get = timed(&t, 2, Some(1), "GET", 1, 9);
    get.kind = 3;
    send(
        collector.http_addr(),
        "client",
        vec![timed(&t, 1, None, "StartRequests", 0, 10), get],
    )
    .await;
    send(
        collector.http_addr(),
        "server",
        vec![
            timed(&t, 3, Some(2), "GET /hello", 2, 8),
            timed(&t, 4, Some(3), "HelloHandler", 3, 4),
            timed(&t, 5, Some(3), "HelloHandler", 5, 6),
        ],
    )
    .await;
    collector.wait_for_spans(5, WAIT).await.expect("5 spans");
    let id = "08".repeat(16);
    let (status, json, _) = get_json(ui, &format!("/api/traces/{id}/stats")).await;
    assert_eq!(status, 200, "{json:#}");
    let ms = 1_000_000u64;
    assert_eq!(json["duration_nanos"], 10 * ms);
    // Self times: 2 + 2 + 4 + 1 + 1 ms, the root's 10 ms.
    let sum = |rows: &Value| -> u64 {
        rows.as_array()
            .expect("rows")
            .iter()
            .map(|r| r["self_nanos"].as_u64().expect("self_nanos"))
            .sum()
    };
    assert_eq!(sum(&json["operations"]), 10 * ms, "{json:#}");
    assert_eq!(sum(&json["services"]), 10 * ms, "{json:#}");
    assert_eq!(json["tree_self_nanos"], 10 * ms);
    assert_eq!(
        (
            json["parallel_nanos"].as_u64(),
            json["outside_nanos"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let handler = json["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|r| r["name"] == "HelloHandler")
        .expect("a HelloHandler row");
    assert_eq!(handler["service"], "server");
    assert_eq!(
        (
            &handler["count"],
            &handler["total_nanos"],
            &handler["self_nanos"]
        ),
        (&Value::from(2), &Value::from(2 * ms), &Value::from(2 * ms))
    );
    assert_eq!(handler["share"], 0.2);
    let server = &json["services"][0];
    assert_eq!(
        (&server["service"], &server["self_nanos"]),
        (&Value::from("server"), &Value::from(6 * ms))
    );
    // The two HelloHandler spans are one frame, under GET /hello.
    let frames = json["flame"].as_array().expect("frames");
    assert_eq!(frames.len(), 4, "{json:#}");
    assert_eq!(
        (
            &frames[3]["name"],
            &frames[3]["count"],
            &frames[3]["parent"]
        ),
        (
            &Value::from("HelloHandler"),
            &Value::from(2),
            &Value::from(2)
        )
    );
    // The critical path runs through the server span, 6 ms of it, 4 ms its own.
    let summary = json["summary"].as_array().expect("the sentence");
    let text: String = summary
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default())
        .collect();
    assert!(
        text.starts_with("10.00 ms in all; 6.00 ms of it is GET /hello on server, of which 4.00 ms is its own work"),
        "{text}"
    );
    assert_eq!(summary[1]["span_id"], "0303030303030303", "{json:#}");

    let (status, json, _) = get_json(ui, &format!("/api/traces/{}/stats", "ab".repeat(16))).await;
    assert_eq!(status, 404);
    assert!(
        json["error"]
            .as_str()
            .is_some_and(|e| e.contains("no trace with id")),
        "{json:#}"
    );
    collector.shutdown().await;
}
