//! `/auth/*` and `/users/me`: registration (a Petty account owning a new household, with the
//! profile's username beside it), sign-in by email or username (form or JSON) behind Petty's
//! throttles and the contract's lockout, MFA, refresh with rotation and reuse detection,
//! sign-out, the password change, and the user object with its scores. Every step is Petty's
//! account flow (`petty_http::accounts`); this module reads the contract's fields and answers in
//! its shapes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use petty_core::accounts::{Email, NewPassword};
use petty_core::lifelog::Subject;
use petty_core::recurrence::Zone;
use petty_http::AppState;
use petty_http::ErrorCode;
use petty_http::accounts::{self, Registered, Registration, SignIn, TokenPair};
use petty_http::auth::{hash_password_async, secret_hash, verify_password_async};
use petty_http::extract::ClientIp;
use petty_store::{AuroraProfile, ClientOrigin, FailureScope, Membership, StoreError, User};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::wire::{Fields, Item, body_object, item_of};
use super::{Answer, Fail, Person, ok, ts};

/// The lockout: this many failed sign-ins for one email or username within [`LOCK_WINDOW`]
/// refuse further attempts for as long.
const LOCK_FAILURES: u32 = 5;
const LOCK_WINDOW: Duration = Duration::minutes(15);
const FULL_NAME_MAX: usize = 100;
/// The free-form profile, serialised.
const PROFILE_MAX_BYTES: usize = 16 * 1024;
/// The keys every profile has: two lists, then two objects.
const PROFILE_KEYS: [&str; 4] = ["goals", "values", "preferences", "life_state"];

/// `data` with every key of [`PROFILE_KEYS`], empty where it had none.
fn with_profile_keys(mut data: Map<String, Value>) -> Map<String, Value> {
    for (i, key) in PROFILE_KEYS.into_iter().enumerate() {
        data.entry(key).or_insert_with(|| if i < 2 { Value::Array(Vec::new()) } else { Value::Object(Map::new()) });
    }
    data
}

/// The profile's fields of a person, or what stands for them for an account made elsewhere (its
/// username the email's local part).
async fn profile_of(state: &AppState, user: &User) -> Result<AuroraProfile, Fail> {
    if let Some(p) = state.store.aurora_profile(user.id).await.map_err(Fail::store)? {
        return Ok(p);
    }
    Ok(AuroraProfile {
        user_id: user.id,
        username: user.email.split('@').next().unwrap_or_default().to_owned(),
        full_name: Some(user.display_name.clone()),
        profile_data: "{}".to_owned(),
        updated_at: None,
        last_active: None,
    })
}

/// `profile_data` with the four keys the contract names always present.
fn profile_data(text: &str) -> Map<String, Value> {
    with_profile_keys(match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    })
}

/// The user object, with the scores of the last 30 days of the person's events.
pub(super) async fn user_object(state: &AppState, user: &User, household: petty_core::ids::HouseholdId) -> Answer {
    user_value(state, user, household).await.map(|v| ok(StatusCode::OK, v))
}

async fn user_value(state: &AppState, user: &User, household: petty_core::ids::HouseholdId) -> Result<Value, Fail> {
    let profile = profile_of(state, user).await?;
    let zone = state.store.user_zone(user.id).await.map_err(Fail::store)?;
    let now = state.app.now();
    let events = state
        .store
        .life_events_between(Subject::Person(user.id), household, now - Duration::days(30), now)
        .await
        .map_err(Fail::store)?;
    let scores = petty_core::lifelog::scores(&events, now);
    Ok(json!({
        "id": user.id.0,
        "email": user.email,
        "username": profile.username,
        "full_name": profile.full_name,
        "timezone": zone.name(),
        "is_active": true,
        "is_verified": user.email_verified_at.is_some(),
        "role": "user",
        "profile_data": profile_data(&profile.profile_data),
        "health_score": scores.health,
        "energy_score": scores.energy,
        "mood_score": scores.mood,
        "productivity_score": scores.productivity,
        "created_at": ts(user.created_at),
        "updated_at": profile.updated_at.map(ts),
        "last_active": profile.last_active.map(ts),
    }))
}

/// `{access_token, refresh_token, token_type, expires_in}`.
fn pair(tokens: &TokenPair) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("access_token".into(), json!(tokens.access_token));
    out.insert("refresh_token".into(), json!(tokens.refresh_token));
    out.insert("token_type".into(), json!("bearer"));
    out.insert("expires_in".into(), json!(tokens.access_expires_in));
    out
}

