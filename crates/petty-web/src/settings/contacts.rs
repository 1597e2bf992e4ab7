//! `/settings/contacts`: the people escalation reaches, in order (listed for anyone who may see
//! the household; added, changed and removed by those who manage it), and the household's
//! escalation: when a message, a call and the next person come.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_app::alarm_settings::{self, RawContact, RawEscalation, RawPolicy, RawQuiet};
use petty_core::Invalid;
use petty_core::accounts::Permission;
use petty_core::ids::ContactId;
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{Contact, Member};
use serde::Deserialize;

use super::super::PageError;
use super::super::layout::{self, FormErrors, Header, Input, Select};
use super::super::session::SignedIn;
use super::{SEVERITIES, head, id_of, number, optional_number, optional_text, split};

/// The contact form as posted: every field text, so a bad value is explained beside it.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct ContactForm {
    csrf: String,
    name: String,
    phone: String,
    email: String,
    role: String,
    position: String,
    user_id: String,
    #[serde(rename = "policy.email")]
    policy_email: String,
    #[serde(rename = "policy.sms")]
    policy_sms: String,
    #[serde(rename = "policy.voice")]
    policy_voice: String,
    #[serde(rename = "policy.quiet_hours.start")]
    quiet_start: String,
    #[serde(rename = "policy.quiet_hours.end")]
    quiet_end: String,
    #[serde(rename = "policy.quiet_hours.utc_offset_min")]
    quiet_offset: String,
}

impl ContactForm {
    fn of(c: &Contact) -> Self {
        let sev = |s: Option<petty_core::alarm::Severity>| s.map(|s| s.as_str().to_owned()).unwrap_or_default();
        let hhmm = |min: u16| format!("{:02}:{:02}", min / 60, min % 60);
        ContactForm {
            csrf: String::new(),
            name: c.name.clone(),
            phone: c.phone.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            role: c.role.clone(),
            position: c.position.to_string(),
            user_id: c.user_id.map(|u| u.to_string()).unwrap_or_default(),
            policy_email: sev(c.policy.email),
            policy_sms: sev(c.policy.sms),
            policy_voice: sev(c.policy.voice),
            quiet_start: c.policy.quiet.map(|q| hhmm(q.start_min)).unwrap_or_default(),
            quiet_end: c.policy.quiet.map(|q| hhmm(q.end_min)).unwrap_or_default(),
            quiet_offset: c.policy.quiet.map(|q| q.utc_offset_min.to_string()).unwrap_or_default(),
        }
    }

    /// The contact as written; what is not even a number is refused here, the rest by the use case.
    fn raw(&self) -> Result<RawContact, Invalid> {
        let mut errors = Vec::new();
        let position = optional_number(&mut errors, "position", &self.position, "a whole number, like 1");
        let user_id = optional_number(&mut errors, "user_id", &self.user_id, "one of the household's members");
        let offset = optional_number(
            &mut errors,
            "policy.quiet_hours.utc_offset_min",
            &self.quiet_offset,
            "a whole number of minutes, like 60",
        );
        if !errors.is_empty() {
            return Err(Invalid(errors));
        }
        let quiet_hours =
            (!self.quiet_start.trim().is_empty() || !self.quiet_end.trim().is_empty()).then(|| RawQuiet {
                start: self.quiet_start.trim().to_owned(),
                end: self.quiet_end.trim().to_owned(),
                utc_offset_min: offset,
            });
        Ok(RawContact {
            name: self.name.clone(),
            phone: optional_text(&self.phone),
            email: optional_text(&self.email),
            role: self.role.trim().to_owned(),
            position,
            user_id,
            policy: Some(RawPolicy {
                email: optional_text(&self.policy_email),
                sms: optional_text(&self.policy_sms),
                voice: optional_text(&self.policy_voice),
                quiet_hours,
            }),
        })
    }
}

/// The escalation form as posted.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub(crate) struct EscalationForm {
    csrf: String,
    min_severity: String,
    message_after_secs: String,
    call_after_secs: String,
    next_contact_after_secs: String,
    repeat_after_secs: String,
    max_rounds: String,
}

impl EscalationForm {
    fn of(e: &RawEscalation) -> Self {
        EscalationForm {
            csrf: String::new(),
            min_severity: e.min_severity.clone(),
            message_after_secs: e.message_after_secs.to_string(),
            call_after_secs: e.call_after_secs.to_string(),
            next_contact_after_secs: e.next_contact_after_secs.to_string(),
            repeat_after_secs: e.repeat_after_secs.to_string(),
            max_rounds: e.max_rounds.to_string(),
        }
    }

