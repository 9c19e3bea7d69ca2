//! The browser console over real HTTP, as a browser without JavaScript uses it: log in,
//! cookies, CSRF tokens, the intake desk, actions on a case, unit handlers' views, the
//! clock. (Chromium drives the same pages in `console-tests/`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use wangge_e2e::TestServer;
use wangge_server::console::account::create_login;
use wangge_server::roster;
use wangge_server::storage::Storage;

const PASSWORD: &str = "a long test password";

/// A browser: a client that keeps the session cookie and follows no redirect by itself.
struct Browser {
    http: Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        Browser {
            http: Client::builder().redirect(Policy::none()).build().unwrap(),
            base: server.base.clone(),
            cookie: None,
        }
    }

    fn login(server: &TestServer, username: &str) -> Browser {
        let mut b = Browser::new(server);
        let r = b.post_form(
            "/console/login",
            &[("username", username), ("password", PASSWORD)],
        );
        assert_eq!(r.status(), 303, "login of {username}");
        b
    }

    fn take_cookie(&mut self, r: &Response) {
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
    }

    fn get(&mut self, path: &str) -> Response {
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html");
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().unwrap();
        self.take_cookie(&r);
        r
    }

    /// A page that must answer 200: its HTML.
    fn page(&mut self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().unwrap()
    }

    fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("accept", "text/html")
            .form(fields);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().unwrap();
        self.take_cookie(&r);
        r
    }

    /// The CSRF token of the session (from any page).
    fn csrf(&mut self) -> String {
        let html = self.page("/console/queues/all");
        attr(&html, "data-csrf").expect("a page carries the CSRF token")
    }

    /// Posts a form with the session's CSRF token; the redirect's location.
    fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> String {
        let token = self.csrf();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        let r = self.post_form(path, &all);
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(status, 303, "POST {path}: {}", r.text().unwrap_or_default());
        location.unwrap()
    }
}

/// The value of the first `name="…"` attribute in `html`.
fn attr(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("{name}=\""))? + name.len() + 2;
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The case ids of a list page, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("<tr data-case-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

/// A server with the demo roster and console logins: `centre` (XT-CC-001), `chengguan`
/// (XT-UH-001, 城管中队), `wuye` (XT-UH-005, 物业), `inspector` (XT-SV-001), `gongan`
/// (XT-UH-003, 公安派出所).
fn console_server(dir: &std::path::Path) -> TestServer {
    let server = TestServer::start(dir);
    let storage: &dyn Storage = server.storage.as_ref();
    let parsed = roster::parse(
        "demo",
        roster::DEMO_ROSTER,
        &wangge_e2e::catalog(),
        &storage.units().unwrap(),
    )
    .unwrap();
    storage
        .upsert_roster(&parsed.people, &parsed.units)
        .unwrap();
    for (staff, user) in [
        ("XT-CC-001", "centre"),
        ("XT-UH-001", "chengguan"),
        ("XT-UH-005", "wuye"),
        ("XT-SV-001", "inspector"),
        ("XT-UH-003", "gongan"),
    ] {
        create_login(storage, staff, user, PASSWORD, wangge_e2e::MONDAY_9AM).unwrap();
    }
    server
}

#[test]
fn wrong_passwords_are_refused_then_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut b = Browser::new(&server);
    // Not logged in: a page sends the browser to the login page, coming back after.
    let r = b.get("/console/queues/overdue");
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/console/login?next=/console/queues/overdue"
    );
    for _ in 0..5 {
        let r = b.post_form(
            "/console/login",
            &[("username", "centre"), ("password", "wrong password")],
        );
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        assert!(r.text().unwrap().contains("data-code=\"login_failed\""));
    }
    // The sixth attempt is refused even with the right password, and says how long to wait.
    let r = b.post_form(
        "/console/login",
        &[("username", "centre"), ("password", PASSWORD)],
    );
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // A login form posted from another site's page is refused (login CSRF).
    let r = b
        .http
        .post(format!("{}/console/login", b.base))
        .header("origin", "https://evil.example")
        .form(&[("username", "wuye"), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // An unknown username is refused like a wrong password.
    let r = b.post_form(
        "/console/login",
        &[("username", "nobody"), ("password", PASSWORD)],
    );
    assert_eq!(r.status(), 401);
    // Another person logs in; the cookie is HttpOnly and SameSite=Strict.
    let r = b.post_form(
        "/console/login",
        &[
            ("username", "chengguan"),
            ("password", PASSWORD),
            ("next", "/console/queues/all"),
        ],
    );
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/queues/all");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // `next` never leads off the console.
    let r = b.post_form(
        "/console/login",
        &[
            ("username", "wuye"),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
        ],
    );
    assert_eq!(r.headers()["location"], "/console");
}

#[test]
fn sessions_expire_on_the_servers_clock_and_log_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut b = Browser::login(&server, "centre");
    b.page("/console/queues/all");
    // Idle for more than two hours: the session has ended.
    server.clock.advance(121 * 60_000);
    let r = b.get("/console/queues/all");
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/console/login")
    );
    // A write with an ended session is refused with a code, not redirected.
    let r = b.post_form("/console/logout", &[("_csrf", "x")]);
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("session_expired"));

    // Logging out ends the session on the server: the old cookie opens nothing.
    let mut b = Browser::login(&server, "centre");
    let old = b.cookie.clone();
    let to = b.submit("/console/logout", &[]);
    assert_eq!(to, "/console/login");
    b.cookie = old;
    assert_eq!(b.get("/console/queues/all").status(), 303);
}

