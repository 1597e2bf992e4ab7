//! A read-through cache of hot rows for the embedded (SQLite) backend.
//!
//! In embedded mode this process is the only writer of the database file, and every write goes
//! through the [`Store`](crate::Store), which updates the cache in the same call, so the cache
//! can never be stale. On PostgreSQL other nodes write too, so there is no pet cache there;
//! device tokens are cached on both, see [`DeviceTokenCache`].
//! Entries are keyed by household as well as id: a lookup is scoped like the SQL it replaces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use petty_core::ids::{HouseholdId, PetId};

use crate::devices::DeviceCredential;
use petty_core::pets::Pet;

/// Enough for every pet of a few thousand households; past it the cache starts over.
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    inner: Mutex<Pets>,
}

#[derive(Debug, Default)]
struct Pets {
    rows: HashMap<(HouseholdId, PetId), Arc<Pet>>,
    /// Bumped by every change, so a read that started before a change cannot put the old row
    /// back after the change forgot it.
    generation: u64,
}

impl ReadCache {
    /// The cached pet, or the generation to hand back to [`ReadCache::put_pet_read`].
    pub(crate) fn pet(&self, household_id: HouseholdId, id: PetId) -> Result<Arc<Pet>, u64> {
        let Ok(pets) = self.inner.lock() else { return Err(u64::MAX) };
        pets.rows.get(&(household_id, id)).cloned().ok_or(pets.generation)
    }

    /// Keeps a pet read from the database, unless something changed since the read began.
    pub(crate) fn put_pet_read(&self, pet: &Arc<Pet>, generation: u64) {
        if let Ok(mut pets) = self.inner.lock()
            && pets.generation == generation
        {
            if pets.rows.len() >= MAX_ENTRIES {
                pets.rows.clear();
            }
            pets.rows.insert((pet.household_id, pet.id), Arc::clone(pet));
        }
    }

    /// Called after a committed change to the pet.
    pub(crate) fn forget_pet(&self, household_id: HouseholdId, id: PetId) {
        if let Ok(mut pets) = self.inner.lock() {
            pets.rows.remove(&(household_id, id));
            pets.generation += 1;
        }
    }
}

/// Device tokens that were looked up, by hash: every reading a device sends is authenticated
/// by its token, so the lookup is on the ingest path.
///
/// On SQLite this process makes every change, and forgets the tokens after each one. On
/// PostgreSQL other nodes change devices too: every change is announced with `NOTIFY`
/// (`DEVICE_CHANNEL`), and the cache is only used while this node is listening. When the
/// listening connection is lost the cache is switched off and emptied until it is back, so a
/// token revoked on another node can never be honoured from memory here.
#[derive(Debug)]
pub(crate) struct DeviceTokenCache {
    tokens: Mutex<DeviceTokens>,
    live: AtomicBool,
}

#[derive(Debug, Default)]
struct DeviceTokens {
    by_hash: HashMap<Vec<u8>, DeviceCredential>,
    /// Bumped by every change, so a lookup that began before it cannot store its answer after.
    generation: u64,
}

/// The PostgreSQL channel on which device changes are announced.
pub(crate) const DEVICE_CHANNEL: &str = "petty_device_tokens";

impl DeviceTokenCache {
    /// `live`: used from the start (SQLite), or only once `set_live(true)` (PostgreSQL).
    pub(crate) fn new(live: bool) -> Self {
        Self { tokens: Mutex::new(DeviceTokens::default()), live: AtomicBool::new(live) }
    }

    pub(crate) fn get(&self, hash: &[u8]) -> Option<DeviceCredential> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.tokens.lock().ok()?.by_hash.get(hash).copied()
    }

    /// The generation to hand back to [`DeviceTokenCache::put`], if the cache is in use.
    pub(crate) fn generation(&self) -> Option<u64> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.tokens.lock().ok().map(|t| t.generation)
    }

    /// Keeps a token read from the database, unless any device changed since the read began.
    pub(crate) fn put(&self, hash: &[u8], found: DeviceCredential, generation: u64) {
        if let Ok(mut tokens) = self.tokens.lock()
            && tokens.generation == generation
        {
            if tokens.by_hash.len() >= MAX_ENTRIES {
                tokens.by_hash.clear();
            }
            tokens.by_hash.insert(hash.to_vec(), found);
        }
    }

    /// Called after any committed change to a device's token or existence. Devices change
    /// rarely, so forgetting all of them keeps this simple and obviously right.
    pub(crate) fn forget(&self) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.by_hash.clear();
            tokens.generation += 1;
        }
    }

    /// Switches the cache on (listening again: start empty) or off (no longer listening).
    pub(crate) fn set_live(&self, live: bool) {
        if live {
            self.forget();
            self.live.store(true, Ordering::Release);
        } else {
            self.live.store(false, Ordering::Release);
            self.forget();
        }
    }
}
