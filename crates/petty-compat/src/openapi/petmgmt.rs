//! The Pet Management seed's contract (`shared/compat/petmgmt.md`) in the compatibility
//! document.

use serde_json::{Value, json};

use super::{Errors, Operation, Profile, list_of, object, schema, string};

const ERROR: &str = "PetMgmtError";

/// `{"success": true, "data": <data>}`.
fn ok(data: Value) -> Option<Value> {
    Some(object(&["success", "data"], json!({"success": {"const": true}, "data": data})))
}

fn deleted() -> Option<Value> {
    ok(object(&["id", "deleted"], json!({"id": string(), "deleted": {"const": true}})))
}

fn listed(name: &str, item: &str) -> Option<Value> {
    ok(object(&[name, "pagination"], json!({name: list_of(schema(item)), "pagination": schema("PetMgmtPagination")})))
}

fn paged(op: Operation) -> Operation {
    op.query("page", false, json!({"type": "integer", "minimum": 1, "default": 1}), "Page.").query(
        "limit",
        false,
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        "Items a page.",
    )
}

fn id(op: Operation, what: &str) -> Operation {
    op.path("id", json!({"type": "string", "format": "uuid"}), what)
}

pub(super) fn profile() -> Profile {
    let error = || Some(schema(ERROR));
    let signed_in = |summary: &str| Operation::new(summary).security(&["bearer", "api_key"]);
    let role =
        "INSUFFICIENT_PERMISSIONS: the role does not allow this, a sitter's access has ended, or the plan's limit.";
    let auth = || Some(schema("PetMgmtSession"));
    let records = |op: Operation| {
        paged(op)
            .query("type", false, string(), "Only these record types (comma-separated).")
            .query("from", false, json!({"type": "string", "format": "date"}), "From this date.")
            .query("to", false, json!({"type": "string", "format": "date"}), "To this date.")
            .answer(200, "Newest first; `summary` covers every matching record.", ok(object(&["records", "pagination", "summary"], json!({
                "records": list_of(schema("PetMgmtRecord")), "pagination": schema("PetMgmtPagination"),
                "summary": object(&["totalRecords", "recordTypes", "totalCost"], json!({"totalRecords": {"type": "integer"}, "recordTypes": {"type": "object"}, "totalCost": {"type": "number"}})),
            }))))
    };
    let events = |op: Operation| {
        op.query("from", false, json!({"type": "string", "format": "date-time"}), "From.")
            .query("to", false, json!({"type": "string", "format": "date-time"}), "To.")
            .query("calendar", false, string(), "Which calendar.")
            .answer(
                200,
                "The feed's items as JSON.",
                ok(object(&["events"], json!({"events": list_of(json!({"type": "object"}))}))),
            )
    };
    let sync = |op: Operation| {
        op.json_body(object(&[], json!({"calendarProvider": string(), "syncDirection": string()})))
            .answer(200, "Nothing is imported: Petty publishes a feed.", ok(object(&["syncId", "status", "eventsImported", "eventsExported", "lastSyncTime", "feedUrl"], json!({
                "syncId": string(), "status": {"const": "completed"}, "eventsImported": {"const": 0}, "eventsExported": {"type": "integer"}, "lastSyncTime": string(), "feedUrl": string(),
            }))))
    };
    let operations: Vec<(&str, String, Operation)> = vec![
        ("post", "/auth/register".into(), Operation::new("Registration").json_body(object(&["email", "password", "firstName", "lastName"], json!({
            "email": {"type": "string", "maxLength": 254}, "password": {"type": "string", "minLength": 8, "maxLength": 128},
            "firstName": {"type": "string", "minLength": 1, "maxLength": 100}, "lastName": {"type": "string", "minLength": 1, "maxLength": 100}, "timezone": string(),
        }))).answer(201, "Registered and signed in; a household owned by the user is created.", auth())
            .answer(409, "CONFLICT \"Email already registered\".", error())),
        ("post", "/auth/login".into(), Operation::new("Sign-in").json_body(object(&["email", "password"], json!({"email": string(), "password": string(), "mfaCode": string()})))
            .answer(200, "Signed in.", auth())
            .answer(401, "INVALID_CREDENTIALS, MFA_REQUIRED or INVALID_MFA_CODE.", error())
            .answer(423, "ACCOUNT_LOCKED after 5 failures in 15 minutes, with `retryAfter` and `Retry-After`.", error())),
        ("post", "/auth/refresh-token".into(), Operation::new("A new token pair (rotation)").json_body(object(&["refreshToken"], json!({"refreshToken": string()})))
            .answer(200, "A new pair; the presented token is dead.", ok(object(&["accessToken", "refreshToken", "expiresIn"], json!({"accessToken": string(), "refreshToken": string(), "expiresIn": {"type": "integer"}}))))
            .answer(401, "UNAUTHORIZED, or TOKEN_REUSED (the whole family is signed out).", error())),
        ("post", "/auth/logout".into(), signed_in("Sign-out").body("application/json", false, object(&[], json!({"refreshToken": string(), "allDevices": {"type": "boolean"}})))
            .answer(200, "Signed out.", ok(object(&["loggedOut"], json!({"loggedOut": {"const": true}}))))),
        ("post", "/auth/change-password".into(), signed_in("Password change").json_body(object(&["currentPassword", "newPassword"], json!({"currentPassword": string(), "newPassword": string()})))
            .answer(200, "Changed; every other sign-in is revoked.", ok(object(&["changed"], json!({"changed": {"const": true}}))))),
        ("post", "/auth/mfa/setup".into(), signed_in("TOTP setup").answer(200, "A base32 secret and its otpauth URL.", ok(object(&["secret", "otpauthUrl"], json!({"secret": string(), "otpauthUrl": string()}))))),
        ("post", "/auth/mfa/verify".into(), signed_in("TOTP on").json_body(object(&["code"], json!({"code": string()})))
            .answer(200, "On, with 10 backup codes.", ok(object(&["enabled", "backupCodes"], json!({"enabled": {"const": true}, "backupCodes": list_of(string())}))))),
        ("post", "/auth/mfa/disable".into(), signed_in("TOTP off").json_body(object(&["password", "code"], json!({"password": string(), "code": string()})))
            .answer(200, "Off.", ok(object(&["enabled"], json!({"enabled": {"const": false}}))))),
        ("get", "/users/profile".into(), signed_in("The caller's profile").answer(200, "The profile.", ok(schema("PetMgmtUser")))),
        ("put", "/users/profile".into(), signed_in("The caller's profile changed")
            .json_body(object(&[], json!({"firstName": string(), "lastName": string(), "phone": {"type": "string", "description": "E.164"}, "timezone": string()})))
            .answer(200, "The profile.", ok(schema("PetMgmtUser")))),
        ("get", "/users/export".into(), signed_in("Everything Petty holds for the caller (GDPR)")
            .answer_as(200, "A zip: manifest.json, profile.json, pets, records, reminders, files... (3 an hour).", "application/zip", json!({"type": "string", "contentEncoding": "binary"}))),
        ("delete", "/users/account".into(), signed_in("The caller's account deleted").json_body(object(&["password"], json!({"password": string(), "mfaCode": string()})))
            .answer(200, "Deleted, with every household where the caller was alone.", ok(object(&["deleted"], json!({"deleted": {"const": true}}))))
            .answer(409, "A sole owner of a household with other members.", error())),
        ("get", "/pets".into(), paged(signed_in("Pets, by name"))
            .query("search", false, string(), "A substring of name, breed or microchipId.")
            .query("species", false, string(), "Exactly this species.")
            .answer(200, "A page.", listed("pets", "PetMgmtPet"))),
        ("post", "/pets".into(), signed_in("A pet").json_body(schema("PetMgmtPetIn")).answer(201, "The pet, in `/api/v1` too.", ok(schema("PetMgmtPet")))
            .answer(403, role, error()).answer(409, "A microchipId already used in the household.", error())),
        ("get", "/pets/{id}".into(), id(signed_in("A pet with its records, reminders and vaccinations"), "The pet's id.").answer(200, "The pet.", ok(schema("PetMgmtPet")))),
        ("put", "/pets/{id}".into(), id(signed_in("A pet changed"), "The pet's id.").json_body(schema("PetMgmtPetIn")).answer(200, "The pet.", ok(schema("PetMgmtPet"))).answer(403, role, error())),
        ("delete", "/pets/{id}".into(), id(signed_in("A pet deleted, with its records, reminders and files"), "The pet's id.").answer(200, "Deleted.", deleted()).answer(403, role, error())),
        ("get", "/pets/{id}/health-records".into(), records(id(signed_in("A pet's health records"), "The pet's id."))),
        ("post", "/pets/{id}/health-records".into(), id(signed_in("A health record"), "The pet's id.").json_body(schema("PetMgmtRecordIn"))
            .answer(201, "The record.", ok(schema("PetMgmtRecord"))).answer(403, role, error())),
        ("get", "/pets/{id}/vaccinations".into(), id(signed_in("A pet's vaccines and their due dates"), "The pet's id.")
            .answer(200, "Each series' status.", ok(object(&["status", "vaccinations"], json!({"status": {"enum": ["none", "up_to_date", "due", "overdue"]}, "vaccinations": list_of(json!({"type": "object"}))}))))),
        ("put", "/health-records/{id}".into(), id(signed_in("A health record changed"), "The record's id.").json_body(schema("PetMgmtRecordIn")).answer(200, "The record.", ok(schema("PetMgmtRecord")))),
        ("delete", "/health-records/{id}".into(), id(signed_in("A health record deleted"), "The record's id.").answer(200, "Deleted.", deleted()).answer(403, role, error())),
        ("get", "/health-records/pets/{id}/records".into(), records(id(signed_in("A pet's health records (the seed's alias)"), "The pet's id."))),
        ("post", "/health-records/pets/{id}/records".into(), id(signed_in("A health record (the seed's alias)"), "The pet's id.").json_body(schema("PetMgmtRecordIn"))
            .answer(201, "The record.", ok(schema("PetMgmtRecord")))),
        ("put", "/health-records/records/{id}".into(), id(signed_in("A health record changed (the seed's alias)"), "The record's id.").json_body(schema("PetMgmtRecordIn"))
            .answer(200, "The record.", ok(schema("PetMgmtRecord")))),
        ("get", "/reminders".into(), paged(signed_in("Reminders, by date"))
            .query("status", false, json!({"enum": ["pending", "overdue", "completed", "all"], "default": "all"}), "Which.")
            .query("petId", false, json!({"type": "string", "format": "uuid"}), "One pet's.")
            .query("from", false, string(), "From.").query("to", false, string(), "To.")
            .answer(200, "A page.", listed("reminders", "PetMgmtReminder"))),
        ("post", "/reminders".into(), signed_in("A reminder").json_body(schema("PetMgmtReminderIn")).answer(201, "The reminder.", ok(schema("PetMgmtReminder")))),
        ("put", "/reminders/{id}".into(), id(signed_in("A reminder changed (`isCompleted: true` completes)"), "The reminder's id.").json_body(schema("PetMgmtReminderIn"))
            .answer(200, "The reminder.", ok(schema("PetMgmtReminder")))),
        ("delete", "/reminders/{id}".into(), id(signed_in("A reminder deleted"), "The reminder's id.").answer(200, "Deleted.", deleted())),
        ("post", "/reminders/{id}/complete".into(), id(signed_in("A reminder completed"), "The reminder's id.")
            .describe("A repeating reminder moves to its first occurrence after now (missed ones are skipped); a one-off one is completed.")
            .answer(200, "The reminder.", ok(schema("PetMgmtReminder")))),
        ("post", "/calendar/feed".into(), signed_in("The household's calendar feed (a new call replaces its token)")
            .answer(200, "The feed's address.", ok(object(&["feedUrl", "token"], json!({"feedUrl": string(), "token": string()}))))),
        ("get", "/calendar/feed.ics".into(), Operation::new("The calendar feed (no other credentials)")
            .query("token", true, string(), "The feed's token.")
            .answer_as(200, "RFC 5545, with `ETag`; 304 on `If-None-Match`.", "text/calendar", string())
            .answer(304, "Unchanged.", None)
            .answer(404, "A revoked or unknown token.", error())),
        ("get", "/calendar/events".into(), events(signed_in("The feed's items"))),
        ("post", "/calendar/sync".into(), sync(signed_in("Calendar sync"))),
        ("post", "/calendar/import".into(), signed_in("Reminders from a calendar file")
            .body("text/calendar", true, string())
            .answer(200, "Each VEVENT a reminder, by UID (importing again updates).", ok(object(&["imported", "updated", "skipped"], json!({"imported": {"type": "integer"}, "updated": {"type": "integer"}, "skipped": list_of(json!({"type": "object"}))}))))),
        ("post", "/integrations/calendar/sync".into(), sync(signed_in("Calendar sync (the spec's path)"))),
        ("get", "/integrations/calendar/events".into(), events(signed_in("The feed's items (the spec's path)"))),
        ("get", "/subscription/status".into(), signed_in("The household's plan, features and usage")
            .answer(200, "With billing off, `enterprise` and unlimited.", ok(json!({"type": "object", "properties": {"subscriptionTier": string(), "status": string(), "features": {"type": "object"}, "usage": {"type": "object"}}})))),
        ("post", "/subscription/upgrade".into(), signed_in("A Stripe subscription (owner)")
            .json_body(object(&["tier", "billingPeriod", "paymentMethodId"], json!({"tier": string(), "billingPeriod": {"enum": ["monthly", "yearly"]}, "paymentMethodId": string()})))
            .answer(200, "Stripe's answer.", ok(json!({"type": "object"})))
            .answer(402, "PAYMENT_FAILED with Stripe's message.", error())
            .answer(409, "BILLING_DISABLED: billing is off on this server.", error())
            .answer(502, "PAYMENT_PROVIDER_ERROR; nothing changed.", error())),
        ("post", "/subscription/cancel".into(), signed_in("The subscription cancelled").json_body(object(&[], json!({"atPeriodEnd": {"type": "boolean"}})))
            .answer(200, "Cancelled.", ok(json!({"type": "object"}))).answer(409, "BILLING_DISABLED.", error())),
        ("post", "/billing/stripe/webhook".into(), Operation::new("Stripe's webhook")
            .header("Stripe-Signature", true, "t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\">")
            .body("application/json", true, json!({"type": "object"}))
            .answer(200, "Applied once per event id (a replay says `duplicate`).", Some(object(&["received"], json!({"received": {"const": true}, "duplicate": {"type": "boolean"}}))))
            .answer(400, "INVALID_SIGNATURE.", error())),
        ("post", "/uploads/presigned-url".into(), signed_in("A one-time upload URL").json_body(object(&["filename", "contentType", "purpose"], json!({
            "filename": string(), "contentType": {"enum": ["image/jpeg", "image/png", "image/webp", "application/pdf"]},
            "purpose": {"enum": ["pet_profile_photo", "user_profile_photo", "health_record_attachment"]}, "size": {"type": "integer", "maximum": 10485760},
        }))).answer(200, "Where to PUT (or POST the form).", ok(object(&["uploadUrl", "fileKey", "expiresIn", "maxFileSize", "method", "fields"], json!({
            "uploadUrl": string(), "fileKey": string(), "expiresIn": {"const": 300}, "maxFileSize": {"const": 10485760}, "method": {"const": "PUT"}, "fields": {"type": "object"},
        })))).answer(413, "A declared size over 10 MiB.", error()).answer(415, "Another content type.", error())),
        ("put", "/uploads/{token}".into(), Operation::new("The upload's bytes (the one-time URL)")
            .path("token", string(), "The URL's one-time token.")
            .body("application/octet-stream", true, json!({"type": "string", "contentEncoding": "binary"}))
            .answer(204, "Kept until confirmed.", None).answer(403, "UPLOAD_URL_EXPIRED: after 300 s or a second use.", error())
            .answer(413, "More than 10 MiB; nothing kept.", error())),
        ("post", "/uploads/{token}".into(), Operation::new("The upload's bytes as S3's POST-policy form")
            .path("token", string(), "The URL's one-time token.")
            .body("multipart/form-data", true, object(&["file"], json!({"file": {"type": "string", "contentEncoding": "binary"}})))
            .answer(204, "Kept until confirmed.", None).answer(403, "UPLOAD_URL_EXPIRED.", error())
            .answer(413, "More than 10 MiB; nothing kept.", error())),
        ("post", "/uploads/confirm".into(), signed_in("An upload checked, processed and attached")
            .json_body(object(&["fileKey", "purpose"], json!({"fileKey": string(), "purpose": string(), "petId": string(), "healthRecordId": string()})))
            .answer(200, "Signed links to the optimised copy and its thumbnail.", ok(object(&["fileId", "url", "processed", "contentType", "size"], json!({
                "fileId": string(), "url": string(), "thumbnailUrl": {"type": ["string", "null"]}, "processed": {"const": true},
                "contentType": string(), "size": {"type": "integer"}, "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
            })))).answer(415, "The bytes are not of the declared type (the file is deleted).", error())),
        ("get", "/webhooks".into(), signed_in("Outgoing webhooks (owner)").answer(200, "The webhooks, without secrets.", ok(json!({"type": "object"})))),
        ("post", "/webhooks".into(), signed_in("An outgoing webhook (owner)")
            .json_body(object(&["url", "events"], json!({"url": string(), "events": list_of(string())})))
            .answer(201, "The secret, shown once.", ok(object(&["id", "url", "events", "secret"], json!({"id": string(), "url": string(), "events": list_of(string()), "secret": string()}))))),
        ("delete", "/webhooks/{id}".into(), id(signed_in("An outgoing webhook deleted"), "The webhook's id.").answer(200, "Deleted.", deleted())),
    ];
    Profile {
        tag: "compat: Pet Management",
        description: "The Pet Management Platform seed's contract (seed 003: no public implementation; its \
            architecture and API specification documents): what clients written against that spec call, under \
            `/compat/petmgmt/api/v1` (the seed's path) and again under `/compat/petmgmt/v1` (the spec's base URL). \
            camelCase JSON; every answer in the envelope `{\"success\": true, \"data\"}` or `{\"success\": false, \
            \"error\": {code, message, details?, retryAfter?, requestId}}` with `requestId` equal to `X-Request-ID`. \
            Hourly limits per user by tier (`X-RateLimit-*` on every answer) and 60 a minute per address on \
            `/auth/*`. It maps onto Petty's accounts, pets, care records, reminders, files and billing. Contract: \
            `shared/compat/petmgmt.md`; code: `crates/petty-compat/src/petmgmt.rs`."
            .into(),
        prefixes: &["/compat/petmgmt/api/v1", "/compat/petmgmt/v1"],
        trailing_slash: false,
        errors: Errors {
            schema: ERROR,
            unauthorized: "UNAUTHORIZED: \"Authentication required\" or \"Invalid or expired token\".",
            invalid: (400, "VALIDATION_ERROR with every failing field in body order, or INVALID_JSON."),
            not_found: "RESOURCE_NOT_FOUND, also for another household's.",
            too_many: "RATE_LIMIT_EXCEEDED with `retryAfter` and `Retry-After`.",
            too_many_shape: None,
        },
        schemas: vec![
            (ERROR, object(&["success", "error"], json!({"success": {"const": false}, "error": object(&["code", "message", "requestId"], json!({
                "code": {"enum": ["VALIDATION_ERROR", "INVALID_JSON", "UNAUTHORIZED", "INVALID_CREDENTIALS", "MFA_REQUIRED", "INVALID_MFA_CODE",
                    "TOKEN_REUSED", "PAYMENT_FAILED", "INSUFFICIENT_PERMISSIONS", "RESOURCE_NOT_FOUND", "CONFLICT", "BILLING_DISABLED",
                    "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "ACCOUNT_LOCKED", "RATE_LIMIT_EXCEEDED", "INTERNAL_ERROR",
                    "PAYMENT_PROVIDER_ERROR", "INVALID_SIGNATURE", "UPLOAD_URL_EXPIRED", "FILE_REJECTED", "METHOD_NOT_ALLOWED"]},
                "message": string(), "details": list_of(object(&["field", "message"], json!({"field": string(), "message": string()}))),
                "retryAfter": {"type": "integer"}, "requestId": string(),
            }))}))),
            ("PetMgmtPagination", object(&["page", "limit", "total", "totalPages"], json!({"page": {"type": "integer"}, "limit": {"type": "integer"}, "total": {"type": "integer"}, "totalPages": {"type": "integer"}}))),
            ("PetMgmtSession", ok(object(&["user", "accessToken", "refreshToken", "expiresIn"], json!({
                "user": schema("PetMgmtUser"), "accessToken": string(), "refreshToken": string(), "expiresIn": {"type": "integer"},
            }))).unwrap_or_default()),
            ("PetMgmtUser", object(&["id", "email", "firstName", "lastName", "subscriptionTier"], json!({
                "id": string(), "email": string(), "firstName": string(), "lastName": string(), "phone": {"type": ["string", "null"]},
                "timezone": string(), "subscriptionTier": string(), "profilePhotoUrl": {"type": ["string", "null"]},
                "mfaEnabled": {"type": "boolean"}, "role": string(), "createdAt": string(), "updatedAt": string(),
            }))),
            ("PetMgmtPetIn", object(&["name"], json!({
                "name": {"type": "string", "minLength": 1, "maxLength": 100}, "species": {"type": "string", "maxLength": 50},
                "breed": {"type": "string", "maxLength": 100}, "dateOfBirth": {"type": "string", "format": "date"},
                "weightKg": {"type": "number", "exclusiveMinimum": 0, "maximum": 999.99}, "microchipId": {"type": "string", "pattern": "^[A-Za-z0-9]{9,15}$"},
                "sex": {"enum": ["male", "female", "unknown"]}, "notes": string(),
            }))),
            ("PetMgmtPet", object(&["id", "name", "createdAt"], json!({
                "id": string(), "name": string(), "species": {"type": ["string", "null"]}, "breed": {"type": ["string", "null"]},
                "dateOfBirth": {"type": ["string", "null"]}, "weightKg": {"type": ["number", "null"]}, "microchipId": {"type": ["string", "null"]},
                "sex": string(), "notes": {"type": ["string", "null"]}, "profilePhotoUrl": {"type": ["string", "null"]},
                "vaccineStatus": {"enum": ["none", "up_to_date", "due", "overdue"]}, "createdAt": string(), "updatedAt": string(),
                "healthRecords": {"type": "object", "description": "On GET /pets/{id}: {total, recent}."},
                "upcomingReminders": {"type": "array", "description": "On GET /pets/{id}."}, "vaccinations": {"description": "On GET /pets/{id}."},
            }))),
            ("PetMgmtRecordIn", object(&["recordType", "title"], json!({
                "recordType": {"enum": ["vaccination", "medication", "visit", "surgery", "lab", "dental", "allergy", "other"]},
                "title": {"type": "string", "minLength": 1, "maxLength": 200}, "description": string(),
                "dateAdministered": {"type": "string", "format": "date"}, "veterinarian": string(),
                "cost": {"type": "number", "minimum": 0, "maximum": 99999999.99}, "attachments": list_of(json!({"type": "object"})),
                "vaccine": string(), "validUntil": {"type": "string", "format": "date"},
            }))),
            ("PetMgmtRecord", object(&["id", "petId", "recordType", "title"], json!({
                "id": string(), "petId": string(), "recordType": string(), "title": string(), "description": {"type": ["string", "null"]},
                "dateAdministered": {"type": ["string", "null"]}, "veterinarian": {"type": ["string", "null"]}, "cost": {"type": ["number", "null"]},
                "attachments": list_of(json!({"type": "object"})), "vaccine": {"type": ["string", "null"]}, "validUntil": {"type": ["string", "null"]},
                "createdAt": string(), "updatedAt": string(),
            }))),
            ("PetMgmtReminderIn", object(&["title", "reminderDate"], json!({
                "petId": string(), "title": string(), "description": string(), "reminderDate": {"type": "string", "description": "ISO 8601; no offset means the user's timezone."},
                "repeatInterval": {"enum": [null, "daily", "weekly", "monthly", "yearly"]},
                "notificationMethods": {"type": "array", "minItems": 1, "items": {"enum": ["email", "push", "sms"]}},
                "endsAt": string(), "isCompleted": {"type": "boolean"},
            }))),
            ("PetMgmtReminder", object(&["id", "title", "reminderDate", "isCompleted"], json!({
                "id": string(), "petId": {"type": ["string", "null"]}, "petName": {"type": ["string", "null"]}, "title": string(),
                "description": {"type": ["string", "null"]}, "reminderDate": string(), "repeatInterval": {"type": ["string", "null"]},
                "notificationMethods": list_of(string()), "isCompleted": {"type": "boolean"}, "completedAt": {"type": ["string", "null"]},
                "lastCompletedAt": {"type": ["string", "null"]}, "completedCount": {"type": "integer"}, "endsAt": {"type": ["string", "null"]},
                "timezone": string(), "source": {"enum": ["user", "vaccination"]}, "createdAt": string(), "updatedAt": string(),
            }))),
        ],
        operations,
    }
}
