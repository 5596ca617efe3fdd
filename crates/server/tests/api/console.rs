//! The console's pages through the real router (no browser): sign-in with its
//! form token, the session's CSRF token on every form, the content security
//! policy, pages as HTML (errors too), and no other tenant's data on a page.

use axum::http::{Method, StatusCode, header};
use nigehban_app::model::Role;

use crate::harness::{Answer, Credentials, PASSWORD, Platform, call};

/// The session cookie header of a caller.
fn cookie(credentials: &Credentials) -> String {
    format!(
        "{}={}",
        nigehban_server::SECURE_SESSION_COOKIE,
        credentials.cookie
    )
}

async fn page(platform: &Platform, who: &Credentials, uri: &str) -> Answer {
    platform
        .send(
            call(Method::GET, uri)
                .header("cookie", &cookie(who))
                .empty(),
        )
        .await
}

async fn post_form(platform: &Platform, who: &Credentials, uri: &str, form: &str) -> Answer {
    platform
        .send(
            call(Method::POST, uri)
                .header("cookie", &cookie(who))
                .raw("application/x-www-form-urlencoded", form.to_owned()),
        )
        .await
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

#[tokio::test]
async fn pages_are_html_with_a_strict_policy_and_the_unsigned_are_sent_to_sign_in() {
    let platform = Platform::new().await;
    let answer = platform.send(call(Method::GET, "/console/").empty()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers[header::LOCATION], "/console/login");

    let login = platform
        .send(call(Method::GET, "/console/login").empty())
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(
        login.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = login.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert_eq!(policy, nigehban_server::console::CONTENT_SECURITY_POLICY);
    assert!(
        !policy.contains("unsafe-inline") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    // No inline script or style, no event handler attribute, nothing from elsewhere.
    for forbidden in [
        "<script>", "<style", "style=", "onclick", "onload", "http://", "https://",
    ] {
        assert!(
            !login.text.contains(forbidden),
            "{forbidden} in {}",
            login.text
        );
    }
    assert!(
        login
            .text
            .contains(r#"<script src="/console/assets/console.js" defer>"#),
        "{}",
        login.text
    );

    let missing = platform
        .send(call(Method::GET, "/console/no/such/page").empty())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.text.contains("<h1>Not found</h1>"),
        "{}",
        missing.text
    );

    let script = platform
        .send(call(Method::GET, "/console/assets/console.js").empty())
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text.contains("localTimes"), "{}", script.text);
}

#[tokio::test]
async fn signing_in_needs_the_forms_token_and_sets_a_strict_session_cookie() {
    let platform = Platform::new().await;
    let login = platform
        .send(call(Method::GET, "/console/login").empty())
        .await;
    let set = login.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    let token = set
        .strip_prefix("nigehban_login_csrf=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    assert!(
        login.text.contains(&format!(r#"value="{token}""#)),
        "{}",
        login.text
    );
    for flag in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(set.contains(flag), "{set}");
    }
    let form = |csrf: &str| {
        form_encode(&[
            ("csrf", csrf),
            ("username", "admin"),
            ("password", PASSWORD),
        ])
    };
    // Without the cookie the token was issued with (a forged cross-site form): refused.
    let forged = platform
        .send(
            call(Method::POST, "/console/login")
                .raw("application/x-www-form-urlencoded", form(&token)),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert!(forged.session_cookie().is_none());
    let wrong = platform
        .send(
            call(Method::POST, "/console/login")
                .header("cookie", &format!("nigehban_login_csrf={token}"))
                .raw("application/x-www-form-urlencoded", form("0000")),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let bad_password = platform
        .send(
            call(Method::POST, "/console/login")
                .header("cookie", &format!("nigehban_login_csrf={token}"))
                .raw(
                    "application/x-www-form-urlencoded",
                    form_encode(&[
                        ("csrf", &token),
                        ("username", "admin"),
                        ("password", "not the password"),
                    ]),
                ),
        )
        .await;
    assert_eq!(bad_password.status, StatusCode::UNAUTHORIZED);
    assert!(
        bad_password.text.contains("Wrong user name or password"),
        "{}",
        bad_password.text
    );
    let signed_in = platform
        .send(
            call(Method::POST, "/console/login")
                .header("cookie", &format!("nigehban_login_csrf={token}"))
                .raw("application/x-www-form-urlencoded", form(&token)),
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    assert_eq!(signed_in.headers[header::LOCATION], "/console/");
    let session = signed_in
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(nigehban_server::SECURE_SESSION_COOKIE))
        .unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_changes_nothing() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let forged = post_form(
        &platform,
        &admin,
        "/console/sensors",
        &form_encode(&[("name", "forged"), ("kind", "ids")]),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let wrong = post_form(
        &platform,
        &admin,
        "/console/sensors",
        &form_encode(&[
            ("csrf", "not-the-token"),
            ("name", "forged"),
            ("kind", "ids"),
        ]),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let list = page(&platform, &admin, "/console/sensors").await;
    assert!(!list.text.contains("forged"), "{}", list.text);

    let registered = post_form(
        &platform,
        &admin,
        "/console/sensors",
        &form_encode(&[
            ("csrf", &admin.csrf),
            ("name", "edge ids"),
            ("kind", "ids"),
            ("expected_interval_seconds", "300"),
        ]),
    )
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    assert!(registered.text.contains("ngs_"), "{}", registered.text);
    assert!(
        registered.text.contains("nigehban ingest --server"),
        "{}",
        registered.text
    );
    let list = page(&platform, &admin, "/console/sensors").await;
    assert!(list.text.contains("edge ids"), "{}", list.text);
    // The token is shown once: never on the list.
    assert!(!list.text.contains("ngs_"), "{}", list.text);

    let refused = post_form(
        &platform,
        &admin,
        "/console/sensors",
        &form_encode(&[("csrf", &admin.csrf), ("name", "edge ids"), ("kind", "ids")]),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);
}

#[tokio::test]
async fn an_organisation_sees_nothing_of_another_on_any_page() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    let second = platform.organisation(&sector, "Second Bank").await;
    let ours = platform.sensor(&first).await;
    let theirs = platform.sensor(&second).await;
    platform.user(&first, "first.analyst", Role::Analyst).await;
    let analyst = platform.sign_in("first.analyst").await;

    let other = page(
        &platform,
        &analyst,
        &format!("/console/sensors/{}", theirs.sensor.id),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
    assert!(other.text.contains("<h1>Not found</h1>"), "{}", other.text);
    assert!(
        !other.text.contains(theirs.sensor.name.as_str()),
        "{}",
        other.text
    );
    let own = page(
        &platform,
        &analyst,
        &format!("/console/sensors/{}", ours.sensor.id),
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);

    for uri in ["/console/", "/console/sensors", "/console/events?range=all"] {
        let answer = page(&platform, &analyst, uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text);
        for foreign in ["Second Bank", "Banking CERT", theirs.sensor.name.as_str()] {
            assert!(
                !answer.text.contains(foreign),
                "{uri} shows {foreign}: {}",
                answer.text
            );
        }
    }
    let list = page(&platform, &analyst, "/console/sensors").await;
    assert!(
        list.text.contains(ours.sensor.name.as_str()),
        "{}",
        list.text
    );
    // The organisation's dashboard charts itself only.
    let dashboard = page(&platform, &analyst, "/console/").await;
    assert!(dashboard.text.contains("First Bank"), "{}", dashboard.text);
}
