//! The compatibility profiles' routes as an OpenAPI document of their own, served at
//! [`DOCUMENT_URL`] and shown in `/docs` beside Petty's API (the docs page's spec selector).
//!
//! A second document rather than more of `/api/v1/openapi.json`: the profiles answer in their
//! seeds' shapes (the Lambda's `{"error"}`, FastAPI's `detail` and 422 items, the Pet Management
//! envelope), read their inputs as leniently as the seeds did and keep their own rate limits, so
//! the canonical document's rules (one error shape, every operation's shared answers, what
//! Schemathesis checks against it in CI) do not hold for them. Each profile is one tag whose
//! description says which seed's clients use it and where its contract is; each route is
//! documented once, at its first prefix, and names the other addresses that answer it under
//! `x-also-at`. `crates/petty/tests/api/openapi.rs` checks that every route the application's
//! router holds under `/compat` is here (or left out on purpose) with exactly the methods it
//! answers.
//!
//! Architecture invariant: the document describes the profiles; it is not what serves them.

mod aurora;
mod carbon;
mod petmgmt;
mod petstore;
mod petty;

use serde_json::{Map, Value, json};

/// Where the document is served.
pub const DOCUMENT_URL: &str = "/api/v1/openapi-compat.json";
/// Its name in the docs page's selector.
pub const DOCUMENT_NAME: &str = "Compatibility profiles";

/// One operation, built up from its parts.
pub(crate) struct Operation(Map<String, Value>);

impl Operation {
    pub(crate) fn new(summary: &str) -> Self {
        let mut map = Map::new();
        map.insert("summary".into(), summary.into());
        map.insert("responses".into(), Value::Object(Map::new()));
        Operation(map)
    }

    pub(crate) fn describe(mut self, text: &str) -> Self {
        self.0.insert("description".into(), text.into());
        self
    }

    fn parameter(mut self, location: &str, name: &str, required: bool, schema: Value, description: &str) -> Self {
        let parameter =
            json!({"name": name, "in": location, "required": required, "schema": schema, "description": description});
        match self.0.get_mut("parameters").and_then(Value::as_array_mut) {
            Some(list) => list.push(parameter),
            None => {
                self.0.insert("parameters".into(), json!([parameter]));
            }
        }
        self
    }

    pub(crate) fn query(self, name: &str, required: bool, schema: Value, description: &str) -> Self {
        self.parameter("query", name, required, schema, description)
    }

    /// A path parameter, named as in the path's `{...}`.
    pub(crate) fn path(self, name: &str, schema: Value, description: &str) -> Self {
        self.parameter("path", name, true, schema, description)
    }

    pub(crate) fn header(self, name: &str, required: bool, description: &str) -> Self {
        self.parameter("header", name, required, json!({"type": "string"}), description)
    }

    /// A body of `content_type` (several: one `body` call each).
    pub(crate) fn body(mut self, content_type: &str, required: bool, schema: Value) -> Self {
        let body = self.0.entry("requestBody").or_insert_with(|| json!({"content": {}}));
        body["required"] = required.into();
        body["content"][content_type] = json!({ "schema": schema });
        self
    }

    pub(crate) fn json_body(self, schema: Value) -> Self {
        self.body("application/json", true, schema)
    }

    /// An answer with a JSON body (`schema`), or none.
    pub(crate) fn answer(self, status: u16, description: &str, schema: Option<Value>) -> Self {
        match schema {
            Some(schema) => self.answer_as(status, description, "application/json", schema),
            None => self.answer_empty(status, description),
        }
    }

    pub(crate) fn answer_as(mut self, status: u16, description: &str, content_type: &str, schema: Value) -> Self {
        self.0["responses"][status.to_string()] =
            json!({"description": description, "content": {content_type: {"schema": schema}}});
        self
    }

    fn answer_empty(mut self, status: u16, description: &str) -> Self {
        self.0["responses"][status.to_string()] = json!({"description": description});
        self
    }

    /// Credentials the operation asks for, by security scheme.
    pub(crate) fn security(mut self, schemes: &[&str]) -> Self {
        let list: Vec<Value> = schemes.iter().map(|s| json!({ *s: [] })).collect();
        self.0.insert("security".into(), Value::Array(list));
        self
    }

    fn has_status(&self, status: u16) -> bool {
        self.0["responses"].get(status.to_string()).is_some()
    }

    fn has_parameter(&self, location: &str) -> bool {
        self.0.get("parameters").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p["in"] == location))
    }
}

