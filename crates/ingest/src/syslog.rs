//! Syslog listeners: UDP, TCP and TLS (RFC 5426, RFC 6587, RFC 5425).
//!
//! # How records flow
//!
//! ```text
//! UDP socket ─► receiver task ─► bounded queue ─► publisher task ─► bus
//!               (sensor lookup;   (full: drop,     (normalise, publish
//!                no parsing)       count per        what gathered, one
//!                                  sensor)          durable batch)
//! TCP/TLS conn ─► reader task ─► bounded queue ─► publisher task ─► bus
//!                 (framing,        (full: reader
//!                  normalise)       waits = TCP
//!                                   backpressure)
//! ```
//!
//! Each TCP or TLS connection has its own reader and publisher; while a
//! publish waits for durability the next records gather, so batches grow
//! with load ([`crate::gather`]). A connection's framing (octet counting or
//! line feeds, RFC 6587) is recognised per message. The sender is identified
//! once per connection (per datagram for UDP, cached): by its TLS client
//! certificate when it presented one, else by its address; unknown senders
//! are refused or tagged ([`crate::UnknownSenderPolicy`]).
//!
//! Every message becomes one event (lenient RFC 5424 / RFC 3164 parsing, CEF
//! inside syslog read too); only empty messages and frames over the size
//! limit are refused, and counted.
//!
//! Shutdown ([`SyslogListeners::shutdown`]) stops accepting and reading,
//! publishes everything already received, and then returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use nigehban_bus::{EventBus, Record};
use nigehban_normalise::{Format, FrameDecoder, Framing, SourceHint, normalise};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::gather::Gather;
use crate::intake::{Intake, Pending, Shared};
use crate::metrics::{Tally, Transport};
use crate::sensor::{ClientCertificate, SensorDirectory, SensorStamp, flag_unexpected_format};
use crate::tls::{TlsError, TlsSettings};
use nigehban_normalise::envelope::{EVENT_CONTENT_TYPE, encode_event, new_event_id};

/// Which syslog listeners to start, and their limits.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// Address for syslog over UDP (RFC 5426), e.g. `0.0.0.0:514`.
    pub udp: Option<SocketAddr>,
    /// Address for syslog over TCP (RFC 6587), e.g. `0.0.0.0:601`.
    pub tcp: Option<SocketAddr>,
    /// Address and settings for syslog over TLS (RFC 5425), e.g. `0.0.0.0:6514`.
    pub tls: Option<(SocketAddr, TlsSettings)>,
    /// Longest message, in bytes; longer frames are refused and counted.
    pub max_message_bytes: usize,
    /// How TCP and TLS streams are framed (default: recognised per message).
    pub framing: Framing,
    /// Datagrams the UDP queue holds; beyond, datagrams are dropped and counted.
    pub udp_queue: usize,
    /// Kernel receive buffer asked for on the UDP socket, in bytes.
    pub udp_receive_buffer: usize,
    /// Most records in one publish.
    pub max_batch: usize,
    /// Most open connections per listener (TCP, TLS); more are refused.
    pub max_connections: usize,
    /// Time allowed for a TLS handshake.
    pub tls_handshake_timeout: Duration,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: None,
            tcp: None,
            tls: None,
            max_message_bytes: 64 * 1024,
            framing: Framing::Auto,
            udp_queue: 100_000,
            udp_receive_buffer: 8 * 1024 * 1024,
            max_batch: 5_000,
            max_connections: 1024,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A listener could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The address could not be bound.
    #[error("cannot listen for syslog over {transport} on {address}: {source}")]
    Bind {
        /// `udp`, `tcp` or `tls`.
        transport: &'static str,
        /// The address.
        address: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The TLS settings are unusable.
    #[error("syslog over TLS: {0}")]
    Tls(#[from] TlsError),
}

/// Running syslog listeners. Dropping this stops them without waiting; call
/// [`SyslogListeners::shutdown`] to stop them gracefully.
#[derive(Debug)]
pub struct SyslogListeners {
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    tls: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SyslogListeners {
    /// The UDP listener's bound address.
    pub fn udp_address(&self) -> Option<SocketAddr> {
        self.udp
    }

    /// The TCP listener's bound address.
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        self.tcp
    }

    /// The TLS listener's bound address.
    pub fn tls_address(&self) -> Option<SocketAddr> {
        self.tls
    }

    /// Stops accepting and reading, publishes everything already received,
    /// and waits up to `grace` for that; `false` if the time ran out (what
    /// was still unpublished is then abandoned, and was never acknowledged to
    /// anyone: syslog has no acknowledgements).
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut self.tasks);
        let all = async {
            for task in tasks {
                if let Err(error) = task.await
                    && error.is_panic()
                {
                    tracing::error!(%error, "syslog listener task panicked");
                }
            }
        };
        tokio::time::timeout(grace, all).await.is_ok()
    }
}

