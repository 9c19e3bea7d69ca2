//! The OpenAPI 3.1 description of the server's HTTP API, served at `GET /openapi.json`.
//!
//! The schemas are generated from the Rust types the handlers read and answer (`schemars`
//! derives, which follow the types' serde attributes), so a field added to a type is in
//! the document without anyone remembering to write it down. The list of operations is
//! written here, next to nothing else; `tests::every_route_is_described` fails when a
//! route of [`crate::router`] is missing from it, and CI runs schemathesis against a live
//! server with this document (`scripts/schemathesis.sh`): no 5xx, no answer that breaks
//! its schema.
//!
//! Responses use the serialize contract (what the server writes: a field skipped when
//! empty is optional); request bodies and query parameters the deserialize contract (what
//! the server accepts: a field with a default is optional), inlined so that the two
//! contracts of one type never share a name.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
use wangge_core::photo::PhotoEvidence;
use wangge_core::{CaseEventKind, CaseRecord};

use crate::error::ErrorBody;
use crate::office::board::{Board, BoardEntry};
use crate::office::evaluation::Evaluation;
use crate::office::queue::CasePage;
use crate::routes::board::{BoardParams, HistoryParams, MissingParams};
use crate::routes::catalog::CatalogAnswer;
use crate::routes::export::{ChangeParams, GridParams};
use crate::routes::figures::EvaluationParams;
use crate::routes::intake::{ContactAnswer, IntakeAnswer, IntakeBody};
use crate::routes::me::Me;
use crate::routes::office::{ListParams, MergeBody, RegisterBody};
use crate::routes::open311::{KeyQuery, ListQuery, PostRequest, Service, ServiceRequest};
use crate::routes::photos::ChunkParams;
use crate::storage::intake::DuplicateHint;
use crate::storage::{PhotoUpload, Stats};

/// Builds the document.
struct Doc {
    /// Response schemas, collected into `components.schemas`.
    out: SchemaGenerator,
    /// Request bodies and parameters, inlined.
    input: SchemaGenerator,
    paths: Map<String, Value>,
}

/// One operation being described; [`Op::add`] puts it in the document.
struct Op<'a> {
    doc: &'a mut Doc,
    method: &'static str,
    path: &'static str,
    op: Value,
}

impl Doc {
    fn new() -> Doc {
        let mut out = SchemaSettings::draft2020_12();
        out.definitions_path = "/components/schemas".into();
        out.meta_schema = None;
        out.contract = Contract::Serialize;
        let mut input = SchemaSettings::draft2020_12();
        input.meta_schema = None;
        input.inline_subschemas = true;
        input.contract = Contract::Deserialize;
        Doc {
            out: out.into_generator(),
            input: input.into_generator(),
            paths: Map::new(),
        }
    }

    fn op(&mut self, method: &'static str, path: &'static str, tag: &str, summary: &str) -> Op<'_> {
        let error = self.out.subschema_for::<ErrorBody>().to_value();
        let mut params = Vec::new();
        for (name, what) in [
            ("id", "a case id (UUID)"),
            ("sha", "a SHA-256, 64 lowercase hex digits"),
            (
                "code",
                "a service code (checklist item id) followed by `.json`",
            ),
        ] {
            if path.contains(&format!("{{{name}}}")) {
                params.push(json!({"name": name, "in": "path", "required": true,
                    "description": what, "schema": {"type": "string"}}));
            }
        }
        let op = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": format!("{} {path}", method.to_uppercase()),
            "parameters": params,
            "responses": {
                "default": {
                    "description": "refused: a JSON error with a stable code (docs/sync-protocol.md, \"Errors\")",
                    "content": {"application/json": {"schema": error}},
                },
            },
        });
        Op {
            doc: self,
            method,
            path,
            op,
        }
    }

    fn get(&mut self, path: &'static str, tag: &str, summary: &str) -> Op<'_> {
        self.op("get", path, tag, summary)
    }

    fn post(&mut self, path: &'static str, tag: &str, summary: &str) -> Op<'_> {
        self.op("post", path, tag, summary)
    }

    fn finish(mut self) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Wangge sync server and back office",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "The management centre's JSON API, Open311 GeoReport v2, and the devices' sync and photo endpoints. Every refusal is JSON {\"error\": code, \"message\": what to do} (Open311: its own format). Times are milliseconds since the epoch unless said otherwise; days and periods are China time. See docs/back-office.md and docs/sync-protocol.md.",
            },
            "security": [{"bearer": []}],
            "paths": self.paths,
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer",
                        "description": "a device token from `wangge-server enroll`; back-office operations need a centre device's"},
                },
                "schemas": self.out.take_definitions(true),
            },
        })
    }
}