    fn raw(&self) -> Result<RawEscalation, Invalid> {
        let mut errors = Vec::new();
        let secs = "a whole number of seconds, like 300";
        let raw = RawEscalation {
            min_severity: self.min_severity.trim().to_owned(),
            message_after_secs: number(&mut errors, "message_after_secs", &self.message_after_secs, secs).unwrap_or(0),
            call_after_secs: number(&mut errors, "call_after_secs", &self.call_after_secs, secs).unwrap_or(0),
            next_contact_after_secs: number(
                &mut errors,
                "next_contact_after_secs",
                &self.next_contact_after_secs,
                secs,
            )
            .unwrap_or(0),
            repeat_after_secs: number(&mut errors, "repeat_after_secs", &self.repeat_after_secs, secs).unwrap_or(0),
            max_rounds: number(&mut errors, "max_rounds", &self.max_rounds, "a whole number, like 3").unwrap_or(0),
        };
        if errors.is_empty() { Ok(raw) } else { Err(Invalid(errors)) }
    }
}

/// What the page shows besides the lists: the add form and the escalation form, each with
/// what was sent and its errors.
struct Forms<'a> {
    contact: &'a ContactForm,
    contact_errors: &'a FormErrors,
    escalation: &'a EscalationForm,
    escalation_errors: &'a FormErrors,
}

