//! The server is the authority: refusals of pushed documents, and who the
//! device is enrolled to.
//!
//! The server checks every pushed document against its authority rules
//! (`wangge_core::authority`) and answers a refused one document by
//! document; the device keeps it, whole, and marks it refused. The app sees
//! it as typed state:
//!
//! * `CaseSyncStatus.refused` and `CaseSyncStatus.refusal` (a
//!   [`DocRefusal`] with its [`RefusalCode`] and the server's message) for
//!   one case, `refusedDocuments()` for all, `SyncProgress.docsRefused` for
//!   a sync;
//! * `retryRefused(docId)` sends a refused document again at the next sync,
//!   once the cause was fixed on the server (the person given the missing
//!   role, say).
//!
//! Every device is enrolled to one person of the server's register.
//! `enrolment(serverUrl, token)` asks the server who that is (`GET
//! /v1/me`); `setAuthor(enrolment.author)` then makes the store refuse at
//! once, offline, a write the server would refuse for its author
//! (`WanggeException.NotAllowed`).

use wangge_core as core_lib;
use wangge_core::authority::RefusalCode as CoreCode;
use wangge_core::{DeviceId, EnrolledPerson, Role};

use crate::error::Result;
use crate::store::Store;

/// The rule of the server's authority a refused document broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum RefusalCode {
    /// The bytes are not a well-formed document of the declared kind.
    CorruptDocument,
    /// The document holds a field this platform does not know.
    UnknownField,
    /// The header (the case's intake facts), kind or schema was changed
    /// after it was first written.
    HeaderChanged,
    /// An event that the server stored is gone.
    EventRemoved,
    /// An event that the server stored has other content now.
    EventChanged,
    /// A new event (or a new case's reporter) is not the person the device
    /// is enrolled to, in one of their roles and units.
    WrongAuthor,
    /// The person's role may not add this kind of event.
    RoleNotAllowed,
    /// A unit acted on a case that was not dispatched to it.
    NotDispatchedToUnit,
    /// On-the-spot handling of a checklist item that does not allow it.
    NotOnSpotItem,
    /// A registration with a case number came from a device (the server
    /// assigns case numbers).
    CaseNumberFromDevice,
    /// A new case without exactly one report, or a report added later.
    InvalidReport,
    /// Text too long, too many photos, a malformed photo reference.
    InvalidInput,
    /// The document is outside the device's scope (another block,
    /// workstation or team).
    OutOfScope,
    /// The device is enrolled to no person of the register: enrol it again
    /// with `wangge-server enroll --person`.
    NoPerson,
    /// A code this version of the app does not know (sent by a newer
    /// server): `DocRefusal.codeName` holds it and the message explains.
    Unknown,
}

impl From<Option<CoreCode>> for RefusalCode {
    fn from(code: Option<CoreCode>) -> Self {
        match code {
            Some(CoreCode::CorruptDocument) => Self::CorruptDocument,
            Some(CoreCode::UnknownField) => Self::UnknownField,
            Some(CoreCode::HeaderChanged) => Self::HeaderChanged,
            Some(CoreCode::EventRemoved) => Self::EventRemoved,
            Some(CoreCode::EventChanged) => Self::EventChanged,
            Some(CoreCode::WrongAuthor) => Self::WrongAuthor,
            Some(CoreCode::RoleNotAllowed) => Self::RoleNotAllowed,
            Some(CoreCode::NotDispatchedToUnit) => Self::NotDispatchedToUnit,
            Some(CoreCode::NotOnSpotItem) => Self::NotOnSpotItem,
            Some(CoreCode::CaseNumberFromDevice) => Self::CaseNumberFromDevice,
            Some(CoreCode::InvalidReport) => Self::InvalidReport,
            Some(CoreCode::InvalidInput) => Self::InvalidInput,
            Some(CoreCode::OutOfScope) => Self::OutOfScope,
            Some(CoreCode::NoPerson) => Self::NoPerson,
            None => Self::Unknown,
        }
    }
}

/// Why the server refused a document this device pushed. The document stays
/// on the device, whole and readable; it goes to the server again when it is
/// written to again or `retryRefused` is called.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DocRefusal {
    /// The document: a case id, or a zero report's id.
    pub doc_id: String,
    /// The rule it broke; `Unknown` for a code of a newer server.
    pub code: RefusalCode,
    /// The code as the server sent it (`wrong_author` …), also when
    /// `code` is `Unknown`: for logs and support.
    pub code_name: String,
    /// The server's explanation, in words for a log or (after translation)
    /// a screen: what was wrong and what to do.
    pub message: String,
    /// When the refusal arrived (ms since the Unix epoch, the store's clock).
    pub at_ms: i64,
}

impl From<core_lib::DocRefusal> for DocRefusal {
    fn from(r: core_lib::DocRefusal) -> Self {
        DocRefusal {
            doc_id: r.doc_id,
            code: CoreCode::parse(&r.code).into(),
            code_name: r.code,
            message: r.message,
            at_ms: r.at_ms,
        }
    }
}

