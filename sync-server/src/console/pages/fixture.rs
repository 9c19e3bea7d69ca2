//! A console for the pages' tests: the whole application over a fresh database with the
//! demo street and roster, served on a loopback socket (as the audit's tests do), a clock
//! the test moves, sessions made without the login form, and cases taken in, registered
//! and dispatched through the storage.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use wangge_core::{
    Actor, CaseEventKind, Catalog, DeviceId, GpsFix, ManualClock, NewCase, Role, SourceChannel,
};

use crate::storage::Storage;
use crate::storage::console::{ConsoleSession, StaffLogin};
use crate::storage::intake::{Intake, IntakeOutcome};
use crate::storage::sqlite::SqliteStorage;
use crate::{AppState, auth, roster, router};

/// 2026-03-02 09:00 China time: a Monday, a working day of the demo calendar.
pub const START_MS: i64 = 1_772_413_200_000;

/// A console over a fresh database.
pub struct Console {
    /// The storage under the application.
    pub storage: Arc<SqliteStorage>,
    /// The server's clock.
    pub clock: Arc<ManualClock>,
    /// The application.
    pub app: Router,
    /// Where it is served, once a request asked for it.
    base: std::sync::OnceLock<String>,
    _dir: tempfile::TempDir,
}

impl Console {
    /// The demo street and roster at [`START_MS`].
    pub fn new() -> Console {
        Console::with_office(crate::office::OfficeConfig::default())
    }

    /// The same, with other back-office settings (a tile layer).
    pub fn with_office(office: crate::office::OfficeConfig) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let storage =
            Arc::new(SqliteStorage::open(dir.path().join("c.sqlite3"), catalog.clone()).unwrap());
        let text = include_str!("../../../data/roster-demo.json");
        let roster = roster::parse("roster-demo.json", text, &catalog, &[]).unwrap();
        storage
            .upsert_roster(&roster.people, &roster.units)
            .unwrap();
        let clock = Arc::new(ManualClock::new(START_MS));
        let app = router(AppState {
            storage: storage.clone(),
            catalog,
            clock: clock.clone(),
            office,
            tokens: Default::default(),
        });
        Console {
            storage,
            clock,
            app,
            base: std::sync::OnceLock::new(),
            _dir: dir,
        }
    }

    /// The server's time now.
    pub fn now(&self) -> i64 {
        wangge_core::Clock::now_ms(self.clock.as_ref())
    }

    /// Moves the server's clock on.
    pub fn advance_days(&self, days: i64) {
        self.clock.advance(days * 86_400_000);
    }

    /// A session of `staff_id` (given a login without a password): the cookie header value.
    pub fn login(&self, staff_id: &str) -> String {
        let now = self.now();
        if self.storage.login_of(staff_id).unwrap().is_none() {
            self.storage
                .set_login(&StaffLogin {
                    username: staff_id.to_lowercase(),
                    staff_id: staff_id.to_owned(),
                    password_hash: String::new(),
                    device_id: DeviceId::generate().to_string(),
                    updated_at: now,
                })
                .unwrap();
        }
        let token = auth::new_token().unwrap();
        self.storage
            .create_session(
                &auth::hash_token(&token),
                &ConsoleSession {
                    staff_id: staff_id.to_owned(),
                    csrf: "csrf".into(),
                    created_at: now,
                    last_seen: now,
                    expires_at: now + 86_400_000,
                },
            )
            .unwrap();
        format!("{}={token}", crate::console::session::COOKIE)
    }

    /// `GET path` with a session cookie, as a browser asks for a page: status and body.
    pub async fn get(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let (status, _, body) = self.get_full(cookie, path).await;
        (status, body)
    }

    /// The server's address, serving it on the test's runtime at the first call.
    async fn base(&self) -> String {
        if let Some(base) = self.base.get() {
            return base.clone();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = self.app.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        self.base.get_or_init(|| base).clone()
    }

    /// `request` sent with a session cookie, no redirect followed: status, headers and body.
    async fn send_as_browser(
        &self,
        cookie: &str,
        request: impl FnOnce(&reqwest::Client, String) -> reqwest::RequestBuilder,
    ) -> (StatusCode, HeaderMap, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = request(&client, self.base().await)
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        (status, headers, body)
    }

    /// `GET path` with a session cookie, as a browser asks for a page (no redirect is
    /// followed): status, headers and body.
    pub async fn get_full(&self, cookie: &str, path: &str) -> (StatusCode, HeaderMap, String) {
        self.send_as_browser(cookie, |client, base| {
            client
                .get(format!("{base}{path}"))
                .header(header::ACCEPT, "text/html")
        })
        .await
    }

    /// `POST path` with a session cookie and a form (`fields`, URL-encoded; the fixture's
    /// sessions have the CSRF token `csrf`), as a script sends it (refusals stay JSON, no
    /// redirect is followed): status, headers and body.
    pub async fn post_form(
        &self,
        cookie: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let form = serde_urlencoded::to_string(fields).unwrap();
        self.send_as_browser(cookie, |client, base| {
            client
                .post(format!("{base}{path}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form)
        })
        .await
    }

    /// `POST path` with a JSON body and no session, as a phone sends it: status and the JSON
    /// answer.
    pub async fn post_json(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}{path}", self.base().await))
            .json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let json = response.json().await.unwrap_or_default();
        (status, json)
    }

    /// `GET path` of the API with a device's token: status and the JSON answer.
    pub async fn get_json(&self, path: &str, bearer: &str) -> (StatusCode, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base().await))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let json = response.json().await.unwrap_or_default();
        (status, json)
    }

    fn centre(&self) -> Actor {
        Actor {
            id: "XT-CC-001".into(),
            role: Role::Centre,
            unit: None,
            device: DeviceId::generate(),
        }
    }

    /// A 12345 hotline case at a WGS-84 position, taken in now: its id.
    pub fn hotline_case(&self, lat: f64, lon: f64, item: &str) -> String {
        let intake = Intake {
            by: self.centre(),
            new: NewCase {
                channel: SourceChannel::Hotline12345,
                checklist_item: item.into(),
                description: "市民来电反映".into(),
                gps: Some(GpsFix {
                    lat,
                    lon,
                    accuracy_m: 5.0,
                    fix_time_ms: self.now(),
                }),
                address: None,
                grid: None,
                photos: Vec::new(),
                external_ref: None,
            },
            contact: None,
        };
        match self.storage.intake_case(&intake, self.now()).unwrap() {
            IntakeOutcome::Created { case, .. } => case.header.id.to_string(),
            IntakeOutcome::DuplicateReference { case_id } => panic!("duplicate of {case_id}"),
        }
    }

    /// Rejects a reported case (it is no longer open).
    pub fn reject(&self, id: &str) {
        self.storage
            .add_case_event(
                id,
                &self.centre(),
                CaseEventKind::Rejected {
                    reason: "不属于受理范围".into(),
                },
                self.now(),
            )
            .unwrap();
    }

    /// Registers a case and dispatches it to `units` (the first leads).
    pub fn register_and_dispatch(&self, id: &str, units: &[&str]) {
        let by = self.centre();
        self.storage
            .register_case(id, &by, None, None, self.now())
            .unwrap();
        let units: Vec<String> = units.iter().map(|u| (*u).to_owned()).collect();
        self.storage
            .add_case_event(
                id,
                &by,
                CaseEventKind::Dispatched {
                    lead: units.first().cloned(),
                    units,
                    note: None,
                },
                self.now(),
            )
            .unwrap();
    }
}