impl Drop for SyslogListeners {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl<B: EventBus, D: SensorDirectory> Intake<B, D> {
    /// Binds the configured syslog listeners and starts serving them.
    /// Fails, with nothing started, if an address cannot be bound or the
    /// TLS settings are unusable.
    pub async fn start_syslog(&self, config: SyslogConfig) -> Result<SyslogListeners, ListenError> {
        let (stop, _) = watch::channel(false);
        let mut listeners = SyslogListeners {
            udp: None,
            tcp: None,
            tls: None,
            stop,
            tasks: Vec::new(),
        };
        let limits = Arc::new(Limits::from(&config));
        // Bind everything first, so that a failure starts nothing.
        let udp = match config.udp {
            Some(address) => Some(bind_udp(address, config.udp_receive_buffer)?),
            None => None,
        };
        let tcp = match config.tcp {
            Some(address) => Some(bind_tcp("tcp", address).await?),
            None => None,
        };
        let tls = match &config.tls {
            Some((address, settings)) => {
                let acceptor = TlsAcceptor::from(Arc::new(settings.server_config()?));
                Some((bind_tcp("tls", *address).await?, acceptor))
            }
            None => None,
        };
        if let Some(socket) = udp {
            listeners.udp = socket.local_addr().ok();
            tracing::info!(address = ?listeners.udp, "syslog over UDP listening");
            listeners.tasks.push(tokio::spawn(run_udp(
                self.shared.clone(),
                socket,
                limits.clone(),
                listeners.stop.subscribe(),
            )));
        }
        if let Some(listener) = tcp {
            listeners.tcp = listener.local_addr().ok();
            tracing::info!(address = ?listeners.tcp, "syslog over TCP listening");
            listeners.tasks.push(tokio::spawn(run_stream_listener(
                self.shared.clone(),
                listener,
                None,
                limits.clone(),
                listeners.stop.subscribe(),
            )));
        }
        if let Some((listener, acceptor)) = tls {
            listeners.tls = listener.local_addr().ok();
            tracing::info!(address = ?listeners.tls, "syslog over TLS listening");
            listeners.tasks.push(tokio::spawn(run_stream_listener(
                self.shared.clone(),
                listener,
                Some(acceptor),
                limits,
                listeners.stop.subscribe(),
            )));
        }
        Ok(listeners)
    }
}

/// The parts of [`SyslogConfig`] the tasks need (without the TLS key).
#[derive(Debug)]
struct Limits {
    max_message_bytes: usize,
    framing: Framing,
    udp_queue: usize,
    max_batch: usize,
    max_connections: usize,
    tls_handshake_timeout: Duration,
}

impl From<&SyslogConfig> for Limits {
    fn from(config: &SyslogConfig) -> Self {
        Limits {
            max_message_bytes: config.max_message_bytes,
            framing: config.framing,
            udp_queue: config.udp_queue,
            max_batch: config.max_batch.max(1),
            max_connections: config.max_connections.max(1),
            tls_handshake_timeout: config.tls_handshake_timeout,
        }
    }
}

fn bind_udp(address: SocketAddr, receive_buffer: usize) -> Result<UdpSocket, ListenError> {
    let error = |source| ListenError::Bind {
        transport: "udp",
        address,
        source,
    };
    let domain = socket2::Domain::for_address(address);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(error)?;
    if address.is_ipv6() {
        // `[::]` takes IPv4 senders too where the system allows it.
        let _ = socket.set_only_v6(false);
    }
    if let Err(problem) = socket.set_recv_buffer_size(receive_buffer) {
        tracing::warn!(%problem, "cannot enlarge the UDP receive buffer");
    }
    socket.bind(&address.into()).map_err(error)?;
    socket.set_nonblocking(true).map_err(error)?;
    UdpSocket::from_std(socket.into()).map_err(error)
}

async fn bind_tcp(
    transport: &'static str,
    address: SocketAddr,
) -> Result<TcpListener, ListenError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ListenError::Bind {
            transport,
            address,
            source,
        })
}

