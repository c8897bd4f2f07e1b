//! The embedded path (SQLite in memory, the cache in this process), as the
//! examples run by default: the round trip, its spans and their attributes,
//! validation before any query, and no value in any span.

mod support;

use clap::Parser as _;
use opentelemetry::Value;
use opentelemetry::trace::{SpanKind, Status};
use support::{assert_db_span, attr, text, traced};
use userdb::{StoreArgs, User, UserError, Users};

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
}

async fn users(args: &[&str]) -> Users {
    let cli = Cli::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
        .expect("flags parse");
    Users::connect(&cli.store).await.expect("SQLite opens")
}

const INSERT: &str = "INSERT INTO user(name) VALUES(?)";
const SELECT: &str = "SELECT uid, name FROM user WHERE uid=?";
const DELETE: &str = "DELETE FROM user WHERE uid=?";

#[tokio::test]
async fn insert_query_delete_round_trip_with_its_spans() {
    let users = users(&[]).await;
    assert_eq!(
        users.describe(),
        "SQLite in memory; cache in this process (5 s)"
    );

    let (id, trace) = traced(users.insert("john")).await;
    let id = id.expect("inserted");
    assert!(id >= 1);
    assert_eq!(trace.names(), ["INSERT user"]);
    let insert = trace.span("INSERT user");
    assert_db_span(insert, "sqlite", "main", "INSERT", INSERT);
    // Rows affected are not rows returned; no server for SQLite.
    for key in [
        "db.response.returned_rows",
        "server.address",
        "server.port",
        "error.type",
    ] {
        assert_eq!(attr(insert, key), None, "{key}");
    }
    assert_eq!(insert.status, Status::Unset);

    // First query: a miss, the SELECT, then the entry is cached.
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
    assert_db_span(select, "sqlite", "main", "SELECT", SELECT);
    assert_eq!(
        attr(select, "db.response.returned_rows"),
        Some(&Value::I64(1))
    );
    let get = trace.span("GET");
    assert_eq!(get.span_kind, SpanKind::Internal);
    assert_eq!(attr(get, "cache.hit"), Some(&Value::Bool(false)));
    let key = format!("SelectCache:userInfo:{id}");
    assert_eq!(text(get, "cache.key"), Some(key.clone()));
    assert_eq!(trace.span("SET").span_kind, SpanKind::Internal);
    assert_eq!(attr(trace.span("SET"), "cache.hit"), None);

    // Second query: the cache answers, no SELECT.
    let (user, trace) = traced(users.query(id)).await;
    assert_eq!(
        user,
        Ok(User {
            id,
            name: "john".into()
        })
    );
    assert_eq!(trace.names(), ["GET"]);
    assert_eq!(
        attr(trace.span("GET"), "cache.hit"),
        Some(&Value::Bool(true))
    );

    // Delete: the row, then the cache entry.
    let (deleted, trace) = traced(users.delete(id)).await;
    assert_eq!(deleted, Ok(()));
    assert_eq!(trace.names(), ["DELETE user", "DEL"]);
    let delete = trace.span("DELETE user");
    assert_db_span(delete, "sqlite", "main", "DELETE", DELETE);
    assert_eq!(attr(delete, "db.response.returned_rows"), None);
    assert_eq!(text(trace.span("DEL"), "cache.key"), Some(key));

    // Gone from both: the next query misses and the SELECT finds nothing.
    let (user, trace) = traced(users.query(id)).await;
    assert_eq!(user, Err(UserError::NotFound(id)));
    assert_eq!(trace.names(), ["GET", "SELECT user"]);
    assert_eq!(
        attr(trace.span("GET"), "cache.hit"),
        Some(&Value::Bool(false))
    );
    let select = trace.span("SELECT user");
    assert_eq!(
        attr(select, "db.response.returned_rows"),
        Some(&Value::I64(0))
    );
    // Not finding a user is an answer, not a failure of the database.
    assert_eq!(select.status, Status::Unset);

    // Deleting an unknown id deletes nothing: NotFound.
    assert_eq!(users.delete(id).await, Err(UserError::NotFound(id)));
}

#[tokio::test]
async fn validation_comes_before_any_query_with_goframes_messages() {
    let users = users(&[]).await;
    fn invalid<T>(message: &str) -> Result<T, UserError> {
        Err(UserError::Invalid(message.to_owned()))
    }

    let (result, trace) = traced(users.insert("")).await;
    assert_eq!(result, invalid("Please input user name."));
    assert_eq!(trace.names(), Vec::<&str>::new());

    let too_long = "x".repeat(46);
    let (result, trace) = traced(users.insert(&too_long)).await;
    assert_eq!(
        result,
        invalid("The name may be at most 45 characters, got 46.")
    );
    assert_eq!(trace.names(), Vec::<&str>::new());

    for id in [0, -1, i64::MIN] {
        let (result, trace) = traced(users.query(id)).await;
        assert_eq!(result, invalid("User id is required for querying."));
        assert_eq!(trace.names(), Vec::<&str>::new());
        let (result, trace) = traced(users.delete(id)).await;
        assert_eq!(result, invalid("User id is required for deleting."));
        assert_eq!(trace.names(), Vec::<&str>::new());
    }
}

#[tokio::test]
async fn hostile_and_long_names_are_stored_verbatim_and_recorded_nowhere() {
    let users = users(&[]).await;
    for name in [
        r#"o'hara"); DROP TABLE user;--"#,
        // 45 characters, 135 bytes: at the limit, which counts characters.
        &"名".repeat(45),
        "emoji 🦀 and a quote \" and a backslash \\",
    ] {
        let (id, insert) = traced(users.insert(name)).await;
        let id = id.expect("inserted");
        let (user, query) = traced(users.query(id)).await;
        assert_eq!(
            user,
            Ok(User {
                id,
                name: name.to_owned()
            }),
            "{name}"
        );
        let (cached, hit) = traced(users.query(id)).await;
        assert_eq!(
            cached,
            Ok(User {
                id,
                name: name.to_owned()
            }),
            "{name}"
        );
        for trace in [&insert, &query, &hit] {
            trace.assert_nowhere(name);
        }
    }
    // The table is still there.
    let id = users.insert("still here").await.expect("inserted");
    assert_eq!(
        users.query(id).await.map(|user| user.name),
        Ok("still here".into())
    );
}

#[tokio::test]
async fn a_sqlite_file_is_created_and_keeps_its_rows() {
    let dir = std::env::temp_dir().join(format!("userdb-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite://{}", path.display());

    let first = users(&["--db", &url]).await;
    assert_eq!(
        first.describe(),
        format!(
            "SQLite file {}; cache in this process (5 s)",
            path.display()
        )
    );
    let id = first.insert("kept").await.unwrap();
    drop(first);
    // A second open of the same file finds the table and the row.
    let second = users(&["--db", &url]).await;
    assert_eq!(
        second.query(id).await.map(|user| user.name),
        Ok("kept".into())
    );
    let (_, trace) = traced(second.delete(id)).await;
    assert_db_span(
        trace.span("DELETE user"),
        "sqlite",
        "main",
        "DELETE",
        DELETE,
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_sqlite_file_that_cannot_be_created_is_one_clear_error() {
    let cli = Cli::try_parse_from(["server", "--db", "sqlite:///no/such/folder/users.db"]).unwrap();
    let error = Users::connect(&cli.store)
        .await
        .expect_err("no such folder");
    let text = format!("{error:#}");
    assert!(
        text.starts_with("cannot open the SQLite database sqlite:///no/such/folder/users.db: "),
        "{text}"
    );
    assert!(text.contains("check that its folder exists"), "{text}");
}
