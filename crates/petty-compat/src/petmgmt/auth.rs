//! `/auth/*` and `/users/profile`: registration, sign-in with the contract's lockout, refresh
//! with rotation and reuse detection, sign-out, password change, MFA, and the profile. Every
//! step is Petty's account flow (`petty_http::accounts`); the profile only reads the contract's
//! fields and answers in its shapes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::{Email, Role};
use petty_core::ids::{HouseholdId, UserId};
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_http::ErrorCode;
use petty_http::accounts::{self, Registered, Registration, SignIn};
use petty_http::auth::{hash_password_async, secret_hash, verify_password_async};
use petty_http::extract::ClientIp;
use petty_store::{Membership, PetmgmtProfile, User};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::wire::{Body, Check, messages};
use super::{Answer, Fail, Member, ok, ts};

/// The lockout: this many failed sign-ins for one email within [`LOCK_WINDOW`] lock it for as long.
const LOCK_FAILURES: u32 = 5;
const LOCK_WINDOW: Duration = Duration::minutes(15);
const NAME_MAX: usize = 100;

/// First and last name of a person: the profile's, or Petty's display name split at its first
/// space (an account made elsewhere).
pub(super) fn names(user: &User, profile: Option<&PetmgmtProfile>) -> (String, String) {
    match profile {
        Some(p) => (p.first_name.clone(), p.last_name.clone()),
        None => match user.display_name.split_once(' ') {
            Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
            None => (user.display_name.clone(), String::new()),
        },
    }
}

/// The user as registration answers it.
async fn short_user(state: &AppState, user: &User, household_id: HouseholdId) -> Result<Value, Fail> {
    let profile = state.store.petmgmt_profile(user.id).await.map_err(Fail::store)?;
    let (first, last) = names(user, profile.as_ref());
    Ok(json!({
        "id": user.id.0, "email": user.email, "firstName": first, "lastName": last,
        "subscriptionTier": super::account::tier_of(state, household_id).await.as_str(),
    }))
}

/// The full user object of `/users/profile` and sign-in.
async fn full_user(state: &AppState, user: &User, household_id: HouseholdId, role: Role) -> Result<Value, Fail> {
    let profile = state.store.petmgmt_profile(user.id).await.map_err(Fail::store)?;
    let (first, last) = names(user, profile.as_ref());
    let zone = state.store.user_zone(user.id).await.map_err(Fail::store)?;
    let updated = profile.as_ref().map_or(user.created_at, |p| p.updated_at);
    Ok(json!({
        "id": user.id.0,
        "email": user.email,
        "firstName": first,
        "lastName": last,
        "phone": profile.as_ref().and_then(|p| p.phone.clone()),
        "timezone": zone.name(),
        "subscriptionTier": super::account::tier_of(state, household_id).await.as_str(),
        "profilePhotoUrl": super::uploads::photo(state, profile.as_ref().and_then(|p| p.photo_url.as_deref())),
        "mfaEnabled": mfa_enabled(state, user.id).await?,
        "role": role.as_str(),
        "createdAt": ts(user.created_at),
        "updatedAt": ts(updated),
    }))
}

async fn mfa_enabled(state: &AppState, user_id: UserId) -> Result<bool, Fail> {
    petty_app::mfa::is_enabled(&state.app, user_id).await.map_err(Fail::store)
}

