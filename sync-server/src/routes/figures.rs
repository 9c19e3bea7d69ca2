//! The evaluation of a period over HTTP (`GET /v1/evaluation`): the counting rules are in
//! [`crate::office::evaluation`].

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::office::evaluation::{Evaluation, evaluate};
use crate::office::period::Period;
use crate::routes::{CentreDevice, blocking};

/// Query of `GET /v1/evaluation`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationParams {
    /// Start: a day or a time (China time unless an offset is given). Default: 90 days
    /// before `to`.
    pub from: Option<String>,
    /// End: a day (included whole) or a time. Default: now.
    pub to: Option<String>,
    /// How many stuck cases to list (default 20, at most 500).
    pub stuck: Option<u32>,
}

/// `GET /v1/evaluation?from=2026-01-01&to=2026-03-31`.
pub async fn evaluation(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<EvaluationParams>,
) -> Result<Json<Evaluation>, ApiError> {
    let now = state.clock.now_ms();
    let mut period = Period::parse(p.from.as_deref(), p.to.as_deref(), now)
        .map_err(|m| ApiError::bad_request("bad_query", m))?;
    if p.from.is_none() {
        period.from_ms = period.to_ms.saturating_sub(90 * 86_400_000);
    }
    let stuck = p.stuck.unwrap_or(20);
    if stuck > 500 {
        return Err(ApiError::bad_request(
            "bad_query",
            "stuck: list at most 500 stuck cases",
        ));
    }
    let storage = state.storage.clone();
    let input = blocking(move || storage.evaluation_input(period.from_ms, period.to_ms)).await?;
    Ok(Json(evaluate(
        &input,
        period.from_ms,
        period.to_ms,
        now,
        stuck as usize,
    )))
}
