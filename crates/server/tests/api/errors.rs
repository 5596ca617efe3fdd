//! Malformed, oversized and hostile requests get proper JSON errors with stable codes.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{BODY_LIMIT, Platform, call};

/// An administrator's session on a fresh platform.
async fn admin() -> (Platform, crate::harness::Credentials) {
    let platform = Platform::new().await;
    let credentials = platform.sign_in("admin").await;
    (platform, credentials)
}

#[tokio::test]
async fn bad_json_is_400_malformed_json() {
    let (platform, admin) = admin().await;
    let valid = format!(
        "{{\"parent\": \"{}\", \"name\": \"Org\", \"kind\": \"organisation\"}}",
        platform.root.id
    );
    let trailing = format!("{valid} trailing");
    for body in [
        "{",
        "{\"parent\": }",
        "not json at all",
        "",
        "\u{0}",
        &trailing,
    ] {
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/tenants")
                    .session(&admin)
                    .raw("application/json", body.to_owned()),
            )
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "malformed_json");
    }
}

#[tokio::test]
async fn unknown_field_is_422_and_named() {
    let (platform, admin) = admin().await;
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&json!({"parent": platform.root.id, "name": "X", "kind": "organisation", "colour": "red"})),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field");
    assert!(
        answer.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn bad_values_are_422_with_the_field() {
    let (platform, admin) = admin().await;
    let root = platform.root.id.to_string();
    let cases = [
        (
            json!({"parent": root, "name": "", "kind": "organisation"}),
            "name",
        ),
        (
            json!({"parent": root, "name": "x".repeat(201), "kind": "organisation"}),
            "name",
        ),
        (
            json!({"parent": "not-a-uuid", "name": "X", "kind": "organisation"}),
            "parent",
        ),
        (
            json!({"parent": root, "name": "X", "kind": "galaxy"}),
            "kind",
        ),
        (
            json!({"parent": root, "name": "X", "kind": "sectoral"}),
            "sector",
        ),
        (
            json!({"parent": root, "name": "X", "kind": "sectoral", "sector": "fishing"}),
            "sector",
        ),
        (
            json!({"parent": root, "name": 7, "kind": "organisation"}),
            "name",
        ),
        (
            json!({"parent": root, "name": "X", "kind": "national"}),
            "kind",
        ),
    ];
    for (body, field) in cases {
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/tenants")
                    .session(&admin)
                    .json(&body),
            )
            .await;
        answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
        assert_eq!(
            answer.json["error"]["field"], field,
            "{body}: {}",
            answer.text
        );
    }
    // Missing required field.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&json!({"name": "X"})),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    // A short password for a new user.
    let answer = platform
        .send(call(Method::POST, "/api/v1/users").session(&admin).json(&json!({
            "tenant": root, "username": "someone", "display_name": "Some One", "role": "analyst", "password": "short"
        })))
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert_eq!(answer.json["error"]["field"], "password");
    // An unknown role.
    let answer = platform
        .send(call(Method::POST, "/api/v1/users").session(&admin).json(&json!({
            "tenant": root, "username": "someone", "display_name": "Some One", "role": "root"
        })))
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert_eq!(answer.json["error"]["field"], "role");
}