/// Petty's account refusal as the contract answers it.
fn account_error(e: petty_http::ApiError) -> Fail {
    match e.code {
        ErrorCode::ValidationFailed => Fail::validation(
            e.details
                .into_iter()
                .map(|d| super::Detail {
                    field: super::wire::contract_field(&d.field).to_owned(),
                    message: d.message.replacen(&d.field, super::wire::contract_field(&d.field), 1),
                })
                .collect(),
        ),
        ErrorCode::InvalidCredentials => {
            Fail::new(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid email or password")
        }
        ErrorCode::AccountLocked => {
            Fail::new(StatusCode::LOCKED, "ACCOUNT_LOCKED", "Too many failed login attempts. Try again later.")
                .retry_after(e.retry_after.unwrap_or(1))
        }
        ErrorCode::RateLimited => {
            Fail::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED", "API rate limit exceeded")
                .retry_after(e.retry_after.unwrap_or(1))
        }
        ErrorCode::MfaRequired => {
            Fail::new(StatusCode::UNAUTHORIZED, "MFA_REQUIRED", "Multi-factor authentication code required")
        }
        ErrorCode::InvalidMfaCode => {
            Fail::new(StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE", "Invalid authentication code")
        }
        ErrorCode::RefreshTokenReused => Fail::new(
            StatusCode::UNAUTHORIZED,
            "TOKEN_REUSED",
            "Refresh token reuse detected; this login was signed out on every device",
        ),
        ErrorCode::Forbidden => Fail::forbidden("Your access to this household has ended"),
        ErrorCode::Unauthenticated if e.message.contains("membership of this household has ended") => {
            Fail::forbidden("Your access to this household has ended")
        }
        ErrorCode::Unauthenticated | ErrorCode::TokenExpired => Fail::unauthorized("Invalid or expired token"),
        ErrorCode::Conflict => Fail::conflict("Email already registered"),
        ErrorCode::Unavailable => Fail::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "Service temporarily unavailable; try again",
        ),
        _ => Fail::internal(e.message),
    }
}

/// The answer of a sign-in or registration: the user, and a new pair of tokens.
async fn with_tokens(state: &AppState, user: Value, membership: &Membership) -> Result<Value, Fail> {
    with_tokens_from(state, user, membership, &petty_store::ClientOrigin::default()).await
}

async fn with_tokens_from(
    state: &AppState,
    user: Value,
    membership: &Membership,
    origin: &petty_store::ClientOrigin,
) -> Result<Value, Fail> {
    let tokens = accounts::issue_tokens_from(state, membership, origin).await.map_err(account_error)?;
    Ok(json!({
        "user": user,
        "accessToken": tokens.access_token,
        "refreshToken": tokens.refresh_token,
        "expiresIn": tokens.access_expires_in,
    }))
}

/// `POST /auth/register`.
pub(super) async fn register(State(state): State<AppState>, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let email = c.text("email", 254, true, Some(messages::EMAIL)).flatten();
    if let Some(e) = &email
        && !super::wire::email_ok(e)
    {
        c.fail("email", messages::EMAIL);
    }
    let password = match body.get("password") {
        Some(serde_json::Value::String(p)) if super::wire::password_ok(p, email.as_deref()) => Some(p.clone()),
        _ => {
            c.fail("password", messages::PASSWORD);
            None
        }
    };
    let first = c.text("firstName", NAME_MAX, true, None).flatten();
    let last = c.text("lastName", NAME_MAX, true, None).flatten();
    let zone = match c.text("timezone", Zone::NAME_MAX, false, Some(messages::TIMEZONE)) {
        Some(Some(z)) => Zone::parse("timezone", &z).map_err(|_| c.fail("timezone", messages::TIMEZONE)).ok(),
        Some(None) => Some(Zone::utc()),
        None => None,
    };
    c.finish()?;
    let (Some(email), Some(password), Some(first), Some(last), Some(zone)) = (email, password, first, last, zone)
    else {
        return Err(Fail::internal("registration fields missing after validation"));
    };
    let parsed = Email::parse("email", &email).map_err(|_| Fail::field("email", messages::EMAIL))?;
    if state.store.user_credentials_by_email(&parsed).await.map_err(Fail::store)?.is_some() {
        return Err(Fail::conflict("Email already registered"));
    }
    let display_name: String = format!("{first} {last}").chars().take(petty_core::accounts::DISPLAY_NAME_MAX).collect();
    let registration = Registration {
        email: email.clone(),
        password,
        display_name: display_name.clone(),
        household_name: None,
        invitation_token: None,
    };
    let (user, membership) = match accounts::register_account(&state, registration).await.map_err(account_error)? {
        Registered::New(new) => *new,
        Registered::Taken => return Err(Fail::conflict("Email already registered")),
    };
    let now = OffsetDateTime::now_utc();
    let profile = PetmgmtProfile {
        user_id: user.id,
        first_name: first,
        last_name: last,
        phone: None,
        photo_url: None,
        updated_at: now,
    };
    state.store.put_petmgmt_profile(&profile, &display_name).await.map_err(Fail::store)?;
    // The person's zone, and their new household's: vaccine statuses are days there.
    state.store.set_user_zone(user.id, &zone).await.map_err(Fail::store)?;
    state.store.set_household_zone(membership.household_id, &zone).await.map_err(Fail::store)?;
    let short = short_user(&state, &user, membership.household_id).await?;
    let answer = if state.config.email_verification == petty_core::accounts::EmailVerification::Required {
        // Tokens come once the address is confirmed (the link is mailed), as everywhere in Petty.
        json!({"user": short, "accessToken": null, "refreshToken": null, "expiresIn": null})
    } else {
        with_tokens(&state, short, &membership).await?
    };
    Ok(ok(StatusCode::CREATED, answer))
}

/// How long `email` is still locked for, in whole seconds, by the contract's rule: the failure
/// that made five within 15 minutes starts 15 minutes of refusal (failures are the ones Petty
/// records for the email's untrusted sign-ins: wrong passwords and wrong codes, from any edge).
async fn locked_for(state: &AppState, email: &Email, now: OffsetDateTime) -> Result<Option<u64>, Fail> {
    crate::lockout::locked_for(state, email.as_str(), LOCK_FAILURES, LOCK_WINDOW, now).await.map_err(Fail::store)
}

fn locked(seconds: u64) -> Fail {
    Fail::new(StatusCode::LOCKED, "ACCOUNT_LOCKED", "Too many failed login attempts. Try again later.")
        .retry_after(seconds)
}

/// `POST /auth/login`.
pub(super) async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: axum::http::HeaderMap,
    bytes: Bytes,
) -> Answer {
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let email = c.text("email", 254, true, Some(messages::EMAIL)).flatten();
    let password = match body.get("password") {
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        _ => {
            c.fail("password", "password is required");
            None
        }
    };
    let mfa_code = c.text("mfaCode", 20, false, Some("mfaCode must be a 6-digit code or a backup code")).flatten();
    let parsed = email.as_deref().map(|e| Email::parse("email", e));
    if let Some(Err(_)) = parsed {
        c.fail("email", messages::EMAIL);
    }
    c.finish()?;
    let (Some(Ok(email)), Some(password)) = (parsed, password) else {
        return Err(Fail::internal("sign-in fields missing after validation"));
    };
    let now = OffsetDateTime::now_utc();
    if let Some(wait) = locked_for(&state, &email, now).await? {
        return Err(locked(wait));
    }
    let user_agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok());
    let attempt = SignIn {
        email: email.as_str(),
        password: &password,
        household_id: None,
        client,
        trusted_device: None,
        mfa_code: mfa_code.as_deref(),
        user_agent,
    };
    let signed_in = accounts::sign_in(&state, attempt).await.map_err(account_error)?;
    let user = full_user(&state, &signed_in.user, signed_in.membership.household_id, signed_in.membership.role).await?;
    let origin = accounts::origin(client, user_agent);
    Ok(ok(StatusCode::OK, with_tokens_from(&state, user, &signed_in.membership, &origin).await?))
}

