//! `opentelemetry_sdk`'s `TraceIdRatioBased` makes the Go SDK's decision for
//! the same trace id. Go (`sdk/trace/sampling.go`, `TraceIDRatioBased`):
//! `x := binary.BigEndian.Uint64(traceID[8:16]) >> 1`, sampled iff
//! `x < uint64(fraction * (1 << 63))`. At 0.1 that bound is
//! 922337203685477632 (0x0ccccccccccccd00), so the last 8 bytes
//! 0x19999999999999ff are the largest that are sampled.

use opentelemetry::trace::{SpanKind, TraceId};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample as _};

/// (trace id, ratio, Go's decision), worked out by the rule above.
const VECTORS: &[(&str, f64, bool)] = &[
    ("00000000000000000000000000000000", 0.1, true),
    ("ffffffffffffffff0000000000000000", 0.1, true),
    ("0123456789abcdef19999999999999fe", 0.1, true),
    ("0123456789abcdef19999999999999ff", 0.1, true),
    ("0123456789abcdef1999999999999a00", 0.1, false),
    ("4bf92f3577b34da6a3ce929d0e0e4736", 0.1, false),
    ("4bf92f3577b34da6a3ce929d0e0e4736", 0.7, true),
    ("0af7651916cd43dd8448eb211c80319c", 0.5, false),
    ("0af7651916cd43dd7448eb211c80319c", 0.5, true),
    ("0123456789abcdef7fffffffffffffff", 0.5, true),
    ("0123456789abcdef8000000000000000", 0.5, false),
    ("0123456789abcdefffffffffffffffff", 0.999, false),
    ("0123456789abcdefffffffffffffffff", 1.0, true),
    ("0123456789abcdef0000000000000000", 0.0, false),
];

fn go_rule(trace_id: &str, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let low = u64::from_str_radix(&trace_id[16..], 16).unwrap();
    (low >> 1) < (ratio.max(0.0) * (1u64 << 63) as f64) as u64
}

#[test]
fn the_vectors_follow_the_go_rule() {
    for &(id, ratio, sampled) in VECTORS {
        assert_eq!(go_rule(id, ratio), sampled, "{id} at {ratio}");
    }
}

#[test]
fn rust_ratio_sampler_decides_as_go_for_known_trace_ids() {
    for &(id, ratio, sampled) in VECTORS {
        let trace_id = TraceId::from_hex(id).unwrap();
        for sampler in [
            Sampler::TraceIdRatioBased(ratio),
            // A root span: the parent-based sampler asks its root sampler.
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio))),
        ] {
            let result = sampler.should_sample(
                None,
                trace_id,
                "StartRequests",
                &SpanKind::Internal,
                &[],
                &[],
            );
            let expected = if sampled {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            };
            assert_eq!(result.decision, expected, "{id} at {ratio} ({sampler:?})");
        }
    }
}
