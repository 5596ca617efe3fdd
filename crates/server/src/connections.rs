//! Serving HTTP/1.1 connections with the limits that keep one client from taking
//! the server away from the others, and graceful shutdown.
//!
//! - **Header timeout.** A connection has [`ConnectionLimits::header_timeout`] to
//!   send a request's head, counted from when it opens or from the end of its
//!   previous answer: a client that sends its headers a byte a second, or keeps an
//!   idle connection open, is disconnected then.
//! - **Connection caps.** At most [`ConnectionLimits::max_connections`] are open
//!   at once, and at most [`ConnectionLimits::max_connections_per_client`] from one
//!   client address (an IPv6 client by its /64 network, which one host usually
//!   holds). A connection over either cap is answered `503 too_many_connections`
//!   with `Retry-After` and closed at once, so the listen queue never fills and
//!   other clients (and `/healthz`) are still served.
//! - **Keep-alive limit.** A connection carries at most
//!   [`ConnectionLimits::max_requests_per_connection`] requests; the last answer
//!   says `Connection: close`.
//! - **Unreadable requests** (not HTTP, a URI over 64 KiB, a request line and
//!   headers over [`MAX_REQUEST_HEAD_BYTES`] or more than 100 headers) are answered
//!   by hyper before any route sees them; [`unreadable`] gives those answers the
//!   API's JSON error shape.
//!
//! A request body that the route did not read is drained or the answer says
//! `Connection: close` ([`crate::layers::finish_request_body`]), so a kept-alive
//! connection never closes under the client's next request.

mod unreadable;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

use crate::error::ApiError;

/// How long a refused client is asked to wait before it connects again.
const REFUSED_RETRY_AFTER_SECONDS: u64 = 1;

/// How long accepting pauses after an error such as running out of file descriptors.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(250);

/// File descriptors kept for everything but client connections (store, bus, index, syslog).
const RESERVED_FILES: u64 = 1024;

/// The largest request line and headers read, in bytes (larger: `431`). A URI is
/// at most 64 KiB (hyper's limit; longer: `414`).
pub const MAX_REQUEST_HEAD_BYTES: usize = 128 * 1024;

/// The limits on the connections of one HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a request's head, from when the connection
    /// opens or its previous answer ended (so also how long an idle connection stays).
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address (IPv6: one /64 network).
    pub max_connections_per_client: usize,
    /// Most requests one connection carries before the server closes it.
    pub max_requests_per_connection: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            max_connections: 4096,
            max_connections_per_client: 128,
            max_requests_per_connection: 1000,
        }
    }
}

/// Counters of the connections a listener saw, for `/metrics`.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    /// Connections open now.
    pub(crate) open: AtomicU64,
    /// Connections accepted and served.
    pub(crate) accepted: AtomicU64,
    /// Connections refused because their client had too many open.
    pub(crate) refused_client_limit: AtomicU64,
    /// Connections refused because the server had too many open.
    pub(crate) refused_server_limit: AtomicU64,
    /// Connections closed because a request's head did not arrive in time.
    pub(crate) header_timeouts: AtomicU64,
    /// Requests hyper could not read, answered 400, 414 or 431 (in that order).
    pub(crate) unreadable: [AtomicU64; 3],
}

/// A listener's limits and the counters it keeps: what [`serve`] needs beside the router.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    /// The limits.
    pub limits: ConnectionLimits,
    /// The counters (shared with `/metrics` by [`crate::ServerState::connections`]).
    pub stats: Arc<ConnectionStats>,
}

