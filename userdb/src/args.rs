//! The `--db` and `--redis` flags: what they accept, how a bad value is
//! refused (one line, exit 2, the password masked even there), and how a
//! URL is shown (`mysql://root:***@127.0.0.1:3306/test`).

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

use clap::Args;
use clap::builder::TypedValueParser;
use clap::error::{ContextKind, ContextValue};
use url::Url;

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
        value_parser = Masked(DbUrl::parse),
        verbatim_doc_comment
    )]
    pub db: DbUrl,

    /// Redis for the cache (`redis://127.0.0.1:6379/0`) [default: a cache in this process]
    #[arg(long, value_name = "URL", value_parser = Masked(RedisUrl::parse))]
    pub redis: Option<RedisUrl>,
}

/// What `--db` accepts, for every refusal.
const DB_FORMS: &str = "write sqlite::memory: (the default), sqlite:PATH or sqlite://PATH \
                        (a file, created if missing), or mysql://USER:PASSWORD@HOST:PORT/DATABASE \
                        (mariadb:// too)";

/// What `--redis` accepts, for every refusal.
const REDIS_FORMS: &str = "write redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0 \
                           (redis://:PASSWORD@HOST:PORT/DB with a password)";

/// A checked database URL; `Display` and `Debug` mask the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(Target);

/// Where `--db` points.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `sqlite::memory:`: one database for the life of the process.
    SqliteMemory,
    /// `sqlite:PATH` / `sqlite://PATH`, as written (for `Display`).
    SqliteFile { path: PathBuf, text: String },
    /// `mysql://` or `mariadb://` (the same driver): the URL with the
    /// scheme set to `mysql`, as sqlx reads it, and the scheme as written.
    MySql { url: Url, scheme: &'static str },
}

impl DbUrl {
    /// Parses `--db`: `sqlite:...` or `mysql://...` (`mariadb://` too).
    pub fn parse(text: &str) -> Result<DbUrl, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("sqlite:") {
            return parse_sqlite(text, rest).map(DbUrl);
        }
        let (scheme, rest) = text.split_once("://").ok_or_else(|| DB_FORMS.to_owned())?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "mysql" => "mysql",
            "mariadb" => "mariadb",
            _ => return Err(format!("unknown database `{scheme}://`: {DB_FORMS}")),
        };
        let mut url =
            Url::parse(&format!("mysql://{rest}")).map_err(|error| refused(error, DB_FORMS))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("the URL names no host: {DB_FORMS}"));
        }
        let database = url.path().trim_start_matches('/');
        if database.is_empty() {
            return Err(format!("the URL names no database: {DB_FORMS}"));
        }
        if database.contains('/') {
            return Err(format!(
                "`{database}` is not a database name (one path segment): {DB_FORMS}"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "options after `?` or `#` are not supported: {DB_FORMS}"
            ));
        }
        if url.port() == Some(0) {
            return Err(format!("port 0 is not a port to connect to: {DB_FORMS}"));
        }
        if url.port().is_none() {
            // Always shown, so that the reader sees where it connects.
            let _ = url.set_port(Some(3306));
        }
        Ok(DbUrl(Target::MySql { url, scheme }))
    }

    pub(crate) fn target(&self) -> &Target {
        &self.0
    }
}

fn parse_sqlite(text: &str, rest: &str) -> Result<Target, String> {
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path == ":memory:" {
        return Ok(Target::SqliteMemory);
    }
    if path.is_empty() {
        return Err(format!("the URL names no file: {DB_FORMS}"));
    }
    if path.contains('?') || path.contains('#') {
        return Err(format!(
            "SQLite options after `?` or `#` are not supported: {DB_FORMS}"
        ));
    }
    Ok(Target::SqliteFile {
        path: PathBuf::from(path),
        text: text.to_owned(),
    })
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Target::SqliteMemory => f.write_str("sqlite::memory:"),
            Target::SqliteFile { text, .. } => f.write_str(text),
            Target::MySql { url, scheme } => write_masked(f, scheme, url),
        }
    }
}

/// A checked Redis URL; `Display` and `Debug` mask the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// With the password: what the `redis` crate connects to.
    url: Url,
    db: u8,
}