/// The person this device acts as, for `setAuthor`: what the server's
/// register says of them (`Enrolment.author` carries it ready).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Author {
    /// The person's staff id: what `Actor.id` must be.
    pub staff_id: String,
    /// The roles the person may act in (`Actor.role`).
    pub roles: Vec<Role>,
    /// The units the person may act for (`Actor.unit`, or none).
    #[uniffi(default)]
    pub units: Vec<String>,
}

impl Author {
    /// The core's author, acting from `device`.
    fn on(self, device: core_lib::DeviceId) -> core_lib::authority::Author {
        core_lib::authority::Author {
            person: self.staff_id,
            roles: self.roles,
            units: self.units,
            device,
        }
    }
}

/// Who the device is enrolled as, by the server (`GET /v1/me`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    /// The device the token belongs to: the id the store must be opened with.
    pub device_id: DeviceId,
    /// The person the device is enrolled to; `null` for a device enrolled to
    /// nobody, whose pushes the server refuses (`NO_PERSON`) until an
    /// administrator enrols it again with `wangge-server enroll --person`.
    pub person: Option<EnrolledPerson>,
    /// The person as `setAuthor` takes it; `null` when `person` is.
    pub author: Option<Author>,
}

impl From<core_lib::Enrolment> for Enrolment {
    fn from(e: core_lib::Enrolment) -> Self {
        let author = e.author().map(|a| Author {
            staff_id: a.person,
            roles: a.roles,
            units: a.units,
        });
        Enrolment {
            device_id: e.device_id,
            person: e.person,
            author,
        }
    }
}

#[uniffi::export]
impl Store {
    /// Every document the server refused, most recent first: what a "needs
    /// attention" list shows. Each stays on the device, readable.
    pub fn refused_documents(&self) -> Result<Vec<DocRefusal>> {
        Ok(self
            .core()
            .refused_documents()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Sends a refused document (a case id, or `DocRefusal.docId`) again at
    /// the next sync, after the cause was fixed on the server (e.g. the
    /// person was given the missing role). The refusal stays until the
    /// server answers: accepted, it clears; refused again, it is replaced.
    /// Returns false if the document was not refused.
    pub fn retry_refused(&self, doc_id: String) -> Result<bool> {
        Ok(self.core().retry_refused(&doc_id)?)
    }

    /// Sets the person this device acts as (`Enrolment.author`, from
    /// `enrolment`), or none. From then on a case or event by anyone else,
    /// or in a role or unit the person does not hold, throws `NotAllowed`
    /// at once, offline, instead of being refused by the server at the next
    /// sync. Not stored: set it each time the store is opened.
    pub fn set_author(&self, author: Option<Author>) -> Result<()> {
        Ok(self
            .core()
            .set_author(author.map(|a| a.on(self.core().device())))?)
    }

    /// Asks the server at `serverUrl` who the device of `token` is enrolled
    /// as (`GET /v1/me`): its person's staff id, roles and units, for
    /// `setAuthor` and for the app's `Actor`.
    ///
    /// The store also keeps the device's scope the server names (its
    /// workstations and blocks, or the whole street), so that
    /// `workstationsWithoutReport` answers for this device's own
    /// workstations only.
    ///
    /// Throws `Offline` when the server cannot be reached, `NotAuthorized`
    /// when it refuses the token, `Sync` when it answers something else (a
    /// server too old to know `/v1/me`). A `suspend` function; cancelling it
    /// stops the retries.
    pub async fn enrolment(
        self: std::sync::Arc<Self>,
        server_url: String,
        token: String,
    ) -> Result<Enrolment> {
        crate::blocking::run("enrolment", wangge_core::Cancel::new(), move |cancel| {
            let enrolment = self
                .client(server_url, token)?
                .with_cancel(cancel)
                .enrolment()?;
            if let Some(scope) = &enrolment.scope {
                self.core().set_scope(Some(scope))?;
            }
            Ok(enrolment.into())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_code_has_its_own_variant_and_unknown_codes_are_kept() {
        let mut seen = std::collections::HashSet::new();
        for code in CoreCode::ALL {
            let mapped = RefusalCode::from(Some(code));
            assert_ne!(mapped, RefusalCode::Unknown, "{code}");
            assert!(seen.insert(mapped), "{code} shares {mapped:?}");
        }
        let refusal = DocRefusal::from(core_lib::DocRefusal {
            doc_id: "d".into(),
            code: "night_curfew".into(),
            message: "a newer rule".into(),
            at_ms: 7,
        });
        assert_eq!(refusal.code, RefusalCode::Unknown);
        assert_eq!(refusal.code_name, "night_curfew");
        let refusal = DocRefusal::from(core_lib::DocRefusal {
            doc_id: "d".into(),
            code: "wrong_author".into(),
            message: "m".into(),
            at_ms: 7,
        });
        assert_eq!(refusal.code, RefusalCode::WrongAuthor);
    }
}