/// Petty's refusal of a sign-in, a refresh or a code, as the contract answers it; `wrong` is
/// what a wrong email, username or password is told.
fn account_error(e: petty_http::ApiError, wrong: &str) -> Fail {
    match e.code {
        ErrorCode::InvalidCredentials | ErrorCode::ValidationFailed => Fail::unauthorized(wrong),
        ErrorCode::AccountLocked | ErrorCode::RateLimited => locked(e.retry_after.unwrap_or(1)),
        ErrorCode::MfaRequired => Fail::unauthorized("MFA code required"),
        ErrorCode::InvalidMfaCode => Fail::unauthorized("Invalid MFA code"),
        ErrorCode::Forbidden => Fail::forbidden("Your access to this household has ended"),
        ErrorCode::Unauthenticated | ErrorCode::TokenExpired | ErrorCode::RefreshTokenReused => {
            Fail::unauthorized(wrong)
        }
        ErrorCode::Unavailable => Fail::new(StatusCode::SERVICE_UNAVAILABLE, json!("Service Unavailable")),
        _ => Fail::internal(e.message),
    }
}

/// Petty's refusal of a registration the contract's rules let through (a name Petty does not
/// take): 422 with Petty's words, under the contract's field names.
fn register_error(e: petty_http::ApiError) -> Fail {
    match e.code {
        ErrorCode::ValidationFailed => Fail::invalid(
            e.details
                .iter()
                .map(|d| {
                    let field = if d.field == "display_name" { "full_name" } else { d.field.as_str() };
                    let msg = format!("Value error, {}", d.message.replacen(&d.field, field, 1));
                    Item::new("value_error", vec!["body".into(), field.into()], msg, Value::Null)
                })
                .collect(),
        ),
        _ => account_error(e, "Could not register"),
    }
}

fn locked(seconds: u64) -> Fail {
    let seconds = seconds.max(1);
    Fail::too_many(json!(format!("Too many failed login attempts. Try again in {seconds} seconds.")), seconds)
}

/// The contract's length rule of a text field, if `value` breaks it.
fn length(field: &str, value: &str, min: usize, max: usize) -> Option<petty_core::FieldError> {
    let n = value.chars().count();
    if n < min {
        Some(petty_core::FieldError::new(field, "too_short", "-"))
    } else if n > max {
        Some(petty_core::FieldError::new(field, "too_long", "-"))
    } else {
        None
    }
}

/// A new password's refusal: the contract's 8–128 characters, then Petty's stricter rule in its
/// own words.
fn new_password(field: &str, password: &str, email: Option<&Email>) -> Option<petty_core::FieldError> {
    length(field, password, 8, 128).or_else(|| {
        let refused = NewPassword::parse(field, password, email).err()?;
        refused.0.into_iter().next().map(|e| petty_core::FieldError { rule: "petty", ..e })
    })
}

/// What registration reads: the contract's rules, then Petty's stricter password rule.
struct NewAccount {
    email: Email,
    username: String,
    password: String,
    full_name: Option<String>,
    zone: Zone,
}

fn read_new_account(bytes: &[u8]) -> Result<NewAccount, Fail> {
    let body = body_object(bytes)?;
    let whole = Value::Object(body.clone());
    let mut f = Fields::new(&body, vec!["body".into()]);
    let email = f.text("email", false);
    let username = f.text("username", false);
    let password = f.text("password", false);
    let full_name = f.text("full_name", true);
    let timezone = f.text("timezone", true);
    let mut petty = Vec::new();
    let email = match email {
        None if !f.has("email") => {
            f.missing("email");
            None
        }
        None => None,
        Some(raw) if raw.chars().count() > Email::MAX_LEN => {
            petty.push(petty_core::FieldError::new("email", "too_long", "-"));
            None
        }
        Some(raw) => match Email::parse("email", &raw) {
            Ok(e) => Some(e),
            Err(_) => {
                let msg = "value is not a valid email address: An email address must have an @-sign and a domain.";
                petty.push(petty_core::FieldError::new("email", "invalid", msg));
                None
            }
        },
    };
    match &username {
        None if !f.has("username") => f.missing("username"),
        None => {}
        Some(u) => petty.extend(length("username", u, 3, 50).or_else(|| {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
            (!u.chars().all(allowed)).then(|| petty_core::FieldError::new("username", "format", "-"))
        })),
    }
    match &password {
        None if !f.has("password") => f.missing("password"),
        None => {}
        Some(p) => petty.extend(new_password("password", p, email.as_ref())),
    }
    petty.extend(full_name.as_deref().and_then(|n| length("full_name", n, 0, FULL_NAME_MAX)));
    let zone = match timezone.as_deref().map(str::trim) {
        None | Some("") => Some(Zone::utc()),
        Some(name) => match Zone::parse("timezone", name) {
            Ok(z) => Some(z),
            Err(_) => {
                let msg = "timezone must be an IANA time zone name such as Europe/Warsaw";
                petty.push(petty_core::FieldError::new("timezone", "invalid", msg));
                None
            }
        },
    };
    let mut items: Vec<Item> = f.items;
    items.extend(petty.iter().map(|e| item_of(e, &["body".into()], &whole)));
    let order = ["email", "username", "password", "full_name", "timezone"];
    items.sort_by_key(|i| order.iter().position(|o| i.loc.get(1).and_then(Value::as_str) == Some(o)));
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    match (email, username, password, zone) {
        (Some(email), Some(username), Some(password), Some(zone)) => {
            Ok(NewAccount { email, username, password, full_name: full_name.filter(|n| !n.trim().is_empty()), zone })
        }
        _ => Err(Fail::internal("registration fields missing after validation")),
    }
}

