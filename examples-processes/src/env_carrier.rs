//! The environment as a context carrier, after the OpenTelemetry
//! specification's "Environment Variables as Context Propagation Carriers"
//! (`specification/context/env-carriers.md`): the W3C `traceparent`,
//! `tracestate` and `baggage` travel to a child process as the variables
//! `TRACEPARENT`, `TRACESTATE` and `BAGGAGE`.
//!
//! The rules it follows:
//!
//! - **Names** are normalized ([`normalize`]): upper case; every character
//!   outside `[A-Z0-9_]` becomes `_`; a name that starts with a digit gets a
//!   `_` in front. So `traceparent` is `TRACEPARENT` and `x-b3-traceid` is
//!   `X_B3_TRACEID`.
//! - **The parent** never changes its own environment: for each child it
//!   takes a copy ([`ChildEnv`]), removes the context variables it inherited
//!   (they describe the parent's *parent*, not the parent), and injects its
//!   current context into the copy with the global propagator
//!   ([`EnvInjector`]).
//! - **The child** reads its environment once, at start-up
//!   ([`EnvExtractor`]), and extracts its parent context from that.
//!
//! Values are what the W3C propagators write: header-safe ASCII, so no
//! truncation is needed here (the Baggage API already refuses entries past
//! 8,192 bytes in all, whole entries, the later ones).
//!
//! GoFrame's `gproc` writes the lowercase header names (`traceparent`) into
//! the environment. [`Names::WithGoFrame`] also writes and reads those, so a
//! Go child of the GoFrame example can join the trace; it is opt-in because
//! on Linux `traceparent` and `TRACEPARENT` are two different variables.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::{Context, global};

/// The variables of the W3C propagators, as the specification names them.
pub const CONTEXT_VARIABLES: [&str; 3] = ["TRACEPARENT", "TRACESTATE", "BAGGAGE"];

/// The same, as GoFrame writes them (the HTTP header names).
pub const GOFRAME_VARIABLES: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// Which variable names the carrier writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Names {
    /// The specification's: `TRACEPARENT`, `TRACESTATE`, `BAGGAGE`.
    #[default]
    Standard,
    /// Those, and GoFrame's lowercase `traceparent`, `tracestate`,
    /// `baggage` too (written beside; read when the standard one is absent).
    WithGoFrame,
}

impl Names {
    /// [`Names::WithGoFrame`] when `goframe` is set.
    pub fn with_goframe(goframe: bool) -> Names {
        if goframe {
            Names::WithGoFrame
        } else {
            Names::Standard
        }
    }

    /// The variables a parent removes from a child's copy before injecting.
    fn owned(self) -> impl Iterator<Item = &'static str> {
        let goframe = match self {
            Names::Standard => &[][..],
            Names::WithGoFrame => &GOFRAME_VARIABLES[..],
        };
        CONTEXT_VARIABLES.iter().chain(goframe).copied()
    }
}

/// A propagator key as an environment variable name: upper case, any
/// character outside `[A-Z0-9_]` replaced by `_` (one per character), and a
/// `_` in front of a leading digit.
pub fn normalize(key: &str) -> String {
    let mut name = String::with_capacity(key.len() + 1);
    if key.starts_with(|c: char| c.is_ascii_digit()) {
        name.push('_');
    }
    name.extend(key.chars().map(|c| match c {
        'A'..='Z' | '0'..='9' | '_' => c,
        'a'..='z' => c.to_ascii_uppercase(),
        _ => '_',
    }));
    name
}

/// The environment of one child: a copy of the parent's, without the
/// context variables the parent inherited, into which the parent's own
/// context is injected. Give it to the child with
/// `command.env_clear().envs(child_env.vars())`.
#[derive(Clone)]
pub struct ChildEnv {
    vars: BTreeMap<OsString, OsString>,
    names: Names,
}