impl RedisUrl {
    /// Parses `--redis`: `redis://[:PASSWORD@]HOST[:PORT][/DB]`.
    pub fn parse(text: &str) -> Result<RedisUrl, String> {
        let text = text.trim();
        let scheme = text.split_once("://").map(|(scheme, _)| scheme);
        match scheme.map(str::to_ascii_lowercase).as_deref() {
            Some("redis") => {}
            Some("rediss") => {
                return Err(format!(
                    "TLS (rediss://) is not supported by this build: {REDIS_FORMS}"
                ));
            }
            Some(other) => return Err(format!("unknown scheme `{other}://`: {REDIS_FORMS}")),
            None => return Err(REDIS_FORMS.to_owned()),
        }
        let mut url = Url::parse(text).map_err(|error| refused(error, REDIS_FORMS))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("the URL names no host: {REDIS_FORMS}"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "options after `?` or `#` are not supported: {REDIS_FORMS}"
            ));
        }
        if url.port() == Some(0) {
            return Err(format!("port 0 is not a port to connect to: {REDIS_FORMS}"));
        }
        if url.port().is_none() {
            let _ = url.set_port(Some(6379));
        }
        let path = url.path().trim_start_matches('/');
        let db = if path.is_empty() {
            0
        } else {
            match path.parse::<u8>() {
                Ok(db) if db <= 15 => db,
                _ => {
                    return Err(format!(
                        "`/{path}` is not a database index (0 to 15): {REDIS_FORMS}"
                    ));
                }
            }
        };
        url.set_path(&format!("/{db}"));
        Ok(RedisUrl { url, db })
    }

    /// The URL with its password, for the `redis` crate only.
    pub(crate) fn connection_url(&self) -> &str {
        self.url.as_str()
    }

    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    pub(crate) fn port(&self) -> u16 {
        self.url.port().unwrap_or(6379)
    }

    /// The database index (`SELECT n`), Redis's namespace.
    pub(crate) fn db(&self) -> u8 {
        self.db
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_masked(f, "redis", &self.url)
    }
}

/// Why a URL did not parse, and what to write instead.
fn refused(error: url::ParseError, forms: &str) -> String {
    match error {
        url::ParseError::EmptyHost => format!("the URL names no host: {forms}"),
        _ => format!("not a valid URL ({error}): {forms}"),
    }
}

/// `scheme://user:***@host:port/path`: every part but the password.
fn write_masked(f: &mut fmt::Formatter<'_>, scheme: &str, url: &Url) -> fmt::Result {
    write!(f, "{scheme}://")?;
    let user = url.username();
    match (user.is_empty(), url.password().is_some()) {
        (true, false) => {}
        (false, false) => write!(f, "{user}@")?,
        (_, true) => write!(f, "{user}:***@")?,
    }
    write!(f, "{}", url.host_str().unwrap_or_default())?;
    if let Some(port) = url.port() {
        write!(f, ":{port}")?;
    }
    f.write_str(url.path())
}

/// `text` with the password of its `scheme://user:password@` part
/// replaced by `***`, for text that did not parse (clap's error repeats
/// the value it refused).
pub(crate) fn mask_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return text.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => text.to_owned(),
    }
}

/// A clap value parser that refuses as `parse` does, but shows the refused
/// value with its password masked (clap would print it as typed).
#[derive(Clone)]
struct Masked<F>(F);

