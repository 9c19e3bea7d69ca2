//! What a device enrolled to a person is, and pairing codes made for one: the rules the
//! command line (`wangge-server enroll`, `wangge-server pair`) and the console's devices page
//! share, so a code made in the browser enrols exactly the device the command would.
//!
//! The callers record what they did in the audit log, each as who they are (the command
//! line as `cli …`, the console as the logged-in person); nothing here writes the log.

use wangge_core::Catalog;
use wangge_core::Role;
use wangge_core::grid::GridLevel;

use crate::error::ApiError;
use crate::pairing::{self, NewPairingCode};
use crate::storage::error::StorageError;
use crate::storage::{DeviceRole, Person, Scope, Storage, Unit};

/// Why a device could not be described or a pairing code not made.
#[derive(Debug, thiserror::Error)]
pub enum DeviceAdminError {
    /// The staff id is not in the register.
    #[error(
        "no person '{0}' in the register: import the roster with \
         `wangge-server roster import FILE`, or list people with `wangge-server people`"
    )]
    UnknownPerson(String),
    /// The person has left.
    #[error(
        "{0} is inactive (has left): enrol the device to someone active, or mark the person \
         \"active\": true in the roster and import it again"
    )]
    InactivePerson(String),
    /// An explicit scope list names something the street does not have.
    #[error("{0}")]
    BadScope(String),
    /// A device name [`pairing::device_name`] refuses.
    #[error("the device name must have {0}")]
    DeviceName(#[from] pairing::InvalidDeviceName),
    /// A validity outside 1 to [`pairing::MAX_VALID_MINUTES`] minutes.
    #[error(
        "a pairing code valid for {0} minutes (--valid-minutes): give 1 to {max} minutes",
        max = pairing::MAX_VALID_MINUTES
    )]
    Validity(u32),
    /// Every code id tried was taken by a code made within the day.
    #[error("could not find a free pairing code id: too many codes made today; try tomorrow")]
    NoFreeCodeId,
    /// The storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The system gave no randomness for the code.
    #[error(transparent)]
    Random(#[from] ApiError),
}

impl From<DeviceAdminError> for ApiError {
    fn from(e: DeviceAdminError) -> Self {
        use DeviceAdminError as E;
        let code = match e {
            E::Storage(storage) => return storage.into(),
            E::Random(api) => return api,
            E::NoFreeCodeId => {
                return ApiError {
                    status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    code: "pairing_codes_exhausted",
                    message: E::NoFreeCodeId.to_string(),
                };
            }
            E::UnknownPerson(_) => "unknown_person",
            E::InactivePerson(_) => "person_inactive",
            E::BadScope(_) => "invalid_scope",
            E::Validity(_) => "invalid_validity",
            E::DeviceName(_) => "invalid_device_name",
        };
        ApiError::unprocessable(code, e.to_string())
    }
}

/// Scope lists given explicitly (on the command line), each replacing the person's list of
/// that name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeOverrides {
    /// `--blocks`.
    pub blocks: Option<Vec<String>>,
    /// `--workstations`.
    pub workstations: Option<Vec<String>>,
    /// `--teams`.
    pub teams: Option<Vec<String>>,
}

impl ScopeOverrides {
    /// Whether any list is given.
    pub fn any(&self) -> bool {
        self.blocks.is_some() || self.workstations.is_some() || self.teams.is_some()
    }
}

/// Whether a device with `scope` receives nothing but what it reports itself.
pub fn scope_is_empty(scope: &Scope) -> bool {
    !scope.all && scope.blocks.is_empty() && scope.workstations.is_empty() && scope.teams.is_empty()
}