/// Makes the account, its household and the profile's fields; the new user and membership.
async fn create_account(state: &AppState, bytes: &[u8]) -> Result<(User, Membership), Fail> {
    let new = read_new_account(bytes)?;
    let taken = || Fail::bad_request("User with this email or username already exists");
    if state.store.aurora_user_by_username(&new.username).await.map_err(Fail::store)?.is_some() {
        return Err(taken());
    }
    let display_name: String = new
        .full_name
        .clone()
        .unwrap_or_else(|| new.username.clone())
        .chars()
        .take(petty_core::accounts::DISPLAY_NAME_MAX)
        .collect();
    let registration = Registration {
        email: new.email.as_str().to_owned(),
        password: new.password,
        display_name,
        household_name: None,
        invitation_token: None,
    };
    let (user, membership) = match accounts::register_account(state, registration).await.map_err(register_error)? {
        Registered::New(new) => *new,
        Registered::Taken => return Err(taken()),
    };
    let profile = AuroraProfile {
        user_id: user.id,
        username: new.username,
        full_name: new.full_name,
        profile_data: "{}".to_owned(),
        updated_at: None,
        last_active: None,
    };
    match state.store.put_aurora_profile(&profile, None).await {
        Ok(()) => {}
        // Taken between the check and now: the account stays, reachable by its email.
        Err(StoreError::Conflict(_)) => return Err(taken()),
        Err(e) => return Err(Fail::store(e)),
    }
    state.store.set_user_zone(user.id, &new.zone).await.map_err(Fail::store)?;
    state.store.set_household_zone(membership.household_id, &new.zone).await.map_err(Fail::store)?;
    Ok((user, membership))
}

/// `POST /auth/register` → 201 the tokens and the user (no tokens while email verification is
/// required: they come once the address is confirmed, as everywhere in Petty).
pub(super) async fn register(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let (user, membership) = create_account(&state, &bytes).await?;
    let user_json = user_value(&state, &user, membership.household_id).await?;
    let mut answer = if state.config.email_verification == petty_core::accounts::EmailVerification::Required {
        let mut none = Map::new();
        for key in ["access_token", "refresh_token", "expires_in"] {
            none.insert(key.into(), Value::Null);
        }
        none.insert("token_type".into(), json!("bearer"));
        none
    } else {
        let origin = origin(client, &headers);
        let tokens = accounts::issue_tokens_from(&state, &membership, &origin)
            .await
            .map_err(|e| account_error(e, "Could not register"))?;
        pair(&tokens)
    };
    answer.insert("user".into(), user_json);
    Ok(ok(StatusCode::CREATED, Value::Object(answer)))
}

/// `POST /compat/aurora/api/users` → 201 the user alone (upstream's own create route).
pub(super) async fn create_user(State(state): State<AppState>, bytes: Bytes) -> Answer {
    let (user, membership) = create_account(&state, &bytes).await?;
    let user_json = user_value(&state, &user, membership.household_id).await?;
    Ok(ok(StatusCode::CREATED, user_json))
}

fn origin(client: std::net::IpAddr, headers: &HeaderMap) -> ClientOrigin {
    accounts::origin(client, headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()))
}

