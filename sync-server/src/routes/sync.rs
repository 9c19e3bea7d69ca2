//! `POST /v1/sync`: one round of the sync protocol.

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use wangge_core::sync::protocol::SyncRequest;

use wangge_core::DeviceId;
use wangge_core::authority::Author;

use crate::AppState;
use crate::audit;
use crate::error::ApiError;
use crate::extract::ApiBytes;
use crate::routes::{AuthDevice, RemoteAddr, UsedToken, blocking};
use crate::storage::{AuditEntry, Device, Storage};
use crate::tokens::TOKEN_HEADER;

/// The header of every sync answer that names the catalog version in force.
pub const CATALOG_HEADER: &str = "x-wangge-catalog";

/// Merges what the device pushes and answers what it lacks.
pub async fn sync(
    State(state): State<AppState>,
    RemoteAddr(remote_addr): RemoteAddr,
    AuthDevice(device): AuthDevice,
    Extension(used): Extension<UsedToken>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    let request = SyncRequest::decode(&body)
        .map_err(|e| ApiError::bad_request("malformed_request", e.to_string()))?;
    let pushed = request.docs.len();
    let device_cursor = request.cursor;
    let device_id = device.device_id.clone();
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    let rotate = used.previous || now >= state.tokens.rotate_at(used.issued_at);
    let previous_until = state.tokens.previous_until(used.issued_at, now);
    let rotating_device = device.device_id.clone();
    let response = blocking(move || {
        let author = author_of(storage.as_ref(), &device)?;
        let response = storage.sync(&device, author.as_ref(), &request, now)?;
        // Every refused document is a line of the audit log of its own (the
        // request's line says only how many): who, which document, which rule.
        for refused in &response.refused {
            storage.audit(&AuditEntry {
                at: now,
                device_id: Some(device.device_id.clone()),
                person: device.person.clone(),
                action: "sync: push refused".into(),
                target: Some(refused.doc_id.clone()),
                outcome: "refused".into(),
                code: Some(refused.code.clone()),
                remote_addr: remote_addr.clone(),
                detail: None,
            })?;
        }
        Ok::<_, ApiError>(response)
    })
    .await?;
    // After the round is stored: a token is renewed only in an answer that carries it.
    let new_token = if rotate {
        rotate_token(&state, rotating_device, used, now, previous_until).await
    } else {
        None
    };
    for refused in &response.refused {
        // Ids and codes only: the message may quote document content.
        tracing::warn!(device = %device_id, doc_id = %refused.doc_id, code = %refused.code, "refused a pushed document");
    }
    if response.reset {
        tracing::warn!(
            device = %device_id,
            device_cursor,
            "the device has seen more of the change feed than this database holds \
             (restored from a backup?): told it to start over and push everything again"
        );
    }
    tracing::info!(
        device = %device_id,
        pushed,
        pulled = response.docs.len(),
        refused = response.refused.len(),
        cursor = response.cursor,
        reset = response.reset,
        token_rotated = new_token.is_some(),
        "sync"
    );
    let noop = pushed == 0 && response.docs.is_empty() && !response.reset && new_token.is_none();
    let mut answer = (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        response.encode(),
    )
        .into_response();
    // The catalog in force: a device whose version differs fetches it (`GET /v1/catalog`).
    // A header rather than a field of the binary answer, so an older app that does not
    // know catalogs reads the answer as before.
    if let Ok(v) = header::HeaderValue::from_str(state.catalog.version()) {
        answer.headers_mut().insert(CATALOG_HEADER, v);
    }
    if let Some(token) = &new_token {
        // The device's new token (`docs/sync-protocol.md`, "Tokens"). A header, like the
        // catalog's, so older apps read the answer as before (they pair again when their
        // token expires). Never cached on the way.
        if let Ok(v) = header::HeaderValue::from_str(token) {
            answer.headers_mut().insert(TOKEN_HEADER, v);
            answer.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
        }
    }
    answer.extensions_mut().insert(crate::metrics::SyncCounts {
        pushed: response.accepted.len() as u64,
        pulled: response.docs.len() as u64,
        refused: response.refused.len() as u64,
        cursor: response.cursor,
    });
    if noop {
        // A sync with nothing to do happens every minute on every phone: not
        // worth a database write each (see `audit`).
        answer.extensions_mut().insert(audit::Skip);
    } else {
        answer.extensions_mut().insert(audit::Detail(format!(
            "pushed {pushed}, accepted {}, refused {}, resend {}, pulled {}{}{}",
            response.accepted.len(),
            response.refused.len(),
            response.resend.len(),
            response.docs.len(),
            if response.reset { ", reset" } else { "" },
            if new_token.is_some() {
                ", token rotated"
            } else {
                ""
            }
        )));
    }
    Ok(answer)
}

/// Gives the device a new token in place of the one it used (`crate::tokens`); `None` when
/// none was stored. A failure here does not fail the sync, whose round is already stored:
/// the device keeps its token, which still works, and is offered a new one next time.
async fn rotate_token(
    state: &AppState,
    device_id: String,
    used: UsedToken,
    now: i64,
    previous_until: i64,
) -> Option<String> {
    let token = match crate::auth::new_token() {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(device = %device_id, error = %e.message, "could not make a new device token; the device keeps its own");
            return None;
        }
    };
    let storage = state.storage.clone();
    let new_hash = crate::auth::hash_token(&token);
    let id = device_id.clone();
    let stored =
        blocking(move || storage.rotate_token(&id, &used.hash, &new_hash, now, previous_until))
            .await;
    match stored {
        Ok(true) => Some(token),
        // Rotated by a concurrent request, or revoked meanwhile: nothing to hand out.
        Ok(false) => None,
        Err(e) => {
            tracing::error!(device = %device_id, error = %e.message, "could not store a new device token; the device keeps its own");
            None
        }
    }
}

/// The authority a device pushes with: its person, if it is enrolled to one
/// who is still active. Read at every request, so a change of roles or units
/// in the register applies at the device's next sync.
pub fn author_of(storage: &dyn Storage, device: &Device) -> Result<Option<Author>, ApiError> {
    let Some(staff_id) = &device.person else {
        return Ok(None);
    };
    let Some(person) = storage.person(staff_id)?.filter(|p| p.active) else {
        return Ok(None);
    };
    Ok(Some(Author {
        person: person.staff_id,
        roles: person.roles,
        units: person.units,
        device: DeviceId::parse(&device.device_id).map_err(ApiError::internal)?,
    }))
}
