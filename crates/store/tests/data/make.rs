//! Makes a database of a released schema, with data in every table of that
//! schema, through the application code of that release, and writes what it
//! made to a manifest that `crates/store/tests/upgrade.rs` checks after
//! upgrading the database. See README.md beside this file for how it is run.
//!
//! Built inside a checkout of the released commit (not part of the current
//! workspace); the `sensors` feature adds the sensor registry (schema 2 on).

use std::net::IpAddr;
use std::path::PathBuf;

use nigehban_app::model::{
    DisplayName, Password, Role, Sector, TenantKind, TenantName, TokenName, Username,
};
use nigehban_app::{
    App, AppSettings, BootstrapOutcome, BootstrapRequest, NewApiToken, NewTenant, NewUser,
    StoreConfig,
};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "released admin passphrase";
const USER_PASSWORD: &str = "released user passphrase";

fn addr(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (config, manifest) = match args.get(1).map(String::as_str) {
        Some("sqlite") => (
            StoreConfig::Sqlite {
                data_dir: PathBuf::from(&args[2]),
            },
            PathBuf::from(&args[3]),
        ),
        Some("postgres") => (
            StoreConfig::Postgres {
                url: args[2].clone(),
                pool_size: 2,
            },
            PathBuf::from(&args[3]),
        ),
        _ => panic!("usage: make sqlite DATA_DIR MANIFEST | make postgres URL MANIFEST"),
    };
    let app = App::open(&config, AppSettings::insecure_fast_for_tests())
        .await
        .expect("open");
    let BootstrapOutcome::Created { root, .. } = app
        .bootstrap(BootstrapRequest {
            national_name: TenantName::parse("National CERT").unwrap(),
            admin_username: Username::parse("admin").unwrap(),
            admin_display_name: DisplayName::parse("First Administrator").unwrap(),
            admin_password: Some(Password::parse(ADMIN_PASSWORD).unwrap()),
        })
        .await
        .expect("bootstrap")
    else {
        panic!("the database was not empty")
    };
    let admin = app
        .auth()
        .login("admin", ADMIN_PASSWORD, addr("192.0.2.1"))
        .await
        .expect("admin signs in")
        .caller;

    // Tenants: a tree three levels deep, one renamed, one moved, one deactivated.
    let tenant = |parent, name: &str, kind| {
        let app = app.clone();
        let admin = admin.clone();
        let name = TenantName::parse(name).unwrap();
        async move {
            app.tenants()
                .create(&admin, NewTenant { parent, name, kind })
                .await
                .expect("tenant")
        }
    };
    let organisation = |critical| TenantKind::Organisation {
        critical_infrastructure: critical,
    };
    let telecom = tenant(
        root.id,
        "CERT Telecom",
        TenantKind::Sectoral {
            sector: Sector::Telecom,
        },
    )
    .await;
    let banking = tenant(
        root.id,
        "CERT Banking",
        TenantKind::Sectoral {
            sector: Sector::Banking,
        },
    )
    .await;
    let operator = tenant(telecom.id, "Mobile Operator", organisation(true)).await;
    let noc = tenant(operator.id, "Mobile Operator NOC", organisation(false)).await;
    let bank = tenant(banking.id, "First Bank", organisation(false)).await;
    let moved = tenant(banking.id, "Card Processor", organisation(true)).await;
    let closed = tenant(telecom.id, "Closed ISP", organisation(false)).await;
    app.tenants()
        .rename(&admin, bank.id, TenantName::parse("First National Bank").unwrap())
        .await
        .expect("rename");
    app.tenants()
        .move_to(&admin, moved.id, bank.id)
        .await
        .expect("move");
    app.tenants()
        .deactivate(&admin, closed.id)
        .await
        .expect("deactivate");

    // Users: one per role of interest, one deactivated, one with failed sign-ins.
    let mut passwords = serde_json::Map::new();
    passwords.insert("admin".into(), ADMIN_PASSWORD.into());
    for (tenant, name, role) in [
        (operator.id, "noc-analyst", Role::Analyst),
        (telecom.id, "sector-auditor", Role::Auditor),
        (bank.id, "bank-reporter", Role::ConstituentReporter),
        (noc.id, "noc-responder", Role::Responder),
        (banking.id, "left-the-cert", Role::Analyst),
    ] {
        let created = app
            .users()
            .create(
                &admin,
                NewUser {
                    tenant,
                    username: Username::parse(name).unwrap(),
                    display_name: DisplayName::parse(name).unwrap(),
                    role,
                    password: Some(Password::parse(USER_PASSWORD).unwrap()),
                },
            )
            .await
            .expect("user");
        passwords.insert(name.into(), USER_PASSWORD.into());
        if name == "left-the-cert" {
            app.users()
                .deactivate(&admin, created.user.id)
                .await
                .expect("deactivate user");
        }
    }
    let _ = app
        .auth()
        .login("bank-reporter", "not the password", addr("198.51.100.7"))
        .await;
    let analyst = app
        .auth()
        .login("noc-analyst", USER_PASSWORD, addr("198.51.100.8"))
        .await
        .expect("analyst signs in");

    // API tokens: one in use, one revoked.
    let mut tokens = Vec::new();
    for (name, tenant, role, revoke) in [
        ("siem export", operator.id, Role::Analyst, false),
        ("old script", bank.id, Role::ConstituentReporter, true),
    ] {
        let created = app
            .tokens()
            .create(
                &admin,
                NewApiToken {
                    name: TokenName::parse(name).unwrap(),
                    tenant: Some(tenant),
                    role: Some(role),
                    expires_at: None,
                },
            )
            .await
            .expect("token");
        if revoke {
            app.tokens()
                .revoke(&admin, created.token.id)
                .await
                .expect("revoke");
        }
        tokens.push(json!({
            "id": created.token.id.to_string(),
            "tenant": tenant.to_string(),
            "role": role.as_str(),
            "secret": created.secret.expose(),
            "revoked": revoke,
        }));
    }

    #[cfg(feature = "sensors")]
    let sensors = sensors(&app, &admin, operator.id, bank.id).await;
    #[cfg(not(feature = "sensors"))]
    let sensors: Vec<Value> = Vec::new();

    // What was made, read back as the released code reads it.
    let page = nigehban_app::PageRequest::first(1000);
    let tenants: Vec<Value> = app
        .tenants()
        .list(&admin, None, &page)
        .await
        .expect("tenants")
        .items
        .iter()
        .map(|t| {
            json!({
                "id": t.id.to_string(),
                "parent": t.parent.map(|p| p.to_string()),
                "name": t.name.as_str(),
                "kind": t.kind.word(),
                "active": t.active,
            })
        })
        .collect();
    let users: Vec<Value> = app
        .users()
        .list(&admin, None, &page)
        .await
        .expect("users")
        .items
        .iter()
        .map(|u| {
            json!({
                "id": u.id.to_string(),
                "tenant": u.tenant.to_string(),
                "username": u.username.as_str(),
                "role": u.role.as_str(),
                "active": u.active,
                "failed_logins": u.failed_logins,
            })
        })
        .collect();
    let head = app.audit().head(&admin).await.expect("head");
    let entries = app
        .audit()
        .list(&admin, nigehban_app::AuditListing::default(), &page)
        .await
        .expect("audit")
        .items
        .len();
    let manifest_json = json!({
        "instance": app.instance().to_string(),
        "migrations": if cfg!(feature = "sensors") { 2 } else { 1 },
        "tenants": tenants,
        "users": users,
        "passwords": passwords,
        "tokens": tokens,
        "session_of": analyst.caller.user_id().map(|u| u.to_string()),
        "audit": { "entries": entries, "head_seq": head.seq, "head_hash": head.hash.to_string() },
        "sensors": sensors,
    });
    std::fs::write(
        &manifest,
        serde_json::to_string_pretty(&manifest_json).unwrap() + "\n",
    )
    .expect("manifest");
    println!("made {}", manifest.display());
}

