//! A platform the binary's tests set up in-process through the app (faster than
//! over HTTP), on the storage the binary is then pointed at.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use nigehban_app::model::{
    DisplayName, Password, Role, Sector, Tenant, TenantId, TenantKind, TenantName, TokenName,
    Username,
};
use nigehban_app::{
    App, AppSettings, BootstrapOutcome, BootstrapRequest, Caller, NewApiToken, NewTenant,
    StoreConfig,
};

/// The first administrator's password.
pub const ADMIN_PASSWORD: &str = "national admin password";

/// A runtime for the app's calls from a synchronous test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The storage a test runs on: `--data-dir` (SQLite) or `--database` too,
/// with the audit key file in the data directory either way.
pub struct Storage {
    /// The data directory.
    pub dir: tempfile::TempDir,
    /// The PostgreSQL URL, when not on SQLite.
    pub database: Option<String>,
}

impl Storage {
    /// A fresh SQLite store.
    pub fn sqlite() -> Storage {
        Storage {
            dir: tempfile::tempdir().unwrap(),
            database: None,
        }
    }

    /// A fresh data directory with the PostgreSQL database at `url`.
    pub fn postgres(url: &str) -> Storage {
        Storage {
            dir: tempfile::tempdir().unwrap(),
            database: Some(url.to_owned()),
        }
    }

    /// The arguments that name this storage to the binary.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(url) = &self.database {
            args.extend(["--database".to_owned(), url.clone()]);
        }
        args
    }

    /// The app on this storage, as the binary opens it (with cheap password hashing).
    pub async fn open(&self) -> App {
        let config = match &self.database {
            Some(url) => StoreConfig::Postgres {
                url: url.clone(),
                pool_size: 4,
            },
            None => StoreConfig::Sqlite {
                data_dir: self.dir.path().to_path_buf(),
            },
        };
        App::open(
            &config,
            AppSettings {
                audit_key_file: Some(self.dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
                ..AppSettings::insecure_fast_for_tests()
            },
        )
        .await
        .unwrap()
    }
}

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

/// Bootstraps a fresh platform and builds the [`Tree`].
pub async fn tree(app: &App) -> Tree {
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
        .login("admin", ADMIN_PASSWORD, None)
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
