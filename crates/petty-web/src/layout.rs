//! The page shell (landmarks, header, skip link, stylesheet) and the form widgets every page
//! uses, so that each input has its label, its hint and its error wired together the same way:
//! `aria-describedby` names the hint and the error, `aria-invalid` marks a field in error, and
//! an error summary at the top links to each field.
//!
//! The Content-Security-Policy forbids inline styles and scripts, so markup here only ever sets
//! classes, and the one script (on the device pages) is a file of its own.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use petty_core::Invalid;
use petty_core::accounts::Role;
use petty_http::{ApiError, FieldDetail};

use super::assets;

/// What the header shows about the signed-in person.
pub(crate) struct Chrome<'a> {
    pub display_name: &'a str,
    pub household_name: &'a str,
    pub role: Role,
    /// For the sign-out form.
    pub csrf: &'a str,
    /// Show a notice that the person's email address is not confirmed yet, with a button that
    /// mails a new link (only when this server can send email).
    pub unverified_email: bool,
}

/// An HTML answer. Pages show a household's data, so no cache keeps them.
pub(crate) fn html(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        markup.into_string(),
    )
        .into_response()
}

/// What the header offers besides the brand.
pub(crate) enum Header<'a> {
    /// Who is signed in, and a way out.
    SignedIn(&'a Chrome<'a>),
    /// Ways in.
    SignedOut,
    /// Nothing: error pages, which do not know who is asking.
    Plain,
}

/// A whole page: `title` names it in the tab, `content` fills `<main>`.
pub(crate) fn page(title: &str, header: Header<'_>, content: Markup) -> Markup {
    shell(title, header, content, false, None)
}

/// A page with a script of its own (deferred); it must work without it.
pub(crate) fn page_with_script(title: &str, header: Header<'_>, script: &str, content: Markup) -> Markup {
    shell(title, header, content, false, Some(script))
}

/// A page that keeps itself current over the WebSocket (`assets/petty-live.js`, deferred).
/// It must read the same without the script: the script only updates what the server wrote.
pub(crate) fn live_page(title: &str, header: Header<'_>, content: Markup) -> Markup {
    shell(title, header, content, true, None)
}

fn shell(title: &str, header: Header<'_>, content: Markup, live: bool, script: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Petty" }
                link rel="stylesheet" href=(assets::stylesheet_url());
                link rel="icon" type="image/svg+xml" href=(assets::icon_url());
                @if live { script src=(assets::live_script_url()) defer {} }
                @if let Some(src) = script { script src=(src) defer {} }
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.site-header {
                    div.bar {
                        a.brand href="/" {
                            img src=(assets::icon_url()) alt="" width="28" height="28";
                            span { "Petty" }
                        }
                        @if let Header::SignedIn(chrome) = header {
                            nav.site-nav aria-label="Dashboard" {
                                a href="/household" { "Household" }
                                a href="/pets" { "Pets" }
                                a href="/life" { "Life log" }
                                // A vet sees the pets shared with them, from the household page.
                                @if chrome.role.allows(petty_core::accounts::Permission::Read) {
                                    a href="/reminders" { "Reminders" }
                                    a href="/calendar" { "Calendar" }
                                    a href="/devices" { "Devices" }
                                    a href="/alarms" { "Alarms" }
                                    a href="/catalog" { "Catalog" }
                                    a href="/chat" { "Ask" }
                                    a href="/household/audit" { "Audit log" }
                                    a href="/plan" { "Plan" }
                                    a href="/settings" { "Settings" }
                                }
                            }
                            nav.account aria-label="Account" {
                                p.who {
                                    span.who-name { (chrome.display_name) }
                                    span.who-role { (role_label(chrome.role)) " · " (chrome.household_name) }
                                }
                                a href="/account/security" { "Security" }
                                a href="/account/data" { "Your data" }
                                form method="post" action="/logout" {
                                    (csrf_field(chrome.csrf))
                                    button.button.button-quiet type="submit" { "Sign out" }
                                }
                            }
                        } @else if let Header::SignedOut = header {
                            nav.account aria-label="Account" {
                                a href="/login" { "Sign in" }
                                a href="/register" { "Create an account" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" {
                    @if let Header::SignedIn(chrome) = header {
                        @if chrome.unverified_email {
                            div.notice role="status" {
                                p { "Your email address is not confirmed yet: follow the link we emailed you." }
                                form method="post" action="/verify-email/resend" {
                                    (csrf_field(chrome.csrf))
                                    button.button.button-secondary type="submit" { "Send the link again" }
                                }
                            }
                        }
                    }
                    (content)
                }
                footer.site-footer {
                    p { "Petty · your pets, your server" }
                }
            }
        }
    }
}

/// A small page for 403, 404 and 500.
pub(crate) fn error_page(title: &str, message: &str) -> Markup {
    error_page_with(title, message, Header::Plain)
}

/// An error page with the header of who is looking (the navigation for someone signed in).
pub(crate) fn error_page_with(title: &str, message: &str, header: Header<'_>) -> Markup {
    page(
        title,
        header,
        html! {
            section.panel.narrow aria-labelledby="page-title" {
                h1 #page-title { (title) }
                p { (message) }
                p { a.button href="/" { "Go to the dashboard" } }
            }
        },
    )
}

pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Member => "Member",
        Role::Sitter => "Sitter",
        Role::Vet => "Vet",
    }
}

pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// Errors to show on a re-rendered form: some about one field, some about the whole form.
#[derive(Debug, Default)]
pub(crate) struct FormErrors {
    general: Vec<String>,
    fields: Vec<FieldDetail>,
}

impl FormErrors {
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// An error about the whole form (wrong password, account locked).
    pub(crate) fn general(message: impl Into<String>) -> Self {
        Self { general: vec![message.into()], fields: Vec::new() }
    }

    /// Field errors go beside their fields; an error without details is about the whole form.
    pub(crate) fn from_api(error: &ApiError) -> Self {
        if error.details.is_empty() {
            Self::general(capitalize(&error.message))
        } else {
            Self { general: Vec::new(), fields: error.details.clone() }
        }
    }

    pub(crate) fn from_invalid(invalid: Invalid) -> Self {
        Self::from_api(&ApiError::from(invalid))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.general.is_empty() && self.fields.is_empty()
    }

    /// The first error about `field`, in words that use its label.
    fn message_for(&self, field: &str, label: &str) -> Option<String> {
        self.fields.iter().find(|d| d.field == field).map(|d| humanize(&d.message, field, label))
    }
}

/// `weight_kg must be more than 0` → `Weight (kg) must be more than 0`: the core names fields
/// as the API does; people read labels.
fn humanize(message: &str, field: &str, label: &str) -> String {
    let text = match message.strip_prefix(field) {
        Some(rest) if rest.starts_with(' ') => format!("{label}{rest}"),
        _ => message.to_owned(),
    };
    capitalize(&text)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn field_id(name: &str) -> String {
    format!("f-{name}")
}

/// The summary at the top of a form in error: each field error links to its field. `fields`
/// lists `(name, label)` in the order the form shows them.
pub(crate) fn error_summary(errors: &FormErrors, fields: &[(&str, &str)]) -> Markup {
    if errors.is_empty() {
        return html! {};
    }
    let orphans: Vec<&FieldDetail> =
        errors.fields.iter().filter(|d| !fields.iter().any(|(name, _)| *name == d.field)).collect();
    html! {
        div.error-summary role="alert" aria-labelledby="error-summary-title" tabindex="-1" autofocus {
            h2 #error-summary-title { "There is a problem" }
            ul {
                @for message in &errors.general { li { (message) } }
                @for (name, label) in fields {
                    @if let Some(message) = errors.message_for(name, label) {
                        li { a href={ "#" (field_id(name)) } { (message) } }
                    }
                }
                @for detail in orphans { li { (capitalize(&detail.message)) } }
            }
        }
    }
}

/// The label, hint and error of one field, and the ids that tie them to the control.
struct Wiring {
    id: String,
    hint_id: Option<String>,
    error: Option<String>,
    error_id: String,
    described_by: Option<String>,
}

impl Wiring {
    fn new(name: &str, label: &str, hint: Option<&str>, errors: &FormErrors) -> Self {
        let id = field_id(name);
        let hint_id = hint.map(|_| format!("{id}-hint"));
        let error = errors.message_for(name, label);
        let error_id = format!("{id}-error");
        let described: Vec<&str> =
            hint_id.iter().map(String::as_str).chain(error.as_ref().map(|_| error_id.as_str())).collect();
        let described_by = (!described.is_empty()).then(|| described.join(" "));
        Self { id, hint_id, error, error_id, described_by }
    }

    fn invalid(&self) -> Option<&'static str> {
        self.error.as_ref().map(|_| "true")
    }

    fn label_hint_error(&self, label: &str, hint: Option<&str>, required: bool) -> Markup {
        html! {
            label for=(self.id) {
                (label)
                @if !required { " " span.optional { "(optional)" } }
            }
            @if let (Some(hint), Some(hint_id)) = (hint, &self.hint_id) {
                p.hint id=(hint_id) { (hint) }
            }
            @if let Some(error) = &self.error {
                p.field-error id=(self.error_id) {
                    span.visually-hidden { "Error: " }
                    (error)
                }
            }
        }
    }
}

