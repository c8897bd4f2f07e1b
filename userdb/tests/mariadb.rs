//! On a real MariaDB (a private server from Debian's `mariadb-server`,
//! started by testkit on a free port): the round trip and its spans as the
//! server reports itself, the database's own error codes, refused logins,
//! and a server that goes away mid-run and comes back.
//!
//! Skipped (with `SKIPPED:` on stderr) where mariadbd is not installed,
//! unless REQUIRE_DB_TESTS=1.

mod support;

use std::time::{Duration, Instant};

use opentelemetry::Value;
use opentelemetry::trace::Status;
use sqlx::Connection as _;
use support::{assert_db_span, attr, text, traced};
use testkit::servers::MariaDb;
use userdb::{DbUrl, StoreArgs, User, UserError, Users};

fn store(db: &str) -> StoreArgs {
    StoreArgs {
        db: DbUrl::parse(db).unwrap(),
        redis: None,
    }
}

const SELECT: &str = "SELECT uid, name FROM user WHERE uid=?";

#[tokio::test]
async fn round_trip_on_mariadb_with_its_spans() {
    let Some(server) = MariaDb::start("round_trip_on_mariadb_with_its_spans").await else {
        return;
    };
    let port = server.port();
    let users = Users::connect(&store(&server.url())).await.unwrap();
    let describe = users.describe();
    assert!(describe.starts_with("MariaDB 10."), "{describe}");
    assert!(
        describe.ends_with(&format!(
            " at 127.0.0.1:{port}, database test; cache in this process (5 s)"
        )),
        "{describe}"
    );

    let (id, trace) = traced(users.insert("john")).await;
    let id = id.unwrap();
    let insert = trace.span("INSERT user");
    assert_db_span(
        insert,
        "mariadb",
        "test",
        "INSERT",
        "INSERT INTO user(name) VALUES(?)",
    );
    assert_eq!(text(insert, "server.address").as_deref(), Some("127.0.0.1"));
    assert_eq!(
        attr(insert, "server.port"),
        Some(&Value::I64(i64::from(port)))
    );
    assert_eq!(attr(insert, "db.response.returned_rows"), None);

    let (user, trace) = traced(users.query(id)).await;
    assert_eq!(
        user,
        Ok(User {
            id,
            name: "john".into()
        })
    );
    assert_eq!(trace.names(), ["GET", "SELECT user", "SET"]);
    let select = trace.span("SELECT user");
    assert_db_span(select, "mariadb", "test", "SELECT", SELECT);
    assert_eq!(
        attr(select, "db.response.returned_rows"),
        Some(&Value::I64(1))
    );
    let (_, trace) = traced(users.query(id)).await;
    assert_eq!(trace.names(), ["GET"]);
    assert_eq!(
        attr(trace.span("GET"), "cache.hit"),
        Some(&Value::Bool(true))
    );

    let (deleted, trace) = traced(users.delete(id)).await;
    assert_eq!(deleted, Ok(()));
    assert_eq!(trace.names(), ["DELETE user", "DEL"]);
    assert_db_span(
        trace.span("DELETE user"),
        "mariadb",
        "test",
        "DELETE",
        "DELETE FROM user WHERE uid=?",
    );
    let (user, trace) = traced(users.query(id)).await;
    assert_eq!(user, Err(UserError::NotFound(id)));
    assert_eq!(
        attr(trace.span("SELECT user"), "db.response.returned_rows"),
        Some(&Value::I64(0))
    );
    assert_eq!(users.delete(id).await, Err(UserError::NotFound(id)));

    // Stored and read back verbatim (the first query reads the table),
    // recorded in no span; 45 characters fit the column in utf8mb4.
    for name in [
        r#"o'hara"); DROP TABLE user;--"#,
        &"名".repeat(45),
        "emoji 🦀 needs utf8mb4",
    ] {
        let (id, insert) = traced(users.insert(name)).await;
        let id = id.unwrap();
        let (user, query) = traced(users.query(id)).await;
        assert_eq!(query.names(), ["GET", "SELECT user", "SET"]);
        assert_eq!(
            user,
            Ok(User {
                id,
                name: name.to_owned()
            })
        );
        insert.assert_nowhere(name);
        query.assert_nowhere(name);
    }
    assert_eq!(
        users.insert(&"名".repeat(46)).await,
        Err(UserError::Invalid(
            "The name may be at most 45 characters, got 46.".into()
        ))
    );

    // A statement the database refuses: its error code on the span.
    let mut admin = sqlx::MySqlConnection::connect(&server.url()).await.unwrap();
    sqlx::query("DROP TABLE user")
        .execute(&mut admin)
        .await
        .unwrap();
    let (user, trace) = traced(users.query(1_000)).await;
    match user {
        Err(UserError::Internal(why)) => assert!(why.contains("1146"), "{why}"),
        other => panic!("{other:?}"),
    }
    let select = trace.span("SELECT user");
    assert_eq!(text(select, "error.type").as_deref(), Some("1146"));
    assert_eq!(
        text(select, "db.response.status_code").as_deref(),
        Some("1146")
    );
    assert!(
        matches!(&select.status, Status::Error { description } if description.contains("doesn't exist"))
    );
    assert_eq!(attr(select, "db.response.returned_rows"), None);
}

