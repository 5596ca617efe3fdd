//! The small tenant tree the tests set up in-process, through the app: shared by
//! the app's own tests (`world.rs`) and the tests of the binary (`crates/cli/tests`).

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::net::IpAddr;

use nigehban_app::model::{
    DisplayName, Password, Role, Sector, Tenant, TenantId, TenantKind, TenantName, TokenName,
    Username,
};
use nigehban_app::{App, BootstrapOutcome, BootstrapRequest, Caller, NewApiToken, NewTenant};

/// The first administrator's password in every test platform.
pub const ADMIN_PASSWORD: &str = "national admin password";

/// national ─┬─ telecom ─── operator
///           └─ banking ─── bank
///
/// with the first administrator (`admin`, [`ADMIN_PASSWORD`]) signed in.
pub struct Tree {
    /// The first administrator.
    pub admin: Caller,
    /// The national CERT.
    pub national: Tenant,
    /// The telecom CERT.
    pub telecom: Tenant,
    /// The banking CERT.
    pub banking: Tenant,
    /// A mobile operator under the telecom CERT (critical infrastructure).
    pub operator: Tenant,
    /// A bank under the banking CERT.
    pub bank: Tenant,
}

/// Bootstraps a fresh platform and builds the [`Tree`]; the administrator signs in from `from`.
pub async fn tree(app: &App, from: Option<IpAddr>) -> Tree {
    let outcome = app
        .bootstrap(BootstrapRequest {
            national_name: TenantName::parse("National CERT").unwrap(),
            admin_username: Username::parse("admin").unwrap(),
            admin_display_name: DisplayName::parse("First Administrator").unwrap(),
            admin_password: Some(Password::parse(ADMIN_PASSWORD).unwrap()),
        })
        .await
        .unwrap();
    let BootstrapOutcome::Created { root: national, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let admin = app
        .auth()
        .login("admin", ADMIN_PASSWORD, from)
        .await
        .unwrap()
        .caller;
    let tenant = |parent, name: &'static str, kind| {
        let (app, admin) = (app.clone(), admin.clone());
        async move {
            app.tenants()
                .create(
                    &admin,
                    NewTenant {
                        parent,
                        name: TenantName::parse(name).unwrap(),
                        kind,
                    },
                )
                .await
                .unwrap()
        }
    };
    let telecom = tenant(
        national.id,
        "CERT Telecom",
        TenantKind::Sectoral {
            sector: Sector::Telecom,
        },
    )
    .await;
    let banking = tenant(
        national.id,
        "CERT Banking",
        TenantKind::Sectoral {
            sector: Sector::Banking,
        },
    )
    .await;
    let operator = tenant(
        telecom.id,
        "Mobile Operator",
        TenantKind::Organisation {
            critical_infrastructure: true,
        },
    )
    .await;
    let bank = tenant(
        banking.id,
        "First Bank",
        TenantKind::Organisation {
            critical_infrastructure: false,
        },
    )
    .await;
    Tree {
        admin,
        national,
        telecom,
        banking,
        operator,
        bank,
    }
}

/// An API token made by `maker` for `role` in `tenant`; its secret.
pub async fn token(app: &App, maker: &Caller, tenant: TenantId, role: Role) -> String {
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
