//! The canonical REST API under `/api/v1`: snake_case JSON, lists as
//! `{items, total, page, page_size, has_next}`, errors from [`crate::error`].
//! Each resource module owns its router; [`crate::routes`] merges them.

pub(crate) mod alarms;
pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod billing;
pub(crate) mod care;
pub(crate) mod catalog;
pub(crate) mod charts;
pub(crate) mod devices;
pub(crate) mod exchange;
pub(crate) mod files;
pub(crate) mod geofences;
pub(crate) mod health;
pub(crate) mod households;
pub(crate) mod ingest;
pub(crate) mod lifelog;
pub(crate) mod pets;
pub(crate) mod privacy;
pub(crate) mod security;
pub(crate) mod sharing;
pub(crate) mod timeline;
pub(crate) mod wellness;
pub(crate) mod ws;
pub(crate) mod ws_messages;

use petty_core::paging::Page;

use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub(crate) struct Paged<T> {
    pub items: Vec<T>,
    /// Items across all pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub has_next: bool,
}

impl<T> Paged<T> {
    /// A whole list as its one page: for lists a household keeps short (rules, contacts,
    /// webhooks, members, keys), which are answered in full.
    pub(crate) fn all(items: Vec<T>) -> Self {
        let total = items.len() as u64;
        let page_size = u32::try_from(items.len()).unwrap_or(u32::MAX).max(1);
        Self { items, total, page: 1, page_size, has_next: false }
    }

    pub(crate) fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let has_next = page.has_next();
        let request = page.request;
        let total = page.total;
        Self {
            items: page.items.into_iter().map(f).collect(),
            total,
            page: request.page,
            page_size: request.page_size,
            has_next,
        }
    }
}

/// Reads a field that may be absent (leave as is), `null` (clear) or a value (set), for PATCH.
pub(crate) fn patch_field<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Writes the audit entry of a change `actor` made from `ip` (see `petty_app::audit`).
pub(crate) async fn audit(
    state: &AppState,
    actor: &petty_core::accounts::Actor,
    ip: std::net::IpAddr,
    action: &str,
    entity_type: &str,
    entity_id: impl std::fmt::Display,
    detail: serde_json::Value,
) -> Result<(), crate::error::ApiError> {
    let who = petty_app::audit::Who::actor(actor, Some(ip));
    petty_app::audit::record(&state.app, &who, action, entity_type, entity_id, &detail).await?;
    Ok(())
}
