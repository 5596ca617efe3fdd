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

/// A console page requested by a signed-in caller.
pub(crate) async fn page(platform: &Platform, who: &Credentials, uri: &str) -> Answer {
    platform
        .send(
            call(Method::GET, uri)
                .header("cookie", &cookie(who))
                .empty(),
        )
        .await
}

/// A console form posted by a signed-in caller.
pub(crate) async fn post_form(
    platform: &Platform,
    who: &Credentials,
    uri: &str,
    form: &str,
) -> Answer {
    platform
        .send(
            call(Method::POST, uri)
                .header("cookie", &cookie(who))
                .raw("application/x-www-form-urlencoded", form.to_owned()),
        )
        .await
}

/// `pairs` as a URL-encoded form body.
pub(crate) fn form_encode(pairs: &[(&str, &str)]) -> String {
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

/// The id in the first `/console/tokens/{id}/revoke` form after `name` on a page.
fn revoke_path_after(page: &str, name: &str) -> String {
    let start = page
        .find(name)
        .unwrap_or_else(|| panic!("{name} not in {page}"));
    let rest = &page[start..];
    let at = rest.find("/console/tokens/").unwrap();
    let end = rest[at..].find("/revoke").unwrap();
    rest[at..at + end + "/revoke".len()].to_owned()
}

#[tokio::test]
async fn my_tokens_are_only_mine_created_once_shown_and_revoked() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let bank = platform.organisation(&sector, "First Bank").await;
    platform.user(&bank, "first.analyst", Role::Analyst).await;
    platform.user(&bank, "first.colleague", Role::Analyst).await;
    let analyst = platform.sign_in("first.analyst").await;
    let colleague = platform.sign_in("first.colleague").await;
    let theirs = platform
        .send(
            call(Method::POST, "/api/v1/tokens")
                .session(&colleague)
                .json(&serde_json::json!({"name": "colleague pipeline"})),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.text);
    let their_id = theirs.json["token"]["id"].as_str().unwrap().to_owned();

    let list = page(&platform, &analyst, "/console/tokens").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    // The harness's own token of this analyst ("test"), never the colleague's.
    assert!(list.text.contains("<td>test</td>"), "{}", list.text);
    assert!(!list.text.contains("colleague pipeline"), "{}", list.text);

    // A form without the session's token creates nothing.
    let forged = post_form(
        &platform,
        &analyst,
        "/console/tokens",
        &form_encode(&[("name", "forged"), ("lifetime_days", "30")]),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    let created = post_form(
        &platform,
        &analyst,
        "/console/tokens",
        &form_encode(&[
            ("csrf", &analyst.csrf),
            ("name", "ci pipeline"),
            ("lifetime_days", "30"),
        ]),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret_start = created.text.find("ngb_").expect("the secret is shown");
    let secret: String = created.text[secret_start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let works = platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .bearer(&secret)
                .empty(),
        )
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);
    assert_eq!(
        works.json["user"]["username"], "first.analyst",
        "{}",
        works.text
    );

    let list = page(&platform, &analyst, "/console/tokens").await;
    assert!(list.text.contains("ci pipeline"), "{}", list.text);
    assert!(
        !list.text.contains("ngb_"),
        "the secret is shown once: {}",
        list.text
    );
    forgotten_name_refused(&platform, &analyst).await;

    // Revoking: the colleague's token by id is refused (as the API refuses it) and keeps working; one's own stops.
    let other = post_form(
        &platform,
        &analyst,
        &format!("/console/tokens/{their_id}/revoke"),
        &form_encode(&[("csrf", &analyst.csrf)]),
    )
    .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.text);
    assert!(
        other.text.contains("<h1>Not allowed</h1>"),
        "{}",
        other.text
    );
    let still = platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .bearer(theirs.json["secret"].as_str().unwrap())
                .empty(),
        )
        .await;
    assert_eq!(still.status, StatusCode::OK);
    let revoke = revoke_path_after(&list.text, "ci pipeline");
    let unforged = post_form(&platform, &analyst, &revoke, "").await;
    assert_eq!(unforged.status, StatusCode::FORBIDDEN);
    let revoked = post_form(
        &platform,
        &analyst,
        &revoke,
        &form_encode(&[("csrf", &analyst.csrf)]),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    let stopped = platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .bearer(&secret)
                .empty(),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::UNAUTHORIZED, "{}", stopped.text);
    let list = page(&platform, &analyst, "/console/tokens").await;
    let row = &list.text[list.text.find("ci pipeline").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Revoked"), "{row}");
}

