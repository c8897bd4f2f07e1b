//! The runs in the JSON API: `GET /api/runs`, the trace of the previous
//! run to compare with (`GET /api/traces/{id}/previous`), and the `run=`
//! of `GET /api/export`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::{Ui, api_error};
use crate::model::RunSummary;
use crate::search::{QueryError, run_number};

#[derive(Debug, Serialize)]
struct RunList {
    runs: Vec<RunSummary>,
}

/// `GET /api/runs`: every start of the collector on its store file, oldest
/// first, with the traces of each stored now.
pub(super) async fn list(State(ui): State<Ui>) -> Response {
    Json(RunList {
        runs: ui.store.runs(),
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct Previous {
    trace_id: String,
    run: u32,
}

/// `GET /api/traces/{id}/previous`: the latest trace with the same root
/// (service and span name) in the nearest earlier run that has one; 404
/// with why when there is none.
pub(super) async fn previous(State(ui): State<Ui>, Path(id): Path<String>) -> Response {
    match ui.store.previous(&id) {
        Ok((trace_id, run)) => Json(Previous { trace_id, run }).into_response(),
        Err(why) => api_error(StatusCode::NOT_FOUND, why),
    }
}

/// The `run=N` of an export (`None`: everything); a 400 that says what it
/// takes for anything else.
pub(super) fn export_run(
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Option<u32>, String> {
    let pairs = match pairs {
        Ok(Query(pairs)) => pairs,
        Err(e) => return Err(e.body_text()),
    };
    let mut run = None;
    for (name, value) in pairs {
        match name.as_str() {
            "run" if value.is_empty() => {}
            "run" => run = Some(run_number(&name, &value).map_err(|e| e.to_string())?),
            other => {
                return Err(QueryError::Unknown {
                    name: other.to_owned(),
                    what: "/api/export",
                    known: &["run"],
                }
                .to_string());
            }
        }
    }
    Ok(run)
}