/// What a profile answers on every operation of a kind, in its own error shape.
pub(crate) struct Errors {
    /// `#/components/schemas/{schema}`: the profile's error body.
    pub schema: &'static str,
    /// With credentials asked for.
    pub unauthorized: &'static str,
    /// With a body or query parameters that break a rule: (status, when).
    pub invalid: (u16, &'static str),
    /// With an id in the path that names nothing of the caller's.
    pub not_found: &'static str,
    /// Past the profile's rate limit.
    pub too_many: &'static str,
    /// The 429's body when it is not the profile's error shape (the edge's, in Petty's).
    pub too_many_shape: Option<Value>,
}

/// One profile: its tag, its schemas and its operations.
pub(crate) struct Profile {
    pub tag: &'static str,
    pub description: String,
    /// The first prefix (where routes are documented) and the others that serve them too.
    pub prefixes: &'static [&'static str],
    /// Whether each route also answers with a trailing slash.
    pub trailing_slash: bool,
    pub errors: Errors,
    pub schemas: Vec<(&'static str, Value)>,
    /// `(method, path under the prefix or, from `/`, a full path, operation)`.
    pub operations: Vec<(&'static str, String, Operation)>,
}

/// A `$ref` to a schema of the document.
pub(crate) fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An object schema with `required` fields and `properties`.
pub(crate) fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

pub(crate) fn string() -> Value {
    json!({"type": "string"})
}

pub(crate) fn list_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

/// The compatibility document.
pub fn document() -> Value {
    let profiles = [petty::profile(), carbon::profile(), aurora::profile(), petmgmt::profile(), petstore::profile()];
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut tags = Vec::new();
    for profile in profiles {
        tags.push(json!({"name": profile.tag, "description": profile.description}));
        for (name, value) in profile.schemas {
            schemas.insert(name.into(), value);
        }
        for (method, path, operation) in profile.operations {
            let (full, also) = addresses(profile.prefixes, profile.trailing_slash, &path);
            let mut operation = complete(operation, &profile.errors);
            operation.0.insert("tags".into(), json!([profile.tag]));
            let item = paths.entry(full).or_insert_with(|| json!({}));
            if !also.is_empty() {
                item["x-also-at"] = json!(also);
            }
            item[method] = Value::Object(operation.0);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Petty compatibility profiles",
            "version": env!("CARGO_PKG_VERSION"),
            "license": {"name": "AGPL-3.0-or-later"},
            "description": "The seeds' own contracts, served by Petty over its canonical data so that \
                their clients (collar firmware, the ESP32, mobile and web apps) work unchanged. Each \
                profile answers in its seed's shapes, not Petty's: its errors are described with each \
                operation. A route is documented once, at its profile's first prefix; `x-also-at` on a \
                path names the other addresses that serve it. Petty's own API is the other document of \
                this page (/api/v1/openapi.json).",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                    "description": "A Petty access token, an API key pk_..., or (where a device sends) a device token dk_..."},
                "api_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "token_query": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
    })
}

/// Where a route is documented and the other addresses that serve it.
fn addresses(prefixes: &[&str], trailing_slash: bool, path: &str) -> (String, Vec<String>) {
    let full_paths: Vec<String> = match path.strip_prefix("/compat/") {
        Some(_) => vec![path.to_owned()],
        None => prefixes.iter().map(|p| format!("{p}{path}")).collect(),
    };
    let mut also: Vec<String> = full_paths.iter().skip(1).cloned().collect();
    if trailing_slash {
        also.extend(full_paths.iter().map(|p| format!("{p}/")));
    }
    (full_paths.first().cloned().unwrap_or_default(), also)
}

/// The profile's shared answers where the operation did not give its own.
fn complete(mut operation: Operation, errors: &Errors) -> Operation {
    let shape = schema(errors.schema);
    let secured = operation.0.get("security").is_some();
    let reads = operation.0.contains_key("requestBody") || operation.has_parameter("query");
    let add = |operation: Operation, status: u16, when: &str| {
        if operation.has_status(status) { operation } else { operation.answer(status, when, Some(shape.clone())) }
    };
    if secured {
        operation = add(operation, 401, errors.unauthorized);
    }
    if reads {
        operation = add(operation, errors.invalid.0, errors.invalid.1);
    }
    if operation.has_parameter("path") {
        operation = add(operation, 404, errors.not_found);
    }
    match &errors.too_many_shape {
        Some(own) if !operation.has_status(429) => operation.answer(429, errors.too_many, Some(own.clone())),
        _ => add(operation, 429, errors.too_many),
    }
}

/// Petty's own error body, which the edge answers before a profile sees the request.
pub(crate) fn petty_error() -> Value {
    object(
        &["error"],
        json!({"error": object(&["code", "message"], json!({
            "code": string(), "message": string(), "details": {}, "request_id": string(),
        }))}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        let doc = document();
        let text = doc.to_string();
        let mut missing = Vec::new();
        for (at, _) in text.match_indices("#/components/schemas/") {
            let rest = &text[at + "#/components/schemas/".len()..];
            let name = &rest[..rest.find('"').unwrap_or(rest.len())];
            if doc["components"]["schemas"].get(name).is_none() {
                missing.push(name.to_owned());
            }
        }
        assert!(missing.is_empty(), "references to nothing: {missing:?}");
    }

    #[test]
    fn every_operation_has_a_profile_tag_a_success_and_its_profiles_errors() {
        let doc = document();
        let tags: Vec<&str> = doc["tags"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(tags.len(), 5);
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap().iter().filter(|(k, _)| !k.starts_with("x-")) {
                count += 1;
                let label = format!("{method} {path}");
                assert!(tags.contains(&operation["tags"][0].as_str().unwrap()), "{label}");
                let statuses: Vec<u16> =
                    operation["responses"].as_object().unwrap().keys().map(|s| s.parse().unwrap()).collect();
                assert!(statuses.iter().any(|s| *s < 400), "{label}: no success answer");
                assert!(statuses.contains(&429), "{label}: every profile has a rate limit");
                if operation.get("security").is_some() {
                    assert!(statuses.contains(&401), "{label}");
                }
                for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                    let declared = operation["parameters"]
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path" && p["name"] == name));
                    assert!(declared, "{label}: the path parameter {name} is not declared");
                }
            }
        }
        assert!(count > 80, "{count} operations");
    }
}