/// A sign-in as the contract sends it: who (an email, or a username), the password, the code.
struct Credentials {
    who: String,
    password: String,
    otp: Option<String>,
}

/// From a form (`username`, `password`, `otp`: the OAuth2 password flow) or, with `json_only`
/// or a JSON body, from JSON (`email` or `username`, `password`, `otp`).
fn read_credentials(headers: &HeaderMap, bytes: &[u8], json_only: bool) -> Result<Credentials, Fail> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let body = if form && !json_only {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(bytes) {
            map.entry(k.into_owned()).or_insert(Value::String(v.into_owned()));
        }
        map
    } else {
        body_object(bytes)?
    };
    let mut f = Fields::new(&body, vec!["body".into()]);
    let email = f.text("email", true);
    let username = f.text("username", true);
    let password = f.text("password", false);
    let otp = f.text("otp", true);
    let who = email.or(username);
    if who.is_none() && !f.wrong.contains(&"email") && !f.wrong.contains(&"username") {
        f.missing("username");
    }
    if password.is_none() && !f.has("password") {
        f.missing("password");
    }
    if !f.items.is_empty() {
        return Err(Fail::invalid(f.items));
    }
    match (who, password) {
        (Some(who), Some(password)) => Ok(Credentials { who, password, otp }),
        _ => Err(Fail::internal("sign-in fields missing after validation")),
    }
}

/// The key an unknown username's failures are counted under (an account's are its email's).
fn username_key(username: &str) -> String {
    format!("aurora-username:{}", username.trim().to_lowercase())
}

async fn sign_in(
    state: &AppState,
    client: std::net::IpAddr,
    headers: &HeaderMap,
    creds: Credentials,
    wrong: &str,
) -> Answer {
    let now = OffsetDateTime::now_utc();
    let who = creds.who.trim();
    // An email, or the username of a profile, or nobody.
    let email = if who.contains('@') {
        Some(who.to_lowercase())
    } else {
        match state.store.aurora_user_by_username(who).await.map_err(Fail::store)? {
            Some(user_id) => Some(state.store.get_user(user_id).await.map_err(Fail::store)?.email),
            None => None,
        }
    };
    let key = email.clone().unwrap_or_else(|| username_key(who));
    if let Some(wait) =
        crate::lockout::locked_for(state, &key, LOCK_FAILURES, LOCK_WINDOW, now).await.map_err(Fail::store)?
    {
        return Err(locked(wait));
    }
    let Some(email) = email else {
        // Nobody has this username: the same time, the same answer, the same count.
        let _ = verify_password_async(creds.password, petty_http::auth::decoy_hash().to_owned()).await;
        let address = accounts::address_key(client);
        let sources = [(FailureScope::Address, address.as_str()), (FailureScope::Account, key.as_str())];
        let at = OffsetDateTime::now_utc();
        let forget = at - state.config.signin.longest_window();
        state.store.record_signin_failure(&sources, at, forget).await.map_err(Fail::store)?;
        return Err(Fail::unauthorized(wrong));
    };
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let attempt = SignIn {
        email: &email,
        password: &creds.password,
        household_id: None,
        client,
        trusted_device: None,
        mfa_code: creds.otp.as_deref().filter(|c| !c.trim().is_empty()),
        user_agent,
    };
    let signed_in = accounts::sign_in(state, attempt).await.map_err(|e| account_error(e, wrong))?;
    let tokens = accounts::issue_tokens_from(state, &signed_in.membership, &accounts::origin(client, user_agent))
        .await
        .map_err(|e| account_error(e, wrong))?;
    state.store.touch_aurora_profile(signed_in.user.id, now).await.map_err(Fail::store)?;
    let mut answer = pair(&tokens);
    answer.insert("user".into(), user_value(state, &signed_in.user, signed_in.membership.household_id).await?);
    Ok(ok(StatusCode::OK, Value::Object(answer)))
}

/// `POST /auth/login`: a form or JSON.
pub(super) async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let creds = read_credentials(&headers, &bytes, false)?;
    sign_in(&state, client, &headers, creds, "Incorrect email/username or password").await
}

/// `POST /auth/login/json`: JSON only.
pub(super) async fn login_json(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    bytes: Bytes,
) -> Answer {
    let creds = read_credentials(&headers, &bytes, true)?;
    sign_in(&state, client, &headers, creds, "Invalid credentials").await
}

