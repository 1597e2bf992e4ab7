//! `spawn_app()`: a Petty server on 127.0.0.1:0 with a fresh SQLite database;
//! `spawn_app_on(Engine::Postgres)`: the same on a fresh PostgreSQL database (when
//! `PETTY_TEST_POSTGRES_URL` is set); plus typed helpers for the calls most tests make.

use std::path::PathBuf;

use petty_app::files::StorageConfig;
use petty_http::{AppState, HttpConfig};

use crate::pg_database::PgDatabase;
use petty_store::Store;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub(crate) struct TestApp {
    pub address: String,
    pub client: Client,
    pub store: Store,
    /// The server's event bus, to publish what the binary's jobs would (liveness events).
    pub bus: petty_bus::Bus,
    /// The server's state, to run what the binary's jobs would (the analysis pass).
    pub state: AppState,
    /// The test's own folder (its SQLite file, its uploaded files under `files/`).
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    /// The PostgreSQL database this server runs on, dropped with it.
    database: Option<PgDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        // After the server has been told to stop: `WITH (FORCE)` ends its connections.
        self.database.take();
    }
}

/// The database engine a test server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

/// A test's own server with the default settings on `engine`; `None` when that engine is not
/// available here (PostgreSQL without `PETTY_TEST_POSTGRES_URL`).
pub(crate) async fn spawn_app_on(engine: Engine) -> Option<TestApp> {
    match engine {
        Engine::Sqlite => Some(spawn_app().await),
        Engine::Postgres => {
            let database = PgDatabase::create()?;
            let store = Store::connect(&database.url()).await.expect("connect to PostgreSQL");
            store.migrate().await.expect("migrate");
            init_logs();
            let dir = std::env::temp_dir().join(format!("petty-it-{}", uuid::Uuid::now_v7()));
            let mut config = HttpConfig::for_tests();
            config.files.storage = StorageConfig::Local { root: dir.join("files") };
            let mut app = spawn_on_store(store, config, dir).await;
            app.database = Some(database);
            Some(app)
        }
    }
}

/// A test's own server with the default settings.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Server logs go to the test output when `TEST_LOG` is set (`TEST_LOG=1 cargo test -- --nocapture`).
fn init_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt().with_env_filter("debug,sqlx=info").with_test_writer().try_init();
        }
    });
}

/// A test's own server, with settings adjusted by `configure`.
pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut HttpConfig)) -> TestApp {
    init_logs();
    let dir = std::env::temp_dir().join(format!("petty-it-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Store::open_sqlite(&dir.join("petty.db")).await.expect("open sqlite");
    store.migrate().await.expect("migrate");
    let mut config = HttpConfig::for_tests();
    // Uploaded files in a folder of the test's own, removed with it.
    config.files.storage = StorageConfig::Local { root: dir.join("files") };
    configure(&mut config);
    spawn_on_store(store, config, dir).await
}

/// A server on `store`, already migrated; `dir` is removed when it stops.
/// A second server on `first`'s database, configured by `configure` (its folder is `first`'s,
/// which `first` removes when it goes: keep `first` alive as long).
pub(crate) async fn spawn_beside(first: &TestApp, configure: impl FnOnce(&mut HttpConfig)) -> TestApp {
    let mut config = HttpConfig::for_tests();
    config.files.storage = StorageConfig::Local { root: first.dir.join("files") };
    configure(&mut config);
    let mut app = spawn_on_store(first.store.clone(), config, first.dir.join("beside")).await;
    app.dir = first.dir.join("beside");
    app
}

async fn spawn_on_store(store: Store, config: HttpConfig, dir: PathBuf) -> TestApp {
    let state = AppState::new(store.clone(), config);
    let bus = state.bus.clone();
    let app_state = state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(petty::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { address, client, store, bus, state: app_state, dir, stop: Some(stop), database: None }
}

/// A registered owner and their tokens.
pub(crate) struct Account {
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
    pub household_id: String,
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request")
    }

    /// Registers a new owner (a new household) with a unique email, and signs them in.
    pub(crate) async fn register(&self, name: &str) -> Account {
        let email = format!("{}-{}@example.org", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let password = "correct horse battery staple".to_owned();
        let res = self
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": email, "password": password, "display_name": name}),
                None,
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "register {name}");
        let res = self.login(&email, &password).await;
        assert_eq!(res.status(), StatusCode::OK, "sign in as {name}");
        let body: Value = res.json().await.expect("json");
        account(email, password, &body)
    }

    pub(crate) async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json("/api/v1/auth/login", &json!({"email": email, "password": password}), None).await
    }

    /// Creates a pet and returns its JSON.
    pub(crate) async fn create_pet(&self, token: &str, body: Value) -> Value {
        let res = self.post_json("/api/v1/pets", &body, Some(token)).await;
        assert_eq!(res.status(), StatusCode::CREATED, "create pet");
        res.json().await.expect("json")
    }
}

/// Reads an account out of a session answer.
pub(crate) fn account(email: String, password: String, body: &Value) -> Account {
    Account {
        email,
        password,
        access_token: body["access_token"].as_str().expect("access_token").to_owned(),
        refresh_token: body["refresh_token"].as_str().expect("refresh_token").to_owned(),
        household_id: body["membership"]["household_id"].as_str().expect("household id").to_owned(),
    }
}

/// The error code of an error answer.
pub(crate) async fn error_code(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let body: Value = res.json().await.expect("error body is JSON");
    (status, body["error"].clone())
}
