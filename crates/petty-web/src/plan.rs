//! `/plan`: the household's plan (tier, status, period, what it holds against the tier's
//! limits), and for the owner the forms that subscribe to a paid tier and cancel
//! (`/plan/upgrade`, `/plan/cancel`). With billing off the page says everything is included.
//! Every change goes through `petty_app::billing`, as the API's do.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::billing::{BillingError, Status};
use petty_core::accounts::{Actor, ActorKind, Permission};
use petty_core::billing::{BillingPeriod, SubscriptionStatus, Tier, Upgrade, size_text};
use petty_core::pets::format_date;
use petty_http::{ApiError, AppState};
use serde::Deserialize;
use time::OffsetDateTime;

use super::PageError;
use super::layout::{self, FormErrors, Header, Input, Select};
use super::session::SignedIn;

fn actor(signed_in: &SignedIn) -> Actor {
    Actor {
        household_id: signed_in.membership.household_id,
        kind: ActorKind::User { user_id: signed_in.user.id, role: signed_in.membership.role },
    }
}

pub(crate) fn tier_label(tier: Tier) -> &'static str {
    match tier {
        Tier::Free => "Free",
        Tier::Premium => "Premium",
        Tier::Enterprise => "Enterprise",
    }
}

fn period_label(period: BillingPeriod) -> &'static str {
    match period {
        BillingPeriod::Monthly => "Monthly",
        BillingPeriod::Yearly => "Yearly",
    }
}

fn status_label(status: SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Active => "Active",
        SubscriptionStatus::Trialing => "Trial",
        SubscriptionStatus::PastDue => "Payment failed",
        SubscriptionStatus::Canceled => "Cancelled",
        SubscriptionStatus::Incomplete => "Waiting for payment",
        SubscriptionStatus::IncompleteExpired => "Payment never made",
        SubscriptionStatus::Unpaid => "Unpaid",
        SubscriptionStatus::Paused => "Paused",
    }
}

fn day(t: Option<OffsetDateTime>) -> String {
    t.map(|t| format_date(t.date())).unwrap_or_else(|| "—".to_owned())
}

