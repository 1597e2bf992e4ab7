//! The Car-Bon seed's air-monitor contract (`shared/compat/carbon.md`) in the compatibility
//! document.

use serde_json::{Value, json};

use super::{Errors, Operation, Profile, list_of, object, schema, string};

const ERROR: &str = "CarbonError";

fn param(op: Operation, name: &str, description: &str) -> Operation {
    op.query(name, true, string(), description)
}

fn sensor_values() -> Value {
    object(
        &["temperature", "humidity", "CO", "CO_PPM"],
        json!({"temperature": {}, "humidity": {}, "CO": {}, "CO_PPM": {"type": "number", "description": "Petty's ppm through the MQ-7 curve and the device's calibration"}}),
    )
}

pub(super) fn profile() -> Profile {
    let creds = ["bearer", "api_key", "token_query"];
    let secured = |summary: &str| Operation::new(summary).security(&creds);
    let written =
        |item: Value| object(&["Item", "write_successful"], json!({"Item": item, "write_successful": {"const": true}}));
    let operations = vec![
        (
            "post",
            "/Dynamo/item".into(),
            param(param(param(param(secured("A reading from the ESP32"), "item_id", "The monitor's serial."), "Temp", "Temperature, as sent."), "Hum", "Humidity, as sent."), "CO", "The MQ-7's raw reading.")
                .answer(201, "Stored; the values echoed as given.", Some(written(object(
                    &["device_id", "timestamp", "temperature", "humidity", "CO"],
                    json!({"device_id": string(), "timestamp": {"type": "integer", "description": "Unix seconds"}, "temperature": string(), "humidity": string(), "CO": string()}),
                )))),
        ),
        (
            "get",
            "/Dynamo/items".into(),
            param(param(param(secured("Readings in a time range"), "item_id", "The monitor's serial."), "from_timestamp", "Unix seconds, inclusive."), "to_timestamp", "Unix seconds, inclusive.")
                .answer(200, "The readings.", Some(object(&["Results", "Metadata"], json!({
                    "Results": list_of(schema("CarbonReading")),
                    "Metadata": object(&["count"], json!({"count": {"type": "integer"}})),
                })))),
        ),
        (
            "get",
            "/Dynamo/items/latest".into(),
            param(secured("The latest reading"), "item_id", "The monitor's serial.")
                .answer(200, "The latest reading.", Some(schema("CarbonReading")))
                .answer(404, "No reading yet, or no such monitor.", Some(schema(ERROR))),
        ),
        (
            "get",
            "/Dynamo/items/{item_id}/{timestamp}".into(),
            secured("The reading at one second")
                .path("item_id", string(), "The monitor's serial.")
                .path("timestamp", json!({"type": "integer"}), "Unix seconds.")
                .answer(200, "The reading.", Some(schema("CarbonReading")))
                .answer(404, "No reading then.", Some(schema(ERROR))),
        ),
        (
            "get",
            "/Dynamo/tables".into(),
            secured("The seed's table names").answer(200, "Always these two.", Some(json!({"const": ["CarBon_Data", "user_table"]}))),
        ),
        (
            "post",
            "/user/new".into(),
            param(param(param(param(secured("A user of a monitor, with contacts"), "name", "The user's name."), "registered_device_id", "The monitor's serial."), "personal_contact", "A national phone number."), "country", "A country name such as India or United States.")
                .answer(201, "Stored; each user its own ULID.", Some(written(object(
                    &["id", "name", "registered_device_id", "personal_contact", "secondary_contacts", "emergency_contacts"],
                    json!({"id": {"type": "string", "description": "A ULID"}, "name": string(), "registered_device_id": string(),
                           "personal_contact": {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"},
                           "secondary_contacts": list_of(string()), "emergency_contacts": list_of(string())}),
                )))),
        ),
        (
            "get",
            "/user/contacts".into(),
            param(secured("A user's contacts"), "user_id", "The user's ULID.")
                .answer(200, "The contacts.", Some(object(&["personal_contact", "secondary_contacts"], json!({"personal_contact": string(), "secondary_contacts": list_of(string())}))))
                .answer(404, "No such user.", Some(schema(ERROR))),
        ),
        (
            "post",
            "/notify/send_sms".into(),
            param(param(secured("An SMS to a user's contacts"), "user_id", "The user's ULID."), "message", "The text.")
                .answer(200, "A summary of the sent message.", Some(json!({"type": "object", "properties": {"message_body": string(), "receiver": string(), "status": string(), "sid": string(), "date_created": string()}})))
                .answer(404, "No such user.", Some(schema(ERROR))),
        ),
        (
            "post",
            "/notify/make_call".into(),
            param(secured("A voice call to a user"), "user_id", "The user's ULID.")
                .answer(200, "A summary of the call.", Some(json!({"type": "object", "properties": {"to": string(), "status": string(), "sid": string()}})))
                .answer(404, "No such user.", Some(schema(ERROR))),
        ),
        (
            "get",
            "/graph/generate".into(),
            param(param(secured("The CO chart"), "start_date", "ISO 8601."), "end_date", "ISO 8601.")
                .query("graph_type", false, json!({"enum": ["Line", "Bar"], "default": "Line"}), "The kind of chart.")
                .query("device", false, json!({"type": "string", "default": "ESP32"}), "The monitor's serial.")
                .answer(200, "An SVG chart titled \"Carbon monoxide Data\" of CO ppm over the range.", Some(object(&["base64_data"], json!({"base64_data": {"type": "string", "pattern": "^data:image/svg\\+xml;charset=utf-8;base64,"}})))),
        ),
    ];
    Profile {
        tag: "compat: Car-Bon",
        description: "The Car-Bon seed's contract (seed 001: a FastAPI app): what its ESP32 firmware and its React \
            and Dash clients speak, under `/compat/carbon`. Every input is a query parameter; errors are FastAPI's \
            `{\"detail\"}` (422 items `{loc, msg, type}`). Upstream had no authentication: Petty asks for the \
            monitor's device token as `?token=dk_...` (the ESP32 can only set the URL), `X-API-Key` or a bearer \
            token; a household API key or a member's access token works for the whole household. `item_id` is the \
            serial of a Petty device of kind `air_monitor`. Contract: `shared/compat/carbon.md`; code: \
            `crates/petty-compat/src/carbon.rs`."
            .into(),
        prefixes: &["/compat/carbon"],
        trailing_slash: false,
        errors: Errors {
            schema: ERROR,
            unauthorized: "No credentials, or ones that are not valid (`detail` says how to pass the device token).",
            invalid: (422, "A parameter is missing or malformed: FastAPI's items, every one of them."),
            not_found: "Nothing there.",
            too_many: "The edge's rate limit, in Petty's error shape (`Retry-After` says when to try again).",
            too_many_shape: Some(super::petty_error()),
        },
        schemas: vec![
            (
                ERROR,
                object(
                    &["detail"],
                    json!({"detail": {"oneOf": [string(), list_of(object(&["loc", "msg", "type"], json!({
                        "loc": list_of(json!({"type": ["string", "integer"]})), "msg": string(), "type": string(),
                    })))]}}),
                ),
            ),
            (
                "CarbonReading",
                object(
                    &["device_id", "timestamp", "sensor_values"],
                    json!({
                        "device_id": string(), "timestamp": {"type": "integer", "description": "Unix seconds"}, "sensor_values": sensor_values(),
                    }),
                ),
            ),
        ],
        operations,
    }
}
