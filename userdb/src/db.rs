//! The database: the sqlx pool (SQLite embedded, or MySQL/MariaDB by URL),
//! the schema, the three parameterized statements, and for each statement
//! one CLIENT span (the database semantic conventions) and one log line.
//!
//! Values never leave this module: they are bound to the `?` placeholders,
//! and the span's `db.query.text` and the log line carry the statement as
//! written. sqlx's own statement log is off (`disable_statement_logging`):
//! the line per statement is ours, on the statement's span.
//!
//! No validation here ([`crate::Users`] does it) and no cache: this is the
//! layer the benchmark measures with and without its instrumentation.

use std::fmt;
use std::future::Future;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue, StringValue};
use opentelemetry_semantic_conventions::attribute::{
    DB_COLLECTION_NAME, DB_NAMESPACE, DB_OPERATION_NAME, DB_QUERY_SUMMARY, DB_QUERY_TEXT,
    DB_RESPONSE_RETURNED_ROWS, DB_RESPONSE_STATUS_CODE, DB_SYSTEM_NAME, ERROR_TYPE, SERVER_ADDRESS,
    SERVER_PORT,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::args::{DbUrl, Target};
use crate::span;
use crate::users::{User, UserError};

/// How long a request waits for a connection (a database that went away
/// fails requests this fast, as `Unavailable`).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the start waits for the database: connect, version, schema.
const START_TIMEOUT: Duration = Duration::from_secs(4);
/// MySQL/MariaDB connections per process.
const MAX_CONNECTIONS: u32 = 8;

/// GoFrame's `sql.sql`, for MySQL/MariaDB: the column limit is in
/// characters (utf8mb4), as [`crate::NAME_MAX_CHARS`] counts them.
const MYSQL_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS user (\
                            uid INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                            name VARCHAR(45) NOT NULL\
                            ) DEFAULT CHARSET=utf8mb4";
/// The same table in SQLite, which does not enforce `VARCHAR(45)` (the
/// length is checked before the query, for both). AUTOINCREMENT: ids of
/// deleted users are not given again, as in MySQL.
const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS user (\
                             uid INTEGER PRIMARY KEY AUTOINCREMENT, \
                             name VARCHAR(45) NOT NULL)";

/// A statement and the names its span and log line carry.
struct Statement {
    sql: &'static str,
    /// `db.operation.name`.
    operation: &'static str,
    /// `db.query.summary`, and the span's name.
    summary: &'static str,
    /// Whether it returns rows (`db.response.returned_rows`); for the
    /// others the log line shows the rows affected.
    returns_rows: bool,
}

const INSERT: Statement = Statement {
    sql: "INSERT INTO user(name) VALUES(?)",
    operation: "INSERT",
    summary: "INSERT user",
    returns_rows: false,
};
const SELECT: Statement = Statement {
    sql: "SELECT uid, name FROM user WHERE uid=?",
    operation: "SELECT",
    summary: "SELECT user",
    returns_rows: true,
};
const DELETE: Statement = Statement {
    sql: "DELETE FROM user WHERE uid=?",
    operation: "DELETE",
    summary: "DELETE user",
    returns_rows: false,
};

/// The `user` table through one pool; cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

struct Inner {
    pool: Pool,
    /// `db.system.name`: `sqlite`, or what the server said it is
    /// (`mariadb` or `mysql`).
    system: &'static str,
    /// `db.namespace`: the MySQL database; `main` for SQLite (the name
    /// SQLite gives the database a connection opens, file or memory).
    namespace: StringValue,
    /// `server.address` and `server.port` (MySQL/MariaDB only).
    server: Option<(StringValue, i64)>,
    /// `MariaDB 10.11.6 at 127.0.0.1:3306, database test`.
    description: String,
}

enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// A failed statement: what its span and the caller are told.
struct Failure {
    /// `error.type`: the database's error code, else a class.
    error_type: String,
    /// `db.response.status_code`: the database's error code, if any.
    code: Option<String>,
    message: String,
    /// The database cannot be reached (rather than refusing the statement).
    unavailable: bool,
}

impl Db {
    /// Opens the database `url` points at and creates the table if it is
    /// missing. Fails within a few seconds, with one line that names the
    /// database (password masked) and what to do.
    pub async fn connect(url: &DbUrl) -> anyhow::Result<Db> {
        match url.target() {
            Target::SqliteMemory => {
                // A fresh shared-cache in-memory database (sqlx names it);
                // it lives as long as a connection to it is open.
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
                Db::sqlite(url, options, "SQLite in memory".to_owned()).await
            }
            Target::SqliteFile { path, .. } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true);
                let description = format!("SQLite file {}", path.display());
                Db::sqlite(url, options, description).await
            }
            Target::MySql { url: mysql, .. } => Db::mysql(url, mysql).await,
        }
    }

    async fn sqlite(
        url: &DbUrl,
        options: SqliteConnectOptions,
        description: String,
    ) -> anyhow::Result<Db> {
        // One connection, kept for the life of the pool: an in-memory
        // database vanishes with its last connection, and one writer
        // never meets "database is locked". No ping before each use: an
        // embedded connection cannot drop.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.disable_statement_logging())
            .await
            .map_err(|error| {
                anyhow!(
                    "cannot open the SQLite database {url}: {}; check that its folder exists \
                     and is writable, or leave out --db for the one in memory",
                    cause(&error)
                )
            })?;
        let started = Instant::now();
        sqlx::query(SQLITE_SCHEMA)
            .execute(&pool)
            .await
            .map_err(|error| anyhow!("cannot create the user table in {url}: {}", cause(&error)))?;
        log_line(started.elapsed(), "sqlite", 0, SQLITE_SCHEMA);
        Ok(Db(Arc::new(Inner {
            pool: Pool::Sqlite(pool),
            system: "sqlite",
            namespace: "main".into(),
            server: None,
            description,
        })))
    }

    async fn mysql(url: &DbUrl, mysql: &url::Url) -> anyhow::Result<Db> {
        let options = MySqlConnectOptions::from_url(mysql)
            .map_err(|error| anyhow!("cannot use the database URL {url}: {error}"))?
            .disable_statement_logging();
        // `[::1]` in the URL and the description; `server.address` is the
        // address itself (`::1`).
        let host = mysql.host_str().unwrap_or_default().to_owned();
        let address = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        // One connection of our own first: the pool would retry a refused
        // connection until its timeout and then only say "timed out".
        let setup = async {
            let mut connection = options.connect().await?;
            let started = Instant::now();
            let version: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut connection)
                .await?;
            let system = system_of(&version);
            log_line(started.elapsed(), system, 1, "SELECT VERSION()");
            let started = Instant::now();
            sqlx::query(MYSQL_SCHEMA).execute(&mut connection).await?;
            log_line(started.elapsed(), system, 0, MYSQL_SCHEMA);
            let _ = connection.close().await;
            Ok::<_, sqlx::Error>(version)
        };
        let version = match tokio::time::timeout(START_TIMEOUT, setup).await {
            Ok(Ok(version)) => version,
            Ok(Err(error)) => return Err(start_error(url, &error)),
            Err(_) => {
                return Err(anyhow!(
                    "cannot reach the database at {url}: no answer within {} s; {START_HINT}",
                    START_TIMEOUT.as_secs()
                ));
            }
        };
        let system = system_of(&version);
        let product = if system == "mariadb" {
            "MariaDB"
        } else {
            "MySQL"
        };
        let number = version.split('-').next().unwrap_or(&version);
        let database = options.get_database().unwrap_or_default().to_owned();
        let port = options.get_port();
        let description = format!("{product} {number} at {host}:{port}, database {database}");
        // sqlx reconnects by itself: each acquire pings the connection it
        // takes and opens a new one if the old one died (a restarted server).
        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Db(Arc::new(Inner {
            pool: Pool::MySql(pool),
            system,
            // Shared, not copied, into each span's attributes.
            namespace: Arc::<str>::from(database).into(),
            server: Some((Arc::<str>::from(address).into(), i64::from(port))),
            description,
        })))
    }

    /// What this is, e.g. `SQLite in memory` or
    /// `MariaDB 10.11.6 at 127.0.0.1:3306, database test`.
    pub fn describe(&self) -> &str {
        &self.0.description
    }

    /// `db.system.name`: `sqlite`, `mariadb` or `mysql`.
    pub fn system(&self) -> &'static str {
        self.0.system
    }

    /// `INSERT INTO user(name) VALUES(?)`: the new user's id.
    pub async fn insert(&self, name: &str) -> Result<i64, UserError> {
        let query = async {
            match &self.0.pool {
                Pool::Sqlite(pool) => {
                    let done = sqlx::query(INSERT.sql).bind(name).execute(pool).await?;
                    Ok((done.last_insert_rowid(), done.rows_affected()))
                }
                Pool::MySql(pool) => {
                    let done = sqlx::query(INSERT.sql).bind(name).execute(pool).await?;
                    Ok((done.last_insert_id() as i64, done.rows_affected()))
                }
            }
        };
        self.traced(&INSERT, query).await
    }

    /// `SELECT uid, name FROM user WHERE uid=?`: the user, if there is one.
    pub async fn select(&self, id: i64) -> Result<Option<User>, UserError> {
        self.traced(&SELECT, self.select_query(id)).await
    }

    /// The same SELECT without its span and log line, for the benchmark
    /// that measures what they cost.
    pub async fn select_untraced(&self, id: i64) -> Result<Option<User>, UserError> {
        match self.select_query(id).await {
            Ok((user, _rows)) => Ok(user),
            Err(error) => Err(failure(&error).into_user_error()),
        }
    }

    async fn select_query(&self, id: i64) -> Result<(Option<User>, u64), sqlx::Error> {
        let row = match &self.0.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_as::<_, (i64, String)>(SELECT.sql)
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            }
            // `INT UNSIGNED` decodes as u32 only.
            Pool::MySql(pool) => sqlx::query_as::<_, (u32, String)>(SELECT.sql)
                .bind(id)
                .fetch_optional(pool)
                .await?
                .map(|(id, name)| (i64::from(id), name)),
        };
        let user = row.map(|(id, name)| User { id, name });
        let rows = u64::from(user.is_some());
        Ok((user, rows))
    }

    /// `DELETE FROM user WHERE uid=?`: how many rows went (0 or 1).
    pub async fn delete(&self, id: i64) -> Result<u64, UserError> {
        let query = async {
            let done = match &self.0.pool {
                Pool::Sqlite(pool) => {
                    let done = sqlx::query(DELETE.sql).bind(id).execute(pool).await?;
                    done.rows_affected()
                }
                Pool::MySql(pool) => {
                    let done = sqlx::query(DELETE.sql).bind(id).execute(pool).await?;
                    done.rows_affected()
                }
            };
            Ok((done, done))
        };
        self.traced(&DELETE, query).await
    }

    /// Runs `query` (which yields its value and its row count) inside the
    /// statement's CLIENT span, then writes its log line on that span.
    async fn traced<T>(
        &self,
        statement: &'static Statement,
        query: impl Future<Output = Result<(T, u64), sqlx::Error>>,
    ) -> Result<T, UserError> {
        let cx = span::start(
            statement.summary,
            SpanKind::Client,
            self.attributes(statement),
        );
        let started = Instant::now();
        let result = query.with_context(cx.clone()).await;
        self.finish(statement, cx, started.elapsed(), result)
    }

    /// Everything known before the statement runs.
    fn attributes(&self, statement: &Statement) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(9);
        attributes.extend([
            KeyValue::new(DB_SYSTEM_NAME, self.0.system),
            KeyValue::new(DB_NAMESPACE, self.0.namespace.clone()),
            KeyValue::new(DB_COLLECTION_NAME, "user"),
            KeyValue::new(DB_OPERATION_NAME, statement.operation),
            KeyValue::new(DB_QUERY_SUMMARY, statement.summary),
            KeyValue::new(DB_QUERY_TEXT, statement.sql),
        ]);
        if let Some((address, port)) = &self.0.server {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
            attributes.push(KeyValue::new(SERVER_PORT, *port));
        }
        attributes
    }

    /// The outcome on the span, the log line (written while the span is
    /// current, so that its OTLP log record carries the span's ids), and
    /// the end of the span. Synchronous: the context guard is not `Send`
    /// and must not live across an `.await`.
    fn finish<T>(
        &self,
        statement: &Statement,
        cx: Context,
        elapsed: Duration,
        result: Result<(T, u64), sqlx::Error>,
    ) -> Result<T, UserError> {
        let _current = cx.clone().attach();
        let span = cx.span();
        let outcome = match result {
            Ok((value, rows)) => {
                if statement.returns_rows {
                    span.set_attribute(KeyValue::new(DB_RESPONSE_RETURNED_ROWS, rows as i64));
                }
                log_line(elapsed, self.0.system, rows, statement.sql);
                Ok(value)
            }
            Err(error) => {
                let failure = failure(&error);
                span.set_attribute(KeyValue::new(ERROR_TYPE, failure.error_type.clone()));
                if let Some(code) = &failure.code {
                    span.set_attribute(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.clone()));
                }
                span.set_status(Status::error(failure.message.clone()));
                tracing::error!(
                    "[{:>3} ms] [{}] [rows:0  ] {}: {}",
                    elapsed.as_millis(),
                    self.0.system,
                    statement.sql,
                    failure.message
                );
                Err(failure.into_user_error())
            }
        };
        span.end();
        outcome
    }
}

