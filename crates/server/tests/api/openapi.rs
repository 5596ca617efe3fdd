//! The API document is OpenAPI 3, validated by `openapi-spec-validator` from PyPI,
//! and is what the server serves at /api/openapi.json.

use std::process::Command;

use axum::http::{Method, StatusCode};

use crate::harness::{Platform, call};

#[test]
fn document_is_valid_openapi_3() {
    let document = nigehban_server::openapi();
    let json = document.to_pretty_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(
        value["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        value["openapi"]
    );
    if !nigehban_testkit::openapi_validator() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, &json).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_validator_is_not_a_rubber_stamp() {
    // The same check must refuse a broken document, or the test above proves nothing.
    if !nigehban_testkit::openapi_validator() {
        return;
    }
    let mut value = serde_json::to_value(nigehban_server::openapi()).unwrap();
    value["paths"]["/healthz"]["get"]["responses"] = serde_json::json!({"200": {"content": 7}});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
    let output = Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "a broken document passed validation"
    );
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let platform = Platform::new().await;
    let answer = platform
        .send(call(Method::GET, "/api/openapi.json").empty())
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.json,
        serde_json::to_value(nigehban_server::openapi()).unwrap()
    );
    let paths = answer.json["paths"].as_object().unwrap();
    for path in [
        "/api/v1/tenants",
        "/api/v1/users/{id}/role",
        "/api/v1/audit",
        "/healthz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let roles = &answer.json["components"]["schemas"]["Role"]["enum"];
    assert_eq!(
        roles.as_array().unwrap().len(),
        nigehban_app::model::Role::ALL.len(),
        "{roles}"
    );
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    // A documented operation that the router does not serve would 404/405 here.
    let platform = Platform::new().await;
    let document = serde_json::to_value(nigehban_server::openapi()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else {
                continue;
            };
            let uri = path.replace("{id}", &platform.root.id.to_string());
            let answer = platform.send(call(method.clone(), &uri).empty()).await;
            assert!(
                answer.status != StatusCode::NOT_FOUND
                    || answer.code() == "not_found" && answer.text.contains("tenant")
                    // A public route keyed by a secret: `{secret}` is no feed's.
                    || answer.code() == "not_found" && answer.text.contains("feed")
                    // A signed acknowledgement link: `{token}` is no link of ours.
                    || answer.code() == "not_found" && answer.text.contains("acknowledgement link"),
                "{method} {path} is documented but not routed: {}",
                answer.text
            );
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
}
