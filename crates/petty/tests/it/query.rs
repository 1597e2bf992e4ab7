//! `petty query`: a sentence asked of the catalog a running `petty serve` keeps in its SQLite
//! file, printed in words, as the filters object and as the listings found; `--json` for
//! scripts; and the household to ask named when more than one has a catalog.

use serde_json::{Value, json};

use super::support::Account;
use super::{petty, start, temp_dir};

#[tokio::test]
async fn a_sentence_asked_on_the_command_line_prints_its_filters_and_matches() {
    let dir = temp_dir("query");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("PETTY_RATE_LIMIT__ENABLED", "false");
    let mut server = start(cmd);
    let ana = Account::sign_up(&server, "ana@example.org").await;
    let out = petty(&dir).args(["query", "cheapest cat"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no household has a catalog yet"));

    for (name, species, breed, price) in [
        ("Shadow", "cat", "Domestic Shorthair", 75),
        ("Luna", "cat", "Persian", 450),
        ("Max", "dog", "German Shepherd", 800),
    ] {
        let body = json!({"name": name, "species": species, "breed": breed, "price": price});
        ana.send(reqwest::Method::POST, "/api/v1/catalog", &body, 201).await;
    }
    let out = petty(&dir).args(["query", "cheapest cat"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Understood by Petty's parser as: cat · cheapest first · top 1"), "{text}");
    assert!(
        text.contains(r#"Filters: {"limit":1,"sort_by":"price_asc","species":["cat"],"status":"available"}"#),
        "{text}"
    );
    assert!(text.contains("2 found, showing 1") && text.contains("Shadow") && !text.contains("Luna"), "{text}");

    let out = petty(&dir).args(["query", "--json", "cats under $500"]).output().unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let names: Vec<&str> = answer["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!((names, &answer["source"], &answer["total"]), (vec!["Luna", "Shadow"], &json!("parser"), &json!(2)));

    // A second household's catalog: the household must be named.
    let bo = Account::sign_up(&server, "bo@example.org").await;
    bo.send(reqwest::Method::POST, "/api/v1/catalog", &json!({"name": "Rex", "species": "dog"}), 201).await;
    let out = petty(&dir).args(["query", "dogs"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("name one with --household"));
    let out = petty(&dir).args(["query", "dogs", "--household", &bo.household]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Rex") && !text.contains("Max"), "{text}");

    server.terminate();
    server.wait_exit();
    let _ = std::fs::remove_dir_all(dir);
}
