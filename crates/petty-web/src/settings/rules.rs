//! `/settings/rules`: the household's alarm rules, built-in and its own (listed for anyone who
//! may see the household; added, tuned, turned on or off and deleted by those who manage pets),
//! and for a rule as written, before it is saved, a preview of the incidents it would have
//! raised on the household's devices over the last 7 days
//! (`petty_app::alarm_settings::preview_rule`, judged as the alarm job judges).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::alarm_settings::{self, RawRule};
use petty_app::alarms::judging::{PREVIEW_DAYS, Preview};
use petty_core::Invalid;
use petty_core::accounts::Permission;
use petty_core::ids::AlarmRuleId;
use petty_core::readings::Metric;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::StoredRule;
use serde::Deserialize;

use super::super::PageError;
use super::super::layout::{self, FormErrors, Header, Input, Select};
use super::super::session::SignedIn;
use super::{SEVERITIES, head, id_of, number, optional_number, optional_text, split};

/// The rule form as posted; `action` is the button pressed: `preview` or `save`.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct RuleForm {
    csrf: String,
    action: String,
    name: String,
    device_kind: String,
    kind: String,
    metric: String,
    value: String,
    clear_value: String,
    for_secs: String,
    clear_secs: String,
    severity: String,
    enabled: String,
}

impl RuleForm {
    fn of(rule: &petty_core::alarm::Rule) -> Self {
        let raw = RawRule::of(rule);
        RuleForm {
            name: raw.name,
            device_kind: raw.device_kind,
            kind: raw.kind,
            metric: raw.metric.unwrap_or_default(),
            value: raw.value.to_string(),
            clear_value: raw.clear_value.map(|v| v.to_string()).unwrap_or_default(),
            for_secs: raw.for_secs.map(|v| v.to_string()).unwrap_or_default(),
            clear_secs: raw.clear_secs.map(|v| v.to_string()).unwrap_or_default(),
            severity: raw.severity,
            enabled: if rule.enabled { "on".into() } else { String::new() },
            ..RuleForm::default()
        }
    }

    fn raw(&self) -> Result<RawRule, Invalid> {
        let mut errors = Vec::new();
        let secs = "a whole number of seconds, like 60";
        let raw = RawRule {
            name: self.name.clone(),
            device_kind: self.device_kind.trim().to_owned(),
            kind: self.kind.trim().to_owned(),
            metric: optional_text(&self.metric),
            value: number(&mut errors, "value", &self.value, "a number, like 39.5").unwrap_or(0.0),
            clear_value: optional_number(&mut errors, "clear_value", &self.clear_value, "a number, like 39"),
            for_secs: optional_number(&mut errors, "for_secs", &self.for_secs, secs),
            clear_secs: optional_number(&mut errors, "clear_secs", &self.clear_secs, secs),
            severity: self.severity.trim().to_owned(),
            enabled: Some(!self.enabled.is_empty()),
        };
        if errors.is_empty() { Ok(raw) } else { Err(Invalid(errors)) }
    }
}

const RULE_FIELDS: [(&str, &str); 10] = [
    ("name", "Name"),
    ("device_kind", "Devices"),
    ("kind", "Kind"),
    ("metric", "Measure"),
    ("value", "Value"),
    ("clear_value", "Clears at"),
    ("for_secs", "For at least (seconds)"),
    ("clear_secs", "Clear for at least (seconds)"),
    ("severity", "Severity"),
    ("enabled", "On"),
];

/// What a page with the rule form shows beside it: the form, its errors and a preview.
struct Shown<'a> {
    form: &'a RuleForm,
    errors: &'a FormErrors,
    preview: Option<&'a Preview>,
}

fn who(signed_in: &SignedIn, ip: std::net::IpAddr) -> petty_app::audit::Who {
    petty_app::audit::Who::actor(&signed_in.actor(), Some(ip))
}

async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    shown: Shown<'_>,
) -> Result<Response, PageError> {
    let rules = state.store.alarm_rules(signed_in.membership.household_id, state.app.now_ms()).await?;
    Ok(layout::html(status, list_view(signed_in, &rules, shown)))
}

