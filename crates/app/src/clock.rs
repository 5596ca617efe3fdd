//! The clock the services read the time from: the system's, or one a test moves.
//!
//! Incident clocks, regulatory deadlines and response-time figures are all
//! about time passing, so the services take the time from an injected
//! [`Clock`] (like intake's health watch does) and tests drive days of
//! deadlines in milliseconds with a [`ManualClock`].

use std::sync::Mutex;
use std::time::Duration;

use nigehban_model::Timestamp;

/// Where the services read the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to (tests, simulations, exercises).
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.plus(by);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        *self.lock() = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}
