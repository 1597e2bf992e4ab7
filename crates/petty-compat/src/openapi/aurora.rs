//! The AURORA_LIFE seed's life-log contract (`shared/compat/aurora.md`) in the compatibility
//! document.

use serde_json::{Value, json};

use super::{Errors, Operation, Profile, list_of, object, schema, string};

const ERROR: &str = "AuroraError";

fn page_of(item: &str) -> Value {
    object(
        &["items", "total", "page", "page_size", "has_next", "total_pages"],
        json!({"items": list_of(schema(item)), "total": {"type": "integer"}, "page": {"type": "integer"},
               "page_size": {"type": "integer"}, "has_next": {"type": "boolean"}, "total_pages": {"type": "integer"}}),
    )
}

fn days(op: Operation) -> Operation {
    op.query(
        "days",
        false,
        json!({"type": "integer", "minimum": 1, "maximum": 3650, "default": 30}),
        "Days back from now.",
    )
}

fn at(op: Operation) -> Operation {
    op.query(
        "at",
        false,
        json!({"type": "string", "format": "date-time"}),
        "Predict from events strictly before this instant (default now), to backtest.",
    )
}

fn time_of_day(op: Operation) -> Operation {
    op.query(
        "time_of_day",
        false,
        json!({"enum": ["morning", "afternoon", "evening", "night"]}),
        "By default the caller's local time now decides.",
    )
}

fn id(op: Operation, what: &str) -> Operation {
    op.path("id", json!({"type": "string", "format": "uuid"}), what)
}

