//! A platform with a small tenant tree, and callers made the way the server makes them.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::net::IpAddr;

use nigehban_app::model::{DisplayName, Password, Role, Tenant, TenantId, Username};
use nigehban_app::{App, AppSettings, Caller, NewUser, StoreConfig};

#[path = "tree.rs"]
mod tree;
// Not every test binary names each of these.
#[allow(unused_imports)]
pub use tree::{ADMIN_PASSWORD, token, tree};

/// national ─┬─ telecom ─── operator
///           └─ banking ─── bank
pub struct World {
    pub app: App,
    pub dir: tempfile::TempDir,
    pub root_admin: Caller,
    pub national: Tenant,
    pub telecom: Tenant,
    pub banking: Tenant,
    pub operator: Tenant,
    pub bank: Tenant,
}

/// A fresh SQLite-backed platform with cheap password hashing.
pub async fn app_with(settings: AppSettings) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(
        &StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        },
        settings,
    )
    .await
    .unwrap();
    (app, dir)
}

/// Bootstraps with `admin` / [`ADMIN_PASSWORD`] and builds the tree.
pub async fn world() -> World {
    world_with(AppSettings::insecure_fast_for_tests()).await
}

/// Like [`world`], with other settings.
pub async fn world_with(settings: AppSettings) -> World {
    let (app, dir) = app_with(settings).await;
    world_on(app, dir).await
}

/// Like [`world`], on PostgreSQL in a fresh database of its own, or `None`
/// (skipped) when no server is configured.
pub async fn postgres_world() -> Option<World> {
    let url = postgres_database().await?;
    let dir = tempfile::tempdir().unwrap();
    let settings = AppSettings {
        audit_key_file: Some(dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
        ..AppSettings::insecure_fast_for_tests()
    };
    let app = App::open(&StoreConfig::Postgres { url, pool_size: 4 }, settings)
        .await
        .unwrap();
    Some(world_on(app, dir).await)
}

/// Bootstraps an empty platform and builds the tree.
pub async fn world_on(app: App, dir: tempfile::TempDir) -> World {
    let tree = tree(&app, Some(addr("192.0.2.1"))).await;
    World {
        app,
        dir,
        root_admin: tree.admin,
        national: tree.national,
        telecom: tree.telecom,
        banking: tree.banking,
        operator: tree.operator,
        bank: tree.bank,
    }
}

/// An address.
pub fn addr(text: &str) -> IpAddr {
    text.parse().unwrap()
}

impl World {
    /// A caller acting in `tenant` as `role`, authenticated by an API token
    /// that the root administrator made for it.
    pub async fn caller(&self, tenant: TenantId, role: Role) -> Caller {
        caller(&self.app, &self.root_admin, tenant, role).await
    }

    /// Creates a user with a known password and signs them in; returns the caller.
    pub async fn user(&self, tenant: TenantId, username: &str, role: Role) -> Caller {
        let password = format!("{username} password 123");
        self.app
            .users()
            .create(
                &self.root_admin,
                NewUser {
                    tenant,
                    username: Username::parse(username).unwrap(),
                    display_name: DisplayName::parse(username).unwrap(),
                    role,
                    password: Some(Password::parse(&password).unwrap()),
                },
            )
            .await
            .unwrap();
        self.app
            .auth()
            .login(username, &password, Some(addr("198.51.100.20")))
            .await
            .unwrap()
            .caller
    }
}

/// A caller acting in `tenant` as `role`, via a token `maker` creates.
pub async fn caller(app: &App, maker: &Caller, tenant: TenantId, role: Role) -> Caller {
    let secret = token(app, maker, tenant, role).await;
    app.tokens()
        .authenticate(&secret, Some(addr("203.0.113.5")))
        .await
        .unwrap()
}

/// A fresh PostgreSQL database's URL, or `None` (skipped) without a configured server.
pub async fn postgres_database() -> Option<String> {
    let url = nigehban_testkit::postgres_url()?;
    Some(postgres_database_on(&url).await)
}

/// A fresh database on the PostgreSQL server at `server`; its URL.
pub async fn postgres_database_on(server: &str) -> String {
    let dbname = format!("nigehban_app_test_{}", uuid::Uuid::now_v7().simple());
    admin_sql(server, &format!("CREATE DATABASE {dbname}")).await;
    database_url(server, &dbname)
}

/// Drops the database of `url` (made by [`postgres_database_on`] on `server`).
pub async fn drop_database(server: &str, url: &str) {
    let dbname = url
        .rsplit('/')
        .next()
        .and_then(|rest| rest.split('?').next())
        .unwrap();
    assert!(dbname.starts_with("nigehban_app_test_"), "{url}");
    admin_sql(server, &format!("DROP DATABASE {dbname} WITH (FORCE)")).await;
}

/// Runs one statement on the server's maintenance database.
async fn admin_sql(server: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = connection.await;
}

/// `server`'s URL naming database `dbname` instead.
fn database_url(url: &str, dbname: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, query) = match rest.split_once('?') {
                Some((before, query)) => (before, format!("?{query}")),
                None => (rest, String::new()),
            };
            let host = authority
                .split_once('/')
                .map_or(authority, |(host, _)| host);
            format!("{scheme}://{host}/{dbname}{query}")
        }
        None => format!("{url} dbname={dbname}"),
    }
}
