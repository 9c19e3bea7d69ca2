//! The PostgreSQL schema, versioned.
//!
//! The tables are those of the SQLite backend (each named and explained beside its SQLite
//! code: `sqlite.rs`, `sqlite_photos.rs`, `sqlite_people.rs`, …) translated to
//! PostgreSQL's types: `BIGINT` for times and counters, `BOOLEAN` for flags, `BYTEA` for
//! bytes, `DOUBLE PRECISION` for coordinates. Two things differ on purpose:
//! - **lists are `JSONB`** (a device's scope keys, a document's teams, a person's roles),
//!   so the scope test is one indexable operator (`teams ?| $teams`) rather than SQLite's
//!   `json_each` join;
//! - **the case search uses `pg_trgm`**: a GIN trigram index on the description answers
//!   `LIKE '%…%'` for any length, where SQLite needs its FTS5 trigram table and a `LIKE`
//!   fallback under three characters;
//! - **every text column is `COLLATE "C"`**: byte order, which is SQLite's `BINARY`, so
//!   ids sort and page the same on both backends whatever locale the database was created
//!   with (and comparisons skip the locale's rules, which ids do not need).
//!
//! SQLite's history (versions 1–14) is not replayed: PostgreSQL starts at version 1 with
//! everything SQLite's version 14 has. [`MIGRATIONS`] lists the steps from there; a step is
//! appended, never edited, once it has run anywhere.

/// The schema version this build creates and understands.
pub const PG_SCHEMA_VERSION: i64 = 2;

/// The migration steps: `MIGRATIONS[n]` brings the schema from version `n` to `n + 1`.
pub(super) const MIGRATIONS: [&str; PG_SCHEMA_VERSION as usize] = [V1, V2];

/// Version 1: everything.
const V1: &str = r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

-- last_cursor: see sqlite.rs. The token columns: see sqlite_tokens.rs.
CREATE TABLE devices (
    device_id        TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT COLLATE "C" NOT NULL,
    role             TEXT COLLATE "C" NOT NULL,
    scope            TEXT COLLATE "C" NOT NULL,
    token_hash       BYTEA NOT NULL UNIQUE,
    created_at       BIGINT NOT NULL,
    revoked_at       BIGINT,
    last_cursor      BIGINT,
    person_id        TEXT COLLATE "C",
    token_issued_at  BIGINT,
    prev_token_hash  BYTEA UNIQUE,
    prev_token_until BIGINT
);

-- Every document, compacted, with its place in the change feed (seq) and the keys that
-- decide which devices' scopes it is in.
CREATE TABLE documents (
    doc_id            TEXT COLLATE "C" PRIMARY KEY,
    kind              TEXT COLLATE "C" NOT NULL,
    data              BYTEA NOT NULL,
    heads             BYTEA NOT NULL,
    seq               BIGINT NOT NULL UNIQUE,
    block             TEXT COLLATE "C",
    workstation       TEXT COLLATE "C",
    reporter_device   TEXT COLLATE "C",
    updated_at        BIGINT NOT NULL,
    teams             JSONB NOT NULL DEFAULT '[]',
    quarantined_at    BIGINT,
    quarantine_reason TEXT COLLATE "C"
);
CREATE INDEX documents_quarantined ON documents (quarantined_at) WHERE quarantined_at IS NOT NULL;