pub(super) fn profile() -> Profile {
    let error = || Some(schema(ERROR));
    // Every route of a person takes `user_id`, which must be the caller's (upstream used it for auth).
    let person = |summary: &str| {
        Operation::new(summary)
            .security(&["bearer", "api_key"])
            .query(
                "user_id",
                false,
                json!({"type": "string", "format": "uuid"}),
                "Upstream's way of naming the user: accepted, and must be the caller's id.",
            )
            .answer(
                403,
                "{\"detail\": \"Not allowed to access another user's data\"}: `user_id` names someone else.",
                error(),
            )
    };
    let tokens = || Some(schema("AuroraTokens"));
    let message = |text: &str| Some(object(&["message"], json!({"message": {"const": text}})));
    let ws = |summary: &str, description: &str| {
        Operation::new(summary)
            .describe(description)
            .query("token", false, string(), "The access token (a browser cannot set headers on a WebSocket).")
            .answer(101, "The connection is now a WebSocket; then `connected`, or a close with 1008 \"Missing authentication token\" / \"Invalid authentication token\".", None)
    };
    const WS: &str = "The seed's real-time updates on Petty's one WebSocket hub. On open: `{\"type\": \"connected\", \
        \"message\", \"channels\"}` (the person's `user:{id}:events`, `:predictions`, `:insights` and \
        `system:announcements`). Client: `{\"type\": \"ping\", \"timestamp\"}` → `pong` with it; `{\"type\": \
        \"subscribe\", \"channels\"}` → `{\"type\": \"subscribed\", \"channels\", \"rejected\"}` (the accepted set \
        replaces the current one); `unsubscribe` removes; other JSON is echoed as `{\"type\": \"echo\", \"data\"}`; \
        non-JSON → `{\"type\": \"error\", \"message\": \"Invalid JSON\"}`. Server pushes `{type, channel, data, \
        timestamp}`: `event_created`, `event_updated`, `event_deleted`, `prediction_updated`, `insight_generated`, \
        `pattern_detected`, `announcement`; a `heartbeat` every 30 s. A sign-out or a password change closes the \
        socket with 1008 within a second.";
    let operations: Vec<(&str, String, Operation)> = vec![
        ("post", "/auth/register".into(), Operation::new("Registration").json_body(schema("AuroraRegistration"))
            .answer(201, "Registered and signed in; a household owned by the user is created.", tokens())
            .answer(400, "{\"detail\": \"User with this email or username already exists\"}.", error())),
        ("post", "/compat/aurora/api/users".into(), Operation::new("Registration, answering the user alone (upstream's create route)")
            .json_body(schema("AuroraRegistration")).answer(201, "The user.", Some(schema("AuroraUser")))
            .answer(400, "Taken email or username.", error())),
        ("post", "/auth/login".into(), Operation::new("Sign-in (OAuth2 password form or JSON)")
            .describe("The web client's form (`username` may be the email) or the tests' JSON `{email | username, password}`; `otp` when TOTP is on.")
            .body("application/x-www-form-urlencoded", true, object(&["username", "password"], json!({"username": string(), "password": string(), "otp": string()})))
            .body("application/json", true, schema("AuroraLogin"))
            .answer(200, "Signed in.", tokens())
            .answer(401, "\"Incorrect email/username or password\", \"MFA code required\" or \"Invalid MFA code\".", error())
            .answer(429, "After 5 failures in 15 minutes for one name: \"Too many failed login attempts. Try again in N seconds.\" with `Retry-After`.", error())),
        ("post", "/auth/login/json".into(), Operation::new("Sign-in, JSON only").json_body(schema("AuroraLogin"))
            .answer(200, "Signed in.", tokens()).answer(401, "\"Invalid credentials\".", error())),
        ("post", "/auth/refresh".into(), Operation::new("A new token pair").describe("The presented refresh token is revoked; presenting a revoked one revokes its whole family.")
            .json_body(object(&["refresh_token"], json!({"refresh_token": string()})))
            .answer(200, "A new pair.", tokens()).answer(401, "\"Invalid refresh token\".", error())),
        ("post", "/auth/logout".into(), person("Sign-out").describe("Revokes the given refresh token's family, or every family of the caller without a body.")
            .body("application/json", false, object(&[], json!({"refresh_token": string()})))
            .answer(200, "Signed out.", message("Successfully logged out"))),
        ("post", "/auth/change-password".into(), person("Password change").describe("Every other sign-in is revoked.")
            .json_body(object(&["current_password", "new_password"], json!({"current_password": string(), "new_password": {"type": "string", "minLength": 8, "maxLength": 128}})))
            .answer(200, "Changed.", message("Password changed successfully"))
            .answer(400, "{\"detail\": \"Current password is incorrect\"}.", error())),
        ("get", "/auth/me".into(), person("The caller").answer(200, "The user.", Some(schema("AuroraUser")))),
        ("get", "/users/me".into(), person("The caller").answer(200, "The user.", Some(schema("AuroraUser")))),
        ("put", "/users/me".into(), person("The caller's profile").describe("`preferences` is merged into `profile_data.preferences`.")
            .json_body(object(&[], json!({"full_name": string(), "timezone": string(), "profile_data": {"type": "object"}, "preferences": {"type": "object"}})))
            .answer(200, "The user.", Some(schema("AuroraUser")))),
        ("get", "/events".into(), days(person("Life events, newest first"))
            .query("page", false, json!({"type": "integer", "minimum": 1, "default": 1}), "Page.")
            .query("page_size", false, json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}), "Events a page (`limit` is a synonym).")
            .query("limit", false, json!({"type": "integer", "minimum": 1, "maximum": 1000}), "Synonym of page_size.")
            .query("event_type", false, string(), "Only this type.")
            .query("start_time", false, json!({"type": "string", "format": "date-time"}), "Inclusive.")
            .query("end_time", false, json!({"type": "string", "format": "date-time"}), "Inclusive.")
            .answer(200, "A page.", Some(page_of("AuroraEvent")))),
        ("post", "/events".into(), person("A life event").json_body(schema("AuroraEventIn"))
            .answer(201, "Stored; it shows in Petty's life log too.", Some(schema("AuroraEvent")))),
        ("post", "/events/batch".into(), person("1 to 100 events, all or nothing")
            .json_body(object(&["events"], json!({"events": {"type": "array", "items": schema("AuroraEventIn"), "minItems": 1, "maxItems": 100}})))
            .answer(201, "The events in input order.", Some(list_of(schema("AuroraEvent"))))),
        ("get", "/events/stats/summary".into(), days(person("Totals over the last days"))
            .answer(200, "The summary.", Some(object(&["total_events", "event_types", "avg_impact", "total_energy_change", "total_mood_change", "period"], json!({
                "total_events": {"type": "integer"}, "event_types": {"type": "object", "additionalProperties": {"type": "integer"}},
                "avg_impact": {"type": "number"}, "total_energy_change": {"type": "number"}, "total_mood_change": {"type": "number"},
                "period": object(&["start", "end"], json!({"start": string(), "end": string()})),
            }))))),
        ("get", "/events/{id}".into(), id(person("An event"), "The event's id.").answer(200, "The event.", Some(schema("AuroraEvent")))
            .answer(404, "{\"detail\": \"Event not found\"}, also for a malformed id or another user's.", error())),
        ("put", "/events/{id}".into(), id(person("An event changed"), "The event's id.").json_body(schema("AuroraEventChange"))
            .answer(200, "The event, `updated_at` set and scores recomputed.", Some(schema("AuroraEvent")))),
        ("patch", "/events/{id}".into(), id(person("An event changed"), "The event's id.").json_body(schema("AuroraEventChange"))
            .answer(200, "The event, `updated_at` set and scores recomputed.", Some(schema("AuroraEvent")))),
        ("delete", "/events/{id}".into(), id(person("An event deleted"), "The event's id.").answer(204, "Deleted.", None)),
        ("get", "/timeline".into(), days(person("The timeline")).answer(200, "Newest first, at most 1000 entries.", Some(schema("AuroraTimeline")))),
        ("get", "/compat/aurora/api/timeline/{days}".into(), person("The timeline (the web client's route)")
            .path("days", json!({"type": "string", "pattern": "^[0-9]+d?$", "example": "30d"}), "Days back, as `30d`.")
            .answer(200, "The timeline.", Some(schema("AuroraTimeline")))),
        ("get", "/timeline/patterns/detect".into(), days(person("Sleep and activity patterns"))
            .answer(200, "The patterns found.", Some(object(&["user_id", "analysis_period_days", "events_analyzed", "patterns_found", "patterns"], json!({
                "user_id": string(), "analysis_period_days": {"type": "integer"}, "events_analyzed": {"type": "integer"},
                "patterns_found": {"type": "integer"}, "patterns": list_of(json!({"type": "object"})),
            }))))),
        ("get", "/predictions/energy".into(), at(time_of_day(person("Energy prediction"))).answer(200, "The prediction.", Some(schema("AuroraEnergy")))),
        ("get", "/predictions/mood".into(), at(person("Mood prediction")).answer(200, "The prediction.", Some(schema("AuroraMood")))),
        ("get", "/predictions/metrics".into(), person("The user's model metrics")
            .answer(200, "Nulls before any training.", Some(object(&["energy", "mood"], json!({"energy": {"type": "object"}, "mood": {"type": "object"}}))))),
        ("post", "/predictions/retrain".into(), person("Training, now").answer(202, "Training started.", Some(json!({"type": "object"})))),
        ("get", "/compat/aurora/api/ai/predict/energy/{user_id}".into(), time_of_day(person("Energy prediction (upstream's route)"))
            .path("user_id", json!({"type": "string", "format": "uuid"}), "The caller's id.")
            .answer(200, "The prediction.", Some(schema("AuroraEnergy")))),
        ("get", "/compat/aurora/api/ai/predict/mood/{user_id}".into(), person("Mood prediction (upstream's route)")
            .path("user_id", json!({"type": "string", "format": "uuid"}), "The caller's id.")
            .answer(200, "The prediction.", Some(schema("AuroraMood")))),
        ("post", "/compat/aurora/api/ai/predict/energy".into(), person("Energy prediction (the web client's route)")
            .json_body(object(&[], json!({"time_of_day": {"enum": ["morning", "afternoon", "evening", "night"]}})))
            .answer(200, "The prediction.", Some(schema("AuroraEnergy")))),
        ("post", "/compat/aurora/api/ai/predict/mood".into(), person("Mood prediction (the web client's route)")
            .json_body(object(&[], json!({"context": {}})))
            .answer(200, "The prediction.", Some(schema("AuroraMood")))),
        ("get", "/insights".into(), person("Insights, newest first")
            .query("page", false, json!({"type": "integer", "minimum": 1}), "Page.")
            .query("page_size", false, json!({"type": "integer", "minimum": 1}), "Insights a page.")
            .query("unread_only", false, json!({"type": "boolean"}), "Only unread ones.")
            .query("insight_type", false, string(), "Only this type.")
            .query("include_dismissed", false, json!({"type": "boolean"}), "Dismissed ones too.")
            .answer(200, "A page.", Some(page_of("AuroraInsight")))),
        ("post", "/insights/generate".into(), person("The insights that hold now")
            .json_body(object(&[], json!({"context": {"type": "string", "maxLength": 50}, "time_range_days": {"type": "integer", "minimum": 1, "maximum": 90, "default": 7}})))
            .answer(201, "The insights (`[]` with no events in range).", Some(list_of(schema("AuroraInsight"))))),
        ("get", "/insights/{id}".into(), id(person("An insight"), "The insight's id.").answer(200, "The insight.", Some(schema("AuroraInsight")))
            .answer(404, "{\"detail\": \"Insight not found\"}.", error())),
        ("post", "/insights/{id}/read".into(), id(person("An insight read"), "The insight's id.").answer(200, "`is_read` true.", Some(schema("AuroraInsight")))),
        ("patch", "/insights/{id}/read".into(), id(person("An insight read"), "The insight's id.").answer(200, "`is_read` true.", Some(schema("AuroraInsight")))),
        ("post", "/insights/{id}/dismiss".into(), id(person("An insight dismissed"), "The insight's id.").answer(200, "`is_dismissed` true.", Some(schema("AuroraInsight")))),
        ("patch", "/insights/{id}/dismiss".into(), id(person("An insight dismissed"), "The insight's id.").answer(200, "`is_dismissed` true.", Some(schema("AuroraInsight")))),
        ("get", "/compat/aurora/api/v1/ws".into(), ws("Real-time updates (WebSocket)", WS)),
        ("get", "/compat/aurora/ws/{user_id}".into(), ws("Real-time updates (WebSocket, upstream's route)", WS)
            .path("user_id", json!({"type": "string", "format": "uuid"}), "Must be the token's user, else a close with 1008.")),
        ("get", "/compat/aurora/health".into(), Operation::new("Health").answer(200, "Healthy.", Some(object(&["status", "service", "timestamp"], json!({
            "status": {"const": "healthy"}, "service": {"const": "aurora-life-api"}, "timestamp": string(), "environment": string(), "database": string(), "redis": string(),
        }))))),
        ("get", "/compat/aurora/health/ready".into(), Operation::new("Readiness")
            .answer(200, "Ready: the database and the event bus (in Redis's place).", Some(json!({"type": "object", "properties": {"status": {"const": "ready"}, "database": {"type": "object"}, "redis": {"type": "object"}, "checks": {"type": "object"}}})))
            .answer(503, "`\"status\": \"not_ready\"` when the database check fails.", Some(json!({"type": "object"})))),
        ("get", "/compat/aurora/health/live".into(), Operation::new("Liveness").answer(200, "Alive.", Some(object(&["status", "timestamp"], json!({"status": {"const": "alive"}, "timestamp": string()}))))),
        ("get", "/compat/aurora/health/detailed".into(), Operation::new("Readiness with the application and the system").security(&["bearer", "api_key"])
            .answer(200, "The ready fields plus `application` and `system`.", Some(json!({"type": "object", "properties": {"application": {"type": "object"}, "system": {"type": "object"}}})))),
    ];
    let user = object(
        &["id", "email", "username", "timezone", "role", "profile_data", "created_at"],
        json!({
            "id": {"type": "string", "format": "uuid"}, "email": string(), "username": string(), "full_name": {"type": ["string", "null"]},
            "timezone": string(), "is_active": {"type": "boolean"}, "is_verified": {"type": "boolean"}, "role": {"enum": ["user", "admin"]},
            "profile_data": object(&[], json!({"goals": {}, "values": {}, "preferences": {}, "life_state": {}})),
            "health_score": {"type": ["number", "null"]}, "energy_score": {"type": ["number", "null"]},
            "mood_score": {"type": ["number", "null"]}, "productivity_score": {"type": ["number", "null"]},
            "created_at": string(), "updated_at": {"type": ["string", "null"]}, "last_active": {"type": ["string", "null"]},
        }),
    );
    let event_fields = json!({
        "event_type": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,49}$", "description": "Trimmed and lower-cased first; e.g. sleep, exercise, emotion, work, meal."},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "event_time": {"type": "string", "description": "ISO 8601 (no offset means UTC), from 2000-01-01 to now + 24 h."},
        "event_category": {"type": "string", "maxLength": 50},
        "description": {"type": "string", "maxLength": 5000},
        "event_data": {"type": "object", "description": "At most 16 KiB serialised; echoed exactly."},
        "context": {"type": "object", "description": "At most 4 KiB serialised."},
        "duration_minutes": {"type": "integer", "minimum": 0, "maximum": 10080},
        "tags": {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 50}},
        "source": {"type": "string", "pattern": "^[a-z_]{1,30}$", "default": "manual"},
    });
    let mut event = event_fields.clone();
    if let Some(map) = event.as_object_mut() {
        for (name, value) in [
            ("id", json!({"type": "string", "format": "uuid"})),
            ("user_id", json!({"type": "string", "format": "uuid"})),
            ("end_time", json!({"type": ["string", "null"]})),
            ("impact_score", json!({"type": "number"})),
            ("energy_impact", json!({"type": "number"})),
            ("mood_impact", json!({"type": "number"})),
            ("created_at", string()),
            ("updated_at", json!({"type": ["string", "null"]})),
        ] {
            map.insert(name.into(), value);
        }
    }
    let prediction_common = json!({"user_id": string(), "confidence": {"type": "number"}, "explanation": {"type": "object"}, "model_version": string(), "generated_at": string()});
    let mut energy = json!({"time_of_day": string(), "prediction": {"type": "number", "minimum": 0, "maximum": 10}, "predicted_energy": {"type": "number"},
        "factors": list_of(string()), "recommendations": list_of(string())});
    let mut mood = json!({"prediction_class": {"enum": ["very_negative", "negative", "neutral", "positive", "very_positive"]},
        "predicted_mood_score": {"type": "number"}, "sentiment": {"enum": ["negative", "neutral", "positive"]},
        "class_probabilities": {"type": "object", "additionalProperties": {"type": "number"}}, "influencing_factors": list_of(string())});
    for target in [&mut energy, &mut mood] {
        if let (Some(map), Some(common)) = (target.as_object_mut(), prediction_common.as_object()) {
            map.extend(common.clone());
        }
    }
    Profile {
        tag: "compat: AURORA_LIFE",
        description: "The AURORA_LIFE seed's contract (seed 002: a FastAPI app with a Next.js client): what its web \
            client, integration tests and load-test script call. Routes live under `/compat/aurora/api/v1` and \
            again under `/compat/aurora/api`, each with and without a trailing slash (no redirects). Errors are \
            FastAPI's: `{\"detail\": \"...\"}` (401 with `WWW-Authenticate: Bearer`; 404, never 403 or 422, for \
            unknown, malformed and others' ids) and 422 `{\"detail\": [{type, loc, msg, input}]}` in field order. \
            Sliding 60-second limits: 100 requests, 10 predictions of each kind, 5 insight generations. An AURORA \
            user is a Petty user and a life event a Petty life event. Contract: `shared/compat/aurora.md`; code: \
            `crates/petty-compat/src/aurora.rs`."
            .into(),
        prefixes: &["/compat/aurora/api/v1", "/compat/aurora/api"],
        trailing_slash: true,
        errors: Errors {
            schema: ERROR,
            unauthorized: "{\"detail\": \"Not authenticated\"} without a token, \"Could not validate credentials\" for a bad, expired or revoked one; `WWW-Authenticate: Bearer`.",
            invalid: (
                422,
                "FastAPI's validation items, one per problem in field order (`json_invalid` at its byte offset).",
            ),
            not_found: "{\"detail\": \"Not Found\"} or the resource's own message, for a malformed id and another user's too.",
            too_many: "{\"detail\": {\"error\": \"Rate limit exceeded\", \"message\", \"retry_after\"}} with `Retry-After`.",
            too_many_shape: None,
        },
        schemas: vec![
            (
                ERROR,
                object(
                    &["detail"],
                    json!({"detail": {"oneOf": [
                        string(),
                        list_of(object(&["type", "loc", "msg"], json!({"type": string(), "loc": list_of(json!({"type": ["string", "integer"]})), "msg": string(), "input": {}}))),
                        object(&["error", "message", "retry_after"], json!({"error": string(), "message": string(), "retry_after": {"type": "integer"}})),
                    ]}}),
                ),
            ),
            ("AuroraUser", user),
            (
                "AuroraRegistration",
                object(
                    &["email", "username", "password"],
                    json!({
                        "email": {"type": "string", "maxLength": 254}, "username": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{3,50}$"},
                        "password": {"type": "string", "minLength": 8, "maxLength": 128}, "full_name": string(),
                        "timezone": {"type": "string", "default": "UTC", "description": "An IANA name."},
                    }),
                ),
            ),
            (
                "AuroraLogin",
                object(
                    &["password"],
                    json!({"email": string(), "username": string(), "password": string(), "otp": string()}),
                ),
            ),
            (
                "AuroraTokens",
                object(
                    &["access_token", "refresh_token", "token_type", "expires_in", "user"],
                    json!({
                        "access_token": string(), "refresh_token": string(), "token_type": {"const": "bearer"},
                        "expires_in": {"type": "integer", "description": "The access token's real lifetime (900 s by default)."}, "user": schema("AuroraUser"),
                    }),
                ),
            ),
            ("AuroraEventIn", object(&["event_type", "title", "event_time"], event_fields.clone())),
            ("AuroraEventChange", object(&[], event_fields)),
            (
                "AuroraEvent",
                object(
                    &[
                        "id",
                        "user_id",
                        "event_type",
                        "title",
                        "event_time",
                        "event_data",
                        "tags",
                        "source",
                        "created_at",
                    ],
                    event,
                ),
            ),
            (
                "AuroraTimeline",
                object(
                    &["user_id", "period_days", "total_events", "entries", "patterns"],
                    json!({
                        "user_id": string(), "period_days": {"type": "integer"}, "total_events": {"type": "integer"},
                        "entries": list_of(json!({"type": "object"})), "patterns": {},
                    }),
                ),
            ),
            (
                "AuroraEnergy",
                object(
                    &[
                        "user_id",
                        "time_of_day",
                        "prediction",
                        "predicted_energy",
                        "confidence",
                        "factors",
                        "recommendations",
                        "model_version",
                    ],
                    energy,
                ),
            ),
            (
                "AuroraMood",
                object(
                    &[
                        "user_id",
                        "prediction_class",
                        "predicted_mood_score",
                        "sentiment",
                        "confidence",
                        "class_probabilities",
                        "model_version",
                    ],
                    mood,
                ),
            ),
            (
                "AuroraInsight",
                object(
                    &[
                        "id",
                        "user_id",
                        "insight_type",
                        "title",
                        "content",
                        "priority",
                        "is_read",
                        "is_dismissed",
                        "created_at",
                    ],
                    json!({
                        "id": {"type": "string", "format": "uuid"}, "user_id": string(), "insight_type": string(), "category": string(),
                        "title": string(), "content": string(), "priority": {"enum": ["low", "medium", "high"]}, "confidence": {"type": "number"},
                        "is_read": {"type": "boolean"}, "is_dismissed": {"type": "boolean"}, "metadata": {"type": "object"}, "created_at": string(),
                    }),
                ),
            ),
        ],
        operations,
    }
}
