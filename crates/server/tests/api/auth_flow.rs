//! A whole working day through the API: sign in, build the hierarchy, hand a
//! sensor a token, revoke it, read the audit log, sign out.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Platform, call};

#[tokio::test]
async fn administrator_builds_the_hierarchy_and_tokens_work_until_revoked() {
    let platform = Platform::new().await;
    let admin = platform.sign_in("admin").await;

    let session = platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    assert_eq!(session.json["role"], "administrator");
    assert_eq!(session.json["via"], "session");
    assert_eq!(session.json["csrf_token"], admin.csrf.as_str());

    let sector = platform
        .send(call(Method::POST, "/api/v1/tenants").session(&admin).json(&json!({
            "parent": platform.root.id, "name": "CERT Telecom", "kind": "sectoral", "sector": "telecom"
        })))
        .await;
    assert_eq!(sector.status, StatusCode::CREATED, "{}", sector.text);
    assert_eq!(sector.json["kind"], "sectoral");
    assert_eq!(sector.json["sector"], "telecom");
    let sector_id = sector.json["id"].as_str().unwrap().to_owned();

    let org = platform
        .send(call(Method::POST, "/api/v1/tenants").session(&admin).json(&json!({
            "parent": sector_id, "name": "Operator One", "kind": "organisation", "critical_infrastructure": true
        })))
        .await;
    assert_eq!(org.status, StatusCode::CREATED, "{}", org.text);
    assert_eq!(org.json["critical_infrastructure"], true);
    let org_id = org.json["id"].as_str().unwrap().to_owned();

    // An organisation cannot sit at the national level as a sectoral CERT would.
    let wrong = platform
        .send(
            call(Method::POST, "/api/v1/tenants")
                .session(&admin)
                .json(&json!({
                    "parent": org_id, "name": "Nested CERT", "kind": "sectoral", "sector": "banking"
                })),
        )
        .await;
    wrong.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");

    // Pagination: two pages of one and one, then the end.
    let first = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/tenants?under={sector_id}&limit=1"),
            )
            .session(&admin)
            .empty(),
        )
        .await;
    assert_eq!(
        first.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        first.text
    );
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();
    let second = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/tenants?under={sector_id}&limit=1&cursor={cursor}"),
            )
            .session(&admin)
            .empty(),
        )
        .await;
    assert_eq!(
        second.json["items"].as_array().unwrap().len(),
        1,
        "{}",
        second.text
    );
    assert_ne!(first.json["items"][0]["id"], second.json["items"][0]["id"]);
    if let Some(cursor) = second.json["next_cursor"].as_str() {
        let third = platform
            .send(
                call(
                    Method::GET,
                    &format!("/api/v1/tenants?under={sector_id}&limit=1&cursor={cursor}"),
                )
                .session(&admin)
                .empty(),
            )
            .await;
        assert!(
            third.json["items"].as_array().unwrap().is_empty(),
            "{}",
            third.text
        );
    }

    // A token for a sensor of the organisation, acting as analyst there.
    let created = platform
        .send(
            call(Method::POST, "/api/v1/tokens")
                .session(&admin)
                .json(&json!({
                    "name": "sensor 1", "tenant": org_id, "role": "analyst"
                })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.json["secret"].as_str().unwrap().to_owned();
    let token_id = created.json["token"]["id"].as_str().unwrap().to_owned();
    assert!(created.json["token"].get("secret").is_none());

    let as_sensor = platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .bearer(&secret)
                .empty(),
        )
        .await;
    assert_eq!(as_sensor.status, StatusCode::OK, "{}", as_sensor.text);
    assert_eq!(as_sensor.json["via"], "token");
    assert_eq!(as_sensor.json["tenant"], org_id.as_str());
    assert_eq!(as_sensor.json["role"], "analyst");
    // The sensor sees its organisation but not the sector above it.
    platform
        .send(
            call(Method::GET, &format!("/api/v1/tenants/{sector_id}"))
                .bearer(&secret)
                .empty(),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    // last_used_at is recorded.
    let listed = platform
        .send(
            call(Method::GET, &format!("/api/v1/tokens/{token_id}"))
                .session(&admin)
                .empty(),
        )
        .await;
    assert!(listed.json["last_used_at"].is_string(), "{}", listed.text);

    let revoked = platform
        .send(
            call(Method::POST, &format!("/api/v1/tokens/{token_id}/revoke"))
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert!(revoked.json["revoked_at"].is_string());
    platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .bearer(&secret)
                .empty(),
        )
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Everything above is in the audit log, and the chain verifies.
    let audit = platform
        .send(
            call(Method::GET, "/api/v1/audit?newest_first=true&limit=1000")
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.text);
    let actions: Vec<&str> = audit.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    for action in [
        "tenant.create",
        "token.create",
        "token.revoke",
        "session.create",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let verdict = platform
        .send(
            call(Method::GET, "/api/v1/audit/verify")
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(verdict.json["intact"], true, "{}", verdict.text);
    let head = platform
        .send(
            call(Method::GET, "/api/v1/audit/head")
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(
        head.json["hash"].as_str().unwrap().len(),
        64,
        "{}",
        head.text
    );

    // Sign out: the cookie is cleared and the session no longer works.
    let out = platform
        .send(
            call(Method::POST, "/api/v1/auth/logout")
                .session(&admin)
                .empty(),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text);
    let cleared = out.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    platform
        .send(
            call(Method::GET, "/api/v1/auth/session")
                .session(&admin)
                .empty(),
        )
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn landing_page_says_where_the_api_is() {
    let platform = Platform::new().await;
    let answer = platform.send(call(Method::GET, "/").empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.text.contains("/api/v1"));
    assert!(answer.text.contains("/api/v1/auth/login"));
    let ready = platform.send(call(Method::GET, "/readyz").empty()).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
}
