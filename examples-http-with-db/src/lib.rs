//! GoFrame's JSON envelope, shared by the server and the client of
//! examples-http-with-db: every answer is `{"code":0,"message":"OK","data":...}`,
//! and a failure carries GoFrame's error code (`gcode`) and message in it.
//!
//! Unlike GoFrame, which answers HTTP 200 with `code` 51 or 52 whatever
//! went wrong, a failure here also has its HTTP status: 400 for bad input,
//! 404 for no such user, 503 when the database cannot be reached, 500 for
//! any other database error. Monitoring, retries and the HTTP server span
//! (status Error on a 5xx) all read the status; the `code` is for callers
//! written against GoFrame's.

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt as _;
use serde::{Deserialize, Serialize};
use userdb::UserError;

/// GoFrame's error codes (`gcode`), the envelope's `code`.
pub mod code {
    /// `CodeOK`.
    pub const OK: i32 = 0;
    /// `CodeValidationFailed`: bad input, with GoFrame's message.
    pub const VALIDATION_FAILED: i32 = 51;
    /// `CodeDbOperationError`: the database failed or could not be reached.
    pub const DB_OPERATION_ERROR: i32 = 52;
    /// `CodeNotFound`: no such user, or no such route.
    pub const NOT_FOUND: i32 = 65;
    /// `CodeInvalidRequest`: a request that cannot be read (wrong content
    /// type, malformed query, wrong method).
    pub const INVALID_REQUEST: i32 = 66;
}

/// GoFrame's envelope (`ghttp.DefaultHandlerResponse`), for answers and errors.
#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub code: i32,
    pub message: String,
    pub data: T,
}

/// The `data` of an insert: the new user's id.
#[derive(Debug, Serialize, Deserialize)]
pub struct Inserted {
    pub id: i64,
}

/// A successful answer: code 0, message `OK`, and `data`.
pub fn ok<T: Serialize>(data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        code: code::OK,
        message: "OK".to_owned(),
        data,
    })
}

/// `id` as GoFrame reads it: missing or empty is 0, which the validation
/// (`min:1`) then refuses with GoFrame's message; text that is not a whole
/// number is refused here.
pub fn user_id(text: &str) -> Result<i64, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse().map_err(|_| {
        let shown: String = text.chars().take(32).collect();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            code::VALIDATION_FAILED,
            format!("The user id must be a whole number, got {shown:?}."),
        )
    })
}

/// A failed request: its HTTP status, and GoFrame's code and message in
/// the envelope (`data` null).
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: i32,
    message: String,
    /// A server fault (5xx), recorded on the server span.
    fault: Option<UserError>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i32, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
            fault: None,
        }
    }

    /// No route for `method uri` (`status` 404 or 405): the routes there are.
    pub fn no_route(status: StatusCode, method: &Method, uri: &Uri) -> ApiError {
        let code = if status == StatusCode::NOT_FOUND {
            code::NOT_FOUND
        } else {
            code::INVALID_REQUEST
        };
        let path: String = uri.path().chars().take(64).collect();
        ApiError::new(
            status,
            code,
            format!(
                "no route {method} {path:?}: the routes are POST /user/insert (form name), \
                 GET /user/query?id=N and POST /user/delete (form id)"
            ),
        )
    }

    /// A form or query that axum could not read: its status when it says
    /// more than 400 (415 wrong content type, 413 too large), its text, in
    /// the envelope instead of axum's plain text.
    fn unreadable(status: StatusCode, text: String) -> ApiError {
        let status = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::PAYLOAD_TOO_LARGE => status,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, code::INVALID_REQUEST, text)
    }
}

impl From<UserError> for ApiError {
    fn from(error: UserError) -> ApiError {
        let (status, code) = match &error {
            UserError::Invalid(_) => (StatusCode::BAD_REQUEST, code::VALIDATION_FAILED),
            UserError::NotFound(_) => (StatusCode::NOT_FOUND, code::NOT_FOUND),
            UserError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, code::DB_OPERATION_ERROR)
            }
            UserError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, code::DB_OPERATION_ERROR),
        };
        ApiError {
            fault: status.is_server_error().then(|| error.clone()),
            ..ApiError::new(status, code, error.to_string())
        }
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> ApiError {
        ApiError::unreadable(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::unreadable(rejection.status(), rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(fault) = &self.fault {
            // Still inside the request's context: the current span is the
            // server span, which the tower layer marks Error for a 5xx; this
            // says why (an `exception` event with the message).
            Context::current().span().record_error(fault);
            tracing::error!("{fault}");
        }
        let envelope = Envelope {
            code: self.code,
            message: self.message,
            data: (),
        };
        (self.status, Json(envelope)).into_response()
    }
}
