//! The collector's URL: checked once (scheme, host, port, no query or
//! fragment), with any `user:password@` taken out of it so that it is sent as
//! a header and never printed.

use std::fmt;

use anyhow::bail;
use url::Url;

use super::Secret;

/// A checked `http://` or `https://` URL without credentials. `Display`
/// shows it; when the URL had credentials, they show as `[redacted]@`.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: Url,
    /// `user:password` from the URL, sent as `Authorization: Basic`.
    credentials: Option<Secret>,
    /// The path [`Endpoint::join`] appended to a base URL (`/v1/traces`),
    /// so that advice can name the base; `None` for a URL taken whole.
    joined: Option<String>,
}

impl Endpoint {
    /// Checks `value`; `source` names the flag or variable it came from.
    pub fn parse(value: &str, source: &str) -> anyhow::Result<Endpoint> {
        let value = value.trim();
        let lower = value.to_ascii_lowercase();
        // Shown in messages; a password in it is masked.
        let shown = mask_userinfo(value);
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            if let Some((shown, fixed)) = misspelt_scheme(value) {
                bail!(
                    "invalid collector endpoint `{shown}` (from {source}): the scheme is misspelt; \
                     write `{fixed}`"
                );
            }
            if lower.contains("://") {
                bail!(
                    "invalid collector endpoint `{shown}` (from {source}): only `http://` and `https://` are supported"
                );
            }
            // No `://`, so no scheme, and any `user:password@` starts the text.
            let shown = mask_authority(value);
            bail!(
                "invalid collector endpoint `{shown}` (from {source}): it has no scheme. \
                 Write `http://{shown}` for a plain-text collector or `https://{shown}` for TLS"
            );
        }
        let mut url = match Url::parse(value) {
            Ok(url) => url,
            Err(url::ParseError::InvalidPort) => bail!(
                "invalid collector endpoint `{shown}` (from {source}): the port must be a number from 1 to 65535"
            ),
            Err(url::ParseError::EmptyHost) => {
                bail!("invalid collector endpoint `{shown}` (from {source}): it names no host")
            }
            Err(error) => bail!("invalid collector endpoint `{shown}` (from {source}): {error}"),
        };
        if url.host_str().is_none_or(str::is_empty) {
            bail!("invalid collector endpoint `{shown}` (from {source}): it names no host");
        }
        if url.port() == Some(0) {
            bail!(
                "invalid collector endpoint `{shown}` (from {source}): the port must be a number from 1 to 65535"
            );
        }
        if url.query().is_some() || url.fragment().is_some() {
            bail!(
                "invalid collector endpoint `{shown}` (from {source}): a query (`?…`) or fragment (`#…`) \
                 would swallow the path; remove it (vendor tokens go in --token or OTEL_EXPORTER_OTLP_HEADERS)"
            );
        }
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let user = decode(url.username());
            let password = url.password().map(decode).unwrap_or_default();
            // Cannot fail: the URL has a host.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some(Secret::from(format!("{user}:{password}")))
        };
        Ok(Endpoint {
            url,
            credentials,
            joined: None,
        })
    }

    /// `http` or `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The host as written (an IPv6 literal without brackets).
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        }
    }

    /// The port, or the scheme's default one.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(80)
    }

    /// `host:port` as it is shown in messages (`[::1]:4318` for IPv6).
    pub fn authority(&self) -> String {
        match self.url.host() {
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]:{}", self.port()),
            _ => format!("{}:{}", self.host(), self.port()),
        }
    }

    /// The URL path, `/` at least.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// This endpoint with another path, taken whole.
    pub fn with_path(&self, path: &str) -> Endpoint {
        let mut endpoint = self.clone();
        endpoint.url.set_path(path);
        endpoint.joined = None;
        endpoint
    }

    /// This endpoint with `path` appended to its own path (`/prefix` + `/v1/traces`).
    pub fn join(&self, path: &str) -> Endpoint {
        let base = self.url.path().trim_end_matches('/');
        let mut endpoint = self.with_path(&format!("{base}{path}"));
        endpoint.joined = Some(path.to_owned());
        endpoint
    }

    /// The path [`Endpoint::join`] appended, if this URL was made so.
    pub fn joined(&self) -> Option<&str> {
        self.joined.as_deref()
    }

    /// This URL without `suffix` at the end of its path (a trailing `/`
    /// aside): the base URL that `suffix` was, or would be, appended to.
    pub fn without_suffix(&self, suffix: &str) -> Option<Endpoint> {
        let path = self.url.path();
        let trimmed = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let base = trimmed.strip_suffix(suffix)?;
        Some(self.with_path(if base.is_empty() { "/" } else { base }))
    }

    /// Where an answer's `Location` points, read against this URL (it may
    /// be relative); `None` unless it is an `http://` or `https://` URL.
    pub fn redirected(&self, location: &str) -> Option<Endpoint> {
        let to = self.url.join(location).ok()?;
        let mut to = Endpoint::parse(to.as_str(), "Location").ok()?;
        // Credentials of ours are never in it, so none are shown.
        to.credentials = None;
        Some(to)
    }

    /// The URL to hand to the exporter: no credentials, and for a bare origin
    /// no trailing `/`.
    pub fn as_str(&self) -> &str {
        let url = self.url.as_str();
        if self.url.path() == "/" {
            url.trim_end_matches('/')
        } else {
            url
        }
    }

    /// `user:password` from the URL, if it had any.
    pub fn credentials(&self) -> Option<&Secret> {
        self.credentials.as_ref()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.credentials.is_none() {
            return f.write_str(self.as_str());
        }
        let url = self.as_str();
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        write!(f, "{}[redacted]@{}", &url[..scheme_end], &url[scheme_end..])
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

/// A user or password as the URL holds it, percent-decoded.
fn decode(part: &str) -> String {
    super::env::percent_decode(part).unwrap_or_else(|| part.to_owned())
}

/// `scheme://[redacted]@host…` for any text holding a URL with credentials;
/// other text unchanged. Used for messages and the command line that the
/// resource carries.
pub fn mask_userinfo(text: &str) -> String {
    match text.find("://").map(|i| i + 3) {
        Some(scheme_end) => format!(
            "{}{}",
            &text[..scheme_end],
            mask_authority(&text[scheme_end..])
        ),
        None => text.to_owned(),
    }
}

/// `[redacted]@host…` for text that starts with an authority holding
/// credentials (`user:password@host…`); other text unchanged.
fn mask_authority(text: &str) -> String {
    let authority_end = text.find(['/', '?', '#']).unwrap_or(text.len());
    match text[..authority_end].rfind('@') {
        Some(at) => format!("[redacted]{}", &text[at..]),
        None => text.to_owned(),
    }
}

/// `http//host`, `https:/host`, `http:host`: `http` or `https` with its
/// `://` mistyped. The value as shown (credentials masked) and the fix
/// (`http://host`); `None` for anything else, `http:4318` too (the host
/// `http` with a port).
fn misspelt_scheme(value: &str) -> Option<(String, String)> {
    let lower = value.to_ascii_lowercase();
    let scheme = ["https", "http"]
        .into_iter()
        .find(|scheme| lower.starts_with(scheme))?;
    let rest = &value[scheme.len()..];
    let host = rest.trim_start_matches([':', '/']);
    let separator = &rest[..rest.len() - host.len()];
    let port = separator == ":" && host.starts_with(|c: char| c.is_ascii_digit());
    if separator.is_empty() || host.is_empty() || port {
        return None;
    }
    let host = mask_authority(host);
    let written = &value[..scheme.len()];
    Some((
        format!("{written}{separator}{host}"),
        format!("{scheme}://{host}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(value: &str) -> String {
        Endpoint::parse(value, "--endpoint")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn ports_outside_the_range_are_refused() {
        for value in [
            "http://127.0.0.1:99999",
            "http://127.0.0.1:0",
            "http://h:-1",
        ] {
            assert!(
                err(value).contains("port must be a number from 1 to 65535"),
                "{value}: {}",
                err(value)
            );
        }
        assert_eq!(
            Endpoint::parse("http://h:65535", "x").unwrap().port(),
            65535
        );
        assert_eq!(Endpoint::parse("https://h", "x").unwrap().port(), 443);
    }

    #[test]
    fn query_and_fragment_are_refused() {
        for value in [
            "http://h:4318?q=1",
            "http://h:4318/#x",
            "http://h:4318/v1/traces?",
        ] {
            assert!(
                err(value).contains("query (`?…`) or fragment"),
                "{value}: {}",
                err(value)
            );
        }
    }

    #[test]
    fn ipv6_literals_are_hosts() {
        let endpoint = Endpoint::parse("http://[::1]:4318", "x").unwrap();
        assert_eq!(endpoint.host(), "::1");
        assert_eq!(endpoint.authority(), "[::1]:4318");
        assert_eq!(
            endpoint.join("/v1/traces").as_str(),
            "http://[::1]:4318/v1/traces"
        );
    }

    #[test]
    fn credentials_are_taken_out_and_masked() {
        let endpoint = Endpoint::parse("https://user:pa%40s+s@otlp.example:443/p", "x").unwrap();
        // `%40` is `@`; a `+` is a plus, not a space as in a form.
        assert_eq!(endpoint.credentials().unwrap().expose(), "user:pa@s+s");
        assert_eq!(endpoint.as_str(), "https://otlp.example/p");
        let shown = format!("{endpoint} {endpoint:?}");
        assert!(!shown.contains("pa") && !shown.contains("user"), "{shown}");
        assert!(
            shown.contains("https://[redacted]@otlp.example/p"),
            "{shown}"
        );
        // A refused URL does not echo the password either.
        let message = err("ftp://user:hunter2@h");
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(
            mask_userinfo("--endpoint=http://u:p@h:1/x"),
            "--endpoint=http://[redacted]@h:1/x"
        );
        assert_eq!(mask_userinfo("http://h:1/a@b"), "http://h:1/a@b");
    }

    #[test]
    fn a_misspelt_scheme_is_fixed_not_doubled() {
        for (value, fixed) in [
            ("http//localhost:4318", "http://localhost:4318"),
            ("https//otlp.example", "https://otlp.example"),
            ("HTTP//h:1", "http://h:1"),
            ("http:/h:1/p", "http://h:1/p"),
            ("http:h:1", "http://h:1"),
        ] {
            let message = err(value);
            assert!(
                message.ends_with(&format!("the scheme is misspelt; write `{fixed}`")),
                "{value}: {message}"
            );
        }
        // The host `http` with a port has no scheme.
        assert!(err("http:4318").contains("Write `http://http:4318`"));
        // A password never shows, misspelt scheme or none.
        for value in ["http//me:hunter2@h:1", "me:hunter2@h:1"] {
            let message = err(value);
            assert!(!message.contains("hunter2"), "{message}");
            assert!(message.contains("[redacted]@h:1"), "{message}");
        }
    }

    #[test]
    fn a_base_is_what_precedes_the_appended_path() {
        let url = Endpoint::parse("http://h:1/otlp", "x")
            .unwrap()
            .join("/v1/traces");
        assert_eq!(url.joined(), Some("/v1/traces"));
        assert_eq!(url.with_path("/q").joined(), None);
        let base = url.without_suffix("/v1/traces").unwrap();
        assert_eq!(base.as_str(), "http://h:1/otlp");
        let root = Endpoint::parse("http://h:1/v1/logs/", "x").unwrap();
        assert_eq!(
            root.without_suffix("/v1/logs").unwrap().as_str(),
            "http://h:1"
        );
        assert!(root.without_suffix("/v1/traces").is_none());
        // A Location is read against the URL that was asked.
        let to = url.redirected("/new/v1/traces").unwrap();
        assert_eq!(to.as_str(), "http://h:1/new/v1/traces");
        let to = url.redirected("https://u:p@o:2/v1/traces").unwrap();
        assert_eq!(to.to_string(), "https://o:2/v1/traces");
        assert!(url.redirected("ftp://o/x").is_none());
    }

    #[test]
    fn paths_join() {
        let base = Endpoint::parse("http://h:1/prefix/", "x").unwrap();
        assert_eq!(
            base.join("/v1/traces").as_str(),
            "http://h:1/prefix/v1/traces"
        );
        assert_eq!(
            Endpoint::parse("HTTP://H:1", "x").unwrap().as_str(),
            "http://h:1"
        );
    }
}
