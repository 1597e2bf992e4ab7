//! Petty's application layer: [`App`] holds the store, the bus, the clock and the settings, and
//! has one method per use case that has side effects. The edges (`petty-http`, the dashboard
//! in `petty-web`, the compatibility profiles in `petty-compat`, the MQTT subscriber, `petty
//! import`) adapt their wire formats to these methods; the jobs (`petty-jobs`) call them too.
//! None calls another's internals: what more than one edge does lives here ([`feedback`],
//! [`charts`], [`alarms::transition`], [`alarms::acknowledge_by_token`]).
//!
//! [`App::ingest`] is the only way a reading enters Petty. It stores the readings, and in the
//! same transaction notes the work they leave for the jobs (judging the alarm rules, the
//! behaviour analysis), then publishes the accepted readings live and wakes the jobs on this
//! node. The notes are in the database, so a restart, another node or another process (`petty
//! import` beside `petty serve`) loses none of that work.
//!
//! Architecture invariant: no HTTP here (no axum, no status codes) and no SQL (the store's).
//! Every decision is `petty-core`'s.
//!
//! API boundary: [`App`], [`Settings`], [`Clock`], [`Sender`], and the use-case modules
//! [`access`] (invitations and API keys), [`alarms`], [`alarm_settings`] (rules, contacts, escalation and webhooks as every edge writes
//! them, a rule's preview, a webhook's test delivery), [`notify`], [`account_mail`], [`analysis`], [`feedback`], [`charts`], [`care`],
//! [`calendar`], [`sharing`], [`mfa`] (the second factor), [`audit`] (the household's audit
//! log, which every use case that changes household data writes to) and [`billing`] (plans,
//! limits, Stripe; [`billing::check_limit`] is what every create path asks), [`files`]
//! (uploads, images, signed links, storage) and [`privacy`] (the data export and account
//! deletion); the shapes
//! live events carry ([`readings`], [`timeline`], [`summary_json`]), [`rfc3339`], and
//! [`secrets`] (the opaque tokens every credential is made of).

pub mod access;
pub mod account_mail;
pub mod alarm_settings;
pub mod alarms;
pub mod analysis;
pub mod audit;
pub mod billing;
pub mod calendar;
pub mod care;
pub mod catalog;
pub mod charts;
pub mod chat;
pub mod feedback;
pub mod files;
mod ingest;
pub mod lifelog;
pub mod mfa;
pub mod notify;
pub mod privacy;
pub mod readings;
pub mod rfc3339;
pub mod secrets;
pub mod sharing;
pub mod summary_json;
pub mod timeline;

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use petty_bus::Bus;
use petty_notify::{Notifier, NotifyConfig};
use petty_store::Store;
use time::OffsetDateTime;

pub use ingest::Sender;

/// What the use cases run with. The binary builds this from its layered configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long after a collar's reading its pet's day is analysed again (readings that arrive
    /// meanwhile join the same pass).
    pub analysis_delay: Duration,
    /// How long the alarm job lets readings gather before judging (zero: at once).
    pub alarm_delay: Duration,
    /// Whether the alarm job keeps each rule's run between passes and reads only new readings
    /// (false: every pass reads every rule's window again).
    pub alarm_keep_runs: bool,
    /// How notifications are sent.
    pub notify: NotifyConfig,
    /// The Petty seed's rule thresholds, for `/compat/petty/pet-timeline`.
    pub seed_thresholds: petty_core::seed_rules::Thresholds,
    /// An alarm pages people only when the reading that raised it (or the newest reading of its
    /// open incident) is at most this old by event time; older incidents are recorded quietly.
    pub live_window: Duration,
    /// Mail about accounts (reset and verification links).
    pub account_mail: AccountMailSettings,
    /// Billing through Stripe; off (every household has everything) unless configured.
    pub billing: billing::BillingSettings,
    /// Where uploaded files are kept and how they are checked.
    pub files: files::FilesSettings,
    /// The chat-completions endpoint the life log's summary insight is asked of; none by
    /// default, and then nothing asks one.
    pub llm: Option<petty_notify::llm::LlmConfig>,
}

