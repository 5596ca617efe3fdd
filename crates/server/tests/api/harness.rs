//! A platform on a temporary embedded store, its router, and request helpers.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use nigehban_app::model::{
    DisplayName, Password, Role, Sector, Tenant, TenantKind, TenantName, Username,
};
use nigehban_app::{
    App, AppSettings, BootstrapOutcome, BootstrapRequest, Caller, NewApiToken, NewTenant, NewUser,
    StoreConfig,
};
use nigehban_server::{ServerOptions, ServerState};
use serde_json::Value;
use tower::ServiceExt as _;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// The body limit the test router is built with.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The body limit of `POST /api/v1/ingest` in the test router.
pub const INGEST_BODY_LIMIT: usize = 256 * 1024;

/// The decompressed-size limit of an ingest request in the test platform.
pub const INGEST_DECOMPRESSED_LIMIT: usize = 1024 * 1024;

/// A bootstrapped platform on a temporary SQLite store.
pub struct Platform {
    pub app: App,
    pub router: Router,
    /// The state the router was built from (for serving it on a socket).
    pub state: ServerState,
    pub root: Tenant,
    pub operator: Caller,
    /// Telemetry intake and search, running on an embedded bus in the platform's directory.
    pub telemetry: Option<nigehban_node::TelemetryRuntime>,
    _dir: tempfile::TempDir,
}

impl Platform {
    /// A fresh platform whose administrator `admin` has [`PASSWORD`].
    pub async fn new() -> Self {
        Self::with_options(Self::options()).await
    }

    /// The options [`Platform::new`] serves with.
    pub fn options() -> ServerOptions {
        ServerOptions {
            max_body_bytes: BODY_LIMIT,
            request_timeout: Duration::from_secs(20),
            secure_cookies: true,
            max_ingest_body_bytes: INGEST_BODY_LIMIT,
            ..ServerOptions::default()
        }
    }