/// `POST /auth/refresh-token`: the presented token is spent and a new pair answered.
pub(super) async fn refresh(State(state): State<AppState>, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let token = c.text("refreshToken", 200, true, None).flatten();
    c.finish()?;
    let token = token.unwrap_or_default();
    let (tokens, _) = accounts::refresh(&state, &token).await.map_err(account_error)?;
    Ok(ok(
        StatusCode::OK,
        json!({"accessToken": tokens.access_token, "refreshToken": tokens.refresh_token, "expiresIn": tokens.access_expires_in}),
    ))
}

/// The caller, if the request is signed in; `None` for no credentials; the refusal for bad ones.
async fn optional_member(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Option<Member>, Fail> {
    use axum::extract::FromRequestParts;
    match parts.extensions.get::<petty_http::auth::Authentication>() {
        None | Some(petty_http::auth::Authentication::Anonymous) => Ok(None),
        _ => Member::from_request_parts(parts, state).await.map(Some),
    }
}

/// `POST /auth/logout`: ends the sign-in of the given refresh token, or else the one the access
/// token was issued from (every sign-in of the person with `allDevices: true`).
pub(super) async fn logout(State(state): State<AppState>, request: axum::extract::Request) -> Answer {
    let (mut parts, body) = request.into_parts();
    let member = optional_member(&mut parts, &state).await?;
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| Fail::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "Request body too large"))?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let token = c.text("refreshToken", 200, false, None).flatten();
    let all = c.boolean("allDevices").flatten().unwrap_or(false);
    c.finish()?;
    let now = OffsetDateTime::now_utc();
    if all {
        let Some(member) = member else { return Err(Fail::unauthorized("Authentication required")) };
        let (user_id, _) = member.user()?;
        state
            .store
            .revoke_other_sign_ins(user_id, petty_store::CurrentSignIn::default(), now)
            .await
            .map_err(Fail::store)?;
    } else if let Some(token) = token {
        state.store.revoke_refresh_family_of(&secret_hash(&token), now).await.map_err(Fail::store)?;
    } else {
        let Some(member) = member else { return Err(Fail::unauthorized("Authentication required")) };
        let (user_id, _) = member.user()?;
        if let Some(family) = petty_http::auth::sign_in_of(&state, &parts.headers) {
            match state.store.revoke_sign_in(user_id, family.0, now).await {
                Ok(_) | Err(petty_store::StoreError::NotFound) => {}
                Err(e) => return Err(Fail::store(e)),
            }
        }
    }
    Ok(ok(StatusCode::OK, json!({"loggedOut": true})))
}

