//! `/household/members`: the household's people with their roles, for its owners: a role
//! changed, someone removed (never the last owner: the store refuses, as it does for the API),
//! someone invited with a role, and invitations not yet used listed and revoked. An invitation's
//! code is shown once, on the page that answers the form, with the registration link that fills
//! it in.
//!
//! The rules are the API's: `Role`'s parser, `check_membership_end` for a sitter's end,
//! `Email::parse`; the same store calls make the change. Only owners (`ManageHousehold`, what
//! every one of these API routes asks) see the page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use petty_core::Invalid;
use petty_core::accounts::{Email, Permission, Role, check_membership_end};
use petty_core::ids::{InvitationId, UserId};
use petty_core::pets::{format_date, parse_date};
use petty_http::AppState;
use petty_http::extract::ClientIp;
use petty_store::{Invitation, Member, StoreError};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PageError;
use super::csrf::CsrfForm;
use super::layout::{self, FormErrors, Header, Input, Select};
use super::session::SignedIn;

/// A role, and for a sitter the last day of their access, as a form sends them.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct RoleForm {
    csrf: String,
    /// Only on the invitation form: who it is for.
    email: String,
    role: String,
    /// `YYYY-MM-DD`: a sitter's access ends when this day ends, in the household's time zone.
    ends_at: String,
}

impl RoleForm {
    /// The role and its end, with the API's rules.
    async fn parse(
        &self,
        state: &AppState,
        signed_in: &SignedIn,
    ) -> Result<Result<(Role, Option<OffsetDateTime>), Invalid>, PageError> {
        let mut errors = Vec::new();
        let role = self.role.trim().parse::<Role>().map_err(|e| errors.extend(e.0)).ok();
        let ends_at = match self.ends_at.trim() {
            "" => None,
            text => match parse_date("ends_at", text) {
                Ok(day) => {
                    let zone = state.store.household_zone(signed_in.membership.household_id).await?;
                    day.next_day().and_then(|next| zone.at_hour(next, 0))
                }
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            },
        };
        if let Some(role) = role
            && errors.is_empty()
            && let Err(e) = check_membership_end(role, ends_at, OffsetDateTime::now_utc())
        {
            errors.extend(e.0);
        }
        Ok(match role {
            Some(role) if errors.is_empty() => Ok((role, ends_at)),
            _ => Err(Invalid(errors)),
        })
    }
}

fn role_options() -> Vec<(&'static str, &'static str)> {
    Role::ALL.iter().map(|r| (r.as_str(), layout::role_label(*r))).collect()
}

const INVITE_FIELDS: [(&str, &str); 3] = [("email", "Email"), ("role", "Role"), ("ends_at", "Access until")];
const ENDS_HINT: &str = "For a sitter only: the last day of their access, within a year.";

/// What the page shows above its lists: an invitation just made, or a change refused.
enum Outcome<'a> {
    Nothing,
    Invited {
        token: &'a str,
        invitation: &'a Invitation,
    },
    /// A member's row could not be changed; the errors say why.
    Refused(FormErrors),
}