/// A token without a name is refused with the reason, and nothing is created.
async fn forgotten_name_refused(platform: &Platform, who: &Credentials) {
    let refused = post_form(
        platform,
        who,
        "/console/tokens",
        &form_encode(&[("csrf", &who.csrf), ("name", "  "), ("lifetime_days", "30")]),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    assert!(refused.text.contains("role=\"alert\""), "{}", refused.text);
    assert!(!refused.text.contains("ngb_"), "{}", refused.text);
}

#[tokio::test]
async fn administration_pages_show_the_viewers_subtree_only() {
    let platform = Platform::new().await;
    let banking = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let telecom = platform
        .sector("Telecom CERT", nigehban_app::model::Sector::Telecom)
        .await;
    let first = platform.organisation(&banking, "First Bank").await;
    platform.organisation(&banking, "Second Bank").await;
    let telco = platform.organisation(&telecom, "Third Telco").await;
    platform
        .user(&banking, "bank.admin", Role::Administrator)
        .await;
    platform.user(&first, "first.analyst", Role::Analyst).await;
    platform.user(&telco, "telco.analyst", Role::Analyst).await;
    let national = platform.sign_in("admin").await;
    let bank_admin = platform.sign_in("bank.admin").await;
    platform.sign_in("first.analyst").await;
    platform.sign_in("telco.analyst").await;
    let root_name = platform.root.name.as_str().to_owned();

    let foreign = [
        "Telecom CERT",
        "Third Telco",
        "telco.analyst",
        root_name.as_str(),
    ];
    let tree = page(&platform, &bank_admin, "/console/admin").await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.text);
    for name in ["Banking CERT", "First Bank", "Second Bank"] {
        assert!(tree.text.contains(name), "{name}: {}", tree.text);
    }
    // The banks sit below their sector in the tree.
    let sector_at = tree.text.find("Banking CERT").unwrap();
    let nested = &tree.text[sector_at..];
    assert!(
        nested.find("<ul>").unwrap() < nested.find("First Bank").unwrap(),
        "{}",
        tree.text
    );

    let users = page(&platform, &bank_admin, "/console/admin/users").await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    for name in ["bank.admin", "first.analyst", "administrator", "analyst"] {
        assert!(users.text.contains(name), "{name}: {}", users.text);
    }
    let tokens = page(&platform, &bank_admin, "/console/admin/tokens").await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert!(tokens.text.contains("First Bank"), "{}", tokens.text);
    let audit = page(&platform, &bank_admin, "/console/admin/audit").await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    assert!(audit.text.contains("user.create"), "{}", audit.text);
    for (uri, answer) in [
        ("tree", &tree),
        ("users", &users),
        ("tokens", &tokens),
        ("audit", &audit),
    ] {
        for name in foreign {
            assert!(
                !answer.text.contains(name),
                "{uri} shows {name}: {}",
                answer.text
            );
        }
        // Every row belongs to a tenant the viewer sees by name.
        assert!(
            !answer.text.contains("Another CERT"),
            "{uri}: {}",
            answer.text
        );
    }

    // Only the national CERT verifies the whole chain; a sector is told so.
    let sector_verify = page(&platform, &bank_admin, "/console/admin/audit?verify=1").await;
    assert_eq!(
        sector_verify.status,
        StatusCode::OK,
        "{}",
        sector_verify.text
    );
    assert!(
        sector_verify
            .text
            .contains("national CERT's administrators and auditors verify it"),
        "{}",
        sector_verify.text
    );
    let verified = page(&platform, &national, "/console/admin/audit?verify=1").await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert!(verified.text.contains("Intact:"), "{}", verified.text);
    let national_tree = page(&platform, &national, "/console/admin").await;
    for name in ["Banking CERT", "Telecom CERT", "Third Telco", "First Bank"] {
        assert!(
            national_tree.text.contains(name),
            "{name}: {}",
            national_tree.text
        );
    }

    // An analyst of one bank: its own tenant only in the tree; the other
    // administration pages are not its role's.
    let analyst = platform.sign_in("first.analyst").await;
    let own = page(&platform, &analyst, "/console/admin").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    assert!(own.text.contains("First Bank"), "{}", own.text);
    for name in ["Second Bank", "Banking CERT", "Telecom CERT"] {
        assert!(!own.text.contains(name), "{name}: {}", own.text);
    }
    for uri in ["/console/admin/tokens", "/console/admin/audit"] {
        let refused = page(&platform, &analyst, uri).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{uri}: {}",
            refused.text
        );
        assert!(
            !refused.text.contains("Second Bank"),
            "{uri}: {}",
            refused.text
        );
    }
}

/// The readable id in a `Location` of `/console/incidents/{id}`.
fn incident_location(answer: &Answer) -> String {
    let location = answer.headers[header::LOCATION].to_str().unwrap();
    location
        .strip_prefix("/console/incidents/")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned()
}