/// What a device enrolled to `person` is: centre if the person holds the centre role (the
/// back office needs the whole street), field otherwise; it receives the whole street for
/// centre and supervisors (they verify anywhere) unless a supervisor's lists are given
/// explicitly, and otherwise the person's blocks, workstations and units, each replaced by
/// its override when one is given. `--blocks ""` gives an empty list.
pub fn device_for(person: &Person, overrides: &ScopeOverrides) -> (DeviceRole, Scope) {
    let centre = person.roles.contains(&Role::Centre);
    let supervisor = person.roles.contains(&Role::Supervisor);
    let pick = |given: &Option<Vec<String>>, own: &Vec<String>| -> Vec<String> {
        match given {
            Some(list) => list
                .iter()
                .filter(|s| !s.trim().is_empty())
                .cloned()
                .collect(),
            None => own.clone(),
        }
    };
    let role = if centre {
        DeviceRole::Centre
    } else {
        DeviceRole::Field
    };
    let scope = Scope {
        all: centre || (supervisor && !overrides.any()),
        blocks: pick(&overrides.blocks, &person.blocks),
        workstations: pick(&overrides.workstations, &person.workstations),
        teams: pick(&overrides.teams, &person.units),
    };
    (role, scope)
}

/// Checks the explicit scope lists: grid ids of the right level, teams of the register.
fn check_overrides(catalog: &Catalog, units: &[Unit], scope: &Scope) -> Result<(), String> {
    for (list, level, flag) in [
        (&scope.blocks, GridLevel::Block, "--blocks"),
        (
            &scope.workstations,
            GridLevel::Workstation,
            "--workstations",
        ),
    ] {
        for id in list {
            match catalog.grids.cell(id) {
                None => {
                    return Err(format!(
                        "{flag}: unknown grid '{id}': use {level} ids of the grid dataset"
                    ));
                }
                Some(cell) if cell.level() != level => {
                    return Err(format!(
                        "{flag}: '{id}' is a {} cell, not a {level}",
                        cell.level()
                    ));
                }
                Some(_) => {}
            }
        }
    }
    for team in &scope.teams {
        if !units.iter().any(|u| &u.id == team) {
            return Err(format!(
                "--teams: '{team}' is not a unit of the register; list them with \
                 `wangge-server units`, or add it to the roster and import it"
            ));
        }
    }
    Ok(())
}

/// The active person `staff_id` and what a device enrolled to them is (role and scope, with
/// the overrides checked). Refuses a person who is not in the register or is no longer active.
pub fn person_and_device(
    storage: &dyn Storage,
    catalog: &Catalog,
    staff_id: &str,
    overrides: &ScopeOverrides,
) -> Result<(Person, DeviceRole, Scope), DeviceAdminError> {
    let person = storage
        .person(staff_id)?
        .ok_or_else(|| DeviceAdminError::UnknownPerson(staff_id.to_owned()))?;
    if !person.active {
        return Err(DeviceAdminError::InactivePerson(staff_id.to_owned()));
    }
    let (role, scope) = device_for(&person, overrides);
    if overrides.any() {
        check_overrides(catalog, &storage.units()?, &scope).map_err(DeviceAdminError::BadScope)?;
    }
    Ok((person, role, scope))
}

/// A pairing code to make.
#[derive(Debug, Clone)]
pub struct PairRequest<'a> {
    /// The person the device will act as.
    pub staff_id: &'a str,
    /// The device's label, if given.
    pub name: Option<String>,
    /// Explicit scope lists.
    pub overrides: ScopeOverrides,
    /// Minutes the code stays valid.
    pub valid_minutes: u32,
    /// Now (ms).
    pub now_ms: i64,
}

/// A pairing code just made.
#[derive(Clone)]
pub struct MadeCode {
    /// The code (unformatted): shown once, stored nowhere.
    pub code: String,
    /// The person the device will act as.
    pub person: Person,
    /// The role the device will have.
    pub role: DeviceRole,
    /// The scope it will have.
    pub scope: Scope,
    /// When the code expires (ms).
    pub expires_at: i64,
}