#[test]
fn writes_without_the_csrf_token_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut b = Browser::login(&server, "centre");
    for fields in [
        vec![("channel", "hotline_12345")],
        vec![("_csrf", "0000"), ("channel", "hotline_12345")],
    ] {
        let r = b.post_form("/console/intake", &fields);
        assert_eq!(r.status(), 403);
        assert!(
            r.text()
                .unwrap()
                .contains("data-code=\"csrf_token_invalid\"")
        );
    }
    // A script's write gets JSON with the code.
    let r = b
        .http
        .post(format!("{}/console/logout", b.base))
        .header("cookie", b.cookie.clone().unwrap())
        .header("x-csrf-token", "wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"], "csrf_token_invalid");
    // Nothing was taken in.
    assert!(listed(&b.page("/console/queues/all")).is_empty());
}

#[test]
fn a_hotline_case_is_taken_in_dispatched_to_two_units_and_handled_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut centre = Browser::login(&server, "centre");
    let cell = wangge_e2e::catalog()
        .grids
        .cells_at(wangge_core::grid::GridLevel::Unit)
        .next()
        .unwrap()
        .id()
        .to_owned();
    let fix = wangge_e2e::fix_in(&cell, wangge_e2e::MONDAY_9AM);
    let (lat, lon) = (fix.lat.to_string(), fix.lon.to_string());
    // The intake desk: check for duplicates first (none), then save.
    let fields = [
        ("channel", "hotline_12345"),
        ("reference", "12345-2026-000123"),
        ("checklist_item", "A01-001"),
        ("description", "小区门口占道经营，影响通行"),
        ("address", "斜土路100号"),
        ("lat", lat.as_str()),
        ("lon", lon.as_str()),
        ("datum", "wgs84"),
        ("reporter_phone", "13900000000"),
    ];
    let token = centre.csrf();
    let mut with_check = vec![("_csrf", token.as_str()), ("check", "1")];
    with_check.extend_from_slice(&fields);
    let r = centre.post_form("/console/intake", &with_check);
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("id=\"hints\" data-count=\"0\""));
    let to = centre.submit("/console/intake", &fields);
    assert!(
        to.starts_with("/console/cases/") && to.ends_with("?done=intake"),
        "{to}"
    );
    let id = to["/console/cases/".len()..to.find('?').unwrap()].to_owned();
    assert_eq!(
        listed(&centre.page("/console/queues/to-register")),
        vec![id.clone()]
    );
    // The same reference again is refused.
    let token = centre.csrf();
    let mut again = vec![("_csrf", token.as_str())];
    again.extend_from_slice(&fields);
    assert_eq!(centre.post_form("/console/intake", &again).status(), 409);

    // Register, then dispatch to 城管中队 (lead) and 物业 (assisting).
    centre.submit(
        &format!("/console/cases/{id}/act"),
        &[("action", "register")],
    );
    centre.submit(
        &format!("/console/cases/{id}/act"),
        &[
            ("action", "dispatched"),
            ("lead", "城管中队"),
            ("assist", "物业"),
        ],
    );
    let case = server.storage.case(&id).unwrap().unwrap();
    assert!(case.state.case_number.is_some());
    assert_eq!(case.state.holders, vec!["城管中队", "物业"]);
    let last = case.events.last().unwrap();
    assert_eq!(last.by.id, "XT-CC-001", "recorded as the person");
    assert!(
        centre
            .page(&format!("/console/cases/{id}"))
            .contains("data-event=\"dispatched\"")
    );

    // A handler of 城管中队 sees it in their queue and may act; one of another unit may not.
    let mut chengguan = Browser::login(&server, "chengguan");
    assert_eq!(
        listed(&chengguan.page("/console/queues/my-unit")),
        vec![id.clone()]
    );
    let page = chengguan.page(&format!("/console/cases/{id}"));
    assert!(
        page.contains("data-action=\"arrived\"") && !page.contains("data-action=\"dispatched\"")
    );
    chengguan.submit(
        &format!("/console/cases/{id}/act"),
        &[("action", "arrived")],
    );
    let case = server.storage.case(&id).unwrap().unwrap();
    let arrived = case.events.last().unwrap();
    assert_eq!(arrived.by.id, "XT-UH-001");
    assert_eq!(arrived.by.unit.as_deref(), Some("城管中队"));
    // The handler's view of the street is their unit's: the centre's queues are not theirs.
    let r = chengguan.get("/console/queues/to-register");
    assert_eq!(r.status(), 303);
    // A centre action from the handler is refused.
    let token = chengguan.csrf();
    let r = chengguan.post_form(
        &format!("/console/cases/{id}/act"),
        &[("_csrf", token.as_str()), ("action", "closed")],
    );
    assert_eq!(r.status(), 403);

    // A handler of a unit the case was never dispatched to does not find it at all.
    let mut gongan = Browser::login(&server, "gongan");
    assert!(listed(&gongan.page("/console/queues/all")).is_empty());
    assert_eq!(gongan.get(&format!("/console/cases/{id}")).status(), 404);
    // The inspector sees every case.
    let mut inspector = Browser::login(&server, "inspector");
    assert_eq!(listed(&inspector.page("/console/queues/all")), vec![id]);
}

