//! The cache in front of the SELECT: GoFrame's key `SelectCache:userInfo:<id>`,
//! 5 s, in this process (the default) or on Redis (`--redis`), with a span
//! per call (`GET`, `SET`, `DEL`) that says whether the cache answered.
//!
//! - In process: a bounded map with expiry; INTERNAL spans (no network).
//! - Redis: CLIENT spans per the database semantic conventions
//!   (`db.system.name=redis`, the command as `db.operation.name`, the key
//!   but never the value in `db.query.text`). The cache never fails a
//!   request: when Redis does not answer within its timeouts the call is
//!   skipped, its span gets status Error with `error.type` (and a message
//!   saying the database answered instead), one warning is logged per
//!   outage, and the next calls try Redis again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, Key, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    DB_NAMESPACE, DB_OPERATION_NAME, DB_QUERY_TEXT, DB_RESPONSE_STATUS_CODE, DB_SYSTEM_NAME,
    ERROR_TYPE, SERVER_ADDRESS, SERVER_PORT,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::args::RedisUrl;
use crate::span;
use crate::users::User;

/// How long an entry lives (GoFrame's `Cache(gdb.CacheOption{Duration: 5s})`).
pub(crate) const TTL: Duration = Duration::from_secs(5);
/// Entries the in-process cache holds at most.
const MAX_ENTRIES: usize = 10_000;
/// Redis: each connection attempt and each answer, at most; then the
/// request goes on without the cache.
const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// Redis: a whole call at most, reconnection included.
const REDIS_CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// `cache.hit` (on `GET`): whether the cache held the user.
pub(crate) const CACHE_HIT: Key = Key::from_static_str("cache.hit");
/// `cache.key` (in-process spans): the key, as Redis spans show it in
/// `db.query.text`.
pub(crate) const CACHE_KEY: Key = Key::from_static_str("cache.key");

/// GoFrame's key: `SelectCache:userInfo:<id>`.
pub(crate) fn key(id: i64) -> String {
    format!("SelectCache:userInfo:{id}")
}

/// The cache; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Cache {
    Local(Arc<Local>),
    Redis(Arc<Redis>),
}

impl Cache {
    /// The in-process cache, or Redis at `url`. Redis not answering now is
    /// a warning: the cache is skipped until it does.
    pub(crate) async fn connect(url: Option<&RedisUrl>) -> anyhow::Result<Cache> {
        Ok(match url {
            None => Cache::Local(Arc::new(Local::default())),
            Some(url) => Cache::Redis(Arc::new(Redis::connect(url).await?)),
        })
    }

    /// `cache in this process (5 s)` / `cache on Redis at redis://...`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Cache::Local(_) => format!("cache in this process ({} s)", TTL.as_secs()),
            Cache::Redis(redis) => format!("cache on Redis at {}", redis.url),
        }
    }

    /// The cached user `id`, if the cache holds it (and answers).
    pub(crate) async fn get(&self, id: i64) -> Option<User> {
        match self {
            Cache::Local(local) => local.get(id),
            Cache::Redis(redis) => redis.get(id).await,
        }
    }

    /// Caches `user` for [`TTL`].
    pub(crate) async fn set(&self, user: &User) {
        match self {
            Cache::Local(local) => local.set(user),
            Cache::Redis(redis) => redis.set(user).await,
        }
    }

    /// Drops the entry of user `id`.
    pub(crate) async fn del(&self, id: i64) {
        match self {
            Cache::Local(local) => local.del(id),
            Cache::Redis(redis) => redis.del(id).await,
        }
    }
}

/// The in-process cache: users by id, each with its expiry.
#[derive(Debug, Default)]
pub(crate) struct Local {
    entries: Mutex<HashMap<i64, (User, Instant)>>,
}

impl Local {
    fn get(&self, id: i64) -> Option<User> {
        let cx = local_span("GET", id);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let found = match entries.get(&id) {
            Some((user, expires)) if *expires > now => Some(user.clone()),
            Some(_) => {
                entries.remove(&id);
                None
            }
            None => None,
        };
        drop(entries);
        cx.span()
            .set_attribute(KeyValue::new(CACHE_HIT, found.is_some()));
        cx.span().end();
        found
    }

