//! `/household/retention`: how long the household keeps its devices' raw readings and their
//! summaries, with the accepted ranges; owners change it (`RetentionPolicy::parse`, the API's
//! rule), and the retention job removes what is older.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use petty_core::accounts::Permission;
use petty_core::readings::RetentionPolicy;
use petty_core::{FieldError, Invalid};
use petty_http::AppState;
use petty_http::extract::ClientIp;
use serde::Deserialize;

use super::PageError;
use super::layout::{self, FormErrors, Header, Input};
use super::session::SignedIn;

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RetentionForm {
    csrf: String,
    readings_days: String,
    rollups_days: String,
}

impl RetentionForm {
    fn of(policy: RetentionPolicy) -> Self {
        Self {
            csrf: String::new(),
            readings_days: policy.readings_days.to_string(),
            rollups_days: policy.rollups_days.to_string(),
        }
    }

    fn parse(&self) -> Result<RetentionPolicy, Invalid> {
        let mut errors = Vec::new();
        let mut days = |field: &str, text: &str| match text.trim().parse::<i64>() {
            Ok(days) => Some(days),
            Err(_) => {
                errors.push(FieldError::new(field, "type", format!("{field} must be a whole number of days, like 90")));
                None
            }
        };
        let (readings, rollups) =
            (days("readings_days", &self.readings_days), days("rollups_days", &self.rollups_days));
        match (readings, rollups) {
            (Some(readings), Some(rollups)) => RetentionPolicy::parse(readings, rollups),
            _ => Err(Invalid(errors)),
        }
    }
}

const FIELDS: [(&str, &str); 2] = [("readings_days", "Raw readings (days)"), ("rollups_days", "Summaries (days)")];

async fn retention_page_with(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    form: &RetentionForm,
    errors: &FormErrors,
) -> Result<Response, PageError> {
    let policy = state.store.retention_policy(signed_in.membership.household_id).await?;
    let owner = signed_in.can(Permission::ManageHousehold);
    let readings_hint = format!(
        "Every reading as the device sent it: 1 to {} days (the default is {}).",
        RetentionPolicy::MAX_READINGS_DAYS,
        RetentionPolicy::default().readings_days
    );
    let rollups_hint = format!(
        "The per-minute, hourly and daily summaries the charts draw: 1 to {} days, and no fewer than the raw readings (the default is {}).",
        RetentionPolicy::MAX_ROLLUPS_DAYS,
        RetentionPolicy::default().rollups_days
    );
    let chrome = signed_in.chrome();
    let view = layout::page(
        "Data retention",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/household" { "Household" } }
            h1 { "Data retention" }
            p.lead #retention-now {
                "Raw readings are kept for " strong { (policy.readings_days) " days" } ", their summaries for "
                strong { (policy.rollups_days) " days" } ". Older ones are removed every day."
            }
            @if owner {
                form.form method="post" action="/household/retention" novalidate {
                    (layout::error_summary(errors, &FIELDS))
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::input(&Input { name: "readings_days", label: "Raw readings (days)", value: &form.readings_days,
                        inputmode: Some("numeric"), hint: Some(&readings_hint), required: true, ..Input::default() }, errors))
                    (layout::input(&Input { name: "rollups_days", label: "Summaries (days)", value: &form.rollups_days,
                        inputmode: Some("numeric"), hint: Some(&rollups_hint), required: true, ..Input::default() }, errors))
                    button.button type="submit" { "Save" }
                }
            } @else {
                p { "The household's owners choose these." }
            }
        },
    );
    Ok(layout::html(status, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn retention_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let policy = state.store.retention_policy(signed_in.membership.household_id).await?;
    retention_page_with(&state, &signed_in, StatusCode::OK, &RetentionForm::of(policy), &FormErrors::none()).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn set_retention(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<RetentionForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let policy = match form.parse() {
        Ok(policy) => policy,
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            return retention_page_with(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors).await;
        }
    };
    let household_id = signed_in.membership.household_id;
    state.store.set_retention_policy(household_id, policy).await?;
    tracing::info!("retention changed from the dashboard");
    let detail = petty_app::audit::fields(&["readings_days", "rollups_days"]);
    signed_in.audit(&state, ip, "update", "household", household_id, detail).await?;
    Ok(Redirect::to("/household/retention").into_response())
}