-- The core's projections (wangge_core::store::schema::V2), the case search by trigram.
CREATE TABLE case_view (
    case_id             TEXT COLLATE "C" PRIMARY KEY,
    status              TEXT COLLATE "C" NOT NULL,
    is_open             BOOLEAN NOT NULL,
    case_number         TEXT COLLATE "C",
    channel             TEXT COLLATE "C" NOT NULL,
    checklist_item      TEXT COLLATE "C" NOT NULL,
    category            TEXT COLLATE "C" NOT NULL,
    domain              TEXT COLLATE "C" NOT NULL,
    grid                TEXT COLLATE "C",
    workstation         TEXT COLLATE "C",
    block               TEXT COLLATE "C",
    reporter            TEXT COLLATE "C" NOT NULL,
    description         TEXT COLLATE "C" NOT NULL,
    reported_at         BIGINT NOT NULL,
    response_due        BIGINT,
    resolution_due      BIGINT,
    responded_at        BIGINT,
    resolved_at         BIGINT,
    closed_at           BIGINT,
    escalated           BOOLEAN NOT NULL,
    escalation_required BOOLEAN NOT NULL,
    last_event_at       BIGINT NOT NULL
);
CREATE INDEX case_view_open ON case_view (is_open, resolution_due);
CREATE INDEX case_view_grid ON case_view (grid, is_open);
CREATE INDEX case_view_workstation ON case_view (workstation, is_open);
CREATE INDEX case_view_category ON case_view (category, is_open);
CREATE INDEX case_view_reporter ON case_view (reporter, is_open);
CREATE INDEX case_view_description_trgm ON case_view USING gin (description gin_trgm_ops);
CREATE INDEX case_view_by_reported ON case_view (reported_at, case_id);
CREATE INDEX case_view_workstation_by_reported ON case_view (workstation, reported_at, case_id);
CREATE INDEX case_view_block_by_reported ON case_view (block, reported_at, case_id);
CREATE INDEX case_view_status_by_reported ON case_view (status, reported_at, case_id);
CREATE INDEX case_view_by_channel ON case_view (channel, reported_at);
CREATE TABLE case_holder (
    case_id TEXT COLLATE "C" NOT NULL,
    holder  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (holder, case_id)
);
CREATE INDEX case_holder_by_case ON case_holder (case_id);
CREATE TABLE zero_report_view (
    doc_id            TEXT COLLATE "C" PRIMARY KEY,
    workstation       TEXT COLLATE "C" NOT NULL,
    day               TEXT COLLATE "C" NOT NULL,
    filed             BOOLEAN NOT NULL,
    nothing_to_report BOOLEAN NOT NULL,
    matter_count      BIGINT NOT NULL,
    last_amended_at   BIGINT
);
CREATE UNIQUE INDEX zero_report_by_day ON zero_report_view (workstation, day);

