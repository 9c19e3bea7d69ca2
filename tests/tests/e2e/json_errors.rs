//! Every refusal of the server is JSON with a stable code and a message — including what axum
//! itself refuses (a query, path or body its extractors cannot read, an unknown path, a wrong
//! method) — and a `PUT` on a complete photo is a no-op whatever its offset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ALLOW, CONTENT_TYPE};
use sha2::{Digest, Sha256};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

/// A refused request: what it is (for failure messages), the request, the expected status
/// and code, and a text the message must contain.
type Refusal = (
    &'static str,
    RequestBuilder,
    u16,
    &'static str,
    &'static str,
);

/// Checks that `resp` is a JSON refusal with `status` and `code`; returns the body.
fn assert_refusal(what: &str, resp: Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "{what}: status");
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().unwrap();
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{what}: content type of {text:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{what}: body {text:?} is not JSON: {e}"));
    assert_eq!(body["error"], code, "{what}: {body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what}: no message in {body}"
    );
    body
}

/// Sends raw bytes to the server and reads the whole answer: status, head, body.
fn raw_request(server: &TestServer, request: &[u8]) -> (u16, String, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    // The server closes the connection after answering (`Connection: close`, or a body it
    // could not read); a reset after the answer is fine too.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn every_refusal_is_json_with_a_code_and_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    let (_, field) = server.enroll("field", DeviceRole::Field, everything());
    let http = Client::new();
    let base = &server.base;
    let case = wangge_core::CaseId::generate();
    let register = format!("{base}/v1/cases/{case}/register");
    let events = format!("{base}/v1/cases/{case}/events");
    let sha = "ab".repeat(32);

    let refusals: Vec<Refusal> = vec![
        // Query strings the back office cannot read.
        (
            "a limit that is not a number",
            http.get(format!("{base}/v1/cases?limit=many"))
                .bearer_auth(&centre),
            400,
            "bad_query",
            "limit",
        ),
        (
            "a flag that is not a boolean",
            http.get(format!("{base}/v1/cases?open=perhaps"))
                .bearer_auth(&centre),
            400,
            "bad_query",
            "open",
        ),
        // Bodies that are not the JSON asked for.
        (
            "JSON without a Content-Type",
            http.post(&register).bearer_auth(&centre).body("{}"),
            415,
            "unsupported_media_type",
            "Content-Type: application/json",
        ),
        (
            "JSON sent as text/plain",
            http.post(&events)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "text/plain")
                .body(r#"{"type": "comment", "text": "hi"}"#),
            415,
            "unsupported_media_type",
            "Content-Type: application/json",
        ),
        (
            "a body that is not JSON",
            http.post(&register)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"grid": "#),
            400,
            "malformed_json",
            "JSON",
        ),
        (
            "a field of the wrong JSON type",
            http.post(&register)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"grid": 5}"#),
            422,
            "invalid_json",
            "invalid type",
        ),
        (
            "an unknown field",
            http.post(&register)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"colour": "red"}"#),
            422,
            "invalid_json",
            "colour",
        ),
        (
            "an unknown back-office event",
            http.post(&events)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"type": "teleported"}"#),
            422,
            "invalid_json",
            "teleported",
        ),
        (
            "a JSON body over 64 KiB",
            http.post(&events)
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body(format!(
                    r#"{{"type": "comment", "text": "{}"}}"#,
                    "x".repeat(wangge_server::MAX_JSON_BODY)
                )),
            413,
            "body_too_large",
            "64 KiB",
        ),
        // Path parameters that are not UTF-8.
        (
            "a case id that is not UTF-8",
            http.get(format!("{base}/v1/cases/%FF%FE"))
                .bearer_auth(&centre),
            400,
            "bad_path",
            "UTF-8",
        ),
        (
            "a photo hash that is not UTF-8",
            http.get(format!("{base}/v1/photos/%C3%28/upload"))
                .bearer_auth(&field),
            400,
            "bad_path",
            "UTF-8",
        ),
        // Photo uploads: the query and the body.
        (
            "a photo chunk with an offset that is not a number",
            http.put(format!("{base}/v1/photos/{sha}?offset=start&total=3"))
                .bearer_auth(&field)
                .body(vec![1, 2, 3]),
            400,
            "bad_upload_parameters",
            "offset",
        ),
        (
            "a photo chunk over 8 MiB",
            http.put(format!("{base}/v1/photos/{sha}?offset=0&total={}", 9 << 20))
                .bearer_auth(&field)
                .body(vec![0u8; wangge_server::MAX_PHOTO_CHUNK + 1]),
            413,
            "body_too_large",
            "8 MiB",
        ),
        (
            "a sync request over 32 MiB",
            http.post(format!("{base}/v1/sync"))
                .bearer_auth(&field)
                .body(vec![0u8; wangge_server::MAX_SYNC_BODY + 1]),
            413,
            "body_too_large",
            "32 MiB",
        ),
        // Paths and methods nothing serves.
        (
            "an unknown path",
            http.get(format!("{base}/v1/nowhere?token=hunter2")),
            404,
            "not_found",
            "/v1/nowhere",
        ),
        (
            "the root",
            http.get(format!("{base}/")),
            404,
            "not_found",
            "GET /",
        ),
        (
            "PUT on the case list",
            http.put(format!("{base}/v1/cases"))
                .bearer_auth(&centre)
                .header(CONTENT_TYPE, "application/json")
                .body("{}"),
            405,
            "method_not_allowed",
            "PUT",
        ),
        (
            "DELETE on a photo",
            http.delete(format!("{base}/v1/photos/{sha}"))
                .bearer_auth(&field),
            405,
            "method_not_allowed",
            "Allow",
        ),
        (
            "GET on the sync endpoint",
            http.get(format!("{base}/v1/sync")).bearer_auth(&field),
            405,
            "method_not_allowed",
            "GET",
        ),
    ];
    assert!(refusals.len() >= 14);
    for (what, request, status, code, needle) in refusals {
        let request = request.build().unwrap();
        let method = request.method().to_string();
        let resp = http.execute(request).unwrap();
        let allow = resp
            .headers()
            .get(ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = assert_refusal(what, resp, status, code);
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{what}: the message should mention {needle:?}: {message}"
        );
        assert!(
            !message.contains("hunter2"),
            "{what}: the message repeats the query string: {message}"
        );
        if status == 405 {
            // The methods the path does serve.
            let allow = allow.unwrap_or_else(|| panic!("{what}: no Allow header"));
            assert!(
                !allow.is_empty() && !allow.split(',').any(|m| m.trim() == method),
                "{what}: Allow: {allow}"
            );
        }
    }

    // A body the server cannot read (a broken chunked encoding): 400 malformed_request.
    let (status, head, body) = raw_request(
        &server,
        format!(
            "POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {field}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nnot a chunk\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, 400, "{head}\n{body}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "malformed_request", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("could not be read"),
        "{body}"
    );

    // The refusals that were JSON before stay so: no token, a field device in the back office.
    assert_refusal(
        "no token",
        http.get(format!("{base}/v1/stats")).send().unwrap(),
        401,
        "unauthorized",
    );
    assert_refusal(
        "a field device in the back office",
        http.get(format!("{base}/v1/stats"))
            .bearer_auth(&field)
            .send()
            .unwrap(),
        403,
        "centre_only",
    );

    // And the server still serves.
    let resp = http
        .get(format!("{base}/v1/cases?open=true&limit=5"))
        .bearer_auth(&centre)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[test]
fn a_put_on_a_complete_photo_is_a_no_op_whatever_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, token) = server.enroll("field", DeviceRole::Field, everything());
    let http = Client::new();
    let bytes: Vec<u8> = (0..100u8).collect();
    let total = bytes.len();
    let sha = hex(&Sha256::digest(&bytes));
    let put = |query: String, body: Vec<u8>| {
        http.put(format!("{}/v1/photos/{sha}?{query}", server.base))
            .bearer_auth(&token)
            .body(body)
            .send()
            .unwrap()
    };

    // Before the photo is complete, a chunk past the declared total is refused.
    let beyond = || (format!("offset=98&total={total}"), vec![7u8; 5]);
    let (query, body) = beyond();
    assert_refusal(
        "a chunk past the total",
        put(query, body),
        400,
        "chunk_beyond_total",
    );

    // Upload it in two chunks.
    let resp = put(format!("offset=0&total={total}"), bytes[..60].to_vec());
    assert_eq!(resp.status().as_u16(), 200);
    let state: serde_json::Value = resp.json().unwrap();
    assert_eq!(
        (state["received"].as_u64(), state["complete"].as_bool()),
        (Some(60), Some(false))
    );
    let resp = put(format!("offset=60&total={total}"), bytes[60..].to_vec());
    assert_eq!(resp.status().as_u16(), 200);
    let done: serde_json::Value = resp.json().unwrap();
    assert_eq!(done["complete"], true, "{done}");

    // Now any PUT of it is a no-op 200 with the complete state: past the total, an offset
    // far beyond it, another total, a stale offset.
    for (query, body) in [
        beyond(),
        (format!("offset={}&total={total}", u64::MAX), vec![1]),
        ("offset=0&total=3".to_owned(), bytes.clone()),
        (format!("offset=10&total={total}"), bytes[10..20].to_vec()),
    ] {
        let resp = put(query.clone(), body);
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        let state: serde_json::Value = resp.json().unwrap();
        assert_eq!(state, done, "{query}");
        assert_eq!(state["received"].as_u64(), Some(total as u64));
    }
    let stored = http
        .get(format!("{}/v1/photos/{sha}", server.base))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    assert_eq!(
        stored.bytes().unwrap().to_vec(),
        bytes,
        "the photo is unchanged"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