/// A single-line input.
#[derive(Clone, Copy, Default)]
pub(crate) struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    /// `type`; empty means `text`.
    pub kind: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
    pub inputmode: Option<&'a str>,
    pub max: Option<&'a str>,
    pub maxlength: Option<usize>,
    pub required: bool,
}

pub(crate) fn input(field: &Input<'_>, errors: &FormErrors) -> Markup {
    let wiring = Wiring::new(field.name, field.label, field.hint, errors);
    let kind = if field.kind.is_empty() { "text" } else { field.kind };
    html! {
        div.field.field-invalid[wiring.error.is_some()] {
            (wiring.label_hint_error(field.label, field.hint, field.required))
            input id=(wiring.id) name=(field.name) type=(kind) value=(field.value)
                autocomplete=[field.autocomplete] inputmode=[field.inputmode] max=[field.max]
                maxlength=[field.maxlength] required[field.required]
                aria-invalid=[wiring.invalid()] aria-describedby=[wiring.described_by.as_deref()];
        }
    }
}

/// A choice among fixed options.
pub(crate) struct Select<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub hint: Option<&'a str>,
    /// `(value, text)`.
    pub options: &'a [(&'a str, &'a str)],
    pub selected: &'a str,
    /// A first option with an empty value, shown until something is chosen.
    pub placeholder: Option<&'a str>,
    pub required: bool,
}

pub(crate) fn select(field: &Select<'_>, errors: &FormErrors) -> Markup {
    let wiring = Wiring::new(field.name, field.label, field.hint, errors);
    html! {
        div.field.field-invalid[wiring.error.is_some()] {
            (wiring.label_hint_error(field.label, field.hint, field.required))
            select id=(wiring.id) name=(field.name) required[field.required]
                aria-invalid=[wiring.invalid()] aria-describedby=[wiring.described_by.as_deref()] {
                @if let Some(placeholder) = field.placeholder {
                    option value="" selected[field.selected.is_empty()] { (placeholder) }
                }
                @for (value, text) in field.options {
                    option value=(value) selected[*value == field.selected] { (text) }
                }
            }
        }
    }
}

/// Several lines of text.
pub(crate) struct TextArea<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub hint: Option<&'a str>,
    pub value: &'a str,
    pub maxlength: usize,
}

pub(crate) fn textarea(field: &TextArea<'_>, errors: &FormErrors) -> Markup {
    let wiring = Wiring::new(field.name, field.label, field.hint, errors);
    html! {
        div.field.field-invalid[wiring.error.is_some()] {
            (wiring.label_hint_error(field.label, field.hint, false))
            textarea id=(wiring.id) name=(field.name) rows="4" maxlength=(field.maxlength)
                aria-invalid=[wiring.invalid()] aria-describedby=[wiring.described_by.as_deref()] { (field.value) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_use_labels() {
        assert_eq!(humanize("weight_kg must be a number", "weight_kg", "Weight (kg)"), "Weight (kg) must be a number");
        assert_eq!(humanize("name must not be empty", "name", "Name"), "Name must not be empty");
        // Only a whole leading word is replaced.
        assert_eq!(humanize("names differ", "name", "Name"), "Names differ");
        assert_eq!(capitalize("ünïcode"), "Ünïcode");
    }

    #[test]
    fn an_invalid_field_is_described_by_its_hint_and_error() {
        let errors = FormErrors::from_api(&ApiError::field(
            petty_http::ErrorCode::ValidationFailed,
            "email",
            "format",
            "email must look like name@example.org",
        ));
        let markup = input(
            &Input {
                name: "email",
                label: "Email",
                kind: "email",
                hint: Some("We never share it"),
                ..Input::default()
            },
            &errors,
        )
        .into_string();
        assert!(markup.contains(r#"aria-describedby="f-email-hint f-email-error""#), "{markup}");
        assert!(markup.contains(r#"aria-invalid="true""#), "{markup}");
        assert!(markup.contains("Email must look like name@example.org"), "{markup}");
        let summary = error_summary(&errors, &[("email", "Email")]).into_string();
        assert!(summary.contains(r##"href="#f-email""##), "{summary}");
    }
}
