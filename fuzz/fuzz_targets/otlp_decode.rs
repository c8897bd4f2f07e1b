//! Any bytes as an OTLP/HTTP body: the first byte picks the encoding
//! (protobuf or JSON) and gzip, the rest is the body. Protobuf is read as
//! the receivers read it (the collector's `wire` module) and, when prost
//! takes the body too, must give the spans the decoded path gives. Whatever
//! is read is grouped into traces, walked as a tree and printed: nothing on
//! the way may panic, loop or print a control character.

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
    let (limit, max_value) = (1 << 20, 1 << 16);
    let spans = if transport == Transport::HttpProtobuf {
        // As the receivers read protobuf (wire), and, when prost takes the
        // body too, the same spans as the decoded path.
        let read = otlp::protobuf_spans(body, gzip, limit, max_value);
        let decoded = otlp::decode(body, transport, gzip, limit)
            .ok()
            .and_then(|r| otlp::spans(r, transport, "/v1/traces", max_value).ok());
        if let (Ok(read), Some(decoded)) = (&read, &decoded) {
            assert_eq!(read, decoded, "the wire path and the decoded path disagree");
        }
        let Ok(spans) = read else {
            return;
        };
        spans
    } else {
        let Ok(request) = otlp::decode(body, transport, gzip, limit) else {
            return;
        };
        let Ok(spans) = otlp::spans(request, transport, "/v1/traces", max_value) else {
            return;
        };
        spans
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
