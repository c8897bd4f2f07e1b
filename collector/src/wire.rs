//! A protobuf traces export request read without decoding each span whole.
//!
//! What the store indexes of a span (ids, name, kind, times, status) is read
//! from its bytes; its other fields (attributes, events, links, trace state,
//! flags, dropped counts) are checked (wire types, UTF-8, nesting) and
//! handed over as the byte ranges they take, so that the store keeps them as
//! they came, with no allocation per attribute and no encoding back. Only a
//! span with a value over the value limit is decoded whole (to be cut).
//! The resources and scopes, a few per request, are decoded with prost.
//!
//! The checks are prost's for these messages: a field of a known number
//! with the wrong wire type, a length past the end, a string that is not
//! UTF-8 or nesting deeper than [`MAX_DEPTH`] refuses the request; unknown
//! fields are skipped (and not kept), as prost skips them.

use std::ops::Range;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

/// Nested messages (values in lists in values...) deeper than this refuse
/// the request, as prost's recursion limit does.
const MAX_DEPTH: u32 = 100;

/// Why a body is not a traces export request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct WireError(String);

pub(crate) fn malformed(what: impl Into<String>) -> WireError {
    WireError(what.into())
}

/// The wire types of protobuf.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A cursor over one message's bytes.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One field: its number, wire type, where it starts (its key), and its
/// value (the payload of a length-delimited field, else the bytes of the
/// number).
struct Field<'a> {
    number: u32,
    wire: u8,
    start: usize,
    value: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| malformed("a varint runs past the end"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(malformed("a varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| malformed("a field runs past the end of its message"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next field, `None` at the end.
    fn next_field(&mut self) -> Result<Option<Field<'a>>, WireError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let start = self.pos;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| malformed(format!("invalid field number {}", key >> 3)))?;
        let wire = (key & 7) as u8;
        let value = match wire {
            VARINT => {
                let from = self.pos;
                self.varint()?;
                &self.buf[from..self.pos]
            }
            FIXED64 => self.take(8)?,
            FIXED32 => self.take(4)?,
            LEN => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| malformed("a length past the end"))?;
                self.take(len)?
            }
            other => return Err(malformed(format!("unsupported wire type {other}"))),
        };
        Ok(Some(Field {
            number,
            wire,
            start,
            value,
        }))
    }
}

impl<'a> Field<'a> {
    /// Checks the wire type of a known field (`name` for the message).
    fn expect(&self, wire: u8, name: &str) -> Result<(), WireError> {
        if self.wire == wire {
            Ok(())
        } else {
            Err(malformed(format!(
                "{name} field {}: invalid wire type {} (expected {wire})",
                self.number, self.wire
            )))
        }
    }

    fn text(&self, name: &str) -> Result<&'a str, WireError> {
        self.expect(LEN, name)?;
        std::str::from_utf8(self.value).map_err(|_| {
            malformed(format!(
                "{name} field {}: invalid string value: data is not UTF-8 encoded",
                self.number
            ))
        })
    }

    fn varint(&self, name: &str) -> Result<u64, WireError> {
        self.expect(VARINT, name)?;
        Fields::new(self.value).varint()
    }

    fn fixed64(&self, name: &str) -> Result<u64, WireError> {
        self.expect(FIXED64, name)?;
        let bytes: [u8; 8] = self.value.try_into().unwrap_or_default();
        Ok(u64::from_le_bytes(bytes))
    }
}

/// A request: its resources, each with its scopes, each with the bytes of
/// its spans.
#[derive(Debug, Default)]
pub(crate) struct Request<'a> {
    pub(crate) resource_spans: Vec<ResourceSpans<'a>>,
}

#[derive(Debug, Default)]
pub(crate) struct ResourceSpans<'a> {
    pub(crate) resource: Option<Resource>,
    pub(crate) schema_url: String,
    pub(crate) scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Debug, Default)]
pub(crate) struct ScopeSpans<'a> {
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) schema_url: String,
    pub(crate) spans: Vec<&'a [u8]>,
}

/// Reads an `ExportTraceServiceRequest` down to the bytes of each span.
pub(crate) fn request(body: &[u8]) -> Result<Request<'_>, WireError> {
    let mut request = Request::default();
    let mut fields = Fields::new(body);
    while let Some(field) = fields.next_field()? {
        if field.number == 1 {
            field.expect(LEN, "ExportTraceServiceRequest")?;
            request.resource_spans.push(resource_spans(field.value)?);
        }
    }
    Ok(request)
}

