//! Accounts through the API: names that read as something else are refused,
//! creating users does not reveal other tenants' user names, and a password
//! reset ends the owner's API tokens.

use axum::http::{Method, StatusCode};
use nigehban_app::model::Role;
use serde_json::json;

use crate::harness::{Platform, call};

/// Tenant, display and sensor names with a right-to-left override (or an
/// isolate, a mark, a control character) used to be accepted: `acme\u{202E}gpj.exe`
/// shows as `acmeexe.jpg`. Each is refused, naming the character and its place.
#[tokio::test]
async fn names_with_bidirectional_controls_are_refused_naming_the_character() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;
    let sector = platform
        .sector("CERT Energy", nigehban_app::model::Sector::Energy)
        .await;
    let tenant = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&json!({
                    "parent": sector.id, "name": "Grid \u{202E}gpj.exe", "kind": "organisation"
                })),
        )
        .await;
    tenant.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(
        tenant.text.contains("U+202E") && tenant.text.contains("right-to-left override"),
        "{}",
        tenant.text
    );
    let user = platform
        .send(call(Method::POST, "/api/v1/users").session(&admin).json(&json!({
            "tenant": sector.id, "username": "grid.ops", "display_name": "Grid \u{2067}ops\u{2069}", "role": "analyst"
        })))
        .await;
    user.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(user.text.contains("U+2067"), "{}", user.text);
    let sensor = platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .session(&admin)
                .json(&json!({
                    "tenant": sector.id, "name": "fw\u{200F}1", "kind": "firewall"
                })),
        )
        .await;
    sensor.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(sensor.text.contains("U+200F"), "{}", sensor.text);
    let renamed = platform
        .send(
            call(Method::PATCH, &format!("/api/v1/tenants/{}", sector.id))
                .session(&admin)
                .json(&json!({ "name": "CERT\u{0007} Energy" })),
        )
        .await;
    renamed.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(renamed.text.contains("U+0007"), "{}", renamed.text);
    // Names in any script, with the joiners Urdu and Persian need, are fine.
    let urdu = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&json!({
                    "parent": sector.id, "name": "بجلی\u{200C}گھر", "kind": "organisation"
                })),
        )
        .await;
    assert_eq!(urdu.status, StatusCode::CREATED, "{}", urdu.text);
}

/// `POST /users` answered 409 "the user name zara is already taken" for a
/// name held in an unrelated tenant. An organisation's administrator now
/// gets the answer a reserved name gets, which confirms nobody.
#[tokio::test]
async fn creating_a_user_does_not_confirm_names_held_in_other_tenants() {
    let platform = Platform::new().await;
    let telecom = platform
        .sector("CERT Telecom", nigehban_app::model::Sector::Telecom)
        .await;
    let banking = platform
        .sector("CERT Banking", nigehban_app::model::Sector::Banking)
        .await;
    let operator = platform.organisation(&telecom, "Mobile Operator").await;
    let bank = platform.organisation(&banking, "First Bank").await;
    let zara = platform.user(&bank, "zara", Role::Analyst).await;
    platform
        .user(&operator, "operator.admin", Role::Administrator)
        .await;
    let admin = platform.sign_in("operator.admin").await;
    let create = |username: &str| {
        call(Method::POST, "/api/v1/users")
            .bearer(&admin.token)
            .json(&json!({
                "tenant": operator.id, "username": username, "display_name": "Someone", "role": "analyst"
            }))
    };
    let taken = platform.send(create("zara")).await;
    taken.assert_error(StatusCode::CONFLICT, "conflict");
    let reserved = platform.send(create("system")).await;
    reserved.assert_error(StatusCode::CONFLICT, "conflict");
    assert_eq!(
        taken.json["error"]["message"]
            .as_str()
            .unwrap()
            .replace("zara", "NAME"),
        reserved.json["error"]["message"]
            .as_str()
            .unwrap()
            .replace("system", "NAME")
    );
    for secret in [
        zara.id.to_string(),
        bank.id.to_string(),
        bank.name.as_str().to_owned(),
        "taken".to_owned(),
    ] {
        assert!(
            !taken.text.contains(&secret),
            "{} reveals {secret}",
            taken.text
        );
    }
    // A free name works.
    let created = platform.send(create("operator.analyst")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
}

/// A reset used to leave the owner's API tokens working: whoever had taken
/// over the account kept its tokens after the administrator reset the password.
#[tokio::test]
async fn a_password_reset_ends_the_owners_api_tokens() {
    let platform = Platform::new().await;
    let sector = platform
        .sector("CERT Telecom", nigehban_app::model::Sector::Telecom)
        .await;
    let ayesha = platform.user(&sector, "ayesha", Role::Analyst).await;
    let credentials = platform.sign_in("ayesha").await;
    let me = |token: &str| {
        call(Method::GET, "/api/v1/auth/session")
            .bearer(token)
            .empty()
    };
    assert_eq!(
        platform.send(me(&credentials.token)).await.status,
        StatusCode::OK
    );
    let admin = platform.sign_in("admin").await;
    let reset = platform
        .send(
            call(
                Method::POST,
                &format!("/api/v1/users/{}/password-reset", ayesha.id),
            )
            .session(&admin)
            .json(&json!({})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.text);
    platform
        .send(me(&credentials.token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let log = platform
        .send(
            call(Method::GET, "/api/v1/audit?newest_first=true&limit=5")
                .session(&admin)
                .empty(),
        )
        .await;
    let actions: Vec<&str> = log.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    assert!(actions.contains(&"token.revoke"), "{actions:?}");
}
