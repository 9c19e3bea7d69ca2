//! The back office of a test server, as the centre's desk sees it over HTTP.

use serde_json::Value;
use wangge_core::CaseId;
use wangge_server::storage::DeviceRole;

use crate::{TestServer, everything};

/// A centre device's HTTP client for the back-office API.
pub struct Desk {
    /// The client.
    pub http: reqwest::blocking::Client,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `Bearer <token>`.
    pub auth: String,
}

impl Desk {
    /// Enrols a centre device named `centre` and returns its desk.
    pub fn new(server: &TestServer) -> Desk {
        let (_, token) = server.enroll("centre", DeviceRole::Centre, everything());
        Desk::with_token(server, &token)
    }

    /// The desk of a device whose token is `token`.
    pub fn with_token(server: &TestServer, token: &str) -> Desk {
        Desk {
            http: reqwest::blocking::Client::new(),
            base: server.base.clone(),
            auth: format!("Bearer {token}"),
        }
    }

    /// An intake that must succeed (`POST /v1/cases`, 201): the answer (case and
    /// duplicate hints).
    pub fn intake(&self, body: Value) -> Value {
        let (status, answer) = self.post("/v1/cases", body);
        assert_eq!(status, 201, "{answer}");
        answer
    }

    /// POSTs `body` to `path`; the status and the JSON answer.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }

    /// GETs `path` (with its query); the status and the JSON answer.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", &self.auth)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }

    /// GETs `path`, which must answer 200; the JSON answer.
    pub fn get_ok(&self, path: &str) -> Value {
        let (status, answer) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {answer}");
        answer
    }

    /// An event the desk must be allowed to add; the case afterwards.
    pub fn event(&self, case: CaseId, body: Value) -> Value {
        let (status, answer) = self.post(&format!("/v1/cases/{case}/events"), body);
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// Registers a case, which must succeed; the case afterwards.
    pub fn register(&self, case: CaseId) -> Value {
        let (status, answer) =
            self.post(&format!("/v1/cases/{case}/register"), serde_json::json!({}));
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// A case, which must exist.
    pub fn case(&self, case: CaseId) -> Value {
        self.get_ok(&format!("/v1/cases/{case}"))
    }
}
