//! Account flows shared by the API and the dashboard: register, sign in (behind the throttles,
//! with trusted devices), reset a forgotten password, verify an email address, issue and rotate
//! tokens. Handlers on both sides call these and only shape the answer.
//!
//! What these answer never tells whether an address has an account: registering a taken
//! address answers as registering a new one does (its owner gets a mail instead), a reset or a
//! new verification link is "accepted" for any address, and a sign-in refused by the account's
//! throttle is refused alike for an address nobody has. Under `required` email verification an
//! unverified account's right password is answered as a wrong one (with a fresh link mailed),
//! so signing in after registering tells nothing either.
//!
//! The sign-in throttles (OWASP's "device cookies"; see `petty_core::accounts::SignInPolicy`):
//! an attempt without a trusted-device token for the account is untrusted and waits out the
//! exponential backoff of its client address and of the account; one with such a token is
//! judged only by that token's own failures, and a token that keeps failing is locked (its
//! attempts are untrusted until its failures age out). Every successful sign-in hands out a new
//! trusted-device token.

use std::net::IpAddr;

use petty_app::mfa::MfaError;
use petty_core::accounts::{Email, EmailVerification, NewPassword, parse_display_name, parse_household_name};
use petty_core::ids::{HouseholdId, TokenFamilyId, UserId};
use petty_core::validation::Collector;
use petty_store::{
    AccountMailKind, ClientOrigin, FailureScope, Membership, NewRefreshToken, NewUser, RefreshOutcome, StoreError,
    TokenPurpose, User,
};
use time::OffsetDateTime;

use uuid::Uuid;

use crate::auth::{self, TrustedDevice, hash_password_async, new_secret, secret_hash, verify_password_async};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The longest token from a mail this server makes (`pr_`/`ev_` and 43 characters); anything
/// longer is refused without a lookup.
pub const MAIL_TOKEN_MAX_LEN: usize = 100;

/// What a person fills in to register.
pub struct Registration {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Name of the new household; ignored when joining through an invitation.
    pub household_name: Option<String>,
    pub invitation_token: Option<String>,
}

/// Registers an account: a new household it owns, or a place in the inviting household. Answers
/// nothing on success, and the same for an address that already has an account: its owner is
/// mailed instead (if it was them, they sign in or reset their password). The password is hashed
/// either way, so both take about as long. A new account's address is unverified: a
/// verification link is mailed when email is configured. (An invitation does not verify it:
/// Petty hands invitations to the inviter, it does not mail them, so holding one proves nothing
/// about a mailbox.)
pub async fn register(state: &AppState, input: Registration) -> Result<(), ApiError> {
    register_account(state, input).await.map(|_| ())
}

/// What [`register_account`] did.
pub enum Registered {
    /// A new account and its place in a household (its own, or the inviting one's).
    New(Box<(User, Membership)>),
    /// The address has an account; its owner was mailed, and nothing else changed.
    Taken,
}