/// Serves `router` on `listener` within `connections`' limits until `shutdown`
/// completes, then stops accepting connections and lets in-flight requests finish
/// for at most `grace`.
///
/// Returns `true` when every request finished within the grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: Connections,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<bool> {
    let Connections { limits, stats } = connections;
    raise_open_file_limit(limits.max_connections);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(MAX_REQUEST_HEAD_BYTES)
        .keep_alive(true);
    let http = Arc::new(http);
    let admission = Arc::new(Admission::new(&limits));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !is_connection_error(&error) {
                        // Out of file descriptors, usually: let connections close first.
                        tracing::error!(%error, "cannot accept a connection");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match Admission::admit(&admission, peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                refuse(&stream, refusal, &limits, &stats, peer);
                continue;
            }
        };
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        stats.open.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let io = TokioIo::new(unreadable::ShapedAnswers::new(
            stream,
            Arc::clone(&in_flight),
            Arc::clone(&stats),
        ));
        let service = connection_service(
            router.clone(),
            peer,
            limits.max_requests_per_connection,
            in_flight,
        );
        let connection = graceful.watch(http.serve_connection(io, service));
        let stats = Arc::clone(&stats);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                if error.is_timeout() {
                    stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closed a connection whose request head did not arrive in time");
                } else {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
            }
            stats.open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; waiting for in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => Ok(true),
        () = tokio::time::sleep(grace) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "requests still running after the shutdown grace period; stopping anyway");
            Ok(false)
        }
    }
}

/// The service of one connection: the router, with the peer's address on every
/// request, the keep-alive limit, and a count of answers not yet sent whole.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    max_requests: usize,
    in_flight: Arc<AtomicUsize>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<axum::response::Response, std::convert::Infallible>> + Send,
> + Clone {
    let served = Arc::new(AtomicUsize::new(0));
    hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        let in_flight = Arc::clone(&in_flight);
        let number = served.fetch_add(1, Ordering::Relaxed) + 1;
        async move {
            in_flight.fetch_add(1, Ordering::AcqRel);
            let guard = InFlight(in_flight);
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = router.oneshot(request).await?;
            let (mut parts, body) = response.into_parts();
            if number >= max_requests {
                parts
                    .headers
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            // The answer counts as in flight until hyper has taken its whole body.
            let body = body.map_frame(move |frame| {
                let _ = &guard;
                frame
            });
            Ok(axum::response::Response::from_parts(
                parts,
                axum::body::Body::new(body),
            ))
        }
    })
}

/// Counts an answer in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Its client has too many connections open.
    ClientLimit,
    /// The server has too many connections open.
    ServerLimit,
}

/// The open connections, in total and per client.
#[derive(Debug)]
struct Admission {
    max_total: usize,
    max_per_client: usize,
    open: Mutex<AdmissionState>,
}

#[derive(Debug, Default)]
struct AdmissionState {
    total: usize,
    per_client: HashMap<ClientKey, usize>,
}

/// A client as the per-client cap counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4([u8; 4]),
    /// The /64 network of an IPv6 address.
    V6([u8; 8]),
}

impl ClientKey {
    fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let octets = v6.octets();
                    let mut network = [0u8; 8];
                    network.copy_from_slice(octets.get(..8).unwrap_or(&[0; 8]));
                    ClientKey::V6(network)
                }
            },
        }
    }
}

/// A place among the open connections, given back when dropped.
#[derive(Debug)]
struct Permit {
    admission: Arc<Admission>,
    client: ClientKey,
}

impl Admission {
    fn new(limits: &ConnectionLimits) -> Self {
        Self {
            max_total: limits.max_connections.max(1),
            max_per_client: limits.max_connections_per_client.max(1),
            open: Mutex::new(AdmissionState::default()),
        }
    }

