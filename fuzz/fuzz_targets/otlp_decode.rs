//! Any bytes as an OTLP/HTTP body: the first byte picks the encoding
//! (protobuf or JSON) and gzip, the rest is the body. Whatever decodes is
//! converted to spans, grouped into traces, walked as a tree and printed:
//! nothing on the way may panic, loop or print a control character.

#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use collector::otlp;
use collector::{Trace, Transport};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let transport = if selector & 1 == 0 {
        Transport::HttpProtobuf
    } else {
        Transport::HttpJson
    };
    let gzip = selector & 2 != 0;
    let Ok(request) = otlp::decode(body, transport, gzip, 1 << 20) else {
        return;
    };
    let Ok(spans) = otlp::spans(request, transport, "/v1/traces", 1 << 16) else {
        return;
    };
    // As the store keeps them: by trace, a repeated span id once (the first).
    let mut traces: BTreeMap<String, Vec<collector::Span>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for span in spans {
        if seen.insert((span.trace_id.clone(), span.span_id.clone())) {
            traces.entry(span.trace_id.clone()).or_default().push(span);
        }
    }
    for (trace_id, spans) in traces {
        let trace = Trace {
            trace_id,
            spans,
            dropped_spans: 0,
            logs: Vec::new(),
            dropped_logs: 0,
        };
        assert_eq!(trace.tree().len(), trace.spans.len(), "every span once");
        let _ = trace.root();
        let _ = trace.is_complete();
        let text = collector::fuzzing::render(&trace);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached the output: {text:?}"
        );
        assert_eq!(text.lines().count(), trace.spans.len() + 1, "one line per span");
    }
});