/// [`register`], telling the caller what happened: for an edge whose contract answers a taken
/// address differently (the Pet Management profile's 409). The API and the dashboard answer
/// both outcomes alike.
pub async fn register_account(state: &AppState, input: Registration) -> Result<Registered, ApiError> {
    let mut c = Collector::new();
    let email = c.take(Email::parse("email", &input.email));
    let password = c.take(NewPassword::parse("password", &input.password, email.as_ref()));
    let display_name = c.take(parse_display_name("display_name", &input.display_name));
    let invitation = input.invitation_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let household_name = match (invitation, input.household_name.as_deref().map(str::trim)) {
        (Some(_), _) => None,
        (None, None | Some("")) => display_name.as_ref().map(|n| format!("{n}'s household")),
        (None, Some(name)) => c.take(parse_household_name("household_name", name)),
    };
    c.finish()?;
    let (Some(email), Some(password), Some(display_name)) = (email, password, display_name) else {
        return Err(ApiError::internal("registration fields missing after validation"));
    };
    let now = OffsetDateTime::now_utc();
    let bad_invitation = || {
        ApiError::field(
            ErrorCode::ValidationFailed,
            "invitation_token",
            "invalid",
            "the invitation is unknown, already used, revoked or expired",
        )
    };
    // Checked before the address, so a bad invitation is refused alike for every address.
    if let Some(token) = invitation
        && (token.len() > MAIL_TOKEN_MAX_LEN || !state.store.invitation_is_pending(&secret_hash(token), now).await?)
    {
        return Err(bad_invitation());
    }
    let password_hash = hash_password_async(password.expose().to_owned()).await?;
    let new_user = NewUser { email: email.clone(), display_name, password_hash };
    let result = match invitation {
        Some(token) => state.store.register_with_invitation(&new_user, &secret_hash(token), now).await,
        None => state.store.register_owner(&new_user, household_name.as_deref().unwrap_or("Household"), now).await,
    };
    match result {
        Ok((user, membership)) => {
            tracing::info!(user_id = %user.id, household_id = %membership.household_id, "account registered");
            if invitation.is_some() {
                let who = petty_app::audit::Who {
                    household_id: membership.household_id,
                    kind: petty_store::AuditActorKind::User,
                    actor_id: Some(user.id.0),
                    address: None,
                };
                let detail = petty_app::audit::fields(&["role"]);
                petty_app::audit::record(&state.app, &who, "join", "member", user.id, &detail).await?;
            }
            petty_app::account_mail::queue(&state.app, AccountMailKind::VerifyEmail, &email).await?;
            Ok(Registered::New(Box::new((user, membership))))
        }
        Err(StoreError::Conflict(_)) => {
            tracing::info!("registration with an address that has an account: its owner is mailed");
            petty_app::account_mail::queue(&state.app, AccountMailKind::RegistrationAttempt, &email).await?;
            Ok(Registered::Taken)
        }
        // The invitation was spent between the check and the registration.
        Err(StoreError::NotFound) => Err(bad_invitation()),
        Err(e) => Err(e.into()),
    }
}

/// One attempt to sign in.
pub struct SignIn<'a> {
    pub email: &'a str,
    pub password: &'a str,
    /// Act in this household (default: the oldest active membership).
    pub household_id: Option<HouseholdId>,
    /// Where the attempt comes from (`extract::ClientIp`).
    pub client: IpAddr,
    /// The trusted-device token the client holds from an earlier sign-in, if any.
    pub trusted_device: Option<&'a str>,
    /// The second factor (a TOTP code or a backup code), for an account with MFA on.
    pub mfa_code: Option<&'a str>,
    /// The client's `User-Agent`, for the list of sign-ins and the sign-in history.
    pub user_agent: Option<&'a str>,
}

/// A successful sign-in.
pub struct SignedIn {
    pub user: User,
    pub membership: Membership,
    /// A new trusted-device token for the client to keep and present next time.
    pub trusted_device: String,
    /// Whether a second factor was proved (the account has MFA on).
    pub mfa_proved: bool,
}

/// Where a sign-in came from, as the sign-in list and history keep it.
pub fn origin(client: IpAddr, user_agent: Option<&str>) -> ClientOrigin {
    ClientOrigin {
        address: Some(client.to_string()),
        user_agent: user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect()),
    }
}

/// How far a sign-in got.
pub enum SignInStep {
    Done(Box<SignedIn>),
    /// The password was right and the account has MFA on, but no code came with it: the
    /// dashboard asks for one on a second page, carrying `pending` (signed, for 5 minutes).
    NeedsMfa {
        pending: String,
    },
}

/// How long the dashboard's second sign-in step waits for the code.
pub const PENDING_MFA_TTL: time::Duration = time::Duration::minutes(5);

/// Checks the password behind the throttles and picks the household to act in (the one asked
/// for, or the oldest active membership). An account with MFA on also needs `mfa_code`:
/// without it 401 `mfa_required`, a wrong one 401 `invalid_mfa_code` (counted as a failed
/// sign-in by the throttles).
pub async fn sign_in(state: &AppState, attempt: SignIn<'_>) -> Result<SignedIn, ApiError> {
    match sign_in_steps(state, attempt).await? {
        SignInStep::Done(signed_in) => Ok(*signed_in),
        SignInStep::NeedsMfa { .. } => Err(mfa_required()),
    }
}

