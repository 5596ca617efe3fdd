//! Shared test harness: an intake over an embedded bus in a temporary
//! directory, reading events back, outside programs, throwaway certificates.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nigehban_bus::{EmbeddedLog, EmbeddedOptions, EventBus, EventConsumer};
use nigehban_ingest::{
    Clock, Intake, IntakeOptions, SensorStamp, StaticSensorDirectory, SystemClock, decode_event,
};
use nigehban_normalise::NormalisedEvent;
pub use nigehban_testkit::Need;
use uuid::Uuid;

/// The intake under test and what it writes to.
pub struct Harness {
    /// Holds the bus directory.
    pub dir: tempfile::TempDir,
    /// The embedded bus.
    pub bus: EmbeddedLog,
    /// The intake.
    pub intake: Intake<EmbeddedLog, StaticSensorDirectory>,
}

/// One event read back from the bus.
#[derive(Debug)]
pub struct Received {
    /// The record's tenant header.
    pub tenant_id: String,
    /// The record's sensor header.
    pub sensor_id: String,
    /// The event id.
    pub id: Uuid,
    /// The event.
    pub event: NormalisedEvent,
}

/// The loopback sensor most tests use.
pub fn loopback_sensor() -> SensorStamp {
    let mut stamp = SensorStamp::new("org-bank-01", "syslog-relay-1");
    stamp.host_os_type = Some("linux".into());
    stamp
}

/// A directory that knows 127.0.0.1 as [`loopback_sensor`].
pub fn loopback_directory() -> StaticSensorDirectory {
    StaticSensorDirectory::new().with_address(IpAddr::from([127, 0, 0, 1]), loopback_sensor())
}

impl Harness {
    /// An intake over a fresh embedded bus.
    pub async fn new(directory: StaticSensorDirectory, options: IntakeOptions) -> Harness {
        Self::with_clock(directory, options, Arc::new(SystemClock)).await
    }

    /// The same with a chosen clock.
    pub async fn with_clock(
        directory: StaticSensorDirectory,
        options: IntakeOptions,
        clock: Arc<dyn Clock>,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let bus = EmbeddedLog::open(EmbeddedOptions::new(dir.path()))
            .await
            .unwrap();
        let intake = Intake::with_clock(bus.clone(), directory, options, clock);
        Harness { dir, bus, intake }
    }

    /// Reads events as consumer `name` until `count` arrived or `within` passed.
    pub async fn collect(&self, name: &str, count: usize, within: Duration) -> Vec<Received> {
        collect(&self.bus, name, count, within).await
    }
}

/// How many records `bus` holds.
pub async fn stored(bus: &EmbeddedLog) -> u64 {
    let bounds = bus.bounds().await.unwrap();
    bounds.next - bounds.oldest
}

/// Reads events from `bus` as consumer `name` until `count` arrived or `within` passed.
pub async fn collect(
    bus: &EmbeddedLog,
    name: &str,
    count: usize,
    within: Duration,
) -> Vec<Received> {
    let mut consumer = bus
        .consumer(name, nigehban_bus::ConsumerConfig::default())
        .await
        .unwrap();
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        let batch = consumer
            .fetch(10_000, Duration::from_millis(200))
            .await
            .unwrap();
        let offsets: Vec<u64> = batch.iter().map(|d| d.offset).collect();
        for delivery in batch {
            assert_eq!(
                delivery.record.content_type,
                nigehban_ingest::EVENT_CONTENT_TYPE
            );
            let (id, event) = decode_event(&delivery.record.payload).unwrap();
            out.push(Received {
                tenant_id: delivery.record.tenant_id.clone(),
                sensor_id: delivery.record.sensor_id.clone(),
                id,
                event,
            });
        }
        if !offsets.is_empty() {
            consumer.ack(&offsets).await.unwrap();
        }
    }
    out
}

/// `path` if the program `need` names is installed; otherwise the test is
/// skipped (or fails, when services are required).
#[track_caller]
pub fn program(need: Need, path: &str, package: &str) -> Option<PathBuf> {
    nigehban_testkit::program(need, path, package)
}

/// A field of an event as text.
pub fn text<'a>(event: &'a NormalisedEvent, field: &str) -> Option<&'a str> {
    event.fields().get_str(field)
}

/// Throwaway certificates: a CA, a server certificate for localhost and
/// 127.0.0.1, and a client certificate.
#[derive(Clone)]
pub struct Pki {
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub server_pem: String,
    /// The server key (PKCS#8 PEM).
    pub server_key_pem: String,
    /// The client certificate (PEM).
    pub client_pem: String,
    /// The client certificate (DER).
    pub client_der: Vec<u8>,
    /// The client key (PKCS#8 PEM).
    pub client_key_pem: String,
}

impl Pki {
    /// Generates the certificates; the client's subject CN is `client_cn`.
    pub fn generate(client_cn: &str) -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Nigehban test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let server = server_params.signed_by(&server_key, &ca).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec![client_cn.to_string()]).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, client_cn);
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let client = client_params.signed_by(&client_key, &ca).unwrap();
        Pki {
            ca_pem: ca.pem(),
            server_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_pem: client.pem(),
            client_der: client.der().to_vec(),
            client_key_pem: client_key.serialize_pem(),
        }
    }

    /// Writes every PEM into `dir`: ca.pem, server.pem, server-key.pem,
    /// client.pem, client-key.pem.
    pub fn write(&self, dir: &Path) {
        for (name, text) in [
            ("ca.pem", &self.ca_pem),
            ("server.pem", &self.server_pem),
            ("server-key.pem", &self.server_key_pem),
            ("client.pem", &self.client_pem),
            ("client-key.pem", &self.client_key_pem),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
}

/// The corpus directory, or None (skipped, or failed when required) when it is absent.
#[track_caller]
pub fn corpus() -> Option<PathBuf> {
    nigehban_testkit::corpus()
}

/// The repository's fixtures directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}