/// How mail about an account behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountMailSettings {
    /// How long a password-reset link works.
    pub reset_ttl: Duration,
    /// How long an address-verification link works.
    pub verify_ttl: Duration,
    /// Mails one address may get in an hour, of every kind together: more are not queued.
    pub per_address_per_hour: u32,
}

impl Default for AccountMailSettings {
    fn default() -> Self {
        AccountMailSettings {
            reset_ttl: Duration::from_secs(3600),
            verify_ttl: Duration::from_secs(2 * 24 * 3600),
            per_address_per_hour: 5,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            analysis_delay: Duration::from_secs(30),
            alarm_delay: Duration::ZERO,
            alarm_keep_runs: true,
            notify: NotifyConfig::default(),
            seed_thresholds: petty_core::seed_rules::Thresholds::default(),
            live_window: Duration::from_secs(10 * 60),
            account_mail: AccountMailSettings::default(),
            billing: billing::BillingSettings::default(),
            files: files::FilesSettings::default(),
            llm: None,
        }
    }
}

/// The time the use cases see: the system clock, moved by an offset that tests can set to
/// judge "six minutes later" without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn now_ms(&self) -> i64 {
        petty_store::to_ms(self.now())
    }

    /// Moves this clock forward (tests).
    pub fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Sets this clock to read `at` now, forward or back (tests: "on 2025-04-19").
    pub fn set(&self, at: OffsetDateTime) {
        let offset = (at - OffsetDateTime::now_utc()).whole_milliseconds();
        self.offset_ms.store(i64::try_from(offset).unwrap_or(0), Ordering::Relaxed);
    }
}

/// Nudges for the jobs on this node when work was noted: they also look on their own every few
/// seconds, for work other nodes and processes noted.
#[derive(Debug, Default)]
pub struct Wake {
    pub alarms: tokio::sync::Notify,
    pub analysis: tokio::sync::Notify,
    pub outbox: tokio::sync::Notify,
    /// A person's life-log models are due for training.
    pub life_models: tokio::sync::Notify,
}

/// The application. Cheap to clone (one pointer); fields are reached through `Deref`.
#[derive(Clone)]
pub struct App(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// Live events for WebSocket subscribers (and the other nodes, through NATS).
    pub bus: Bus,
    pub settings: Settings,
    pub clock: Clock,
    pub wake: Wake,
    /// The delivery channels and the signer of acknowledgement links.
    pub notifier: Notifier,
    /// The behaviour model in use.
    pub model: analysis::Model,
    /// Stored files: the object store and the signer of their links.
    pub files: files::Files,
    /// Signs care passports.
    passport: sharing::PassportKey,
    /// Seals TOTP secrets and hashes backup codes (keys derived from the server secret).
    pub mfa: mfa::MfaKeys,
    /// Stripe's API, when billing is on.
    pub stripe: Option<petty_notify::stripe::Stripe>,
    /// The language model the life log's summary is asked of, when one is configured.
    pub llm: Option<petty_notify::llm::Llm>,
    /// The life log's parsed models and live predictions on this node.
    pub life: lifelog::LifeState,
    /// The LLM's circuit breaker on this node (the catalog and the chat).
    pub llm_breaker: catalog::Breaker,
}

impl Deref for App {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    /// `secret` signs acknowledgement links (the server's signing key).
    pub fn new(store: Store, bus: Bus, settings: Settings, secret: &[u8]) -> App {
        let notifier = Notifier::new(&settings.notify, secret);
        let stripe = settings.billing.stripe.as_ref().map(|s| petty_notify::stripe::Stripe::new(s.api.clone()));
        let files = files::Files::new(&settings.files, secret);
        let llm = settings.llm.clone().map(petty_notify::llm::Llm::new);
        App(Arc::new(Inner {
            store,
            bus,
            settings,
            clock: Clock::default(),
            wake: Wake::default(),
            notifier,
            model: analysis::Model::default(),
            files,
            passport: sharing::PassportKey::from_secret(secret),
            mfa: mfa::MfaKeys::derive(secret),
            stripe,
            llm,
            life: lifelog::LifeState::default(),
            llm_breaker: catalog::Breaker::default(),
        }))
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The key care passports are signed with.
    pub fn passport_key(&self) -> &sharing::PassportKey {
        &self.passport
    }
}
