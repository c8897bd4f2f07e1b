//! The `Host` check against DNS rebinding: a web page the learner opens
//! could point a name of its own at 127.0.0.1 and read the web view (or
//! post spans) as if it were the same origin. The browser still sends that
//! name in `Host` (HTTP/1.1) or the `:authority` (HTTP/2), so the OTLP/HTTP
//! receiver and the web view only answer requests naming
//!
//! - a loopback host: `localhost`, any `127.x.y.z`, `[::1]`;
//! - the IP address the connection arrived on (its local address: with a
//!   wildcard bind such as `0.0.0.0`, the address of the interface the
//!   client reached, e.g. `192.168.1.5`); an IP literal is never the name
//!   of an attacker's page, so it cannot be rebound;
//! - a name given with `--allow-host` ([`crate::CollectorConfig::allowed_hosts`]).
//!
//! With or without a port (any port: the listener is what the client
//! reached), case-insensitive, one trailing dot tolerated. Anything else,
//! a missing `Host` included, is answered 403 with a one-line reason that
//! names the host and the flag. When a request carries both an authority
//! and `Host` headers, every one of them must pass.
//!
//! The OTLP/gRPC receiver is not checked: a browser cannot make a gRPC call
//! (plain-text HTTP/2 is not spoken by browsers, fetch cannot read trailers,
//! and over TLS a rebound name fails certificate verification), while
//! exporters commonly reach it by a host name (a compose service, a LAN
//! name) that would otherwise need `--allow-host`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};

use crate::text;

/// Columns of the client's host shown in a 403.
const SHOWN_HOST_COLUMNS: usize = 100;

/// The names accepted besides loopback and the connection's own address.
#[derive(Debug, Clone, Default)]
pub(crate) struct AllowedHosts(Arc<[Host]>);

/// A host as compared: an IP address, or a lowercased name without its
/// trailing dot. Ports are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl AllowedHosts {
    /// From `--allow-host` values; a port or trailing dot given there is
    /// ignored too.
    pub(crate) fn new(names: &[String]) -> Self {
        AllowedHosts(
            names
                .iter()
                .map(|name| parse(name).unwrap_or_else(|| Host::Name(name.trim().to_lowercase())))
                .collect(),
        )
    }

    /// `None` when `request`, which arrived on `local`, names an accepted
    /// host; otherwise the 403 to answer.
    pub(crate) fn check<B>(
        &self,
        request: &Request<B>,
        local: SocketAddr,
    ) -> Option<Response<Body>> {
        // The web view's API answers errors in JSON, as all its errors.
        let json = request.uri().path().starts_with("/api/");
        let authority = request.uri().authority().map(|a| a.as_str().as_bytes());
        let hosts = request.headers().get_all(header::HOST).iter();
        let mut named = false;
        for value in authority
            .into_iter()
            .chain(hosts.map(HeaderValue::as_bytes))
        {
            named = true;
            if !self.allows(value, local.ip()) {
                return Some(forbidden(&String::from_utf8_lossy(value), json));
            }
        }
        (!named).then(|| forbidden_missing(json))
    }

    fn allows(&self, value: &[u8], local: IpAddr) -> bool {
        let Some(host) = std::str::from_utf8(value).ok().and_then(parse) else {
            return false;
        };
        let allowed = match &host {
            Host::Name(name) => name == "localhost",
            Host::Ip(ip) => {
                ip.to_canonical().is_loopback() || ip.to_canonical() == local.to_canonical()
            }
        };
        allowed || self.0.contains(&host)
    }
}

/// `name`, `name:port`, `1.2.3.4[:port]` or `[v6][:port]`; `None` when it
/// is none of these.
fn parse(value: &str) -> Option<Host> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        (ip, port)
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (value, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    if value.starts_with('[') {
        return host.parse().ok().map(Host::Ip);
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.contains([':', '[', ']']) {
        return None;
    }
    Some(match host.parse() {
        Ok(ip) => Host::Ip(IpAddr::V4(ip)),
        Err(_) => Host::Name(host.to_lowercase()),
    })
}

fn forbidden(got: &str, json: bool) -> Response<Body> {
    let shown = text::one_line(got, SHOWN_HOST_COLUMNS);
    let name = parse(got)
        .map(|host| match host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(name) => name,
        })
        .unwrap_or_else(|| "NAME".to_owned());
    let name = text::one_line(&name, SHOWN_HOST_COLUMNS);
    reject(
        format!(
            "host {shown} is not allowed (the collector answers only loopback names, its own address \
             and names given with --allow-host NAME, against DNS rebinding); if you reach it by that \
             name, start it with --allow-host {name}"
        ),
        json,
    )
}

fn forbidden_missing(json: bool) -> Response<Body> {
    reject(
        "no Host header: the collector answers only requests naming a loopback host, its own \
         address or a name given with --allow-host NAME"
            .to_owned(),
        json,
    )
}

/// A 403 saying `reason`: `{"error": reason}` as JSON, or a line of text.
fn reject(reason: String, json: bool) -> Response<Body> {
    let (body, content_type) = if json {
        (
            serde_json::json!({ "error": reason }).to_string(),
            "application/json",
        )
    } else {
        (format!("{reason}\n"), "text/plain; charset=utf-8")
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::FORBIDDEN;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(hosts: &AllowedHosts, value: &str, local: &str) -> bool {
        hosts.allows(value.as_bytes(), local.parse().expect("an IP"))
    }

    #[test]
    fn loopback_names_pass_with_or_without_a_port() {
        let hosts = AllowedHosts::default();
        for value in [
            "localhost",
            "LOCALHOST:4318",
            "localhost.",
            "localhost.:16686",
            "127.0.0.1",
            "127.0.0.1:4318",
            "127.1.2.3:80",
            "127.0.0.1.",
            "[::1]",
            "[::1]:4318",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(allowed(&hosts, value, "127.0.0.1"), "{value}");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        let hosts = AllowedHosts::default();
        for value in [
            "evil.example",
            "evil.example:4318",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:4318",
            "::1",
            "[::1",
            "[::1]x",
            "localhost:",
            "localhost:port",
            "localhost:123456",
            "",
            ":4318",
            "local host",
        ] {
            assert!(!allowed(&hosts, value, "127.0.0.1"), "{value:?}");
        }
    }

    #[test]
    fn the_connections_own_address_passes() {
        let hosts = AllowedHosts::default();
        assert!(allowed(&hosts, "192.168.1.5:4318", "192.168.1.5"));
        assert!(allowed(&hosts, "192.168.1.5", "::ffff:192.168.1.5"));
        assert!(allowed(&hosts, "[fe80::1]:4318", "fe80::1"));
        assert!(!allowed(&hosts, "192.168.1.6:4318", "192.168.1.5"));
    }

    #[test]
    fn allowed_names_match_exactly_ignoring_case_port_and_dot() {
        let hosts = AllowedHosts::new(&["Collector.LAN".into(), "10.1.1.1:9".into()]);
        assert!(allowed(&hosts, "collector.lan:4318", "127.0.0.1"));
        assert!(allowed(&hosts, "COLLECTOR.lan.", "127.0.0.1"));
        assert!(allowed(&hosts, "10.1.1.1:4318", "127.0.0.1"));
        assert!(!allowed(&hosts, "x.collector.lan", "127.0.0.1"));
        assert!(!allowed(&hosts, "collector.lan.evil", "127.0.0.1"));
    }
}
