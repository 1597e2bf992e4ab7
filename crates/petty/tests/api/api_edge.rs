//! The edge every request crosses: error shape, malformed bodies, body limits, request ids,
//! security headers, rate limits, health, metrics, the OpenAPI document and the docs page.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{error_code, spawn_app, spawn_app_with};

#[tokio::test]
async fn malformed_bodies_name_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    let post_to = |path: &'static str, body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url(path))
            .bearer_auth(&ana.access_token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let post = |body: &'static str, content_type: &'static str| post_to("/api/v1/pets", body, content_type);

    let (status, error) =
        error_code(post(r#"{"name": "Bella", "species": "dog",}"#, "application/json").await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_request")));

    let (status, error) = error_code(
        post(r#"{"name": "Bella", "species": "dog", "weight_kg": "heavy"}"#, "application/json").await.unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
        (Some("weight_kg"), Some("type"))
    );

    let (status, error) = error_code(post(r#"{"species": "dog"}"#, "application/json").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
        (Some("name"), Some("required"))
    );

    let (status, error) =
        error_code(post(r#"{"name": "Bella", "species": "dog", "wieght_kg": 3}"#, "application/json").await.unwrap())
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["details"][0]["rule"], "unknown_field");

    let (status, error) =
        error_code(post(r#"{"name": "Bella", "species": "dragon"}"#, "application/json").await.unwrap()).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("species")));

    let (status, _) = error_code(post(r#"name=Bella"#, "application/x-www-form-urlencoded").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // serde alone fills a struct from an array, field by field: every body must be an object.
    let (status, error) =
        error_code(post(r#"["Bella", "dog", null, null, null, null, null]"#, "application/json").await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
        (Some("body"), Some("type"))
    );
    let (status, error) =
        error_code(post_to("/api/v1/insights/generate", "[null]", "application/json").await.unwrap()).await;
    assert_eq!((status, error["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("body")));

    let list: Value = app.get("/api/v1/pets", Some(&ana.access_token)).await.json().await.unwrap();
    assert_eq!(list["total"], 0, "no bad request created anything");
}

#[tokio::test]
async fn an_unknown_query_parameter_is_refused_by_name_on_every_list() {
    let app = spawn_app().await;
    let ana = app.register("Ana").await;
    // A misspelt filter must not quietly answer the unfiltered list.
    for path in [
        "/api/v1/pets?speceis=dog",
        "/api/v1/files?pet=1",
        "/api/v1/reminders?petid=x",
        "/api/v1/life-events?limit=3",
        "/api/v1/alarms?statu=open",
        "/api/v1/files?=false",
    ] {
        let res = app.get(path, Some(&ana.access_token)).await;
        let (status, error) = error_code(res).await;
        let name =
            path.split_once('?').and_then(|(_, q)| q.split('=').next()).filter(|n| !n.is_empty()).or(Some("query"));
        assert_eq!(
            (status, error["details"][0]["field"].as_str(), error["details"][0]["rule"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, name, Some("unknown_field")),
            "{path}: {error}"
        );
    }
    let ok = app.get("/api/v1/files?page=1&page_size=5", Some(&ana.access_token)).await;
    assert_eq!(ok.status(), StatusCode::OK, "known parameters still pass");
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = spawn_app_with(|c| c.max_body_bytes = 1024).await;
    let ana = app.register("Ana").await;
    let notes = "x".repeat(4096);
    let res = app
        .post_json("/api/v1/pets", &json!({"name": "Bella", "species": "dog", "notes": notes}), Some(&ana.access_token))
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_errors_carry_it() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/nothing-here", None).await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
    assert!(!res.headers().contains_key("referrer-policy"), "document-only headers stay off API answers");
    let (status, error) = error_code(res).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["request_id"], id.as_str());

    // A caller's own id is kept, so logs line up across services.
    let res = app.client.get(app.url("/healthz")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc-123");

    let res = app.client.put(app.url("/api/v1/pets")).send().await.unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
}

#[tokio::test]
async fn a_burst_gets_429_with_rate_limit_headers() {
    let app = spawn_app_with(|c| {
        c.rate_limit.per_ip_per_minute = 1000;
        c.rate_limit.per_principal_per_minute = 10;
    })
    .await;
    let ana = app.register("Ana").await;
    let mut statuses = Vec::new();
    let mut last_ok_remaining = None;
    for _ in 0..15 {
        let res = app.get("/api/v1/pets", Some(&ana.access_token)).await;
        if res.status() == StatusCode::OK {
            assert_eq!(res.headers()["x-ratelimit-limit"], "10");
            last_ok_remaining = Some(res.headers()["x-ratelimit-remaining"].to_str().unwrap().to_owned());
        } else {
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
            let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry));
            assert!(res.headers().contains_key("x-ratelimit-reset"));
            let (_, error) = error_code(res).await;
            assert_eq!(error["code"], "rate_limited");
            statuses.push(429);
            continue;
        }
        statuses.push(200);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(last_ok_remaining.as_deref(), Some("0"));

    // Per-address limit, before authentication.
    let app = spawn_app_with(|c| c.rate_limit.per_ip_per_minute = 3).await;
    let codes: Vec<u16> = statuses_of(&app, "/api/v1/me", 5).await;
    assert_eq!(codes, [401, 401, 401, 429, 429]);
}

async fn statuses_of(app: &crate::harness::TestApp, path: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(app.get(path, None).await.status().as_u16());
    }
    out
}

/// Issue 13: a flood from one address must not fail a load balancer's health check.
#[tokio::test]
async fn health_checks_are_never_rate_limited() {
    let app = spawn_app_with(|c| c.rate_limit.per_ip_per_minute = 2).await;
    assert_eq!(statuses_of(&app, "/api/v1/me", 4).await, [401, 401, 429, 429], "the address is over its allowance");
    for path in ["/healthz", "/readyz", "/compat/petty/health", "/compat/petty/v1/ready"] {
        let codes = statuses_of(&app, path, 10).await;
        assert!(codes.iter().all(|c| *c == 200), "{path}: {codes:?}");
    }
    assert_eq!(statuses_of(&app, "/api/v1/me", 1).await, [429], "health checks did not reset the allowance");
}

/// Issue 13: clients choose methods and paths, not metric labels. Before, each odd method was
/// a new series (1,000 requests with 4,000-character methods grew /metrics to 70 MB).
#[tokio::test]
async fn odd_methods_and_paths_leave_metrics_bounded() {
    let app = spawn_app().await;
    let marker = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    for i in 0..300 {
        let method = format!("{marker}{}", "X".repeat(1000 + i * 10));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let path = match i % 3 {
            0 => format!("/api/v1/pets/{}", uuid::Uuid::new_v4()),
            1 => format!("/{marker}/{i}"),
            _ => format!("/api/v1/{marker}-{i}?q={marker}"),
        };
        let res = app.client.request(method, app.url(&path)).send().await.unwrap();
        let (status, error) = error_code(res).await;
        assert!(status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND, "{status}");
        assert!(error["code"].is_string() && error["request_id"].is_string());
        // Odd paths with ordinary methods too.
        app.get(&format!("/{marker}-{i}/{}", "y".repeat(2000)), None).await;
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(!metrics.contains(&marker), "no client text becomes a label");
    let known = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];
    let mut series = 0;
    for line in metrics.lines().filter(|l| l.starts_with("petty_http_requests_total{")) {
        series += 1;
        let method = line.split("method=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
        assert!(known.contains(&method), "method label {method:?}");
        let status = line.split("status=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
        assert!(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()), "{status}");
        let route = line.split("route=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
        assert!(route == "unmatched" || route.starts_with('/'), "{route}");
        assert!(!route.contains("xxx") && !route.contains("yyy") && route.len() < 100, "{route}");
    }
    let other = metrics.lines().filter(|l| l.contains(r#"method="OTHER""#) && !l.contains("_bucket")).count();
    // The metrics are the test process's (every test's server counts into one recorder), so
    // the bound is loose; per odd request it would be thousands of lines and megabytes.
    assert!(other < 100, "{other} OTHER series");
    assert!(series < 2_000, "{series} series");
    assert!(metrics.len() < 2 * 1024 * 1024, "{} bytes of metrics", metrics.len());
}

/// Sends `head` (and nothing more) on a new connection and reads one answer: its status line,
/// its headers and its body.
async fn raw_exchange(address: &str, head: &str) -> (u16, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&received);
            if let Some((headers, body)) = text.split_once("\r\n\r\n") {
                let length = headers
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok());
                if length.is_some_and(|length| body.len() >= length) {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read).await.expect("an answer within 10 s");
    let text = String::from_utf8_lossy(&received).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, headers.to_owned(), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Issue 13: every error the API answers has the error shape, including the ones no handler
/// writes: the body limit's 413 on a form, an unknown method's 405, and the request timeout's
/// 503 on a body that arrives too slowly (it was empty).
#[tokio::test]
async fn limits_answer_in_the_error_shape() {
    let app = spawn_app_with(|c| {
        c.max_body_bytes = 1024;
        c.request_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let res = app
        .client
        .post(app.url("/hooks/twilio/voice/some-token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("Digits=1&pad={}", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    assert_eq!((error["request_id"].as_str(), error["details"].as_array().map(Vec::len)), (Some(id.as_str()), Some(0)));

    let res = app.client.request(reqwest::Method::from_bytes(b"BREW").unwrap(), app.url("/api/v1/pets")).send();
    let (status, error) = error_code(res.await.unwrap()).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
    let (status, error) = error_code(app.get("/api/v1/no/such/thing", None).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // Half a body, then nothing: the timeout answers in the shape (and says why).
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nhost: petty\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"email\": ";
    let (status, headers, body) = raw_exchange(&app.address, head).await;
    assert_eq!(status, 503, "{headers}");
    assert!(headers.to_ascii_lowercase().contains("content-type: application/json"), "{headers}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("did not complete within 1 s"), "{body}");
    assert!(body["error"]["request_id"].is_string());
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let health: Value = app.get("/healthz", None).await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready: Value = app.get("/readyz", None).await.json().await.unwrap();
    assert_eq!((ready["status"].as_str(), ready["database"].as_str()), (Some("ready"), Some("sqlite")));
    app.get("/api/v1/pets", None).await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("petty_http_requests_total"), "{metrics}");
    assert!(metrics.contains(r#"route="/api/v1/pets""#));
    assert!(metrics.contains(r#"status="401""#));
    assert!(metrics.contains("petty_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("petty_db_pool_connections"));

    // Once the database is gone, the node is not ready.
    app.store.close().await;
    let (status, error) = error_code(app.get("/readyz", None).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")));
}

#[tokio::test]
async fn openapi_document_and_docs_page_are_served_offline() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json", None).await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/pets",
        "/api/v1/pets/{id}",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/me",
        "/api/v1/api-keys",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("PetOut").is_some());
    assert!(doc["components"]["securitySchemes"].get("bearer").is_some());

    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "the docs page must not load anything from the internet");
    for asset in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"] {
        let res = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
    }
    let init = app.client.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(init.contains("/api/v1/openapi.json"));
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app_with(|c| c.cors_allowed_origins = vec!["https://app.example.org".to_owned()]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/pets"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let ok = preflight("https://app.example.org").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://app.example.org");
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    // Without configuration, no cross-origin access at all.
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).header("origin", "https://app.example.org").send().await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn browsers_get_a_page_for_unknown_addresses_and_clients_get_json() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/no-such-page")).header("accept", "text/html,*/*").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let res = app.client.get(app.url("/api/v1/no-such-thing")).header("accept", "text/html").send().await.unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

/// Reads until the server closes the connection (`true`), or `within` passes (`false`).
async fn closed_within(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, until_closed).await.is_ok()
}

async fn connect(app: &crate::harness::TestApp) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap()
}

/// Sends one whole request on `stream` and reads its answer's status.
async fn one_request(stream: &mut tokio::net::TcpStream) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: petty\r\n\r\n").await.ok()?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            received.extend_from_slice(&buf[..n]);
            if received.windows(2).any(|w| w == b"}\n") || received.ends_with(b"}") {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), read).await.ok()?;
    String::from_utf8_lossy(&received).split(' ').nth(1)?.parse().ok()
}

/// Issue 13: a client that sends half a header line and then nothing (slowloris) is
/// disconnected after the header-read timeout; before, it held its connection for ever.
#[tokio::test]
async fn a_slow_header_is_disconnected() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(|c| {
        c.header_read_timeout = std::time::Duration::from_secs(1);
        c.idle_timeout = std::time::Duration::from_secs(60);
    })
    .await;
    let mut stream = connect(&app).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: pet").await.unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut stream, std::time::Duration::from_secs(5)).await, "still open after 5 s");
    assert!(started.elapsed() >= std::time::Duration::from_millis(800), "closed before its time");
    // A client that sends its head at once is served as ever.
    assert_eq!(one_request(&mut connect(&app).await).await, Some(200));
}

/// Issue 13: a keep-alive connection that goes quiet after its answer is closed after the idle
/// timeout.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|c| {
        c.header_read_timeout = std::time::Duration::from_secs(60);
        c.idle_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let mut stream = connect(&app).await;
    assert_eq!(one_request(&mut stream).await, Some(200));
    assert!(closed_within(&mut stream, std::time::Duration::from_secs(5)).await, "still open after 5 s idle");
}

/// Issue 13: one address holds at most `max_connections_per_ip` connections; the next is closed
/// at once, and a place frees up when one of them closes.
#[tokio::test]
async fn connections_per_address_are_capped() {
    let app = spawn_app_with(|c| {
        c.max_connections_per_ip = 3;
        c.header_read_timeout = std::time::Duration::from_secs(60);
        c.idle_timeout = std::time::Duration::from_secs(60);
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&app).await;
        assert_eq!(one_request(&mut stream).await, Some(200));
        open.push(stream);
    }
    let mut extra = connect(&app).await;
    assert_eq!(one_request(&mut extra).await, None, "the fourth connection is not served");
    assert!(closed_within(&mut extra, std::time::Duration::from_secs(2)).await);
    for stream in &mut open {
        assert_eq!(one_request(stream).await, Some(200), "the three keep being served");
    }
    drop(open.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(one_request(&mut connect(&app).await).await, Some(200), "a closed connection frees its place");
}