fn mfa_required() -> ApiError {
    ApiError::field(
        ErrorCode::MfaRequired,
        "mfa_code",
        "required",
        "this account has multi-factor authentication on: send mfa_code (the 6 digits of your authenticator app or a backup code)",
    )
}

fn invalid_mfa_code() -> ApiError {
    ApiError::field(
        ErrorCode::InvalidMfaCode,
        "mfa_code",
        "invalid",
        "the authentication code is wrong, already used or expired",
    )
}

/// Whom failed attempts are counted against: the trusted device, or the address and the email.
struct Throttle {
    trusted: Option<TrustedDevice>,
    address: String,
    email: Email,
}

impl Throttle {
    async fn fail(&self, state: &AppState) -> Result<(), ApiError> {
        let sources = match &self.trusted {
            Some(device) => vec![(FailureScope::TrustedDevice, device.key())],
            None => vec![
                (FailureScope::Address, self.address.clone()),
                (FailureScope::Account, self.email.as_str().to_owned()),
            ],
        };
        let sources: Vec<(FailureScope, &str)> = sources.iter().map(|(s, k)| (*s, k.as_str())).collect();
        // Dated at the answer, so the wait is not spent checking the password.
        let failed_at = OffsetDateTime::now_utc();
        let policy = state.config.signin;
        state.store.record_signin_failure(&sources, failed_at, failed_at - policy.longest_window()).await?;
        Ok(())
    }

    async fn clear(&self, state: &AppState) -> Result<(), ApiError> {
        match &self.trusted {
            Some(device) => state.store.clear_signin_failures(FailureScope::TrustedDevice, &device.key()).await?,
            None => state.store.clear_signin_failures(FailureScope::Account, self.email.as_str()).await?,
        }
        Ok(())
    }
}

/// The trusted device `presented` names, if it is honoured for `credentials` now: one of this
/// server's tokens, issued to this account since its password was last set and not too long
/// ago, not revoked, and not locked by its own failures.
async fn trusted_device(
    state: &AppState,
    presented: Option<&str>,
    credentials: Option<&petty_store::UserCredentials>,
    now: OffsetDateTime,
) -> Result<Option<TrustedDevice>, ApiError> {
    let policy = state.config.signin;
    let Some(device) = presented.and_then(|t| state.keys.read_trusted_device(t)).filter(|d| {
        credentials.is_some_and(|c| c.user.id == d.user_id && d.issued_at >= c.password_changed_at)
            && d.issued_at + policy.trusted_device_ttl > now
    }) else {
        return Ok(None);
    };
    if !state.store.trusted_device_is_live(Uuid::from_bytes(device.id), device.user_id).await? {
        return Ok(None);
    }
    let failures = state
        .store
        .signin_failures(FailureScope::TrustedDevice, &device.key(), now - policy.trusted_device_window)
        .await?;
    if policy.trusted_device_locked(failures.count) {
        tracing::info!(user_id = %device.user_id, "a locked trusted device signs in as an untrusted client");
        return Ok(None);
    }
    Ok(Some(device))
}

