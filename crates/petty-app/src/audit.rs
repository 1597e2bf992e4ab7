//! The household's audit log: who changed which record, when and from where. Every use case
//! that changes a household's data calls [`record`] once the change is made, with the names
//! of the fields it changed (never their values, and never a secret).
//!
//! An entry names its actor by id (a user or an API key) and kind; when an account is deleted
//! its entries stay, with the id replaced by a random tombstone and the address removed
//! (`Store::tombstone_audit_actor`).

use std::fmt::Display;
use std::net::IpAddr;

use petty_core::accounts::{Actor, ActorKind};
use petty_core::ids::HouseholdId;
use petty_store::{AuditActorKind, NewAuditEntry, StoreError};

use crate::App;

/// The longest detail kept, in bytes; a longer one is replaced by a note saying so.
pub const DETAIL_MAX: usize = 1000;

/// Who made a change, and from which address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    pub household_id: HouseholdId,
    pub kind: AuditActorKind,
    pub actor_id: Option<uuid::Uuid>,
    pub address: Option<IpAddr>,
}

impl Who {
    /// A signed-in person or an API key, calling from `address`.
    pub fn actor(actor: &Actor, address: Option<IpAddr>) -> Self {
        let (kind, actor_id) = match actor.kind {
            ActorKind::User { user_id, .. } => (AuditActorKind::User, Some(user_id.0)),
            ActorKind::ApiKey { key_id, .. } => (AuditActorKind::ApiKey, Some(key_id.0)),
        };
        Who { household_id: actor.household_id, kind, actor_id, address }
    }

    /// Petty itself (a job), in `household_id`.
    pub fn system(household_id: HouseholdId) -> Self {
        Who { household_id, kind: AuditActorKind::System, actor_id: None, address: None }
    }
}

/// The detail of a change that touched these fields: `{"fields": [...]}`.
pub fn fields(names: &[&str]) -> serde_json::Value {
    serde_json::json!({ "fields": names })
}

/// No detail: `{}`.
pub fn no_detail() -> serde_json::Value {
    serde_json::json!({})
}

/// Writes one entry: `who` did `action` (`create`, `update`, `delete`, `acknowledge`, ...) to
/// the `entity_type` (`pet`, `device`, `member`, ...) with id `entity_id`.
pub async fn record(
    app: &App,
    who: &Who,
    action: &str,
    entity_type: &str,
    entity_id: impl Display,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    let mut detail = detail.to_string();
    if detail.len() > DETAIL_MAX {
        detail = serde_json::json!({ "truncated": true }).to_string();
    }
    let address = who.address.map(|a| a.to_string());
    let entity_id = entity_id.to_string();
    let entry = NewAuditEntry {
        household_id: who.household_id,
        actor_kind: who.kind,
        actor_id: who.actor_id,
        action,
        entity_type,
        entity_id: &entity_id,
        address: address.as_deref(),
        detail: &detail,
    };
    if let Err(e) = app.store.insert_audit_entry(&entry, app.now()).await {
        // The change itself is made; the log line keeps what the entry would have said.
        tracing::error!(
            error = %e, household_id = %who.household_id, actor_kind = who.kind.as_str(), actor_id = ?who.actor_id,
            action, entity_type, entity_id = %entity_id, "could not write an audit entry"
        );
        return Err(e);
    }
    Ok(())
}
