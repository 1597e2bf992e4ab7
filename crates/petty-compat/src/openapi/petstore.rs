//! The PetStore chat seed's contract (`shared/compat/petstore.md`) in the compatibility document.

use serde_json::json;

use super::{Errors, Operation, Profile, list_of, object, schema, string};

const ERROR: &str = "PetStoreError";

pub(super) fn profile() -> Profile {
    let error = || Some(schema(ERROR));
    let reader = |summary: &str| Operation::new(summary).security(&["bearer", "api_key"]);
    let query_body = || object(&[], json!({"query": {"type": "string", "maxLength": 500}}));
    let id = |op: Operation| {
        op.path("id", json!({"type": "string", "pattern": "^[0-9]+$"}), "The listing's number in this store.")
    };
    let forbidden = "{\"error\": \"Forbidden\"}: writes need a member or owner, or a key with write scope.";
    let operations = vec![
        ("get", "/pets".into(), reader("Every listing, by id")
            .describe("Without credentials, the server's public store when one is configured (`compat.petstore.public_store`).")
            .query("type", false, string(), "A species (synonyms normalised).")
            .query("status", false, json!({"enum": ["available", "pending", "sold", "adopted"]}), "Only this status.")
            .query("limit", false, json!({"type": "integer", "minimum": 1, "maximum": 1000}), "At most this many.")
            .query("offset", false, json!({"type": "integer", "minimum": 0}), "Skip this many.")
            .answer(200, "The listings; `X-Total-Count` gives the total.", Some(list_of(schema("PetStoreListing"))))),
        ("post", "/pets".into(), reader("A listing").json_body(schema("PetStoreListingIn"))
            .answer(201, "The stored listing.", Some(schema("PetStoreListing"))).answer(403, forbidden, error())),
        ("get", "/pets/{id}".into(), id(reader("A listing")).answer(200, "The listing.", Some(schema("PetStoreListing")))),
        ("put", "/pets/{id}".into(), id(reader("A listing changed")).json_body(schema("PetStoreListingIn"))
            .answer(200, "The listing with the given fields changed.", Some(schema("PetStoreListing"))).answer(403, forbidden, error())),
        ("delete", "/pets/{id}".into(), id(reader("A listing deleted")).answer(204, "Deleted.", None).answer(403, forbidden, error())),
        ("post", "/pets/query".into(), reader("A search in plain words")
            .describe("The query becomes one filters object (species, breeds, colours, age, price, weight, sex, sizes, name...), then the store is searched. 60 a minute per caller.")
            .body("application/json", false, query_body())
            .answer(200, "`count` matches before `limit`; `pets` the first `limit`.", Some(object(&["pets", "count", "filters_applied"], json!({
                "pets": list_of(schema("PetStoreListing")), "count": {"type": "integer"}, "filters_applied": {"type": "object"},
            }))))),
        ("post", "/pets/query/parse".into(), reader("The query's filters alone (nothing searched)")
            .body("application/json", false, query_body())
            .answer(200, "The deterministic parser's filters.", Some(object(&["filters", "source"], json!({"filters": {"type": "object"}, "source": {"const": "parser"}}))))),
    ];
    let listing_in = json!({
        "name": {"type": "string", "minLength": 1, "maxLength": 100}, "type": {"type": "string", "description": "A species: dog, cat, bird, fish, rabbit, ... (synonyms such as puppy normalised)."},
        "breed": {"type": "string", "default": "Mixed"}, "age": {"type": ["integer", "string"], "minimum": 0, "maximum": 50, "default": 1},
        "price": {"type": "number", "minimum": 0, "maximum": 1000000, "default": 100}, "color": string(),
        "sex": {"enum": ["male", "female"]}, "size": {"enum": ["small", "medium", "large", "xlarge"]},
        "status": {"enum": ["available", "pending", "sold", "adopted"]}, "description": string(),
    });
    let mut listing = listing_in.clone();
    if let Some(map) = listing.as_object_mut() {
        map.insert("id".into(), json!({"type": "string", "pattern": "^[0-9]+$"}));
        for (name, value) in [
            ("age_months", json!({"type": "integer"})),
            ("weight_kg", json!({"type": "number"})),
            ("photo_url", string()),
        ] {
            map.insert(name.into(), value);
        }
    }
    Profile {
        tag: "compat: PetStore",
        description: "The PetStore chat seed's contract (seed 004: one AWS Lambda behind API Gateway, a chat page and \
            an MCP gateway): what its chat page and MCP clients call, under `/compat/petstore`, over Petty's catalog. \
            Bare JSON bodies; errors are the Lambda's `{\"error\": \"<message>\"}`; every answer carries \
            `Access-Control-Allow-Origin: *` and `OPTIONS` on any path answers the preflight. The chat page itself \
            (`/compat/petstore/`) and the MCP endpoint (`/compat/petstore/mcp`, JSON-RPC described by MCP's \
            `tools/list`) are not REST operations. Contract: `shared/compat/petstore.md`; code: \
            `crates/petty-compat/src/petstore.rs`."
            .into(),
        prefixes: &["/compat/petstore"],
        trailing_slash: false,
        errors: Errors {
            schema: ERROR,
            unauthorized: "{\"error\": \"Authentication required\"} (no public store configured, or bad credentials).",
            invalid: (400, "E.g. \"Invalid JSON\", \"Missing required field: name\", \"Invalid pet type: <value>\"."),
            not_found: "{\"error\": \"Pet not found\"}.",
            too_many: "{\"error\": \"Too many requests\"} with `Retry-After`.",
            too_many_shape: None,
        },
        schemas: vec![
            (ERROR, object(&["error"], json!({"error": string()}))),
            ("PetStoreListingIn", object(&["name", "type"], listing_in)),
            ("PetStoreListing", object(&["id", "name", "type", "breed", "age", "price"], listing)),
        ],
        operations,
    }
}