    /// A fresh platform served with `options`.
    pub async fn with_options(options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        };
        Self::on_store(store, dir, options, false).await
    }

    /// Like [`Platform::new`], with live detection on the platform's stored
    /// rules (reloaded when they change), as `nigehban serve` runs it.
    pub async fn with_live_detection() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        };
        Self::on_store(store, dir, Self::options(), true).await
    }

    /// Like [`Platform::new`] on PostgreSQL, in a fresh database of its own, or
    /// `None` (skipped) when no server is configured and none is required.
    pub async fn on_postgres() -> Option<Self> {
        let url = postgres_database().await?;
        let store = StoreConfig::Postgres { url, pool_size: 4 };
        let dir = tempfile::tempdir().unwrap();
        let options = ServerOptions {
            max_body_bytes: BODY_LIMIT,
            request_timeout: Duration::from_secs(20),
            secure_cookies: true,
            max_ingest_body_bytes: INGEST_BODY_LIMIT,
            ..ServerOptions::default()
        };
        Some(Self::on_store(store, dir, options, false).await)
    }

    /// A fresh platform on `store`, its bus and index in `dir`.
    async fn on_store(
        store: StoreConfig,
        dir: tempfile::TempDir,
        options: ServerOptions,
        live_detection: bool,
    ) -> Self {
        let settings = AppSettings {
            audit_key_file: Some(dir.path().join(nigehban_app::AUDIT_KEY_FILE)),
            ..AppSettings::insecure_fast_for_tests()
        };
        let app = App::open(&store, settings).await.unwrap();
        let outcome = app
            .bootstrap(BootstrapRequest {
                national_name: TenantName::parse("National CERT").unwrap(),
                admin_username: Username::parse("admin").unwrap(),
                admin_display_name: DisplayName::parse("Administrator").unwrap(),
                admin_password: Some(Password::parse(PASSWORD).unwrap()),
            })
            .await
            .unwrap();
        let BootstrapOutcome::Created { root, .. } = outcome else {
            panic!("fresh store was already bootstrapped");
        };
        let operator = app.operator(None).await.unwrap();
        let mut config = nigehban_node::TelemetryConfig::new(nigehban_bus::BusLocation::Embedded(
            nigehban_bus::EmbeddedOptions::new(dir.path()),
        ));
        config.intake.http.max_decompressed_bytes = INGEST_DECOMPRESSED_LIMIT;
        config.intake.health_check_every = Duration::from_millis(200);
        if live_detection {
            let mut detection = nigehban_node::DetectionConfig::platform(
                nigehban_node::PlatformRules::new(Vec::new()),
            );
            detection.stage.idle_wait = Duration::from_millis(100);
            config.detection = Some(detection);
        }
        let telemetry = nigehban_node::TelemetryRuntime::start(app.clone(), dir.path(), config)
            .await
            .unwrap();
        let state = ServerState::new(app.clone(), options).with_telemetry(telemetry.telemetry());
        let router = nigehban_server::router(state.clone());
        Self {
            app,
            router,
            state,
            root,
            operator,
            telemetry: Some(telemetry),
            _dir: dir,
        }
    }

    /// Registers a sensor (as the operator) in `tenant`; its token's secret is in the answer.
    pub async fn sensor(&self, tenant: &Tenant) -> nigehban_app::IssuedSensorToken {
        let name = format!(
            "sensor {}",
            &nigehban_app::model::UserId::new().to_string()[24..]
        );
        let issued = self
            .app
            .sensors()
            .register(
                &self.operator,
                nigehban_app::NewSensor {
                    tenant: Some(tenant.id),
                    ..nigehban_app::NewSensor::new(
                        nigehban_app::model::SensorName::parse(&name).unwrap(),
                        nigehban_app::model::SensorKind::Other,
                    )
                },
            )
            .await
            .unwrap();
        if let Some(runtime) = &self.telemetry {
            runtime.telemetry().sensor_changed(&issued.sensor);
        }
        issued
    }

    /// Sends a request through the router (no socket).
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            json,
        }
    }

    /// Creates a tenant as the operator.
    pub async fn tenant(&self, parent: &Tenant, name: &str, kind: TenantKind) -> Tenant {
        self.app
            .tenants()
            .create(
                &self.operator,
                NewTenant {
                    parent: parent.id,
                    name: TenantName::parse(name).unwrap(),
                    kind,
                },
            )
            .await
            .unwrap()
    }

    /// Creates a sectoral CERT under the root.
    pub async fn sector(&self, name: &str, sector: Sector) -> Tenant {
        let root = self.root.clone();
        self.tenant(&root, name, TenantKind::Sectoral { sector })
            .await
    }

    /// Creates an organisation under `parent`.
    pub async fn organisation(&self, parent: &Tenant, name: &str) -> Tenant {
        self.tenant(
            parent,
            name,
            TenantKind::Organisation {
                critical_infrastructure: false,
            },
        )
        .await
    }

    /// Creates a user with [`PASSWORD`] as the operator.
    pub async fn user(
        &self,
        tenant: &Tenant,
        username: &str,
        role: Role,
    ) -> nigehban_app::model::User {
        self.app
            .users()
            .create(
                &self.operator,
                NewUser {
                    tenant: tenant.id,
                    username: Username::parse(username).unwrap(),
                    display_name: DisplayName::parse(username).unwrap(),
                    role,
                    password: Some(Password::parse(PASSWORD).unwrap()),
                },
            )
            .await
            .unwrap()
            .user
    }

    /// Signs `username` in through the API and returns its credentials, with an API token too.
    pub async fn sign_in(&self, username: &str) -> Credentials {
        let answer = self
            .send(
                call(Method::POST, "/api/v1/auth/login")
                    .json(&serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "sign-in of {username}: {}",
            answer.text
        );
        let cookie = answer
            .session_cookie()
            .expect("login sets the session cookie");
        let csrf = answer.json["csrf_token"].as_str().unwrap().to_owned();
        let signed_in = self.app.auth().session(&cookie, None).await.unwrap();
        let token = self
            .app
            .tokens()
            .create(
                &signed_in.caller,
                NewApiToken {
                    name: nigehban_app::model::TokenName::parse("test").unwrap(),
                    tenant: None,
                    role: None,
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        Credentials {
            cookie,
            csrf,
            token: token.secret.expose().to_owned(),
        }
    }
}

/// A fresh database on the PostgreSQL server of `NIGEHBAN_TEST_POSTGRES_URL`,
/// or `None` when it is unset (a failure under `NIGEHBAN_REQUIRE_SERVICES=1`).
async fn postgres_database() -> Option<String> {
    let Ok(url) = std::env::var("NIGEHBAN_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("NIGEHBAN_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "NIGEHBAN_TEST_POSTGRES_URL is not set but NIGEHBAN_REQUIRE_SERVICES=1"
        );
        eprintln!("skipped: NIGEHBAN_TEST_POSTGRES_URL not set");
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let name = format!("nigehban_api_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(client);
    let _ = connection.await;
    let (base, _) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(format!("{server}/{name}"))
}

/// How a test caller authenticates.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The session cookie's value.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// An API token of the same user, tenant and role.
    pub token: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    /// The session cookie's value set by this response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{}=", nigehban_server::SECURE_SESSION_COOKIE)))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// The stable error code of an error response.
    pub fn code(&self) -> &str {
        self.json["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    /// Asserts an error response with this status and code, in the API's shape.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
        assert!(
            self.json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text
        );
        assert!(
            self.headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "error is not JSON: {:?}",
            self.headers
        );
    }
}

/// Starts building a request.
pub fn call(method: Method, uri: &str) -> Call {
    Call {
        builder: Request::builder().method(method).uri(uri),
    }
}

/// A request being built.
pub struct Call {
    builder: axum::http::request::Builder,
}

impl Call {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// Authenticates with a bearer token.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Authenticates with a session cookie and its CSRF token.
    pub fn session(self, credentials: &Credentials) -> Self {
        self.header(
            "cookie",
            &format!(
                "{}={}",
                nigehban_server::SECURE_SESSION_COOKIE,
                credentials.cookie
            ),
        )
        .header("x-csrf-token", &credentials.csrf)
    }

    /// A JSON body.
    pub fn json(self, value: &Value) -> Request<Body> {
        self.header("content-type", "application/json")
            .builder
            .body(Body::from(serde_json::to_vec(value).unwrap()))
            .unwrap()
    }

    /// A raw body with a content type.
    pub fn raw(self, content_type: &str, body: impl Into<Body>) -> Request<Body> {
        self.header("content-type", content_type)
            .builder
            .body(body.into())
            .unwrap()
    }

    /// No body.
    pub fn empty(self) -> Request<Body> {
        self.builder.body(Body::empty()).unwrap()
    }
}
