//! An incident's life through the real `nigehban` binary and HTTP: a bank's
//! reporter files a report → the banking CERT triages it into an incident →
//! escalates it to the national CERT → national tasks the telecom CERT with
//! a countermeasure → the telecom CERT completes it → national closes the
//! incident. At each step the national CERT, both sectors, the bank, a
//! sibling bank and an unrelated organisation list and fetch exactly what the
//! policy allows (list contents asserted).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/server.rs"]
mod server;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use server::{Answer, PASSWORD, Server, Session, bearer, create_administrator, http_json, serve};

/// `nigehban serve` with the national CERT's incident id prefix.
fn start(data_dir: &Path) -> Server {
    let mut command = serve();
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("NIGEHBAN_INCIDENT_ID_PREFIX", "CERTPK");
    Server::spawn(command)
}

/// A party: its name and bearer token.
struct Party {
    name: &'static str,
    token: String,
}

impl Party {
    fn call(&self, server: &Server, method: &str, path: &str, body: Option<&Value>) -> Answer {
        http_json(
            server.address,
            method,
            path,
            &[("Authorization", &bearer(&self.token))],
            body,
        )
    }

    /// The readable ids and access of the incidents it lists.
    fn incidents(&self, server: &Server) -> BTreeSet<(String, String)> {
        let answer = self.call(server, "GET", "/api/v1/incidents", None);
        assert_eq!(answer.status, 200, "{}: {}", self.name, answer.text());
        answer.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["readable_id"].as_str().unwrap().to_owned(),
                    i["access"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The ids of the reports it lists.
    fn reports(&self, server: &Server) -> Vec<String> {
        let answer = self.call(server, "GET", "/api/v1/reports", None);
        assert_eq!(answer.status, 200, "{}: {}", self.name, answer.text());
        answer.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The titles of the tasks in its inbox.
    fn tasks(&self, server: &Server) -> Vec<String> {
        let answer = self.call(server, "GET", "/api/v1/tasks?all=true", None);
        assert_eq!(answer.status, 200, "{}: {}", self.name, answer.text());
        answer.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The status of fetching the incident, and how much it saw.
    fn fetch(&self, server: &Server, id: &str) -> (u16, Option<String>) {
        let answer = self.call(server, "GET", &format!("/api/v1/incidents/{id}"), None);
        (
            answer.status,
            answer.json()["access"].as_str().map(str::to_owned),
        )
    }
}

/// The six parties of the done-when test, and the administrator who set them up.
struct World {
    national: Party,
    banking: Party,
    telecom: Party,
    bank: Party,
    sibling: Party,
    unrelated: Party,
}

impl World {
    fn all(&self) -> [&Party; 6] {
        [
            &self.national,
            &self.banking,
            &self.telecom,
            &self.bank,
            &self.sibling,
            &self.unrelated,
        ]
    }

    /// Asserts the incidents each party lists and what fetching `id` gives each.
    fn expect(&self, server: &Server, id: &str, step: &str, want: [(&Party, Option<&str>); 6]) {
        for (party, access) in want {
            let listed = party.incidents(server);
            let expected: BTreeSet<(String, String)> = access
                .map(|a| (id.to_owned(), a.to_owned()))
                .into_iter()
                .collect();
            assert_eq!(listed, expected, "{step}: {} lists", party.name);
            let (status, seen) = party.fetch(server, id);
            match access {
                Some(access) => assert_eq!(
                    (status, seen.as_deref()),
                    (200, Some(access)),
                    "{step}: {} fetches",
                    party.name
                ),
                None => assert_eq!(
                    status, 404,
                    "{step}: {} must not learn it exists",
                    party.name
                ),
            }
        }
    }
}

fn set_up(server: &Server) -> World {
    // The administrator's session: API tokens are made in a session.
    let (session, _) = Session::sign_in(server.address, "chief", PASSWORD);
    let admin = Party {
        name: "administrator",
        token: session.api_token(server.address, &json!({"name": "set-up"})),
    };
    let root = admin.call(server, "GET", "/api/v1/tenants", None).json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tenant = |parent: &str, name: &str, kind: Value| -> String {
        let mut body = json!({"parent": parent, "name": name});
        body.as_object_mut()
            .unwrap()
            .extend(kind.as_object().unwrap().clone());
        let created = admin.call(server, "POST", "/api/v1/tenants", Some(&body));
        assert_eq!(created.status, 201, "{}", created.text());
        created.json()["id"].as_str().unwrap().to_owned()
    };
    let telecom = tenant(
        &root,
        "CERT Telecom",
        json!({"kind": "sectoral", "sector": "telecom"}),
    );
    let banking = tenant(
        &root,
        "CERT Banking",
        json!({"kind": "sectoral", "sector": "banking"}),
    );
    let energy = tenant(
        &root,
        "CERT Energy",
        json!({"kind": "sectoral", "sector": "energy"}),
    );
    let bank = tenant(&banking, "First Bank", json!({"kind": "organisation"}));
    let sibling = tenant(&banking, "Second Bank", json!({"kind": "organisation"}));
    let unrelated = tenant(
        &energy,
        "Power Utility",
        json!({"kind": "organisation", "critical_infrastructure": true}),
    );
    // Tokens make no tokens: each party's is made in the administrator's session.
    let party = |name: &'static str, tenant: &str, role: &str| -> Party {
        Party {
            name,
            token: session.api_token(
                server.address,
                &json!({"name": name, "tenant": tenant, "role": role}),
            ),
        }
    };
    World {
        national: party("national CERT analyst", &root, "analyst"),
        banking: party("banking CERT analyst", &banking, "analyst"),
        telecom: party("telecom CERT analyst", &telecom, "analyst"),
        bank: party("bank reporter", &bank, "constituent_reporter"),
        sibling: party("sibling bank reporter", &sibling, "constituent_reporter"),
        unrelated: party("unrelated organisation analyst", &unrelated, "analyst"),
    }
}

#[test]
fn a_report_travels_up_the_hierarchy_and_tasks_come_down_each_party_seeing_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    create_administrator(&data_dir, &[]);
    let server = start(&data_dir);
    let w = set_up(&server);
    let (full, participant) = (Some("full"), Some("participant"));

    // 1. The bank's reporter files a report.
    let noticed = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let filed = w.bank.call(&server, "POST", "/api/v1/reports", Some(&json!({
        "title": "Credential phishing against online banking customers",
        "description": "Customers received SMS linking to hxxps://firstbank-verify[.]example/login; the page posts to 198.51.100.77.",
        "noticed_at": noticed,
        "affected_systems": ["online banking", "SMS gateway"],
        "tlp": "amber",
    })));
    assert_eq!(filed.status, 201, "{}", filed.text());
    let report = filed.json()["id"].as_str().unwrap().to_owned();
    for party in [&w.bank, &w.banking, &w.national] {
        assert_eq!(
            party.reports(&server),
            vec![report.clone()],
            "{} sees the report",
            party.name
        );
    }
    for party in [&w.sibling, &w.telecom, &w.unrelated] {
        assert!(
            party.reports(&server).is_empty(),
            "{} must not see the report",
            party.name
        );
        let status = party
            .call(&server, "GET", &format!("/api/v1/reports/{report}"), None)
            .status;
        assert_eq!(status, 404, "{}", party.name);
    }
    for party in w.all() {
        assert!(
            party.incidents(&server).is_empty(),
            "no incident yet for {}",
            party.name
        );
    }

    // 2. The banking CERT triages it into an incident.
    let triaged = w.banking.call(
        &server,
        "POST",
        &format!("/api/v1/reports/{report}/triage"),
        Some(&json!({
            "decision": "new_incident",
            "classification": {"class": "fraud", "type": "phishing"},
            "severity": "high",
        })),
    );
    assert_eq!(triaged.status, 200, "{}", triaged.text());
    let id = triaged.json()["incident"]["readable_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let year = time::OffsetDateTime::now_utc().year();
    assert!(
        id.starts_with(&format!("CERTPK-{year}-")),
        "the configured prefix: {id}"
    );
    assert_eq!(
        triaged.json()["incident"]["owner"],
        triaged.json()["report"]["triaged_by"]
    );
    let bank_view = w
        .bank
        .call(&server, "GET", &format!("/api/v1/reports/{report}"), None);
    assert_eq!(
        (
            bank_view.json()["status"].as_str(),
            bank_view.json()["incident_readable_id"].as_str()
        ),
        (Some("triaged"), Some(id.as_str()))
    );
    w.expect(
        &server,
        &id,
        "triaged by the banking CERT",
        [
            (&w.national, full),
            (&w.banking, full),
            (&w.telecom, None),
            (&w.bank, participant),
            (&w.sibling, None),
            (&w.unrelated, None),
        ],
    );

    // 3. The banking CERT escalates it to the national CERT.
    let escalated = w.banking.call(
        &server,
        "POST",
        &format!("/api/v1/incidents/{id}/escalate"),
        Some(&json!({"note": "the same SMS reached customers of other banks"})),
    );
    assert_eq!(escalated.status, 200, "{}", escalated.text());
    assert_eq!(
        escalated.json()["former_owners"].as_array().unwrap().len(),
        1
    );
    w.expect(
        &server,
        &id,
        "escalated to national",
        [
            (&w.national, full),
            (&w.banking, full),
            (&w.telecom, None),
            (&w.bank, participant),
            (&w.sibling, None),
            (&w.unrelated, None),
        ],
    );
    let refused = w.banking.call(
        &server,
        "POST",
        &format!("/api/v1/incidents/{id}/status"),
        Some(&json!({"status": "in_progress"})),
    );
    assert_eq!(
        refused.status,
        403,
        "an earlier owner no longer changes it: {}",
        refused.text()
    );

    // 4. National tasks the telecom CERT with a countermeasure.
    let telecom_tenant = w
        .telecom
        .call(&server, "GET", "/api/v1/tenants", None)
        .json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tasked = w.national.call(
        &server,
        "POST",
        &format!("/api/v1/incidents/{id}/tasks"),
        Some(&json!({
            "assignee_tenant": telecom_tenant,
            "kind": "countermeasure",
            "title": "Block firstbank-verify.example at the operators' resolvers",
        })),
    );
    assert_eq!(tasked.status, 201, "{}", tasked.text());
    let task = tasked.json()["id"].as_str().unwrap().to_owned();
    w.expect(
        &server,
        &id,
        "telecom tasked",
        [
            (&w.national, full),
            (&w.banking, full),
            (&w.telecom, participant),
            (&w.bank, participant),
            (&w.sibling, None),
            (&w.unrelated, None),
        ],
    );
    assert_eq!(
        w.telecom.tasks(&server),
        vec!["Block firstbank-verify.example at the operators' resolvers"]
    );
    for party in [&w.bank, &w.sibling, &w.unrelated, &w.banking] {
        assert!(
            party.tasks(&server).is_empty(),
            "{} has no task",
            party.name
        );
    }
    let as_telecom = w
        .telecom
        .call(&server, "GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(
        as_telecom.json()["reporting_tenants"],
        json!([]),
        "the telecom CERT does not learn which bank reported"
    );
    assert!(
        as_telecom.json()["observables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["value"] == "firstbank-verify.example")
    );

    // 5. The telecom CERT completes it.
    let done = w.telecom.call(
        &server,
        "PATCH",
        &format!("/api/v1/incidents/{id}/tasks/{task}"),
        Some(&json!({"status": "done", "result": "blocked at 4 operators"})),
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let seen = w
        .national
        .call(&server, "GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(seen.json()["tasks"][0]["status"], "done");
    assert_eq!(seen.json()["tasks"][0]["result"], "blocked at 4 operators");
    w.expect(
        &server,
        &id,
        "task completed",
        [
            (&w.national, full),
            (&w.banking, full),
            (&w.telecom, participant),
            (&w.bank, participant),
            (&w.sibling, None),
            (&w.unrelated, None),
        ],
    );

    // 6. National closes the incident.
    for status in [
        "in_progress",
        "contained",
        "eradicated",
        "recovered",
        "closed",
    ] {
        let moved = w.national.call(
            &server,
            "POST",
            &format!("/api/v1/incidents/{id}/status"),
            Some(&json!({"status": status})),
        );
        assert_eq!(moved.status, 200, "{status}: {}", moved.text());
    }
    w.expect(
        &server,
        &id,
        "closed",
        [
            (&w.national, full),
            (&w.banking, full),
            (&w.telecom, participant),
            (&w.bank, participant),
            (&w.sibling, None),
            (&w.unrelated, None),
        ],
    );
    let closed = w
        .bank
        .call(&server, "GET", &format!("/api/v1/incidents/{id}"), None);
    assert_eq!(
        (
            closed.json()["status"].as_str(),
            closed.json()["resolution"].as_str()
        ),
        (Some("closed"), Some("resolved"))
    );
    let summary = w.national.call(
        &server,
        "GET",
        &format!("/api/v1/incidents/{id}/export?format=markdown"),
        None,
    );
    assert_eq!(summary.status, 200);
    assert!(
        summary.text().contains("## Tasks")
            && summary
                .text()
                .contains("[done] countermeasure for CERT Telecom"),
        "{}",
        summary.text()
    );
    server.terminate();
}