-- Photos: see sqlite_photos.rs.
CREATE TABLE photos (
    sha256      TEXT COLLATE "C" PRIMARY KEY,
    size        BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    uploaded_by TEXT COLLATE "C" NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE TABLE photo_uploads (
    sha256     TEXT COLLATE "C" PRIMARY KEY,
    total      BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    device_id  TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX photo_uploads_by_age ON photo_uploads (updated_at);
CREATE TABLE photo_chunks (
    sha256 TEXT COLLATE "C" NOT NULL,
    start  BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (sha256, start)
);
CREATE TABLE photo_thumbnails (
    photo_sha256 TEXT COLLATE "C" PRIMARY KEY,
    thumb_sha256 TEXT COLLATE "C" NOT NULL
);
CREATE TABLE photo_refs (
    sha256       TEXT COLLATE "C" NOT NULL,
    doc_id       TEXT COLLATE "C" NOT NULL,
    thumb_sha256 TEXT COLLATE "C",
    PRIMARY KEY (sha256, doc_id)
);

-- People, units and the audit log: see sqlite_people.rs.
CREATE TABLE units (
    unit_id TEXT COLLATE "C" PRIMARY KEY,
    kind    TEXT COLLATE "C" NOT NULL,
    name    TEXT COLLATE "C"
);
CREATE TABLE people (
    staff_id     TEXT COLLATE "C" PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL,
    roles        TEXT COLLATE "C" NOT NULL,
    admin        BOOLEAN NOT NULL DEFAULT FALSE,
    blocks       TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    workstations TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    active       BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE person_units (
    staff_id TEXT COLLATE "C" NOT NULL REFERENCES people (staff_id),
    unit_id  TEXT COLLATE "C" NOT NULL REFERENCES units (unit_id),
    position BIGINT NOT NULL,
    PRIMARY KEY (staff_id, unit_id)
);
CREATE INDEX person_units_by_unit ON person_units (unit_id);
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    device_id   TEXT COLLATE "C",
    person_id   TEXT COLLATE "C",
    action      TEXT COLLATE "C" NOT NULL,
    target      TEXT COLLATE "C",
    outcome     TEXT COLLATE "C" NOT NULL,
    code        TEXT COLLATE "C",
    remote_addr TEXT COLLATE "C",
    detail      TEXT COLLATE "C"
);
CREATE INDEX audit_log_by_time ON audit_log (at, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The back office's rows of each case: see sqlite_office.rs.
CREATE TABLE case_assignment (
    case_id       TEXT COLLATE "C" NOT NULL,
    idx           BIGINT NOT NULL,
    unit          TEXT COLLATE "C" NOT NULL,
    lead          BOOLEAN NOT NULL,
    dispatched_at BIGINT NOT NULL,
    arrived_at    BIGINT,
    feedback_at   BIGINT,
    released_at   BIGINT,
    ended_at      BIGINT,
    ended         TEXT COLLATE "C",
    PRIMARY KEY (case_id, idx)
);
CREATE INDEX case_assignment_by_unit ON case_assignment (unit, case_id);
CREATE TABLE case_span (
    case_id  TEXT COLLATE "C" NOT NULL,
    idx      BIGINT NOT NULL,
    holder   TEXT COLLATE "C" NOT NULL,
    from_at  BIGINT NOT NULL,
    until_at BIGINT,
    PRIMARY KEY (case_id, idx)
);
CREATE TABLE case_office (
    case_id    TEXT COLLATE "C" PRIMARY KEY,
    next_due   BIGINT NOT NULL,
    lat        DOUBLE PRECISION,
    lon        DOUBLE PRECISION,
    located_by TEXT COLLATE "C"
);
CREATE INDEX case_office_by_due ON case_office (next_due, case_id);
CREATE TABLE case_holder_due (
    holder   TEXT COLLATE "C" NOT NULL,
    next_due BIGINT NOT NULL,
    case_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (holder, next_due, case_id)
);
CREATE INDEX case_holder_due_by_case ON case_holder_due (case_id);

-- Intake and Open311: see sqlite_intake.rs.
CREATE TABLE intake_ref (
    channel   TEXT COLLATE "C" NOT NULL,
    reference TEXT COLLATE "C" NOT NULL,
    case_id   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (channel, reference)
);
CREATE TABLE reporter_contact (
    case_id     TEXT COLLATE "C" PRIMARY KEY,
    contact     TEXT COLLATE "C" NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE TABLE case_spot (
    case_id        TEXT COLLATE "C" PRIMARY KEY,
    checklist_item TEXT COLLATE "C" NOT NULL,
    reported_at    BIGINT NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    lon            DOUBLE PRECISION NOT NULL
);
CREATE INDEX case_spot_by_item_time ON case_spot (checklist_item, reported_at);
CREATE TABLE api_keys (
    key_id     TEXT COLLATE "C" PRIMARY KEY,
    key_hash   BYTEA NOT NULL UNIQUE,
    name       TEXT COLLATE "C" NOT NULL,
    channel    TEXT COLLATE "C" NOT NULL,
    person_id  TEXT COLLATE "C" NOT NULL,
    device_id  TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Pairing codes: see sqlite_pairing.rs.
CREATE TABLE pairing_codes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_id        TEXT COLLATE "C" NOT NULL,
    code_hash      BYTEA NOT NULL,
    person_id      TEXT COLLATE "C" NOT NULL,
    device_name    TEXT COLLATE "C",
    role           TEXT COLLATE "C" NOT NULL,
    scope          TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    wrong_attempts BIGINT NOT NULL DEFAULT 0,
    used_at        BIGINT,
    device_id      TEXT COLLATE "C"
);
CREATE INDEX pairing_codes_by_id ON pairing_codes (code_id, created_at);

-- The console's logins and sessions: see sqlite_console.rs.
CREATE TABLE staff_logins (
    staff_id      TEXT COLLATE "C" PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT COLLATE "C" NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE TABLE console_sessions (
    token_hash BYTEA PRIMARY KEY,
    staff_id   TEXT COLLATE "C" NOT NULL,
    csrf       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_staff ON console_sessions (staff_id);
"#;

/// Version 2 (SQLite's 15): the documents a device paging through a backlog already holds
/// (see `in_step.rs` and SQLite's `IN_STEP_SCHEMA`).
const V2: &str = r#"
CREATE TABLE device_in_step (
    device_id TEXT COLLATE "C" NOT NULL,
    doc_id    TEXT COLLATE "C" NOT NULL,
    heads     BYTEA NOT NULL,
    until_seq BIGINT NOT NULL,
    PRIMARY KEY (device_id, doc_id)
);
"#;