    fn set(&self, user: &User) {
        let cx = local_span("SET", user.id);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&user.id) {
            // Bounded: expired entries go first, then the one closest to
            // expiring.
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(id, _)| *id);
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(user.id, (user.clone(), now + TTL));
        drop(entries);
        cx.span().end();
    }

    fn del(&self, id: i64) {
        let cx = local_span("DEL", id);
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        cx.span().end();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// An INTERNAL span for an in-process cache call (no network, so no
/// `db.*` attributes).
fn local_span(command: &'static str, id: i64) -> Context {
    span::start(
        command,
        SpanKind::Internal,
        vec![KeyValue::new(CACHE_KEY, key(id))],
    )
}

/// The cache on Redis, through a connection manager that reconnects.
pub(crate) struct Redis {
    url: RedisUrl,
    connection: ConnectionManager,
    /// Set during an outage: its warning is written once.
    down: AtomicBool,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("url", &self.url).finish()
    }
}

/// The answer of one Redis call.
enum Reply {
    Value(Option<String>),
    Done,
}

impl Redis {
    async fn connect(url: &RedisUrl) -> anyhow::Result<Redis> {
        let client = redis::Client::open(url.connection_url())
            .map_err(|error| anyhow::anyhow!("cannot use the Redis URL {url}: {error}"))?;
        // Short timeouts and no retry loop inside a call: a dead Redis
        // costs a request at most REDIS_CALL_TIMEOUT, and the next call
        // tries to reconnect.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(0);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| anyhow::anyhow!("cannot use the Redis URL {url}: {error}"))?;
        let redis = Redis {
            url: url.clone(),
            connection,
            down: AtomicBool::new(false),
        };
        let mut connection = redis.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        match tokio::time::timeout(REDIS_CALL_TIMEOUT, ping).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => redis.went_down(&redis_cause(&error)),
            Err(_) => redis.went_down(&timed_out()),
        }
        Ok(redis)
    }

    async fn get(&self, id: i64) -> Option<User> {
        let key = key(id);
        let command = redis::cmd("GET").arg(&key).clone();
        let cx = self.start("GET", format!("GET {key}"));
        let reply = self.call(&cx, command).await;
        let span = cx.span();
        let user = match reply {
            Some(Reply::Value(Some(json))) => match serde_json::from_str::<User>(&json) {
                Ok(user) if user.id == id => Some(user),
                // Not ours (another program's key): a miss, and said so.
                _ => {
                    span.set_attribute(KeyValue::new(ERROR_TYPE, "invalid_value"));
                    span.set_status(Status::error("the cached value is not a user"));
                    None
                }
            },
            _ => None,
        };
        span.set_attribute(KeyValue::new(CACHE_HIT, user.is_some()));
        span.end();
        user
    }

    async fn set(&self, user: &User) {
        let key = key(user.id);
        let json = match serde_json::to_string(user) {
            Ok(json) => json,
            Err(_) => return,
        };
        let command = redis::cmd("SET")
            .arg(&key)
            .arg(json)
            .arg("EX")
            .arg(TTL.as_secs())
            .clone();
        // The value is a placeholder in the query text.
        let cx = self.start("SET", format!("SET {key} ? EX {}", TTL.as_secs()));
        self.call(&cx, command).await;
        cx.span().end();
    }

    async fn del(&self, id: i64) {
        let key = key(id);
        let command = redis::cmd("DEL").arg(&key).clone();
        let cx = self.start("DEL", format!("DEL {key}"));
        self.call(&cx, command).await;
        cx.span().end();
    }

    /// A CLIENT span for `operation`, its query text showing keys only.
    fn start(&self, operation: &'static str, text: String) -> Context {
        span::start(
            operation,
            SpanKind::Client,
            vec![
                KeyValue::new(DB_SYSTEM_NAME, "redis"),
                KeyValue::new(DB_OPERATION_NAME, operation),
                KeyValue::new(DB_NAMESPACE, self.url.db().to_string()),
                KeyValue::new(DB_QUERY_TEXT, text),
                KeyValue::new(SERVER_ADDRESS, self.url.host().to_owned()),
                KeyValue::new(SERVER_PORT, i64::from(self.url.port())),
            ],
        )
    }

    /// Sends `command` within [`REDIS_CALL_TIMEOUT`]; a failure is put on
    /// the span (current while the warning is written) and is `None`.
    async fn call(&self, cx: &Context, command: redis::Cmd) -> Option<Reply> {
        let mut connection = self.connection.clone();
        let sent = async move {
            let value: redis::Value = command.query_async(&mut connection).await?;
            Ok::<_, redis::RedisError>(match value {
                redis::Value::Nil => Reply::Value(None),
                redis::Value::BulkString(bytes) => {
                    Reply::Value(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                _ => Reply::Done,
            })
        };
        let outcome = tokio::time::timeout(REDIS_CALL_TIMEOUT, sent)
            .with_context(cx.clone())
            .await;
        let _current = cx.clone().attach();
        let span = cx.span();
        let why = match outcome {
            Ok(Ok(reply)) => {
                self.came_back();
                return Some(reply);
            }
            Ok(Err(error)) => {
                span.set_attribute(KeyValue::new(ERROR_TYPE, redis_error_type(&error)));
                if let Some(code) = error.code() {
                    span.set_attribute(KeyValue::new(DB_RESPONSE_STATUS_CODE, code.to_owned()));
                }
                redis_cause(&error)
            }
            Err(_) => {
                span.set_attribute(KeyValue::new(ERROR_TYPE, "timeout"));
                timed_out()
            }
        };
        span.set_status(Status::error(format!(
            "Redis skipped, the database answers instead: {why}"
        )));
        self.went_down(&why);
        None
    }

    /// The first failure of an outage is a warning; the next ones are on
    /// their spans only.
    fn went_down(&self, why: &str) {
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "the cache on Redis at {} does not answer ({why}): requests are served from \
                 the database until it does",
                self.url
            );
        }
    }

    fn came_back(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("the cache on Redis at {} answers again", self.url);
        }
    }
}