/// Sensors with networks, a fingerprint and a subject name, a rotated and a
/// revoked token, and health events (schema 2).
#[cfg(feature = "sensors")]
async fn sensors(
    app: &App,
    admin: &nigehban_app::Caller,
    operator: nigehban_app::model::TenantId,
    bank: nigehban_app::model::TenantId,
) -> Vec<Value> {
    use nigehban_app::model::{
        CertificateFingerprint, ExpectedInterval, SensorFormat, SensorHealthKind, SensorKind,
        SensorName, SourceNetwork, SubjectCommonName, Timestamp,
    };
    use nigehban_app::{NewSensor, SensorHealthReport};
    let mut out = Vec::new();
    for (tenant, name, network, fingerprint, cn) in [
        (
            operator,
            "edge firewall",
            "198.51.100.0/24",
            Some("a1".repeat(32)),
            Some("fw.operator.example"),
        ),
        (bank, "branch ids", "203.0.113.64/26", None, None),
    ] {
        let mut new = NewSensor::new(SensorName::parse(name).unwrap(), SensorKind::Firewall);
        new.tenant = Some(tenant);
        new.expected_formats = vec![SensorFormat::Syslog];
        new.expected_interval = ExpectedInterval::from_secs(300).ok();
        new.source_addresses = vec![SourceNetwork::parse(network).unwrap()];
        new.tls_client_fingerprints = fingerprint
            .iter()
            .map(|f| CertificateFingerprint::parse(f).unwrap())
            .collect();
        new.tls_subject_cn = cn.map(|cn| SubjectCommonName::parse(cn).unwrap());
        let issued = app.sensors().register(admin, new).await.expect("sensor");
        let rotated = app
            .sensors()
            .rotate_token(admin, issued.sensor.id, std::time::Duration::from_secs(3600))
            .await
            .expect("rotate");
        app.sensors()
            .revoke_token(admin, issued.sensor.id, issued.token.id)
            .await
            .expect("revoke token");
        let at = Timestamp::now();
        app.sensors()
            .record_health(SensorHealthReport {
                sensor: issued.sensor.id,
                at,
                kind: SensorHealthKind::Silent {
                    since: at,
                    expected_interval_seconds: 300,
                },
            })
            .await
            .expect("health");
        out.push(json!({
            "id": issued.sensor.id.to_string(),
            "tenant": tenant.to_string(),
            "name": name,
            "network": network,
            "address": network.split('/').next().unwrap(),
            "fingerprint": fingerprint,
            "subject_cn": cn,
            "revoked_secret": issued.secret.expose(),
            "secret": rotated.secret.expose(),
            "health_events": 1,
        }));
    }
    out
}
