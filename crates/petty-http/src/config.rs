//! The settings the HTTP edge runs with. The binary builds this from its layered configuration.

use std::time::Duration;

use petty_core::accounts::{EmailVerification, SignInPolicy};

/// Everything the HTTP edge needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Signs access tokens (HS256). At least 32 bytes.
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a dashboard sign-in lasts.
    pub session_ttl: Duration,
    pub invitation_ttl: Duration,
    /// The sign-in throttles and device tokens.
    pub signin: SignInPolicy,
    /// Whether an account must verify its email address before it may sign in.
    pub email_verification: EmailVerification,
    /// Reset and verification links: how long they work, how much mail an address may get.
    pub account_mail: petty_app::AccountMailSettings,
    pub rate_limit: RateLimitConfig,
    /// Origins allowed to call the API from a browser; empty means same-origin only.
    pub cors_allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// A request's head (request line and headers) must arrive whole within this time of the
    /// connection opening or its previous answer; slower clients are disconnected.
    pub header_read_timeout: Duration,
    /// A keep-alive connection quiet for this long is closed.
    pub idle_timeout: Duration,
    /// Open connections one peer address may hold; more are closed at once. 0: no cap.
    pub max_connections_per_ip: usize,
    /// Mark cookies `Secure` (on whenever Petty is reached over HTTPS).
    pub secure_cookies: bool,
    /// Whose `X-Forwarded-For` names the client (for the per-address rate limit).
    pub forwarded_for: crate::ratelimit::ForwardedFor,
    /// The Pet Management profile's hourly allowances (`/compat/petmgmt`).
    pub petmgmt_limits: PetmgmtLimits,
    /// The AURORA_LIFE profile's sliding windows (`/compat/aurora`).
    pub aurora_limits: AuroraLimits,
    /// The PetStore profile's natural-language queries per caller in any 60 seconds.
    pub petstore_query_per_minute: u32,
    /// The household whose catalog anonymous callers of the PetStore profile read.
    pub petstore_public_store: Option<petty_core::ids::HouseholdId>,
    /// The Petty seed's rule thresholds, for `/compat/petty/pet-timeline`.
    pub seed_thresholds: petty_core::seed_rules::Thresholds,
    /// How long after a collar's reading its pet's day is analysed again (readings that
    /// arrive meanwhile join the same pass).
    pub analysis_delay: Duration,
    /// How long the alarm pass lets readings gather before judging a device (zero: at once;
    /// what arrives during a pass is judged in the next).
    pub alarm_delay: Duration,
    /// Whether the alarm job keeps each rule's run between passes (false: re-reads windows).
    pub alarm_keep_runs: bool,
    /// How notifications are sent.
    pub notify: petty_notify::NotifyConfig,
    /// Billing through Stripe (off by default: every household has everything).
    pub billing: petty_app::billing::BillingSettings,
    /// Where uploaded files are kept and how they are checked.
    pub files: petty_app::files::FilesSettings,
    /// The language model the life log's summary insight is asked of (none by default).
    pub llm: Option<LlmSettings>,
}

/// A chat-completions endpoint for the life log's summary insight, and the budget of calls the
/// edge keeps for it.
#[derive(Clone, Debug)]
pub struct LlmSettings {
    /// Where the model is, which one, the key and the timeout.
    pub api: petty_notify::llm::LlmConfig,
    /// Calls one person's requests may make in 24 hours (bursts up to the same; counted on each
    /// node, whether or not the rate limits are on).
    pub daily_calls_per_user: u32,
}

impl LlmSettings {
    /// The seed's cap: 100 calls per person a day.
    pub const DEFAULT_DAILY_CALLS_PER_USER: u32 = 100;
}

/// Requests allowed per minute, with bursts up to the same number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Per client address, before authentication.
    pub per_ip_per_minute: u32,
    /// Per signed-in user or API key.
    pub per_principal_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { enabled: true, per_ip_per_minute: 1200, per_principal_per_minute: 600 }
    }
}

/// The Pet Management profile's own rate limits (its contract's): requests per user or API key
/// in each UTC hour by subscription tier, and requests per client address a minute on its
/// `/auth/*` routes. Counted on each node (see `petty_compat::petmgmt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PetmgmtLimits {
    pub enabled: bool,
    pub free_per_hour: u32,
    pub premium_per_hour: u32,
    pub enterprise_per_hour: u32,
    pub auth_per_ip_per_minute: u32,
}

impl Default for PetmgmtLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            free_per_hour: 1_000,
            premium_per_hour: 10_000,
            enterprise_per_hour: 100_000,
            auth_per_ip_per_minute: 60,
        }
    }
}

/// The AURORA_LIFE profile's own rate limits (its contract's): requests in any 60 seconds per
/// signed-in user (or per client address without a valid token) on every route under
/// `/compat/aurora`, predictions per user and kind, and insight generations per user. Counted
/// on each node (see `petty_compat::aurora`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuroraLimits {
    pub enabled: bool,
    pub per_minute: u32,
    pub predictions_per_minute: u32,
    pub insights_per_minute: u32,
}

impl Default for AuroraLimits {
    fn default() -> Self {
        Self { enabled: true, per_minute: 100, predictions_per_minute: 10, insights_per_minute: 5 }
    }
}

impl HttpConfig {
    /// The application layer's settings these carry (the binary's configuration sets both).
    pub fn app_settings(&self) -> petty_app::Settings {
        petty_app::Settings {
            analysis_delay: self.analysis_delay,
            alarm_delay: self.alarm_delay,
            alarm_keep_runs: self.alarm_keep_runs,
            notify: self.notify.clone(),
            seed_thresholds: self.seed_thresholds,
            account_mail: self.account_mail,
            billing: self.billing.clone(),
            files: self.files.clone(),
            llm: self.llm.as_ref().map(|llm| llm.api.clone()),
            ..petty_app::Settings::default()
        }
    }

    /// Settings for tests and examples: a fixed secret and the production defaults otherwise.
    pub fn for_tests() -> Self {
        Self { jwt_secret: b"petty-test-secret-petty-test-secret-0123456789".to_vec(), ..Self::with_secret(Vec::new()) }
    }

    /// The defaults, signing with `jwt_secret`.
    pub fn with_secret(jwt_secret: Vec<u8>) -> Self {
        Self {
            jwt_secret,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            session_ttl: Duration::from_secs(7 * 24 * 3600),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            signin: SignInPolicy::default(),
            email_verification: EmailVerification::Optional,
            account_mail: petty_app::AccountMailSettings::default(),
            rate_limit: RateLimitConfig::default(),
            cors_allowed_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_connections_per_ip: 128,
            secure_cookies: false,
            forwarded_for: crate::ratelimit::ForwardedFor::Ignore,
            seed_thresholds: petty_core::seed_rules::Thresholds::default(),
            petmgmt_limits: PetmgmtLimits::default(),
            aurora_limits: AuroraLimits::default(),
            petstore_query_per_minute: 60,
            petstore_public_store: None,
            analysis_delay: Duration::from_secs(30),
            alarm_delay: Duration::ZERO,
            alarm_keep_runs: true,
            notify: petty_notify::NotifyConfig::default(),
            billing: petty_app::billing::BillingSettings::default(),
            files: petty_app::files::FilesSettings::default(),
            llm: None,
        }
    }
}