fn timed_out() -> String {
    format!("no answer within {} ms", REDIS_CALL_TIMEOUT.as_millis())
}

/// A low-cardinality `error.type` for a failed Redis call.
fn redis_error_type(error: &redis::RedisError) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        "connection".to_owned()
    } else if let Some(code) = error.code() {
        code.to_owned()
    } else {
        "_OTHER".to_owned()
    }
}

fn redis_cause(error: &redis::RedisError) -> String {
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> User {
        User {
            id,
            name: format!("user{id}"),
        }
    }

    #[test]
    fn the_key_is_goframes() {
        assert_eq!(key(7), "SelectCache:userInfo:7");
    }

    #[test]
    fn local_entries_expire_and_are_deleted() {
        let local = Local::default();
        assert_eq!(local.get(1), None);
        local.set(&user(1));
        assert_eq!(local.get(1), Some(user(1)));
        local.del(1);
        assert_eq!(local.get(1), None);
        // An expired entry is a miss, and is dropped.
        local.set(&user(2));
        local.entries.lock().unwrap().get_mut(&2).unwrap().1 =
            Instant::now() - Duration::from_millis(1);
        assert_eq!(local.get(2), None);
        assert_eq!(local.len(), 0);
    }

    #[test]
    fn the_local_cache_is_bounded() {
        let local = Local::default();
        for id in 0..(MAX_ENTRIES as i64 + 50) {
            local.set(&user(id));
        }
        assert_eq!(local.len(), MAX_ENTRIES);
        // The newest is kept, the oldest went.
        assert!(local.get(MAX_ENTRIES as i64 + 49).is_some());
        assert!(local.get(0).is_none());
    }
}
