//! Who the device is enrolled to: the server's answer to `GET /v1/me`.
//!
//! Every device is enrolled to one person of the server's register
//! (`wangge-server enroll --person STAFF_ID`), and the server accepts a
//! pushed event only when its author is that person, in one of their roles
//! and units (see [`crate::authority`]). The app therefore asks the server
//! who it is at start-up ([`SyncClient::enrolment`]), acts as that person,
//! and hands the person to [`Store::set_author`](crate::Store::set_author)
//! so that a write the server would refuse is refused at once, offline.
//!
//! The answer is JSON:
//!
//! ```json
//! {"device_id": "0190…", "name": "网格一组-手持01", "role": "field",
//!  "person": {"staff_id": "XT-GO-001", "name": "王建国", "roles": ["grid_officer"],
//!             "units": ["网格一组"], "blocks": ["XT-B1"], "workstations": []},
//!  "scope": {"all": false, "blocks": ["XT-B1"], "workstations": [], "teams": ["网格一组"]}}
//! ```
//!
//! Only `device_id`, `person` and `scope` are read (the scope goes to
//! [`Store::set_scope`](crate::Store::set_scope), so that "what is missing"
//! queries answer for the device's own workstations); fields a newer server adds are
//! ignored, and so are role names this build does not know (a role the app
//! cannot act in is of no use to it).

use serde::Deserialize;

use crate::authority::Author;
use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::model::Role;
use crate::store::DeviceScope;
use crate::sync::{SyncClient, SyncError, SyncProgress};

/// The person a device is enrolled to, as the server's register holds them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EnrolledPerson {
    /// The staff id events must carry as their author (`Actor::id`).
    pub staff_id: String,
    /// Full name, for the app's screens (personal data: keep it out of logs).
    pub name: String,
    /// The roles the person may act in.
    pub roles: Vec<Role>,
    /// The units the person may act for (`Actor::unit`), main unit first.
    pub units: Vec<String>,
    /// Grid blocks the person covers.
    pub blocks: Vec<String>,
    /// Residential workstations the person covers.
    pub workstations: Vec<String>,
}

/// Who a device is enrolled as: the answer of `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The device the token belongs to: the id the store must be opened with.
    pub device_id: DeviceId,
    /// The person the device is enrolled to; `None` for a device enrolled
    /// before people existed (or whose person left the register): the
    /// server refuses its pushes (`no_person`) until it is enrolled again.
    pub person: Option<EnrolledPerson>,
    /// What the device covers, for [`Store::set_scope`](crate::Store::set_scope);
    /// `None` from a server that does not say.
    pub scope: Option<DeviceScope>,
}

/// `/v1/me` as sent; only what the app uses.
#[derive(Deserialize)]
struct MeWire {
    device_id: String,
    #[serde(default)]
    person: Option<PersonWire>,
    #[serde(default)]
    scope: Option<DeviceScope>,
}

#[derive(Deserialize)]
struct PersonWire {
    staff_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    units: Vec<String>,
    #[serde(default)]
    blocks: Vec<String>,
    #[serde(default)]
    workstations: Vec<String>,
}

/// The role named `name`, if this build knows it.
fn role(name: String) -> Option<Role> {
    serde_json::from_value(serde_json::Value::String(name)).ok()
}

impl Enrolment {
    /// Parses the JSON body of `GET /v1/me`. Fails with
    /// [`SyncError::Protocol`] when it is not such an answer.
    pub fn parse(json: &[u8]) -> Result<Enrolment> {
        let bad = |detail: String| Error::Sync(SyncError::Protocol(format!("/v1/me: {detail}")));
        let wire: MeWire = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let device_id = DeviceId::parse(&wire.device_id)
            .map_err(|_| bad(format!("'{}' is not a device id", wire.device_id)))?;
        let person = wire.person.map(|p| EnrolledPerson {
            staff_id: p.staff_id,
            name: p.name,
            roles: p.roles.into_iter().filter_map(role).collect(),
            units: p.units,
            blocks: p.blocks,
            workstations: p.workstations,
        });
        Ok(Enrolment {
            device_id,
            person,
            scope: wire.scope,
        })
    }

    /// The author to give [`Store::set_author`](crate::Store::set_author):
    /// the person, with their roles and units, on this device; `None` when
    /// the device is enrolled to nobody.
    pub fn author(&self) -> Option<Author> {
        self.person.as_ref().map(|p| Author {
            person: p.staff_id.clone(),
            roles: p.roles.clone(),
            units: p.units.clone(),
            device: self.device_id,
        })
    }
}

