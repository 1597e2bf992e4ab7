//! The `filter_pets` tool of the PetStore contract: the chat-completions request that offers it
//! to a model, and the model's call mapped onto the catalog's [`Filters`]. Unknown keys and
//! values of the wrong type, outside their enum or out of range are dropped, one by one; a
//! species the vocabulary does not know is dropped too.

use petty_core::catalog::{Filters, MAX_LIMIT, SortBy, Status, canonical_breeds, canonical_colors, canonical_species};
use serde_json::{Map, Value, json};

const INSTRUCTIONS: &str = "You help people find pets in a store's catalog. Call the filter_pets tool with the \
     filters the user's words ask for, and only those. Prices are in the store's currency; ages are in years.";

/// The tool's JSON Schema: upstream's five properties and Petty's additions.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type_filter": {"type": "string", "description": "The species, e.g. dog, cat, bird, fish"},
            "sort_by": {"type": "string", "enum": ["price_asc", "price_desc", "age_asc", "age_desc", "name", "newest"]},
            "max_price": {"type": "integer", "description": "The highest price"},
            "min_price": {"type": "integer", "description": "The lowest price"},
            "limit": {"type": "integer", "description": "How many pets to show (1-100)"},
            "breed": {"type": "string"},
            "color": {"type": "string"},
            "exclude_color": {"type": "string"},
            "min_age": {"type": "number", "description": "Youngest age in years"},
            "max_age": {"type": "number", "description": "Oldest age in years"},
            "status": {"type": "string", "enum": ["available", "pending", "sold", "adopted", "any"]},
            "name": {"type": "string"}
        }
    })
}

/// The chat-completions request for `query`, as the contract words it.
pub fn request(model: &str, query: &str) -> Value {
    json!({
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": format!(
                "User query: {query}\n\nAnalyze this query and call the filter_pets tool with appropriate parameters."
            )},
        ],
        "tools": [{"type": "function", "function": {
            "name": "filter_pets",
            "description": "Filter and sort pets based on user criteria",
            "parameters": schema(),
        }}],
        "tool_choice": "auto",
    })
}

/// The arguments of the answer's first `filter_pets` call, or why there is none.
pub fn arguments_of(answer: &Value) -> Result<Map<String, Value>, String> {
    let call =
        answer.pointer("/choices/0/message/tool_calls/0").ok_or_else(|| "the answer holds no tool call".to_owned())?;
    if call.pointer("/function/name").and_then(Value::as_str) != Some("filter_pets") {
        return Err("the answer's tool call is not filter_pets".to_owned());
    }
    let arguments = call.pointer("/function/arguments").ok_or_else(|| "the tool call has no arguments".to_owned())?;
    // The arguments are a JSON string by the API's definition; some servers send the object.
    let parsed = match arguments {
        Value::String(text) => {
            serde_json::from_str::<Value>(text).map_err(|_| "the arguments are not JSON".to_owned())?
        }
        other => other.clone(),
    };
    match parsed {
        Value::Object(map) => Ok(map),
        _ => Err("the arguments are not an object".to_owned()),
    }
}

