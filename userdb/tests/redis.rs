//! The cache on a real Redis (a private `redis-server` started by testkit
//! on a free port): hits and misses, what is stored and for how long, no
//! value in any span, and a Redis that goes away mid-run and comes back.
//!
//! Skipped (with `SKIPPED:` on stderr) where redis-server is not
//! installed, unless REQUIRE_DB_TESTS=1.

mod support;

use std::time::{Duration, Instant};

use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use support::{attr, text, traced};
use testkit::servers::Redis;
use userdb::{DbUrl, RedisUrl, StoreArgs, User, Users};

async fn users(redis: &Redis) -> Users {
    let args = StoreArgs {
        db: DbUrl::parse("sqlite::memory:").unwrap(),
        redis: Some(RedisUrl::parse(&redis.url()).unwrap()),
    };
    Users::connect(&args).await.unwrap()
}

/// A client of our own, to look at what the cache stored.
async fn peek(redis: &Redis) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn hits_and_misses_through_redis_with_keys_but_no_values_in_spans() {
    let Some(server) = Redis::start("hits_and_misses_through_redis").await else {
        return;
    };
    let port = server.port();
    let users = users(&server).await;
    assert_eq!(
        users.describe(),
        format!("SQLite in memory; cache on Redis at redis://127.0.0.1:{port}/0")
    );
    let name = r#"o'hara"); DROP TABLE user;--"#;
    let id = users.insert(name).await.unwrap();
    let key = format!("SelectCache:userInfo:{id}");

    let (user, miss) = traced(users.query(id)).await;
    assert_eq!(
        user,
        Ok(User {
            id,
            name: name.into()
        })
    );
    assert_eq!(miss.names(), ["GET", "SELECT user", "SET"]);
    for (span, query) in [
        (miss.span("GET"), format!("GET {key}")),
        (miss.span("SET"), format!("SET {key} ? EX 5")),
    ] {
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(text(span, "db.system.name").as_deref(), Some("redis"));
        assert_eq!(
            text(span, "db.operation.name").as_deref(),
            Some(span.name.as_ref())
        );
        assert_eq!(text(span, "db.namespace").as_deref(), Some("0"));
        assert_eq!(text(span, "db.query.text"), Some(query));
        assert_eq!(text(span, "server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            attr(span, "server.port"),
            Some(&Value::I64(i64::from(port)))
        );
        assert_eq!(span.status, Status::Unset);
    }
    assert_eq!(
        attr(miss.span("GET"), "cache.hit"),
        Some(&Value::Bool(false))
    );

    // Stored as the user's JSON, for 5 s.
    let mut peek = peek(&server).await;
    let stored: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut peek)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<User>(&stored).unwrap(),
        User {
            id,
            name: name.into()
        }
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut peek)
        .await
        .unwrap();
    assert!((1..=5).contains(&ttl), "TTL {ttl}");

    let (user, hit) = traced(users.query(id)).await;
    assert_eq!(
        user,
        Ok(User {
            id,
            name: name.into()
        })
    );
    assert_eq!(hit.names(), ["GET"]);
    assert_eq!(attr(hit.span("GET"), "cache.hit"), Some(&Value::Bool(true)));

    let (deleted, delete) = traced(users.delete(id)).await;
    assert_eq!(deleted, Ok(()));
    assert_eq!(delete.names(), ["DELETE user", "DEL"]);
    assert_eq!(
        text(delete.span("DEL"), "db.query.text"),
        Some(format!("DEL {key}"))
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut peek)
        .await
        .unwrap();
    assert_eq!(exists, 0);

    for trace in [&miss, &hit, &delete] {
        trace.assert_nowhere(name);
        trace.assert_nowhere(&stored);
    }
}

#[tokio::test]
async fn a_redis_that_goes_away_is_skipped_and_used_again_when_back() {
    let Some(mut server) = Redis::start("a_redis_that_goes_away").await else {
        return;
    };
    let users = users(&server).await;
    let id = users.insert("john").await.unwrap();
    users.query(id).await.unwrap();
    let (_, trace) = traced(users.query(id)).await;
    assert_eq!(
        attr(trace.span("GET"), "cache.hit"),
        Some(&Value::Bool(true))
    );

    server.stop().await;
    for _ in 0..2 {
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
        // Served by the database; the cache spans say Redis was skipped.
        assert_eq!(trace.names(), ["GET", "SELECT user", "SET"]);
        for name in ["GET", "SET"] {
            let span = trace.span(name);
            assert_eq!(
                text(span, "error.type").as_deref(),
                Some("connection"),
                "{span:?}"
            );
            assert!(
                matches!(&span.status, Status::Error { description }
                    if description.starts_with("Redis skipped, the database answers instead: ")),
                "{:?}",
                span.status
            );
        }
    }

    // Back (empty): the first calls reconnect, then the cache fills and
    // answers again.
    server.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, trace) = traced(users.query(id)).await;
        if trace.names() == ["GET"] {
            assert_eq!(
                attr(trace.span("GET"), "cache.hit"),
                Some(&Value::Bool(true))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis not used again: {:?}",
            trace.names()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