/// [`sign_in`], but an account with MFA on and no code answers [`SignInStep::NeedsMfa`]
/// instead of an error (the dashboard's first step).
pub async fn sign_in_steps(state: &AppState, attempt: SignIn<'_>) -> Result<SignInStep, ApiError> {
    let now = OffsetDateTime::now_utc();
    let email = Email::parse("email", attempt.email)?;
    let origin = origin(attempt.client, attempt.user_agent);
    let credentials = state.store.user_credentials_by_email(&email).await?;
    let trusted = trusted_device(state, attempt.trusted_device, credentials.as_ref(), now).await?;
    let address = address_key(attempt.client);
    if trusted.is_none()
        && let Err(e) = refuse_while_backing_off(state, &address, &email, now).await
    {
        if let Some(c) = &credentials {
            state.store.record_login(c.user.id, &origin, "throttled", now).await?;
        }
        return Err(e);
    }
    let throttle = Throttle { trusted, address, email };

    let hash = credentials.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| auth::decoy_hash().to_owned());
    let matches = verify_password_async(attempt.password.to_owned(), hash).await?;
    let unverified = credentials.as_ref().is_some_and(|c| c.user.email_verified_at.is_none())
        && state.config.email_verification == EmailVerification::Required;
    let user = match credentials {
        Some(c) if matches && !unverified => c.user,
        other => {
            throttle.fail(state).await?;
            if let Some(c) = &other {
                let outcome = if matches { "unverified" } else { "wrong_password" };
                state.store.record_login(c.user.id, &origin, outcome, now).await?;
            }
            if matches && unverified {
                // The right password of an unverified account: a new link, and the same answer.
                petty_app::account_mail::queue(&state.app, AccountMailKind::VerifyEmail, &throttle.email).await?;
            }
            return Err(ApiError::new(ErrorCode::InvalidCredentials, wrong_credentials_message(state)));
        }
    };
    let mfa_on = petty_app::mfa::is_enabled(&state.app, user.id).await?;
    if mfa_on {
        match attempt.mfa_code {
            None => {
                state.store.record_login(user.id, &origin, "mfa_required", now).await?;
                let pending = state.keys.issue_pending_mfa(user.id, attempt.household_id, now)?;
                return Ok(SignInStep::NeedsMfa { pending });
            }
            Some(code) => second_factor(state, &user, code, &throttle, &origin).await?,
        }
    }
    finish(state, user, attempt.household_id, &throttle, &origin, mfa_on).await.map(|s| SignInStep::Done(Box::new(s)))
}

async fn second_factor(
    state: &AppState,
    user: &User,
    code: &str,
    throttle: &Throttle,
    origin: &ClientOrigin,
) -> Result<(), ApiError> {
    match petty_app::mfa::verify(&state.app, user.id, code).await {
        Ok(_) => Ok(()),
        Err(MfaError::InvalidCode | MfaError::NotEnabled) => {
            throttle.fail(state).await?;
            state.store.record_login(user.id, origin, "invalid_mfa_code", OffsetDateTime::now_utc()).await?;
            Err(invalid_mfa_code())
        }
        Err(e) => Err(mfa_error(e)),
    }
}

async fn finish(
    state: &AppState,
    user: User,
    household_id: Option<HouseholdId>,
    throttle: &Throttle,
    origin: &ClientOrigin,
    mfa_proved: bool,
) -> Result<SignedIn, ApiError> {
    let now = OffsetDateTime::now_utc();
    throttle.clear(state).await?;
    if let Some(device) = &throttle.trusted {
        state.store.touch_trusted_device(Uuid::from_bytes(device.id), now).await?;
    }
    let membership = match choose_membership(state, user.id, household_id, now).await {
        Ok(m) => m,
        Err(e) => {
            state.store.record_login(user.id, origin, "no_membership", now).await?;
            return Err(e);
        }
    };
    state.store.record_login(user.id, origin, "success", now).await?;
    let trusted_device = issue_trusted_device(state, user.id, origin).await?;
    Ok(SignedIn { user, membership, trusted_device, mfa_proved })
}

