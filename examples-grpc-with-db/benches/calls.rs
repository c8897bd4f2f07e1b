//! What the gRPC tracing layers cost per call.
//!
//! The same unary `Query` on loopback, twice: through the client layer and
//! the server layer (CLIENT and SERVER span, context and baggage injected
//! and extracted, the status read from the trailers), and with no layer at
//! all. The handler answers from memory (no database), so what differs is
//! the layers. The spans go to a real `SdkTracerProvider` with a batch
//! processor whose exporter drops them; the W3C propagators are installed
//! as `telemetry::init` does; no `tracing` subscriber is installed, so the
//! access line is not formatted (in the example it goes to stderr).
//!
//! ```text
//! cargo bench -p examples-grpc-with-db --bench calls
//! ```
//!
//! The servers run on a runtime of their own (one worker thread), the
//! clients on the bench's thread (a current-thread runtime), as a client
//! process and a server process would: with both on one shared runtime,
//! where each task lands decided the timings (one run in three put the
//! connection's tasks where every call waited ~200 µs longer, traced or
//! not), which measured the scheduler rather than the layers.
//!
//! divan times each alone; then the two are timed in alternating rounds
//! (so that a noisy neighbour hits both alike) and the ratio of their
//! medians is printed: the target is at most 1.2.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use examples_grpc_with_db::otel::{ClientTracing, ServerTracing, TracedClient};
use examples_grpc_with_db::proto::user_client::UserClient;
use examples_grpc_with_db::proto::user_server::{User, UserServer};
use examples_grpc_with_db::proto::{
    DeleteReq, DeleteRes, InsertReq, InsertRes, QueryReq, QueryRes,
};
use http::Uri;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{FutureExt as _, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::{Request, Response, Status};
use tower::ServiceBuilder;

fn main() {
    // Exported often enough that the queue never fills: no span is dropped.
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(Duration::from_millis(100))
        .with_max_queue_size(65_536)
        .build();
    let processor = BatchSpanProcessor::builder(Discard)
        .with_batch_config(batch)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    divan::main();
    alternating_ratio();
    let _ = provider.shutdown();
}

/// Spans that reached the exporter, to show the traced calls made them.
static EXPORTED: AtomicU64 = AtomicU64::new(0);

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        EXPORTED.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// A `user.User` whose Query answers from memory.
struct InMemory;

#[tonic::async_trait]
impl User for InMemory {
    async fn insert(&self, _: Request<InsertReq>) -> Result<Response<InsertRes>, Status> {
        Err(Status::unimplemented("not measured"))
    }

    async fn query(&self, request: Request<QueryReq>) -> Result<Response<QueryRes>, Status> {
        Ok(Response::new(QueryRes {
            id: request.into_inner().id,
            name: "john".to_owned(),
        }))
    }

    async fn delete(&self, _: Request<DeleteReq>) -> Result<Response<DeleteRes>, Status> {
        Err(Status::unimplemented("not measured"))
    }
}

/// Both servers on a runtime of their own, both clients on the bench's
/// thread; built once.
struct Setup {
    /// Drives the clients (and their connections) on the calling thread.
    runtime: Runtime,
    /// Runs the servers, on a thread of its own.
    _servers: Runtime,
    traced: UserClient<TracedClient<Channel>>,
    plain: UserClient<Channel>,
    /// The client's context: a parent span and the baggage `uid=100`.
    cx: Context,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let servers = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the servers' runtime");
        let (traced_addr, plain_addr) =
            servers.block_on(async { (serve(true).await, serve(false).await) });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the clients' runtime");
        let (traced, plain) = runtime.block_on(async {
            let url: Uri = format!("http://{traced_addr}").parse().expect("a URI");
            let traced = ServiceBuilder::new()
                .layer(ClientTracing::new(&url))
                .service(connect(traced_addr).await);
            (
                UserClient::new(traced),
                UserClient::new(connect(plain_addr).await),
            )
        });
        let span = global::tracer("bench").start("StartRequests");
        let cx = Context::current_with_span(span).with_baggage([KeyValue::new("uid", "100")]);
        Setup {
            runtime,
            _servers: servers,
            traced,
            plain,
            cx,
        }
    })
}

/// The in-memory service on a free loopback port, behind the server layer
/// when `traced`.
async fn serve(traced: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    let incoming = TcpIncoming::from(listener);
    let service = UserServer::new(InMemory);
    if traced {
        let server = Server::builder()
            .layer(ServerTracing::new().with_baggage(["uid"]))
            .serve_with_incoming(service, incoming);
        tokio::spawn(server);
    } else {
        tokio::spawn(Server::builder().serve_with_incoming(service, incoming));
    }
    addr
}

async fn connect(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("the bench server answers")
}

fn traced_query(setup: &Setup) -> i32 {
    let mut client = setup.traced.clone();
    let call = async move { client.query(QueryReq { id: 1 }).await };
    let answer = setup.runtime.block_on(call.with_context(setup.cx.clone()));
    answer.expect("an answer").into_inner().id
}

fn plain_query(setup: &Setup) -> i32 {
    let mut client = setup.plain.clone();
    let answer = setup
        .runtime
        .block_on(async move { client.query(QueryReq { id: 1 }).await });
    answer.expect("an answer").into_inner().id
}

#[divan::bench]
fn query_traced(bencher: divan::Bencher<'_, '_>) {
    let setup = setup();
    bencher.bench_local(|| traced_query(setup));
}

#[divan::bench]
fn query_untraced(bencher: divan::Bencher<'_, '_>) {
    let setup = setup();
    bencher.bench_local(|| plain_query(setup));
}

/// Rounds of [`BATCH`] calls of each, alternating; prints both medians and
/// their ratio.
fn alternating_ratio() {
    const ROUNDS: usize = 101;
    const BATCH: u32 = 200;
    let setup = setup();
    let time = |query: fn(&Setup) -> i32| {
        let start = Instant::now();
        for _ in 0..BATCH {
            divan::black_box(query(setup));
        }
        start.elapsed() / BATCH
    };
    let mut traced = Vec::with_capacity(ROUNDS);
    let mut plain = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        traced.push(time(traced_query));
        plain.push(time(plain_query));
    }
    let (traced, plain) = (median(traced), median(plain));
    // Let the batch processor export what is queued, for the count.
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "Query on loopback: traced {traced:?}, untraced {plain:?} per call (median of {ROUNDS} \
         alternating rounds of {BATCH}): ratio {:.3} (target <= 1.2), {:?} more per call; \
         {} spans exported",
        traced.as_secs_f64() / plain.as_secs_f64(),
        traced.saturating_sub(plain),
        EXPORTED.load(Ordering::Relaxed)
    );
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}