impl<T, F> TypedValueParser for Masked<F>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let mut error = match self.0.parse_ref(cmd, arg, value) {
            Ok(parsed) => return Ok(parsed),
            Err(error) => error,
        };
        if let Some(text) = value.to_str() {
            error.insert(
                ContextKind::InvalidValue,
                ContextValue::String(mask_password(text)),
            );
        }
        Err(error)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        store: StoreArgs,
    }

    fn db(text: &str) -> String {
        DbUrl::parse(text)
            .map(|url| url.to_string())
            .unwrap_or_else(|e| format!("Err: {e}"))
    }

    #[test]
    fn sqlite_forms() {
        // (`Target` has no `Debug`: it holds the password.)
        for text in ["sqlite::memory:", "sqlite://:memory:"] {
            assert!(matches!(
                DbUrl::parse(text).unwrap().0,
                Target::SqliteMemory
            ));
        }
        for (text, path) in [
            ("sqlite:users.db", "users.db"),
            ("sqlite://users.db", "users.db"),
            ("sqlite:///tmp/users.db", "/tmp/users.db"),
        ] {
            match DbUrl::parse(text).unwrap().0 {
                Target::SqliteFile { path: parsed, .. } => assert_eq!(parsed, PathBuf::from(path)),
                _ => panic!("{text} is not a file"),
            }
            assert_eq!(db(text), text);
        }
        assert!(db("sqlite:").starts_with("Err: the URL names no file"));
        assert!(db("sqlite://x.db?mode=ro").contains("not supported"));
    }

    #[test]
    fn mysql_forms_are_shown_with_the_password_masked() {
        assert_eq!(
            db("mysql://root:12345678@127.0.0.1:3306/test"),
            "mysql://root:***@127.0.0.1:3306/test"
        );
        assert_eq!(
            db("mariadb://root:12345678@db.example/test"),
            "mariadb://root:***@db.example:3306/test"
        );
        assert_eq!(
            db("MYSQL://app@[::1]:3307/users"),
            "mysql://app@[::1]:3307/users"
        );
        let url = DbUrl::parse("mysql://root:s3cret@127.0.0.1/test").unwrap();
        assert!(!format!("{url} {url:?}").contains("s3cret"));
    }

    #[test]
    fn mysql_urls_without_host_or_database_are_refused() {
        assert!(
            db("mysql://root:pw@/test").contains("names no host"),
            "{}",
            db("mysql://root:pw@/test")
        );
        assert!(db("mysql://root:pw@127.0.0.1:3306").contains("names no database"));
        assert!(db("mysql://root:pw@127.0.0.1:3306/").contains("names no database"));
        assert!(db("mysql://127.0.0.1/a/b").contains("one path segment"));
        assert!(db("mysql://127.0.0.1/test?ssl-mode=required").contains("not supported"));
        assert!(db("mysql://127.0.0.1:0/test").contains("port 0"));
        assert!(db("mysql://127.0.0.1:99999/test").contains("not a valid URL"));
    }

    #[test]
    fn other_databases_are_refused_naming_the_accepted_forms() {
        for text in ["postgres://localhost/test", "users.db", "", "http://x/y"] {
            let refused = db(text);
            assert!(refused.starts_with("Err: "), "{text}: {refused}");
            assert!(refused.contains("sqlite::memory:"), "{text}: {refused}");
            assert!(refused.contains("mysql://USER:PASSWORD@HOST:PORT/DATABASE"));
        }
    }

    #[test]
    fn redis_forms() {
        let show = |text: &str| {
            RedisUrl::parse(text)
                .map(|url| url.to_string())
                .unwrap_or_else(|e| format!("Err: {e}"))
        };
        assert_eq!(show("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
        assert_eq!(show("redis://127.0.0.1"), "redis://127.0.0.1:6379/0");
        assert_eq!(
            show("redis://:pw@127.0.0.1/3"),
            "redis://:***@127.0.0.1:6379/3"
        );
        assert_eq!(
            show("redis://app:pw@localhost:7000/15"),
            "redis://app:***@localhost:7000/15"
        );
        let url = RedisUrl::parse("redis://:pw@127.0.0.1/3").unwrap();
        assert_eq!((url.host(), url.port(), url.db()), ("127.0.0.1", 6379, 3));
        assert!(url.connection_url().contains(":pw@"));
        assert!(show("redis://127.0.0.1/16").contains("0 to 15"));
        assert!(show("redis://127.0.0.1/x").contains("0 to 15"));
        assert!(show("rediss://127.0.0.1/0").contains("TLS"));
        assert!(show("127.0.0.1:6379").starts_with("Err: write redis://"));
        assert!(show("redis:///0").contains("names no host"));
        assert!(show("redis://127.0.0.1/0?protocol=resp3").contains("not supported"));
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["server"]).unwrap();
        assert!(matches!(cli.store.db.0, Target::SqliteMemory));
        assert!(cli.store.redis.is_none());
    }

    /// clap repeats a refused value: the password must not be in it.
    #[test]
    fn a_refused_flag_exits_2_naming_it_with_the_password_masked() {
        let error =
            Cli::try_parse_from(["server", "--db", "mysql://root:s3cret@/test"]).unwrap_err();
        let text = error.to_string();
        assert_eq!(error.exit_code(), 2);
        assert!(
            text.contains(
                "invalid value 'mysql://root:***@/test' for '--db <URL>': the URL names no host"
            ),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");

        let error = Cli::try_parse_from(["server", "--redis", "rediss://:s3cret@h/0"]).unwrap_err();
        let text = error.to_string();
        assert_eq!(error.exit_code(), 2);
        assert!(
            text.contains("invalid value 'rediss://:***@h/0' for '--redis <URL>'"),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }

    #[test]
    fn masking_text_that_did_not_parse() {
        assert_eq!(mask_password("mysql://u:p@h/x"), "mysql://u:***@h/x");
        assert_eq!(mask_password("mysql://u:p:q@h"), "mysql://u:***@h");
        assert_eq!(mask_password("mysql://u@h/x"), "mysql://u@h/x");
        assert_eq!(mask_password("mysql://h/x@y"), "mysql://h/x@y");
        assert_eq!(mask_password("nothing"), "nothing");
    }
}
