//! `petty mcp` over stdio, as an assistant starts it: the built binary spawned by a real MCP
//! client (rmcp's child-process transport) with an API key, on the data folder a `petty serve`
//! uses: `initialize`, `tools/list`, a `tools/call`, the key revoked between two calls; and a key
//! that is not valid stops it at once.

use std::process::Stdio;

use reqwest::Method;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use super::support::Account;
use super::{petty, start, temp_dir};

#[tokio::test]
async fn petty_mcp_serves_tools_on_stdin_and_stdout() {
    let dir = temp_dir("mcp-stdio");
    let mut cmd = petty(&dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", "household"]);
    let server = start(cmd);
    let ana = Account::sign_up(&server, "mcp-stdio@example.org").await;
    ana.create_pet("Biscuit").await;
    ana.create_pet("Pepper").await;
    let created = ana.send(Method::POST, "/api/v1/api-keys", &json!({"name": "Assistant", "scope": "read"}), 201).await;
    let key = created["key"].as_str().expect("a key").to_owned();

    // As the README's Claude Desktop configuration starts it: the server's data folder, the key
    // from the environment.
    let mut cmd = petty(&dir);
    cmd.args(["mcp", "--data-dir", "household"]).env("PETTY_API_KEY", &key);
    let (transport, _) = TokioChildProcess::builder(tokio::process::Command::from(cmd))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn petty mcp");
    let mcp = ClientConfig::default().serve(transport).await.expect("initialize over stdio");
    let info = mcp.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("petty"));
    let tools = mcp.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "list_pets"), "{tools:?}");
    let result = mcp.call_tool(CallToolRequestParams::new("list_pets")).await.expect("tools/call");
    assert_ne!(result.is_error, Some(true));
    let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("text");
    let pets: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(pets["total"], 2, "the household's two pets: {pets}");

    // Revoked through the server while the session is open: the next call is refused.
    let id = created["id"].as_str().expect("the key's id");
    let res = ana.http.delete(ana.url(&format!("/api/v1/api-keys/{id}"))).bearer_auth(&ana.access).send().await;
    assert_eq!(res.unwrap().status(), 204);
    let result = mcp.call_tool(CallToolRequestParams::new("list_pets")).await.expect("tools/call");
    assert_eq!(result.is_error, Some(true));
    let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("text");
    let error: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(error["error"]["code"], "unauthenticated", "{error}");
    let _ = mcp.cancel().await;

    // A key that is not valid: it says so on stderr and exits, with nothing on stdout.
    let mut cmd = petty(&dir);
    let output = cmd
        .args(["mcp", "--data-dir", "household", "--api-key", "pk_not_a_key"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "stdout is only for the protocol");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid"), "{stderr}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
