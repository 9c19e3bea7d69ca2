//! `POST /v1/enrol`: a phone exchanges a one-time pairing code for its enrolment — its
//! device id, its token (which the app keeps and shows nowhere), the person it acts as and
//! what it receives. No token is needed; the code is the credential (`crate::pairing`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use crate::AppState;
use crate::audit::{AuditSlot, Detail};
use crate::auth;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::pairing::{self, EnrolRequest, EnrolResponse, Redeem};
use crate::routes::blocking;
use crate::routes::me::MePerson;

/// `POST /v1/enrol` with `{"code", "device_name"?, "device_id"?}`.
pub async fn enrol(
    State(state): State<AppState>,
    Extension(slot): Extension<AuditSlot>,
    ApiJson(request): ApiJson<EnrolRequest>,
) -> Result<Response, ApiError> {
    let code = pairing::normalize(&request.code).ok_or_else(pairing::unknown)?;
    let (device_id, device_id_from_app) = match request.device_id {
        Some(id) => {
            let parsed = wangge_core::DeviceId::parse(id.trim()).map_err(|_| {
                ApiError::unprocessable(
                    "invalid_input",
                    "device_id: not a device id; send the id the app generated at install",
                )
            })?;
            (parsed.to_string(), true)
        }
        None => (wangge_core::DeviceId::generate().to_string(), false),
    };
    let token = auth::new_token()?;
    let redeem = Redeem {
        code_id: pairing::code_id(&code).to_owned(),
        code_hash: pairing::hash_code(&code),
        device_id,
        device_id_from_app,
        // The app's name for itself.
        device_name: pairing::device_name(request.device_name.as_deref())
            .map_err(|e| ApiError::unprocessable("invalid_input", format!("device_name: {e}")))?,
        token_hash: auth::hash_token(&token),
        now_ms: state.clock.now_ms(),
    };
    let storage = state.storage.clone();
    let (done, person) = blocking(move || {
        let done = storage.redeem_pairing_code(&redeem)?;
        let person = match &done.device.person {
            Some(staff_id) => storage.person(staff_id)?,
            None => None,
        };
        Ok::<_, ApiError>((done, person))
    })
    .await?;
    // The audit line names the new device and its person; the code and the token appear in
    // no line and no log.
    slot.set(&done.device);
    let device = done.device;
    let answer = EnrolResponse {
        device_id: device.device_id,
        token,
        name: device.name,
        role: device.role,
        person: person.map(MePerson::from),
        scope: device.scope,
        reenrolled: done.reenrolled,
    };
    let mut response = (
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(answer),
    )
        .into_response();
    response.extensions_mut().insert(Detail(
        if done.reenrolled {
            "re-enrolled by pairing code"
        } else {
            "enrolled by pairing code"
        }
        .to_owned(),
    ));
    Ok(response)
}
