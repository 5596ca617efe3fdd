//! Source networks through the HTTP API: a tenant cannot register a network
//! that overlaps another tenant's (it would receive that tenant's syslog),
//! and the refusal never says whose the range is. On SQLite and PostgreSQL.

use axum::http::{Method, StatusCode};
use nigehban_app::model::{Role, Sector};
use serde_json::{Value, json};

use crate::harness::{Credentials, Platform, call};

/// The held networks and, for each, one asked for in every prefix order:
/// equal, longer (inside the held one) and shorter (around it).
const ORDERS: [(&str, [&str; 3]); 2] = [
    (
        "198.51.100.0/24",
        ["198.51.100.0/24", "198.51.100.64/26", "198.51.0.0/16"],
    ),
    (
        "2001:db8:40::/48",
        ["2001:db8:40::/48", "2001:db8:40:7::1", "2001:db8::/32"],
    ),
];

async fn register(
    platform: &Platform,
    who: &Credentials,
    name: &str,
    networks: &[&str],
) -> crate::harness::Answer {
    platform
        .send(
            call(Method::POST, "/api/v1/sensors")
                .bearer(&who.token)
                .json(&json!({"name": name, "kind": "syslog_relay", "source_addresses": networks})),
        )
        .await
}

async fn overlapping_networks_of_other_tenants_are_refused_without_naming_the_holder(
    platform: Platform,
) {
    let telecom = platform.sector("CERT Telecom", Sector::Telecom).await;
    let banking = platform.sector("CERT Banking", Sector::Banking).await;
    let holder_org = platform.organisation(&telecom, "Holder Telecom").await;
    let sibling_org = platform.organisation(&telecom, "Sibling Telecom").await;
    let unrelated_org = platform.organisation(&banking, "Unrelated Bank").await;
    for (tenant, user) in [
        (&holder_org, "holder-admin"),
        (&sibling_org, "sibling-admin"),
        (&unrelated_org, "unrelated-admin"),
        (&telecom, "sector-admin"),
    ] {
        platform.user(tenant, user, Role::Administrator).await;
    }
    let holder = platform.sign_in("holder-admin").await;
    let held: Vec<&str> = ORDERS.iter().map(|(network, _)| *network).collect();
    let answer = register(&platform, &holder, "Holder Gateway", &held).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let holder_sensor = answer.json["sensor"]["id"].as_str().unwrap().to_owned();
    let never_named = [
        holder_org.id.to_string(),
        "Holder Telecom".to_owned(),
        "Holder Gateway".to_owned(),
        holder_sensor.clone(),
    ];

    let mut messages = std::collections::BTreeSet::new();
    for intruder in ["sibling-admin", "unrelated-admin", "sector-admin"] {
        let credentials = platform.sign_in(intruder).await;
        for (_, asked) in ORDERS {
            for network in asked {
                let answer = register(
                    &platform,
                    &credentials,
                    &format!("{intruder} relay"),
                    &[network],
                )
                .await;
                answer.assert_error(StatusCode::CONFLICT, "conflict");
                for secret in &never_named {
                    assert!(
                        !answer.text.contains(secret.as_str()),
                        "{intruder} asking for {network} learns {secret}: {}",
                        answer.text
                    );
                }
                let message = answer.json["error"]["message"].as_str().unwrap();
                assert!(message.contains(network), "{message}");
                messages.insert(message.replace(network, "<network>"));
            }
        }
        // An update to an overlapping network is refused the same way.
        let answer = register(&platform, &credentials, &format!("{intruder} own"), &[]).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        let own = answer.json["sensor"]["id"].as_str().unwrap().to_owned();
        for (_, asked) in ORDERS {
            for network in asked {
                let answer = platform
                    .send(
                        call(Method::PATCH, &format!("/api/v1/sensors/{own}"))
                            .bearer(&credentials.token)
                            .json(&json!({"source_addresses": [network]})),
                    )
                    .await;
                answer.assert_error(StatusCode::CONFLICT, "conflict");
                for secret in &never_named {
                    assert!(!answer.text.contains(secret.as_str()), "{}", answer.text);
                }
                let message = answer.json["error"]["message"].as_str().unwrap();
                messages.insert(message.replace(network, "<network>"));
            }
        }
        let unchanged = platform
            .send(
                call(Method::GET, &format!("/api/v1/sensors/{own}"))
                    .bearer(&credentials.token)
                    .empty(),
            )
            .await;
        assert_eq!(
            unchanged.json["source_addresses"],
            json!([]),
            "{}",
            unchanged.text
        );
    }
    assert_eq!(
        messages.len(),
        1,
        "one message whoever holds it: {messages:?}"
    );

    // The holder's own tenant may nest networks inside its own: most specific wins.
    let answer = register(
        &platform,
        &holder,
        "Holder host",
        &["198.51.100.7", "2001:db8:40::7"],
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    // Next to the held ranges is free for anyone.
    let sibling = platform.sign_in("sibling-admin").await;
    let answer = register(
        &platform,
        &sibling,
        "Neighbour",
        &["198.51.101.0/24", "2001:db8:41::/48"],
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    // The holder's sensor is still the one its senders reach.
    let sensors: Value = platform
        .send(
            call(Method::GET, "/api/v1/sensors")
                .bearer(&holder.token)
                .empty(),
        )
        .await
        .json;
    let names: Vec<&str> = sensors["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{sensors}");
    assert!(names.contains(&"Holder Gateway") && names.contains(&"Holder host"));
    let found = platform
        .app
        .sensors()
        .sensor_by_address("198.51.100.200".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.sensor.id.to_string(), holder_sensor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_overlapping_networks_of_other_tenants_are_refused_without_naming_the_holder() {
    overlapping_networks_of_other_tenants_are_refused_without_naming_the_holder(
        Platform::new().await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_overlapping_networks_of_other_tenants_are_refused_without_naming_the_holder() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    overlapping_networks_of_other_tenants_are_refused_without_naming_the_holder(platform).await;
}
