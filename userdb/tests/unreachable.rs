//! Servers that are not there (a closed port) or never answer (a socket
//! that accepts and stays silent): a database at start is one clear error
//! within a few seconds; a Redis never fails a request, and its spans say
//! it was skipped. No real server needed: these always run.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use support::{attr, text, traced};
use testkit::process::{BlackHole, closed_port};
use tracing_subscriber::layer::SubscriberExt as _;
use userdb::{DbUrl, RedisUrl, StoreArgs, User, Users};

fn store(db: &str, redis: Option<&str>) -> StoreArgs {
    StoreArgs {
        db: DbUrl::parse(db).unwrap(),
        redis: redis.map(|url| RedisUrl::parse(url).unwrap()),
    }
}

/// `Users::connect`'s error as one line, and how long it took.
async fn connect_error(args: &StoreArgs) -> (String, Duration) {
    let started = Instant::now();
    let error = Users::connect(args)
        .await
        .expect_err("nothing to connect to");
    (format!("{error:#}"), started.elapsed())
}

#[tokio::test]
async fn a_database_that_refuses_is_one_line_naming_it_with_the_password_masked() {
    let port = closed_port().unwrap();
    let args = store(
        &format!("mysql://root:12345678@127.0.0.1:{port}/test"),
        None,
    );
    let (line, took) = connect_error(&args).await;
    assert_eq!(
        line,
        format!(
            "cannot reach the database at mysql://root:***@127.0.0.1:{port}/test: Connection \
             refused (os error 111); start MariaDB/MySQL there or leave out --db for the \
             embedded SQLite"
        )
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// An IPv6 literal is shown and connected to as written.
#[tokio::test]
async fn an_ipv6_literal_is_an_address() {
    let port = closed_port().unwrap();
    let args = store(&format!("mysql://root:pw@[::1]:{port}/test"), None);
    let (line, took) = connect_error(&args).await;
    assert!(
        line.starts_with(&format!(
            "cannot reach the database at mysql://root:***@[::1]:{port}/test: "
        )),
        "{line}"
    );
    assert!(!line.contains("lookup"), "{line}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_database_that_never_answers_is_an_error_within_5_s() {
    let hole = BlackHole::start().await.unwrap();
    let addr = hole.endpoint().trim_start_matches("http://").to_owned();
    let args = store(&format!("mariadb://root:s3cret@{addr}/test"), None);
    let (line, took) = connect_error(&args).await;
    assert_eq!(
        line,
        format!(
            "cannot reach the database at mariadb://root:***@{addr}/test: no answer within 4 s; \
             start MariaDB/MySQL there or leave out --db for the embedded SQLite"
        )
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Counts the warnings `userdb` writes.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Warnings {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message<'a>(&'a mut String);
        impl tracing::field::Visit for Message<'_> {
            fn record_debug(&mut self, _: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!("{value:?}"));
            }
        }
        if *event.metadata().level() == tracing::Level::WARN {
            let mut message = String::new();
            event.record(&mut Message(&mut message));
            self.0.lock().unwrap().push(message);
        }
    }
}

#[tokio::test]
async fn without_redis_every_request_is_served_from_the_database_and_the_spans_say_so() {
    // The tokio test runtime runs everything on this thread: a thread-local
    // subscriber sees the warnings.
    let warnings = Warnings::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let port = closed_port().unwrap();
    let redis = format!("redis://:s3cret@127.0.0.1:{port}/2");
    let users = Users::connect(&store("sqlite::memory:", Some(&redis)))
        .await
        .unwrap();
    assert_eq!(
        users.describe(),
        format!("SQLite in memory; cache on Redis at redis://:***@127.0.0.1:{port}/2")
    );
    let id = users.insert("john").await.unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let (user, trace) = traced(users.query(id)).await;
        assert_eq!(
            user,
            Ok(User {
                id,
                name: "john".into()
            })
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(trace.names(), ["GET", "SELECT user", "SET"]);
        for (name, query) in [
            ("GET", format!("GET SelectCache:userInfo:{id}")),
            ("SET", format!("SET SelectCache:userInfo:{id} ? EX 5")),
        ] {
            let span = trace.span(name);
            assert_eq!(span.span_kind, SpanKind::Client);
            assert_eq!(text(span, "db.system.name").as_deref(), Some("redis"));
            assert_eq!(text(span, "db.operation.name").as_deref(), Some(name));
            assert_eq!(text(span, "db.namespace").as_deref(), Some("2"));
            assert_eq!(text(span, "db.query.text"), Some(query));
            assert_eq!(text(span, "server.address").as_deref(), Some("127.0.0.1"));
            assert_eq!(
                attr(span, "server.port"),
                Some(&Value::I64(i64::from(port)))
            );
            assert_eq!(
                text(span, "error.type").as_deref(),
                Some("connection"),
                "{span:?}"
            );
            match &span.status {
                Status::Error { description } => assert!(
                    description.starts_with("Redis skipped, the database answers instead: "),
                    "{description}"
                ),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(
            attr(trace.span("GET"), "cache.hit"),
            Some(&Value::Bool(false))
        );
        trace.assert_nowhere("s3cret");
        trace.assert_nowhere("john");
    }
    let (deleted, trace) = traced(users.delete(id)).await;
    assert_eq!(deleted, Ok(()));
    assert_eq!(trace.names(), ["DELETE user", "DEL"]);
    assert_eq!(
        text(trace.span("DEL"), "db.query.text"),
        Some(format!("DEL SelectCache:userInfo:{id}"))
    );

    // One warning for the whole outage, naming Redis (password masked).
    let warnings = warnings.0.lock().unwrap().clone();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(&format!(
            "the cache on Redis at redis://:***@127.0.0.1:{port}/2 does not answer ("
        )),
        "{warnings:?}"
    );
    assert!(!warnings[0].contains("s3cret"));
}

#[tokio::test]
async fn a_redis_that_never_answers_costs_a_request_about_a_second_per_call() {
    let hole = BlackHole::start().await.unwrap();
    let addr = hole.endpoint().trim_start_matches("http://").to_owned();
    let users = Users::connect(&store(
        "sqlite::memory:",
        Some(&format!("redis://{addr}/0")),
    ))
    .await
    .unwrap();
    let id = users.insert("john").await.unwrap();
    let started = Instant::now();
    let (user, trace) = traced(users.query(id)).await;
    assert_eq!(
        user,
        Ok(User {
            id,
            name: "john".into()
        })
    );
    // GET and SET each give up after at most 1 s.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(trace.names(), ["GET", "SELECT user", "SET"]);
    let error = text(trace.span("GET"), "error.type");
    assert!(
        matches!(error.as_deref(), Some("timeout" | "connection")),
        "{error:?}"
    );
}