/// The dashboard's second step: the code for the sign-in `pending` stands for (from
/// [`SignInStep::NeedsMfa`]). A wrong code counts as a failed sign-in; an expired or forged
/// `pending` answers 401 `unauthenticated` (start again).
pub async fn complete_mfa_sign_in(
    state: &AppState,
    pending: &str,
    code: &str,
    client: IpAddr,
    trusted_device_token: Option<&str>,
    user_agent: Option<&str>,
) -> Result<SignedIn, ApiError> {
    let now = OffsetDateTime::now_utc();
    let Some((user_id, household_id)) = state.keys.read_pending_mfa(pending, now) else {
        return Err(ApiError::unauthenticated("the sign-in took too long; enter your email and password again"));
    };
    let credentials = state.store.user_credentials(user_id).await?;
    let email = Email::parse("email", &credentials.user.email)?;
    let origin = origin(client, user_agent);
    let trusted = trusted_device(state, trusted_device_token, Some(&credentials), now).await?;
    let address = address_key(client);
    if trusted.is_none()
        && let Err(e) = refuse_while_backing_off(state, &address, &email, now).await
    {
        state.store.record_login(user_id, &origin, "throttled", now).await?;
        return Err(e);
    }
    let throttle = Throttle { trusted, address, email };
    second_factor(state, &credentials.user, code, &throttle, &origin).await?;
    finish(state, credentials.user, household_id, &throttle, &origin, true).await
}

/// Whether `pending` (from [`SignInStep::NeedsMfa`]) still stands for a sign-in.
pub fn pending_mfa_is_valid(state: &AppState, pending: &str) -> bool {
    state.keys.read_pending_mfa(pending, OffsetDateTime::now_utc()).is_some()
}

/// An MFA use case's refusal as the API answers it.
pub fn mfa_error(e: MfaError) -> ApiError {
    match e {
        MfaError::InvalidCode => invalid_mfa_code(),
        MfaError::NotEnabled => ApiError::new(ErrorCode::Conflict, "multi-factor authentication is not on"),
        MfaError::AlreadyEnabled => ApiError::new(
            ErrorCode::Conflict,
            "multi-factor authentication is already on; turn it off first to set up another app",
        ),
        MfaError::NoSetup => ApiError::new(
            ErrorCode::Conflict,
            "no setup is waiting: call POST /api/v1/auth/mfa/setup first and scan its code",
        ),
        MfaError::Invalid(invalid) => invalid.into(),
        MfaError::Store(e) => e.into(),
    }
}

/// What a wrong email or password is told (the same for every address).
pub fn wrong_credentials_message(state: &AppState) -> &'static str {
    match state.config.email_verification {
        EmailVerification::Optional => "the email or password is wrong",
        EmailVerification::Required => {
            "the email or password is wrong, or the email address is not verified yet (signing in with the right \
             password mails a new verification link)"
        }
    }
}

/// 429 while the client's address or the account backs off after failed sign-ins.
async fn refuse_while_backing_off(
    state: &AppState,
    address: &str,
    email: &Email,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    let policy = state.config.signin;
    let by_address = state.store.signin_failures(FailureScope::Address, address, now - policy.address.window).await?;
    if let Some(wait) = policy.address.wait(by_address.count, by_address.latest, now) {
        let secs = seconds(wait);
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "too many failed sign-ins from this address; try again in {secs} s (a device that signed in to \
                 its account before is not held back)"
            ),
        )
        .with_retry_after(secs));
    }
    let by_account =
        state.store.signin_failures(FailureScope::Account, email.as_str(), now - policy.account.window).await?;
    if let Some(wait) = policy.account.wait(by_account.count, by_account.latest, now) {
        let secs = seconds(wait);
        return Err(ApiError::new(
            ErrorCode::AccountLocked,
            format!(
                "too many failed sign-ins for this email; try again in {secs} s, sign in on a device that signed \
                 in to it before, or reset the password (POST /api/v1/auth/password-reset)"
            ),
        )
        .with_retry_after(secs));
    }
    Ok(())
}

fn seconds(wait: time::Duration) -> u64 {
    u64::try_from(wait.whole_seconds()).unwrap_or(0).saturating_add(u64::from(wait.subsec_nanoseconds() > 0)).max(1)
}

/// The key a client address's failures are counted under: an IPv4 address as it is, an IPv6
/// one by its /64 (what one subscriber usually holds), an IPv4-mapped IPv6 one as IPv4.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Asks for a password-reset link for `raw_email`. Accepted alike for every well-formed
/// address: the mail goes out only when it has an account (and email is configured).
pub async fn request_password_reset(state: &AppState, raw_email: &str) -> Result<(), ApiError> {
    let email = Email::parse("email", raw_email)?;
    petty_app::account_mail::queue(&state.app, AccountMailKind::PasswordReset, &email).await?;
    Ok(())
}