async fn members_page_with(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    outcome: Outcome<'_>,
    invite: &RoleForm,
    invite_errors: &FormErrors,
) -> Result<Response, PageError> {
    let household_id = signed_in.membership.household_id;
    let now = OffsetDateTime::now_utc();
    let members = state.store.list_members(household_id).await?;
    let invitations = state.store.list_pending_invitations(household_id, now).await?;
    let chrome = signed_in.chrome();
    let options = role_options();
    let view = layout::page(
        "Members and invitations",
        Header::SignedIn(&chrome),
        html! {
            p { a href="/household" { "Household" } }
            div.page-head {
                div {
                    h1 { "Members and invitations" }
                    p.lead { "Who is in " (signed_in.membership.household_name) ", what each may do, and who is invited." }
                }
            }
            @match &outcome {
                Outcome::Nothing => {}
                Outcome::Invited { token, invitation } => { (invited_panel(token, invitation)) }
                Outcome::Refused(errors) => { (layout::error_summary(errors, &[("role", "Role"), ("ends_at", "Access until")])) }
            }
            section.section aria-labelledby="members-title" {
                h2 #members-title { "Members" }
                table.members {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Change" } th scope="col" { "Remove" } } }
                    tbody {
                        @for member in &members { (member_row(signed_in, member, &options, now)) }
                    }
                }
                p.hint { "A household keeps at least one owner: make someone else owner before the last owner steps down or leaves." }
            }
            section.section aria-labelledby="invite-title" {
                h2 #invite-title { "Invite someone" }
                form.form method="post" action="/household/invitations" novalidate {
                    (layout::error_summary(invite_errors, &INVITE_FIELDS))
                    (layout::csrf_field(&signed_in.csrf))
                    (layout::input(&Input { name: "email", label: "Email", kind: "email", value: &invite.email, autocomplete: Some("off"),
                        hint: Some("Who it is for, as a reminder: the code works for whoever holds it."), ..Input::default() }, invite_errors))
                    (layout::select(&Select { name: "role", label: "Role", hint: Some("Owners manage the household; members manage pets; sitters look after them for a while; vets see the care records of the pets shared with them."),
                        options: &options, selected: &invite.role, placeholder: Some("Choose a role"), required: true }, invite_errors))
                    (layout::input(&Input { name: "ends_at", label: "Access until", kind: "date", value: &invite.ends_at, hint: Some(ENDS_HINT), ..Input::default() }, invite_errors))
                    button.button type="submit" { "Invite" }
                }
            }
            section.section aria-labelledby="pending-title" {
                h2 #pending-title { "Invitations not used yet" }
                @if invitations.is_empty() {
                    p { "None." }
                } @else {
                    table.invitations {
                        thead { tr { th scope="col" { "For" } th scope="col" { "Role" } th scope="col" { "Expires" } th scope="col" { "Revoke" } } }
                        tbody {
                            @for invitation in &invitations {
                                tr {
                                    th scope="row" { (invitation.email.as_deref().unwrap_or("Anyone with the code")) }
                                    td { (layout::role_label(invitation.role)) @if let Some(ends) = invitation.ends_at { ", until " (format_date(ends.date())) } }
                                    td { (format_date(invitation.expires_at.date())) }
                                    td {
                                        form method="post" action={ "/household/invitations/" (invitation.id.0) "/revoke" } {
                                            (layout::csrf_field(&signed_in.csrf))
                                            button.button.button-secondary type="submit" aria-label={ "Revoke the invitation for " (invitation.email.as_deref().unwrap_or("anyone with the code")) } { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(layout::html(status, view))
}

fn member_row(signed_in: &SignedIn, member: &Member, options: &[(&str, &str)], now: OffsetDateTime) -> Markup {
    let id = member.user.id.0;
    let ends = member.ends_at.map(|e| format_date(e.date())).unwrap_or_default();
    let name = &member.user.display_name;
    html! {
        tr {
            th scope="row" {
                (name)
                @if member.user.id == signed_in.user.id { " " span.you { "(you)" } }
                br; span.hint { (member.user.email) }
            }
            td {
                span.badge { (layout::role_label(member.role)) }
                @if let Some(end) = member.ends_at { @if end <= now { " ended " } @else { " until " } (format_date(end.date())) }
            }
            td {
                form.inline-form method="post" action={ "/household/members/" (id) "/role" } {
                    (layout::csrf_field(&signed_in.csrf))
                    label for={ "role-" (id) } { "Role of " (name) }
                    select id={ "role-" (id) } name="role" {
                        @for (value, text) in options {
                            option value=(value) selected[*value == member.role.as_str()] { (text) }
                        }
                    }
                    label for={ "ends-" (id) } { "Access until (sitters)" }
                    input id={ "ends-" (id) } type="date" name="ends_at" value=(ends);
                    button.button.button-secondary type="submit" { "Save" }
                }
            }
            td {
                form method="post" action={ "/household/members/" (id) "/remove" } {
                    (layout::csrf_field(&signed_in.csrf))
                    button.button.button-danger type="submit" aria-label={ "Remove " (name) } { "Remove" }
                }
            }
        }
    }
}

/// The invitation just made: its code, shown only now, and the link that fills it in.
fn invited_panel(token: &str, invitation: &Invitation) -> Markup {
    let link = format!("/register?invitation={token}");
    html! {
        section.panel.notice role="status" aria-labelledby="invited-title" {
            h2 #invited-title { "Invitation made" }
            p {
                "Give this code to " (invitation.email.as_deref().unwrap_or("the person you invite")) " as "
                (layout::role_label(invitation.role).to_lowercase()) ". It works once, until " (format_date(invitation.expires_at.date()))
                ", and will not be shown again."
            }
            p.token-value { code #invitation-code { (token) } }
            p { "Someone new signs up with it here: " a href=(link) { "the registration page with this code" } "." }
            p { "Someone with an account already joins with it through the API (" code { "POST /api/v1/invitations/accept" } ")." }
        }
    }
}

fn user_id(raw: &str) -> Result<UserId, PageError> {
    raw.parse::<Uuid>().map(UserId).map_err(|_| PageError::NotFound)
}

/// The store's answer to a change of a member: done, or the page again saying why not (the
/// last owner stays, as the store insists for the API too).
async fn member_changed(
    state: &AppState,
    signed_in: &SignedIn,
    result: Result<(), StoreError>,
    what: &str,
) -> Result<Option<Response>, PageError> {
    match result {
        Ok(()) => Ok(None),
        Err(StoreError::NotFound) => Err(PageError::NotFound),
        Err(StoreError::Conflict(_)) => {
            let errors = FormErrors::general(format!(
                "The household's last owner cannot be {what}: a household keeps at least one owner. Make someone else owner first."
            ));
            let (form, none) = (RoleForm::default(), FormErrors::none());
            let page =
                members_page_with(state, signed_in, StatusCode::CONFLICT, Outcome::Refused(errors), &form, &none);
            Ok(Some(page.await?))
        }
        Err(other) => Err(other.into()),
    }
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn members_page(State(state): State<AppState>, signed_in: SignedIn) -> Result<Response, PageError> {
    signed_in.require(Permission::ManageHousehold)?;
    members_page_with(&state, &signed_in, StatusCode::OK, Outcome::Nothing, &RoleForm::default(), &FormErrors::none())
        .await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, user_id = %id))]
pub(crate) async fn change_role(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let user = user_id(&id)?;
    let (role, ends_at) = match form.parse(&state, &signed_in).await? {
        Ok(parsed) => parsed,
        Err(invalid) => {
            let (form, errors) = (RoleForm::default(), FormErrors::none());
            let outcome = Outcome::Refused(FormErrors::from_invalid(invalid));
            return members_page_with(&state, &signed_in, StatusCode::UNPROCESSABLE_ENTITY, outcome, &form, &errors)
                .await;
        }
    };
    let household_id = signed_in.membership.household_id;
    let changed =
        state.store.set_member_role(household_id, user, role, ends_at, OffsetDateTime::now_utc()).await.map(|_| ());
    if let Some(refused) = member_changed(&state, &signed_in, changed, "given another role").await? {
        return Ok(refused);
    }
    tracing::info!("member's role changed from the dashboard");
    signed_in.audit(&state, ip, "update", "member", user.0, petty_app::audit::fields(&["role", "ends_at"])).await?;
    Ok(Redirect::to("/household/members").into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, user_id = %id))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let user = user_id(&id)?;
    let household_id = signed_in.membership.household_id;
    let removed = state.store.remove_member(household_id, user, OffsetDateTime::now_utc()).await.map(|_| ());
    if let Some(refused) = member_changed(&state, &signed_in, removed, "removed").await? {
        return Ok(refused);
    }
    tracing::info!("member removed from the dashboard");
    signed_in.audit(&state, ip, "remove", "member", user.0, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/household/members").into_response())
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id))]
pub(crate) async fn invite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<RoleForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let email = match form.email.trim() {
        "" => Ok(None),
        text => Email::parse("email", text).map(Some),
    };
    let parsed = form.parse(&state, &signed_in).await?;
    let (role, ends_at, email) = match (parsed, email) {
        (Ok((role, ends_at)), Ok(email)) => (role, ends_at, email),
        (parsed, email) => {
            let mut errors = email.err().map(|e| e.0).unwrap_or_default();
            errors.extend(parsed.err().map(|e| e.0).unwrap_or_default());
            let errors = FormErrors::from_invalid(Invalid(errors));
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return members_page_with(&state, &signed_in, status, Outcome::Nothing, &form, &errors).await;
        }
    };
    let invite = petty_app::access::Invite {
        household_id: signed_in.membership.household_id,
        role,
        ends_at,
        email,
        created_by: signed_in.user.id,
        valid_for: state.config.invitation_ttl,
    };
    let (invitation, token) = petty_app::access::invite(&state.app, invite).await?;
    tracing::info!(invitation_id = %invitation.id.0, "invitation made from the dashboard");
    let detail = petty_app::audit::fields(&["role", "ends_at", "email"]);
    signed_in.audit(&state, ip, "create", "invitation", invitation.id.0, detail).await?;
    let outcome = Outcome::Invited { token: &token, invitation: &invitation };
    let (form, errors) = (RoleForm::default(), FormErrors::none());
    members_page_with(&state, &signed_in, StatusCode::CREATED, outcome, &form, &errors).await
}

#[tracing::instrument(skip_all, fields(household_id = %signed_in.membership.household_id, invitation_id = %id))]
pub(crate) async fn revoke_invitation(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed_in.check_csrf(&state, &form.csrf)?;
    signed_in.require(Permission::ManageHousehold)?;
    let id = InvitationId(id.parse::<Uuid>().map_err(|_| PageError::NotFound)?);
    state.store.revoke_invitation(signed_in.membership.household_id, id, OffsetDateTime::now_utc()).await.map_err(
        |e| match e {
            StoreError::NotFound => PageError::NotFound,
            other => other.into(),
        },
    )?;
    tracing::info!("invitation revoked from the dashboard");
    signed_in.audit(&state, ip, "revoke", "invitation", id.0, petty_app::audit::no_detail()).await?;
    Ok(Redirect::to("/household/members").into_response())
}