/// Resolves once the listeners are told to stop (or their handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The hint syslog from one sensor is normalised with.
fn syslog_hint(stamp: &SensorStamp, peer: SocketAddr) -> SourceHint {
    let format = match stamp.declared_format() {
        Format::Cef => Format::Cef,
        _ => Format::Syslog,
    };
    let mut hint = SourceHint::new(format, OffsetDateTime::UNIX_EPOCH);
    hint.tenant_id = Some(stamp.tenant_id.clone());
    hint.sensor_id = Some(stamp.sensor_id.clone());
    hint.host_os_type = stamp.host_os_type.clone();
    hint.utc_offset = stamp.utc_offset;
    hint.source_address = Some(crate::sensor::canonical_ip(peer.ip()).to_string());
    hint
}

/// One syslog message as a bus record, and whether it is of a format the
/// sensor is not registered to send (then flagged on the event, and kept);
/// `Err` (the reason) if it is refused.
fn syslog_record(
    message: &[u8],
    hint: &SourceHint,
    stamp: &SensorStamp,
    received_at: SystemTime,
    max_event_bytes: usize,
) -> Result<(Record, bool), String> {
    let mut event = match normalise(message, hint) {
        Ok(event) => event,
        // A CEF sensor's message that is not CEF is read as syslog, kept and flagged.
        Err(error) if hint.format == Format::Cef => {
            let mut syslog = hint.clone();
            syslog.format = Format::Syslog;
            normalise(message, &syslog).map_err(|_| error.to_string())?
        }
        Err(error) => return Err(error.to_string()),
    };
    let unexpected = flag_unexpected_format(stamp, &mut event);
    let id = new_event_id();
    let payload = encode_event(id, &event).map_err(|error| error.to_string())?;
    let record = Record {
        tenant_id: stamp.tenant_id.clone(),
        sensor_id: stamp.sensor_id.clone(),
        received_at,
        content_type: EVENT_CONTENT_TYPE.to_owned(),
        payload,
        // A publish retried after a failure is stored once.
        id: Some(id.to_string()),
    };
    record
        .validate(max_event_bytes)
        .map_err(|error| error.to_string())?;
    Ok((record, unexpected))
}

/// A datagram waiting in the UDP queue.
struct Datagram {
    bytes: Bytes,
    stamp: Arc<SensorStamp>,
    peer: SocketAddr,
    received_at: SystemTime,
}

async fn run_udp<B: EventBus, D: SensorDirectory>(
    shared: Arc<Shared<B, D>>,
    socket: UdpSocket,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) {
    let queue = Arc::new(Gather::<Datagram>::new(limits.udp_queue));
    let publisher = tokio::spawn(publish_udp(shared.clone(), queue.clone(), limits.clone()));
    let mut buffer = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (len, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors from earlier sends and the like: keep receiving.
                tracing::debug!(%error, "udp receive failed");
                continue;
            }
        };
        let received_at = shared.clock.now();
        let Some(stamp) = shared.resolve_sender(Transport::Udp, peer.ip(), None).await else {
            continue;
        };
        if len > limits.max_message_bytes {
            shared.received(Transport::Udp, &stamp, 0, 1, len as u64);
            continue;
        }
        let datagram = Datagram {
            bytes: Bytes::copy_from_slice(&buffer[..len]),
            stamp: stamp.clone(),
            peer,
            received_at,
        };
        match queue.try_push(datagram) {
            Ok(()) => shared.received(Transport::Udp, &stamp, 1, 0, len as u64),
            Err(_) => shared.dropped(Transport::Udp, &stamp, 1),
        }
    }
    queue.close();
    if let Err(error) = publisher.await {
        tracing::error!(%error, "udp publisher task failed");
    }
}