#[tokio::test]
async fn an_alert_opens_an_incident_that_is_escalated_and_another_banks_stay_not_found() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    let second = platform.organisation(&sector, "Second Bank").await;
    platform.user(&first, "first.analyst", Role::Analyst).await;
    let analyst = platform.sign_in("first.analyst").await;
    let ours = crate::alerts::raise_in(&platform, first.id).await;
    let theirs = crate::alerts::raise_in(&platform, second.id).await;

    let queue = page(&platform, &analyst, "/console/alerts").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text);
    assert!(queue.text.contains(&ours.to_string()), "{}", queue.text);
    assert!(!queue.text.contains(&theirs.to_string()), "{}", queue.text);
    let other = page(&platform, &analyst, &format!("/console/alerts/{theirs}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
    let forged = post_form(
        &platform,
        &analyst,
        &format!("/console/alerts/{theirs}/incident"),
        &form_encode(&[
            ("csrf", &analyst.csrf),
            ("title", "not ours"),
            ("classification", "other/undetermined"),
            ("severity", "low"),
            ("tlp", "amber"),
        ]),
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.text);

    let alert = page(&platform, &analyst, &format!("/console/alerts/{ours}")).await;
    assert!(
        alert.text.contains(r#"id="open-incident""#),
        "{}",
        alert.text
    );
    let form = |title: &str, classification: &str| {
        form_encode(&[
            ("csrf", &analyst.csrf),
            ("title", title),
            ("classification", classification),
            ("severity", "high"),
            ("tlp", "amber"),
        ])
    };
    let wrong = post_form(
        &platform,
        &analyst,
        &format!("/console/alerts/{ours}/incident"),
        &form("Brute force", "no/such"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.text);
    assert!(wrong.text.contains("role=\"alert\""), "{}", wrong.text);
    let opened = post_form(
        &platform,
        &analyst,
        &format!("/console/alerts/{ours}/incident"),
        &form(
            "Brute force at First Bank",
            "intrusion-attempts/brute-force",
        ),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text);
    let readable = incident_location(&opened);
    let incident = page(
        &platform,
        &analyst,
        &format!("/console/incidents/{readable}"),
    )
    .await;
    assert_eq!(incident.status, StatusCode::OK, "{}", incident.text);
    assert!(
        incident.text.contains("Brute force at First Bank"),
        "{}",
        incident.text
    );
    assert!(incident.text.contains("TLP:AMBER"), "{}", incident.text);
    // The alert now names its incident instead of offering another.
    let alert = page(&platform, &analyst, &format!("/console/alerts/{ours}")).await;
    assert!(
        alert.text.contains(r#"id="linked-incident""#),
        "{}",
        alert.text
    );
    assert!(
        !alert.text.contains(r#"id="open-incident""#),
        "{}",
        alert.text
    );
    let api = platform
        .send(
            call(Method::GET, &format!("/api/v1/alerts/{ours}"))
                .session(&analyst)
                .empty(),
        )
        .await;
    assert!(!api.json["alert"]["incident"].is_null(), "{}", api.text);

    // Escalated to the CERT above: no longer the bank's to escalate again.
    let escalated = post_form(
        &platform,
        &analyst,
        &format!("/console/incidents/{readable}/escalate"),
        &form_encode(&[("csrf", &analyst.csrf), ("note", "sector-wide")]),
    )
    .await;
    assert_eq!(
        escalated.status,
        StatusCode::SEE_OTHER,
        "{}",
        escalated.text
    );
    let after = page(
        &platform,
        &analyst,
        &format!("/console/incidents/{readable}"),
    )
    .await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    assert!(!after.text.contains(r#"id="escalate""#), "{}", after.text);
    let owner_at = after.text.find(r#"id="incident-owner""#).unwrap();
    assert!(
        !after.text[owner_at..owner_at + 80].contains("First Bank"),
        "{}",
        after.text
    );
}

#[tokio::test]
async fn rules_show_their_state_and_only_an_administrator_changes_it_for_the_tenant() {
    let platform = Platform::with_live_detection().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    platform
        .user(&sector, "bank.admin", Role::Administrator)
        .await;
    platform.user(&sector, "bank.analyst", Role::Analyst).await;
    let admin = platform.sign_in("bank.admin").await;
    let analyst = platform.sign_in("bank.analyst").await;

    // The built-in rules are stored when live detection starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let list = loop {
        let list = page(&platform, &admin, "/console/rules?q=SSH").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text);
        if list.text.contains("Failed SSH Logon") {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "{}", list.text);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let row_of = |text: &str| {
        let at = text.find("Failed SSH Logon").unwrap();
        let row = &text[at..];
        row[..row.find("</tr>").unwrap()].to_owned()
    };
    let row = row_of(&list.text);
    assert!(row.contains("Runs"), "{row}");
    let action_at = row.find("/console/rules/").unwrap();
    let action = &row[action_at..action_at + row[action_at..].find('"').unwrap()];

    // An analyst sees the state but has no form, and a forged one is refused.
    let seen = page(&platform, &analyst, "/console/rules?q=SSH").await;
    assert!(row_of(&seen.text).contains("Runs"), "{}", seen.text);
    assert!(!seen.text.contains("/state"), "{}", seen.text);
    let refused = post_form(
        &platform,
        &analyst,
        action,
        &form_encode(&[("csrf", &analyst.csrf), ("state", "off")]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);

    let off = post_form(
        &platform,
        &admin,
        action,
        &form_encode(&[("csrf", &admin.csrf), ("state", "off")]),
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.text);
    let row = row_of(&page(&platform, &admin, "/console/rules?q=SSH").await.text);
    assert!(row.contains("Off") && row.contains("Banking CERT"), "{row}");
    assert!(row.contains(r#"value="inherit""#), "{row}");
    let back = post_form(
        &platform,
        &admin,
        action,
        &form_encode(&[("csrf", &admin.csrf), ("state", "inherit")]),
    )
    .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
    let row = row_of(&page(&platform, &admin, "/console/rules?q=SSH").await.text);
    assert!(
        row.contains("Runs") && !row.contains(r#"value="inherit""#),
        "{row}"
    );
}

/// A schedule of `tenant` whose one person, `person`, is on call around the clock.
pub(crate) async fn round_the_clock(
    platform: &Platform,
    tenant: &nigehban_app::model::Tenant,
    person: &str,
) {
    use nigehban_app::model::duty::jiff::civil::date;
    use nigehban_app::model::duty::{Layer, Rotation, Schedule, ShiftPattern};
    let roster = Schedule::new(vec![Layer {
        name: "primary".into(),
        priority: 0,
        rotation: Rotation {
            participants: vec![person.to_owned()],
            start: date(2020, 1, 1),
            pattern: ShiftPattern::Daily {
                handoffs: vec!["08:00".parse().unwrap(), "20:00".parse().unwrap()],
            },
        },
    }]);
    platform
        .app
        .duty()
        .create_schedule(
            &platform.operator,
            tenant.id,
            &format!("{person} schedule"),
            nigehban_app::ScheduleDocument {
                team: "soc".into(),
                roster,
                calendars: Vec::new(),
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_duty_page_shows_who_is_on_call_in_the_viewers_subtree_only() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    let second = platform.organisation(&sector, "Second Bank").await;
    round_the_clock(&platform, &first, "first.duty").await;
    round_the_clock(&platform, &second, "second.duty").await;
    platform.user(&first, "first.analyst", Role::Analyst).await;
    let analyst = platform.sign_in("first.analyst").await;

    let duty = page(&platform, &analyst, "/console/duty").await;
    assert_eq!(duty.status, StatusCode::OK, "{}", duty.text);
    // On call now, the next seven days (two shifts a day) and no gap.
    assert!(duty.text.contains("first.duty schedule"), "{}", duty.text);
    assert!(
        duty.text.matches("<td>first.duty</td>").count() >= 14,
        "{}",
        duty.text
    );
    assert!(
        duty.text.contains("Someone is on call at every moment."),
        "{}",
        duty.text
    );
    assert!(!duty.text.contains("Nobody is on call"), "{}", duty.text);
    for foreign in ["second.duty", "Second Bank"] {
        assert!(
            !duty.text.contains(foreign),
            "shows {foreign}: {}",
            duty.text
        );
    }
    let dashboard = page(&platform, &analyst, "/console/").await;
    assert!(
        dashboard.text.contains("<strong>first.duty</strong>"),
        "{}",
        dashboard.text
    );
    assert!(
        !dashboard.text.contains("second.duty"),
        "{}",
        dashboard.text
    );

    // The sector's duty officer sees both organisations' schedules.
    platform
        .user(&sector, "sector.officer", Role::DutyOfficer)
        .await;
    let officer = platform.sign_in("sector.officer").await;
    let both = page(&platform, &officer, "/console/duty").await;
    assert_eq!(both.status, StatusCode::OK, "{}", both.text);
    for name in [
        "first.duty schedule",
        "second.duty schedule",
        "First Bank",
        "Second Bank",
    ] {
        assert!(both.text.contains(name), "no {name}: {}", both.text);
    }
}

/// Where a console answer sends the browser.
fn location(answer: &Answer) -> String {
    answer.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn bulk_actions_change_the_ticked_alerts_of_the_viewers_subtree_only() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    let second = platform.organisation(&sector, "Second Bank").await;
    platform.user(&first, "first.analyst", Role::Analyst).await;
    let analyst = platform.sign_in("first.analyst").await;
    let one = crate::alerts::raise_in(&platform, first.id).await;
    let two = crate::alerts::raise_in(&platform, first.id).await;
    let untouched = crate::alerts::raise_in(&platform, first.id).await;
    let theirs = crate::alerts::raise_in(&platform, second.id).await;

    // The queue offers a tick box per alert, the bulk actions and the keyboard help.
    let queue = page(&platform, &analyst, "/console/alerts").await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.text);
    for id in [one, two, untouched] {
        assert!(
            queue
                .text
                .contains(&format!(r#"name="alert" value="{id}""#)),
            "{}",
            queue.text
        );
    }
    assert!(queue.text.contains(r#"action="/console/alerts/bulk""#));
    assert!(
        queue.text.contains("j / k next / previous"),
        "{}",
        queue.text
    );

    // Acknowledge two of ours and, forged, the other bank's: two changed, one failed.
    let acknowledged = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &format!(
            "{}&alert={one}&alert={two}&alert={theirs}&alert=not-an-id",
            form_encode(&[("csrf", &analyst.csrf), ("action", "acknowledge")])
        ),
    )
    .await;
    assert_eq!(
        acknowledged.status,
        StatusCode::SEE_OTHER,
        "{}",
        acknowledged.text
    );
    assert_eq!(location(&acknowledged), "/console/alerts?done=2&failed=2");
    let shown = page(&platform, &analyst, &location(&acknowledged)).await;
    assert!(shown.text.contains("Alerts changed: 2."), "{}", shown.text);
    // Read back through the API by the sector's analyst, who sees both banks.
    platform
        .user(&sector, "sector.analyst", Role::Analyst)
        .await;
    let sector_analyst = platform.sign_in("sector.analyst").await;
    let read = |id| {
        let platform = &platform;
        let token = sector_analyst.token.clone();
        async move {
            let answer = platform
                .send(
                    call(Method::GET, &format!("/api/v1/alerts/{id}"))
                        .bearer(&token)
                        .empty(),
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            answer.json["alert"].clone()
        }
    };
    let status = |id| {
        let read = &read;
        async move {
            let alert = read(id).await;
            alert["status"]
                .as_str()
                .unwrap_or_else(|| panic!("no status: {alert}"))
                .to_owned()
        }
    };
    assert_eq!(status(one).await, "acknowledged");
    assert_eq!(status(two).await, "acknowledged");
    assert_eq!(status(untouched).await, "new");
    assert_eq!(status(theirs).await, "new");

    // Close one as a false positive; assign another to me.
    let closed = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &format!(
            "{}&alert={one}",
            form_encode(&[("csrf", &analyst.csrf), ("action", "close:false_positive")])
        ),
    )
    .await;
    assert_eq!(location(&closed), "/console/alerts?done=1&failed=0");
    assert_eq!(status(one).await, "closed");
    let assigned = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &format!(
            "{}&alert={untouched}",
            form_encode(&[("csrf", &analyst.csrf), ("action", "assign_to_me")])
        ),
    )
    .await;
    assert_eq!(location(&assigned), "/console/alerts?done=1&failed=0");
    let alert = read(untouched).await;
    assert!(alert["assignee"].is_string(), "{alert}");

    // Nothing ticked, an unknown action, or no CSRF token: nothing changes.
    let none = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &form_encode(&[("csrf", &analyst.csrf), ("action", "acknowledge")]),
    )
    .await;
    assert_eq!(location(&none), "/console/alerts?problem=none_ticked");
    let unknown = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &format!(
            "{}&alert={theirs}",
            form_encode(&[("csrf", &analyst.csrf), ("action", "delete")])
        ),
    )
    .await;
    assert_eq!(location(&unknown), "/console/alerts?problem=action");
    let forged = post_form(
        &platform,
        &analyst,
        "/console/alerts/bulk",
        &format!("action=acknowledge&alert={untouched}"),
    )
    .await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER, "{}", forged.text);
    assert_eq!(status(theirs).await, "new");
}

/// The values of one chart of a page by series: the sum of its bars' `<title>hour: series, n</title>`.
fn chart_totals(page: &str, id: &str) -> std::collections::BTreeMap<String, u64> {
    let mut totals = std::collections::BTreeMap::new();
    for ((_, series), value) in chart_cells(page, id) {
        *totals.entry(series).or_insert(0) += value;
    }
    totals
}

/// The cells of a chart: (bar, series) → value, from each bar's `<title>`.
fn chart_cells(page: &str, id: &str) -> std::collections::BTreeMap<(String, String), u64> {
    let start = page
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no chart {id}: {page}"));
    let chart = &page[start..start + page[start..].find("</svg>").unwrap()];
    let mut cells = std::collections::BTreeMap::new();
    for title in chart.split("<title>").skip(1) {
        let text = &title[..title.find("</title>").unwrap()];
        let (bar, rest) = text.split_once(": ").unwrap();
        let (series, value) = rest.rsplit_once(", ").unwrap();
        *cells
            .entry((bar.to_owned(), series.to_owned()))
            .or_insert(0) += value.parse::<u64>().unwrap();
    }
    cells
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_events_per_hour_for_each_tenant_below_the_viewer() {
    use nigehban_app::model::Sector;
    use time::format_description::well_known::Rfc3339;
    let platform = Platform::new().await;
    let telecom = platform.sector("Telecom CERT", Sector::Telecom).await;
    let banking = platform.sector("Banking CERT", Sector::Banking).await;
    let now = time::OffsetDateTime::now_utc();
    let half_an_hour_ago = now - time::Duration::minutes(30);
    let five_hours_ago = now - time::Duration::hours(5);
    // Three telecom events half an hour ago; two banking events five hours
    // ago and one thirty hours ago (before the day the chart shows).
    let batches = [
        (&telecom, vec![half_an_hour_ago; 3]),
        (
            &banking,
            vec![
                five_hours_ago,
                five_hours_ago,
                now - time::Duration::hours(30),
            ],
        ),
    ];
    for (tenant, times) in &batches {
        let sensor = platform.sensor(tenant).await;
        let mut body = String::new();
        for (n, at) in times.iter().enumerate() {
            let line = format!(
                "<38>1 {} gw{n} sshd 42 - - Failed password for root from 10.1.2.{n} port 22 ssh2",
                at.format(&Rfc3339).unwrap()
            );
            body.push_str(&serde_json::to_string(&line).unwrap());
            body.push('\n');
        }
        let answer = platform
            .send(
                call(Method::POST, "/api/v1/ingest")
                    .bearer(sensor.secret.expose())
                    .raw("application/x-ndjson", body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    }
    let admin = platform.sign_in("admin").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let answer = platform
            .send(
                call(Method::GET, "/api/v1/events?limit=100")
                    .bearer(&admin.token)
                    .empty(),
            )
            .await;
        if answer.json["items"].as_array().map_or(0, Vec::len) >= 6 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed: {}",
            answer.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let dashboard = page(&platform, &admin, "/console/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.text);
    let bar = |at: time::OffsetDateTime| format!("{:02}:00Z", at.hour());
    let expected: std::collections::BTreeMap<(String, String), u64> = [
        ((bar(half_an_hour_ago), "Telecom CERT".to_owned()), 3),
        ((bar(five_hours_ago), "Banking CERT".to_owned()), 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(chart_cells(&dashboard.text, "events-per-hour"), expected);
}

#[tokio::test]
async fn the_dashboard_counts_the_alerts_and_open_incidents_of_the_viewers_subtree() {
    use nigehban_app::model::{AlertId, AlertRule, AlertSignal, Sector, Severity, Timestamp};
    let platform = Platform::new().await;
    let banking = platform.sector("Banking CERT", Sector::Banking).await;
    let telecom = platform.sector("Telecom CERT", Sector::Telecom).await;
    let first = platform.organisation(&banking, "First Bank").await;
    let second = platform.organisation(&banking, "Second Bank").await;
    let telco = platform.organisation(&telecom, "Telco One").await;
    let raise = |tenant, severity| {
        let platform = &platform;
        async move {
            let unique = AlertId::new().to_string();
            let rule = AlertRule::new(format!("rule-{unique}"), "Dashboard probe", severity);
            let signal = AlertSignal::new(tenant, rule, &unique, Timestamp::now());
            let outcome = platform.app.alerts().raise(vec![signal]).await.unwrap();
            assert_eq!(outcome.opened, 1, "{outcome:?}");
        }
    };
    raise(first.id, Severity::Critical).await;
    raise(first.id, Severity::High).await;
    raise(second.id, Severity::High).await;
    raise(telco.id, Severity::Critical).await;

    platform
        .user(&banking, "sector.analyst", Role::Analyst)
        .await;
    let analyst = platform.sign_in("sector.analyst").await;
    // A critical incident of First Bank noticed five days ago: its first reporting stage lapsed.
    let five_days_ago =
        Timestamp::from_unix_micros(Timestamp::now().unix_micros() - 5 * 24 * 3_600 * 1_000_000);
    let opened = platform
        .send(
            call(Method::POST, "/api/v1/incidents")
                .bearer(&analyst.token)
                .json(&serde_json::json!({
                    "owner": first.id,
                    "title": "Card data taken at First Bank",
                    "classification": {"class": "information-content-security", "type": "unauthorised-information-access"},
                    "severity": "critical",
                    "aware_at": five_days_ago,
                })),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let readable = opened.json["readable_id"].as_str().unwrap().to_owned();
    let first_stage = opened.json["regulatory"]["stages"][0]["name"]
        .as_str()
        .unwrap_or_else(|| panic!("no regulatory clocks: {}", opened.text))
        .to_owned();

    let dashboard = page(&platform, &analyst, "/console/").await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.text);
    let text = &dashboard.text;
    let by_severity = chart_totals(text, "alerts-by-severity");
    assert_eq!(by_severity.get("critical"), Some(&1), "{by_severity:?}");
    assert_eq!(by_severity.get("high"), Some(&2), "{by_severity:?}");
    let by_tenant = chart_totals(text, "alerts-by-tenant");
    assert_eq!(
        by_tenant,
        [("First Bank".to_owned(), 2), ("Second Bank".to_owned(), 1)]
            .into_iter()
            .collect(),
    );
    let incidents = &text[text
        .find(r#"id="open-incidents""#)
        .unwrap_or_else(|| panic!("{text}"))..];
    let row = &incidents[incidents.find("First Bank").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    // Columns: critical, high, medium, low, total.
    assert!(
        row.contains("<td>1</td><td>0</td><td>0</td><td>0</td><td>1</td>"),
        "{row}"
    );
    let overdue = &text[text
        .find(r#"id="overdue-deadlines""#)
        .unwrap_or_else(|| panic!("{text}"))..];
    assert!(overdue.contains(&readable), "{overdue}");
    assert!(overdue.contains(&first_stage), "{overdue}");
    assert!(!text.contains("Telco One"), "{text}");

    // The other sector sees its own alert and none of these incidents.
    platform
        .user(&telecom, "telecom.analyst", Role::Analyst)
        .await;
    let other = platform.sign_in("telecom.analyst").await;
    let theirs = page(&platform, &other, "/console/").await;
    assert_eq!(
        chart_totals(&theirs.text, "alerts-by-tenant"),
        [("Telco One".to_owned(), 1)].into_iter().collect(),
    );
    assert!(
        theirs.text.contains(r#"id="open-incidents-none""#),
        "{}",
        theirs.text
    );
    assert!(
        theirs.text.contains(r#"id="overdue-none""#),
        "{}",
        theirs.text
    );
    for foreign in ["First Bank", "Second Bank", &readable] {
        assert!(!theirs.text.contains(foreign), "{foreign}: {}", theirs.text);
    }
}

#[tokio::test]
async fn a_constituent_reports_an_incident_and_its_cert_tasks_the_bank_from_the_console() {
    use nigehban_app::model::Sector;
    let platform = Platform::new().await;
    let banking = platform.sector("Banking CERT", Sector::Banking).await;
    let first = platform.organisation(&banking, "First Bank").await;
    let second = platform.organisation(&banking, "Second Bank").await;
    let telecom = platform.sector("Telecom CERT", Sector::Telecom).await;
    platform
        .user(&first, "first.reporter", Role::ConstituentReporter)
        .await;
    platform
        .user(&second, "second.reporter", Role::ConstituentReporter)
        .await;
    platform
        .user(&banking, "sector.analyst", Role::Analyst)
        .await;
    let reporter = platform.sign_in("first.reporter").await;
    let sibling = platform.sign_in("second.reporter").await;
    let analyst = platform.sign_in("sector.analyst").await;

    // The form, in the navigation, with the time noticed filled in.
    let form = page(&platform, &reporter, "/console/report").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.text);
    assert!(form.text.contains(r#"id="report-form""#), "{}", form.text);
    assert!(
        form.text
            .contains(r#"<a href="/console/report" aria-current="page">"#),
        "{}",
        form.text
    );
    let report = |title: &'static str, noticed_at: &'static str| {
        let (platform, reporter) = (&platform, &reporter);
        async move {
            post_form(
                platform,
                reporter,
                "/console/report",
                &form_encode(&[
                    ("csrf", &reporter.csrf),
                    ("title", title),
                    ("description", "Our web server answers with a ransom note."),
                    ("noticed_at", noticed_at),
                    ("affected_systems", "www01\n\n  db02  "),
                    ("tlp", "amber+strict"),
                ]),
            )
            .await
        }
    };
    // A time that is not one: the form comes back with what was typed and the problem.
    let wrong = report("Ransom note on our website", "last night").await;
    assert_eq!(wrong.status, StatusCode::OK, "{}", wrong.text);
    assert!(wrong.text.contains(r#"role="alert""#), "{}", wrong.text);
    assert!(
        wrong.text.contains("Ransom note on our website"),
        "{}",
        wrong.text
    );
    let filed = report("Ransom note on our website", "2026-03-15T10:22").await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.text);
    let shown = page(&platform, &reporter, &location(&filed)).await;
    assert!(shown.text.contains("Report filed:"), "{}", shown.text);
    let row = &shown.text[shown.text.find(r#"id="reports""#).unwrap()..];
    assert!(row.contains("Ransom note on our website"), "{row}");
    assert!(row.contains("waiting for the CERT"), "{row}");
    assert!(row.contains("2026-03-15T10:22:00Z"), "{row}");
    // Through the API: the report as filed, affected systems trimmed, TLP kept.
    let api = platform
        .send(
            call(Method::GET, "/api/v1/reports")
                .bearer(&analyst.token)
                .empty(),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.text);
    let items = api.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", api.text);
    assert_eq!(
        items[0]["affected_systems"],
        serde_json::json!(["www01", "db02"])
    );
    assert_eq!(items[0]["tlp"], "amber+strict");
    // The sibling bank's reporter does not see it.
    let theirs = page(&platform, &sibling, "/console/report").await;
    assert!(!theirs.text.contains("Ransom note"), "{}", theirs.text);

    // The sector CERT opens an incident for the bank and tasks the bank from its page.
    let opened = platform
        .send(
            call(Method::POST, "/api/v1/incidents")
                .bearer(&analyst.token)
                .json(&serde_json::json!({
                    "owner": banking.id,
                    "title": "Ransomware at First Bank",
                    "classification": {"class": "malicious-code", "type": "infected-system"},
                    "severity": "high",
                })),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text);
    let readable = opened.json["readable_id"].as_str().unwrap().to_owned();
    let detail = page(
        &platform,
        &analyst,
        &format!("/console/incidents/{readable}"),
    )
    .await;
    assert!(detail.text.contains(r#"id="task-form""#), "{}", detail.text);
    let task = |tenant: String, due: &'static str| {
        let (platform, analyst, readable) = (&platform, &analyst, &readable);
        async move {
            post_form(
                platform,
                analyst,
                &format!("/console/incidents/{readable}/tasks"),
                &form_encode(&[
                    ("csrf", &analyst.csrf),
                    ("tenant", &tenant),
                    ("kind", "countermeasure"),
                    ("title", "Isolate www01"),
                    ("description", ""),
                    ("due", due),
                ]),
            )
            .await
        }
    };
    // Not below the sector CERT: refused, nothing given.
    let outside = task(telecom.id.to_string(), "").await;
    assert_ne!(outside.status, StatusCode::SEE_OTHER, "{}", outside.text);
    let bad_due = task(first.id.to_string(), "tomorrow").await;
    assert_eq!(bad_due.status, StatusCode::OK, "{}", bad_due.text);
    assert!(bad_due.text.contains(r#"role="alert""#), "{}", bad_due.text);
    let given = task(first.id.to_string(), "2099-01-01T09:00").await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.text);
    let detail = page(
        &platform,
        &analyst,
        &format!("/console/incidents/{readable}"),
    )
    .await;
    let tasks = &detail.text[detail
        .text
        .find("Isolate www01")
        .unwrap_or_else(|| panic!("{}", detail.text))..];
    let row = &tasks[..tasks.find("</tr>").unwrap()];
    assert!(row.contains("First Bank"), "{row}");
    assert!(row.contains("2099-01-01"), "{row}");
    // One task given (the bad ones gave none); the timeline names it once too.
    assert_eq!(
        detail.text.matches("<td>Isolate www01</td>").count(),
        1,
        "{}",
        detail.text
    );
}

/// A duty record read back through the API by `who`: `/api/v1/oncall/pages/{id}`
/// (the page) or the hand-over of that id in `/api/v1/oncall/handovers`.
async fn page_through_api(platform: &Platform, who: &Credentials, id: &str) -> serde_json::Value {
    let answer = platform
        .send(
            call(Method::GET, &format!("/api/v1/oncall/pages/{id}"))
                .bearer(&who.token)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["page"].clone()
}

/// The hand-over `id` as `who` lists it through the API.
pub(crate) async fn handover_through_api(
    platform: &Platform,
    who: &Credentials,
    id: &str,
) -> serde_json::Value {
    let answer = platform
        .send(
            call(Method::GET, "/api/v1/oncall/handovers")
                .bearer(&who.token)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no hand-over {id}: {}", answer.text))
        .clone()
}

#[tokio::test]
async fn a_page_is_acknowledged_on_the_duty_page_and_the_api_reads_it_back() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    round_the_clock(&platform, &first, "first.duty").await;
    platform.user(&first, "first.duty", Role::Analyst).await;
    let on_call = platform.sign_in("first.duty").await;
    let page_id = platform
        .app
        .duty()
        .test_page(
            &platform.operator,
            first.id,
            "high",
            Some("ATM network down"),
        )
        .await
        .unwrap()
        .id
        .to_string();

    let duty = page(&platform, &on_call, "/console/duty").await;
    assert_eq!(duty.status, StatusCode::OK, "{}", duty.text);
    let action = format!("/console/duty/pages/{page_id}/acknowledge");
    let card = duty
        .text
        .split("<li class=\"duty-card\">")
        .find(|card| card.contains("ATM network down"))
        .unwrap_or_else(|| panic!("no card for the page: {}", duty.text));
    assert!(card.contains(&action), "{card}");
    assert!(card.contains("name=\"csrf\""), "{card}");
    assert!(
        card.contains("tlp-amber") && card.contains("high"),
        "{card}"
    );

    // Without the CSRF token nothing changes.
    let forged = post_form(&platform, &on_call, &action, "").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(
        page_through_api(&platform, &on_call, &page_id).await["status"],
        "open"
    );

    let done = post_form(
        &platform,
        &on_call,
        &action,
        &form_encode(&[("csrf", &on_call.csrf)]),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(location(&done), "/console/duty?done=page");
    let read = page_through_api(&platform, &on_call, &page_id).await;
    assert_eq!(read["status"], "acknowledged", "{read}");
    assert_eq!(read["acknowledged"]["by"], "first.duty", "{read}");
    let after = page(&platform, &on_call, &location(&done)).await;
    assert!(
        after
            .text
            .contains("Page acknowledged: its escalation has stopped."),
        "{}",
        after.text
    );
    assert!(!after.text.contains(&action), "{}", after.text);
    assert!(
        after.text.contains("No page is waiting for an answer."),
        "{}",
        after.text
    );
    // Answered, it leaves the page (the API keeps it, acknowledged).
    assert!(!after.text.contains("ATM network down"), "{}", after.text);

    // Twice: said on the duty page, not a raw error.
    let again = post_form(
        &platform,
        &on_call,
        &action,
        &form_encode(&[("csrf", &on_call.csrf)]),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("<h1>Duty</h1>"), "{}", again.text);
    assert!(
        again
            .text
            .contains("the page was acknowledged already, by first.duty"),
        "{}",
        again.text
    );
    assert!(again.text.contains("role=\"alert\""), "{}", again.text);
    // An id that names nothing is "Not found".
    let nothing = post_form(
        &platform,
        &on_call,
        "/console/duty/pages/not-a-page/acknowledge",
        &form_encode(&[("csrf", &on_call.csrf)]),
    )
    .await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND, "{}", nothing.text);
}

#[tokio::test]
async fn a_handover_is_written_and_acknowledged_by_the_incoming_person_only() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("Banking CERT", nigehban_app::model::Sector::Banking)
        .await;
    let first = platform.organisation(&sector, "First Bank").await;
    round_the_clock(&platform, &first, "first.duty").await;
    platform.user(&first, "first.duty", Role::Analyst).await;
    platform
        .user(&first, "first.colleague", Role::Analyst)
        .await;
    let on_call = platform.sign_in("first.duty").await;
    let colleague = platform.sign_in("first.colleague").await;
    let schedule = platform
        .app
        .duty()
        .schedules(&platform.operator, Some(first.id))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == "first.duty schedule")
        .unwrap()
        .id
        .to_string();

    let duty = page(&platform, &on_call, "/console/duty").await;
    let form = duty.text.split("id=\"handover-form\"").nth(1).unwrap();
    assert!(
        form.contains(&format!("<option value=\"{schedule}\" selected>")),
        "the viewer's own schedule is chosen: {form}"
    );
    assert!(
        duty.text
            .contains("No hand-over waits for the incoming person.")
    );

    // The colleague is not on call: told so on the page, nothing written.
    let note = "Skimming case INC open; watch ATM 12.\nCall the branch at 09:00.";
    let refused = post_form(
        &platform,
        &colleague,
        "/console/duty/handovers",
        &form_encode(&[
            ("csrf", &colleague.csrf),
            ("schedule", &schedule),
            ("note", note),
        ]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused
            .text
            .contains("Only the person on call, or an administrator or duty officer"),
        "{}",
        refused.text
    );
    assert!(
        refused
            .text
            .contains("No hand-over waits for the incoming person.")
    );

    let written = post_form(
        &platform,
        &on_call,
        "/console/duty/handovers",
        &form_encode(&[
            ("csrf", &on_call.csrf),
            ("schedule", &schedule),
            ("note", note),
        ]),
    )
    .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER, "{}", written.text);
    assert_eq!(location(&written), "/console/duty?done=handover");
    let listed = platform
        .app
        .duty()
        .handovers(&platform.operator, Some(first.id))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let id = listed[0].id.to_string();
    let read = handover_through_api(&platform, &on_call, &id).await;
    assert_eq!(read["status"], "open", "{read}");
    assert_eq!(read["note"], note, "{read}");
    assert_eq!(read["outgoing"], "first.duty", "{read}");
    assert_eq!(read["written_by"], "first.duty", "{read}");

    let shown = page(&platform, &colleague, "/console/duty").await;
    let cards = shown.text.split("id=\"handovers\"").nth(1).unwrap();
    assert!(
        cards.contains("Skimming case INC open; watch ATM 12.\nCall the branch at 09:00."),
        "{cards}"
    );
    let action = format!("/console/duty/handovers/{id}/acknowledge");
    assert!(cards.contains(&action), "{cards}");

    // Not the incoming person: said on the page, still open.
    let not_yours = post_form(
        &platform,
        &colleague,
        &action,
        &form_encode(&[("csrf", &colleague.csrf)]),
    )
    .await;
    assert_eq!(
        not_yours.status,
        StatusCode::FORBIDDEN,
        "{}",
        not_yours.text
    );
    assert!(
        not_yours
            .text
            .contains("This hand-over is for the incoming person"),
        "{}",
        not_yours.text
    );
    assert_eq!(
        handover_through_api(&platform, &on_call, &id).await["status"],
        "open"
    );

    // The incoming person (the one rota member, on again next shift) acknowledges it.
    let acknowledged = post_form(
        &platform,
        &on_call,
        &action,
        &form_encode(&[("csrf", &on_call.csrf)]),
    )
    .await;
    assert_eq!(
        acknowledged.status,
        StatusCode::SEE_OTHER,
        "{}",
        acknowledged.text
    );
    let read = handover_through_api(&platform, &colleague, &id).await;
    assert_eq!(read["status"], "acknowledged", "{read}");
    assert!(read["acknowledged_at"].is_string(), "{read}");
    let after = page(&platform, &on_call, &location(&acknowledged)).await;
    assert!(
        after.text.contains("Hand-over acknowledged."),
        "{}",
        after.text
    );
    assert!(!after.text.contains(&action), "{}", after.text);
    let twice = post_form(
        &platform,
        &on_call,
        &action,
        &form_encode(&[("csrf", &on_call.csrf)]),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.text);
    assert!(
        twice
            .text
            .contains("the hand-over was acknowledged already"),
        "{}",
        twice.text
    );
}