impl SyncClient {
    /// Asks the server who this device is enrolled as (`GET /v1/me` with
    /// the token), with the usual retries. Fails with
    /// [`SyncError::Offline`] when the server cannot be reached,
    /// [`SyncError::Unauthorized`] when it refuses the token,
    /// [`SyncError::Rejected`] from a server too old to answer (404), and
    /// [`SyncError::Protocol`] for an answer that is not an enrolment.
    pub fn enrolment(&self) -> Result<Enrolment> {
        let url = format!("{}/v1/me", self.config().server_url.trim_end_matches('/'));
        let body = self.send_with_retry(&|| self.http().get(&url), &mut SyncProgress::default())?;
        Enrolment::parse(&body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const DEVICE: &str = "0190f5a2-6c1e-7b3a-9d4e-2f6a8b0c1d2e";

    fn me(person: &str) -> String {
        format!(
            r#"{{"device_id": "{DEVICE}", "name": "网格一组-手持01", "role": "field",
                "person": {person},
                "scope": {{"all": false, "blocks": ["XT-B1"], "workstations": [], "teams": []}}}}"#
        )
    }

    #[test]
    fn parses_the_person_and_gives_the_author_for_the_store() {
        let json = me(r#"{"staff_id": "XT-GO-001", "name": "王建国",
            "roles": ["grid_officer", "handling_unit"], "units": ["网格一组", "城管中队"],
            "blocks": ["XT-B1"], "workstations": ["XT-W01"]}"#);
        let e = Enrolment::parse(json.as_bytes()).unwrap();
        let device = DeviceId::parse(DEVICE).unwrap();
        assert_eq!(e.device_id, device);
        assert_eq!(
            e.person,
            Some(EnrolledPerson {
                staff_id: "XT-GO-001".into(),
                name: "王建国".into(),
                roles: vec![Role::GridOfficer, Role::HandlingUnit],
                units: vec!["网格一组".into(), "城管中队".into()],
                blocks: vec!["XT-B1".into()],
                workstations: vec!["XT-W01".into()],
            })
        );
        assert_eq!(
            e.author(),
            Some(Author {
                person: "XT-GO-001".into(),
                roles: vec![Role::GridOfficer, Role::HandlingUnit],
                units: vec!["网格一组".into(), "城管中队".into()],
                device,
            })
        );
    }

    #[test]
    fn the_scope_is_read_for_the_store() {
        let json = me(r#"{"staff_id": "XT-GO-001", "roles": ["grid_officer"]}"#);
        let e = Enrolment::parse(json.as_bytes()).unwrap();
        assert_eq!(
            e.scope,
            Some(DeviceScope {
                all: false,
                blocks: vec!["XT-B1".into()],
                workstations: vec![],
                teams: vec![],
            })
        );
        let e = Enrolment::parse(format!(r#"{{"device_id": "{DEVICE}"}}"#).as_bytes()).unwrap();
        assert_eq!(e.scope, None);
    }

    #[test]
    fn a_device_without_a_person_has_no_author() {
        let e = Enrolment::parse(me("null").as_bytes()).unwrap();
        assert_eq!(e.person, None);
        assert_eq!(e.author(), None);
        let e = Enrolment::parse(format!(r#"{{"device_id": "{DEVICE}"}}"#).as_bytes()).unwrap();
        assert_eq!(e.person, None);
    }

    #[test]
    fn unknown_roles_and_fields_of_a_newer_server_are_skipped() {
        let json = me(
            r#"{"staff_id": "XT-GO-002", "roles": ["night_watch", "grid_officer"],
            "units": [], "badge": 7}"#,
        );
        let person = Enrolment::parse(json.as_bytes()).unwrap().person.unwrap();
        assert_eq!(person.roles, vec![Role::GridOfficer]);
        assert_eq!(person.name, "");
        assert!(person.blocks.is_empty() && person.workstations.is_empty());
    }

    #[test]
    fn an_answer_that_is_not_an_enrolment_is_a_protocol_error() {
        for body in [
            "<html>not json</html>".to_owned(),
            r#"{"person": null}"#.to_owned(),
            r#"{"device_id": "not-a-device"}"#.to_owned(),
            me(r#"{"name": "no staff id"}"#),
        ] {
            let err = Enrolment::parse(body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, Error::Sync(SyncError::Protocol(_))),
                "{body}: {err}"
            );
            assert!(err.to_string().contains("/v1/me"), "{err}");
        }
    }
}