impl Op<'_> {
    /// Query parameters: the fields of the struct the handler reads its query string into.
    fn query<T: JsonSchema>(mut self) -> Self {
        let schema = self.doc.input.root_schema_for::<T>().to_value();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let (Some(props), Some(params)) = (
            schema["properties"].as_object(),
            self.op["parameters"].as_array_mut(),
        ) {
            for (name, s) in props {
                params.push(json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "description": s.get("description").cloned().unwrap_or(json!("")),
                    "schema": s,
                }));
            }
        }
        self
    }

    /// A JSON request body of type `T`.
    fn body<T: JsonSchema>(mut self) -> Self {
        let mut schema = self.doc.input.root_schema_for::<T>().to_value();
        if let Some(o) = schema.as_object_mut() {
            o.remove("$schema");
        }
        self.op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema}}});
        self
    }

    /// A binary request body.
    fn bytes_body(mut self) -> Self {
        self.op["requestBody"] = json!({"required": true, "content": {"application/octet-stream":
            {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}});
        self
    }

    /// Succeeds with `status` and a body of `mime` described by `schema`.
    fn answers(mut self, status: &str, mime: &str, schema: Value) -> Self {
        self.op["responses"][status] =
            json!({"description": "done", "content": {mime: {"schema": schema}}});
        self
    }

    /// Succeeds with 200 and JSON of type `T`.
    fn json<T: JsonSchema>(self) -> Self {
        let schema = self.doc.out.subschema_for::<T>().to_value();
        self.answers("200", "application/json", schema)
    }

    /// Succeeds with 200 and bytes of `mime`.
    fn bytes(self, mime: &str) -> Self {
        self.answers(
            "200",
            mime,
            json!({"type": "string", "contentMediaType": mime}),
        )
    }

    /// Succeeds with 200 and text of `mime`.
    fn text(self, mime: &str) -> Self {
        self.answers("200", mime, json!({"type": "string"}))
    }

    /// Succeeds with 200 and a GeoJSON FeatureCollection.
    fn geojson(self) -> Self {
        self.answers(
            "200",
            "application/geo+json",
            json!({
                "type": "object",
                "required": ["type", "features"],
                "properties": {
                    "type": {"const": "FeatureCollection"},
                    "features": {"type": "array", "items": {
                        "type": "object",
                        "required": ["type", "geometry", "properties"],
                        "properties": {"type": {"const": "Feature"}},
                    }},
                },
            }),
        )
    }

    /// Succeeds with 204 and no body.
    fn no_content(mut self) -> Self {
        self.op["responses"]["204"] = json!({"description": "done, nothing to answer"});
        self
    }

    /// Needs no token.
    fn open(mut self) -> Self {
        self.op["security"] = json!([]);
        self
    }

    /// An Open311 operation: authenticated by `api_key` (a query or form field), refused
    /// in the spec's error format.
    fn open311(mut self) -> Self {
        self.op["security"] = json!([]);
        self.op["responses"]["default"] = json!({
            "description": "refused, in the Open311 GeoReport v2 error format",
            "content": {"application/json": {"schema": {"type": "array", "items": {
                "type": "object",
                "required": ["code", "description"],
                "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
            }}}},
        });
        self
    }

    fn add(self) {
        let entry = self
            .doc
            .paths
            .entry(self.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[self.method] = self.op;
    }
}

/// The OpenAPI 3.1 document of every route.
pub fn document() -> Value {
    let mut d = Doc::new();
    // Cases: lists, intake, one case, its actions.
    d.get(
        "/v1/cases",
        "cases",
        "One page of the filtered case list (queues)",
    )
    .query::<ListParams>()
    .json::<CasePage>()
    .add();
    let created = d.out.subschema_for::<IntakeAnswer>().to_value();
    d.post(
        "/v1/cases",
        "intake",
        "Take a case in from a channel the desk serves, with duplicate hints",
    )
    .body::<IntakeBody>()
    .answers("201", "application/json", created)
    .add();
    d.get(
        "/v1/cases/{id}",
        "cases",
        "A case with its timeline and derived state",
    )
    .json::<CaseRecord>()
    .add();
    d.get(
        "/v1/cases/{id}/evidence",
        "cases",
        "What each photo's own time and place say against the report",
    )
    .json::<Vec<PhotoEvidence>>()
    .add();
    d.get(
        "/v1/cases/{id}/contact",
        "intake",
        "The reporter's contact (centre only)",
    )
    .json::<ContactAnswer>()
    .add();
    d.op(
        "delete",
        "/v1/cases/{id}/contact",
        "intake",
        "Erase the reporter's contact",
    )
    .no_content()
    .add();
    d.get(
        "/v1/cases/{id}/duplicates",
        "intake",
        "Open cases of the same item within 50 m and 72 h",
    )
    .json::<Vec<DuplicateHint>>()
    .add();
    d.post(
        "/v1/cases/{id}/register",
        "cases",
        "Register (立案) and assign the official number",
    )
    .body::<RegisterBody>()
    .json::<CaseRecord>()
    .add();
    d.post(
        "/v1/cases/{id}/events",
        "cases",
        "Dispatch, release, withdraw, verify, close, reopen, escalate, comment",
    )
    .body::<CaseEventKind>()
    .json::<CaseRecord>()
    .add();
    d.post(
        "/v1/cases/{id}/merge",
        "cases",
        "Merge a duplicate into another case",
    )
    .body::<MergeBody>()
    .json::<CaseRecord>()
    .add();
    // Figures and the zero-report board.
    d.get("/v1/stats", "figures", "Counts, closure rate, overdue")
        .json::<Stats>()
        .add();
    d.get("/v1/evaluation", "figures", "The evaluation of a period")
        .query::<EvaluationParams>()
        .json::<Evaluation>()
        .add();
    d.get(
        "/v1/zero-reports/board",
        "zero reports",
        "Every workstation's filing of one day",
    )
    .query::<BoardParams>()
    .json::<Board>()
    .add();
    d.get(
        "/v1/zero-reports/history",
        "zero reports",
        "One workstation's days",
    )
    .query::<HistoryParams>()
    .json::<Vec<BoardEntry>>()
    .add();
    d.get(
        "/v1/zero-reports/missing",
        "zero reports",
        "The missing filings (alerts)",
    )
    .query::<MissingParams>()
    .json::<Vec<BoardEntry>>()
    .add();
    // Exports, streamed.
    d.get(
        "/v1/exports/cases.csv",
        "exports",
        "The filtered cases as CSV (UTF-8 with BOM)",
    )
    .query::<ListParams>()
    .text("text/csv")
    .add();
    d.get(
        "/v1/exports/cases.geojson",
        "exports",
        "The filtered cases as GeoJSON points",
    )
    .query::<ListParams>()
    .geojson()
    .add();
    d.get(
        "/v1/exports/grids.geojson",
        "exports",
        "The grid cells as GeoJSON polygons",
    )
    .query::<GridParams>()
    .geojson()
    .add();
    d.get(
        "/v1/exports/changes.ndjson",
        "exports",
        "The change feed, one JSON object per line",
    )
    .query::<ChangeParams>()
    .text("application/x-ndjson")
    .add();
    // Devices: who am I, the catalog, sync, photos.
    d.post(
        "/v1/enrol",
        "devices",
        "Exchange a one-time pairing code for the device's id and token",
    )
    .body::<crate::pairing::EnrolRequest>()
    .json::<crate::pairing::EnrolResponse>()
    .open()
    .add();
    d.get("/v1/me", "devices", "Who the calling device acts as")
        .json::<Me>()
        .add();
    d.get(
        "/v1/catalog",
        "devices",
        "The checklist, calendar and grids in force, and their version",
    )
    .json::<CatalogAnswer>()
    .add();
    d.post(
        "/v1/sync",
        "devices",
        "One sync round (binary protocol, docs/sync-protocol.md)",
    )
    .bytes_body()
    .bytes("application/octet-stream")
    .add();
    d.get("/v1/photos/{sha}", "photos", "A photo's bytes")
        .bytes("image/jpeg")
        .add();
    d.op(
        "put",
        "/v1/photos/{sha}",
        "photos",
        "Upload a chunk of a photo (resumable)",
    )
    .query::<ChunkParams>()
    .bytes_body()
    .json::<PhotoUpload>()
    .add();
    d.get(
        "/v1/photos/{sha}/upload",
        "photos",
        "Where a photo's upload stands",
    )
    .json::<PhotoUpload>()
    .add();
    d.get(
        "/v1/photos/{sha}/thumbnail",
        "photos",
        "A photo's thumbnail",
    )
    .bytes("image/jpeg")
    .add();
    // Open311 GeoReport v2.
    d.get(
        "/open311/v2/services.json",
        "open311",
        "Open311: the services (checklist items)",
    )
    .query::<KeyQuery>()
    .json::<Vec<Service>>()
    .open311()
    .add();
    let definition = json!({"type": "object", "required": ["service_code", "attributes"],
        "properties": {"service_code": {"type": "string"}, "attributes": {"type": "array"}}});
    d.get(
        "/open311/v2/services/{code}",
        "open311",
        "Open311: a service's definition",
    )
    .query::<KeyQuery>()
    .answers("200", "application/json", definition)
    .open311()
    .add();
    d.get(
        "/open311/v2/requests.json",
        "open311",
        "Open311: the requests of the key's channel",
    )
    .query::<ListQuery>()
    .json::<Vec<ServiceRequest>>()
    .open311()
    .add();
    let created = json!({"type": "array", "items": {"type": "object",
        "required": ["service_request_id"], "properties": {"service_request_id": {"type": "string"}}}});
    let mut post = d
        .post(
            "/open311/v2/requests.json",
            "open311",
            "Open311: report a matter (it becomes a case)",
        )
        .body::<PostRequest>();
    post.op["requestBody"]["content"]["application/x-www-form-urlencoded"] =
        post.op["requestBody"]["content"]["application/json"].clone();
    post.answers("200", "application/json", created)
        .open311()
        .add();
    d.get(
        "/open311/v2/requests/{id}",
        "open311",
        "Open311: one request (`{id}.json`)",
    )
    .query::<KeyQuery>()
    .json::<Vec<ServiceRequest>>()
    .open311()
    .add();
    // Operations.
    d.get("/health", "operations", "Alive")
        .text("text/plain")
        .open()
        .add();
    d.get(
        "/ready",
        "operations",
        "Ready: the database answers, at this schema",
    )
    .json::<crate::routes::Ready>()
    .open()
    .add();
    d.get(
        "/metrics",
        "operations",
        "Prometheus metrics (text exposition format)",
    )
    .text("text/plain")
    .open()
    .add();
    d.get("/openapi.json", "operations", "This document")
        .answers("200", "application/json", json!({"type": "object"}))
        .open()
        .add();
    d.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every `.route("…")` of `lib.rs` is a path of the document, and the other way round.
    #[test]
    fn every_route_is_described() {
        let lib = include_str!("lib.rs");
        let mut routed: Vec<&str> = lib
            .split(".route(")
            .skip(1)
            .filter_map(|s| s.trim_start().strip_prefix('"')?.split('"').next())
            .collect();
        routed.sort();
        routed.dedup();
        let doc = document();
        let mut described: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        described.sort();
        assert_eq!(routed, described);
    }

    #[test]
    fn the_document_is_openapi_3_1_with_resolvable_references() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(schemas.contains_key(name), "unresolved reference to {name}");
        }
        assert!(schemas.contains_key("CaseRecord"));
    }
}