impl ChildEnv {
    /// A copy of this process's environment (which stays as it is).
    pub fn inherit(names: Names) -> ChildEnv {
        ChildEnv::from_vars(std::env::vars_os(), names)
    }

    /// A copy of `vars`, minus the context variables (stale: they describe
    /// whoever started this process).
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>, names: Names) -> Self {
        let mut vars: BTreeMap<OsString, OsString> = vars.into_iter().collect();
        for name in names.owned() {
            vars.remove(OsStr::new(name));
        }
        ChildEnv { vars, names }
    }

    /// Injects `cx` (its span context and baggage) with the global
    /// propagator, the one `common::telemetry::init` installs (W3C
    /// TraceContext + Baggage).
    pub fn inject(&mut self, cx: &Context) {
        global::get_text_map_propagator(|propagator| self.inject_with(propagator, cx));
    }

    /// Injects `cx` with a given propagator.
    pub fn inject_with(&mut self, propagator: &dyn TextMapPropagator, cx: &Context) {
        propagator.inject_context(cx, &mut self.injector());
    }

    /// The injector over this copy.
    pub fn injector(&mut self) -> EnvInjector<'_> {
        EnvInjector {
            vars: &mut self.vars,
            names: self.names,
        }
    }

    /// Sets a variable of the child (this process's stays as it is).
    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Removes a variable from the child's environment.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(OsStr::new(name));
    }

    /// A variable of the child.
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    /// Every variable of the child, sorted by name.
    pub fn vars(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

// `Debug` shows the variables' names only: an environment holds secrets
// (`TRACE_TOKEN`, credentials in URLs).
impl fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildEnv")
            .field("names", &self.names)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for EnvExtractor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvExtractor")
            .field("names", &self.names)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Writes a propagator's fields into a child's environment under their
/// normalized names (and, with [`Names::WithGoFrame`], under GoFrame's
/// lowercase ones too); an empty value is not written.
#[derive(Debug)]
pub struct EnvInjector<'a> {
    vars: &'a mut BTreeMap<OsString, OsString>,
    names: Names,
}

impl Injector for EnvInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The TraceContext propagator writes an empty `tracestate` when
        // there is none; an empty variable would carry nothing.
        if value.is_empty() {
            return;
        }
        if self.names == Names::WithGoFrame {
            self.vars
                .insert(key.to_ascii_lowercase().into(), value.clone().into());
        }
        self.vars.insert(normalize(key).into(), value.into());
    }
}

/// This process's environment, read once (at start-up), for a propagator
/// to extract the parent's context from. A key is looked up by its
/// normalized name; with [`Names::WithGoFrame`], GoFrame's lowercase name is
/// the fallback. Variables whose name or value is not UTF-8 are left out.
#[derive(Clone, Default)]
pub struct EnvExtractor {
    vars: BTreeMap<String, String>,
    names: Names,
}

impl EnvExtractor {
    /// Reads this process's environment now.
    pub fn from_process(names: Names) -> EnvExtractor {
        EnvExtractor::from_vars(std::env::vars_os(), names)
    }

    /// Over given variables (a test's, or a [`ChildEnv`]'s).
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>, names: Names) -> Self
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let vars = vars
            .into_iter()
            .filter_map(|(k, v)| Some((k.into().into_string().ok()?, v.into().into_string().ok()?)))
            .collect();
        EnvExtractor { vars, names }
    }

    /// The parent's context, by the global propagator; an empty context
    /// (a new trace) when there is none or it is malformed.
    pub fn extract(&self) -> Context {
        global::get_text_map_propagator(|propagator| propagator.extract(self))
    }
}

