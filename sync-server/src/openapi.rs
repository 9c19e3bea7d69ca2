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
use crate::routes::me::Me;
use crate::routes::office::{ListParams, MergeBody, RegisterBody};
use crate::routes::photos::ChunkParams;
use crate::storage::{PhotoUpload, Stats};

/// Builds the document.
struct Doc {
    /// Response schemas, collected into `components.schemas`.
    out: SchemaGenerator,
    /// Request bodies and parameters, inlined.
    input: SchemaGenerator,
    paths: Map<String, Value>,
}

/// What an operation answers with 200.
enum Answer {
    Json(Value),
    Bytes(&'static str),
    Text(&'static str),
    /// A GeoJSON FeatureCollection.
    Geo,
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

    fn answer<T: JsonSchema>(&mut self) -> Answer {
        Answer::Json(self.out.subschema_for::<T>().to_value())
    }

    fn body<T: JsonSchema>(&mut self) -> Value {
        let mut schema = self.input.root_schema_for::<T>().to_value();
        if let Some(o) = schema.as_object_mut() {
            o.remove("$schema");
        }
        json!({"required": true, "content": {"application/json": {"schema": schema}}})
    }

    /// The query parameters of a struct the handler deserializes its query string into.
    fn query<T: JsonSchema>(&mut self) -> Vec<Value> {
        let schema = self.input.root_schema_for::<T>().to_value();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        schema["properties"]
            .as_object()
            .map(|props| {
                props
                    .iter()
                    .map(|(name, s)| {
                        json!({
                            "name": name,
                            "in": "query",
                            "required": required.contains(&name.as_str()),
                            "description": s.get("description").cloned().unwrap_or(json!("")),
                            "schema": s,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        method: &str,
        path: &str,
        tag: &str,
        summary: &str,
        params: Vec<Value>,
        body: Option<Value>,
        answer: Answer,
        open: bool,
    ) {
        let error = self.out.subschema_for::<ErrorBody>().to_value();
        let ok = match answer {
            Answer::Json(schema) => json!({"application/json": {"schema": schema}}),
            Answer::Bytes(mime) => {
                json!({mime: {"schema": {"type": "string", "contentMediaType": mime}}})
            }
            Answer::Text(mime) => json!({mime: {"schema": {"type": "string"}}}),
            Answer::Geo => json!({"application/geo+json": {"schema": {
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
            }}}),
        };
        let mut params = params;
        for (name, what) in [
            ("id", "a case id (UUID)"),
            ("sha", "a SHA-256, 64 lowercase hex digits"),
        ] {
            if path.contains(&format!("{{{name}}}")) {
                params.push(json!({"name": name, "in": "path", "required": true,
                    "description": what, "schema": {"type": "string"}}));
            }
        }
        let mut operation = json!({
            "tags": [tag],
            "summary": summary,
            "operationId": format!("{} {}", method.to_uppercase(), path),
            "parameters": params,
            "responses": {
                "200": {"description": "done", "content": ok},
                "default": {
                    "description": "refused: a JSON error with a stable code (docs/sync-protocol.md, \"Errors\")",
                    "content": {"application/json": {"schema": error}},
                },
            },
        });
        if let Some(body) = body {
            operation["requestBody"] = body;
        }
        if open {
            operation["security"] = json!([]);
        }
        let entry = self
            .paths
            .entry(path.to_owned())
            .or_insert_with(|| json!({}));
        entry[method] = operation;
    }

    fn finish(mut self) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "Wangge sync server and back office",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "The management centre's JSON API and the devices' sync and photo endpoints. Every refusal is JSON {\"error\": code, \"message\": what to do}. Times are milliseconds since the epoch unless said otherwise; days and periods are China time. See docs/back-office.md and docs/sync-protocol.md.",
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

/// The OpenAPI 3.1 document of every route.
pub fn document() -> Value {
    let mut d = Doc::new();
    let none = Vec::new;
    let a = d.answer::<CasePage>();
    let q = d.query::<ListParams>();
    d.op(
        "get",
        "/v1/cases",
        "cases",
        "One page of the filtered case list (queues)",
        q,
        None,
        a,
        false,
    );
    let a = d.answer::<CaseRecord>();
    d.op(
        "get",
        "/v1/cases/{id}",
        "cases",
        "A case with its timeline and derived state",
        none(),
        None,
        a,
        false,
    );
    let a = d.answer::<Vec<PhotoEvidence>>();
    d.op(
        "get",
        "/v1/cases/{id}/evidence",
        "cases",
        "What each photo's own time and place say against the report",
        none(),
        None,
        a,
        false,
    );
    let (a, b) = (d.answer::<CaseRecord>(), d.body::<RegisterBody>());
    d.op(
        "post",
        "/v1/cases/{id}/register",
        "cases",
        "Register (立案) and assign the official number",
        none(),
        Some(b),
        a,
        false,
    );
    let (a, b) = (d.answer::<CaseRecord>(), d.body::<CaseEventKind>());
    d.op(
        "post",
        "/v1/cases/{id}/events",
        "cases",
        "Dispatch, release, withdraw, verify, close, reopen, escalate, comment",
        none(),
        Some(b),
        a,
        false,
    );
    let (a, b) = (d.answer::<CaseRecord>(), d.body::<MergeBody>());
    d.op(
        "post",
        "/v1/cases/{id}/merge",
        "cases",
        "Merge a duplicate into another case",
        none(),
        Some(b),
        a,
        false,
    );
    let a = d.answer::<Stats>();
    d.op(
        "get",
        "/v1/stats",
        "figures",
        "Counts, closure rate, overdue",
        none(),
        None,
        a,
        false,
    );
    let (a, q) = (d.answer::<Evaluation>(), d.query::<EvaluationParams>());
    d.op(
        "get",
        "/v1/evaluation",
        "figures",
        "The evaluation of a period",
        q,
        None,
        a,
        false,
    );
    let (a, q) = (d.answer::<Board>(), d.query::<BoardParams>());
    d.op(
        "get",
        "/v1/zero-reports/board",
        "zero reports",
        "Every workstation's filing of one day",
        q,
        None,
        a,
        false,
    );
    let (a, q) = (d.answer::<Vec<BoardEntry>>(), d.query::<HistoryParams>());
    d.op(
        "get",
        "/v1/zero-reports/history",
        "zero reports",
        "One workstation's days",
        q,
        None,
        a,
        false,
    );
    let (a, q) = (d.answer::<Vec<BoardEntry>>(), d.query::<MissingParams>());
    d.op(
        "get",
        "/v1/zero-reports/missing",
        "zero reports",
        "The missing filings (alerts)",
        q,
        None,
        a,
        false,
    );
    let q = d.query::<ListParams>();
    d.op(
        "get",
        "/v1/exports/cases.csv",
        "exports",
        "The filtered cases as CSV (UTF-8 with BOM), streamed",
        q,
        None,
        Answer::Text("text/csv"),
        false,
    );
    let q = d.query::<ListParams>();
    d.op(
        "get",
        "/v1/exports/cases.geojson",
        "exports",
        "The filtered cases as GeoJSON points, streamed",
        q,
        None,
        Answer::Geo,
        false,
    );
    let q = d.query::<GridParams>();
    d.op(
        "get",
        "/v1/exports/grids.geojson",
        "exports",
        "The grid cells as GeoJSON polygons",
        q,
        None,
        Answer::Geo,
        false,
    );
    let q = d.query::<ChangeParams>();
    d.op(
        "get",
        "/v1/exports/changes.ndjson",
        "exports",
        "The change feed for other systems, one JSON object per line",
        q,
        None,
        Answer::Text("application/x-ndjson"),
        false,
    );
    let a = d.answer::<CatalogAnswer>();
    d.op(
        "get",
        "/v1/catalog",
        "devices",
        "The checklist, calendar and grids in force, and their version",
        none(),
        None,
        a,
        false,
    );
    let a = d.answer::<Me>();
    d.op(
        "get",
        "/v1/me",
        "devices",
        "Who the calling device acts as",
        none(),
        None,
        a,
        false,
    );
    let sync_body = json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}});
    d.op(
        "post",
        "/v1/sync",
        "devices",
        "One sync round (binary protocol, docs/sync-protocol.md)",
        none(),
        Some(sync_body.clone()),
        Answer::Bytes("application/octet-stream"),
        false,
    );
    d.op(
        "get",
        "/v1/photos/{sha}",
        "photos",
        "A photo's bytes",
        none(),
        None,
        Answer::Bytes("image/jpeg"),
        false,
    );
    let (a, q) = (d.answer::<PhotoUpload>(), d.query::<ChunkParams>());
    d.op(
        "put",
        "/v1/photos/{sha}",
        "photos",
        "Upload a chunk of a photo (resumable)",
        q,
        Some(sync_body),
        a,
        false,
    );
    let a = d.answer::<PhotoUpload>();
    d.op(
        "get",
        "/v1/photos/{sha}/upload",
        "photos",
        "Where a photo's upload stands",
        none(),
        None,
        a,
        false,
    );
    d.op(
        "get",
        "/v1/photos/{sha}/thumbnail",
        "photos",
        "A photo's thumbnail",
        none(),
        None,
        Answer::Bytes("image/jpeg"),
        false,
    );
    d.op(
        "get",
        "/health",
        "operations",
        "Alive",
        none(),
        None,
        Answer::Text("text/plain"),
        true,
    );
    d.op(
        "get",
        "/openapi.json",
        "operations",
        "This document",
        none(),
        None,
        Answer::Json(json!({"type": "object"})),
        true,
    );
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
