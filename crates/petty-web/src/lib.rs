//! Petty's dashboard: server-rendered HTML for people in a browser, signed in with a session
//! cookie rather than a bearer token. Every page works without JavaScript; one stylesheet is
//! served from this crate, and the device pages add one small script of their own
//! (`assets/petty-live.js`) that keeps them current over the WebSocket; the chat and the
//! geofence maps have one each.
//!
//! Every POST form carries a CSRF token (see `csrf`), and every page that needs a person
//! extracts a `session::SignedIn`, which sends anyone without a live session to `/login`.
//! Pages call the same account flows (`petty_http::accounts`), the same use cases
//! (`petty_app`) and the same core parsers as the API, so a rule is never checked in two ways.
//!
//! Architecture invariant: a page never calls an API handler or its helpers. It reaches the
//! edge through `petty-http`'s public types (`AppState`, `ApiError`, the session cookie,
//! credentials) and does everything with side effects through `petty_app`. Nothing depends on
//! this crate but the binary, which merges [`router`] into the application (`petty::router`).
//!
//! API boundary: [`router`] (the pages and their assets, without layers) and [`PageError`]
//! (the HTML error page, which the application's 404 fallback answers browsers with).
//!
//! Codemap: `session` (cookie ↔ signed-in person), `csrf`, `layout` (page shell, form widgets),
//! `assets` (stylesheet, icon, scripts), `summary_json` (the plan as a page shows it), then one
//! module per group of pages: `sign_in`, `registration`, `recovery` (a forgotten password),
//! `verification` (confirming an email address), `security` (the account's second factor,
//! sign-ins and history; the household's audit log), `household`, `pets`, `pet_day`,
//! `devices`, `alarms`, `plan` (the household's plan and billing), and the household's
//! settings: `settings` (contacts and escalation, alarm rules with their preview, webhooks with
//! a test delivery), `geofences` (fences drawn on maps of the collars' recent positions),
//! `members` (people, roles and invitations), `api_keys` (keys for integrations, shown once),
//! `retention` (how long readings are kept); `charts` draws a device's last day for the device
//! pages; `uploads` is the one path for a file that arrives with a form.

mod alarms;
mod api_keys;
mod assets;
mod care;
mod catalog;
mod charts;
mod chat;
mod csrf;
mod devices;
mod geofences;
mod household;
mod layout;
mod lifelog;
mod members;
mod pet_day;
mod pets;
mod plan;
mod privacy;
mod recovery;
mod registration;
mod retention;
mod security;
mod session;
mod settings;
mod sharing;
mod sign_in;
mod summary_json;
mod uploads;
mod verification;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use petty_http::{ApiError, AppState, ErrorCode};
use petty_store::StoreError;

