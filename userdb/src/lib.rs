//! The user table of the with-db examples (GoFrame's `grpc-with-db` and
//! `http-with-db`), behind a cache, with a span for every database and cache
//! call, so that a trace shows which query ran, how long it took and whether
//! the cache answered.
//!
//! - [`Users`]: Insert, Query (cache, then database), Delete (database, then
//!   the cache entry), with GoFrame's validation messages;
//! - `db`: the sqlx pool (SQLite embedded by default, MySQL/MariaDB by URL),
//!   the schema, the parameterized queries and their CLIENT spans;
//! - `cache`: the 5 s cache, in process or on Redis (`--redis`).
//!
//! STUB: the signatures below are the contract the two examples code
//! against; the bodies are being written.

use std::fmt;

use clap::Args;
use serde::Serialize;

/// GoFrame's column: `name varchar(45) not null`.
pub const NAME_MAX_CHARS: usize = 45;

/// `--db` and `--redis`, flattened into both servers' flags.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Database: `sqlite::memory:` (embedded, the default), a SQLite file
    /// (`sqlite://users.db`), or MySQL/MariaDB
    /// (`mysql://root:12345678@127.0.0.1:3306/test`); the table is created if missing
    #[arg(
        long,
        value_name = "URL",
        default_value = "sqlite::memory:",
        value_parser = DbUrl::parse,
        verbatim_doc_comment
    )]
    pub db: DbUrl,

    /// Redis for the cache (`redis://127.0.0.1:6379/0`) [default: a cache in this process]
    #[arg(long, value_name = "URL", value_parser = RedisUrl::parse)]
    pub redis: Option<RedisUrl>,
}

/// A checked database URL; `Display` masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(String);

impl DbUrl {
    /// Parses `--db`: `sqlite:...` or `mysql://...` (`mariadb://` too).
    pub fn parse(text: &str) -> Result<DbUrl, String> {
        Ok(DbUrl(text.to_owned()))
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A checked Redis URL; `Display` masks the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Parses `--redis`: `redis://[:PASSWORD@]HOST[:PORT][/DB]`.
    pub fn parse(text: &str) -> Result<RedisUrl, String> {
        Ok(RedisUrl(text.to_owned()))
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One row of the `user` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
}

/// Why a call failed; each maps to one gRPC code and one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    /// Bad input, with GoFrame's message (`Please input user name.`):
    /// `INVALID_ARGUMENT` / 400.
    Invalid(String),
    /// No user with this id: `NOT_FOUND` / 404.
    NotFound(i64),
    /// The database cannot be reached now (it went away): `UNAVAILABLE` /
    /// 503; the server recovers when it is back.
    Unavailable(String),
    /// Any other database failure: `INTERNAL` / 500.
    Internal(String),
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserError::Invalid(message) => f.write_str(message),
            UserError::NotFound(id) => write!(f, "no user with id {id}"),
            UserError::Unavailable(why) => write!(f, "the database is unavailable: {why}"),
            UserError::Internal(why) => write!(f, "database error: {why}"),
        }
    }
}

impl std::error::Error for UserError {}

/// The user table and its cache; cheap to clone (one pool, one cache).
#[derive(Debug, Clone)]
pub struct Users {}

impl Users {
    /// Connects to the database (creating the table if it is missing) and
    /// the cache. An unreachable database is an error that names it
    /// (password masked) and says what to do, within a few seconds; an
    /// unreachable Redis is a warning, and the cache is skipped until it
    /// answers.
    pub async fn connect(args: &StoreArgs) -> anyhow::Result<Users> {
        let _ = args;
        Ok(Users {})
    }

    /// What this serves from, for the server's start-up line, e.g.
    /// `SQLite in memory, cache in process (5 s)`.
    pub fn describe(&self) -> String {
        String::new()
    }

    /// Inserts a user named `name`; its new id.
    pub async fn insert(&self, name: &str) -> Result<i64, UserError> {
        let _ = name;
        Err(UserError::Internal("not yet".into()))
    }

    /// The user `id`: from the cache when it holds it, else from the
    /// database (then cached for 5 s).
    pub async fn query(&self, id: i64) -> Result<User, UserError> {
        Err(UserError::NotFound(id))
    }

    /// Deletes the user `id` and drops its cache entry.
    pub async fn delete(&self, id: i64) -> Result<(), UserError> {
        Err(UserError::NotFound(id))
    }
}