fn resource_spans(bytes: &[u8]) -> Result<ResourceSpans<'_>, WireError> {
    let mut out = ResourceSpans::default();
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => {
                field.expect(LEN, "ResourceSpans")?;
                let mut resource = out.resource.take().unwrap_or_default();
                resource
                    .merge(field.value)
                    .map_err(|e| malformed(e.to_string()))?;
                out.resource = Some(resource);
            }
            2 => {
                field.expect(LEN, "ResourceSpans")?;
                out.scope_spans.push(scope_spans(field.value)?);
            }
            3 => out.schema_url = field.text("ResourceSpans")?.to_owned(),
            _ => {}
        }
    }
    Ok(out)
}

fn scope_spans(bytes: &[u8]) -> Result<ScopeSpans<'_>, WireError> {
    let mut out = ScopeSpans::default();
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => {
                field.expect(LEN, "ScopeSpans")?;
                let mut scope = out.scope.take().unwrap_or_default();
                scope
                    .merge(field.value)
                    .map_err(|e| malformed(e.to_string()))?;
                out.scope = Some(scope);
            }
            2 => {
                field.expect(LEN, "ScopeSpans")?;
                out.spans.push(field.value);
            }
            3 => out.schema_url = field.text("ScopeSpans")?.to_owned(),
            _ => {}
        }
    }
    Ok(out)
}

/// What the store indexes of a span, read from its bytes; the rest is in
/// `kept`.
#[derive(Debug, Default)]
pub(crate) struct Span<'a> {
    pub(crate) trace_id: &'a [u8],
    pub(crate) span_id: &'a [u8],
    pub(crate) parent_span_id: &'a [u8],
    pub(crate) name: &'a str,
    pub(crate) kind: i32,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status_code: i32,
    pub(crate) status_message: &'a str,
    /// The longest text or bytes value anywhere in the span.
    pub(crate) longest: usize,
}

/// Reads and checks one span's bytes; the byte ranges of the fields to
/// keep as they are (everything but what [`Span`] holds) go to `kept`.
pub(crate) fn span<'a>(
    bytes: &'a [u8],
    kept: &mut Vec<Range<usize>>,
) -> Result<Span<'a>, WireError> {
    const NAME: &str = "Span";
    kept.clear();
    let mut span = Span::default();
    let mut fields = Fields::new(bytes);
    let mut longest = 0;
    while let Some(field) = fields.next_field()? {
        let whole = field.start..fields.pos;
        match field.number {
            1 => span.trace_id = bytes_of(&field, NAME)?,
            2 => span.span_id = bytes_of(&field, NAME)?,
            4 => span.parent_span_id = bytes_of(&field, NAME)?,
            5 => span.name = field.text(NAME)?,
            // As prost reads an enum: the varint's low 32 bits.
            6 => span.kind = field.varint(NAME)? as i32,
            7 => span.start = field.fixed64(NAME)?,
            8 => span.end = field.fixed64(NAME)?,
            15 => {
                field.expect(LEN, NAME)?;
                status(field.value, &mut span)?;
            }
            3 => {
                longest = longest.max(field.text(NAME)?.len());
                kept.push(whole);
            }
            9 => {
                field.expect(LEN, NAME)?;
                longest = longest.max(key_value(field.value, 0)?);
                kept.push(whole);
            }
            11 => {
                field.expect(LEN, NAME)?;
                longest = longest.max(event(field.value)?);
                kept.push(whole);
            }
            13 => {
                field.expect(LEN, NAME)?;
                longest = longest.max(link(field.value)?);
                kept.push(whole);
            }
            10 | 12 | 14 => {
                field.varint(NAME)?;
                kept.push(whole);
            }
            16 => {
                field.expect(FIXED32, NAME)?;
                kept.push(whole);
            }
            _ => {}
        }
    }
    span.longest = longest.max(span.name.len()).max(span.status_message.len());
    Ok(span)
}

fn bytes_of<'a>(field: &Field<'a>, name: &str) -> Result<&'a [u8], WireError> {
    field.expect(LEN, name)?;
    Ok(field.value)
}

fn status<'a>(bytes: &'a [u8], span: &mut Span<'a>) -> Result<(), WireError> {
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            2 => span.status_message = field.text("Status")?,
            3 => span.status_code = field.varint("Status")? as i32,
            _ => {}
        }
    }
    Ok(())
}