impl fmt::Debug for Db {
    /// The description only: the connect options hold the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Db").field(&self.0.description).finish()
    }
}

/// `db.system.name` of the server that answered `SELECT VERSION()`
/// (MariaDB says `10.11.6-MariaDB-0+deb12u1`; MySQL `8.0.36`).
fn system_of(version: &str) -> &'static str {
    if version.contains("MariaDB") {
        "mariadb"
    } else {
        "mysql"
    }
}

/// GoFrame's SQL line, values never included:
/// `[  2 ms] [sqlite] [rows:1  ] INSERT INTO user(name) VALUES(?)`.
fn log_line(elapsed: Duration, system: &str, rows: u64, sql: &str) {
    tracing::info!(
        "[{:>3} ms] [{system}] [rows:{rows:<3}] {sql}",
        elapsed.as_millis()
    );
}

/// What to do when the database cannot be reached at start.
const START_HINT: &str = "start MariaDB/MySQL there or leave out --db for the embedded SQLite";

/// The start-up failure as one line that names the database and what to do.
fn start_error(url: &DbUrl, error: &sqlx::Error) -> anyhow::Error {
    let number = match error {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(MySqlDatabaseError::number),
        _ => None,
    };
    let cause = cause(error);
    match (number, failure(error).unavailable) {
        (Some(1045), _) => anyhow!(
            "the database at {url} refused the login ({cause}); check the user and password in --db"
        ),
        (Some(1049), _) => anyhow!(
            "the database at {url} has no such database ({cause}); create it \
             (CREATE DATABASE name) or name another in --db"
        ),
        (_, true) => anyhow!("cannot reach the database at {url}: {cause}; {START_HINT}"),
        _ => anyhow!("cannot use the database at {url}: {cause}"),
    }
}

