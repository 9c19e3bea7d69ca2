//! `GET /v1/me`: who the calling device acts as — what the app needs to write events the
//! server accepts (its person's staff id, roles and units) and to know what it will receive.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use wangge_core::Role;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{AuthDevice, blocking};
use crate::storage::{DeviceRole, Person, Scope};

/// The person a device is enrolled to, as the app needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MePerson {
    /// The staff id events must carry as their author (`Actor.id`).
    pub staff_id: String,
    /// Full name, for the app's screens.
    pub name: String,
    /// The roles the person may act in.
    pub roles: Vec<Role>,
    /// The units the person may act for (`Actor.unit`), main unit first.
    pub units: Vec<String>,
    /// Grid blocks the person covers.
    pub blocks: Vec<String>,
    /// Residential workstations the person covers.
    pub workstations: Vec<String>,
}

impl From<Person> for MePerson {
    fn from(p: Person) -> Self {
        MePerson {
            staff_id: p.staff_id,
            name: p.name,
            roles: p.roles,
            units: p.units,
            blocks: p.blocks,
            workstations: p.workstations,
        }
    }
}

/// The answer of `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Me {
    /// The device's id (`Actor.device`).
    pub device_id: String,
    /// The device's label.
    pub name: String,
    /// What the device may do: `field` or `centre`.
    pub role: DeviceRole,
    /// The person the device is enrolled to; `null` for a device enrolled before people
    /// existed (or whose person is no longer in the register): its pushes are refused until
    /// it is enrolled again with `wangge-server enroll --person`.
    pub person: Option<MePerson>,
    /// What the device receives.
    pub scope: Scope,
}

/// `GET /v1/me`: any enrolled, unrevoked device.
pub async fn me(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
) -> Result<Json<Me>, ApiError> {
    let person = match device.person.clone() {
        Some(staff_id) => {
            let storage = state.storage.clone();
            blocking(move || storage.person(&staff_id)).await?
        }
        None => None,
    };
    Ok(Json(Me {
        device_id: device.device_id,
        name: device.name,
        role: device.role,
        person: person.map(MePerson::from),
        scope: device.scope,
    }))
}
