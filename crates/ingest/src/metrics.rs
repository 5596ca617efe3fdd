//! Intake's counters, for `/metrics` (the server renders them as Prometheus
//! text) and for the console's sensor page.
//!
//! Every record intake receives ends in exactly one of: accepted (durable on
//! the bus), rejected (could not be read, or over a limit), dropped (lost
//! after it was received: UDP queue full, bus unavailable), or is still
//! queued. So, per transport, `received = accepted + rejected + dropped +
//! queued` once the counters settle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::sensor::SensorStamp;

/// How records reached intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Syslog over UDP.
    Udp,
    /// Syslog over TCP.
    Tcp,
    /// Syslog over TLS.
    Tls,
    /// NDJSON over HTTP (`POST /api/v1/ingest`).
    Http,
}

impl Transport {
    /// Every transport, in label order.
    pub const ALL: [Transport; 4] = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Http,
    ];

    /// The label value (`udp`, `tcp`, `tls`, `http`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Http => "http",
        }
    }

    fn index(self) -> usize {
        match self {
            Transport::Udp => 0,
            Transport::Tcp => 1,
            Transport::Tls => 2,
            Transport::Http => 3,
        }
    }
}

/// Upper bounds of the publish latency buckets, in seconds.
pub const LATENCY_BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// Most distinct refused source addresses counted one by one; the rest are
/// counted together, so a scan cannot grow memory without bound.
pub const MAX_REFUSED_ADDRESSES: usize = 4096;

/// Counters of one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportMetrics {
    /// The transport.
    pub transport: Transport,
    /// Records received (datagrams, frames, NDJSON lines).
    pub received: u64,
    /// Records accepted: durable on the bus.
    pub accepted: u64,
    /// Records refused: unreadable, or over a limit.
    pub rejected: u64,
    /// Records lost after they were received (UDP queue full, bus unavailable).
    pub dropped: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Records received and not yet accepted, rejected or dropped.
    pub queued: u64,
    /// Connections open now (TCP, TLS).
    pub open_connections: u64,
    /// Senders refused: unknown to the directory, over the connection limit,
    /// failed TLS handshakes.
    pub refused_senders: u64,
}

/// Counters of one sensor, all transports together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SensorMetrics {
    /// The sensor's tenant.
    pub tenant_id: String,
    /// The sensor.
    pub sensor_id: String,
    /// Records received.
    pub received: u64,
    /// Records accepted (durable).
    pub accepted: u64,
    /// Records refused.
    pub rejected: u64,
    /// Records dropped after they were received.
    pub dropped: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Records accepted that are of a format the sensor is not registered
    /// to send (kept and flagged).
    pub unexpected_format: u64,
}

/// Publish latency (from calling the bus to its durable acknowledgement).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    /// Upper bounds of the buckets, in seconds ([`LATENCY_BOUNDS`]).
    pub bounds: Vec<f64>,
    /// Publishes per bucket (not cumulative); one more than `bounds`, the
    /// last for slower than the last bound.
    pub counts: Vec<u64>,
    /// Total seconds over all publishes.
    pub sum_seconds: f64,
    /// Number of publishes.
    pub count: u64,
}

/// A snapshot of every intake counter.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    /// Per transport, in [`Transport::ALL`] order.
    pub transports: Vec<TransportMetrics>,
    /// Per sensor, by sensor id.
    pub sensors: Vec<SensorMetrics>,
    /// Refused syslog senders by source address (unknown to the directory),
    /// at most [`MAX_REFUSED_ADDRESSES`] of them.
    pub refused_addresses: Vec<(IpAddr, u64)>,
    /// Refusals of senders beyond [`MAX_REFUSED_ADDRESSES`] distinct addresses.
    pub refused_other_addresses: u64,
    /// Publish latency.
    pub publish_latency: LatencyHistogram,
    /// Publishes the bus refused or failed (each retried or counted as dropped).
    pub publish_failures: u64,
    /// Lag of each watched bus consumer at the last poll.
    pub consumer_lag: Vec<(String, u64)>,
    /// Whether intake is holding senders back because a consumer lags.
    pub backpressure: bool,
}