/// The upgrade form as posted: the plan as `tier:period`, and Stripe's payment method.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct UpgradeForm {
    csrf: String,
    plan: String,
    payment_method_id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct CancelForm {
    csrf: String,
    at_period_end: String,
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn plan_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    let status = petty_app::billing::status(&state.app, signed_in.membership.household_id).await?;
    let view = plan_view(&signed_in, &status, &UpgradeForm::default(), &FormErrors::none());
    Ok(layout::html(StatusCode::OK, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn upgrade(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<UpgradeForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let (tier, period) = form.plan.split_once(':').unwrap_or((form.plan.as_str(), ""));
    let outcome = match Upgrade::parse(tier, period, &form.payment_method_id) {
        Ok(request) => petty_app::billing::upgrade(&state.app, &actor(&signed_in), &request).await.map(drop),
        Err(invalid) => Err(BillingError::Invalid(invalid)),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/plan").into_response()),
        Err(e) => form_error(&state, &signed_in, &form, e).await,
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<CancelForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let at_period_end = form.at_period_end != "false";
    match petty_app::billing::cancel(&state.app, &actor(&signed_in), at_period_end).await {
        Ok(_) => Ok(Redirect::to("/plan").into_response()),
        Err(e) => form_error(&state, &signed_in, &UpgradeForm::default(), e).await,
    }
}

/// The page again with what went wrong: bad input beside its field, the rest above the forms.
async fn form_error(
    state: &AppState,
    signed_in: &SignedIn,
    form: &UpgradeForm,
    e: BillingError,
) -> Result<Response, PageError> {
    let (status, errors) = match e {
        BillingError::Invalid(invalid) => (StatusCode::UNPROCESSABLE_ENTITY, FormErrors::from_invalid(invalid)),
        BillingError::Store(e) => return Err(e.into()),
        other => {
            let api = ApiError::from(other);
            (api.code.status(), FormErrors::from_api(&api))
        }
    };
    let current = petty_app::billing::status(&state.app, signed_in.membership.household_id).await?;
    let form =
        UpgradeForm { csrf: String::new(), plan: form.plan.clone(), payment_method_id: form.payment_method_id.clone() };
    Ok(layout::html(status, plan_view(signed_in, &current, &form, &errors)))
}

const FIELDS: [(&str, &str); 2] = [("plan", "Plan"), ("payment_method_id", "Card")];

fn limit_text(max: Option<u64>, show: impl Fn(u64) -> String) -> String {
    max.map_or_else(|| "No limit".to_owned(), show)
}

fn plan_view(signed_in: &SignedIn, s: &Status, form: &UpgradeForm, errors: &FormErrors) -> Markup {
    let chrome = signed_in.chrome();
    let owner = signed_in.can(Permission::ManageHousehold);
    let live = s.subscribed_tier.is_some()
        && !matches!(s.status, SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired);
    let plans: Vec<(String, String)> = s
        .offered
        .iter()
        .map(|(tier, period)| {
            (format!("{tier}:{period}"), format!("{}, {}", tier_label(*tier), period_label(*period).to_lowercase()))
        })
        .collect();
    let plan_options: Vec<(&str, &str)> = plans.iter().map(|(v, t)| (v.as_str(), t.as_str())).collect();
    let feature = |on: bool| if on { "Included" } else { "Not included" };
    layout::page(
        "Plan",
        Header::SignedIn(&chrome),
        html! {
            a.back href="/household" { "← Back to " (signed_in.membership.household_name) }
            h1 { "Plan" }
            @if !s.billing_enabled {
                p.lead { "Everything included on this server." }
                p { "This Petty does not bill: every household has every feature, with no limit on pets, records or files." }
            } @else {
                p.lead { (signed_in.membership.household_name) " is on the " strong { (tier_label(s.tier)) } " plan." }
                @if s.status == SubscriptionStatus::PastDue {
                    div.notice role="status" {
                        p {
                            "The last payment failed. "
                            @if s.tier != Tier::Free {
                                "The household keeps the " (tier_label(s.tier)) " plan until " (day(s.grace_ends)) "; "
                            }
                            "update the card with the payment provider to keep it. Nothing is deleted either way."
                        }
                    }
                }
                @if let Some(subscribed) = s.subscribed_tier {
                    dl.details.panel {
                        dt { "Subscription" } dd { (tier_label(subscribed)) }
                        dt { "Status" } dd { span.badge { (status_label(s.status)) } }
                        dt { "Billing period" } dd { (s.period.map_or("—", period_label)) }
                        dt { "Current period" } dd { (day(s.current_period_start)) " to " (day(s.current_period_end)) }
                        @if live {
                            dt { @if s.cancel_at_period_end { "Ends on" } @else { "Renews on" } }
                            dd { (day(s.current_period_end)) }
                        }
                    }
                }
            }
            section.section aria-labelledby="usage-title" {
                h2 #usage-title { "What the household holds" }
                div.table-scroll {
                    table.data-table {
                        thead { tr { th scope="col" { span.visually-hidden { "What" } } th scope="col" { "Used" } th scope="col" { "Plan allows" } } }
                        tbody {
                            tr { th scope="row" { "Pets" } td { (s.usage.pets) } td { (limit_text(s.limits.pets, |n| n.to_string())) } }
                            tr {
                                th scope="row" { "Health records" } td { (s.usage.health_records) }
                                td { (limit_text(s.limits.health_records, |n| n.to_string())) }
                            }
                            tr {
                                th scope="row" { "Files" } td { (size_text(s.usage.storage_bytes)) }
                                td { (limit_text(s.limits.storage_bytes, size_text)) }
                            }
                            tr { th scope="row" { "Calendar feed" } td { "" } td { (feature(s.limits.calendar_feed)) } }
                            tr { th scope="row" { "Advanced reports" } td { "" } td { (feature(s.limits.advanced_reports)) } }
                            tr { th scope="row" { "Priority support" } td { "" } td { (feature(s.limits.priority_support)) } }
                        }
                    }
                }
                @if s.billing_enabled {
                    p.hint { "Moving to a smaller plan never deletes anything: only new pets, records and files beyond its limits are refused." }
                }
            }
            @if s.billing_enabled {
                @if !owner {
                    p.muted { "Only the household's owner can change the plan." }
                } @else {
                    (layout::error_summary(errors, &FIELDS))
                    @if live {
                        section.section aria-labelledby="cancel-title" {
                            h2 #cancel-title { "Cancel the subscription" }
                            @if !s.cancel_at_period_end {
                                form.form method="post" action="/plan/cancel" {
                                    (layout::csrf_field(&signed_in.csrf))
                                    input type="hidden" name="at_period_end" value="true";
                                    p { "Keep " (tier_label(s.tier)) " until " (day(s.current_period_end)) ", then move to the free plan." }
                                    div.actions { button.button.button-secondary type="submit" { "Cancel at the end of the period" } }
                                }
                            }
                            form.form method="post" action="/plan/cancel" {
                                (layout::csrf_field(&signed_in.csrf))
                                input type="hidden" name="at_period_end" value="false";
                                p { "Move to the free plan now." }
                                div.actions { button.button.button-danger type="submit" { "Cancel now" } }
                            }
                        }
                    } @else if plans.is_empty() {
                        p.muted { "No paid plan is offered on this server." }
                    } @else {
                        section.section aria-labelledby="upgrade-title" {
                            h2 #upgrade-title { "Subscribe" }
                            form.form method="post" action="/plan/upgrade" novalidate {
                                (layout::csrf_field(&signed_in.csrf))
                                (layout::select(&Select {
                                    name: "plan", label: "Plan", hint: None, options: &plan_options,
                                    selected: &form.plan, placeholder: None, required: true,
                                }, errors))
                                (layout::input(&Input {
                                    name: "payment_method_id", label: "Card", value: &form.payment_method_id,
                                    hint: Some("The payment method Stripe's card form made for you (it starts with pm_). Petty never sees the card number."),
                                    autocomplete: Some("off"), maxlength: Some(255), required: true, ..Input::default()
                                }, errors))
                                div.actions { button.button type="submit" { "Subscribe and pay" } }
                            }
                        }
                    }
                }
            }
        },
    )
}