/// Checks a `KeyValue`; the longest text or bytes in it.
fn key_value(bytes: &[u8], depth: u32) -> Result<usize, WireError> {
    let mut longest = 0;
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => longest = longest.max(field.text("KeyValue")?.len()),
            2 => {
                field.expect(LEN, "KeyValue")?;
                longest = longest.max(any_value(field.value, depth + 1)?);
            }
            3 => {
                field.varint("KeyValue")?;
            }
            _ => {}
        }
    }
    Ok(longest)
}

/// Checks an `AnyValue` (and what it holds); the longest text or bytes.
fn any_value(bytes: &[u8], depth: u32) -> Result<usize, WireError> {
    const NAME: &str = "AnyValue";
    if depth > MAX_DEPTH {
        return Err(malformed("recursion limit reached"));
    }
    let mut longest = 0;
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => longest = longest.max(field.text(NAME)?.len()),
            2 | 3 | 8 => {
                field.varint(NAME)?;
            }
            4 => {
                field.fixed64(NAME)?;
            }
            5 => {
                field.expect(LEN, NAME)?;
                let inner = values(field.value, "ArrayValue", |v| any_value(v, depth + 1))?;
                longest = longest.max(inner);
            }
            6 => {
                field.expect(LEN, NAME)?;
                let inner = values(field.value, "KeyValueList", |v| key_value(v, depth + 1))?;
                longest = longest.max(inner);
            }
            7 => {
                field.expect(LEN, NAME)?;
                // Cut bytes are written as hex: twice as long.
                longest = longest.max(field.value.len().saturating_mul(2));
            }
            _ => {}
        }
    }
    Ok(longest)
}

/// Checks each item of an `ArrayValue` or a `KeyValueList` (`name`): both
/// are a repeated field 1, each item checked by `item`; the longest text or
/// bytes in them.
fn values(
    bytes: &[u8],
    name: &str,
    item: impl Fn(&[u8]) -> Result<usize, WireError>,
) -> Result<usize, WireError> {
    let mut longest = 0;
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        if field.number == 1 {
            field.expect(LEN, name)?;
            longest = longest.max(item(field.value)?);
        }
    }
    Ok(longest)
}

fn event(bytes: &[u8]) -> Result<usize, WireError> {
    const NAME: &str = "Event";
    let mut longest = 0;
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 => {
                field.fixed64(NAME)?;
            }
            2 => longest = longest.max(field.text(NAME)?.len()),
            3 => {
                field.expect(LEN, NAME)?;
                longest = longest.max(key_value(field.value, 0)?);
            }
            4 => {
                field.varint(NAME)?;
            }
            _ => {}
        }
    }
    Ok(longest)
}

fn link(bytes: &[u8]) -> Result<usize, WireError> {
    const NAME: &str = "Link";
    let mut longest = 0;
    let mut fields = Fields::new(bytes);
    while let Some(field) = fields.next_field()? {
        match field.number {
            1 | 2 => {
                field.expect(LEN, NAME)?;
            }
            3 => longest = longest.max(field.text(NAME)?.len()),
            4 => {
                field.expect(LEN, NAME)?;
                longest = longest.max(key_value(field.value, 0)?);
            }
            5 => {
                field.varint(NAME)?;
            }
            6 => field.expect(FIXED32, NAME)?,
            _ => {}
        }
    }
    Ok(longest)
}

/// The trace id and span id of each link in a stored span's details (the
/// `Span` message `stored` keeps: field 13 is a link, its fields 1 and 2
/// the ids), appended to `out` with `index`. Reads only the link fields;
/// a link whose ids are not 16 and 8 bytes is skipped, and bytes that do
/// not parse end the walk (they were checked at ingest).
pub(crate) fn link_targets(details: &[u8], index: u32, out: &mut Vec<(u32, [u8; 16], [u8; 8])>) {
    let mut fields = Fields::new(details);
    while let Ok(Some(field)) = fields.next_field() {
        if field.number != 13 || field.wire != LEN {
            continue;
        }
        let (mut trace_id, mut span_id) = (None, None);
        let mut link = Fields::new(field.value);
        while let Ok(Some(inner)) = link.next_field() {
            match (inner.number, inner.wire) {
                (1, LEN) => trace_id = inner.value.try_into().ok(),
                (2, LEN) => span_id = inner.value.try_into().ok(),
                _ => {}
            }
        }
        if let (Some(trace_id), Some(span_id)) = (trace_id, span_id) {
            out.push((index, trace_id, span_id));
        }
    }
}