/// Every page and asset, for the application to merge (it adds the layers and the state).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::home))
        .route("/login", get(sign_in::login_page).post(sign_in::login))
        .route("/login/mfa", get(sign_in::mfa_page).post(sign_in::mfa))
        .route("/logout", post(sign_in::logout))
        .route("/register", get(registration::register_page).post(registration::register))
        .route("/forgot-password", get(recovery::forgot_page).post(recovery::forgot))
        .route("/reset-password", get(recovery::reset_page).post(recovery::reset))
        .route("/verify-email", get(verification::verify_page).post(verification::verify))
        .route("/verify-email/resend", post(verification::resend))
        .route("/household", get(household::household_page))
        .route("/household/audit", get(security::audit_page))
        .route("/household/members", get(members::members_page))
        .route("/household/members/{user_id}/role", post(members::change_role))
        .route("/household/members/{user_id}/remove", post(members::remove_member))
        .route("/household/members/{user_id}/pets", post(household::share_with_vet))
        .route("/household/api-keys", get(api_keys::keys_page).post(api_keys::create_key))
        .route("/household/api-keys/{id}/revoke", post(api_keys::revoke_key))
        .route("/household/retention", get(retention::retention_page).post(retention::set_retention))
        .route("/household/invitations", post(members::invite))
        .route("/household/invitations/{id}/revoke", post(members::revoke_invitation))
        .route("/account/security", get(security::security_page))
        .route("/account/data", get(privacy::data_page))
        .route("/account/data/export", post(privacy::export))
        .route("/account/data/delete", post(privacy::delete))
        .route("/account/security/mfa/setup", post(security::mfa_setup))
        .route("/account/security/mfa/verify", post(security::mfa_verify))
        .route("/account/security/mfa/disable", post(security::mfa_disable))
        .route("/account/security/sessions/revoke-others", post(security::revoke_others))
        .route("/account/security/sessions/{id}/revoke", post(security::revoke_sign_in))
        .route("/plan", get(plan::plan_page))
        .route("/plan/upgrade", post(plan::upgrade))
        .route("/plan/cancel", post(plan::cancel))
        .route("/pets", get(household::pets_page))
        .route("/pets/new", get(pets::new_pet_page).post(pets::create_pet))
        .route("/pets/{id}", get(pet_day::pet_page))
        .route("/pets/{id}/episodes/{episode_id}/feedback", post(pet_day::episode_feedback))
        .route("/pets/{id}/life", post(pet_day::log_for_pet))
        .route("/pets/{id}/life/{event_id}/delete", post(pet_day::remove_for_pet))
        .route("/pets/{id}/edit", get(pets::edit_pet_page).post(pets::update_pet))
        // The photo form counts its file against the upload limit itself (`uploads::read_file_form`).
        .route("/pets/{id}/photo", post(pets::upload_photo).layer(DefaultBodyLimit::disable()))
        .route("/pets/{id}/delete", post(pets::delete_pet))
        .route("/pets/{id}/care", get(care::care_page))
        .route("/pets/{id}/records", post(care::create_record))
        .route("/pets/{id}/weights.svg", get(care::weights_svg))
        .route("/pets/{id}/share/{what}", post(sharing::change))
        .route("/passport/{token}", get(sharing::passport_page))
        .route("/found/{token}", get(sharing::found_page).post(sharing::found_report))
        .route("/records/{id}/edit", get(care::edit_record_page).post(care::update_record))
        .route("/records/{id}/delete", post(care::delete_record))
        .route("/records/{id}/attachments", post(care::attach_file).layer(DefaultBodyLimit::disable()))
        .route("/reminders", get(care::reminders_page).post(care::create_reminder))
        .route("/reminders/{id}/edit", get(care::edit_reminder_page).post(care::update_reminder))
        .route("/reminders/{id}/{action}", post(care::act_on_reminder))
        .route("/calendar", get(care::calendar_page))
        .route("/calendar/feed", post(care::new_feed))
        .route("/calendar/feed/revoke", post(care::revoke_feed))
        .route("/calendar/import", post(care::import_calendar))
        .route("/timezone", post(care::set_timezone))
        .route("/life", get(lifelog::life_page))
        .route("/life/quick", post(lifelog::quick))
        .route("/life/events", post(lifelog::create))
        .route("/life/events/{id}/delete", post(lifelog::delete))
        .route("/life/insights/generate", post(lifelog::generate_insights))
        .route("/life/insights/{id}/read", post(lifelog::read_insight))
        .route("/life/insights/{id}/dismiss", post(lifelog::dismiss_insight))
        .route("/life/retrain", post(lifelog::retrain))
        .route("/life/links", get(lifelog::links_page))
        .route("/chat", get(chat::chat_page).post(chat::ask))
        .route("/chat/answer", get(chat::answer))
        .route("/catalog", get(catalog::catalog_page))
        .route("/catalog/listings", post(catalog::create_listing))
        .route("/catalog/settings", post(catalog::save_settings))
        .route("/catalog/public/{household_id}", get(catalog::public_page))
        .route("/catalog/{id}", get(catalog::listing_page).post(catalog::update_listing))
        .route("/catalog/{id}/delete", post(catalog::delete_listing))
        // The upload form counts its file against the upload limit itself (`uploads::read_file_form`).
        .route("/catalog/{id}/photos", post(catalog::photos::upload).layer(DefaultBodyLimit::disable()))
        .route("/catalog/{id}/photos/{action}", post(catalog::photos::change))
        .route("/alarms", get(alarms::alarms_page))
        .route("/alarms/{id}", get(alarms::alarm_page))
        .route("/alarms/{id}/acknowledge", post(alarms::acknowledge))
        .route("/alarms/{id}/clear", post(alarms::clear))
        .route("/alarms/{id}/comment", post(alarms::comment))
        .route("/ack/{token}", get(alarms::ack_link_page).post(alarms::ack_link))
        .route("/settings", get(settings::settings_page))
        .route("/settings/contacts", get(settings::contacts::contacts_page).post(settings::contacts::create_contact))
        .route(
            "/settings/contacts/{id}",
            get(settings::contacts::edit_contact_page).post(settings::contacts::update_contact),
        )
        .route("/settings/contacts/{id}/delete", post(settings::contacts::delete_contact))
        .route("/settings/escalation", post(settings::contacts::update_escalation))
        .route("/settings/rules", get(settings::rules::rules_page).post(settings::rules::create_rule))
        .route("/settings/rules/{id}", get(settings::rules::edit_rule_page).post(settings::rules::update_rule))
        .route("/settings/rules/{id}/{action}", post(settings::rules::act_on_rule))
        .route("/settings/webhooks", get(settings::webhooks::webhooks_page).post(settings::webhooks::create_webhook))
        .route(
            "/settings/webhooks/{id}",
            get(settings::webhooks::edit_webhook_page).post(settings::webhooks::update_webhook),
        )
        .route("/settings/webhooks/{id}/delete", post(settings::webhooks::delete_webhook))
        .route("/settings/webhooks/{id}/test", post(settings::webhooks::test_webhook))
        .route("/devices", get(devices::devices_page).post(devices::create_device))
        .route("/devices/{id}", get(devices::device_page))
        .route("/devices/{id}/token", post(devices::rotate_token))
        .route("/devices/{id}/token/revoke", post(devices::revoke_token))
        .route("/devices/{id}/delete", post(devices::delete_device))
        .route("/geofences", get(geofences::geofences_page).post(geofences::create_geofence))
        .route("/geofences/{id}", get(geofences::geofence_page).post(geofences::update_geofence))
        .route("/geofences/{id}/delete", post(geofences::delete_geofence))
        .route(assets::STYLESHEET_PATH, get(assets::stylesheet))
        .route(assets::ICON_PATH, get(assets::icon))
        .route(assets::LIVE_SCRIPT_PATH, get(assets::live_script))
        .route(assets::CHAT_SCRIPT_PATH, get(assets::chat_script))
        .route(assets::GEOFENCE_SCRIPT_PATH, get(assets::geofence_script))
}