/// The innermost message: `Connection refused (os error 111)` rather than
/// sqlx's "error communicating with database: ...".
fn cause(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.to_string(),
        sqlx::Error::PoolTimedOut => format!(
            "no connection within {} s (is the database running?)",
            ACQUIRE_TIMEOUT.as_secs()
        ),
        other => other.to_string(),
    }
}

/// MySQL/MariaDB error numbers that say the server is going away or full
/// (1040 too many connections, 1053 shutdown in progress, 1927 connection
/// killed), not that the statement is wrong.
const MYSQL_UNAVAILABLE: [u16; 3] = [1040, 1053, 1927];

/// Sorts a sqlx error: a database's own error code when there is one,
/// else a low-cardinality class; connection-class errors are
/// `Unavailable` (the request may succeed once the database is back).
fn failure(error: &sqlx::Error) -> Failure {
    let class = |error_type: &str, unavailable: bool| Failure {
        error_type: error_type.to_owned(),
        code: None,
        message: cause(error),
        unavailable,
    };
    match error {
        sqlx::Error::Database(db) => {
            let mysql = db.try_downcast_ref::<MySqlDatabaseError>();
            let code = match mysql {
                Some(mysql) => Some(mysql.number().to_string()),
                None => db.code().map(|code| code.into_owned()),
            };
            Failure {
                error_type: code.clone().unwrap_or_else(|| "_OTHER".to_owned()),
                code,
                message: cause(error),
                unavailable: mysql.is_some_and(|e| MYSQL_UNAVAILABLE.contains(&e.number())),
            }
        }
        sqlx::Error::Io(_) => class("connection", true),
        sqlx::Error::Tls(_) => class("tls", true),
        sqlx::Error::PoolTimedOut => class("pool_timeout", true),
        sqlx::Error::PoolClosed => class("pool_closed", true),
        sqlx::Error::WorkerCrashed => class("worker_crashed", true),
        // Mostly a connection cut in the middle of a packet.
        sqlx::Error::Protocol(_) => class("protocol", true),
        _ => class("_OTHER", false),
    }
}

impl Failure {
    fn into_user_error(self) -> UserError {
        if self.unavailable {
            UserError::Unavailable(self.message)
        } else {
            UserError::Internal(self.message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_class_errors_are_unavailable() {
        let refused = sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        let failure = failure(&refused);
        assert!(failure.unavailable);
        assert_eq!(failure.error_type, "connection");
        assert_eq!(failure.code, None);
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
            sqlx::Error::Protocol("connection closed".into()),
        ] {
            assert!(
                matches!(
                    super::failure(&error).into_user_error(),
                    UserError::Unavailable(_)
                ),
                "{error}"
            );
        }
        let timed_out = super::failure(&sqlx::Error::PoolTimedOut);
        assert_eq!(timed_out.error_type, "pool_timeout");
        assert!(timed_out.message.contains("no connection within 2 s"));
        assert!(matches!(
            super::failure(&sqlx::Error::RowNotFound).into_user_error(),
            UserError::Internal(_)
        ));
    }
}
