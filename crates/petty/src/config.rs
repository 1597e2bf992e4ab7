//! Layered configuration: defaults → `petty.toml` → `PETTY_*` environment (`__` nests,
//! `_FILE` reads a secret from a file) → command-line flags. Unknown `PETTY_*` variables are
//! warned about; unknown keys in the file are errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use petty_core::accounts::{Backoff, EmailVerification, SignInPolicy};
use petty_core::ids::HouseholdId;
use petty_http::{ForwardedFor, HttpConfig, RateLimitConfig};
use serde::{Deserialize, Serialize};

/// Where Petty runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// One machine, nothing else installed: a missing secret is generated and kept in the data folder.
    Embedded,
    /// Secrets must be given, and strong; cookies are `Secure`.
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub mode: Mode,
    pub listen: String,
    pub data_dir: PathBuf,
    /// Empty: the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// The address people use to reach Petty (for links in messages); `https://` turns on secure cookies.
    pub public_url: Option<String>,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub http: HttpSection,
    pub rate_limit: RateLimitSection,
    pub mqtt: MqttSection,
    pub nats: NatsSection,
    pub analysis: AnalysisSection,
    pub notify: NotifySection,
    pub billing: BillingSection,
    pub storage: StorageSection,
    pub llm: LlmSection,
    pub compat: CompatSection,
    pub demo: DemoSection,
    pub backup: BackupSection,
}

/// `petty serve`'s scheduled backups of an embedded Petty (`petty backup`'s archive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BackupSection {
    /// Seconds between two archives; 0: none are made.
    pub interval_secs: u64,
    /// The folder they go to; empty: `backups` in `data_dir`.
    pub dir: Option<PathBuf>,
    /// How many are kept (the oldest go first).
    pub keep: usize,
}

impl Default for BackupSection {
    fn default() -> Self {
        Self { interval_secs: 0, dir: None, keep: 7 }
    }
}

/// `petty serve --demo`'s household.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct DemoSection {
    /// The demo's simulated collars and air monitor keep sending while the server runs.
    pub live_devices: bool,
}

impl Default for DemoSection {
    fn default() -> Self {
        Self { live_devices: true }
    }
}

/// The seeds' profiles' own settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CompatSection {
    pub petstore: PetstoreSection,
}

/// The PetStore profile (`/compat/petstore`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PetstoreSection {
    /// A household id whose catalog anonymous callers of the profile read; none: every call
    /// needs a token or key.
    pub public_store: Option<String>,
}

/// A language model for the life log's summary insight, through any OpenAI-compatible
/// chat-completions API; off unless `base_url` is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LlmSection {
    /// The API's base (`http://127.0.0.1:11434/v1`); empty: no model, nothing is asked.
    pub base_url: Option<String>,
    /// The model, as the endpoint names it.
    pub model: Option<String>,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
    /// Seconds one call may take.
    pub timeout_secs: u64,
    /// Calls one person's requests may make in 24 hours (on each node).
    pub daily_calls_per_user: u32,
}

impl Default for LlmSection {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key: None,
            timeout_secs: petty_http::notify::LLM_TIMEOUT.as_secs(),
            daily_calls_per_user: petty_http::LlmSettings::DEFAULT_DAILY_CALLS_PER_USER,
        }
    }
}

/// Billing: off (every household has everything) unless `[billing.stripe]` has a secret key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BillingSection {
    pub stripe: StripeSection,
}

/// Plans paid through Stripe: its API, the keys, and the price of each paid tier and period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StripeSection {
    /// `sk_live_...`; empty: billing is off.
    pub secret_key: Option<String>,
    /// The webhook endpoint's signing secret, `whsec_...`.
    pub webhook_secret: Option<String>,
    /// Stripe's API, or a server that speaks it.
    pub api_base_url: String,
    /// Seconds one call to Stripe may take.
    pub timeout_secs: u64,
    pub price_premium_monthly: Option<String>,
    pub price_premium_yearly: Option<String>,
    pub price_enterprise_monthly: Option<String>,
    pub price_enterprise_yearly: Option<String>,
}

impl Default for StripeSection {
    fn default() -> Self {
        Self {
            secret_key: None,
            webhook_secret: None,
            api_base_url: "https://api.stripe.com".to_owned(),
            timeout_secs: 10,
            price_premium_monthly: None,
            price_premium_yearly: None,
            price_enterprise_monthly: None,
            price_enterprise_yearly: None,
        }
    }
}

/// Uploaded files (pets' photos, records' attachments): a folder on this machine, or an S3
/// bucket (AWS, or any service that speaks its protocol) for several nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StorageSection {
    /// "local" or "s3".
    pub backend: String,
    /// The folder for "local"; empty: `files` in `data_dir`.
    pub path: Option<PathBuf>,
    /// The most bytes one upload may carry.
    pub max_upload_bytes: u64,
    /// The S3 service's address; empty: AWS's own for the region.
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_region: String,
    /// Empty: from the environment (`AWS_ACCESS_KEY_ID`, ...) or the machine's role.
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Allow an `http://` endpoint.
    pub s3_allow_http: bool,
    /// clamd's `host:port`: uploads are scanned for viruses when set.
    pub clamd: Option<String>,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            backend: "local".to_owned(),
            path: None,
            max_upload_bytes: petty_core::files::MAX_UPLOAD_BYTES,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: "us-east-1".to_owned(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            clamd: None,
        }
    }
}

/// Alarm notifications: email over SMTP, SMS and calls through Twilio (or a service that speaks
/// its API). Each channel is off until it is configured; alarms still show in the app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NotifySection {
    /// Milliseconds a reading may wait for others before the alarm rules judge its device (0:
    /// at once; readings that arrive during a pass are judged together in the next).
    pub alarm_delay_ms: u64,
    /// Whether the alarm job keeps each rule's run between passes and reads only new readings
    /// (false: every pass reads every rule's window again, the slower way it used to work).
    pub alarm_keep_runs: bool,
    /// Attempts before a notification is given up; retries back off exponentially.
    pub max_attempts: u32,
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// `host:port` of the SMTP server; empty: no email.
    pub smtp_server: Option<String>,
    /// "starttls" (587), "tls" (465) or "none" (a relay on this machine).
    pub smtp_tls: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    pub smtp_from: String,
    /// Twilio's API; any service that speaks it will do.
    pub twilio_base_url: String,
    /// Empty: no SMS or calls.
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<String>,
    /// The number messages and calls come from, E.164.
    pub twilio_from: Option<String>,
    /// Networks webhooks may reach besides public addresses (`10.0.0.0/8`, `192.168.1.20`):
    /// loopback, private, link-local and reserved addresses are refused unless listed here.
    pub outbound_allow: Vec<String>,
}

impl Default for NotifySection {
    fn default() -> Self {
        Self {
            alarm_delay_ms: 0,
            alarm_keep_runs: true,
            max_attempts: 10,
            backoff_base_secs: 5,
            backoff_max_secs: 900,
            smtp_server: None,
            smtp_tls: "starttls".to_owned(),
            smtp_username: None,
            smtp_password: None,
            smtp_from: "Petty <petty@localhost>".to_owned(),
            twilio_base_url: "https://api.twilio.com".to_owned(),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            outbound_allow: Vec::new(),
        }
    }
}

/// The behaviour analysis, and the Petty seed's rule thresholds (`/compat/petty/pet-timeline`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AnalysisSection {
    /// Seconds between a collar's reading and the analysis of its pet's day (readings that
    /// arrive meanwhile join the same pass).
    pub delay_secs: u64,
    /// Deep Sleep: the resting heart rate's standard deviation must be under this.
    pub sleep_heart_rate_std: f64,
    /// Anxious Pacing: every position within this many degrees of the centroid.
    pub pacing_radius_deg: f64,
    /// Playing Fetch: a cycle's rest point farther than this many degrees from its sprint.
    pub fetch_distance_deg: f64,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        let t = petty_core::seed_rules::Thresholds::default();
        Self {
            delay_secs: 30,
            sleep_heart_rate_std: t.sleep_heart_rate_std,
            pacing_radius_deg: t.pacing_radius_deg,
            fetch_distance_deg: t.fetch_distance_deg,
        }
    }
}

/// Live events across nodes through NATS (off unless `url` is set: events stay in this process).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct NatsSection {
    /// `nats://host:4222`, or several servers of a cluster separated by commas; a user and
    /// password go in the URLs (`nats://petty:secret@host:4222`).
    pub url: Option<String>,
}