/// Why a page could not be shown; answered with a small HTML page, never with JSON.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    /// The person's role does not allow this; the text says what they cannot do.
    Forbidden(String),
    /// A form arrived without the token it was given, or with someone else's.
    CsrfRejected,
    /// The form's input broke a rule; the text says which.
    BadRequest(String),
    /// Already logged where it happened.
    Internal,
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.code {
            ErrorCode::NotFound => PageError::NotFound,
            // A plan's limit (billing on) reads as a refusal: the message names the limit.
            ErrorCode::Forbidden | ErrorCode::PlanLimitReached => PageError::Forbidden(e.message),
            // `ApiError::internal` logged the cause; anything else reaching here is a bug.
            ErrorCode::Internal => PageError::Internal,
            other => {
                tracing::error!(
                    code = other.as_str(),
                    message = %e.message,
                    request_id = petty_http::observability::current_request_id().as_deref(),
                    "unexpected error on a page"
                );
                PageError::Internal
            }
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address. It may have been removed, or the link is wrong.".to_owned(),
            ),
            PageError::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message),
            PageError::BadRequest(message) => (StatusCode::BAD_REQUEST, "Not changed", message),
            PageError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be accepted, so nothing was changed. Go back, reload the page and try again."
                    .to_owned(),
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side and nothing was changed. Please try again in a moment.".to_owned(),
            ),
        };
        layout::html(status, layout::error_page(title, &message))
    }
}

/// The 404 page for a browser: inside the dashboard's layout, with its navigation for someone
/// signed in, and the sign-in links for someone who is not.
pub async fn not_found_page(state: &AppState, headers: &axum::http::HeaderMap) -> Response {
    let jar = axum_extra::extract::CookieJar::from_headers(headers);
    let title = "Page not found";
    let message = "There is nothing at this address. It may have been removed, or the link is wrong.";
    let view = match session::current(state, &jar).await {
        Ok(Some(signed_in)) => {
            let chrome = signed_in.chrome();
            layout::error_page_with(title, message, layout::Header::SignedIn(&chrome))
        }
        _ => layout::error_page_with(title, message, layout::Header::SignedOut),
    };
    layout::html(StatusCode::NOT_FOUND, view)
}