/// A required `refresh_token` string.
fn read_refresh_token(bytes: &[u8]) -> Result<String, Fail> {
    let body = body_object(bytes)?;
    let mut f = Fields::new(&body, vec!["body".into()]);
    let token = f.text("refresh_token", false);
    if token.is_none() && !f.has("refresh_token") {
        f.missing("refresh_token");
    }
    if !f.items.is_empty() {
        return Err(Fail::invalid(f.items));
    }
    token.ok_or_else(|| Fail::internal("refresh_token missing after validation"))
}

/// `POST /auth/refresh`: the presented token is spent for a new pair; a spent one revokes its
/// whole sign-in.
pub(super) async fn refresh(State(state): State<AppState>, bytes: Bytes) -> Answer {
    let token = read_refresh_token(&bytes)?;
    let (tokens, membership) =
        accounts::refresh(&state, &token).await.map_err(|e| account_error(e, "Invalid refresh token"))?;
    state.store.touch_aurora_profile(membership.user_id, OffsetDateTime::now_utc()).await.map_err(Fail::store)?;
    Ok(ok(StatusCode::OK, Value::Object(pair(&tokens))))
}

/// `POST /auth/logout` `{refresh_token?}`: ends that token's sign-in, or, without one, every
/// sign-in of the caller.
pub(super) async fn logout(State(state): State<AppState>, request: axum::extract::Request) -> Answer {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
        .await
        .map_err(|_| Fail::new(StatusCode::PAYLOAD_TOO_LARGE, json!("Request Entity Too Large")))?;
    let token = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let body = body_object(&bytes)?;
        let mut f = Fields::new(&body, vec!["body".into()]);
        let token = f.text("refresh_token", true);
        if !f.items.is_empty() {
            return Err(Fail::invalid(f.items));
        }
        token
    };
    let now = OffsetDateTime::now_utc();
    match token {
        Some(token) => {
            state.store.revoke_refresh_family_of(&secret_hash(token.trim()), now).await.map_err(Fail::store)?;
        }
        None => {
            let actor = super::signed_in(&parts)?;
            let Some(user_id) = actor.user_id() else {
                return Err(Fail::forbidden("An API key has no sign-ins to end"));
            };
            state
                .store
                .revoke_other_sign_ins(user_id, petty_store::CurrentSignIn::default(), now)
                .await
                .map_err(Fail::store)?;
        }
    }
    Ok(ok(StatusCode::OK, json!({"message": "Successfully logged out"})))
}

/// `POST /auth/change-password` `{current_password, new_password}`: every sign-in of the
/// person ends (Petty's rule); the answer carries the caller's new pair beside the message.
pub(super) async fn change_password(
    State(state): State<AppState>,
    person: Person,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    bytes: Bytes,
) -> Answer {
    let body = body_object(&bytes)?;
    let whole = Value::Object(body.clone());
    let mut f = Fields::new(&body, vec!["body".into()]);
    let current = f.text("current_password", false);
    let new = f.text("new_password", false);
    let otp = f.text("otp", true);
    for (name, value) in [("current_password", &current), ("new_password", &new)] {
        if value.is_none() && !f.has(name) {
            f.missing(name);
        }
    }
    let credentials = state.store.user_credentials(person.user_id).await.map_err(Fail::store)?;
    let email = Email::parse("email", &credentials.user.email).ok();
    let mut items = f.items;
    if let Some(refused) = new.as_deref().and_then(|p| new_password("new_password", p, email.as_ref())) {
        items.push(item_of(&refused, &["body".into()], &whole));
    }
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(super::wire::Params::of(&uri).text("user_id"))?;
    let (Some(current), Some(new)) = (current, new) else { return Err(Fail::internal("fields missing")) };
    let hash = credentials.password_hash.clone();
    if !verify_password_async(current, hash).await.map_err(|e| account_error(e, "Could not change the password"))? {
        return Err(Fail::bad_request("Current password is incorrect"));
    }
    // Petty's own rule: with MFA on, a password change needs a fresh code too.
    let code =
        otp.or_else(|| headers.get(petty_http::stepup::MFA_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned));
    petty_http::stepup::require_fresh_mfa(&state, person.user_id, code.as_deref())
        .await
        .map_err(|e| account_error(e, "Invalid MFA code"))?;
    let hash = hash_password_async(new).await.map_err(|e| account_error(e, "Could not change the password"))?;
    let now = OffsetDateTime::now_utc();
    state.store.set_password_hash(person.user_id, &hash, now).await.map_err(Fail::store)?;
    let membership = state
        .store
        .active_membership(person.user_id, person.actor.household_id, now)
        .await
        .map_err(Fail::store)?
        .ok_or_else(|| Fail::forbidden("Your access to this household has ended"))?;
    let tokens = accounts::issue_tokens_from(&state, &membership, &origin(client, &headers))
        .await
        .map_err(|e| account_error(e, "Could not change the password"))?;
    let mut answer = pair(&tokens);
    answer.insert("message".into(), json!("Password changed successfully"));
    Ok(ok(StatusCode::OK, Value::Object(answer)))
}