async fn publish_udp<B: EventBus, D: SensorDirectory>(
    shared: Arc<Shared<B, D>>,
    queue: Arc<Gather<Datagram>>,
    limits: Arc<Limits>,
) {
    let max_event_bytes = shared.options.http.max_event_bytes;
    while let Some(datagrams) = queue.take(limits.max_batch).await {
        let mut pending = Vec::with_capacity(datagrams.len());
        for datagram in datagrams {
            let mut hint = syslog_hint(&datagram.stamp, datagram.peer);
            hint.received_at = OffsetDateTime::from(datagram.received_at);
            match syslog_record(
                &datagram.bytes,
                &hint,
                &datagram.stamp,
                datagram.received_at,
                max_event_bytes,
            ) {
                Ok((record, unexpected)) => {
                    if unexpected {
                        shared.unexpected_format(Transport::Udp, &datagram.stamp, 1);
                    }
                    pending.push(Pending {
                        record,
                        stamp: datagram.stamp,
                    });
                }
                Err(reason) => {
                    tracing::debug!(sensor = %datagram.stamp.sensor_id, %reason, "udp message refused");
                    refuse_queued(&shared, Transport::Udp, &datagram.stamp);
                }
            }
        }
        shared.publish_pending(Transport::Udp, pending).await;
    }
}

/// A queued record that turned out unreadable: rejected, no longer queued.
fn refuse_queued<B: EventBus, D: SensorDirectory>(
    shared: &Shared<B, D>,
    transport: Transport,
    stamp: &SensorStamp,
) {
    shared.metrics.add(
        transport,
        stamp,
        Tally {
            rejected: 1,
            ..Tally::default()
        },
    );
    shared.metrics.queued(transport, -1);
}

/// Counts a connection open until dropped.
struct OpenConnection<'a> {
    metrics: &'a crate::metrics::IntakeMetrics,
    transport: Transport,
}

impl<'a> OpenConnection<'a> {
    fn new(metrics: &'a crate::metrics::IntakeMetrics, transport: Transport) -> Self {
        metrics.connections(transport, 1);
        OpenConnection { metrics, transport }
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.metrics.connections(self.transport, -1);
    }
}

async fn run_stream_listener<B: EventBus, D: SensorDirectory>(
    shared: Arc<Shared<B, D>>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
) {
    let transport = if tls.is_some() {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = done && error.is_panic() {
                    tracing::error!(%error, "syslog connection task panicked");
                }
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, then go on.
                        tracing::warn!(%error, transport = transport.as_str(), "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    shared.metrics.refused_sender(transport);
                    tracing::warn!(%peer, max = limits.max_connections, "syslog connection refused: too many open connections");
                    continue;
                };
                let (shared, tls, limits, stop) = (shared.clone(), tls.clone(), limits.clone(), stop.clone());
                connections.spawn(async move {
                    serve_connection(shared, stream, peer, tls, limits, stop).await;
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    while let Some(done) = connections.join_next().await {
        if let Err(error) = done
            && error.is_panic()
        {
            tracing::error!(%error, "syslog connection task panicked");
        }
    }
}

async fn serve_connection<B: EventBus, D: SensorDirectory>(
    shared: Arc<Shared<B, D>>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    limits: Arc<Limits>,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => {
            let _open = OpenConnection::new(&shared.metrics, Transport::Tcp);
            let Some(stamp) = shared.resolve_sender(Transport::Tcp, peer.ip(), None).await else {
                return;
            };
            tracing::debug!(%peer, sensor = %stamp.sensor_id, "syslog tcp connection");
            read_stream(&shared, stream, peer, stamp, Transport::Tcp, &limits, stop).await;
        }
        Some(acceptor) => {
            let _open = OpenConnection::new(&shared.metrics, Transport::Tls);
            let handshake =
                tokio::time::timeout(limits.tls_handshake_timeout, acceptor.accept(stream)).await;
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    shared.metrics.refused_sender(Transport::Tls);
                    tracing::info!(%peer, %error, "syslog tls handshake failed");
                    return;
                }
                Err(_) => {
                    shared.metrics.refused_sender(Transport::Tls);
                    tracing::info!(%peer, "syslog tls handshake timed out");
                    return;
                }
            };
            let certificate = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|der| ClientCertificate::from_der(der.as_ref()));
            let Some(stamp) = shared
                .resolve_sender(Transport::Tls, peer.ip(), certificate.as_ref())
                .await
            else {
                if let Some(certificate) = &certificate {
                    tracing::info!(%peer, ?certificate, "syslog tls sender refused: certificate not registered to a sensor");
                }
                return;
            };
            tracing::debug!(%peer, sensor = %stamp.sensor_id, "syslog tls connection");
            read_stream(&shared, stream, peer, stamp, Transport::Tls, &limits, stop).await;
        }
    }
}

