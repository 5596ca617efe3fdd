//! Authorisation over every incident endpoint, through the real router, on
//! SQLite and (with `NIGEHBAN_TEST_POSTGRES_URL`) PostgreSQL: the national
//! CERT, both sectors, the bank, a sibling bank, an unrelated organisation,
//! a council member and an administrator call each endpoint at each step of
//! a report's life, and each gets exactly its share — list contents
//! asserted, not just statuses. `every_incident_operation_is_exercised`
//! checks that no documented incident operation is left out.
//!
//! The parties and their tokens ([`Parties`]) are built once per platform and
//! are meant to be reused by the authorisation matrix when it gains incident
//! rows.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use nigehban_app::model::{
    DisplayName, Password, Role, Sector, Tenant, TenantKind, TenantName, Timestamp, TokenName,
    Username,
};
use nigehban_app::{
    App, AppSettings, BootstrapOutcome, BootstrapRequest, Caller, ManualClock, NewApiToken,
    NewTenant, StoreConfig,
};
use nigehban_server::{ServerOptions, ServerState};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::harness::{Answer, PASSWORD};

/// A platform on one backend, served by the real router, with a clock the test moves.
pub struct IncidentPlatform {
    pub app: App,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub parties: Parties,
    /// Every operation called, as `METHOD /path/{template}`.
    called: Mutex<BTreeSet<(String, String)>>,
    _dir: tempfile::TempDir,
}

/// The tenants and a bearer token for each party.
///
/// national ─┬─ telecom ─── operator (unrelated to the banks)
///           └─ banking ─┬─ bank
///                       └─ sibling (another bank)
// Every tenant is kept for the matrix's rows, though this suite names only some.
#[allow(dead_code)]
pub struct Parties {
    pub national: Tenant,
    pub telecom: Tenant,
    pub banking: Tenant,
    pub bank: Tenant,
    pub sibling: Tenant,
    pub operator: Tenant,
    /// An analyst of the national CERT.
    pub national_analyst: String,
    /// A council member at the national CERT.
    pub council: String,
    /// An administrator of the national CERT.
    pub admin: String,
    /// An analyst of the banking CERT.
    pub banking_analyst: String,
    /// An analyst of the telecom CERT.
    pub telecom_analyst: String,
    /// The bank's reporter.
    pub bank_reporter: String,
    /// The bank's own analyst.
    pub bank_analyst: String,
    /// The sibling bank's reporter.
    pub sibling_reporter: String,
    /// An analyst of the operator (under telecom).
    pub operator_analyst: String,
}

/// A fresh PostgreSQL database, or `None` (skipped) without a configured server.
async fn postgres_database() -> Option<String> {
    let Ok(url) = std::env::var("NIGEHBAN_TEST_POSTGRES_URL") else {
        if std::env::var("NIGEHBAN_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("NIGEHBAN_TEST_POSTGRES_URL is not set but NIGEHBAN_REQUIRE_SERVICES=1");
        }
        eprintln!("skipped: NIGEHBAN_TEST_POSTGRES_URL not set");
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let dbname = format!("nigehban_api_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {dbname}"))
        .await
        .unwrap();
    drop(client);
    let _ = connection.await;
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, query) = match rest.split_once('?') {
        Some((before, query)) => (before, format!("?{query}")),
        None => (rest, String::new()),
    };
    let host = authority
        .split_once('/')
        .map_or(authority, |(host, _)| host);
    Some(format!("{scheme}://{host}/{dbname}{query}"))
}