#[test]
fn a_case_past_its_deadline_shows_in_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut centre = Browser::login(&server, "centre");
    let to = centre.submit(
        "/console/intake",
        &[
            ("channel", "hotline_12345"),
            ("checklist_item", "A01-001"),
            ("description", "占道经营"),
            ("address", "斜土路200号"),
        ],
    );
    let id = to["/console/cases/".len()..to.find('?').unwrap()].to_owned();
    assert!(listed(&centre.page("/console/queues/overdue")).is_empty());
    assert_eq!(
        listed(&centre.page("/console/queues/due-soon")),
        vec![id.clone()]
    );
    // 15 minutes to clarify: an hour later it is late.
    server.clock.advance(60 * 60_000);
    let overdue = centre.page("/console/queues/overdue");
    assert_eq!(listed(&overdue), vec![id]);
    assert!(overdue.contains("class=\"late\""));
}

#[test]
fn the_intake_desk_takes_photos_and_shows_them_to_who_may_see_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path());
    let mut centre = Browser::login(&server, "centre");
    let token = centre.csrf();
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&img)
        .unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("_csrf", token)
        .text("channel", "wechat")
        .text("checklist_item", "A01-001")
        .text("description", "垃圾堆放")
        .text("address", "斜土路300号")
        .part(
            "photo",
            reqwest::blocking::multipart::Part::bytes(jpeg)
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        // An empty file input (no second photo chosen) is ignored.
        .part(
            "photo",
            reqwest::blocking::multipart::Part::bytes(Vec::new()).file_name(""),
        );
    let r = centre
        .http
        .post(format!("{}/console/intake", centre.base))
        .header("cookie", centre.cookie.clone().unwrap())
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text());
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let id = to["/console/cases/".len()..to.find('?').unwrap()].to_owned();
    let case = server.storage.case(&id).unwrap().unwrap();
    assert_eq!(case.header.photos.len(), 1);
    let photo = &case.header.photos[0];
    assert_eq!(photo.width, 800);
    // The case page shows the thumbnail with the evidence warning (no capture time).
    let page = centre.page(&format!("/console/cases/{id}"));
    assert!(page.contains(&format!("data-sha=\"{}\"", photo.sha256)));
    assert!(page.contains("照片无拍摄时间"));
    let thumb = centre.get(&format!(
        "/console/cases/{id}/photos/{}/thumbnail",
        photo.sha256
    ));
    assert_eq!(thumb.status(), 200);
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    let full = centre.get(&format!("/console/cases/{id}/photos/{}", photo.sha256));
    assert_eq!(full.bytes().unwrap().len() as u64, photo.bytes);
    // A handler of a unit the case was never dispatched to gets nothing.
    let mut gongan = Browser::login(&server, "gongan");
    let r = gongan.get(&format!("/console/cases/{id}/photos/{}", photo.sha256));
    assert_eq!(r.status(), 404);
}
