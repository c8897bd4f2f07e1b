//! The service map (`GET /api/map`): services, and the databases and
//! caches they call, as nodes; the calls between them as edges, each with
//! how many calls and how many failed, and the RPC methods called.
//!
//! Read from the stored spans, one trace at a time, linear in the spans:
//! - a span whose parent is a span of another service is a call from that
//!   service to the span's (an edge); when the span carries `rpc.method`
//!   (with `rpc.service`, as the older conventions split it) the edge shows
//!   the method;
//! - a CLIENT span with `db.system.name` (or the older `db.system`) is a
//!   call to a database named by its system and `server.address` (with
//!   `server.port` when given): `sqlite`, `mysql 127.0.0.1:3306`; a cache
//!   system (`redis`, `memcached`, `valkey`) is a cache node;
//! - a span with `cache.key` and no `db.*` system (the with-db examples'
//!   in-process cache) is a call to the service's own in-process cache.
//!
//! An error span counts as a failed call; between services, when the
//! callee's span or the caller's CLIENT span is one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use opentelemetry_proto::tonic::common::v1::any_value::Value as V;
use opentelemetry_proto::tonic::trace::v1 as proto;
use prost::Message as _;
use serde::Serialize;

use crate::model::{SpanKind, StatusCode};
use crate::stored::{SpanId, StoredSpan};

/// What a node of the map is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A service (a `service.name` of the spans).
    Service,
    /// A database: the target of CLIENT spans with `db.system.name`.
    Database,
    /// A cache: Redis, Memcached, Valkey, or a service's in-process cache.
    Cache,
}

/// One node of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapNode {
    /// The service name; for a database or cache, its system and address
    /// (`sqlite`, `redis 127.0.0.1:6379`, `in-process cache (user-server)`).
    pub name: String,
    pub kind: NodeKind,
    /// Calls it received (the edges into it, added up).
    pub calls: u64,
    /// Of those, the failed ones (error spans).
    pub errors: u64,
}

/// Calls from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapEdge {
    /// The caller (a service).
    pub from: String,
    /// The callee: a service, a database or a cache.
    pub to: String,
    pub calls: u64,
    /// Calls whose span has status error.
    pub errors: u64,
    /// The RPC methods called (`user.User/Insert`), sorted, at most
    /// 16; absent from the JSON when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
}

/// The whole map: nodes by name, edges by caller then callee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceMap {
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
}

/// Methods listed on one edge at most.
pub(crate) const MAX_METHODS: usize = 16;

/// `db.system.name` values that are caches.
const CACHE_SYSTEMS: [&str; 3] = ["redis", "memcached", "valkey"];

#[derive(Default)]
struct EdgeCount {
    calls: u64,
    errors: u64,
    methods: BTreeSet<String>,
}

/// Adds up the map over traces given one at a time.
#[derive(Default)]
pub(crate) struct MapBuilder {
    kinds: BTreeMap<String, NodeKind>,
    edges: BTreeMap<(String, String), EdgeCount>,
}

/// What the map reads of a span's attributes.
#[derive(Default)]
struct Attrs {
    db_system: Option<String>,
    address: Option<String>,
    port: Option<String>,
    rpc_method: Option<String>,
    rpc_service: Option<String>,
    cache_key: bool,
}

impl Attrs {
    fn of(span: &StoredSpan) -> Attrs {
        let details = proto::Span::decode(span.details.get(&span.blob)).unwrap_or_default();
        let mut attrs = Attrs::default();
        for kv in details.attributes {
            let text = match kv.value.and_then(|v| v.value) {
                Some(V::StringValue(s)) => s,
                Some(V::IntValue(n)) => n.to_string(),
                _ => continue,
            };
            match kv.key.as_str() {
                "db.system.name" => attrs.db_system = Some(text),
                "db.system" => {
                    attrs.db_system.get_or_insert(text);
                }
                "server.address" => attrs.address = Some(text),
                "server.port" => attrs.port = Some(text),
                "rpc.method" => attrs.rpc_method = Some(text),
                "rpc.service" => attrs.rpc_service = Some(text),
                "cache.key" => attrs.cache_key = true,
                _ => {}
            }
        }
        attrs
    }