impl IncidentPlatform {
    /// On SQLite.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        };
        Self::on(config, dir).await
    }

    /// On PostgreSQL, or `None` (skipped).
    pub async fn postgres() -> Option<Self> {
        let url = postgres_database().await?;
        Some(
            Self::on(
                StoreConfig::Postgres { url, pool_size: 4 },
                tempfile::tempdir().unwrap(),
            )
            .await,
        )
    }

    async fn on(config: StoreConfig, dir: tempfile::TempDir) -> Self {
        let clock = Arc::new(ManualClock::new(Timestamp::now()));
        let app = App::open_with_clock(
            &config,
            AppSettings {
                audit_key_file: Some(dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
                ..AppSettings::insecure_fast_for_tests()
            },
            clock.clone(),
        )
        .await
        .unwrap();
        let BootstrapOutcome::Created { root, .. } = app
            .bootstrap(BootstrapRequest {
                national_name: TenantName::parse("National CERT").unwrap(),
                admin_username: Username::parse("admin").unwrap(),
                admin_display_name: DisplayName::parse("Administrator").unwrap(),
                admin_password: Some(Password::parse(PASSWORD).unwrap()),
            })
            .await
            .unwrap()
        else {
            panic!("fresh store was already bootstrapped")
        };
        let operator = app.operator(None).await.unwrap();
        let tenant = |parent: Tenant, name: &'static str, kind: TenantKind| {
            let (app, operator) = (app.clone(), operator.clone());
            async move {
                app.tenants()
                    .create(
                        &operator,
                        NewTenant {
                            parent: parent.id,
                            name: TenantName::parse(name).unwrap(),
                            kind,
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let org = TenantKind::Organisation {
            critical_infrastructure: false,
        };
        let telecom = tenant(
            root.clone(),
            "CERT Telecom",
            TenantKind::Sectoral {
                sector: Sector::Telecom,
            },
        )
        .await;
        let banking = tenant(
            root.clone(),
            "CERT Banking",
            TenantKind::Sectoral {
                sector: Sector::Banking,
            },
        )
        .await;
        let bank = tenant(banking.clone(), "First Bank", org).await;
        let sibling = tenant(banking.clone(), "Second Bank", org).await;
        let operator_org = tenant(telecom.clone(), "Mobile Operator", org).await;
        let token = |tenant: &Tenant, role: Role| {
            let (app, operator, tenant) = (app.clone(), operator.clone(), tenant.id);
            async move { token(&app, &operator, tenant, role).await }
        };
        let parties = Parties {
            national_analyst: token(&root, Role::Analyst).await,
            council: token(&root, Role::CouncilMember).await,
            admin: token(&root, Role::Administrator).await,
            banking_analyst: token(&banking, Role::Analyst).await,
            telecom_analyst: token(&telecom, Role::Analyst).await,
            bank_reporter: token(&bank, Role::ConstituentReporter).await,
            bank_analyst: token(&bank, Role::Analyst).await,
            sibling_reporter: token(&sibling, Role::ConstituentReporter).await,
            operator_analyst: token(&operator_org, Role::Analyst).await,
            national: root,
            telecom,
            banking,
            bank,
            sibling,
            operator: operator_org,
        };
        let options = ServerOptions {
            max_body_bytes: 64 * 1024,
            request_timeout: Duration::from_secs(30),
            secure_cookies: true,
            max_ingest_body_bytes: 64 * 1024,
            ..ServerOptions::default()
        };
        let router = nigehban_server::router(ServerState::new(app.clone(), options));
        Self {
            app,
            router,
            clock,
            parties,
            called: Mutex::new(BTreeSet::new()),
            _dir: dir,
        }
    }

    /// Sends a request as the holder of `token`; `template` names the operation for the coverage check.
    pub async fn send(
        &self,
        token: &str,
        method: Method,
        template: &str,
        uri: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        self.called
            .lock()
            .unwrap()
            .insert((method.as_str().to_owned(), template.to_owned()));
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// GET with a JSON answer.
    pub async fn get(&self, token: &str, template: &str, uri: &str) -> Answer {
        self.send(token, Method::GET, template, uri, None).await
    }

    /// A JSON request.
    pub async fn json(
        &self,
        token: &str,
        method: Method,
        template: &str,
        uri: &str,
        body: Value,
    ) -> Answer {
        self.send(
            token,
            method,
            template,
            uri,
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        )
        .await
    }

    /// Asserts `status` for each token.
    async fn expect_get(&self, template: &str, uri: &str, cases: &[(&str, StatusCode)]) {
        for (token, status) in cases {
            let answer = self.get(token, template, uri).await;
            assert_eq!(
                answer.status,
                *status,
                "GET {uri} as {}: {}",
                self.who(token),
                answer.text
            );
        }
    }

    /// Which party a token is, for messages.
    fn who(&self, token: &str) -> &'static str {
        let p = &self.parties;
        [
            (&p.national_analyst, "national analyst"),
            (&p.council, "council member"),
            (&p.admin, "national administrator"),
            (&p.banking_analyst, "banking analyst"),
            (&p.telecom_analyst, "telecom analyst"),
            (&p.bank_reporter, "bank reporter"),
            (&p.bank_analyst, "bank analyst"),
            (&p.sibling_reporter, "sibling bank reporter"),
            (&p.operator_analyst, "operator analyst"),
        ]
        .into_iter()
        .find(|(t, _)| t.as_str() == token)
        .map_or("someone", |(_, name)| name)
    }
}

async fn token(
    app: &App,
    maker: &Caller,
    tenant: nigehban_app::model::TenantId,
    role: Role,
) -> String {
    app.tokens()
        .create(
            maker,
            NewApiToken {
                name: TokenName::parse(&format!("{role} in {tenant}")).unwrap(),
                tenant: Some(tenant),
                role: Some(role),
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .secret
        .expose()
        .to_owned()
}

/// The readable ids (with access) an incident list answer holds.
fn incident_ids(answer: &Answer) -> BTreeSet<(String, String)> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
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

fn ids_of(answer: &Answer, field: &str) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_endpoints_give_each_party_its_share_on_sqlite() {
    let platform = IncidentPlatform::sqlite().await;
    every_endpoint_for_every_party(&platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_endpoints_give_each_party_its_share_on_postgresql() {
    let Some(platform) = IncidentPlatform::postgres().await else {
        return;
    };
    every_endpoint_for_every_party(&platform).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_incident_operation_is_exercised() {
    let platform = IncidentPlatform::sqlite().await;
    every_endpoint_for_every_party(&platform).await;
    crate::incident_alerts::alerts_to_incidents(&platform).await;
    let document = serde_json::to_value(nigehban_server::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let tagged = operation["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == "incidents"));
            if tagged {
                documented.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    assert!(documented.len() >= 30, "{documented:?}");
    let called = platform.called.lock().unwrap().clone();
    let missing: Vec<_> = documented.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "incident operations no test calls: {missing:?}"
    );
}

/// Asserts the incidents (readable id and access) each token lists.
async fn lists(platform: &IncidentPlatform, expected: Vec<(&String, Vec<(&str, &str)>)>) {
    for (token, want) in expected {
        let got = incident_ids(
            &platform
                .get(token, "/api/v1/incidents", "/api/v1/incidents")
                .await,
        );
        let want: BTreeSet<(String, String)> = want
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(got, want, "{}", platform.who(token));
    }
}

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;

async fn every_endpoint_for_every_party(platform: &IncidentPlatform) {
    let p = &platform.parties;
    let everyone_but_admins = [
        &p.national_analyst,
        &p.banking_analyst,
        &p.telecom_analyst,
        &p.bank_reporter,
        &p.bank_analyst,
        &p.sibling_reporter,
        &p.operator_analyst,
    ];
    // ---- reports ----
    let noticed = platform.app.clock().now().to_rfc3339();
    let report_body = |tenant: Option<&Tenant>| {
        let mut body = json!({
            "title": "Phishing against online banking",
            "description": "customers were sent to hxxps://login-firstbank[.]example/verify",
            "noticed_at": noticed,
            "affected_systems": ["online banking"],
            "tlp": "amber",
        });
        if let Some(tenant) = tenant {
            body["tenant"] = json!(tenant.id);
        }
        body
    };
    let filed = platform
        .json(
            &p.bank_reporter,
            Method::POST,
            "/api/v1/reports",
            "/api/v1/reports",
            report_body(None),
        )
        .await;
    assert_eq!(filed.status, CREATED, "{}", filed.text);
    assert_eq!(
        filed.json["observables"][0]["value"],
        "https://login-firstbank.example/verify"
    );
    let report = filed.json["id"].as_str().unwrap().to_owned();
    for (token, status) in [
        (&p.sibling_reporter, NOT_FOUND),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.council, FORBIDDEN),
        (&p.admin, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/reports",
                "/api/v1/reports",
                report_body(Some(&p.bank)),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let reports = |token: &str| {
        let token = token.to_owned();
        async move {
            ids_of(
                &platform
                    .get(&token, "/api/v1/reports", "/api/v1/reports")
                    .await,
                "id",
            )
        }
    };
    for token in [
        &p.bank_reporter,
        &p.bank_analyst,
        &p.banking_analyst,
        &p.national_analyst,
    ] {
        assert_eq!(
            reports(token).await,
            vec![report.clone()],
            "{}",
            platform.who(token)
        );
    }
    for token in [&p.sibling_reporter, &p.telecom_analyst, &p.operator_analyst] {
        assert!(reports(token).await.is_empty(), "{}", platform.who(token));
    }
    let report_uri = format!("/api/v1/reports/{report}");
    platform
        .expect_get(
            "/api/v1/reports/{id}",
            &report_uri,
            &[
                (&p.bank_reporter, OK),
                (&p.banking_analyst, OK),
                (&p.national_analyst, OK),
                (&p.sibling_reporter, NOT_FOUND),
                (&p.telecom_analyst, NOT_FOUND),
                (&p.operator_analyst, NOT_FOUND),
                (&p.council, FORBIDDEN),
                (&p.admin, FORBIDDEN),
            ],
        )
        .await;
    let attachments = format!("{report_uri}/attachments");
    let upload = |token: &str,
                  uri: String,
                  template: &'static str,
                  name: &str,
                  content_type: &str,
                  bytes: &[u8]| {
        let (token, content_type, bytes) =
            (token.to_owned(), content_type.to_owned(), bytes.to_vec());
        let uri = format!("{uri}?filename={name}");
        async move {
            platform
                .send(
                    &token,
                    Method::POST,
                    template,
                    &uri,
                    Some((&content_type, bytes)),
                )
                .await
        }
    };
    let attached = upload(
        &p.bank_reporter,
        attachments.clone(),
        "/api/v1/reports/{id}/attachments",
        "mail.eml",
        "message/rfc822",
        b"Subject: verify your account\r\n\r\nclick",
    )
    .await;
    assert_eq!(attached.status, CREATED, "{}", attached.text);
    let attached_id = attached.json["id"].as_str().unwrap().to_owned();
    for (token, status) in [
        (&p.sibling_reporter, NOT_FOUND),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = upload(
            token,
            attachments.clone(),
            "/api/v1/reports/{id}/attachments",
            "x.txt",
            "text/plain",
            b"x",
        )
        .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let refused = upload(
        &p.bank_reporter,
        attachments.clone(),
        "/api/v1/reports/{id}/attachments",
        "fake.pdf",
        "application/pdf",
        b"MZ not a pdf",
    )
    .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    for (token, listed) in [(&p.bank_reporter, 1), (&p.banking_analyst, 1)] {
        let answer = platform
            .get(token, "/api/v1/reports/{id}/attachments", &attachments)
            .await;
        assert_eq!(ids_of(&answer, "id").len(), listed);
    }
    platform
        .expect_get(
            "/api/v1/reports/{id}/attachments",
            &attachments,
            &[
                (&p.sibling_reporter, NOT_FOUND),
                (&p.operator_analyst, NOT_FOUND),
            ],
        )
        .await;
    // Triage: never the reporter's own organisation, never a sibling or another sector.
    let triage = format!("{report_uri}/triage");
    let decision = json!({
        "decision": "new_incident",
        "classification": {"class": "fraud", "type": "phishing"},
        "severity": "high",
    });
    for (token, status) in [
        (&p.bank_analyst, FORBIDDEN),
        (&p.bank_reporter, FORBIDDEN),
        (&p.sibling_reporter, NOT_FOUND),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/reports/{id}/triage",
                &triage,
                decision.clone(),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let bad_class = platform
        .json(&p.banking_analyst, Method::POST, "/api/v1/reports/{id}/triage", &triage, json!({"decision": "new_incident", "classification": {"class": "espionage", "type": "x"}, "severity": "high"}))
        .await;
    bad_class.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(
        bad_class.text.contains("malicious-code") && bad_class.text.contains("vulnerable"),
        "{}",
        bad_class.text
    );
    let triaged = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/reports/{id}/triage",
            &triage,
            decision.clone(),
        )
        .await;
    assert_eq!(triaged.status, OK, "{}", triaged.text);
    let id = triaged.json["incident"]["readable_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uuid = triaged.json["incident"]["id"].as_str().unwrap().to_owned();
    assert_eq!(triaged.json["report"]["incident_readable_id"], id);
    let again = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/reports/{id}/triage",
            &triage,
            decision,
        )
        .await;
    again.assert_error(StatusCode::CONFLICT, "conflict");
    // ---- incidents: lists and fetches ----
    lists(
        platform,
        vec![
            (&p.national_analyst, vec![(&id, "full")]),
            (&p.banking_analyst, vec![(&id, "full")]),
            (&p.bank_reporter, vec![(&id, "participant")]),
            (&p.bank_analyst, vec![(&id, "participant")]),
            (&p.telecom_analyst, vec![]),
            (&p.sibling_reporter, vec![]),
            (&p.operator_analyst, vec![]),
        ],
    )
    .await;
    for (token, status) in [(&p.council, FORBIDDEN), (&p.admin, FORBIDDEN)] {
        let answer = platform
            .get(token, "/api/v1/incidents", "/api/v1/incidents")
            .await;
        assert_eq!(answer.status, status);
    }
    let incident_uri = format!("/api/v1/incidents/{id}");
    for uri in [incident_uri.clone(), format!("/api/v1/incidents/{uuid}")] {
        platform
            .expect_get(
                "/api/v1/incidents/{id}",
                &uri,
                &[
                    (&p.national_analyst, OK),
                    (&p.banking_analyst, OK),
                    (&p.bank_reporter, OK),
                    (&p.telecom_analyst, NOT_FOUND),
                    (&p.sibling_reporter, NOT_FOUND),
                    (&p.operator_analyst, NOT_FOUND),
                    (&p.council, FORBIDDEN),
                    (&p.admin, FORBIDDEN),
                ],
            )
            .await;
    }
    let as_reporter = platform
        .get(&p.bank_reporter, "/api/v1/incidents/{id}", &incident_uri)
        .await;
    assert_eq!(as_reporter.json["access"], "participant");
    assert!(as_reporter.json.get("assignee").is_none());
    platform
        .get(
            &p.bank_reporter,
            "/api/v1/incidents/{id}",
            "/api/v1/incidents/not-an-id",
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    // ---- changes by the custody only ----
    let changes: Vec<(Method, &str, String, Value)> = vec![
        (
            Method::PATCH,
            "/api/v1/incidents/{id}",
            incident_uri.clone(),
            json!({"severity": "critical"}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/assign",
            format!("{incident_uri}/assign"),
            json!({"assignee": null}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/observables",
            format!("{incident_uri}/observables"),
            json!({"text": "also 203.0.113.66 and CVE-2024-3094"}),
        ),
        (
            Method::POST,
            "/api/v1/incidents/{id}/status",
            format!("{incident_uri}/status"),
            json!({"status": "in_progress"}),
        ),
    ];
    for (method, template, uri, body) in &changes {
        for (token, status) in [
            (&p.bank_reporter, FORBIDDEN),
            (&p.bank_analyst, FORBIDDEN),
            (&p.telecom_analyst, NOT_FOUND),
            (&p.sibling_reporter, NOT_FOUND),
            (&p.operator_analyst, NOT_FOUND),
            (&p.council, FORBIDDEN),
            (&p.admin, FORBIDDEN),
        ] {
            let answer = platform
                .json(token, method.clone(), template, uri, body.clone())
                .await;
            assert_eq!(
                answer.status,
                status,
                "{method} {uri} as {}: {}",
                platform.who(token),
                answer.text
            );
        }
        let answer = platform
            .json(
                &p.banking_analyst,
                method.clone(),
                template,
                uri,
                body.clone(),
            )
            .await;
        assert_eq!(answer.status, OK, "{method} {uri}: {}", answer.text);
    }
    let observed = platform
        .get(&p.banking_analyst, "/api/v1/incidents/{id}", &incident_uri)
        .await;
    let values: Vec<&str> = observed.json["observables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"203.0.113.66") && values.contains(&"CVE-2024-3094"),
        "{values:?}"
    );
    let forbidden_move = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/status",
            &format!("{incident_uri}/status"),
            json!({"status": "recovered"}),
        )
        .await;
    forbidden_move.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(
        forbidden_move.text.contains("contained or closed"),
        "{}",
        forbidden_move.text
    );
    // Notes: custody and the reporter (who sees the details); the reporter's note is seen by custody and itself.
    let notes = format!("{incident_uri}/notes");
    let note = platform
        .json(
            &p.bank_reporter,
            Method::POST,
            "/api/v1/incidents/{id}/notes",
            &notes,
            json!({"text": "forty customers affected"}),
        )
        .await;
    assert_eq!(note.status, CREATED, "{}", note.text);
    let internal = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/notes",
            &notes,
            json!({"text": "internal only"}),
        )
        .await;
    assert_eq!(internal.status, CREATED);
    for (token, status) in [
        (&p.sibling_reporter, NOT_FOUND),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/notes",
                &notes,
                json!({"text": "x"}),
            )
            .await;
        assert_eq!(answer.status, status, "{}", platform.who(token));
    }
    let timeline = format!("{incident_uri}/timeline");
    let messages = |token: &str| {
        let (token, timeline) = (token.to_owned(), timeline.clone());
        async move {
            let answer = platform
                .get(&token, "/api/v1/incidents/{id}/timeline", &timeline)
                .await;
            assert_eq!(answer.status, OK, "{}", answer.text);
            answer.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(
        messages(&p.banking_analyst)
            .await
            .contains(&"internal only".to_owned())
    );
    let reporter_sees = messages(&p.bank_reporter).await;
    assert!(reporter_sees.contains(&"forty customers affected".to_owned()));
    assert!(!reporter_sees.contains(&"internal only".to_owned()));
    platform
        .expect_get(
            "/api/v1/incidents/{id}/timeline",
            &timeline,
            &[
                (&p.sibling_reporter, NOT_FOUND),
                (&p.operator_analyst, NOT_FOUND),
                (&p.council, FORBIDDEN),
            ],
        )
        .await;
    // ---- evidence: custody only ----
    let evidence = format!("{incident_uri}/evidence");
    let uploaded = upload(
        &p.banking_analyst,
        evidence.clone(),
        "/api/v1/incidents/{id}/evidence",
        "proxy.log",
        "text/plain",
        b"10:01 GET https://login-firstbank.example/verify",
    )
    .await;
    assert_eq!(uploaded.status, CREATED, "{}", uploaded.text);
    let evidence_id = uploaded.json["id"].as_str().unwrap().to_owned();
    for (token, status) in [
        (&p.bank_reporter, FORBIDDEN),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.sibling_reporter, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = upload(
            token,
            evidence.clone(),
            "/api/v1/incidents/{id}/evidence",
            "x.txt",
            "text/plain",
            b"x",
        )
        .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let listed = platform
        .get(
            &p.national_analyst,
            "/api/v1/incidents/{id}/evidence",
            &evidence,
        )
        .await;
    let mut listed_ids = ids_of(&listed, "id");
    listed_ids.sort();
    let mut want = vec![attached_id.clone(), evidence_id.clone()];
    want.sort();
    assert_eq!(
        listed_ids, want,
        "the report's attachment moved to the incident"
    );
    platform
        .expect_get(
            "/api/v1/incidents/{id}/evidence",
            &evidence,
            &[
                (&p.bank_reporter, FORBIDDEN),
                (&p.sibling_reporter, NOT_FOUND),
                (&p.operator_analyst, NOT_FOUND),
            ],
        )
        .await;
    for template_uri in [
        (
            "/api/v1/evidence/{id}",
            format!("/api/v1/evidence/{evidence_id}"),
        ),
        (
            "/api/v1/evidence/{id}/content",
            format!("/api/v1/evidence/{evidence_id}/content"),
        ),
        (
            "/api/v1/evidence/{id}/custody",
            format!("/api/v1/evidence/{evidence_id}/custody"),
        ),
    ] {
        platform
            .expect_get(
                template_uri.0,
                &template_uri.1,
                &[
                    (&p.banking_analyst, OK),
                    (&p.national_analyst, OK),
                    (&p.bank_reporter, NOT_FOUND),
                    (&p.telecom_analyst, NOT_FOUND),
                    (&p.sibling_reporter, NOT_FOUND),
                    (&p.operator_analyst, NOT_FOUND),
                    // Roles that see no incident are told so, as for the incident itself.
                    (&p.council, FORBIDDEN),
                    (&p.admin, FORBIDDEN),
                ],
            )
            .await;
    }
    let content = platform
        .get(
            &p.national_analyst,
            "/api/v1/evidence/{id}/content",
            &format!("/api/v1/evidence/{evidence_id}/content"),
        )
        .await;
    assert_eq!(
        content.text,
        "10:01 GET https://login-firstbank.example/verify"
    );
    assert_eq!(
        content.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(
        content.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"proxy.log\"; filename*=UTF-8''proxy.log"
    );
    assert_eq!(content.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        content.headers["x-evidence-sha256"],
        uploaded.json["sha256"].as_str().unwrap()
    );
    // The reporter still reads its own attachment through its report.
    platform
        .expect_get(
            "/api/v1/evidence/{id}",
            &format!("/api/v1/evidence/{attached_id}"),
            &[(&p.bank_reporter, OK), (&p.sibling_reporter, NOT_FOUND)],
        )
        .await;
    // ---- escalation ----
    let escalate = format!("{incident_uri}/escalate");
    for (token, status) in [
        (&p.bank_reporter, FORBIDDEN),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.sibling_reporter, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/escalate",
                &escalate,
                json!({}),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let escalated = platform
        .json(
            &p.banking_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/escalate",
            &escalate,
            json!({"note": "several banks"}),
        )
        .await;
    assert_eq!(escalated.status, OK, "{}", escalated.text);
    assert_eq!(escalated.json["owner"], json!(p.national.id));
    let top = platform
        .json(
            &p.national_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/escalate",
            &escalate,
            json!({}),
        )
        .await;
    top.assert_error(StatusCode::CONFLICT, "conflict");
    // The banking CERT, now an earlier owner, reads but no longer changes it.
    let patch = platform
        .json(
            &p.banking_analyst,
            Method::PATCH,
            "/api/v1/incidents/{id}",
            &incident_uri,
            json!({"title": "x"}),
        )
        .await;
    patch.assert_error(FORBIDDEN, "forbidden");
    // ---- tasking down ----
    let tasks_uri = format!("{incident_uri}/tasks");
    let task_body = json!({"assignee_tenant": p.telecom.id, "kind": "countermeasure", "title": "Sinkhole the phishing domain"});
    for (token, status) in [
        (&p.banking_analyst, FORBIDDEN),
        (&p.bank_reporter, FORBIDDEN),
        (&p.telecom_analyst, NOT_FOUND),
        (&p.council, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/tasks",
                &tasks_uri,
                task_body.clone(),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let tasked = platform
        .json(
            &p.national_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/tasks",
            &tasks_uri,
            task_body,
        )
        .await;
    assert_eq!(tasked.status, CREATED, "{}", tasked.text);
    let task_id = tasked.json["id"].as_str().unwrap().to_owned();
    lists(
        platform,
        vec![
            (&p.national_analyst, vec![(&id, "full")]),
            (&p.banking_analyst, vec![(&id, "full")]),
            (&p.bank_reporter, vec![(&id, "participant")]),
            (&p.telecom_analyst, vec![(&id, "participant")]),
            (&p.sibling_reporter, vec![]),
            (&p.operator_analyst, vec![]),
        ],
    )
    .await;
    let inbox = |token: &str| {
        let token = token.to_owned();
        async move {
            ids_of(
                &platform
                    .get(&token, "/api/v1/tasks", "/api/v1/tasks?all=true")
                    .await,
                "id",
            )
        }
    };
    assert_eq!(inbox(&p.telecom_analyst).await, vec![task_id.clone()]);
    assert_eq!(inbox(&p.national_analyst).await, vec![task_id.clone()]);
    for token in [
        &p.operator_analyst,
        &p.bank_reporter,
        &p.banking_analyst,
        &p.sibling_reporter,
    ] {
        assert!(inbox(token).await.is_empty(), "{}", platform.who(token));
    }
    platform
        .get(&p.council, "/api/v1/tasks", "/api/v1/tasks")
        .await
        .assert_error(FORBIDDEN, "forbidden");
    let task_uri = format!("{incident_uri}/tasks/{task_id}");
    for (token, status) in [
        (&p.operator_analyst, NOT_FOUND),
        (&p.sibling_reporter, NOT_FOUND),
        (&p.bank_reporter, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::PATCH,
                "/api/v1/incidents/{id}/tasks/{task}",
                &task_uri,
                json!({"status": "done"}),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let cancel = platform
        .json(
            &p.telecom_analyst,
            Method::PATCH,
            "/api/v1/incidents/{id}/tasks/{task}",
            &task_uri,
            json!({"status": "cancelled"}),
        )
        .await;
    cancel.assert_error(FORBIDDEN, "forbidden");
    let done = platform
        .json(
            &p.telecom_analyst,
            Method::PATCH,
            "/api/v1/incidents/{id}/tasks/{task}",
            &task_uri,
            json!({"status": "done", "result": "sinkholed"}),
        )
        .await;
    assert_eq!(done.status, OK, "{}", done.text);
    assert_eq!(done.json["status"], "done");
    // ---- regulatory stages ----
    let stage = format!("{incident_uri}/deadlines/initial_notice");
    let missing = platform
        .json(
            &p.bank_reporter,
            Method::POST,
            "/api/v1/incidents/{id}/deadlines/{stage}",
            &stage,
            json!({"fields": {"summary": "fake login pages"}}),
        )
        .await;
    missing.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    assert!(
        missing.text.contains("customers_affected"),
        "{}",
        missing.text
    );
    for (token, status) in [
        (&p.sibling_reporter, NOT_FOUND),
        (&p.telecom_analyst, FORBIDDEN),
        (&p.council, FORBIDDEN),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/deadlines/{stage}",
                &stage,
                json!({"fields": {}}),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let submitted = platform
        .json(&p.bank_reporter, Method::POST, "/api/v1/incidents/{id}/deadlines/{stage}", &stage, json!({"fields": {"summary": "fake login pages", "services_affected": ["online banking"], "customers_affected": 40}}))
        .await;
    assert_eq!(submitted.status, OK, "{}", submitted.text);
    assert_eq!(submitted.json["regulatory"]["stages"][0]["state"], "met");
    // ---- notifications (raised by the platform's sweep, read per tenant) ----
    platform.clock.advance(Duration::from_secs(70 * 3600));
    platform.app.incidents().check_deadlines().await.unwrap();
    let notified = |token: &str| {
        let token = token.to_owned();
        async move {
            let answer = platform
                .get(&token, "/api/v1/notifications", "/api/v1/notifications")
                .await;
            assert_eq!(answer.status, OK, "{}", answer.text);
            answer.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    (
                        n["tenant"].as_str().unwrap().to_owned(),
                        n["stage"].as_str().unwrap().to_owned(),
                        n["kind"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<BTreeSet<_>>()
        }
    };
    let to = |tenants: &[&Tenant]| -> BTreeSet<(String, String, String)> {
        tenants
            .iter()
            .map(|t| {
                (
                    t.id.to_string(),
                    "detailed_report".to_owned(),
                    "deadline_due_soon".to_owned(),
                )
            })
            .collect()
    };
    // To the owner (national, which has no parent) and the bank that must submit it; each reads its own and its subtree's.
    assert_eq!(notified(&p.bank_reporter).await, to(&[&p.bank]));
    assert_eq!(
        notified(&p.banking_analyst).await,
        to(&[&p.bank]),
        "the bank's sector sees the bank's"
    );
    assert_eq!(
        notified(&p.national_analyst).await,
        to(&[&p.national, &p.bank])
    );
    for token in [&p.sibling_reporter, &p.telecom_analyst, &p.operator_analyst] {
        assert!(notified(token).await.is_empty(), "{}", platform.who(token));
    }
    platform
        .get(&p.council, "/api/v1/notifications", "/api/v1/notifications")
        .await
        .assert_error(FORBIDDEN, "forbidden");
    // ---- links and merges ----
    let other = platform
        .json(&p.telecom_analyst, Method::POST, "/api/v1/incidents", "/api/v1/incidents", json!({"title": "Resolver abuse", "classification": {"class": "availability", "type": "ddos"}, "severity": "medium", "tlp": "green"}))
        .await;
    assert_eq!(other.status, CREATED, "{}", other.text);
    let other_id = other.json["readable_id"].as_str().unwrap().to_owned();
    for token in [&p.bank_reporter, &p.council, &p.sibling_reporter, &p.admin] {
        let answer = platform.json(token, Method::POST, "/api/v1/incidents", "/api/v1/incidents", json!({"title": "x", "classification": {"class": "other", "type": "other"}, "severity": "low"})).await;
        assert_eq!(
            answer.status,
            FORBIDDEN,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let elsewhere = platform
        .json(&p.telecom_analyst, Method::POST, "/api/v1/incidents", "/api/v1/incidents", json!({"owner": p.bank.id, "title": "x", "classification": {"class": "other", "type": "other"}, "severity": "low"}))
        .await;
    elsewhere.assert_error(NOT_FOUND, "not_found");
    let relate = format!("{incident_uri}/related");
    for (token, status) in [
        (&p.banking_analyst, FORBIDDEN),
        (&p.telecom_analyst, FORBIDDEN),
        (&p.bank_reporter, FORBIDDEN),
        (&p.operator_analyst, NOT_FOUND),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/related",
                &relate,
                json!({"incident": other_id}),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let related = platform
        .json(
            &p.national_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/related",
            &relate,
            json!({"incident": other_id}),
        )
        .await;
    assert_eq!(related.status, OK, "{}", related.text);
    assert_eq!(related.json["related"].as_array().unwrap().len(), 1);
    // The banking CERT (an earlier owner) does not learn the telecom incident's id.
    let as_banking = platform
        .get(&p.banking_analyst, "/api/v1/incidents/{id}", &incident_uri)
        .await;
    assert_eq!(as_banking.json["related"], json!([]));
    let merge_uri = format!("/api/v1/incidents/{other_id}/merge");
    for (token, status) in [
        (&p.telecom_analyst, FORBIDDEN),
        (&p.banking_analyst, NOT_FOUND),
        (&p.bank_reporter, NOT_FOUND),
    ] {
        let answer = platform
            .json(
                token,
                Method::POST,
                "/api/v1/incidents/{id}/merge",
                &merge_uri,
                json!({"into": id}),
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let merged = platform
        .json(
            &p.national_analyst,
            Method::POST,
            "/api/v1/incidents/{id}/merge",
            &merge_uri,
            json!({"into": id}),
        )
        .await;
    assert_eq!(merged.status, OK, "{}", merged.text);
    assert_eq!(merged.json["readable_id"], id);
    // ---- export ----
    let export = format!("{incident_uri}/export");
    platform
        .expect_get(
            "/api/v1/incidents/{id}/export",
            &export,
            &[
                (&p.national_analyst, OK),
                (&p.banking_analyst, OK),
                (&p.bank_reporter, OK),
                (&p.telecom_analyst, OK),
                (&p.sibling_reporter, NOT_FOUND),
                (&p.operator_analyst, NOT_FOUND),
                (&p.council, FORBIDDEN),
                (&p.admin, FORBIDDEN),
            ],
        )
        .await;
    let full = platform
        .get(
            &p.national_analyst,
            "/api/v1/incidents/{id}/export",
            &export,
        )
        .await;
    assert_eq!(full.json["format"], "nigehban-incident-export/1");
    assert_eq!(full.json["evidence"].as_array().unwrap().len(), 2);
    assert!(
        full.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(&format!("{id}.json"))
    );
    let markdown = platform
        .get(
            &p.bank_reporter,
            "/api/v1/incidents/{id}/export",
            &format!("{export}?format=markdown"),
        )
        .await;
    assert_eq!(
        markdown.headers[header::CONTENT_TYPE],
        "text/markdown; charset=utf-8"
    );
    assert!(
        markdown.text.starts_with(&format!("# {id}: ")),
        "{}",
        markdown.text
    );
    assert!(
        !markdown.text.contains("internal only") && !markdown.text.contains("proxy.log"),
        "{}",
        markdown.text
    );
    platform
        .get(
            &p.bank_reporter,
            "/api/v1/incidents/{id}/export",
            &format!("{export}?format=pdf"),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    // ---- figures: aggregates for the council and analysts, not for reporters ----
    for (token, status) in [
        (&p.council, OK),
        (&p.national_analyst, OK),
        (&p.banking_analyst, OK),
        (&p.admin, OK),
        (&p.bank_reporter, FORBIDDEN),
        (&p.sibling_reporter, FORBIDDEN),
    ] {
        let answer = platform
            .get(
                token,
                "/api/v1/metrics/incidents",
                "/api/v1/metrics/incidents?by=sector",
            )
            .await;
        assert_eq!(
            answer.status,
            status,
            "{}: {}",
            platform.who(token),
            answer.text
        );
    }
    let figures = platform
        .get(
            &p.council,
            "/api/v1/metrics/incidents",
            "/api/v1/metrics/incidents?by=severity",
        )
        .await;
    assert_eq!(
        figures.json["total"]["incidents"], 1,
        "the merged one counts in its target: {}",
        figures.text
    );
    assert!(
        !figures.text.contains("Phishing") && !figures.text.contains("login-firstbank"),
        "{}",
        figures.text
    );
    let above = platform
        .get(
            &p.banking_analyst,
            "/api/v1/metrics/incidents",
            &format!("/api/v1/metrics/incidents?under={}", p.national.id),
        )
        .await;
    above.assert_error(NOT_FOUND, "not_found");
    platform
        .get(
            &p.council,
            "/api/v1/metrics/incidents",
            "/api/v1/metrics/incidents?by=colour",
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    // ---- profiles: configuration, for anyone signed in ----
    for token in everyone_but_admins.iter().chain([&&p.council]) {
        let answer = platform
            .get(
                token,
                "/api/v1/regulatory-profiles",
                "/api/v1/regulatory-profiles",
            )
            .await;
        assert_eq!(answer.status, OK);
        let ids: Vec<&str> = answer.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["nis2", "banking"]);
    }
    let anonymous = platform
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/regulatory-profiles")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // ---- closing; the reporter follows ----
    for status in ["contained", "eradicated", "recovered", "closed"] {
        let answer = platform
            .json(
                &p.national_analyst,
                Method::POST,
                "/api/v1/incidents/{id}/status",
                &format!("{incident_uri}/status"),
                json!({"status": status}),
            )
            .await;
        assert_eq!(answer.status, OK, "{status}: {}", answer.text);
    }
    let closed = platform
        .get(&p.bank_reporter, "/api/v1/incidents/{id}", &incident_uri)
        .await;
    assert_eq!(
        (
            closed.json["status"].as_str(),
            closed.json["resolution"].as_str()
        ),
        (Some("closed"), Some("resolved"))
    );
}
