//! The one harness of the tests of the real `nigehban` binary: the command with
//! a clean environment, `nigehban serve` started on a free port and waited for,
//! HTTP exchanges over real sockets, signing in, API tokens, users made with
//! `admin create-user`, and sensors.

// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The password of the administrator `chief` that [`create_administrator`] makes.
pub const PASSWORD: &str = "correct horse battery staple";

/// The binary under test, with a clean `NIGEHBAN_*` environment.
pub fn nigehban() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nigehban"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NIGEHBAN_") {
            command.env_remove(name);
        }
    }
    command.env("NIGEHBAN_LOG", "warn");
    command
}

/// `nigehban serve` on an ephemeral loopback port, still to be given its storage.
pub fn serve() -> Command {
    let mut command = nigehban();
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    command
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on loopback `port`; fails naming `what`.
pub fn wait_for_port(port: u16, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `nigehban serve`, killed when dropped (its [`Process`]); what it printed before it
/// listened is read into the fields.
pub struct Server {
    process: Process,
    /// Where the HTTP API listens.
    pub address: SocketAddr,
    /// The first administrator's user name, printed on first start.
    pub admin: Option<String>,
    /// The one-time password printed on first start, if one was.
    pub one_time_password: Option<String>,
    /// The line saying where it listens and on which storage.
    pub listening_line: String,
    /// `udp`/`tcp`/`tls` → where the syslog listener listens, when asked for.
    pub syslog: HashMap<String, SocketAddr>,
    /// Where `/metrics` alone is served, when asked for.
    pub metrics: Option<SocketAddr>,
}

impl Server {
    /// Starts `nigehban serve` on `data_dir` and waits until it listens.
    pub fn start(data_dir: &Path) -> Server {
        let mut command = serve();
        command.arg("--data-dir").arg(data_dir);
        Server::spawn(command)
    }

    /// Starts `nigehban serve` on `data_dir` with extra arguments and
    /// environment, its session cookies allowed over the tests' plain HTTP.
    pub fn start_with(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = serve();
        command
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("NIGEHBAN_SECURE_COOKIES", "false")
            .envs(env.iter().copied());
        Server::spawn(command)
    }

    /// Spawns a `serve` command (see [`serve`]) and waits until it says where it listens.
    pub fn spawn(mut command: Command) -> Server {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take();
        // From here on the child is owned by `server`, whose drop kills and reaps it.
        let mut server = Server {
            process: Process(child),
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin: None,
            one_time_password: None,
            listening_line: String::new(),
            syslog: HashMap::new(),
            metrics: None,
        };
        let stdout = stdout.expect("stdout is piped");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("nigehban serve did not start listening"));
            if let Some(rest) = line.strip_prefix("nigehban:   username: ") {
                server.admin = Some(rest.trim().to_owned());
            }
            if let Some(password) = line.split("one-time password: ").nth(1) {
                server.one_time_password = Some(password.trim().to_owned());
            }
            if let Some(rest) = line.strip_prefix("nigehban: syslog over ") {
                let (transport, address) = rest.split_once(" on ").unwrap();
                server
                    .syslog
                    .insert(transport.to_owned(), address.trim().parse().unwrap());
            }
            if let Some(rest) = line.strip_prefix("nigehban: metrics on http://") {
                server.metrics = Some(rest.trim_end_matches("/metrics").parse().unwrap());
            }
            if let Some(rest) = line.split("serving on http://").nth(1) {
                server.address = rest.split('/').next().unwrap().parse().unwrap();
                server.listening_line = line.clone();
                // Keep reading stdout so the server never blocks on a full pipe.
                std::thread::spawn(move || while lines.recv().is_ok() {});
                return server;
            }
        }
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A console URL as a browser sees it: at http://localhost, where Chromium
    /// accepts `Secure` cookies, so that the default (secure) cookies are tested.
    pub fn console_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.address.port())
    }

    /// Sends SIGTERM and waits (a minute at most) for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.process.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.process.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "nigehban serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.process.0.kill().unwrap();
        self.process.0.wait().unwrap();
    }
}

/// An HTTP answer read from a real socket.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers, as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON, or `null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the first header called `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Asserts the API's error shape with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.json()["error"]["code"], code, "{}", self.text());
    }
}