/// `GET /auth/me`, `GET /users/me`.
pub(super) async fn me(State(state): State<AppState>, person: Person, uri: Uri) -> Answer {
    person.owns(super::wire::Params::of(&uri).text("user_id"))?;
    let user = state.store.get_user(person.user_id).await.map_err(Fail::store)?;
    user_object(&state, &user, person.actor.household_id).await
}

/// `PUT /users/me` `{full_name?, timezone?, profile_data?, preferences?}`: the fields present
/// change; `preferences` is merged into `profile_data.preferences`.
pub(super) async fn update_me(State(state): State<AppState>, person: Person, uri: Uri, bytes: Bytes) -> Answer {
    let body = body_object(&bytes)?;
    let whole = Value::Object(body.clone());
    let mut f = Fields::new(&body, vec!["body".into()]);
    let full_name = if f.has("full_name") { Some(f.text("full_name", true)) } else { None };
    let timezone = f.text("timezone", true);
    let data = f.object("profile_data");
    let preferences = f.object("preferences");
    let mut petty = Vec::new();
    petty.extend(full_name.as_ref().and_then(Option::as_deref).and_then(|n| length("full_name", n, 0, FULL_NAME_MAX)));
    let zone = match timezone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => match Zone::parse("timezone", name) {
            Ok(z) => Some(z),
            Err(_) => {
                let msg = "timezone must be an IANA time zone name such as Europe/Warsaw";
                petty.push(petty_core::FieldError::new("timezone", "invalid", msg));
                None
            }
        },
    };
    let user = state.store.get_user(person.user_id).await.map_err(Fail::store)?;
    let mut profile = profile_of(&state, &user).await?;
    let mut merged = profile_data(&profile.profile_data);
    if let Some(data) = data {
        merged = with_profile_keys(data);
    }
    if let Some(prefs) = preferences {
        let slot = merged.entry("preferences").or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        if let Value::Object(existing) = slot {
            existing.extend(prefs);
        }
    }
    let text = serde_json::to_string(&merged).map_err(Fail::internal)?;
    if text.len() > PROFILE_MAX_BYTES {
        let msg = format!("profile_data must be at most {PROFILE_MAX_BYTES} bytes serialised (got {})", text.len());
        petty.push(petty_core::FieldError::new("profile_data", "too_long_blob", msg));
    }
    let mut items = f.items;
    items.extend(petty.iter().map(|e| item_of(e, &["body".into()], &whole)));
    if !items.is_empty() {
        return Err(Fail::invalid(items));
    }
    person.owns(super::wire::Params::of(&uri).text("user_id"))?;
    let display_name = match &full_name {
        Some(Some(name)) if !name.trim().is_empty() => Some(name.trim().to_owned()),
        _ => None,
    };
    if let Some(name) = full_name {
        profile.full_name = name.filter(|n| !n.trim().is_empty());
    }
    profile.profile_data = text;
    profile.updated_at = Some(state.app.now());
    save_profile(&state, &mut profile, display_name.as_deref()).await?;
    if let Some(zone) = zone {
        state.store.set_user_zone(person.user_id, &zone).await.map_err(Fail::store)?;
    }
    let user = state.store.get_user(person.user_id).await.map_err(Fail::store)?;
    user_object(&state, &user, person.actor.household_id).await
}

/// Writes the profile; an account made elsewhere gets a username of its email's local part, or
/// with its id's start when that is taken.
async fn save_profile(state: &AppState, profile: &mut AuroraProfile, display_name: Option<&str>) -> Result<(), Fail> {
    match state.store.put_aurora_profile(profile, display_name).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict(_)) => {
            let short = profile.user_id.0.simple().to_string();
            profile.username = format!("{}-{}", profile.username, &short[..8]);
            state.store.put_aurora_profile(profile, display_name).await.map_err(Fail::store)
        }
        Err(e) => Err(Fail::store(e)),
    }
}