impl Extractor for EnvExtractor {
    fn get(&self, key: &str) -> Option<&str> {
        let standard = self.vars.get(&normalize(key));
        let goframe = || match self.names {
            Names::Standard => None,
            Names::WithGoFrame => self.vars.get(&key.to_ascii_lowercase()),
        };
        standard.or_else(goframe).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.vars.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::baggage::BaggageExt as _;
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::{Context, KeyValue};
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

    use super::*;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN_ID: &str = "00f067aa0ba902b7";

    fn w3c() -> TextMapCompositePropagator {
        TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ])
    }

    fn context(state: &str) -> Context {
        let span = SpanContext::new(
            TraceId::from_hex(TRACE_ID).unwrap(),
            SpanId::from_hex(SPAN_ID).unwrap(),
            TraceFlags::SAMPLED,
            true,
            state.parse::<TraceState>().unwrap(),
        );
        Context::new()
            .with_remote_span_context(span)
            .with_baggage([KeyValue::new("user", "john"), KeyValue::new("job", "42")])
    }

    fn env(vars: &[(&str, &str)], names: Names) -> ChildEnv {
        ChildEnv::from_vars(vars.iter().map(|(k, v)| (k.into(), v.into())), names)
    }

    fn var<'a>(child: &'a ChildEnv, name: &str) -> Option<&'a str> {
        child.get(name).and_then(OsStr::to_str)
    }

    #[test]
    fn names_are_upper_case() {
        assert_eq!(normalize("traceparent"), "TRACEPARENT");
        assert_eq!(normalize("tracestate"), "TRACESTATE");
        assert_eq!(normalize("baggage"), "BAGGAGE");
        assert_eq!(normalize("TraceParent"), "TRACEPARENT");
    }

    #[test]
    fn characters_outside_a_z_0_9_underscore_become_underscores() {
        assert_eq!(normalize("x-b3-traceid"), "X_B3_TRACEID");
        assert_eq!(normalize("uberctx-user.name"), "UBERCTX_USER_NAME");
        assert_eq!(normalize("ot baggage"), "OT_BAGGAGE");
        // One `_` per character, not per byte.
        assert_eq!(normalize("clé"), "CL_");
        assert_eq!(normalize("a=b"), "A_B");
    }

    #[test]
    fn a_leading_digit_gets_an_underscore_prefix() {
        assert_eq!(normalize("3rd-party"), "_3RD_PARTY");
        assert_eq!(normalize("_3rd"), "_3RD");
        assert_eq!(normalize("x3"), "X3");
    }

    #[test]
    fn normalized_names_stay_as_they_are() {
        for name in ["TRACEPARENT", "X_B3_TRACEID", "_3RD_PARTY", "A1_"] {
            assert_eq!(normalize(name), name);
            assert_eq!(normalize(&normalize(name)), normalize(name));
        }
    }

    #[test]
    fn the_parent_injects_the_standard_names() {
        let mut child = env(&[], Names::Standard);
        child.inject_with(&w3c(), &context("vendor=x"));
        assert_eq!(
            var(&child, "TRACEPARENT"),
            Some(format!("00-{TRACE_ID}-{SPAN_ID}-01").as_str())
        );
        assert_eq!(var(&child, "TRACESTATE"), Some("vendor=x"));
        let baggage = var(&child, "BAGGAGE").unwrap();
        let mut entries: Vec<_> = baggage.split(',').collect();
        entries.sort_unstable();
        assert_eq!(entries, ["job=42", "user=john"]);
        assert_eq!(var(&child, "traceparent"), None);
    }

    #[test]
    fn stale_variables_are_removed_from_the_copy_and_others_kept() {
        let stale = "00-11111111111111111111111111111111-2222222222222222-01";
        let inherited = [
            ("TRACEPARENT", stale),
            ("TRACESTATE", "old=1"),
            ("BAGGAGE", "old=1"),
            ("PATH", "/bin"),
        ];
        let child = env(&inherited, Names::Standard);
        for name in CONTEXT_VARIABLES {
            assert_eq!(child.get(name), None, "{name}");
        }
        assert_eq!(var(&child, "PATH"), Some("/bin"));
        // A context with no trace state and no baggage leaves them absent.
        let mut child = env(&inherited, Names::Standard);
        let cx = context("").with_cleared_baggage();
        child.inject_with(&w3c(), &cx);
        assert!(var(&child, "TRACEPARENT").unwrap().contains(TRACE_ID));
        assert_eq!(child.get("TRACESTATE"), None);
        assert_eq!(child.get("BAGGAGE"), None);
    }

    #[test]
    fn the_child_extracts_what_the_parent_injected() {
        let mut child = env(&[("HOME", "/root")], Names::Standard);
        child.inject_with(&w3c(), &context("vendor=x"));
        let extractor = EnvExtractor::from_vars(child.vars(), Names::Standard);
        let cx = w3c().extract(&extractor);
        let span = cx.span().span_context().clone();
        assert_eq!(span.trace_id().to_string(), TRACE_ID);
        assert_eq!(span.span_id().to_string(), SPAN_ID);
        assert!(span.is_remote() && span.is_sampled());
        assert_eq!(span.trace_state().get("vendor"), Some("x"));
        assert_eq!(cx.baggage().get("user").map(|v| v.as_str()), Some("john"));
        assert_eq!(cx.baggage().get("job").map(|v| v.as_str()), Some("42"));
    }

    #[test]
    fn the_extractor_looks_keys_up_by_their_normalized_name() {
        let extractor = EnvExtractor::from_vars([("X_B3_TRACEID", "abc")], Names::Standard);
        assert_eq!(extractor.get("x-b3-traceid"), Some("abc"));
        assert_eq!(extractor.get("X-B3-TraceId"), Some("abc"));
        assert_eq!(extractor.get("x-b3-spanid"), None);
    }

    #[test]
    fn goframe_names_only_when_asked() {
        let traceparent = format!("00-{TRACE_ID}-{SPAN_ID}-01");
        let goframe = [("traceparent", traceparent.as_str())];
        // Standard: a lowercase variable is not a carrier.
        let cx = w3c().extract(&EnvExtractor::from_vars(goframe, Names::Standard));
        assert!(!cx.span().span_context().is_valid());
        let cx = w3c().extract(&EnvExtractor::from_vars(goframe, Names::WithGoFrame));
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            TRACE_ID,
            "GoFrame's lowercase name is read when asked"
        );
        // Both present: the specification's name wins.
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let both = [
            ("traceparent", traceparent.as_str()),
            ("TRACEPARENT", other),
        ];
        let cx = w3c().extract(&EnvExtractor::from_vars(both, Names::WithGoFrame));
        assert_eq!(
            cx.span().span_context().trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        // Written beside the standard ones, and the stale lowercase ones go.
        let mut child = env(
            &[("traceparent", other), ("baggage", "old=1")],
            Names::WithGoFrame,
        );
        child.inject_with(&w3c(), &context("").with_cleared_baggage());
        assert_eq!(var(&child, "traceparent"), Some(traceparent.as_str()));
        assert_eq!(var(&child, "TRACEPARENT"), Some(traceparent.as_str()));
        assert_eq!(child.get("baggage"), None);
        // Without the option, lowercase variables are not ours to touch.
        let child = env(&[("traceparent", other)], Names::Standard);
        assert_eq!(var(&child, "traceparent"), Some(other));
    }

    #[test]
    fn debug_shows_names_not_values() {
        let child = env(&[("TRACE_TOKEN", "s3cret")], Names::Standard);
        let extractor = EnvExtractor::from_vars([("TRACE_TOKEN", "s3cret")], Names::Standard);
        let shown = format!("{child:?} {extractor:?}");
        assert!(
            shown.contains("TRACE_TOKEN") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn no_context_writes_nothing_and_extracts_a_new_trace() {
        let mut child = env(&[], Names::Standard);
        child.inject_with(&w3c(), &Context::new());
        assert_eq!(child.vars().count(), 0);
        let cx = w3c().extract(&EnvExtractor::from_vars(
            [("TRACEPARENT", "garbage")],
            Names::Standard,
        ));
        assert!(!cx.span().span_context().is_valid());
    }
}