/// Asks for a new verification link for `raw_email`, accepted alike for every well-formed
/// address (sent only to an account whose address is not verified yet).
pub async fn resend_verification(state: &AppState, raw_email: &str) -> Result<(), ApiError> {
    let email = Email::parse("email", raw_email)?;
    petty_app::account_mail::queue(&state.app, AccountMailKind::VerifyEmail, &email).await?;
    Ok(())
}

fn bad_mail_token(what: &str) -> ApiError {
    ApiError::field(
        ErrorCode::ValidationFailed,
        "token",
        "invalid",
        format!("the {what} link is unknown, already used or expired; ask for a new one"),
    )
}

/// The hash of a token from a mail, if it could be one.
fn mail_token_hash(token: &str) -> Result<Vec<u8>, ApiError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::field(ErrorCode::ValidationFailed, "token", "required", "token must not be empty"));
    }
    if token.len() > MAIL_TOKEN_MAX_LEN {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            "token",
            "too_long",
            format!("token must be at most {MAIL_TOKEN_MAX_LEN} characters"),
        ));
    }
    Ok(secret_hash(token))
}

/// Whether a reset link's token may still be used (the dashboard asks before it shows the form).
pub async fn reset_token_is_valid(state: &AppState, token: &str) -> Result<bool, ApiError> {
    let Ok(hash) = mail_token_hash(token) else { return Ok(false) };
    let found = state.store.find_account_token(TokenPurpose::PasswordReset, &hash, OffsetDateTime::now_utc()).await?;
    Ok(found.is_some())
}

/// Sets a new password with a reset link's token, spending it: every sign-in of the account
/// ends at once (refresh tokens, dashboard sessions, and access tokens from the next request,
/// on every node), the account's throttle is cleared, and its address counts as verified.
pub async fn confirm_password_reset(state: &AppState, token: &str, new_password: &str) -> Result<User, ApiError> {
    let hash = mail_token_hash(token)?;
    let now = OffsetDateTime::now_utc();
    let Some((_, address)) = state.store.find_account_token(TokenPurpose::PasswordReset, &hash, now).await? else {
        return Err(bad_mail_token("reset"));
    };
    let email = Email::parse("email", &address).ok();
    let password = NewPassword::parse("new_password", new_password, email.as_ref())?;
    let password_hash = hash_password_async(password.expose().to_owned()).await?;
    let user = state.store.reset_password(&hash, &password_hash, now).await?.ok_or_else(|| bad_mail_token("reset"))?;
    tracing::info!(user_id = %user.id, "password reset; every sign-in of the account ended");
    Ok(user)
}

/// Verifies an account's address with a verification link's token, spending it.
pub async fn verify_email(state: &AppState, token: &str) -> Result<User, ApiError> {
    let hash = mail_token_hash(token)?;
    let user = state
        .store
        .verify_email(&hash, OffsetDateTime::now_utc())
        .await?
        .ok_or_else(|| bad_mail_token("verification"))?;
    tracing::info!(user_id = %user.id, "email address verified");
    Ok(user)
}

async fn choose_membership(
    state: &AppState,
    user_id: UserId,
    household_id: Option<HouseholdId>,
    now: OffsetDateTime,
) -> Result<Membership, ApiError> {
    let found = match household_id {
        Some(h) => state.store.active_membership(user_id, h, now).await?,
        None => state.store.active_memberships(user_id, now).await?.into_iter().next(),
    };
    found.ok_or_else(|| {
        ApiError::forbidden("you have no active membership of that household (a sitter's access may have ended)")
    })
}

/// An access token and a refresh token, as handed to API clients.
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

