//! The Petty seed's collar contract (`shared/compat/petty.md`) in the compatibility document.

use serde_json::json;

use super::{Errors, Operation, Profile, list_of, object, schema, string};

const ERROR: &str = "PettyCollarError";

pub(super) fn profile() -> Profile {
    let collar_id = || json!({"type": "string", "pattern": "^[A-Z]{2}-\\d{3,6}$", "example": "SN-123456"});
    let error = || Some(schema(ERROR));
    let read = ["bearer", "api_key"];
    // An app's read of one collar: its id in the query, refused when empty, 404 when unknown.
    let of_collar = |summary: &str| {
        Operation::new(summary)
            .security(&read)
            .query("collar_id", true, collar_id(), "The collar's id.")
            .answer(400, "An empty or malformed collar_id.", error())
            .answer(404, "No such collar in the household.", error())
    };
    let operations =
        vec![
        (
            "post",
            "/ingest".into(),
            Operation::new("A collar's reading")
                .describe(
                    "The collar sends its device token (`Authorization: Bearer dk_...` or `X-API-Key`); a household \
                     API key of write scope or a signed-in member may send for any collar of the household. Types are \
                     read as pydantic's lax mode read them: whole floats and numeric strings for integers; `timestamp` \
                     as RFC 3339 with or without an offset, a bare date or Unix seconds.",
                )
                .security(&read)
                .json_body(schema("PettyCollarReading"))
                .answer(201, "Stored.", Some(schema("PettyIngestAnswer")))
                .answer(
                    400,
                    "\"Invalid JSON format\", \"Request body must be JSON object\" or the validation message.",
                    error(),
                )
                .answer(413, "The body is larger than 128 KiB.", error()),
        ),
        (
            "get",
            "/pet-timeline".into(),
            Operation::new("The rule-based timeline of the last 24 hours")
                .describe(
                    "Deep Sleep, Anxious Pacing and Playing Fetch by the seed's rules (model_version 1.0.0). With no \
                     data, `timeline` is empty and `metadata.message` says so.",
                )
                .security(&read)
                .query("collar_id", true, collar_id(), "The collar's id.")
                .answer(200, "The timeline.", Some(schema("PettyTimeline")))
                .answer(400, "\"Missing required parameter: collar_id\" (an over-long one is not echoed).", error()),
        ),
        (
            "post",
            "/submit-feedback".into(),
            Operation::new("Feedback on a timeline event")
                .describe("Stored with HTML-significant characters escaped and emails and phone numbers redacted.")
                .security(&read)
                .json_body(object(
                    &["event_id", "user_feedback"],
                    json!({
                        "event_id": {"type": ["string", "number"], "maxLength": 100},
                        "user_feedback": {"type": ["string", "number"], "maxLength": 1000},
                        "timestamp": {"type": ["string", "number"]},
                        "segment": {"type": "object", "description": "At most 64 KiB."},
                    }),
                ))
                .answer(
                    201,
                    "Stored.",
                    Some(object(
                        &["success", "feedback_id", "message", "request_id", "processing_time_ms"],
                        json!({"success": {"const": true}, "feedback_id": string(),
                               "message": {"const": "Feedback stored successfully"},
                               "request_id": string(), "processing_time_ms": {"type": "number"}}),
                    )),
                )
                .answer(400, "E.g. \"Validation error: Missing required field: event_id\".", error()),
        ),
        (
            "get",
            "/realtime".into(),
            of_collar("A collar's latest reading")
                .answer(200, "The latest reading.", Some(schema("PettyCollarReading"))),
        ),
        (
            "get",
            "/pet-plan".into(),
            of_collar("The pet's plan: goals, nutrition and health recommendations")
                .answer(
                    200,
                    "Petty's plan for the collar's pet.",
                    Some(object(
                        &["daily_goals", "nutrition_plan", "health_recommendations"],
                        json!({"daily_goals": {"type": "object"}, "nutrition_plan": {"type": "object"},
                               "health_recommendations": list_of(json!({}))}),
                    )),
                ),
        ),
        (
            "get",
            "/health".into(),
            Operation::new("Health").answer(
                200,
                "The service is up.",
                Some(object(
                    &["service", "status", "timestamp"],
                    json!({"service": {"const": "petty-api"}, "status": {"const": "healthy"}, "timestamp": string()}),
                )),
            ),
        ),
        (
            "get",
            "/ready".into(),
            Operation::new("Readiness").answer(
                200,
                "Ready.",
                Some(object(&["ready"], json!({"ready": {"type": "boolean"}}))),
            ),
        ),
        (
            "get",
            "/version".into(),
            Operation::new("Version").answer(
                200,
                "Petty's version.",
                Some(object(&["version"], json!({"version": string()}))),
            ),
        ),
    ];
    Profile {
        tag: "compat: Petty collar",
        description: "The Petty seed's contract (seed 000: AWS Lambdas): what its collar firmware, collar simulator \
            and Flutter app speak, under `/compat/petty` and again under `/compat/petty/v1`. Snake_case JSON; every \
            answer, whatever its status, in the seed's shape `{\"error\", \"request_id\"}` with \
            `Access-Control-Allow-Origin: *`; `OPTIONS` on each route answers its CORS preflight. A collar is a Petty \
            device of kind `collar` whose serial is its `collar_id`. Contract: `shared/compat/petty.md`; code: \
            `crates/petty-compat/src/petty.rs`."
            .into(),
        prefixes: &["/compat/petty", "/compat/petty/v1"],
        trailing_slash: false,
        errors: Errors {
            schema: ERROR,
            unauthorized: "{\"error\": \"Authentication required\"}: no credentials, or ones that are not valid.",
            invalid: (400, "A query parameter or the body broke a rule; `error` says which."),
            not_found: "Nothing of this id.",
            too_many: "The edge's rate limit, in the seed's shape.",
            too_many_shape: None,
        },
        schemas: vec![
            (ERROR, object(&["error"], json!({"error": string(), "request_id": string()}))),
            (
                "PettyCollarReading",
                object(
                    &["collar_id", "timestamp", "heart_rate", "activity_level", "location"],
                    json!({
                        "collar_id": collar_id(),
                        "timestamp": {"type": ["string", "number"], "description": "Not more than 1 hour ahead or 30 days old."},
                        "heart_rate": {"type": ["integer", "string"], "minimum": 30, "maximum": 300},
                        "activity_level": {"type": ["integer", "string"], "enum": [0, 1, 2, "0", "1", "2"],
                                           "description": "rest, active, vigorous"},
                        "location": object(&["type", "coordinates"], json!({
                            "type": {"const": "Point"},
                            "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                                            "description": "[lon, lat]; rounded to 6 decimals when stored"},
                        })),
                    }),
                ),
            ),
            (
                "PettyIngestAnswer",
                object(
                    &["success", "message", "request_id", "processing_time_ms"],
                    json!({"success": {"const": true}, "message": {"const": "Data processed successfully"},
                           "request_id": string(), "processing_time_ms": {"type": "number"}}),
                ),
            ),
            (
                "PettyTimeline",
                object(
                    &["collar_id", "timeline", "metadata"],
                    json!({
                        "collar_id": string(),
                        "timeline": list_of(object(&["timestamp", "behavior", "confidence", "event_id", "metadata"], json!({
                            "timestamp": string(),
                            "behavior": {"enum": ["Deep Sleep", "Anxious Pacing", "Playing Fetch"]},
                            "confidence": {"type": "number"},
                            "event_id": {"type": "string", "pattern": "^evt_[0-9a-f]{8}$"},
                            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        }))),
                        "metadata": object(&["data_points", "behaviors_detected", "analysis_time_ms", "average_confidence", "generated_at", "model_version"], json!({
                            "data_points": {"type": "integer"}, "behaviors_detected": {"type": "integer"},
                            "analysis_time_ms": {"type": "number"}, "ai_processing_time_ms": {"type": "number"},
                            "average_confidence": {"type": "number"}, "generated_at": string(),
                            "model_version": {"const": "1.0.0"}, "message": string(),
                        })),
                    }),
                ),
            ),
        ],
        operations,
    }
}