/// Readings over MQTT (off unless `url` is set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct MqttSection {
    /// `mqtt://host:1883`; empty: no MQTT.
    pub url: Option<String>,
    /// The broker keeps this client's session (and unacknowledged messages) across restarts;
    /// give each node its own.
    pub client_id: String,
    /// Announce the devices to Home Assistant (MQTT discovery) on the same broker.
    pub home_assistant: bool,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// Seconds between two looks at the devices, their newest readings and open alarms.
    pub discovery_interval_secs: u64,
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            url: None,
            client_id: "petty".to_owned(),
            home_assistant: true,
            discovery_prefix: "homeassistant".to_owned(),
            discovery_interval_secs: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AuthConfig {
    pub jwt_secret: Option<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    pub session_ttl_days: u64,
    pub invitation_ttl_days: u64,
    /// "required": an account signs in only once its email address is verified; "optional": it
    /// may sign in before. Unset: required when `notify.smtp_server` is set, else optional.
    pub email_verification: Option<String>,
    pub password_reset_ttl_secs: u64,
    pub email_verification_ttl_secs: u64,
    /// Account mails (reset and verification links, "someone tried to register") one address
    /// may get in an hour.
    pub account_mail_per_address_per_hour: u32,
    /// Untrusted sign-ins per email: free failures, then waits doubling from base to max.
    pub signin_account_free_failures: u32,
    pub signin_account_backoff_base_secs: u64,
    pub signin_account_backoff_max_secs: u64,
    pub signin_account_window_secs: u64,
    /// Untrusted sign-ins per client address (IPv6: per /64), across all accounts.
    pub signin_address_free_failures: u32,
    pub signin_address_backoff_base_secs: u64,
    pub signin_address_backoff_max_secs: u64,
    pub signin_address_window_secs: u64,
    /// Trusted-device tokens: how long one is honoured, and how many failures lock one.
    pub trusted_device_ttl_days: u64,
    pub trusted_device_max_failures: u32,
    pub trusted_device_window_secs: u64,
    /// Deprecated (the hard lockout): read as `signin_account_free_failures`.
    pub lockout_max_failures: Option<u32>,
    /// Deprecated (the hard lockout): read as `signin_account_window_secs`.
    pub lockout_window_secs: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct HttpSection {
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's line and headers, from connecting or from its
    /// previous answer (slow senders are disconnected).
    pub header_read_timeout_secs: u64,
    /// Seconds a keep-alive connection may sit idle before it is closed.
    pub idle_timeout_secs: u64,
    /// Open connections one client address may hold (0: no cap).
    pub max_connections_per_ip: usize,
    pub cors_allowed_origins: Vec<String>,
    /// Believe any peer's `X-Forwarded-For` (only when no one can reach Petty but the proxy);
    /// `trusted_proxies` is the safer way.
    pub trust_forwarded_for: bool,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` names the client, for the
    /// per-address rate limit. Empty: the socket peer is the client. A list, or one string
    /// with commas (`PETTY_HTTP__TRUSTED_PROXIES=10.0.0.10,10.0.0.11`).
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// Default: on in production mode or when `public_url` is https.
    pub secure_cookies: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RateLimitSection {
    pub enabled: bool,
    pub per_ip_per_minute: u32,
    pub per_principal_per_minute: u32,
    /// The Pet Management profile (`/compat/petmgmt`): requests per user or key per UTC hour
    /// by tier, and per address a minute on its `/auth/*` routes.
    pub petmgmt_free_per_hour: u32,
    pub petmgmt_premium_per_hour: u32,
    pub petmgmt_enterprise_per_hour: u32,
    pub petmgmt_auth_per_ip_per_minute: u32,
    /// The AURORA_LIFE profile (`/compat/aurora`): requests per user (or address without a
    /// valid token) in any 60 seconds, predictions per user and kind, insight generations per user.
    pub aurora_per_minute: u32,
    pub aurora_predictions_per_minute: u32,
    pub aurora_insights_per_minute: u32,
    /// The PetStore profile (`/compat/petstore`): natural-language queries per caller in any
    /// 60 seconds.
    pub petstore_query_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Embedded,
            listen: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./petty-data"),
            database_url: None,
            public_url: None,
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            http: HttpSection::default(),
            rate_limit: RateLimitSection::default(),
            mqtt: MqttSection::default(),
            nats: NatsSection::default(),
            analysis: AnalysisSection::default(),
            notify: NotifySection::default(),
            billing: BillingSection::default(),
            storage: StorageSection::default(),
            llm: LlmSection::default(),
            compat: CompatSection::default(),
            demo: DemoSection::default(),
            backup: BackupSection::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Text, level: "info,sqlx=warn".to_owned() }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        let signin = SignInPolicy::default();
        let secs = |d: time::Duration| u64::try_from(d.whole_seconds()).unwrap_or(0);
        let mail = petty_app::AccountMailSettings::default();
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 7,
            session_ttl_days: 7,
            invitation_ttl_days: 7,
            email_verification: None,
            password_reset_ttl_secs: mail.reset_ttl.as_secs(),
            email_verification_ttl_secs: mail.verify_ttl.as_secs(),
            account_mail_per_address_per_hour: mail.per_address_per_hour,
            signin_account_free_failures: signin.account.free_failures,
            signin_account_backoff_base_secs: secs(signin.account.base),
            signin_account_backoff_max_secs: secs(signin.account.max),
            signin_account_window_secs: secs(signin.account.window),
            signin_address_free_failures: signin.address.free_failures,
            signin_address_backoff_base_secs: secs(signin.address.base),
            signin_address_backoff_max_secs: secs(signin.address.max),
            signin_address_window_secs: secs(signin.address.window),
            trusted_device_ttl_days: secs(signin.trusted_device_ttl) / 86_400,
            trusted_device_max_failures: signin.trusted_device_max_failures,
            trusted_device_window_secs: secs(signin.trusted_device_window),
            lockout_max_failures: None,
            lockout_window_secs: None,
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 5,
            max_connections_per_ip: 128,
            cors_allowed_origins: Vec::new(),
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            secure_cookies: None,
        }
    }
}

impl Default for RateLimitSection {
    fn default() -> Self {
        let d = RateLimitConfig::default();
        let p = petty_http::PetmgmtLimits::default();
        let a = petty_http::AuroraLimits::default();
        Self {
            enabled: d.enabled,
            per_ip_per_minute: d.per_ip_per_minute,
            per_principal_per_minute: d.per_principal_per_minute,
            petmgmt_free_per_hour: p.free_per_hour,
            petmgmt_premium_per_hour: p.premium_per_hour,
            petmgmt_enterprise_per_hour: p.enterprise_per_hour,
            petmgmt_auth_per_ip_per_minute: p.auth_per_ip_per_minute,
            aurora_per_minute: a.per_minute,
            aurora_predictions_per_minute: a.predictions_per_minute,
            aurora_insights_per_minute: a.insights_per_minute,
            petstore_query_per_minute: petty_http::HttpConfig::with_secret(Vec::new()).petstore_query_per_minute,
        }
    }
}

/// The annotated example printed by `petty config default`. A test keeps it equal to the defaults.
pub(crate) const ANNOTATED_DEFAULT: &str = r#"# petty.toml — every setting at its default.
# Each can also be set in the environment: PETTY_<KEY>, with "__" between section and key
# (PETTY_AUTH__JWT_SECRET), and any of them read from a file with a _FILE suffix
# (PETTY_AUTH__JWT_SECRET_FILE=/run/secrets/petty_jwt). Command-line flags win over both.

# "embedded": one machine; a missing secret is generated once and kept in data_dir.
# "production": secrets must be given and strong; cookies are Secure.
mode = "embedded"
# Address and port to serve on (--listen, PETTY_LISTEN).
listen = "127.0.0.1:8080"
# The embedded database, its secret and stored files live here (--data-dir, PETTY_DATA_DIR).
data_dir = "./petty-data"
# Run on PostgreSQL instead of the embedded SQLite (--database-url, PETTY_DATABASE_URL):
# database_url = "postgres://petty@127.0.0.1:5432/petty"
# How people reach Petty, for links in messages; https:// turns on Secure cookies.
# public_url = "https://petty.example.org"

[log]
# "text" for people, "json" for log collectors (--log-format). RUST_LOG overrides the level.
format = "text"
level = "info,sqlx=warn"

[auth]
# Signs access tokens. At least 32 characters; make one with `petty config secret`.
# jwt_secret = "..."
access_token_ttl_secs = 900
refresh_token_ttl_days = 7
session_ttl_days = 7
invitation_ttl_days = 7
# "required": an account may sign in only once its email address is verified (the link in the
# verification mail); until then its right password is answered as a wrong one. "optional": it
# may sign in before (answers say email_verified: false). Default: required when
# notify.smtp_server is set, optional otherwise (a server that cannot mail cannot verify).
# email_verification = "required"
# How long a password-reset link and a verification link work.
password_reset_ttl_secs = 3600
email_verification_ttl_secs = 172800
# Account mails (reset and verification links, "someone tried to register with your address")
# one address may get in an hour; more are not sent.
account_mail_per_address_per_hour = 5
# Sign-in throttles. Failed sign-ins without a trusted-device token back off per email (whether
# or not it has an account) and per client address (an IPv6 client by its /64): after the free
# failures within the window, each attempt waits base * 2^(failures - free) seconds after the
# latest failure, at most max, answering 429 with Retry-After meanwhile. Nothing locks an
# account: its owner signs in on a device they used before, or resets the password.
signin_account_free_failures = 5
signin_account_backoff_base_secs = 1
signin_account_backoff_max_secs = 900
signin_account_window_secs = 86400
signin_address_free_failures = 20
signin_address_backoff_base_secs = 1
signin_address_backoff_max_secs = 900
signin_address_window_secs = 3600
# Every sign-in hands out a trusted-device token (the dashboard keeps it in a cookie; API
# clients send it back as trusted_device_token). With it, only that token's own failures
# count; this many within the window lock it (its attempts count as untrusted until they age
# out). A token is honoured for ttl days and until the password changes.
trusted_device_ttl_days = 180
trusted_device_max_failures = 10
trusted_device_window_secs = 3600

[http]
max_body_bytes = 1048576
request_timeout_secs = 30
# A client must send a request's line and headers within this many seconds of connecting (or
# of its previous answer), or it is disconnected: a slowloris cannot hold connections open.
header_read_timeout_secs = 10
# A keep-alive connection idle this long is closed (an idle one also goes after the
# header_read_timeout, whichever is shorter). Behind a proxy, keep its idle upstream time below.
idle_timeout_secs = 5
# Open connections one client address may hold; more are closed at once. It counts socket
# peers, so behind a proxy the proxy is one address: raise it or set 0 (no cap) there.
max_connections_per_ip = 128
# Browser origins allowed to call the API, e.g. ["https://app.example.org"]; "*" for any.
cors_allowed_origins = []
# Behind a load balancer or proxy, the addresses (or networks) of the proxies: the client is
# then the address they put in X-Forwarded-For, for the per-address rate limit (a peer not
# listed cannot name another address). Empty: the socket peer is the client. In the
# environment, commas will do: PETTY_HTTP__TRUSTED_PROXIES=10.0.0.10,10.0.0.11
trusted_proxies = []
# Believe X-Forwarded-For from any peer: only when nothing but your proxy can reach Petty.
trust_forwarded_for = false
# Default: on in production mode or when public_url is https.
# secure_cookies = true

[rate_limit]
enabled = true
per_ip_per_minute = 1200
per_principal_per_minute = 600
# The Pet Management profile (/compat/petmgmt) adds its contract's limits: requests per user or
# API key in each UTC hour by subscription tier (every household is enterprise while billing is
# off), and per client address a minute on its /auth/* routes. Counted on each node.
petmgmt_free_per_hour = 1000
petmgmt_premium_per_hour = 10000
petmgmt_enterprise_per_hour = 100000
petmgmt_auth_per_ip_per_minute = 60
# The AURORA_LIFE profile (/compat/aurora) adds its contract's sliding 60-second windows: requests
# per user (or per address without a valid token), predictions per user and kind (energy, mood),
# and insight generations per user. Counted on each node.
aurora_per_minute = 100
aurora_predictions_per_minute = 10
aurora_insights_per_minute = 5
# The PetStore profile (/compat/petstore): natural-language queries (POST /pets/query) per user,
# key or address in any 60 seconds. Counted on each node.
petstore_query_per_minute = 60

[mqtt]
# Take readings from an MQTT broker too (--mqtt-url, PETTY_MQTT__URL): Petty subscribes to
# petty/v1/devices/+/readings with QoS 1 and acknowledges each message after it is stored.
# url = "mqtt://127.0.0.1:1883"
# The broker keeps this client's session across restarts; give each node its own.
client_id = "petty"
# Announce every device to Home Assistant through MQTT discovery (retained config messages
# under the prefix), and keep their state topics (petty/v1/devices/<id>/state, .../location,
# .../alarm) current; a device deleted in Petty is removed from Home Assistant.
home_assistant = true
discovery_prefix = "homeassistant"
# Seconds between two looks at the devices, their newest readings and open alarms.
discovery_interval_secs = 10

[nats]
# Fan live events (readings, alarms) out to every node through NATS (--nats-url,
# PETTY_NATS__URL); without it, events stay in this process. Several servers of a NATS
# cluster, separated by commas: Petty moves to another when its server goes away. A user and
# password go in the URLs: "nats://petty:secret@10.0.0.21:4222,nats://petty:secret@10.0.0.22:4222".
# url = "nats://127.0.0.1:4222"

[analysis]
# Seconds between a collar's reading and the analysis of its pet's day.
delay_secs = 30
# The Petty seed's rule thresholds (/compat/petty/pet-timeline): Deep Sleep's heart-rate
# standard deviation, Anxious Pacing's radius and Playing Fetch's distance (degrees).
sleep_heart_rate_std = 3.0
pacing_radius_deg = 0.0007
fetch_distance_deg = 0.001

[notify]
# Milliseconds a reading may wait for others before the alarm rules judge its device (0: at
# once; readings that arrive during a judging pass are judged together in the next).
alarm_delay_ms = 0
# Keep each alarm rule's run between judging passes, so a pass reads only the new readings
# (false: every pass reads each rule's window again; slower, kept for comparison).
alarm_keep_runs = true
# Attempts before a notification is given up; the waits double from base to max.
max_attempts = 10
backoff_base_secs = 5
backoff_max_secs = 900
# Email: the SMTP server as host:port; "starttls", "tls" or "none".
# smtp_server = "smtp.example.org:587"
smtp_tls = "starttls"
# smtp_username = "petty"
# smtp_password = "..."   (better: PETTY_NOTIFY__SMTP_PASSWORD_FILE)
smtp_from = "Petty <petty@localhost>"
# SMS and voice calls through Twilio's REST API (or any service that speaks it).
twilio_base_url = "https://api.twilio.com"
# twilio_account_sid = "AC..."
# twilio_auth_token = "..."   (better: PETTY_NOTIFY__TWILIO_AUTH_TOKEN_FILE)
# twilio_from = "+15005550006"
# Webhooks reach public addresses only; list the inside networks they may reach too.
outbound_allow = []

[billing.stripe]
# Billing is off (every household has everything) until a secret key is set. With it, new
# households start on the free plan (3 pets, 100 health records, 500 MB of files, no calendar
# feed) and their owners can subscribe to premium or enterprise, paid through Stripe.
# secret_key = "sk_live_..."   (better: PETTY_BILLING__STRIPE__SECRET_KEY_FILE)
# The signing secret of the webhook endpoint that Stripe calls at
# <public_url>/api/v1/billing/stripe/webhook (events: customer.subscription.created, .updated,
# .deleted, invoice.paid, invoice.payment_failed).
# webhook_secret = "whsec_..."   (better: PETTY_BILLING__STRIPE__WEBHOOK_SECRET_FILE)
# Stripe's API, or a server that speaks it; each call may take timeout_secs.
api_base_url = "https://api.stripe.com"
timeout_secs = 10
# Stripe's price id of each paid tier and period; a tier without one cannot be chosen for it.
# price_premium_monthly = "price_..."
# price_premium_yearly = "price_..."
# price_enterprise_monthly = "price_..."
# price_enterprise_yearly = "price_..."
[storage]
# Uploaded files (pets' photos, records' attachments): "local" keeps them in a folder (path;
# default: files/ in data_dir), "s3" in a bucket, which every node of a cluster shares.
backend = "local"
# path = "/var/lib/petty/files"
# The most bytes one upload may carry (10 MiB).
max_upload_bytes = 10485760
# S3, or any service that speaks its protocol (MinIO, Ceph, ...): its address (empty: AWS's for
# the region), the bucket, and keys (empty: AWS_ACCESS_KEY_ID and the rest from the environment,
# or the machine's role). An http:// endpoint needs s3_allow_http.
# s3_endpoint = "https://s3.eu-west-1.amazonaws.com"
# s3_bucket = "petty-files"
s3_region = "us-east-1"
# s3_access_key_id = "AKIA..."
# s3_secret_access_key = "..."   (better: PETTY_STORAGE__S3_SECRET_ACCESS_KEY_FILE)
s3_allow_http = false
# Scan every upload with clamd (its host:port) before it is kept; an infected file is refused
# and deleted. Unset: no scan.
# clamd = "127.0.0.1:3310"

[llm]
# An optional summary insight in the life log ("Your days in a few words"), written by a
# language model through any OpenAI-compatible chat-completions API: OpenAI's, or Ollama,
# llama.cpp or vLLM on your own machine. Off until base_url is set; then each request for
# insights may ask it once, sending the insights' sentences and numbers and nothing else of
# the log. A failed or slow call, or a person's spent calls, only leave the summary out.
# base_url = "http://127.0.0.1:11434/v1"
# model = "llama3.1:8b"
# api_key = "..."   (better: PETTY_LLM__API_KEY_FILE; a server on your machine needs none)
# Seconds one call may take; less than http.request_timeout_secs (the call is made within the
# request for insights).
timeout_secs = 20
# Calls one person's requests may make in 24 hours, counted on each node (all at once if need be;
# one comes back every 24 h / this many).
daily_calls_per_user = 100

[compat.petstore]
# A household id whose catalog anyone may read through /compat/petstore without a token (the
# seed's public store page). Unset: every call needs a token or API key. Writes always do.
# public_store = "01890a5d-ac96-774b-b9aa-9ae8a4c5e0e2"

[demo]
# With `petty serve --demo`, the demo household's simulated collars and air monitor keep
# sending readings while the server runs (PETTY_DEMO__LIVE_DEVICES=false: they stop).
live_devices = true

[backup]
# `petty serve` writes `petty backup`'s archive of an embedded Petty every this many seconds
# (86400: daily; 0: never). On PostgreSQL, schedule pg_dump instead.
interval_secs = 0
# Where the archives go; empty: backups/ in data_dir.
# dir = "/var/backups/petty"
# How many archives are kept (the oldest go first).
keep = 7
"#;

/// What the command line asks for; wins over the file and the environment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<String>,
    pub listen: Option<String>,
    pub mqtt_url: Option<String>,
    pub nats_url: Option<String>,
}

/// The configuration in effect, and what was odd about how it was given.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
    /// The configuration file that was read, if any (`petty backup` keeps a copy).
    pub file: Option<PathBuf>,
}

/// Merges the layers from the process environment.
pub(crate) fn load(overrides: &Overrides) -> anyhow::Result<Loaded> {
    load_from(overrides, std::env::vars().collect())
}

/// Merges the layers, with the environment given as a list (tests pass their own).
pub(crate) fn load_from(overrides: &Overrides, env: Vec<(String, String)>) -> anyhow::Result<Loaded> {
    let mut warnings = Vec::new();
    let known = known_keys();
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    // Where each setting given outside a file came from, to name it when its value is refused.
    let mut origins: std::collections::HashMap<String, String> = std::collections::HashMap::new();

    let env_config = env.iter().find(|(k, _)| k == "PETTY_CONFIG").map(|(_, v)| PathBuf::from(v));
    let mut file = overrides.config_file.clone().or(env_config);
    match &file {
        Some(path) if !path.exists() => bail!("the configuration file {} does not exist", path.display()),
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None if Path::new("petty.toml").exists() => {
            figment = figment.merge(Toml::file_exact("petty.toml"));
            file = Some(PathBuf::from("petty.toml"));
        }
        None => {}
    }

    for (name, value) in &env {
        let Some(rest) = name.strip_prefix("PETTY_") else { continue };
        // PETTY_SIM_* belong to `petty simulate`, PETTY_TEST_* to the test suites.
        if rest == "CONFIG" || rest.starts_with("TEST_") || rest.starts_with("SIM_") {
            continue;
        }
        let (key, from_file) = match rest.strip_suffix("_FILE") {
            Some(base) if known.contains(&env_key(base)) => (env_key(base), true),
            _ => (env_key(rest), false),
        };
        if !known.contains(&key) {
            warnings.push(format!("{name} is not a Petty setting and is ignored (see `petty config default`)"));
            continue;
        }
        let value = if from_file {
            let raw = std::fs::read_to_string(value).with_context(|| format!("{name}: could not read {value}"))?;
            figment::value::Value::from(raw.trim_end_matches(['\n', '\r']).to_owned())
        } else {
            parse_env_value(value)
        };
        origins.insert(key.clone(), format!("the environment variable {name}"));
        figment = figment.merge(Serialized::default(&key, value));
    }

    let flags: [(&str, &str, Option<figment::value::Value>); 6] = [
        ("data_dir", "--data-dir", overrides.data_dir.as_ref().map(|v| v.display().to_string().into())),
        ("database_url", "--database-url", overrides.database_url.clone().map(Into::into)),
        ("log.format", "--log-format", overrides.log_format.clone().map(Into::into)),
        ("listen", "--listen", overrides.listen.clone().map(Into::into)),
        ("mqtt.url", "--mqtt-url", overrides.mqtt_url.clone().map(Into::into)),
        ("nats.url", "--nats-url", overrides.nats_url.clone().map(Into::into)),
    ];
    for (key, flag, value) in flags {
        if let Some(value) = value {
            origins.insert(key.to_owned(), format!("the flag {flag}"));
            figment = figment.merge(Serialized::default(key, value));
        }
    }
    let mut config: Config = figment.extract().map_err(|e| refused(e, &origins))?;
    if config.database_url.as_deref().is_some_and(|u| u.trim().is_empty()) {
        config.database_url = None;
    }
    if config.mqtt.url.as_deref().is_some_and(|u| u.trim().is_empty()) {
        config.mqtt.url = None;
    }
    if config.nats.url.as_deref().is_some_and(|u| u.trim().is_empty()) {
        config.nats.url = None;
    }
    let stripe = &mut config.billing.stripe;
    for value in [
        &mut stripe.secret_key,
        &mut stripe.webhook_secret,
        &mut stripe.price_premium_monthly,
        &mut stripe.price_premium_yearly,
        &mut stripe.price_enterprise_monthly,
        &mut stripe.price_enterprise_yearly,
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *value = None;
        }
    }
    let llm = &mut config.llm;
    for value in [&mut llm.base_url, &mut llm.model, &mut llm.api_key] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *value = None;
        }
    }
    if llm.base_url.is_none() && (llm.model.is_some() || llm.api_key.is_some()) {
        warnings.push("llm.model or llm.api_key is set but llm.base_url is not: no language model is used".to_owned());
    }
    let storage = &mut config.storage;
    for value in [
        &mut storage.s3_endpoint,
        &mut storage.s3_bucket,
        &mut storage.s3_access_key_id,
        &mut storage.s3_secret_access_key,
        &mut storage.clamd,
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *value = None;
        }
    }
    if storage.path.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
        storage.path = None;
    }
    if config.backup.dir.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
        config.backup.dir = None;
    }
    config.check()?;
    for (old, new) in [
        ("lockout_max_failures", "signin_account_free_failures"),
        ("lockout_window_secs", "signin_account_window_secs"),
    ] {
        let set = match old {
            "lockout_max_failures" => config.auth.lockout_max_failures.is_some(),
            _ => config.auth.lockout_window_secs.is_some(),
        };
        if set {
            warnings.push(format!(
                "auth.{old} is deprecated (sign-in no longer locks an account; it backs off): it is read as \
                 auth.{new}; rename it"
            ));
        }
    }
    Ok(Loaded { config, warnings, file })
}

/// What was wrong with the configuration, each value named by where it was given (an
/// environment variable, a flag or a file) and its key, with the values it may take.
fn refused(errors: figment::Error, origins: &std::collections::HashMap<String, String>) -> anyhow::Error {
    let lines: Vec<String> = errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let file = e.metadata.as_ref().and_then(|m| m.source.as_ref()).and_then(|s| s.file_path());
            let from = match (origins.get(&key), file) {
                (Some(origin), _) => origin.clone(),
                (None, Some(path)) => format!("the configuration file {}", path.display()),
                (None, None) => "the configuration".to_owned(),
            };
            let what = if key.is_empty() { String::new() } else { format!(" ({key})") };
            // figment quotes a list of names inside backticks of its own: one pair is enough.
            format!("{from}{what}: {}", e.kind.to_string().replace("``", "`"))
        })
        .collect();
    anyhow::anyhow!("configuration: {}", lines.join("; "))
}

/// A list of strings, or one string of entries separated by commas (what fits in an
/// environment file without quoting).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match Given::deserialize(deserializer)? {
        Given::List(list) => list,
        Given::Commas(text) => text.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect(),
    })
}

/// `AUTH__JWT_SECRET` → `auth.jwt_secret`.
fn env_key(name: &str) -> String {
    name.to_lowercase().replace("__", ".")
}

/// Environment values are TOML values when they parse as one (`true`, `8080`, `["a", "b"]`),
/// and plain strings otherwise. A leading `+` keeps it a string: that is an E.164 phone number
/// (`PETTY_NOTIFY__TWILIO_FROM=+15005550006`), and no numeric setting is written with one.
fn parse_env_value(raw: &str) -> figment::value::Value {
    let numeric = !raw.starts_with('+')
        && raw.parse::<f64>().is_ok()
        && raw.chars().all(|c| c.is_ascii_digit() || ".-+eE".contains(c));
    let looks_structured = raw.starts_with('[') || raw == "true" || raw == "false" || numeric;
    if looks_structured && let Ok(v) = raw.parse::<figment::value::Value>() {
        return v;
    }
    figment::value::Value::from(raw.to_owned())
}

/// Every dotted key the configuration has, from the defaults (optional ones included).
fn known_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = value {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if v.is_object() {
                    walk(&key, v, out);
                } else {
                    out.insert(key);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    if let Ok(v) = serde_json::to_value(Config::default()) {
        walk("", &v, &mut out);
    }
    out
}

/// A new random secret: 48 random bytes, base64.
pub(crate) fn new_secret() -> String {
    let bytes: [u8; 48] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const SECRET_HELP: &str = "set PETTY_AUTH__JWT_SECRET (or PETTY_AUTH__JWT_SECRET_FILE, or jwt_secret under [auth] in petty.toml) \
     to a random string of at least 32 characters; `petty config secret` prints one";

/// Why a secret is too weak to sign tokens with, if it is.
fn weakness(secret: &str) -> Option<String> {
    let distinct = secret.chars().collect::<BTreeSet<_>>().len();
    if secret.chars().count() < 32 {
        Some(format!("auth.jwt_secret is too short ({} characters, at least 32 needed)", secret.chars().count()))
    } else if distinct < 10 {
        Some(format!("auth.jwt_secret is too predictable (only {distinct} different characters)"))
    } else {
        None
    }
}

impl Config {
    fn check(&self) -> anyhow::Result<()> {
        if !(1..=3_600).contains(&self.mqtt.discovery_interval_secs) {
            bail!("mqtt.discovery_interval_secs must be 1 to 3600, got {}", self.mqtt.discovery_interval_secs);
        }
        let prefix = &self.mqtt.discovery_prefix;
        if prefix.is_empty() || prefix.contains(['+', '#']) || prefix.starts_with('/') || prefix.ends_with('/') {
            bail!("mqtt.discovery_prefix must be a topic level or levels without wildcards, got {prefix:?}");
        }
        if !(1..=10_000).contains(&self.backup.keep) {
            bail!("backup.keep must be 1 to 10000, got {}", self.backup.keep);
        }
        let (a, h) = (&self.auth, &self.http);
        const DAY: u64 = 86_400;
        for (name, value, range) in [
            ("auth.access_token_ttl_secs", a.access_token_ttl_secs, 60..=DAY),
            ("auth.refresh_token_ttl_days", a.refresh_token_ttl_days, 1..=365),
            ("auth.session_ttl_days", a.session_ttl_days, 1..=365),
            ("auth.invitation_ttl_days", a.invitation_ttl_days, 1..=90),
            ("auth.password_reset_ttl_secs", a.password_reset_ttl_secs, 300..=DAY),
            ("auth.email_verification_ttl_secs", a.email_verification_ttl_secs, 300..=30 * DAY),
            ("auth.trusted_device_ttl_days", a.trusted_device_ttl_days, 1..=365),
            ("auth.signin_account_window_secs", a.signin_account_window_secs, 1..=30 * DAY),
            ("auth.signin_address_window_secs", a.signin_address_window_secs, 1..=30 * DAY),
            ("auth.trusted_device_window_secs", a.trusted_device_window_secs, 1..=30 * DAY),
            ("http.request_timeout_secs", h.request_timeout_secs, 1..=3_600),
            ("http.header_read_timeout_secs", h.header_read_timeout_secs, 1..=600),
            ("http.idle_timeout_secs", h.idle_timeout_secs, 1..=3_600),
        ] {
            if !range.contains(&value) {
                bail!("{name} must be {} to {}, got {value}", range.start(), range.end());
            }
        }
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            bail!("listen = {:?} is not an ADDR:PORT like 127.0.0.1:8080", self.listen);
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:"))
        {
            bail!("database_url must start with postgres:// (or sqlite:), got {:?}", redact_url(url));
        }
        let a = &self.analysis;
        for (name, value) in [
            ("sleep_heart_rate_std", a.sleep_heart_rate_std),
            ("pacing_radius_deg", a.pacing_radius_deg),
            ("fetch_distance_deg", a.fetch_distance_deg),
        ] {
            if !(value.is_finite() && value > 0.0) {
                bail!("analysis.{name} must be a number above 0, got {value}");
            }
        }
        if !(1..=86_400).contains(&a.delay_secs) {
            bail!("analysis.delay_secs must be 1 to 86400, got {}", a.delay_secs);
        }
        let n = &self.notify;
        if !matches!(n.smtp_tls.as_str(), "starttls" | "tls" | "none") {
            bail!("notify.smtp_tls must be starttls, tls or none, got {:?}", n.smtp_tls);
        }
        if let Some(server) = &n.smtp_server
            && server.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_err())
        {
            bail!("notify.smtp_server must be HOST or HOST:PORT, got {server:?}");
        }
        let twilio = [&n.twilio_account_sid, &n.twilio_auth_token, &n.twilio_from];
        if twilio.iter().any(|v| v.is_some()) && !twilio.iter().all(|v| v.is_some()) {
            bail!("notify: set all of twilio_account_sid, twilio_auth_token and twilio_from, or none");
        }
        if let Err(e) = petty_core::net::Network::parse_all(&self.http.trusted_proxies) {
            bail!("http.trusted_proxies: {e}");
        }
        if let Err(e) = petty_http::notify::OutboundPolicy::new(&n.outbound_allow) {
            bail!("notify.outbound_allow: {e}");
        }
        if let Some(from) = &n.twilio_from
            && let Err(e) = petty_core::phone::Phone::parse(from)
        {
            bail!("notify.twilio_from {e}");
        }
        if !(n.twilio_base_url.starts_with("https://") || n.twilio_base_url.starts_with("http://")) {
            bail!("notify.twilio_base_url must be an http(s) URL, got {:?}", n.twilio_base_url);
        }
        let stripe = &self.billing.stripe;
        if stripe.secret_key.is_some() != stripe.webhook_secret.is_some() {
            bail!("billing.stripe: set both secret_key and webhook_secret (billing on), or neither (billing off)");
        }
        if stripe.secret_key.is_some() && self.billing_settings().stripe.is_some_and(|s| s.prices.offered().is_empty())
        {
            bail!("billing.stripe: set the price id of at least one paid tier and period (price_premium_monthly, ...)");
        }
        if !(stripe.api_base_url.starts_with("https://") || stripe.api_base_url.starts_with("http://")) {
            bail!("billing.stripe.api_base_url must be an http(s) URL, got {:?}", stripe.api_base_url);
        }
        if !(1..=120).contains(&stripe.timeout_secs) {
            bail!("billing.stripe.timeout_secs must be 1 to 120, got {}", stripe.timeout_secs);
        }
        self.check_storage()?;
        self.check_llm()?;
        self.check_compat()?;
        match self.auth.email_verification.as_deref().map(str::parse::<EmailVerification>) {
            None | Some(Ok(EmailVerification::Optional)) => {}
            Some(Ok(EmailVerification::Required)) if n.smtp_server.is_none() => bail!(
                "auth.email_verification = \"required\" needs notify.smtp_server: a server that cannot send \
                 email cannot verify an address"
            ),
            Some(Ok(EmailVerification::Required)) => {}
            Some(Err(_)) => bail!(
                "auth.email_verification must be \"required\" or \"optional\", got {:?}",
                self.auth.email_verification.as_deref().unwrap_or_default()
            ),
        }
        if self.mode == Mode::Production {
            match &self.auth.jwt_secret {
                None => bail!("production mode needs a signing secret: {SECRET_HELP}"),
                Some(s) => {
                    if let Some(why) = weakness(s) {
                        bail!("{why}: {SECRET_HELP}");
                    }
                }
            }
        }
        Ok(())
    }

    fn check_storage(&self) -> anyhow::Result<()> {
        let s = &self.storage;
        match s.backend.as_str() {
            "local" => {}
            "s3" => {
                if s.s3_bucket.is_none() {
                    bail!("storage.backend = \"s3\" needs storage.s3_bucket");
                }
                if let Some(endpoint) = &s.s3_endpoint {
                    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
                        bail!("storage.s3_endpoint must be an http(s) URL, got {endpoint:?}");
                    }
                    if endpoint.starts_with("http://") && !s.s3_allow_http {
                        bail!("storage.s3_endpoint is plain http://: set storage.s3_allow_http = true to allow it");
                    }
                }
                if s.s3_access_key_id.is_some() != s.s3_secret_access_key.is_some() {
                    bail!("storage: set both s3_access_key_id and s3_secret_access_key, or neither");
                }
            }
            other => bail!("storage.backend must be \"local\" or \"s3\", got {other:?}"),
        }
        if !(1024..=1024 * 1024 * 1024).contains(&s.max_upload_bytes) {
            bail!("storage.max_upload_bytes must be 1024 to 1073741824, got {}", s.max_upload_bytes);
        }
        if let Some(clamd) = &s.clamd
            && clamd.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            bail!("storage.clamd must be HOST:PORT, got {clamd:?}");
        }
        Ok(())
    }

    fn check_compat(&self) -> anyhow::Result<()> {
        if let Some(id) = &self.compat.petstore.public_store
            && id.parse::<uuid::Uuid>().is_err()
        {
            bail!("compat.petstore.public_store must be a household id (a UUID), got {id:?}");
        }
        if self.rate_limit.petstore_query_per_minute == 0 {
            bail!(
                "rate_limit.petstore_query_per_minute must be at least 1 (turn every limit off with rate_limit.enabled = false)"
            );
        }
        Ok(())
    }

    fn check_llm(&self) -> anyhow::Result<()> {
        let l = &self.llm;
        let Some(base_url) = &l.base_url else { return Ok(()) };
        if let Err(why) = petty_http::notify::check_llm_base_url(base_url) {
            bail!(
                "llm.base_url {why}: it is the API's base, such as http://127.0.0.1:11434/v1 (or leave it empty: no LLM)"
            );
        }
        if l.model.is_none() {
            bail!("llm.model must name the model to ask when llm.base_url is set");
        }
        if !(1..=300).contains(&l.timeout_secs) {
            bail!("llm.timeout_secs must be 1 to 300, got {}", l.timeout_secs);
        }
        // The summary is asked within the request for insights: a call that outlasted the
        // request would lose the rule insights' answer too.
        if l.timeout_secs >= self.http.request_timeout_secs {
            bail!(
                "llm.timeout_secs ({}) must be under http.request_timeout_secs ({}): the model is asked within \
                 the request for insights",
                l.timeout_secs,
                self.http.request_timeout_secs
            );
        }
        if !(1..=1_000_000).contains(&l.daily_calls_per_user) {
            bail!(
                "llm.daily_calls_per_user must be 1 to 1000000, got {} (to use no LLM, leave llm.base_url empty)",
                l.daily_calls_per_user
            );
        }
        Ok(())
    }

    /// Where uploaded files go and how they are checked. (`check` refused anything unusable.)
    pub(crate) fn files_settings(&self) -> petty_app::files::FilesSettings {
        use petty_app::files::{FilesSettings, S3Config, StorageConfig};
        let s = &self.storage;
        let storage = if s.backend == "s3" {
            StorageConfig::S3(S3Config {
                endpoint: s.s3_endpoint.clone(),
                bucket: s.s3_bucket.clone().unwrap_or_default(),
                region: s.s3_region.clone(),
                access_key_id: s.s3_access_key_id.clone(),
                secret_access_key: s.s3_secret_access_key.clone(),
                allow_http: s.s3_allow_http,
            })
        } else {
            StorageConfig::Local { root: s.path.clone().unwrap_or_else(|| self.data_dir.join("files")) }
        };
        FilesSettings {
            storage,
            max_upload_bytes: s.max_upload_bytes,
            clamd: s.clamd.clone(),
            ..FilesSettings::default()
        }
    }

    /// The database to open: the configured URL, or the SQLite file in the data folder.
    pub(crate) fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("petty.db").display()),
        }
    }

    /// The signing secret: configured, or (embedded mode) kept in `data_dir/secret.key`,
    /// generated on first start.
    pub(crate) fn jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = &self.auth.jwt_secret {
            if let Some(why) = weakness(secret) {
                tracing::warn!("{why}; {SECRET_HELP}");
            }
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => Ok(s.trim().as_bytes().to_vec()),
            Ok(_) => bail!("{} is too short to be a secret; delete it to have a new one made", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = new_secret();
                write_private(&path, &secret).with_context(|| format!("could not write {}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a signing secret");
                Ok(secret.into_bytes())
            }
            Err(e) => Err(e).with_context(|| format!("could not read {}", path.display())),
        }
    }

    /// The HTTP edge's settings.
    pub(crate) fn http(&self, jwt_secret: Vec<u8>) -> HttpConfig {
        let days = |d: u64| Duration::from_secs(d * 24 * 3600);
        let mut http = HttpConfig::with_secret(jwt_secret);
        http.access_token_ttl = Duration::from_secs(self.auth.access_token_ttl_secs);
        http.refresh_token_ttl = days(self.auth.refresh_token_ttl_days);
        http.session_ttl = days(self.auth.session_ttl_days);
        http.invitation_ttl = days(self.auth.invitation_ttl_days);
        http.signin = self.signin_policy();
        http.email_verification = self.email_verification();
        http.account_mail = petty_app::AccountMailSettings {
            reset_ttl: Duration::from_secs(self.auth.password_reset_ttl_secs.max(60)),
            verify_ttl: Duration::from_secs(self.auth.email_verification_ttl_secs.max(60)),
            per_address_per_hour: self.auth.account_mail_per_address_per_hour,
        };
        http.rate_limit = RateLimitConfig {
            enabled: self.rate_limit.enabled,
            per_ip_per_minute: self.rate_limit.per_ip_per_minute,
            per_principal_per_minute: self.rate_limit.per_principal_per_minute,
        };
        http.petmgmt_limits = petty_http::PetmgmtLimits {
            enabled: self.rate_limit.enabled,
            free_per_hour: self.rate_limit.petmgmt_free_per_hour,
            premium_per_hour: self.rate_limit.petmgmt_premium_per_hour,
            enterprise_per_hour: self.rate_limit.petmgmt_enterprise_per_hour,
            auth_per_ip_per_minute: self.rate_limit.petmgmt_auth_per_ip_per_minute,
        };
        http.petstore_query_per_minute = self.rate_limit.petstore_query_per_minute;
        // Checked when the configuration was loaded.
        http.petstore_public_store =
            self.compat.petstore.public_store.as_deref().and_then(|id| id.parse().ok()).map(HouseholdId);
        http.aurora_limits = petty_http::AuroraLimits {
            enabled: self.rate_limit.enabled,
            per_minute: self.rate_limit.aurora_per_minute,
            predictions_per_minute: self.rate_limit.aurora_predictions_per_minute,
            insights_per_minute: self.rate_limit.aurora_insights_per_minute,
        };
        http.cors_allowed_origins = self.http.cors_allowed_origins.clone();
        http.max_body_bytes = self.http.max_body_bytes;
        http.request_timeout = Duration::from_secs(self.http.request_timeout_secs);
        // Zero would close every connection at once; a second is the least that works.
        http.header_read_timeout = Duration::from_secs(self.http.header_read_timeout_secs.max(1));
        http.idle_timeout = Duration::from_secs(self.http.idle_timeout_secs.max(1));
        http.max_connections_per_ip = self.http.max_connections_per_ip;
        // Checked when the configuration was loaded.
        let proxies = petty_core::net::Network::parse_all(&self.http.trusted_proxies).unwrap_or_default();
        http.forwarded_for = if !proxies.is_empty() {
            ForwardedFor::TrustProxies(proxies)
        } else if self.http.trust_forwarded_for {
            ForwardedFor::TrustAnyPeer
        } else {
            ForwardedFor::Ignore
        };
        http.analysis_delay = Duration::from_secs(self.analysis.delay_secs);
        http.seed_thresholds = petty_core::seed_rules::Thresholds {
            sleep_heart_rate_std: self.analysis.sleep_heart_rate_std,
            pacing_radius_deg: self.analysis.pacing_radius_deg,
            fetch_distance_deg: self.analysis.fetch_distance_deg,
        };
        http.alarm_delay = Duration::from_millis(self.notify.alarm_delay_ms);
        http.alarm_keep_runs = self.notify.alarm_keep_runs;
        http.notify = self.notify_config();
        http.billing = self.billing_settings();
        http.files = self.files_settings();
        http.llm = self.llm_settings();
        http.secure_cookies = self.http.secure_cookies.unwrap_or(
            self.mode == Mode::Production || self.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
        );
        http
    }

    /// Whether accounts must verify their address: as set, or required exactly when email can
    /// be sent. (`check` refused anything else.)
    pub(crate) fn email_verification(&self) -> EmailVerification {
        match self.auth.email_verification.as_deref().map(str::parse::<EmailVerification>) {
            Some(Ok(v)) => v,
            _ if self.notify.smtp_server.is_some() => EmailVerification::Required,
            _ => EmailVerification::Optional,
        }
    }

    /// The sign-in throttles, the deprecated lockout keys read as the account throttle's.
    pub(crate) fn signin_policy(&self) -> SignInPolicy {
        let a = &self.auth;
        let secs = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000_000));
        let backoff = |free: u32, base: u64, max: u64, window: u64| Backoff {
            free_failures: free.max(1),
            base: secs(base.max(1)),
            max: secs(max.max(base.max(1))),
            window: secs(window.max(1)),
        };
        SignInPolicy {
            account: backoff(
                a.lockout_max_failures.unwrap_or(a.signin_account_free_failures),
                a.signin_account_backoff_base_secs,
                a.signin_account_backoff_max_secs,
                a.lockout_window_secs.unwrap_or(a.signin_account_window_secs),
            ),
            address: backoff(
                a.signin_address_free_failures,
                a.signin_address_backoff_base_secs,
                a.signin_address_backoff_max_secs,
                a.signin_address_window_secs,
            ),
            trusted_device_max_failures: a.trusted_device_max_failures.max(1),
            trusted_device_window: secs(a.trusted_device_window_secs.max(1)),
            trusted_device_ttl: secs(a.trusted_device_ttl_days.max(1).saturating_mul(86_400)),
        }
    }

    /// How notifications go out.
    pub(crate) fn notify_config(&self) -> petty_http::notify::NotifyConfig {
        use petty_http::notify::{NotifyConfig, SmtpConfig, SmtpTls, TwilioConfig};
        let n = &self.notify;
        let mut config = NotifyConfig {
            max_attempts: n.max_attempts.max(1),
            backoff_base: Duration::from_secs(n.backoff_base_secs.max(1)),
            backoff_max: Duration::from_secs(n.backoff_max_secs.max(1)),
            ..NotifyConfig::default()
        };
        config.public_url = self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen));
        // Checked when the configuration was loaded; an unusable list allows nothing extra.
        config.outbound = petty_http::notify::OutboundPolicy::new(&n.outbound_allow).unwrap_or_default();
        config.smtp = n.smtp_server.as_deref().map(|server| {
            let tls = match n.smtp_tls.as_str() {
                "none" => SmtpTls::None,
                "tls" => SmtpTls::Tls,
                _ => SmtpTls::StartTls,
            };
            let default_port = match tls {
                SmtpTls::None => 25,
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
            };
            let (host, port) = match server.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().unwrap_or(default_port)),
                None => (server.to_owned(), default_port),
            };
            SmtpConfig {
                host,
                port,
                tls,
                username: n.smtp_username.clone(),
                password: n.smtp_password.clone(),
                from: n.smtp_from.clone(),
            }
        });
        if let (Some(sid), Some(token), Some(from)) = (&n.twilio_account_sid, &n.twilio_auth_token, &n.twilio_from) {
            config.twilio = Some(TwilioConfig {
                base_url: n.twilio_base_url.clone(),
                account_sid: sid.clone(),
                auth_token: token.clone(),
                from: from.clone(),
            });
        }
        config
    }

    /// Billing: through Stripe when a secret key and a webhook secret are set, else off.
    pub(crate) fn billing_settings(&self) -> petty_app::billing::BillingSettings {
        let s = &self.billing.stripe;
        let (Some(secret_key), Some(webhook_secret)) = (&s.secret_key, &s.webhook_secret) else {
            return petty_app::billing::BillingSettings::default();
        };
        petty_app::billing::BillingSettings {
            stripe: Some(petty_app::billing::StripeSettings {
                api: petty_http::notify::StripeConfig {
                    api_base_url: s.api_base_url.clone(),
                    secret_key: secret_key.clone(),
                    timeout: Duration::from_secs(s.timeout_secs.max(1)),
                },
                webhook_secret: webhook_secret.clone(),
                prices: petty_app::billing::Prices {
                    premium_monthly: s.price_premium_monthly.clone(),
                    premium_yearly: s.price_premium_yearly.clone(),
                    enterprise_monthly: s.price_enterprise_monthly.clone(),
                    enterprise_yearly: s.price_enterprise_yearly.clone(),
                },
            }),
        }
    }

    /// The language model of the life log's summary, when `llm.base_url` is set. (`check`
    /// refused anything unusable.)
    pub(crate) fn llm_settings(&self) -> Option<petty_http::LlmSettings> {
        let l = &self.llm;
        let base_url = l.base_url.clone()?;
        Some(petty_http::LlmSettings {
            api: petty_http::notify::LlmConfig {
                base_url,
                model: l.model.clone().unwrap_or_default(),
                api_key: l.api_key.clone(),
                timeout: Duration::from_secs(l.timeout_secs.max(1)),
            },
            daily_calls_per_user: l.daily_calls_per_user.max(1),
        })
    }

    /// The configuration as TOML with secrets and passwords replaced.
    pub(crate) fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut copy = self.clone();
        if copy.auth.jwt_secret.is_some() {
            copy.auth.jwt_secret = Some("(hidden)".to_owned());
        }
        copy.database_url = copy.database_url.as_deref().map(redact_url);
        copy.nats.url = copy.nats.url.as_deref().map(petty_bus::redact_nats_urls);
        for secret in [
            &mut copy.notify.smtp_password,
            &mut copy.notify.twilio_auth_token,
            &mut copy.billing.stripe.secret_key,
            &mut copy.billing.stripe.webhook_secret,
            &mut copy.storage.s3_secret_access_key,
            &mut copy.llm.api_key,
        ] {
            if secret.is_some() {
                *secret = Some("(hidden)".to_owned());
            }
        }
        Ok(toml::to_string_pretty(&copy)?)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    use std::io::Write;
    let mut file = create_private(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// A new file only its owner can read (the secret, a backup holding it); never an existing one.
pub(crate) fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_refused_value_is_named_by_where_it_was_given_with_what_it_may_be() {
        let refusal = |overrides: &Overrides, pairs: &[(&str, &str)]| match load_from(overrides, env(pairs)) {
            Ok(_) => panic!("{pairs:?} is refused"),
            Err(e) => e.to_string(),
        };
        let why = refusal(&Overrides::default(), &[("PETTY_LOG__FORMAT", "xml")]);
        assert!(why.contains("the environment variable PETTY_LOG__FORMAT (log.format)"), "{why}");
        assert!(why.contains("xml") && why.contains("text") && why.contains("json"), "the values it may be: {why}");
        assert!(!why.contains(".rs:"), "no source location: {why}");
        let flag = Overrides { log_format: Some("xml".into()), ..Overrides::default() };
        let why = refusal(&flag, &[]);
        assert!(why.contains("the flag --log-format (log.format)"), "{why}");
        let why = refusal(&Overrides::default(), &[("PETTY_HTTP__IDLE_TIMEOUT_SECS", "soon")]);
        assert!(why.contains("PETTY_HTTP__IDLE_TIMEOUT_SECS (http.idle_timeout_secs)"), "{why}");
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("petty.toml");
        std::fs::write(&file, "[log]\nformat = \"yaml\"\n").unwrap();
        let why = refusal(&Overrides { config_file: Some(file.clone()), ..Overrides::default() }, &[]);
        assert!(why.contains(&format!("the configuration file {} (log.format)", file.display())), "{why}");
        let _ = std::fs::remove_dir_all(&dir);
        // Lifetimes and intervals have ranges.
        for (name, value, rule) in [
            ("PETTY_AUTH__ACCESS_TOKEN_TTL_SECS", "0", "auth.access_token_ttl_secs must be 60 to 86400, got 0"),
            ("PETTY_AUTH__SESSION_TTL_DAYS", "5000", "auth.session_ttl_days must be 1 to 365, got 5000"),
            ("PETTY_HTTP__REQUEST_TIMEOUT_SECS", "0", "http.request_timeout_secs must be 1 to 3600, got 0"),
        ] {
            let why = refusal(&Overrides::default(), &[(name, value)]);
            assert!(why.contains(rule), "{why}");
        }
    }

    #[test]
    fn the_seed_thresholds_are_configurable_and_checked() {
        let loaded = load_from(
            &Overrides::default(),
            env(&[("PETTY_ANALYSIS__PACING_RADIUS_DEG", "0.001"), ("PETTY_ANALYSIS__DELAY_SECS", "5")]),
        )
        .unwrap();
        let http = loaded.config.http(b"0123456789abcdef0123456789abcdef".to_vec());
        assert_eq!(http.seed_thresholds.pacing_radius_deg, 0.001);
        assert_eq!(http.seed_thresholds.sleep_heart_rate_std, 3.0);
        assert_eq!(http.analysis_delay, Duration::from_secs(5));
        let Err(err) = load_from(&Overrides::default(), env(&[("PETTY_ANALYSIS__FETCH_DISTANCE_DEG", "-1")])) else {
            panic!("a negative distance is refused");
        };
        assert!(err.to_string().contains("analysis.fetch_distance_deg"), "{err}");
    }

    #[test]
    fn a_phone_number_in_the_environment_stays_a_string() {
        let loaded = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_NOTIFY__TWILIO_FROM", "+15005550006"),
                ("PETTY_NOTIFY__TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"),
                ("PETTY_NOTIFY__TWILIO_AUTH_TOKEN", "token"),
                ("PETTY_NOTIFY__MAX_ATTEMPTS", "3"),
            ]),
        )
        .unwrap();
        assert_eq!(loaded.config.notify.twilio_from.as_deref(), Some("+15005550006"));
        assert_eq!(loaded.config.notify.max_attempts, 3, "numbers are still numbers");
    }

    #[test]
    fn email_verification_follows_whether_email_can_be_sent() {
        let plain = load_from(&Overrides::default(), vec![]).unwrap().config;
        assert_eq!(plain.email_verification(), EmailVerification::Optional, "no SMTP: nothing to verify with");
        let mailing =
            load_from(&Overrides::default(), env(&[("PETTY_NOTIFY__SMTP_SERVER", "127.0.0.1:2525")])).unwrap().config;
        assert_eq!(mailing.email_verification(), EmailVerification::Required);
        let relaxed = load_from(
            &Overrides::default(),
            env(&[("PETTY_NOTIFY__SMTP_SERVER", "127.0.0.1:2525"), ("PETTY_AUTH__EMAIL_VERIFICATION", "optional")]),
        )
        .unwrap()
        .config;
        assert_eq!(relaxed.http(vec![]).email_verification, EmailVerification::Optional);
        let Err(err) = load_from(&Overrides::default(), env(&[("PETTY_AUTH__EMAIL_VERIFICATION", "required")])) else {
            panic!("required without SMTP is refused");
        };
        assert!(err.to_string().contains("notify.smtp_server"), "{err}");
        let Err(err) = load_from(&Overrides::default(), env(&[("PETTY_AUTH__EMAIL_VERIFICATION", "sometimes")])) else {
            panic!("an unknown policy is refused");
        };
        assert!(err.to_string().contains("auth.email_verification"), "{err}");
    }

    #[test]
    fn sign_in_throttles_are_configurable_and_the_old_lockout_keys_still_read() {
        let loaded = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_AUTH__SIGNIN_ADDRESS_FREE_FAILURES", "3"),
                ("PETTY_AUTH__TRUSTED_DEVICE_TTL_DAYS", "30"),
                ("PETTY_AUTH__LOCKOUT_MAX_FAILURES", "7"),
            ]),
        )
        .unwrap();
        let policy = loaded.config.http(vec![]).signin;
        assert_eq!(policy.address.free_failures, 3);
        assert_eq!(policy.account.free_failures, 7, "the deprecated key is read as the account's");
        assert_eq!(policy.trusted_device_ttl, time::Duration::days(30));
        assert_eq!(policy.account.max, time::Duration::minutes(15));
        assert!(loaded.warnings.iter().any(|w| w.contains("lockout_max_failures") && w.contains("deprecated")));
        assert_eq!(Config::default().signin_policy(), SignInPolicy::default());
    }

    #[test]
    fn trusted_proxies_are_networks_and_a_bad_one_is_named() {
        for given in [r#"["127.0.0.1", "10.0.0.0/8"]"#, "127.0.0.1, 10.0.0.0/8"] {
            let loaded = load_from(&Overrides::default(), env(&[("PETTY_HTTP__TRUSTED_PROXIES", given)])).unwrap();
            let http = loaded.config.http(b"0123456789abcdef0123456789abcdef".to_vec());
            let ForwardedFor::TrustProxies(proxies) = http.forwarded_for else { panic!("{:?}", http.forwarded_for) };
            assert_eq!(proxies.len(), 2, "{given}");
        }
        let Err(err) = load_from(&Overrides::default(), env(&[("PETTY_HTTP__TRUSTED_PROXIES", r#"["lb.example"]"#)]))
        else {
            panic!("a name is not a network");
        };
        assert!(err.to_string().contains("http.trusted_proxies") && err.to_string().contains("lb.example"), "{err}");
        let legacy = load_from(&Overrides::default(), env(&[("PETTY_HTTP__TRUST_FORWARDED_FOR", "true")])).unwrap();
        let http = legacy.config.http(b"0123456789abcdef0123456789abcdef".to_vec());
        assert_eq!(http.forwarded_for, ForwardedFor::TrustAnyPeer);
    }

    #[test]
    fn billing_is_off_until_stripe_is_configured_and_its_secrets_are_hidden() {
        let off = load_from(&Overrides::default(), vec![]).unwrap().config;
        assert!(off.http(vec![]).billing.stripe.is_none(), "billing is off by default");
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("stripe-key");
        std::fs::write(&key_file, "sk_test_from_a_file\n").unwrap();
        let on = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_BILLING__STRIPE__SECRET_KEY_FILE", key_file.to_str().unwrap()),
                ("PETTY_BILLING__STRIPE__WEBHOOK_SECRET", "whsec_from_env"),
                ("PETTY_BILLING__STRIPE__PRICE_PREMIUM_MONTHLY", "price_pm"),
                ("PETTY_BILLING__STRIPE__TIMEOUT_SECS", "3"),
            ]),
        )
        .unwrap();
        assert!(on.warnings.is_empty(), "{:?}", on.warnings);
        let stripe = on.config.http(vec![]).billing.stripe.expect("billing is on");
        assert_eq!(stripe.api.secret_key, "sk_test_from_a_file");
        assert_eq!(stripe.api.api_base_url, "https://api.stripe.com");
        assert_eq!(stripe.api.timeout, Duration::from_secs(3));
        assert_eq!(stripe.webhook_secret, "whsec_from_env");
        assert_eq!(stripe.prices.premium_monthly.as_deref(), Some("price_pm"));
        let shown = on.config.redacted_toml().unwrap();
        assert!(!shown.contains("sk_test_from_a_file") && !shown.contains("whsec_from_env"), "{shown}");
        assert!(!format!("{stripe:?}").contains("whsec_from_env"), "Debug hides the secrets");
        let Err(err) = load_from(&Overrides::default(), env(&[("PETTY_BILLING__STRIPE__SECRET_KEY", "sk_test_x")]))
        else {
            panic!("a key without a webhook secret is refused");
        };
        assert!(err.to_string().contains("webhook_secret"), "{err}");
        let Err(err) = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_BILLING__STRIPE__SECRET_KEY", "sk_test_x"),
                ("PETTY_BILLING__STRIPE__WEBHOOK_SECRET", "whsec_x"),
            ]),
        ) else {
            panic!("billing without a price is refused");
        };
        assert!(err.to_string().contains("price"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_llm_is_off_until_its_url_is_set_and_its_key_is_a_secret() {
        let off = load_from(&Overrides::default(), vec![]).unwrap().config;
        assert!(off.http(vec![]).llm.is_none(), "no LLM by default");
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("llm-key");
        std::fs::write(&key_file, "sk-llm-from-a-file\n").unwrap();
        let on = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_LLM__BASE_URL", "http://127.0.0.1:11434/v1"),
                ("PETTY_LLM__MODEL", "llama3.1:8b"),
                ("PETTY_LLM__API_KEY_FILE", key_file.to_str().unwrap()),
                ("PETTY_LLM__DAILY_CALLS_PER_USER", "5"),
            ]),
        )
        .unwrap();
        assert!(on.warnings.is_empty(), "{:?}", on.warnings);
        let llm = on.config.http(vec![]).llm.expect("the LLM is on");
        assert_eq!(llm.api.base_url, "http://127.0.0.1:11434/v1");
        assert_eq!(llm.api.model, "llama3.1:8b");
        assert_eq!(llm.api.api_key.as_deref(), Some("sk-llm-from-a-file"));
        assert_eq!((llm.api.timeout, llm.daily_calls_per_user), (Duration::from_secs(20), 5));
        assert_eq!(on.config.http(vec![]).app_settings().llm.map(|a| a.model).as_deref(), Some("llama3.1:8b"));
        assert!(!on.config.redacted_toml().unwrap().contains("sk-llm-from-a-file"));
        assert!(!format!("{llm:?}").contains("sk-llm-from-a-file"), "Debug hides the key");
        let keyless = load_from(&Overrides::default(), env(&[("PETTY_LLM__API_KEY", "sk-x")])).unwrap();
        assert!(keyless.config.llm_settings().is_none());
        assert!(keyless.warnings.iter().any(|w| w.contains("llm.base_url")), "{:?}", keyless.warnings);
        for (bad, named) in [
            (vec![("PETTY_LLM__BASE_URL", "127.0.0.1:11434/v1"), ("PETTY_LLM__MODEL", "m")], "llm.base_url"),
            (vec![("PETTY_LLM__BASE_URL", "ftp://llm.example/v1"), ("PETTY_LLM__MODEL", "m")], "llm.base_url"),
            (vec![("PETTY_LLM__BASE_URL", "http://127.0.0.1:11434/v1")], "llm.model"),
            (
                vec![
                    ("PETTY_LLM__BASE_URL", "http://127.0.0.1:11434/v1"),
                    ("PETTY_LLM__MODEL", "m"),
                    ("PETTY_LLM__TIMEOUT_SECS", "0"),
                ],
                "llm.timeout_secs",
            ),
            (
                vec![
                    ("PETTY_LLM__BASE_URL", "http://127.0.0.1:11434/v1"),
                    ("PETTY_LLM__MODEL", "m"),
                    ("PETTY_LLM__TIMEOUT_SECS", "30"),
                ],
                "http.request_timeout_secs",
            ),
            (
                vec![
                    ("PETTY_LLM__BASE_URL", "http://127.0.0.1:11434/v1"),
                    ("PETTY_LLM__MODEL", "m"),
                    ("PETTY_LLM__DAILY_CALLS_PER_USER", "0"),
                ],
                "llm.daily_calls_per_user",
            ),
        ] {
            let Err(err) = load_from(&Overrides::default(), env(&bad)) else { panic!("{bad:?} is refused") };
            assert!(err.to_string().contains(named), "{bad:?}: {err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn storage_is_a_folder_by_default_or_a_checked_s3_bucket() {
        use petty_app::files::StorageConfig;
        let plain = load_from(&Overrides::default(), env(&[("PETTY_DATA_DIR", "/tmp/petty-x")])).unwrap().config;
        let files = plain.http(vec![]).files;
        assert_eq!(files.storage, StorageConfig::Local { root: PathBuf::from("/tmp/petty-x/files") });
        assert_eq!((files.max_upload_bytes, files.clamd), (10 * 1024 * 1024, None));
        let s3 = load_from(
            &Overrides::default(),
            env(&[
                ("PETTY_STORAGE__BACKEND", "s3"),
                ("PETTY_STORAGE__S3_BUCKET", "petty"),
                ("PETTY_STORAGE__S3_ENDPOINT", "http://127.0.0.1:9000"),
                ("PETTY_STORAGE__S3_ALLOW_HTTP", "true"),
                ("PETTY_STORAGE__S3_ACCESS_KEY_ID", "petty"),
                ("PETTY_STORAGE__S3_SECRET_ACCESS_KEY", "a-secret-key"),
                ("PETTY_STORAGE__CLAMD", "127.0.0.1:3310"),
            ]),
        )
        .unwrap()
        .config;
        let StorageConfig::S3(bucket) = s3.files_settings().storage else { panic!("s3") };
        assert_eq!((bucket.bucket.as_str(), bucket.allow_http), ("petty", true));
        assert_eq!(s3.files_settings().clamd.as_deref(), Some("127.0.0.1:3310"));
        assert!(!s3.redacted_toml().unwrap().contains("a-secret-key"));
        for (bad, named) in [
            (vec![("PETTY_STORAGE__BACKEND", "s3")], "s3_bucket"),
            (vec![("PETTY_STORAGE__BACKEND", "ftp")], "storage.backend"),
            (
                vec![
                    ("PETTY_STORAGE__BACKEND", "s3"),
                    ("PETTY_STORAGE__S3_BUCKET", "b"),
                    ("PETTY_STORAGE__S3_ENDPOINT", "http://x"),
                ],
                "s3_allow_http",
            ),
            (vec![("PETTY_STORAGE__CLAMD", "localhost")], "storage.clamd"),
            (vec![("PETTY_STORAGE__MAX_UPLOAD_BYTES", "0")], "max_upload_bytes"),
        ] {
            let Err(err) = load_from(&Overrides::default(), env(&bad)) else { panic!("{bad:?} is refused") };
            assert!(err.to_string().contains(named), "{bad:?}: {err}");
        }
    }

    #[test]
    fn annotated_default_is_the_default() {
        let parsed: Config = toml::from_str(ANNOTATED_DEFAULT).expect("annotated default parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("petty.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[auth]\naccess_token_ttl_secs = 60\n[rate_limit]\nper_ip_per_minute = 7\n",
        )
        .unwrap();
        let secret_file = dir.join("jwt");
        std::fs::write(&secret_file, "s3cr3t-from-a-file-0123456789abcdefghij\n").unwrap();
        let overrides =
            Overrides { config_file: Some(file), listen: Some("127.0.0.1:9100".into()), ..Default::default() };
        let loaded = load_from(
            &overrides,
            env(&[
                ("PETTY_LISTEN", "127.0.0.1:9001"),
                ("PETTY_AUTH__ACCESS_TOKEN_TTL_SECS", "120"),
                ("PETTY_AUTH__JWT_SECRET_FILE", secret_file.to_str().unwrap()),
                ("PETTY_HTTP__CORS_ALLOWED_ORIGINS", "[\"https://a.example\"]"),
                ("PETTY_DATA_DIR", "/tmp/petty-x"),
                ("PETTY_LISTN", "typo"),
                ("PETTY_TEST_POSTGRES_URL", "postgres://x"),
            ]),
        )
        .unwrap();
        let c = loaded.config;
        assert_eq!(c.listen, "127.0.0.1:9100", "flag beats env and file");
        assert_eq!(c.auth.access_token_ttl_secs, 120, "env beats file");
        assert_eq!(c.rate_limit.per_ip_per_minute, 7, "file beats default");
        assert_eq!(c.auth.jwt_secret.as_deref(), Some("s3cr3t-from-a-file-0123456789abcdefghij"));
        assert_eq!(c.http.cors_allowed_origins, vec!["https://a.example".to_owned()]);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/petty-x"));
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("PETTY_LISTN"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("petty.toml");
        std::fs::write(&file, "[auth]\njwt_secrt = \"x\"\n").unwrap();
        let err = load_from(&Overrides { config_file: Some(file), ..Default::default() }, vec![]).err().unwrap();
        assert!(format!("{err:#}").contains("jwt_secrt"), "{err:#}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn production_needs_a_strong_secret() {
        let err = load_from(&Overrides::default(), env(&[("PETTY_MODE", "production")])).err().unwrap();
        let text = format!("{err:#}");
        assert!(text.contains("PETTY_AUTH__JWT_SECRET") && text.contains("petty config secret"), "{text}");
        let err =
            load_from(&Overrides::default(), env(&[("PETTY_MODE", "production"), ("PETTY_AUTH__JWT_SECRET", "short")]))
                .err()
                .unwrap();
        assert!(format!("{err:#}").contains("too short"));
        let weak = "a".repeat(40);
        let err =
            load_from(&Overrides::default(), env(&[("PETTY_MODE", "production"), ("PETTY_AUTH__JWT_SECRET", &weak)]))
                .err()
                .unwrap();
        assert!(format!("{err:#}").contains("predictable"));
        let ok = load_from(
            &Overrides::default(),
            env(&[("PETTY_MODE", "production"), ("PETTY_AUTH__JWT_SECRET", &new_secret())]),
        )
        .unwrap();
        assert!(ok.config.http(vec![]).secure_cookies);
    }

    #[test]
    fn embedded_secret_is_generated_once() {
        let dir = std::env::temp_dir().join(format!("petty-config-{}", uuid::Uuid::now_v7()));
        let config = Config { data_dir: dir.clone(), ..Config::default() };
        let first = config.jwt_secret().unwrap();
        let second = config.jwt_secret().unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("secret.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://petty:hunter2@db/petty"), "postgres://petty:***@db/petty");
        assert_eq!(redact_url("postgres://petty@db/petty"), "postgres://petty@db/petty");
    }
}