    fn admit(this: &Arc<Self>, address: IpAddr) -> Result<Permit, Refusal> {
        let client = ClientKey::of(address);
        let mut open = nigehban_node::lock(&this.open);
        if open.per_client.get(&client).copied().unwrap_or(0) >= this.max_per_client {
            return Err(Refusal::ClientLimit);
        }
        if open.total >= this.max_total {
            return Err(Refusal::ServerLimit);
        }
        open.total += 1;
        *open.per_client.entry(client).or_insert(0) += 1;
        Ok(Permit {
            admission: Arc::clone(this),
            client,
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = nigehban_node::lock(&self.admission.open);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

/// Answers a refused connection `503` (if its socket takes the bytes at once) and closes it.
fn refuse(
    stream: &TcpStream,
    refusal: Refusal,
    limits: &ConnectionLimits,
    stats: &ConnectionStats,
    peer: SocketAddr,
) {
    let message = match refusal {
        Refusal::ClientLimit => {
            stats.refused_client_limit.fetch_add(1, Ordering::Relaxed);
            format!(
                "too many connections from your address (at most {} at once): close some and retry",
                limits.max_connections_per_client
            )
        }
        Refusal::ServerLimit => {
            stats.refused_server_limit.fetch_add(1, Ordering::Relaxed);
            format!(
                "the server has too many connections open (at most {}): retry shortly",
                limits.max_connections
            )
        }
    };
    tracing::debug!(%peer, ?refusal, "connection refused");
    let error = ApiError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "too_many_connections",
        message,
    );
    let answer = unreadable::closing_answer(&error, Some(REFUSED_RETRY_AFTER_SECONDS));
    // A fresh socket's send buffer is empty: the answer fits, without waiting on the client.
    let _ = stream.try_write(&answer);
}

/// Errors of one connection that says nothing about the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Raises the soft limit on open files towards the hard limit so that `connections`
/// client connections fit beside the server's own files; warns when they cannot.
fn raise_open_file_limit(connections: usize) {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let wanted = u64::try_from(connections)
            .unwrap_or(u64::MAX)
            .saturating_add(RESERVED_FILES);
        let limit = getrlimit(Resource::Nofile);
        let current = limit.current.unwrap_or(u64::MAX);
        if current >= wanted {
            return;
        }
        let ceiling = limit.maximum.unwrap_or(u64::MAX);
        let raised = wanted.min(ceiling);
        if raised > current
            && setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(raised),
                    maximum: limit.maximum,
                },
            )
            .is_ok()
            && raised >= wanted
        {
            return;
        }
        tracing::warn!(
            open_files = raised.max(current),
            max_connections = connections,
            "the open-file limit is below max_connections plus the server's own files: raise it (ulimit -n, LimitNOFILE=) or lower max_connections"
        );
    }
    #[cfg(not(unix))]
    let _ = connections;
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn clients_are_counted_by_ipv4_address_and_ipv6_network() {
        let limits = ConnectionLimits {
            max_connections: 5,
            max_connections_per_client: 2,
            ..ConnectionLimits::default()
        };
        let admission = Arc::new(Admission::new(&limits));
        let a: IpAddr = Ipv4Addr::new(192, 0, 2, 1).into();
        let mapped: IpAddr = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped().into();
        let first = Admission::admit(&admission, a).unwrap();
        let _second = Admission::admit(&admission, mapped).unwrap();
        assert_eq!(
            Admission::admit(&admission, a).unwrap_err(),
            Refusal::ClientLimit
        );
        // One /64 is one client; another /64 is another.
        let host1: IpAddr = "2001:db8:1:2::1".parse::<Ipv6Addr>().unwrap().into();
        let host2: IpAddr = "2001:db8:1:2:ffff::9".parse::<Ipv6Addr>().unwrap().into();
        let other: IpAddr = "2001:db8:1:3::1".parse::<Ipv6Addr>().unwrap().into();
        let _h1 = Admission::admit(&admission, host1).unwrap();
        let _h2 = Admission::admit(&admission, host2).unwrap();
        assert_eq!(
            Admission::admit(&admission, host1).unwrap_err(),
            Refusal::ClientLimit
        );
        let _o = Admission::admit(&admission, other).unwrap();
        // Five open: the server is full for everyone.
        assert_eq!(
            Admission::admit(&admission, Ipv4Addr::new(198, 51, 100, 7).into()).unwrap_err(),
            Refusal::ServerLimit
        );
        // A closed connection frees its place.
        drop(first);
        let _again = Admission::admit(&admission, a).unwrap();
        assert_eq!(nigehban_node::lock(&admission.open).total, 5);
    }
}
