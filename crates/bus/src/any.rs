//! Choosing a backend at run time: the `--bus` flag and a bus that is either backend.

use std::path::Path;
use std::time::Duration;

use crate::error::BusError;
use crate::{
    BusMetrics, ConsumerConfig, Delivery, DurableAck, EmbeddedConsumer, EmbeddedLog,
    EmbeddedOptions, EventBus, EventConsumer, JetStreamBus, JetStreamConsumer, JetStreamOptions,
    LogBounds, Record, RetentionPolicy, RetentionReport,
};

/// Where the bus lives, with that backend's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusLocation {
    /// The embedded log in the data directory.
    Embedded(EmbeddedOptions),
    /// A NATS JetStream stream.
    JetStream(JetStreamOptions),
}

impl BusLocation {
    /// Reads the `--bus` flag: absent or `embedded` → the log in `data_dir/bus`;
    /// `nats://…` or `tls://…` → JetStream with default stream settings.
    pub fn from_flag(
        flag: Option<&str>,
        data_dir: &Path,
        retention: RetentionPolicy,
    ) -> Result<Self, BusError> {
        match flag.map(str::trim) {
            None | Some("") | Some("embedded") => {
                let mut options = EmbeddedOptions::new(data_dir);
                options.retention = retention;
                Ok(BusLocation::Embedded(options))
            }
            Some(url) if url.starts_with("nats://") || url.starts_with("tls://") => {
                let mut options = JetStreamOptions::new(url);
                options.retention = retention;
                Ok(BusLocation::JetStream(options))
            }
            Some(other) => Err(BusError::Config(format!(
                "--bus {other:?}: expected `embedded` or a nats:// URL"
            ))),
        }
    }
}

/// Either backend, chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyBus {
    /// The embedded log.
    Embedded(EmbeddedLog),
    /// NATS JetStream.
    JetStream(JetStreamBus),
}

impl AnyBus {
    /// Opens the bus at `location`.
    pub async fn open(location: BusLocation) -> Result<Self, BusError> {
        Ok(match location {
            BusLocation::Embedded(options) => AnyBus::Embedded(EmbeddedLog::open(options).await?),
            BusLocation::JetStream(options) => {
                AnyBus::JetStream(JetStreamBus::open(options).await?)
            }
        })
    }
}

impl AnyBus {
    /// The values named `name` that every process on this bus shares (see
    /// [`JetStreamBus::shared_values`]); `None` on the embedded log, which
    /// one process owns.
    pub async fn shared_values(
        &self,
        name: &str,
    ) -> Result<Option<crate::JetStreamValues>, BusError> {
        match self {
            AnyBus::Embedded(_) => Ok(None),
            AnyBus::JetStream(bus) => bus.shared_values(name).await.map(Some),
        }
    }
}

/// A consumer member of either backend.
#[derive(Debug)]
pub enum AnyConsumer {
    /// Of the embedded log.
    Embedded(EmbeddedConsumer),
    /// Of JetStream.
    JetStream(Box<JetStreamConsumer>),
}

macro_rules! dispatch {
    ($self:expr, $bus:ident => $call:expr) => {
        match $self {
            AnyBus::Embedded($bus) => $call,
            AnyBus::JetStream($bus) => $call,
        }
    };
}

impl EventBus for AnyBus {
    type Consumer = AnyConsumer;

    async fn publish(&self, records: &[Record]) -> Result<DurableAck, BusError> {
        dispatch!(self, bus => bus.publish(records).await)
    }

    async fn consumer(&self, name: &str, config: ConsumerConfig) -> Result<AnyConsumer, BusError> {
        Ok(match self {
            AnyBus::Embedded(bus) => AnyConsumer::Embedded(bus.consumer(name, config).await?),
            AnyBus::JetStream(bus) => {
                AnyConsumer::JetStream(Box::new(bus.consumer(name, config).await?))
            }
        })
    }

    async fn delete_consumer(&self, name: &str) -> Result<(), BusError> {
        dispatch!(self, bus => bus.delete_consumer(name).await)
    }

    async fn lag(&self, consumer: &str) -> Result<u64, BusError> {
        dispatch!(self, bus => bus.lag(consumer).await)
    }

    async fn bounds(&self) -> Result<LogBounds, BusError> {
        dispatch!(self, bus => bus.bounds().await)
    }

    async fn metrics(&self) -> Result<BusMetrics, BusError> {
        dispatch!(self, bus => bus.metrics().await)
    }

    async fn enforce_retention(&self) -> Result<RetentionReport, BusError> {
        dispatch!(self, bus => bus.enforce_retention().await)
    }

    async fn close(&self) -> Result<(), BusError> {
        dispatch!(self, bus => bus.close().await)
    }

    fn check_usable(&self) -> Result<(), BusError> {
        match self {
            AnyBus::Embedded(bus) => bus.check_usable(),
            AnyBus::JetStream(bus) => bus.check_usable(),
        }
    }

    async fn check_ready(&self) -> Result<(), BusError> {
        dispatch!(self, bus => bus.check_ready().await)
    }
}

impl EventConsumer for AnyConsumer {
    fn name(&self) -> &str {
        match self {
            AnyConsumer::Embedded(c) => c.name(),
            AnyConsumer::JetStream(c) => c.name(),
        }
    }

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        match self {
            AnyConsumer::Embedded(c) => c.fetch(max, wait).await,
            AnyConsumer::JetStream(c) => c.fetch(max, wait).await,
        }
    }

    async fn ack(&mut self, offsets: &[u64]) -> Result<(), BusError> {
        match self {
            AnyConsumer::Embedded(c) => c.ack(offsets).await,
            AnyConsumer::JetStream(c) => c.ack(offsets).await,
        }
    }
}
