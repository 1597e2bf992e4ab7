//! What every handler can reach: the store, the settings, the signing keys and rate limiters.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use petty_core::accounts::Actor;
use petty_core::ids::{ApiKeyId, HouseholdId, PetId};
use petty_core::pets::Pet;

use petty_bus::Bus;
use petty_store::Store;

use crate::auth::Keys;
use crate::config::HttpConfig;
use crate::observability::RequestMetrics;
use crate::ratelimit::RateLimiters;
use crate::render::{BodyMemo, GenerationMemo};

/// A page of a pet's records: whose, which filter, which page.
pub(crate) type RecordPageKey = (HouseholdId, PetId, petty_store::RecordFilter, petty_core::paging::PageRequest);

/// Shared by all requests. One pointer, so the per-request clones axum makes cost one atomic
/// increment; fields are reached through `Deref` (`state.store`, `state.config`, ...).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    /// Live events for WebSocket subscribers (readings on `device:{id}`, ...).
    pub bus: Bus,
    pub config: HttpConfig,
    pub(crate) keys: Keys,
    pub(crate) limits: RateLimiters,
    pub(crate) metrics: RequestMetrics,
    /// `GET /api/v1/pets/{id}` bodies, reused while the pet is unchanged.
    pub(crate) pet_bodies: BodyMemo<(HouseholdId, PetId), Pet>,
    /// `GET /api/v1/pets/{id}/records` bodies, reused until the next write (SQLite only).
    pub(crate) record_pages: GenerationMemo<RecordPageKey>,
    /// When this node last recorded each API key's use, so a busy key costs one write a minute.
    pub(crate) api_key_touches: Mutex<HashMap<ApiKeyId, Instant>>,
    /// The application layer: every use case with side effects goes through it.
    pub app: petty_app::App,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: HttpConfig) -> Self {
        Self::with_bus(store, config, Bus::local())
    }

    /// With a given bus (shared with other parts of the process, or spanning nodes).
    pub fn with_bus(store: Store, config: HttpConfig, bus: Bus) -> Self {
        let app = petty_app::App::new(store, bus, config.app_settings(), &config.jwt_secret);
        Self::with_app(app, config)
    }

    /// Over an application the caller built (and runs the jobs of).
    pub fn with_app(app: petty_app::App, config: HttpConfig) -> Self {
        let (store, bus) = (app.store.clone(), app.bus.clone());
        // Install the metrics recorder before the first request, so no request goes uncounted.
        crate::observability::prometheus();
        let keys = Keys::new(&config);
        let limits = RateLimiters::new(config.rate_limit, config.llm.as_ref().map(|llm| llm.daily_calls_per_user));
        Self(Arc::new(Shared {
            store,
            bus,
            keys,
            limits,
            metrics: RequestMetrics::default(),
            pet_bodies: BodyMemo::default(),
            // Within the hour its signed attachment links are good for.
            record_pages: GenerationMemo::new(std::time::Duration::from_secs(300)),
            api_key_touches: Mutex::default(),
            app,
            config,
        }))
    }

    /// What lets a use case spend one of the caller's language-model calls of the day
    /// (`llm.daily_calls_per_user`): each `true` it answers is one call spent. An API key is no
    /// person and has none; without a model there are none.
    pub fn llm_budget(&self, actor: &Actor) -> impl Fn() -> bool + Sync + '_ {
        let user = actor.user_id();
        move || user.is_some_and(|user| self.limits.spend_llm_call(user))
    }
}