/// One HTTP/1.1 exchange over a fresh connection; `Err` if the connection fails
/// or the answer is cut short.
pub fn try_http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    // Read the head, then exactly the body it announces: chromedriver keeps
    // the connection open whatever `Connection: close` says.
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    let split = loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break split;
        }
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "no HTTP head in {:?}",
                String::from_utf8_lossy(&raw)
            )));
        }
        raw.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut body = raw[split + 4..].to_vec();
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < length {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                return Err(std::io::Error::other("the connection closed inside a body"));
            }
            body.extend_from_slice(&buffer[..n]);
        }
        body.truncate(length);
    } else {
        stream.read_to_end(&mut body)?;
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body)?;
        }
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// One HTTP/1.1 exchange over a fresh connection; fails the test if it cannot be made.
pub fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    try_http(address, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} on {address}: {e}"))
}

/// [`http`] with a JSON body, when there is one.
pub fn http_json(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Answer {
    let Some(body) = body else {
        return http(address, method, path, headers, b"");
    };
    let mut with_type = vec![("Content-Type", "application/json")];
    with_type.extend_from_slice(headers);
    http(
        address,
        method,
        path,
        &with_type,
        &serde_json::to_vec(body).unwrap(),
    )
}

/// The body of a chunked transfer; an error if it was cut short.
fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| std::io::Error::other("cut chunk"))?;
        let size_text = String::from_utf8_lossy(&data[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(std::io::Error::other)?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(std::io::Error::other("cut chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The `Authorization` header's value for an API token.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A signed-in session: its cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session cookie, `name=value`.
    pub cookie: String,
    /// The CSRF token that changes in the session must carry.
    pub csrf: String,
}

impl Session {
    /// Signs in over the API; fails the test unless it is let in. The answer is returned too.
    pub fn sign_in(address: SocketAddr, username: &str, password: &str) -> (Session, Answer) {
        let answer = http_json(
            address,
            "POST",
            "/api/v1/auth/login",
            &[],
            Some(&json!({"username": username, "password": password})),
        );
        assert_eq!(answer.status, 200, "{}", answer.text());
        let cookie = answer
            .header("set-cookie")
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let csrf = answer.json()["csrf_token"].as_str().unwrap().to_owned();
        (Session { cookie, csrf }, answer)
    }

    /// The headers that send a request in this session.
    pub fn headers(&self) -> [(&str, &str); 2] {
        [
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", self.csrf.as_str()),
        ]
    }

    /// A JSON request in this session.
    pub fn call(
        &self,
        address: SocketAddr,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        http_json(address, method, path, &self.headers(), body)
    }

    /// Makes an API token (`body` as `POST /api/v1/tokens` takes it: name,
    /// tenant, role); its secret. API tokens make no tokens: this is done in a session.
    pub fn api_token(&self, address: SocketAddr, body: &Value) -> String {
        let created = self.call(address, "POST", "/api/v1/tokens", Some(body));
        assert_eq!(created.status, 201, "{}", created.text());
        created.json()["secret"].as_str().unwrap().to_owned()
    }
}

/// A sensor registered over the API.
pub struct Sensor {
    /// Its id.
    pub id: String,
    /// Its ingest token.
    pub token: String,
}

/// Registers a sensor (`body` as `POST /api/v1/sensors` takes it) with an API token.
pub fn register_sensor(address: SocketAddr, token: &str, body: &Value) -> Sensor {
    let registered = http_json(
        address,
        "POST",
        "/api/v1/sensors",
        &[("Authorization", &bearer(token))],
        Some(body),
    );
    assert_eq!(registered.status, 201, "{}", registered.text());
    let json = registered.json();
    Sensor {
        id: json["sensor"]["id"].as_str().unwrap().to_owned(),
        token: json["secret"].as_str().unwrap().to_owned(),
    }
}

/// Creates a user with `admin create-user` on the store `storage` names (the
/// first one sets the platform up); `extra` adds arguments such as `--role`.
/// Fails the test unless it succeeds; what it printed.
pub fn create_user(storage: &[&str], username: &str, extra: &[&str], password: &str) -> Output {
    let mut create = nigehban()
        .args(["admin", "create-user", "--username", username])
        .args(extra)
        .arg("--password-stdin")
        .args(storage)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let output = create.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    output
}

/// Creates the administrator `chief` with [`PASSWORD`] before the first start,
/// in `data_dir` and on the store `storage` names (nothing more: SQLite there).
pub fn create_administrator(data_dir: &Path, storage: &[&str]) {
    let mut args = vec!["--data-dir", data_dir.to_str().unwrap()];
    args.extend_from_slice(storage);
    create_user(&args, "chief", &[], PASSWORD);
}