async fn list_page(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    forms: Forms<'_>,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let contacts = state.store.contacts(household_id).await?;
    let members = state.store.list_members(household_id).await?;
    Ok(layout::html(status, list_view(signed_in, &contacts, &members, forms)))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn contacts_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::Read)?;
    let escalation = state.store.escalation(signed_in.membership.household_id).await?;
    let forms = Forms {
        contact: &ContactForm { role: "secondary".into(), ..ContactForm::default() },
        contact_errors: &FormErrors::none(),
        escalation: &EscalationForm::of(&RawEscalation::of(&escalation)),
        escalation_errors: &FormErrors::none(),
    };
    list_page(&state, &signed_in, StatusCode::OK, forms).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn create_contact(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<ContactForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let who = petty_app::audit::Who::actor(&signed_in.actor(), Some(ip));
    let result = match form.raw() {
        Ok(raw) => alarm_settings::create_contact(&state.app, &who, &raw).await.map_err(split),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/settings/contacts").into_response()),
        Err(refusal) => {
            let errors = FormErrors::from_invalid(refusal?);
            let escalation = state.store.escalation(signed_in.membership.household_id).await?;
            let forms = Forms {
                contact: &form,
                contact_errors: &errors,
                escalation: &EscalationForm::of(&RawEscalation::of(&escalation)),
                escalation_errors: &FormErrors::none(),
            };
            list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, forms).await
        }
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn update_escalation(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<EscalationForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let who = petty_app::audit::Who::actor(&signed_in.actor(), Some(ip));
    let result = match form.raw() {
        Ok(raw) => alarm_settings::put_escalation(&state.app, &who, &raw).await.map(|_| ()).map_err(split),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/settings/contacts").into_response()),
        Err(refusal) => {
            let errors = FormErrors::from_invalid(refusal?);
            let forms = Forms {
                contact: &ContactForm { role: "secondary".into(), ..ContactForm::default() },
                contact_errors: &FormErrors::none(),
                escalation: &form,
                escalation_errors: &errors,
            };
            list_page(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, forms).await
        }
    }
}

async fn contact_of(state: &AppState, signed_in: &SignedIn, id: &str) -> Result<Contact, PageError> {
    let id = ContactId(id_of(id)?);
    let contacts = state.store.contacts(signed_in.membership.household_id).await?;
    contacts.into_iter().find(|c| c.id == id).ok_or(PageError::NotFound)
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn edit_contact_page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    signed_in.require(Permission::ManageHousehold)?;
    let contact = contact_of(&state, &signed_in, &id).await?;
    let members = state.store.list_members(signed_in.membership.household_id).await?;
    let view = edit_view(&signed_in, &contact, &members, &ContactForm::of(&contact), &FormErrors::none());
    Ok(layout::html(StatusCode::OK, view))
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn update_contact(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let contact = contact_of(&state, &signed_in, &id).await?;
    let who = petty_app::audit::Who::actor(&signed_in.actor(), Some(ip));
    let result = match form.raw() {
        Ok(raw) => alarm_settings::update_contact(&state.app, &who, contact.id, &raw).await.map(|_| ()).map_err(split),
        Err(invalid) => Err(Ok(invalid)),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/settings/contacts").into_response()),
        Err(refusal) => {
            let errors = FormErrors::from_invalid(refusal?);
            let members = state.store.list_members(signed_in.membership.household_id).await?;
            let view = edit_view(&signed_in, &contact, &members, &form, &errors);
            Ok(layout::html(StatusCode::UNPROCESSABLE_ENTITY, view))
        }
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn delete_contact(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<crate::csrf::CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let who = petty_app::audit::Who::actor(&signed_in.actor(), Some(ip));
    alarm_settings::delete_contact(&state.app, &who, ContactId(id_of(&id)?)).await.map_err(|e| match split(e) {
        Ok(invalid) => PageError::BadRequest(invalid.to_string()),
        Err(e) => e,
    })?;
    Ok(Redirect::to("/settings/contacts").into_response())
}

fn role_label(role: &str) -> &str {
    match role {
        "member" => "Member of the household",
        "secondary" => "Secondary contact",
        "emergency" => "Emergency contact",
        other => other,
    }
}

/// The fields of the contact form (new or edited).
fn contact_fields(members: &[Member], form: &ContactForm, errors: &FormErrors) -> Markup {
    let roles =
        [("member", "Member of the household"), ("secondary", "Secondary contact"), ("emergency", "Emergency contact")];
    let member_options: Vec<(String, String)> =
        members.iter().map(|m| (m.user.id.to_string(), m.user.display_name.clone())).collect();
    let member_options: Vec<(&str, &str)> = member_options.iter().map(|(v, t)| (v.as_str(), t.as_str())).collect();
    let mut channels = vec![("", "Never")];
    channels.extend_from_slice(&SEVERITIES);
    html! {
        (layout::input(&Input { name: "name", label: "Name", value: &form.name, maxlength: Some(alarm_settings::CONTACT_NAME_MAX), required: true, ..Input::default() }, errors))
        div.form-row {
            (layout::input(&Input { name: "phone", label: "Phone", kind: "tel", value: &form.phone, hint: Some("In international form, like +14155552671. A phone or an email is needed."), ..Input::default() }, errors))
            (layout::input(&Input { name: "email", label: "Email", kind: "email", value: &form.email, ..Input::default() }, errors))
        }
        div.form-row {
            (layout::select(&Select { name: "role", label: "Role", hint: Some("Escalation reaches members first, then secondary, then emergency contacts."), options: &roles, selected: &form.role, placeholder: None, required: true }, errors))
            (layout::input(&Input { name: "position", label: "Order within the role", value: &form.position, inputmode: Some("numeric"), hint: Some("Lower first."), ..Input::default() }, errors))
            (layout::select(&Select { name: "user_id", label: "Member", hint: Some("Needed for a member contact."), options: &member_options, selected: &form.user_id, placeholder: Some("Nobody"), required: false }, errors))
        }
        fieldset {
            legend { "The least severe alarm each channel carries" }
            div.form-row {
                (layout::select(&Select { name: "policy.email", label: "Email", hint: None, options: &channels, selected: &form.policy_email, placeholder: None, required: false }, errors))
                (layout::select(&Select { name: "policy.sms", label: "Text message", hint: None, options: &channels, selected: &form.policy_sms, placeholder: None, required: false }, errors))
                (layout::select(&Select { name: "policy.voice", label: "Call", hint: None, options: &channels, selected: &form.policy_voice, placeholder: None, required: false }, errors))
            }
        }
        fieldset {
            legend { "Quiet hours (held back unless critical)" }
            div.form-row {
                (layout::input(&Input { name: "policy.quiet_hours.start", label: "From", value: &form.quiet_start, hint: Some("Like 22:00."), ..Input::default() }, errors))
                (layout::input(&Input { name: "policy.quiet_hours.end", label: "Until", value: &form.quiet_end, hint: Some("Like 07:00."), ..Input::default() }, errors))
                (layout::input(&Input { name: "policy.quiet_hours.utc_offset_min", label: "Offset from UTC (minutes)", value: &form.quiet_offset, inputmode: Some("numeric"), ..Input::default() }, errors))
            }
        }
    }
}

/// The fields in the order the form shows them, for the error summary.
const CONTACT_FIELDS: [(&str, &str); 12] = [
    ("name", "Name"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("role", "Role"),
    ("position", "Order within the role"),
    ("user_id", "Member"),
    ("policy.email", "Email"),
    ("policy.sms", "Text message"),
    ("policy.voice", "Call"),
    ("policy.quiet_hours.start", "From"),
    ("policy.quiet_hours.end", "Until"),
    ("policy.quiet_hours.utc_offset_min", "Offset from UTC (minutes)"),
];

const ESCALATION_FIELDS: [(&str, &str); 6] = [
    ("min_severity", "Escalate alarms at least this severe"),
    ("message_after_secs", "Message after (seconds)"),
    ("call_after_secs", "Call after (seconds)"),
    ("next_contact_after_secs", "Next person after (seconds)"),
    ("repeat_after_secs", "Start again after (seconds)"),
    ("max_rounds", "Rounds"),
];

fn list_view(signed_in: &SignedIn, contacts: &[Contact], members: &[Member], forms: Forms<'_>) -> maud::Markup {
    let can_manage = signed_in.can(Permission::ManageHousehold);
    let chrome = signed_in.chrome();
    layout::page(
        "Contacts and escalation",
        Header::SignedIn(&chrome),
        html! {
            (head("Contacts and escalation", html! { "Who hears about an alarm nobody has acknowledged, in this order." }))
            section aria-labelledby="contacts-title" {
                h2 #contacts-title { "Contacts" }
                @if contacts.is_empty() {
                    p { "Nobody yet: alarms are shown here and on the live pages, and reach nobody else." }
                } @else {
                    div.table-scroll role="region" aria-labelledby="contacts-caption" tabindex="0" {
                        table.data-table {
                            caption #contacts-caption { "Contacts, in the order escalation reaches them" }
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Order" } th scope="col" { "Phone" } th scope="col" { "Email" }
                                @if can_manage { th scope="col" { span.visually-hidden { "Actions" } } } } }
                            tbody {
                                @for c in contacts {
                                    tr {
                                        th scope="row" { (c.name) }
                                        td { (role_label(&c.role)) }
                                        td { (c.position) }
                                        td { (c.phone.as_deref().unwrap_or("—")) }
                                        td { (c.email.as_deref().unwrap_or("—")) }
                                        @if can_manage {
                                            td {
                                                a href={ "/settings/contacts/" (c.id) } { "Edit " span.visually-hidden { (c.name) } }
                                                form.inline method="post" action={ "/settings/contacts/" (c.id) "/delete" } {
                                                    (layout::csrf_field(&signed_in.csrf))
                                                    button.button.button-quiet type="submit" { "Remove " span.visually-hidden { (c.name) } }
                                                }
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
                section.panel aria-labelledby="add-contact-title" {
                    h2 #add-contact-title { "Add a contact" }
                    (layout::error_summary(forms.contact_errors, &CONTACT_FIELDS))
                    form.form method="post" action="/settings/contacts" novalidate {
                        (layout::csrf_field(&signed_in.csrf))
                        (contact_fields(members, forms.contact, forms.contact_errors))
                        button.button type="submit" { "Add the contact" }
                    }
                }
            }
            section.panel aria-labelledby="escalation-title" {
                h2 #escalation-title { "Escalation" }
                p { "An alarm nobody acknowledges is messaged, then called, then passed to the next person, and the whole round starts again." }
                @if can_manage {
                    (layout::error_summary(forms.escalation_errors, &ESCALATION_FIELDS))
                    form.form method="post" action="/settings/escalation" novalidate {
                        (layout::csrf_field(&signed_in.csrf))
                        (escalation_fields(forms.escalation, forms.escalation_errors))
                        button.button type="submit" { "Save escalation" }
                    }
                } @else {
                    dl {
                        @for (name, label) in ESCALATION_FIELDS {
                            dt { (label) }
                            dd { (escalation_value(forms.escalation, name)) }
                        }
                    }
                }
            }
        },
    )
}

fn escalation_value<'a>(form: &'a EscalationForm, name: &str) -> &'a str {
    match name {
        "min_severity" => &form.min_severity,
        "message_after_secs" => &form.message_after_secs,
        "call_after_secs" => &form.call_after_secs,
        "next_contact_after_secs" => &form.next_contact_after_secs,
        "repeat_after_secs" => &form.repeat_after_secs,
        _ => &form.max_rounds,
    }
}

fn escalation_fields(form: &EscalationForm, errors: &FormErrors) -> Markup {
    html! {
        (layout::select(&Select { name: "min_severity", label: ESCALATION_FIELDS[0].1, hint: Some("Less severe alarms stay on the dashboard."), options: &SEVERITIES, selected: &form.min_severity, placeholder: None, required: true }, errors))
        div.form-row {
            @for (name, label) in &ESCALATION_FIELDS[1..] {
                (layout::input(&Input { name, label, value: escalation_value(form, name), inputmode: Some("numeric"), required: true, ..Input::default() }, errors))
            }
        }
    }
}

fn edit_view(
    signed_in: &SignedIn,
    contact: &Contact,
    members: &[Member],
    form: &ContactForm,
    errors: &FormErrors,
) -> Markup {
    let chrome = signed_in.chrome();
    layout::page(
        "Edit a contact",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/settings/contacts" { "← Contacts and escalation" } }
            h1 { "Edit " (contact.name) }
            (layout::error_summary(errors, &CONTACT_FIELDS))
            form.form method="post" action={ "/settings/contacts/" (contact.id) } novalidate {
                (layout::csrf_field(&signed_in.csrf))
                (contact_fields(members, form, errors))
                button.button type="submit" { "Save the contact" }
            }
        },
    )
}