/// The filters a `filter_pets` call asks for (every key checked on its own; bad ones dropped).
pub fn filters_from(args: &Map<String, Value>) -> Filters {
    let mut filters = Filters::default();
    let text = |key: &str| args.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let number = |key: &str| args.get(key).and_then(Value::as_f64).filter(|v| v.is_finite() && *v >= 0.0);
    if let Some(species) = text("type_filter").and_then(canonical_species).filter(|s| *s != "other") {
        filters.species.push(species.to_owned());
    }
    if let Some(sort) = text("sort_by").and_then(|s| SortBy::parse("sort_by", s).ok()) {
        filters.sort_by = Some(sort);
    }
    if let Some(max) = number("max_price").filter(|v| *v <= 1_000_000.0) {
        filters.price.upper(max, true);
    }
    if let Some(min) = number("min_price").filter(|v| *v <= 1_000_000.0) {
        filters.price.lower(min, true);
    }
    if let Some(limit) = args.get("limit").and_then(Value::as_u64).filter(|l| (1..=u64::from(MAX_LIMIT)).contains(l)) {
        filters.limit = limit as u32;
    }
    if let Some(breed) = text("breed") {
        filters.breeds = canonical_breeds(breed);
    }
    if let Some(color) = text("color") {
        filters.colors = canonical_colors(color);
    }
    if let Some(color) = text("exclude_color") {
        filters.exclude_colors = canonical_colors(color);
    }
    if let Some(min) = number("min_age").filter(|v| *v <= 50.0) {
        filters.age_years.lower(min, true);
    }
    if let Some(max) = number("max_age").filter(|v| *v <= 50.0) {
        filters.age_years.upper(max, true);
    }
    match text("status") {
        Some("any") => filters.status = None,
        Some(s) => {
            if let Ok(status) = Status::parse("status", s) {
                filters.status = Some(status);
            }
        }
        None => {}
    }
    if let Some(name) = text("name").filter(|n| n.chars().count() <= 100) {
        filters.name = Some(name.to_owned());
    }
    filters
}

/// The filters of a chat-completions answer, or why it gave none.
pub fn filters_of(answer: &Value) -> Result<Filters, String> {
    arguments_of(answer).map(|args| filters_from(&args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_maps_onto_the_filters_and_bad_values_are_dropped() {
        let answer = json!({"choices": [{"message": {"tool_calls": [{"type": "function", "function": {
            "name": "filter_pets",
            "arguments": "{\"type_filter\": \"puppy\", \"sort_by\": \"price_desc\", \"max_price\": 500, \
                          \"limit\": 1000, \"status\": \"any\", \"color\": \"Black\", \"min_age\": \"two\", \"extra\": 1}"
        }}]}}]});
        let filters = filters_of(&answer).unwrap();
        assert_eq!(filters.species, ["dog"]);
        assert_eq!(filters.sort_by, Some(SortBy::PriceDesc));
        assert_eq!(filters.price.lte, Some(500.0));
        assert_eq!(filters.limit, 10, "a limit out of range is dropped");
        assert_eq!(filters.status, None, "status any is null");
        assert_eq!(filters.colors, ["black"]);
        assert!(filters.age_years.is_empty(), "a string age is dropped");
    }

    #[test]
    fn no_call_another_tool_or_broken_arguments_give_no_filters() {
        assert!(filters_of(&json!({"choices": [{"message": {"content": "Here are some dogs"}}]})).is_err());
        let other =
            json!({"choices": [{"message": {"tool_calls": [{"function": {"name": "rm", "arguments": "{}"}}]}}]});
        assert!(filters_of(&other).is_err());
        let broken = json!({"choices": [{"message": {"tool_calls": [{"function": {"name": "filter_pets", "arguments": "{type"}}]}}]});
        assert!(filters_of(&broken).is_err());
    }

    #[test]
    fn the_filters_object_reads_back_what_it_wrote_and_names_what_is_wrong() {
        use crate::catalog::{filters_from_json, filters_json};
        let parsed =
            petty_core::catalog::parse("3 cheapest golden retrievers not black between $200 and $500, any status");
        let read = filters_from_json(&filters_json(&parsed)).unwrap();
        assert_eq!(read, parsed);
        assert_eq!(filters_from_json(&json!({"species": ["puppy"]})).unwrap().species, ["dog"]);
        assert_eq!(filters_from_json(&json!({"colour": ["black"]})).unwrap_err(), "colour is not a filter");
        assert_eq!(filters_from_json(&json!({"limit": 0})).unwrap_err(), "limit must be a whole number from 1 to 100");
        assert!(filters_from_json(&json!({"breeds": ["unicorn"]})).unwrap_err().contains("\"unicorn\" is not a name"));
    }
}