fn access_token(
    state: &AppState,
    membership: &Membership,
    family: TokenFamilyId,
    now: OffsetDateTime,
) -> Result<String, ApiError> {
    state.keys.issue_access_token_in(
        membership.user_id,
        membership.household_id,
        membership.role,
        membership.ends_at,
        Some(family),
        now,
    )
}

/// A new trusted-device token for `user_id` (at a sign-in, or after a password change, which
/// retires the old ones), kept so that it can be listed and revoked.
pub async fn issue_trusted_device(
    state: &AppState,
    user_id: UserId,
    origin: &ClientOrigin,
) -> Result<String, ApiError> {
    let now = OffsetDateTime::now_utc();
    let token = state.keys.issue_trusted_device(user_id, now)?;
    let device = state
        .keys
        .read_trusted_device(&token)
        .ok_or_else(|| ApiError::internal("a new trusted-device token does not read"))?;
    state.store.insert_trusted_device(Uuid::from_bytes(device.id), user_id, origin, now).await?;
    Ok(token)
}

/// Starts a new refresh-token family (a new sign-in) without noting where it came from.
pub async fn issue_tokens(state: &AppState, membership: &Membership) -> Result<TokenPair, ApiError> {
    issue_tokens_from(state, membership, &ClientOrigin::default()).await
}

/// Starts a new refresh-token family (a new sign-in) from `origin`, listed with the user's
/// sign-ins.
pub async fn issue_tokens_from(
    state: &AppState,
    membership: &Membership,
    origin: &ClientOrigin,
) -> Result<TokenPair, ApiError> {
    let now = OffsetDateTime::now_utc();
    let family_id = TokenFamilyId::new();
    let (refresh_token, hash) = new_secret("rt_");
    let ttl = state.config.refresh_token_ttl;
    state
        .store
        .insert_refresh_token(
            &NewRefreshToken {
                family_id,
                user_id: membership.user_id,
                household_id: membership.household_id,
                token_hash: hash,
                expires_at: now + ttl,
            },
            now,
        )
        .await?;
    if *origin != ClientOrigin::default() {
        state.store.set_refresh_family_origin(family_id, origin).await?;
    }
    Ok(TokenPair {
        access_token: access_token(state, membership, family_id, now)?,
        access_expires_in: state.keys.access_ttl().as_secs(),
        refresh_token,
        refresh_expires_in: ttl.as_secs(),
    })
}

/// Spends a refresh token for a new pair. A replayed token revokes its whole family.
pub async fn refresh(state: &AppState, presented: &str) -> Result<(TokenPair, Membership), ApiError> {
    let now = OffsetDateTime::now_utc();
    let (successor, successor_hash) = new_secret("rt_");
    let ttl = state.config.refresh_token_ttl;
    let outcome =
        state.store.rotate_refresh_token(&secret_hash(presented.trim()), &successor_hash, now + ttl, now).await?;
    match outcome {
        RefreshOutcome::Rotated { user_id, household_id, family_id } => {
            let Some(membership) = state.store.active_membership(user_id, household_id, now).await? else {
                return Err(ApiError::unauthenticated("your membership of this household has ended"));
            };
            Ok((
                TokenPair {
                    access_token: access_token(state, &membership, family_id, now)?,
                    access_expires_in: state.keys.access_ttl().as_secs(),
                    refresh_token: successor,
                    refresh_expires_in: ttl.as_secs(),
                },
                membership,
            ))
        }
        RefreshOutcome::Reused { user_id, family_id } => {
            tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
            Err(ApiError::new(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used, so every token from that sign-in is now revoked; sign in again",
            ))
        }
        RefreshOutcome::Rejected => {
            Err(ApiError::unauthenticated("the refresh token is not valid or has expired; sign in again"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_keyed_by_what_one_client_holds() {
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(address_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, address_key("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap()), "one /64, one key");
        assert_ne!(a, address_key("2001:db8:1:3::1".parse().unwrap()));
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(seconds(time::Duration::milliseconds(1)), 1);
        assert_eq!(seconds(time::Duration::milliseconds(2001)), 3);
        assert_eq!(seconds(time::Duration::seconds(900)), 900);
    }
}
