//! People, units, enrolment to a person, and the audit log in the SQLite backend.

/// Version 7: the register of people and units, who belongs where, and the audit log.
pub(super) const PEOPLE_SCHEMA: &str = "
ALTER TABLE devices ADD COLUMN person_id TEXT;
";
