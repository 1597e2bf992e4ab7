//! A read-through cache of hot rows for the embedded (SQLite) backend.
//!
//! In embedded mode this process is the only writer of the database file, and every write goes
//! through the [`Store`](crate::Store), which updates the cache in the same call, so the cache
//! can never be stale. On PostgreSQL other nodes write too, so there is no cache there.
//! Entries are keyed by household as well as id: a lookup is scoped like the SQL it replaces.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use petty_core::ids::{HouseholdId, PetId};

use crate::devices::DeviceCredential;
use petty_core::pets::Pet;

/// Enough for every pet of a few thousand households; past it the cache starts over.
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    inner: Mutex<Pets>,
    devices: Mutex<DeviceTokens>,
}

/// Device tokens that were looked up, by hash: every reading a device sends is authenticated
/// by its token, so the lookup is on the ingest path.
#[derive(Debug, Default)]
struct DeviceTokens {
    by_hash: HashMap<Vec<u8>, DeviceCredential>,
    generation: u64,
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

    pub(crate) fn device_token(&self, hash: &[u8]) -> Option<DeviceCredential> {
        self.devices.lock().ok()?.by_hash.get(hash).copied()
    }

    pub(crate) fn device_generation(&self) -> u64 {
        self.devices.lock().map(|d| d.generation).unwrap_or(u64::MAX)
    }

    /// Keeps a token read from the database, unless any device changed since the read began.
    pub(crate) fn put_device_token(&self, hash: &[u8], found: DeviceCredential, generation: u64) {
        if let Ok(mut devices) = self.devices.lock()
            && devices.generation == generation
        {
            if devices.by_hash.len() >= MAX_ENTRIES {
                devices.by_hash.clear();
            }
            devices.by_hash.insert(hash.to_vec(), found);
        }
    }

    /// Called after any committed change to a device's token or existence. Devices change
    /// rarely, so forgetting all of them keeps this simple and obviously right.
    pub(crate) fn forget_device_tokens(&self) {
        if let Ok(mut devices) = self.devices.lock() {
            devices.by_hash.clear();
            devices.generation += 1;
        }
    }
}
