//! The service both examples call: Insert, Query and Delete with GoFrame's
//! validation messages, the cache in front of the SELECT, and the errors
//! each maps to one gRPC code and one HTTP status.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::args::StoreArgs;
use crate::cache::Cache;
use crate::db::Db;

/// GoFrame's column: `name varchar(45) not null`.
pub const NAME_MAX_CHARS: usize = 45;

/// One row of the `user` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct Users {
    db: Db,
    cache: Cache,
}

impl Users {
    /// Connects to the database (creating the table if it is missing) and
    /// the cache. An unreachable database is an error that names it
    /// (password masked) and says what to do, within a few seconds; an
    /// unreachable Redis is a warning, and the cache is skipped until it
    /// answers.
    pub async fn connect(args: &StoreArgs) -> anyhow::Result<Users> {
        let db = Db::connect(&args.db).await?;
        let cache = Cache::connect(args.redis.as_ref()).await?;
        Ok(Users { db, cache })
    }

    /// What this serves from, for the server's start-up line, e.g.
    /// `SQLite in memory; cache in this process (5 s)`.
    pub fn describe(&self) -> String {
        format!("{}; {}", self.db.describe(), self.cache.describe())
    }

    /// The database under the cache (for benchmarks and tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Inserts a user named `name`; its new id.
    pub async fn insert(&self, name: &str) -> Result<i64, UserError> {
        check_name(name)?;
        self.db.insert(name).await
    }

    /// The user `id`: from the cache when it holds it, else from the
    /// database (then cached for 5 s).
    pub async fn query(&self, id: i64) -> Result<User, UserError> {
        if id < 1 {
            return Err(UserError::Invalid(
                "User id is required for querying.".to_owned(),
            ));
        }
        if let Some(user) = self.cache.get(id).await {
            return Ok(user);
        }
        let user = self.db.select(id).await?.ok_or(UserError::NotFound(id))?;
        self.cache.set(&user).await;
        Ok(user)
    }

    /// Deletes the user `id` and drops its cache entry.
    pub async fn delete(&self, id: i64) -> Result<(), UserError> {
        if id < 1 {
            return Err(UserError::Invalid(
                "User id is required for deleting.".to_owned(),
            ));
        }
        let deleted = self.db.delete(id).await?;
        // Even when nothing was deleted here: another process may have
        // deleted the row while this cache still holds it.
        self.cache.del(id).await;
        if deleted == 0 {
            return Err(UserError::NotFound(id));
        }
        Ok(())
    }
}

/// GoFrame's rules for a name: required, at most [`NAME_MAX_CHARS`]
/// characters (not bytes: `varchar(45)` in utf8mb4 counts characters).
fn check_name(name: &str) -> Result<(), UserError> {
    if name.is_empty() {
        return Err(UserError::Invalid("Please input user name.".to_owned()));
    }
    let chars = name.chars().count();
    if chars > NAME_MAX_CHARS {
        return Err(UserError::Invalid(format!(
            "The name may be at most {NAME_MAX_CHARS} characters, got {chars}."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_in_characters() {
        assert_eq!(
            check_name(""),
            Err(UserError::Invalid("Please input user name.".into()))
        );
        assert_eq!(check_name(&"a".repeat(45)), Ok(()));
        // 45 characters of 3 bytes each: 135 bytes, still allowed.
        assert_eq!(check_name(&"名".repeat(45)), Ok(()));
        assert_eq!(
            check_name(&"名".repeat(46)),
            Err(UserError::Invalid(
                "The name may be at most 45 characters, got 46.".into()
            ))
        );
        assert_eq!(
            check_name(&"a".repeat(100)),
            Err(UserError::Invalid(
                "The name may be at most 45 characters, got 100.".into()
            ))
        );
    }
}