#[tokio::test]
async fn out_of_range_query_values_are_422() {
    let (platform, admin) = admin().await;
    for query in [
        "limit=0",
        "limit=1001",
        "limit=-5",
        "limit=abc",
        "under=nope",
        "cursor=garbage",
    ] {
        let answer = platform
            .send(
                call(Method::GET, &format!("/api/v1/tenants?{query}"))
                    .session(&admin)
                    .empty(),
            )
            .await;
        answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    let answer = platform
        .send(
            call(Method::GET, "/api/v1/audit?newest_first=maybe")
                .session(&admin)
                .empty(),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    let answer = platform
        .send(
            call(Method::GET, "/api/v1/tenants?colour=red")
                .session(&admin)
                .empty(),
        )
        .await;
    answer.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field");
}

#[tokio::test]
async fn oversized_body_is_413() {
    let (platform, admin) = admin().await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(BODY_LIMIT + 10));
    // With a Content-Length.
    let answer = platform
        .send(
            call(
                Method::PATCH,
                &format!("/api/v1/tenants/{}", platform.root.id),
            )
            .session(&admin)
            .raw("application/json", huge.clone()),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // Streamed, without a Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = huge
        .into_bytes()
        .chunks(4096)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();
    let body = Body::from_stream(futures_stream(chunks));
    let answer = platform
        .send(
            call(
                Method::PATCH,
                &format!("/api/v1/tenants/{}", platform.root.id),
            )
            .session(&admin)
            .raw("application/json", body),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // Before authentication too: a stranger cannot make the server read a huge body.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/auth/login")
                .raw("application/json", vec![b' '; BODY_LIMIT * 4]),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
}

/// A stream of byte chunks.
fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::iter(chunks)
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (platform, admin) = admin().await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/auth/login")
                    .session(&admin)
                    .raw(content_type, "{\"username\":\"admin\",\"password\":\"x\"}"),
            )
            .await;
        answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    let answer = platform
        .send(call(Method::POST, "/api/v1/auth/login").empty())
        .await;
    answer.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let (platform, admin) = admin().await;
    let answer = platform
        .send(call(Method::GET, "/api/v1/nothing-here").empty())
        .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    let answer = platform
        .send(call(Method::GET, "/../../etc/passwd").empty())
        .await;
    answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    let answer = platform
        .send(
            call(
                Method::DELETE,
                &format!("/api/v1/tenants/{}", platform.root.id),
            )
            .session(&admin)
            .empty(),
        )
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(
        answer.headers.contains_key("allow"),
        "405 keeps the Allow header"
    );
}

#[tokio::test]
async fn malformed_path_ids_are_400() {
    let (platform, admin) = admin().await;
    for path in [
        "/api/v1/tenants/not-a-uuid",
        "/api/v1/users/123",
        "/api/v1/tokens/%00/revoke",
    ] {
        let method = if path.ends_with("revoke") {
            Method::POST
        } else {
            Method::GET
        };
        let answer = platform
            .send(call(method, path).session(&admin).empty())
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test]
async fn another_tenants_record_is_404_like_a_missing_one() {
    let platform = Platform::new().await;
    let sector_a = platform
        .sector("CERT Telecom", nigehban_app::model::Sector::Telecom)
        .await;
    let sector_b = platform
        .sector("CERT Banking", nigehban_app::model::Sector::Banking)
        .await;
    platform
        .user(
            &sector_a,
            "a-admin",
            nigehban_app::model::Role::Administrator,
        )
        .await;
    let admin_a = platform.sign_in("a-admin").await;
    let other = platform
        .send(
            call(Method::GET, &format!("/api/v1/tenants/{}", sector_b.id))
                .session(&admin_a)
                .empty(),
        )
        .await;
    let missing_id = nigehban_app::model::TenantId::new();
    let missing = platform
        .send(
            call(Method::GET, &format!("/api/v1/tenants/{missing_id}"))
                .session(&admin_a)
                .empty(),
        )
        .await;
    other.assert_error(StatusCode::NOT_FOUND, "not_found");
    missing.assert_error(StatusCode::NOT_FOUND, "not_found");
    // The two answers differ only in the id they repeat back.
    assert_eq!(
        other.text.replace(&sector_b.id.to_string(), "<id>"),
        missing.text.replace(&missing_id.to_string(), "<id>")
    );
}

#[tokio::test]
async fn hostile_headers_are_refused_cleanly() {
    let platform = Platform::new().await;
    let cases: [(&str, &str); 5] = [
        ("authorization", "Bearer "),
        ("authorization", "Basic YWRtaW46YWRtaW4="),
        ("authorization", "Bearer ngb_forged"),
        ("authorization", "Bearer not-even-a-token"),
        ("cookie", "__Host-nigehban_session=forged"),
    ];
    for (name, value) in cases {
        let answer = platform
            .send(
                call(Method::GET, "/api/v1/tenants")
                    .header(name, value)
                    .empty(),
            )
            .await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(answer.headers.contains_key("www-authenticate"));
    }
    // Non-UTF-8 header bytes.
    let request = axum::http::Request::builder()
        .uri("/api/v1/tenants")
        .header(
            "authorization",
            axum::http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    platform
        .send(request)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn session_requests_that_change_something_need_the_csrf_token() {
    let (platform, admin) = admin().await;
    let cookie = format!(
        "{}={}",
        nigehban_server::SECURE_SESSION_COOKIE,
        admin.cookie
    );
    let body = json!({"parent": platform.root.id, "name": "Org", "kind": "organisation"});
    for csrf in [None, Some("wrong"), Some("")] {
        let mut request = call(Method::POST, "/api/v1/tenants").header("cookie", &cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        platform
            .send(request.json(&body))
            .await
            .assert_error(StatusCode::FORBIDDEN, "csrf_token_mismatch");
    }
    // Reading needs no CSRF token.
    let answer = platform
        .send(
            call(Method::GET, "/api/v1/tenants")
                .header("cookie", &cookie)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    // With it, the change goes through.
    let answer = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

#[tokio::test]
async fn conflicts_are_409() {
    let (platform, admin) = admin().await;
    let body = json!({"tenant": platform.root.id, "username": "twice", "display_name": "Twice", "role": "analyst"});
    let first = platform
        .send(
            call(Method::POST, "/api/v1/users")
                .session(&admin)
                .json(&body),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert!(
        first.json["one_time_password"]
            .as_str()
            .is_some_and(|p| p.len() >= 12)
    );
    let again = platform
        .send(
            call(Method::POST, "/api/v1/users")
                .session(&admin)
                .json(&body),
        )
        .await;
    again.assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn errors_do_not_leak_internals() {
    let (platform, admin) = admin().await;
    // Moving a tenant under itself is refused as a conflict, without SQL in the message.
    let sector = platform
        .sector("CERT Energy", nigehban_app::model::Sector::Energy)
        .await;
    let org = platform.organisation(&sector, "Grid").await;
    let answer = platform
        .send(
            call(Method::POST, &format!("/api/v1/tenants/{}/move", org.id))
                .session(&admin)
                .json(&json!({"parent": org.id})),
        )
        .await;
    assert!(answer.status.is_client_error(), "{}", answer.text);
    let lower = answer.text.to_lowercase();
    for leak in [
        "sqlite",
        "select ",
        "insert ",
        "postgres",
        "panicked",
        "backtrace",
    ] {
        assert!(
            !lower.contains(leak),
            "error leaks {leak:?}: {}",
            answer.text
        );
    }
}

#[tokio::test]
async fn one_time_password_must_be_changed_first() {
    let (platform, admin) = admin().await;
    let created = platform
        .send(call(Method::POST, "/api/v1/users").session(&admin).json(&json!({
            "tenant": platform.root.id, "username": "newbie", "display_name": "New Bie", "role": "analyst"
        })))
        .await;
    let one_time = created.json["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let login = platform
        .send(
            call(Method::POST, "/api/v1/auth/login")
                .json(&json!({"username": "newbie", "password": one_time})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.json["must_change_password"], true);
    let credentials = crate::harness::Credentials {
        cookie: login.session_cookie().unwrap(),
        csrf: login.json["csrf_token"].as_str().unwrap().to_owned(),
        token: String::new(),
    };
    platform
        .send(
            call(Method::GET, "/api/v1/tenants")
                .session(&credentials)
                .empty(),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "password_change_required");
    let changed = platform
        .send(
            call(Method::POST, "/api/v1/auth/password")
                .session(&credentials)
                .json(&json!({
                    "current_password": one_time, "new_password": "my own long passphrase"
                })),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text);
    let answer = platform
        .send(
            call(Method::GET, "/api/v1/tenants")
                .session(&credentials)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn many_hostile_requests_never_get_a_500() {
    let (platform, admin) = admin().await;
    let bodies = [
        "[]",
        "null",
        "123",
        "\"str\"",
        "{\"parent\": null}",
        "{\"name\": {\"deep\": [1,2,3]}}",
        &"[".repeat(10_000),
        &format!("{{\"name\": \"{}\"}}", "\\u0000".repeat(100)),
        "{\"name\": \"\u{202e}evil\"}",
        "{\"parent\": \"00000000-0000-0000-0000-000000000000\", \"name\": \"X\", \"kind\": \"organisation\"}",
    ];
    let paths = [
        (Method::POST, "/api/v1/tenants".to_owned()),
        (
            Method::PATCH,
            format!("/api/v1/tenants/{}", platform.root.id),
        ),
        (Method::POST, "/api/v1/users".to_owned()),
        (Method::POST, "/api/v1/tokens".to_owned()),
        (Method::POST, "/api/v1/auth/login".to_owned()),
        (Method::POST, "/api/v1/auth/password".to_owned()),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let answer = platform
                .send(
                    call(method.clone(), path)
                        .session(&admin)
                        .raw("application/json", body.to_owned()),
                )
                .await;
            assert!(
                answer.status.is_client_error() || answer.status.is_success(),
                "{method} {path} with {}: {} {}",
                body.chars().take(40).collect::<String>(),
                answer.status,
                answer.text
            );
            assert!(
                answer.json["error"].is_object() || answer.status.is_success(),
                "{}",
                answer.text
            );
        }
    }
}