fn new_form() -> RuleForm {
    RuleForm {
        device_kind: "collar".into(),
        kind: "above".into(),
        severity: "major".into(),
        enabled: "on".into(),
        ..RuleForm::default()
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn rules_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let form = new_form();
    list_page(&state, &signed_in, StatusCode::OK, Shown { form: &form, errors: &FormErrors::none(), preview: None })
        .await
}

/// Previews or saves the rule form; `id` is the rule being changed (none: a new one). Answers
/// the page to show again (with the preview or the errors), or `None` once saved.
async fn preview_or_save(
    state: &AppState,
    signed_in: &SignedIn,
    ip: std::net::IpAddr,
    id: Option<AlarmRuleId>,
    form: &RuleForm,
) -> Result<Result<Option<Preview>, Invalid>, PageError> {
    let raw = match form.raw() {
        Ok(raw) => raw,
        Err(invalid) => return Ok(Err(invalid)),
    };
    let household_id = signed_in.membership.household_id;
    let result = match (form.action.as_str(), id) {
        ("preview", _) => alarm_settings::preview_rule(&state.app, household_id, id, &raw).await.map(Some),
        (_, None) => alarm_settings::create_rule(&state.app, &who(signed_in, ip), &raw).await.map(|_| None),
        (_, Some(id)) => alarm_settings::update_rule(&state.app, &who(signed_in, ip), id, &raw).await.map(|_| None),
    };
    match result {
        Ok(preview) => Ok(Ok(preview)),
        Err(e) => Ok(Err(split(e)?)),
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_rule(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    match preview_or_save(&state, &signed_in, ip, None, &form).await? {
        Ok(None) => Ok(Redirect::to("/settings/rules").into_response()),
        Ok(Some(preview)) => {
            let shown = Shown { form: &form, errors: &FormErrors::none(), preview: Some(&preview) };
            list_page(&state, &signed_in, StatusCode::OK, shown).await
        }
        Err(invalid) => {
            let errors = FormErrors::from_invalid(invalid);
            let shown = Shown { form: &form, errors: &errors, preview: None };
            list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
    }
}

async fn rule_of(state: &AppState, signed_in: &SignedIn, id: &str) -> Result<StoredRule, PageError> {
    let id = AlarmRuleId(id_of(id)?);
    alarm_settings::rule(&state.app, signed_in.membership.household_id, id).await.map_err(|e| match split(e) {
        Ok(invalid) => PageError::BadRequest(invalid.to_string()),
        Err(e) => e,
    })
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn edit_rule_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::ManagePets)?;
    let stored = rule_of(&state, &signed_in, &id).await?;
    let form = RuleForm::of(&stored.rule);
    let view = edit_view(&signed_in, &stored, Shown { form: &form, errors: &FormErrors::none(), preview: None });
    Ok(layout::html(StatusCode::OK, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn update_rule(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<RuleForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let stored = rule_of(&state, &signed_in, &id).await?;
    let (status, shown_errors, preview) = match preview_or_save(&state, &signed_in, ip, Some(stored.id), &form).await? {
        Ok(None) => return Ok(Redirect::to("/settings/rules").into_response()),
        Ok(Some(preview)) => (StatusCode::OK, FormErrors::none(), Some(preview)),
        Err(invalid) => (StatusCode::UNPROCESSABLE_ENTITY, FormErrors::from_invalid(invalid), None),
    };
    let view = edit_view(&signed_in, &stored, Shown { form: &form, errors: &shown_errors, preview: preview.as_ref() });
    Ok(layout::html(status, view))
}

/// Turns a rule on or off (`action`: `enable` or `disable`), or deletes the household's own.
#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn act_on_rule(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<crate::csrf::CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManagePets)?;
    let stored = rule_of(&state, &signed_in, &id).await?;
    let who = who(&signed_in, ip);
    let result = match action.as_str() {
        "enable" | "disable" => {
            let raw = RawRule { enabled: Some(action == "enable"), ..RawRule::of(&stored.rule) };
            alarm_settings::update_rule(&state.app, &who, stored.id, &raw).await.map(|_| ())
        }
        "delete" => alarm_settings::delete_rule(&state.app, &who, stored.id).await,
        _ => return Err(PageError::NotFound),
    };
    result.map_err(|e| match split(e) {
        Ok(invalid) => PageError::BadRequest(invalid.to_string()),
        Err(e) => e,
    })?;
    Ok(Redirect::to("/settings/rules").into_response())
}

fn rule_fields(form: &RuleForm, errors: &FormErrors, built_in: bool) -> Markup {
    let device_kinds = [("collar", "Collars"), ("air_monitor", "Air monitors"), ("any", "Any device")];
    let kinds = [
        ("above", "Above a value"),
        ("below", "Below a value"),
        ("rise", "Rising faster than a rate a minute"),
        ("co_dose", "Carbon monoxide dose"),
        ("absence", "No readings for a while"),
    ];
    let metrics: Vec<(&str, &str)> = Metric::ALL.iter().map(|m| (m.name(), m.name())).collect();
    html! {
        (layout::input(&Input { name: "name", label: "Name", value: &form.name, maxlength: Some(petty_core::alarm::RULE_NAME_MAX), required: true, ..Input::default() }, errors))
        div.form-row {
            (layout::select(&Select { name: "device_kind", label: "Devices", hint: None, options: &device_kinds, selected: &form.device_kind, placeholder: None, required: true }, errors))
            @if built_in {
                input type="hidden" name="kind" value=(form.kind);
            } @else {
                (layout::select(&Select { name: "kind", label: "Kind", hint: None, options: &kinds, selected: &form.kind, placeholder: None, required: true }, errors))
            }
            (layout::select(&Select { name: "metric", label: "Measure", hint: Some("Not needed for a dose or silence rule."), options: &metrics, selected: &form.metric, placeholder: Some("None"), required: false }, errors))
        }
        div.form-row {
            (layout::input(&Input { name: "value", label: "Value", value: &form.value, inputmode: Some("decimal"), required: true, ..Input::default() }, errors))
            (layout::input(&Input { name: "clear_value", label: "Clears at", value: &form.clear_value, inputmode: Some("decimal"), hint: Some("Leave empty to clear at the value."), ..Input::default() }, errors))
        }
        div.form-row {
            (layout::input(&Input { name: "for_secs", label: "For at least (seconds)", value: &form.for_secs, inputmode: Some("numeric"), ..Input::default() }, errors))
            (layout::input(&Input { name: "clear_secs", label: "Clear for at least (seconds)", value: &form.clear_secs, inputmode: Some("numeric"), ..Input::default() }, errors))
            (layout::select(&Select { name: "severity", label: "Severity", hint: None, options: &SEVERITIES, selected: &form.severity, placeholder: None, required: true }, errors))
        }
        div.field {
            label { input type="checkbox" name="enabled" value="on" checked[!form.enabled.is_empty()]; " On" }
        }
    }
}

fn buttons() -> Markup {
    html! {
        div.form-actions {
            button.button.button-secondary type="submit" name="action" value="preview" { "Preview the last " (PREVIEW_DAYS) " days" }
            button.button type="submit" name="action" value="save" { "Save the rule" }
        }
    }
}

fn instant(ms: i64) -> String {
    petty_app::rfc3339::from_ms(ms).unwrap_or_default()
}

/// What the rule would have raised, one row per incident.
fn preview_view(preview: &Preview) -> Markup {
    let count = preview.incidents.len();
    html! {
        section.panel #preview aria-labelledby="preview-title" {
            h2 #preview-title { "What this rule would have raised" }
            p role="status" {
                @if count == 0 { "No alarms" } @else if count == 1 { "1 alarm" } @else { (count) " alarms" }
                " from " (instant(preview.from_ms)) " to " (instant(preview.to_ms)) ", on "
                (preview.devices_judged) @if preview.devices_judged == 1 { " device" } @else { " devices" } "."
                @if preview.devices_left_out > 0 { " " (preview.devices_left_out) " more devices were not read." }
                @if preview.readings_capped { " Some devices had more readings than a preview reads; their newest were not read." }
            }
            @if count > 0 {
                div.table-scroll role="region" aria-labelledby="preview-caption" tabindex="0" {
                    table.data-table {
                        caption #preview-caption { "Incidents, oldest first" }
                        thead { tr { th scope="col" { "Device" } th scope="col" { "Start" } th scope="col" { "End" } th scope="col" { "Peak" } } }
                        tbody {
                            @for incident in &preview.incidents {
                                tr.incident {
                                    th scope="row" { (incident.device_name) }
                                    td { time datetime=(instant(incident.start_ms)) { (instant(incident.start_ms)) } }
                                    td {
                                        @match incident.end_ms {
                                            Some(end) => { time datetime=(instant(end)) { (instant(end)) } }
                                            None => { "still going" }
                                        }
                                    }
                                    td { (incident.peak) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn list_view(signed_in: &SignedIn, rules: &[StoredRule], shown: Shown<'_>) -> Markup {
    let can_manage = signed_in.can(Permission::ManagePets);
    let chrome = signed_in.chrome();
    layout::page(
        "Alarm rules",
        Header::SignedIn(&chrome),
        html! {
            (head("Alarm rules", html! { "What raises an alarm. Built-in rules can be tuned or turned off; the household's own can also be deleted." }))
            div.table-scroll role="region" aria-labelledby="rules-caption" tabindex="0" {
                table.data-table {
                    caption #rules-caption { "Rules, built-in first" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Rule" } th scope="col" { "Severity" } th scope="col" { "State" }
                        @if can_manage { th scope="col" { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for r in rules {
                            tr {
                                th scope="row" { (r.rule.name) @if r.rule.key.is_some() { " " span.badge { "built-in" } } }
                                td { (r.rule.describe()) }
                                td { (r.rule.severity.as_str()) }
                                td { @if r.rule.enabled { "On" } @else { "Off" } }
                                @if can_manage {
                                    td {
                                        a href={ "/settings/rules/" (r.id) } { "Edit " span.visually-hidden { (r.rule.name) } }
                                        @let toggle = if r.rule.enabled { "disable" } else { "enable" };
                                        form.inline method="post" action={ "/settings/rules/" (r.id) "/" (toggle) } {
                                            (layout::csrf_field(&signed_in.csrf))
                                            button.button.button-quiet type="submit" { @if r.rule.enabled { "Turn off " } @else { "Turn on " } span.visually-hidden { (r.rule.name) } }
                                        }
                                        @if r.rule.key.is_none() {
                                            form.inline method="post" action={ "/settings/rules/" (r.id) "/delete" } {
                                                (layout::csrf_field(&signed_in.csrf))
                                                button.button.button-quiet type="submit" { "Delete " span.visually-hidden { (r.rule.name) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_manage {
                section.panel aria-labelledby="add-rule-title" {
                    h2 #add-rule-title { "Add a rule" }
                    (layout::error_summary(shown.errors, &RULE_FIELDS))
                    form.form method="post" action="/settings/rules" novalidate {
                        (layout::csrf_field(&signed_in.csrf))
                        (rule_fields(shown.form, shown.errors, false))
                        (buttons())
                    }
                }
                @if let Some(preview) = shown.preview { (preview_view(preview)) }
            }
        },
    )
}

fn edit_view(signed_in: &SignedIn, stored: &StoredRule, shown: Shown<'_>) -> Markup {
    let chrome = signed_in.chrome();
    let built_in = stored.rule.key.is_some();
    layout::page(
        "Edit a rule",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/settings/rules" { "← Alarm rules" } }
            h1 { "Edit " (stored.rule.name) }
            @if built_in { p { "A built-in rule keeps its kind: " (stored.rule.kind.as_str()) "." } }
            (layout::error_summary(shown.errors, &RULE_FIELDS))
            form.form method="post" action={ "/settings/rules/" (stored.id) } novalidate {
                (layout::csrf_field(&signed_in.csrf))
                (rule_fields(shown.form, shown.errors, built_in))
                (buttons())
            }
            @if let Some(preview) = shown.preview { (preview_view(preview)) }
        },
    )
}
