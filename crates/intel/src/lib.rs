//! Indicator matching: shared threat intelligence applied to normalised events.
//!
//! This crate sits after `normalise` in the flow: it reads the observables of
//! a [`nigehban_normalise::NormalisedEvent`] ([`observables`]) and looks them
//! up in an [`IndicatorSet`] — indicators compiled into immutable lookup
//! structures: ordered open-addressing hash tables for exact values
//! (fixed-width keys such as file hashes inline in the slot), /16 buckets and
//! binary prefix tries for CIDR networks, and for domains (which match
//! every name below them) a table of suffix hashes chained label by label.
//! It knows nothing of tenants, TLP or storage: each indicator is added
//! with a `u32` payload, and the caller
//! (the node's matching stage, with the app's policy) decides what a hit
//! means for whom.
//!
//! [`IntelHandle`] holds the set in use; a change compiles a new set and
//! [`IntelHandle::replace`] swaps it in atomically, so lookups never wait
//! and never see half a set. [`Warninglists`] (MISP's known-benign lists)
//! suppress values at import ([`Warninglists::benign`]) and at match time
//! ([`Warninglists::benign_observed`]).
//!
//! Figures for 10 million indicators (lookups per second per core, bytes
//! per indicator, load time): `BENCHMARKS.md`, from `benches/lookup.rs`.

mod observe;
mod set;
mod table;
mod warninglist;

use std::sync::Arc;

use arc_swap::ArcSwap;

pub use observe::{Observation, observables, observe};
pub use set::{IndicatorSet, IndicatorSetBuilder, Observed, as_observed};
pub use warninglist::{WarninglistProblem, Warninglists};

/// The compiled indicators in use, with what each payload means, swapped whole on change.
#[derive(Debug)]
pub struct IntelHandle<T> {
    current: ArcSwap<Compiled<T>>,
}

/// A compiled set and the caller's record per payload.
#[derive(Debug)]
pub struct Compiled<T> {
    /// The lookup structures.
    pub set: IndicatorSet,
    /// The caller's record for each payload (payload `n` is `records[n]`).
    pub records: Vec<T>,
}

impl<T> Compiled<T> {
    /// Nothing to match.
    pub fn empty() -> Self {
        Compiled {
            set: IndicatorSet::empty(),
            records: Vec::new(),
        }
    }
}

impl<T> IntelHandle<T> {
    /// A handle holding `compiled`.
    pub fn new(compiled: Compiled<T>) -> Self {
        IntelHandle {
            current: ArcSwap::from_pointee(compiled),
        }
    }

    /// The set in use now (lookups through it see one whole set).
    pub fn current(&self) -> Arc<Compiled<T>> {
        self.current.load_full()
    }

    /// Puts a new set in use; lookups already under way finish on the old one.
    pub fn replace(&self, compiled: Compiled<T>) {
        self.current.store(Arc::new(compiled));
    }
}