#[tokio::test]
async fn refused_logins_at_start_say_what_to_fix() {
    let Some(server) = MariaDb::start("refused_logins_at_start_say_what_to_fix").await else {
        return;
    };
    let port = server.port();
    let error = |url: String| async move {
        let started = Instant::now();
        let error = Users::connect(&store(&url)).await.expect_err("refused");
        assert!(started.elapsed() < Duration::from_secs(5));
        format!("{error:#}")
    };

    let line = error(format!("mysql://root:wrong@127.0.0.1:{port}/test")).await;
    assert!(
        line.starts_with(&format!(
            "the database at mysql://root:***@127.0.0.1:{port}/test refused the login (1045 (28000): \
             Access denied for user 'root'@"
        )),
        "{line}"
    );
    assert!(
        line.ends_with("; check the user and password in --db"),
        "{line}"
    );
    assert!(!line.contains("wrong"), "{line}");

    let line = error(format!("mysql://root:12345678@127.0.0.1:{port}/nosuch")).await;
    assert!(
        line.starts_with(&format!(
            "the database at mysql://root:***@127.0.0.1:{port}/nosuch has no such database (1049"
        )),
        "{line}"
    );
    assert!(line.contains("CREATE DATABASE"), "{line}");
}

#[tokio::test]
async fn a_database_that_goes_away_is_unavailable_and_comes_back() {
    let Some(mut server) =
        MariaDb::start("a_database_that_goes_away_is_unavailable_and_comes_back").await
    else {
        return;
    };
    let users = Users::connect(&store(&server.url())).await.unwrap();
    let id = users.insert("john").await.unwrap();

    server.stop().await;
    // Not queried before: the cache cannot answer, the database must.
    let started = Instant::now();
    let (user, trace) = traced(users.query(id)).await;
    let took = started.elapsed();
    match user {
        Err(UserError::Unavailable(why)) => assert!(!why.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let select = trace.span("SELECT user");
    let error_type = text(select, "error.type");
    assert!(
        matches!(
            error_type.as_deref(),
            Some("connection" | "pool_timeout" | "protocol")
        ),
        "{error_type:?}"
    );
    assert!(matches!(select.status, Status::Error { .. }));
    assert_eq!(attr(select, "db.response.status_code"), None);

    let started = Instant::now();
    assert!(matches!(
        users.insert("jane").await,
        Err(UserError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));

    server.restart().await;
    // sqlx replaces the dead connections: the next requests succeed.
    assert_eq!(
        users.query(id).await,
        Ok(User {
            id,
            name: "john".into()
        })
    );
    let jane = users.insert("jane").await.unwrap();
    assert_eq!(
        users.query(jane).await.map(|user| user.name),
        Ok("jane".into())
    );

    // A restart between two requests: the pooled connection is dead, and
    // is found so (a ping before use) before a request meets it.
    server.restart().await;
    let joe = users.insert("joe").await.unwrap();
    assert_eq!(
        users.query(joe).await.map(|user| user.name),
        Ok("joe".into())
    );
}