/// Reads one connection's messages until it ends or the listeners stop.
async fn read_stream<B, D, S>(
    shared: &Arc<Shared<B, D>>,
    mut stream: S,
    peer: SocketAddr,
    stamp: Arc<SensorStamp>,
    transport: Transport,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
) where
    B: EventBus,
    D: SensorDirectory,
    S: AsyncRead + Unpin + Send,
{
    // Room for two full batches: one being published, one gathering.
    let queue = Arc::new(Gather::<Pending>::new(limits.max_batch * 2));
    let publisher = {
        let (shared, queue, max_batch) = (shared.clone(), queue.clone(), limits.max_batch);
        tokio::spawn(async move {
            while let Some(batch) = queue.take(max_batch).await {
                shared.publish_pending(transport, batch).await;
            }
        })
    };
    let max_event_bytes = shared.options.http.max_event_bytes;
    let mut decoder = FrameDecoder::new(limits.framing, limits.max_message_bytes);
    let mut hint = syslog_hint(&stamp, peer);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if !shared.is_open() {
            tokio::select! {
                biased;
                () = stopped(&mut stop) => break,
                _ = shared.wait_open(None) => {}
            }
        }
        let read = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            read = stream.read(&mut buffer) => read,
        };
        let (len, ended) = match read {
            Ok(0) => (0, true),
            Ok(len) => (len, false),
            Err(error) => {
                tracing::debug!(%peer, %error, "syslog connection read failed");
                break;
            }
        };
        let received_at = shared.clock.now();
        hint.received_at = OffsetDateTime::from(received_at);
        decoder.push(&buffer[..len]);
        let mut batch = Vec::new();
        let mut rejected = 0u64;
        let mut unexpected_format = 0u64;
        loop {
            let frame = if ended {
                decoder.finish()
            } else {
                decoder.next_frame()
            };
            let Some(frame) = frame else {
                break;
            };
            match frame {
                Ok(frame) => {
                    match syslog_record(&frame.bytes, &hint, &stamp, received_at, max_event_bytes) {
                        Ok((record, unexpected)) => {
                            unexpected_format += u64::from(unexpected);
                            batch.push(Pending {
                                record,
                                stamp: stamp.clone(),
                            });
                        }
                        Err(reason) => {
                            rejected += 1;
                            tracing::debug!(%peer, %reason, "syslog message refused");
                        }
                    }
                }
                Err(error) => {
                    rejected += 1;
                    tracing::info!(%peer, sensor = %stamp.sensor_id, %error, "syslog frame refused");
                }
            }
        }
        shared.received(transport, &stamp, batch.len() as u64, rejected, len as u64);
        if unexpected_format > 0 {
            shared.unexpected_format(transport, &stamp, unexpected_format);
        }
        if let Err(unqueued) = queue.push(batch).await {
            shared.metrics.queued(transport, -(unqueued.len() as i64));
            break;
        }
        if ended {
            break;
        }
    }
    queue.close();
    if let Err(error) = publisher.await {
        tracing::error!(%error, "syslog publisher task failed");
    }
}
