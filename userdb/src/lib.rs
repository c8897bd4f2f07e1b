//! The user table of the with-db examples (GoFrame's `grpc-with-db` and
//! `http-with-db`), behind a cache, with a span for every database and cache
//! call, so that a trace shows which query ran, how long it took and whether
//! the cache answered.
//!
//! - [`Users`]: Insert, Query (cache, then database), Delete (database, then
//!   the cache entry), with GoFrame's validation messages;
//! - [`StoreArgs`]: the `--db` and `--redis` flags, [`DbUrl`] and
//!   [`RedisUrl`] (checked, shown with the password masked);
//! - [`db`]: the sqlx pool (SQLite embedded by default, MySQL/MariaDB by
//!   URL), the schema, the parameterized queries and their CLIENT spans;
//! - `cache`: the 5 s cache, in process or on Redis (`--redis`).

mod args;
mod cache;
pub mod db;
mod span;
mod users;

pub use args::{DbUrl, RedisUrl, StoreArgs};
pub use users::{NAME_MAX_CHARS, User, UserError, Users};