#[derive(Debug, Default)]
struct TransportCounters {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    dropped: AtomicU64,
    bytes: AtomicU64,
    queued: AtomicI64,
    open_connections: AtomicI64,
    refused_senders: AtomicU64,
}

#[derive(Debug, Default)]
struct Refused {
    by_address: HashMap<IpAddr, u64>,
    other: u64,
}

/// The live counters (shared by every listener of an [`crate::Intake`]).
#[derive(Debug, Default)]
pub(crate) struct IntakeMetrics {
    transports: [TransportCounters; 4],
    sensors: Mutex<HashMap<String, SensorMetrics>>,
    refused: Mutex<Refused>,
    latency_counts: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    latency_sum_micros: AtomicU64,
    publish_failures: AtomicU64,
    consumer_lag: Mutex<Vec<(String, u64)>>,
    backpressure: AtomicBool,
}

/// How many of a sensor's records ended which way, added in one call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub dropped: u64,
    pub bytes: u64,
    pub unexpected_format: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl IntakeMetrics {
    fn transport(&self, transport: Transport) -> &TransportCounters {
        &self.transports[transport.index()]
    }

    /// Adds a sensor's tally to its transport and to the sensor.
    pub(crate) fn add(&self, transport: Transport, stamp: &SensorStamp, tally: Tally) {
        let counters = self.transport(transport);
        counters
            .received
            .fetch_add(tally.received, Ordering::Relaxed);
        counters
            .accepted
            .fetch_add(tally.accepted, Ordering::Relaxed);
        counters
            .rejected
            .fetch_add(tally.rejected, Ordering::Relaxed);
        counters.dropped.fetch_add(tally.dropped, Ordering::Relaxed);
        counters.bytes.fetch_add(tally.bytes, Ordering::Relaxed);
        let mut sensors = lock(&self.sensors);
        let sensor = sensors
            .entry(stamp.sensor_id.clone())
            .or_insert_with(|| SensorMetrics {
                tenant_id: stamp.tenant_id.clone(),
                sensor_id: stamp.sensor_id.clone(),
                ..SensorMetrics::default()
            });
        sensor.received += tally.received;
        sensor.accepted += tally.accepted;
        sensor.rejected += tally.rejected;
        sensor.dropped += tally.dropped;
        sensor.bytes += tally.bytes;
        sensor.unexpected_format += tally.unexpected_format;
    }

    /// Records entering (`delta > 0`) or leaving an intake queue.
    pub(crate) fn queued(&self, transport: Transport, delta: i64) {
        self.transport(transport)
            .queued
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// A connection opened (`1`) or closed (`-1`).
    pub(crate) fn connections(&self, transport: Transport, delta: i64) {
        self.transport(transport)
            .open_connections
            .fetch_add(delta, Ordering::Relaxed);
    }

    /// A sender refused for a reason other than being unknown.
    pub(crate) fn refused_sender(&self, transport: Transport) {
        self.transport(transport)
            .refused_senders
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A sender refused because the directory does not know it.
    pub(crate) fn refused_address(&self, transport: Transport, address: IpAddr) {
        self.refused_sender(transport);
        let mut refused = lock(&self.refused);
        let known = refused.by_address.len();
        match refused.by_address.get_mut(&address) {
            Some(count) => *count += 1,
            None if known < MAX_REFUSED_ADDRESSES => {
                refused.by_address.insert(address, 1);
            }
            None => refused.other += 1,
        }
    }

    /// A publish finished after `elapsed`.
    pub(crate) fn publish_latency(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.latency_counts[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A publish failed.
    pub(crate) fn publish_failure(&self) {
        self.publish_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The consumers' lag at the last poll, and whether senders are held back.
    pub(crate) fn set_lag(&self, lag: Vec<(String, u64)>, backpressure: bool) {
        *lock(&self.consumer_lag) = lag;
        self.backpressure.store(backpressure, Ordering::Relaxed);
    }

    /// Everything, now.
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let transports = Transport::ALL
            .iter()
            .map(|transport| {
                let c = self.transport(*transport);
                TransportMetrics {
                    transport: *transport,
                    received: c.received.load(Ordering::Relaxed),
                    accepted: c.accepted.load(Ordering::Relaxed),
                    rejected: c.rejected.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    bytes: c.bytes.load(Ordering::Relaxed),
                    queued: u64::try_from(c.queued.load(Ordering::Relaxed)).unwrap_or(0),
                    open_connections: u64::try_from(c.open_connections.load(Ordering::Relaxed))
                        .unwrap_or(0),
                    refused_senders: c.refused_senders.load(Ordering::Relaxed),
                }
            })
            .collect();
        let mut sensors: Vec<SensorMetrics> = lock(&self.sensors).values().cloned().collect();
        sensors.sort_by(|a, b| a.sensor_id.cmp(&b.sensor_id));
        let (mut refused_addresses, refused_other_addresses) = {
            let refused = lock(&self.refused);
            (
                refused
                    .by_address
                    .iter()
                    .map(|(address, count)| (*address, *count))
                    .collect::<Vec<_>>(),
                refused.other,
            )
        };
        refused_addresses.sort();
        let counts: Vec<u64> = self
            .latency_counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect();
        MetricsSnapshot {
            transports,
            sensors,
            refused_addresses,
            refused_other_addresses,
            publish_latency: LatencyHistogram {
                bounds: LATENCY_BOUNDS.to_vec(),
                count: counts.iter().sum(),
                counts,
                sum_seconds: self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            },
            publish_failures: self.publish_failures.load(Ordering::Relaxed),
            consumer_lag: lock(&self.consumer_lag).clone(),
            backpressure: self.backpressure.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_add_up_per_transport_and_sensor() {
        let metrics = IntakeMetrics::default();
        let stamp = SensorStamp::new("t", "s");
        metrics.add(
            Transport::Tcp,
            &stamp,
            Tally {
                received: 5,
                accepted: 3,
                rejected: 1,
                dropped: 1,
                bytes: 100,
                unexpected_format: 0,
            },
        );
        metrics.publish_latency(Duration::from_micros(700));
        metrics.publish_latency(Duration::from_secs(9));
        let snapshot = metrics.snapshot();
        let tcp = &snapshot.transports[1];
        assert_eq!(tcp.transport, Transport::Tcp);
        assert_eq!(
            (tcp.received, tcp.accepted, tcp.rejected, tcp.dropped),
            (5, 3, 1, 1)
        );
        assert_eq!(snapshot.sensors[0].bytes, 100);
        assert_eq!(snapshot.publish_latency.counts[1], 1);
        assert_eq!(snapshot.publish_latency.counts[LATENCY_BOUNDS.len()], 1);
        assert_eq!(snapshot.publish_latency.count, 2);
    }

    #[test]
    fn refused_addresses_are_bounded() {
        let metrics = IntakeMetrics::default();
        for i in 0..(MAX_REFUSED_ADDRESSES as u32 + 10) {
            metrics.refused_address(Transport::Udp, IpAddr::from(i.to_be_bytes()));
        }
        metrics.refused_address(Transport::Udp, IpAddr::from([0, 0, 0, 0]));
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.refused_addresses.len(), MAX_REFUSED_ADDRESSES);
        assert_eq!(snapshot.refused_other_addresses, 10);
        assert_eq!(snapshot.refused_addresses[0].1, 2);
        assert_eq!(
            snapshot.transports[0].refused_senders,
            MAX_REFUSED_ADDRESSES as u64 + 11
        );
    }
}