impl std::fmt::Debug for MadeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MadeCode")
            .field("code", &"<redacted>")
            .field("person", &self.person.staff_id)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Makes a one-time pairing code for a device of `request.staff_id` (the role and scope
/// [`device_for`] gives it) and stores its hash. Refuses a person who is not in the register
/// or is no longer active, a validity outside 1 to [`pairing::MAX_VALID_MINUTES`], and a
/// device name [`pairing::device_name`] refuses.
pub fn make_pairing_code(
    storage: &dyn Storage,
    catalog: &Catalog,
    request: PairRequest<'_>,
) -> Result<MadeCode, DeviceAdminError> {
    if !(1..=pairing::MAX_VALID_MINUTES).contains(&request.valid_minutes) {
        return Err(DeviceAdminError::Validity(request.valid_minutes));
    }
    let (person, role, scope) =
        person_and_device(storage, catalog, request.staff_id, &request.overrides)?;
    let name = pairing::device_name(request.name.as_deref())?;
    let expires_at = request.now_ms + i64::from(request.valid_minutes) * 60_000;
    // A clash of ids with a code made within the day is rare (27,000 ids); try again.
    for _ in 0..20 {
        let code = pairing::new_code()?;
        let stored = storage.create_pairing_code(&NewPairingCode {
            code_id: pairing::code_id(&code).to_owned(),
            code_hash: pairing::hash_code(&code),
            staff_id: person.staff_id.clone(),
            device_name: name.clone(),
            role,
            scope: scope.clone(),
            created_at: request.now_ms,
            expires_at,
        })?;
        if stored {
            return Ok(MadeCode {
                code,
                person,
                role,
                scope,
                expires_at,
            });
        }
    }
    Err(DeviceAdminError::NoFreeCodeId)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[Role]) -> Person {
        Person {
            staff_id: "XT-GO-001".into(),
            name: "王建国".into(),
            roles: roles.to_vec(),
            admin: false,
            units: vec!["网格一组".into(), "城管中队".into()],
            blocks: vec!["XT-B1".into()],
            workstations: vec!["XT-W01".into()],
            active: true,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_device_takes_its_role_and_scope_from_its_person() {
        let none = ScopeOverrides::default();
        let (role, scope) = device_for(&person(&[Role::GridOfficer]), &none);
        assert_eq!(role, DeviceRole::Field);
        assert_eq!(
            scope,
            Scope {
                all: false,
                blocks: strings(&["XT-B1"]),
                workstations: strings(&["XT-W01"]),
                teams: strings(&["网格一组", "城管中队"]),
            }
        );
        let (role, scope) = device_for(&person(&[Role::Centre]), &none);
        assert_eq!((role, scope.all), (DeviceRole::Centre, true));
        let (role, scope) = device_for(&person(&[Role::Supervisor]), &none);
        assert_eq!((role, scope.all), (DeviceRole::Field, true));
    }

    #[test]
    fn explicit_lists_replace_the_persons() {
        let overrides = ScopeOverrides {
            blocks: Some(strings(&["XT-B2"])),
            workstations: None,
            teams: Some(strings(&[""])),
        };
        let (_, scope) = device_for(&person(&[Role::Supervisor]), &overrides);
        assert_eq!(
            scope,
            Scope {
                all: false,
                blocks: strings(&["XT-B2"]),
                workstations: strings(&["XT-W01"]),
                teams: vec![],
            }
        );
        let (_, scope) = device_for(&person(&[Role::Centre]), &overrides);
        assert!(scope.all, "a centre device always sees the whole street");
    }

    #[test]
    fn refusals_reach_the_console_as_unprocessable_with_a_code() {
        let refusals = [
            (
                DeviceAdminError::UnknownPerson("X".into()),
                "unknown_person",
            ),
            (
                DeviceAdminError::InactivePerson("X".into()),
                "person_inactive",
            ),
            (
                DeviceAdminError::BadScope("--teams".into()),
                "invalid_scope",
            ),
            (DeviceAdminError::Validity(0), "invalid_validity"),
            (
                DeviceAdminError::DeviceName(pairing::InvalidDeviceName),
                "invalid_device_name",
            ),
        ];
        for (e, code) in refusals {
            let api = ApiError::from(e);
            assert_eq!((api.status.as_u16(), api.code), (422, code), "{api}");
        }
        let api = ApiError::from(DeviceAdminError::NoFreeCodeId);
        assert_eq!(api.status.as_u16(), 503);
    }
}