/// `POST /auth/change-password`: every other sign-in ends; the caller gets a new pair of tokens
/// beside `changed: true` (its old ones end with the rest).
pub(super) async fn change_password(
    State(state): State<AppState>,
    member: Member,
    headers: axum::http::HeaderMap,
    bytes: Bytes,
) -> Answer {
    let (user_id, _) = member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let current = match body.get("currentPassword") {
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        _ => {
            c.fail("currentPassword", "currentPassword is required");
            None
        }
    };
    let credentials = state.store.user_credentials(user_id).await.map_err(Fail::store)?;
    let new = match body.get("newPassword") {
        Some(Value::String(p)) if super::wire::password_ok(p, Some(&credentials.user.email)) => Some(p.clone()),
        _ => {
            c.fail("newPassword", messages::PASSWORD.replacen("Password", "newPassword", 1));
            None
        }
    };
    c.finish()?;
    let (Some(current), Some(new)) = (current, new) else { return Err(Fail::internal("fields missing")) };
    if !verify_password_async(current, credentials.password_hash.clone()).await.map_err(account_error)? {
        return Err(Fail::new(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid email or password"));
    }
    // Petty's own rule: with MFA on, a password change needs a fresh code too (`mfaCode`, or
    // the `X-MFA-Code` header as in Petty's API).
    let code = match body.get("mfaCode") {
        Some(Value::String(code)) => Some(code.clone()),
        _ => headers.get(petty_http::stepup::MFA_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    petty_http::stepup::require_fresh_mfa(&state, user_id, code.as_deref()).await.map_err(account_error)?;
    let email = Email::parse("email", &credentials.user.email).ok();
    let new = petty_core::accounts::NewPassword::parse("newPassword", &new, email.as_ref()).map_err(Fail::canonical)?;
    let hash = hash_password_async(new.expose().to_owned()).await.map_err(account_error)?;
    let now = OffsetDateTime::now_utc();
    state.store.set_password_hash(user_id, &hash, now).await.map_err(Fail::store)?;
    let membership = state
        .store
        .active_membership(user_id, member.household(), now)
        .await
        .map_err(Fail::store)?
        .ok_or_else(|| Fail::forbidden("Your access to this household has ended"))?;
    let tokens = accounts::issue_tokens(&state, &membership).await.map_err(account_error)?;
    Ok(ok(
        StatusCode::OK,
        json!({
            "changed": true,
            "accessToken": tokens.access_token,
            "refreshToken": tokens.refresh_token,
            "expiresIn": tokens.access_expires_in,
        }),
    ))
}

/// An MFA use case's refusal as the contract answers it.
fn mfa_error(e: petty_app::mfa::MfaError) -> Fail {
    use petty_app::mfa::MfaError;
    match e {
        MfaError::InvalidCode | MfaError::Invalid(_) => {
            Fail::new(StatusCode::UNAUTHORIZED, "INVALID_MFA_CODE", "Invalid authentication code")
        }
        MfaError::AlreadyEnabled => Fail::conflict("Multi-factor authentication is already enabled"),
        MfaError::NotEnabled => Fail::conflict("Multi-factor authentication is not enabled"),
        MfaError::NoSetup => Fail::conflict("Start with POST /auth/mfa/setup"),
        MfaError::Store(e) => Fail::store(e),
    }
}

/// `POST /auth/mfa/setup` → `{secret, otpauthUrl}`; MFA is on only after `verify`.
pub(super) async fn mfa_setup(State(state): State<AppState>, member: Member) -> Answer {
    let (user_id, _) = member.user()?;
    let user = state.store.get_user(user_id).await.map_err(Fail::store)?;
    let setup = petty_app::mfa::setup(&state.app, user_id, &user.email).await.map_err(mfa_error)?;
    Ok(ok(StatusCode::OK, json!({"secret": setup.secret, "otpauthUrl": setup.otpauth_url})))
}

/// `POST /auth/mfa/verify` `{code}` → `{enabled: true, backupCodes: [10]}`.
pub(super) async fn mfa_verify(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    let (user_id, _) = member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let code = c.text("code", 20, true, None).flatten();
    c.finish()?;
    let codes = petty_app::mfa::enable(&state.app, user_id, &code.unwrap_or_default()).await.map_err(mfa_error)?;
    Ok(ok(StatusCode::OK, json!({"enabled": true, "backupCodes": codes})))
}

/// `POST /auth/mfa/disable` `{password, code}` → `{enabled: false}`.
pub(super) async fn mfa_disable(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    let (user_id, _) = member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let password = match body.get("password") {
        Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
        _ => {
            c.fail("password", "password is required");
            None
        }
    };
    let code = c.text("code", 20, true, None).flatten();
    c.finish()?;
    if !mfa_enabled(&state, user_id).await? {
        return Err(mfa_error(petty_app::mfa::MfaError::NotEnabled));
    }
    let credentials = state.store.user_credentials(user_id).await.map_err(Fail::store)?;
    if !verify_password_async(password.unwrap_or_default(), credentials.password_hash).await.map_err(account_error)? {
        return Err(Fail::new(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS", "Invalid email or password"));
    }
    petty_http::stepup::require_fresh_mfa(&state, user_id, code.as_deref()).await.map_err(account_error)?;
    petty_app::mfa::disable(&state.app, user_id).await.map_err(Fail::store)?;
    Ok(ok(StatusCode::OK, json!({"enabled": false})))
}

/// `GET /users/profile`.
pub(super) async fn profile(State(state): State<AppState>, member: Member) -> Answer {
    let (user_id, role) = member.user()?;
    let user = state.store.get_user(user_id).await.map_err(Fail::store)?;
    Ok(ok(StatusCode::OK, full_user(&state, &user, member.household(), role).await?))
}

/// `PUT /users/profile` `{firstName?, lastName?, phone?, timezone?}`: the fields present change.
pub(super) async fn update_profile(State(state): State<AppState>, member: Member, bytes: Bytes) -> Answer {
    let (user_id, role) = member.user()?;
    let body = Body::parse(&bytes)?;
    let mut c = Check::new(&body);
    let first = body.has("firstName").then(|| c.text("firstName", NAME_MAX, true, None).flatten()).flatten();
    let last = body.has("lastName").then(|| c.text("lastName", NAME_MAX, true, None).flatten()).flatten();
    let phone = match c.text("phone", 16, false, Some(messages::PHONE)) {
        Some(Some(p)) if super::wire::phone_ok(&p) => Some(Some(p)),
        Some(Some(_)) => {
            c.fail("phone", messages::PHONE);
            None
        }
        other => other,
    };
    let zone = match c.text("timezone", Zone::NAME_MAX, false, Some(messages::TIMEZONE)) {
        Some(Some(z)) => Zone::parse("timezone", &z).map_err(|_| c.fail("timezone", messages::TIMEZONE)).ok(),
        _ => None,
    };
    c.finish()?;
    let user = state.store.get_user(user_id).await.map_err(Fail::store)?;
    let existing = state.store.petmgmt_profile(user_id).await.map_err(Fail::store)?;
    let (old_first, old_last) = names(&user, existing.as_ref());
    let now = OffsetDateTime::now_utc();
    let profile = PetmgmtProfile {
        user_id,
        first_name: first.unwrap_or(old_first),
        last_name: last.unwrap_or(old_last),
        phone: if body.has("phone") { phone.flatten() } else { existing.as_ref().and_then(|p| p.phone.clone()) },
        photo_url: existing.as_ref().and_then(|p| p.photo_url.clone()),
        updated_at: now,
    };
    let display_name: String = format!("{} {}", profile.first_name, profile.last_name)
        .trim()
        .chars()
        .take(petty_core::accounts::DISPLAY_NAME_MAX)
        .collect();
    state.store.put_petmgmt_profile(&profile, &display_name).await.map_err(Fail::store)?;
    if let Some(zone) = zone {
        state.store.set_user_zone(user_id, &zone).await.map_err(Fail::store)?;
    }
    let user = state.store.get_user(user_id).await.map_err(Fail::store)?;
    Ok(ok(StatusCode::OK, full_user(&state, &user, member.household(), role).await?))
}