    /// The database or cache this span calls, if it is such a call.
    fn store_node(&self, kind: SpanKind, service: &str) -> Option<(String, NodeKind)> {
        match &self.db_system {
            Some(system) if kind == SpanKind::Client => {
                let kind = if CACHE_SYSTEMS.contains(&system.as_str()) {
                    NodeKind::Cache
                } else {
                    NodeKind::Database
                };
                let name = match (&self.address, &self.port) {
                    (Some(address), Some(port)) => format!("{system} {address}:{port}"),
                    (Some(address), None) => format!("{system} {address}"),
                    _ => system.clone(),
                };
                Some((name, kind))
            }
            None if self.cache_key => {
                Some((format!("in-process cache ({service})"), NodeKind::Cache))
            }
            _ => None,
        }
    }

    /// The RPC method, as `service/method`.
    fn method(&self) -> Option<String> {
        let method = self.rpc_method.as_deref()?;
        Some(match &self.rpc_service {
            Some(service) if !method.contains('/') => format!("{service}/{method}"),
            _ => method.to_owned(),
        })
    }
}

impl MapBuilder {
    /// Adds the spans of one trace.
    pub(crate) fn add<'a>(&mut self, spans: impl Iterator<Item = &'a StoredSpan> + Clone) {
        let by_id: HashMap<SpanId, &StoredSpan> = spans.clone().map(|s| (s.span_id, s)).collect();
        for span in spans {
            let service = &span.source.service_name;
            self.kinds
                .entry(service.to_string())
                .or_insert(NodeKind::Service);
            let caller = span
                .parent
                .and_then(|p| by_id.get(&p))
                .filter(|parent| parent.source.service_name != *service);
            // Only spans that could be a call are decoded.
            let maybe_store = matches!(span.kind, SpanKind::Client | SpanKind::Internal);
            if caller.is_none() && !maybe_store {
                continue;
            }
            let attrs = Attrs::of(span);
            let error = u64::from(span.status == StatusCode::Error);
            if let Some(parent) = caller {
                let edge = self
                    .edges
                    .entry((parent.source.service_name.to_string(), service.to_string()))
                    .or_default();
                edge.calls += 1;
                // Failed on either side: a gRPC client sees INVALID_ARGUMENT
                // as an error, its server does not.
                let client_error =
                    parent.kind == SpanKind::Client && parent.status == StatusCode::Error;
                edge.errors += error.max(u64::from(client_error));
                if let Some(method) = attrs.method()
                    && (edge.methods.len() < MAX_METHODS || edge.methods.contains(&method))
                {
                    edge.methods.insert(method);
                }
            }
            if let Some((name, kind)) = attrs.store_node(span.kind, service) {
                // A name that is a service's stays a service.
                self.kinds.entry(name.clone()).or_insert(kind);
                let edge = self.edges.entry((service.to_string(), name)).or_default();
                edge.calls += 1;
                edge.errors += error;
            }
        }
    }

    pub(crate) fn finish(self) -> ServiceMap {
        let mut received: HashMap<&str, (u64, u64)> = HashMap::new();
        for ((_, to), count) in &self.edges {
            let node = received.entry(to.as_str()).or_default();
            node.0 += count.calls;
            node.1 += count.errors;
        }
        let nodes = self
            .kinds
            .iter()
            .map(|(name, kind)| {
                let (calls, errors) = received.get(name.as_str()).copied().unwrap_or_default();
                MapNode {
                    name: name.clone(),
                    kind: *kind,
                    calls,
                    errors,
                }
            })
            .collect();
        let edges = self
            .edges
            .into_iter()
            .map(|((from, to), count)| MapEdge {
                from,
                to,
                calls: count.calls,
                errors: count.errors,
                methods: count.methods.into_iter().collect(),
            })
            .collect();
        ServiceMap { nodes, edges }
    }
}
