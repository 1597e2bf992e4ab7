//! Tidy checks, run by `cargo test`: rules of the codebase that a reviewer would otherwise
//! have to remember. Each failure says what to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_path_buf()
}

fn crate_dirs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("crates"))
        .expect("crates/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_crate_is_in_the_codemap() {
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md exists");
    let mut missing: Vec<String> =
        crate_dirs().into_iter().filter(|c| !architecture.contains(&format!("`crates/{c}`"))).collect();
    if !architecture.contains("`xtask`") {
        missing.push("xtask".to_owned());
    }
    assert!(missing.is_empty(), "add these to ARCHITECTURE.md's codemap (as `crates/NAME`): {missing:?}");
}

/// `name -> dependency names`, from Cargo.lock.
fn lockfile_graph() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock exists");
    let mut graph = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut deps = Vec::new();
        let mut in_deps = false;
        for line in block.lines().map(str::trim) {
            if let Some(v) = line.strip_prefix("name = ") {
                name = Some(v.trim_matches('"').to_owned());
            } else if line.starts_with("dependencies = [") {
                in_deps = true;
            } else if in_deps && line.starts_with(']') {
                in_deps = false;
            } else if in_deps {
                // `"name"` or `"name 1.2.3"`.
                if let Some(dep) = line.trim_matches(|c| c == '"' || c == ',').split(' ').next() {
                    deps.push(dep.to_owned());
                }
            }
        }
        if let Some(name) = name {
            graph.entry(name).or_insert_with(Vec::new).extend(deps);
        }
    }
    graph
}

#[test]
fn the_core_depends_on_no_io_crate() {
    const IO_CRATES: &[&str] = &[
        "tokio",
        "mio",
        "async-std",
        "smol",
        "futures",
        "futures-util",
        "hyper",
        "axum",
        "reqwest",
        "sqlx",
        "sqlx-core",
        "libsqlite3-sys",
        "rustls",
        "socket2",
        "tower",
        "async-nats",
        "rumqttc",
        "serde_json",
        "serde",
    ];
    let graph = lockfile_graph();
    // Cargo.lock lists every target's dependencies; these only build for wasm32 in a browser.
    const WASM_ONLY: &[&str] = &["js-sys", "wasm-bindgen", "web-sys", "wasm-bindgen-futures"];
    let mut seen = BTreeSet::new();
    let mut stack = vec!["petty-core".to_owned()];
    while let Some(name) = stack.pop() {
        if WASM_ONLY.contains(&name.as_str()) {
            continue;
        }
        if seen.insert(name.clone()) {
            stack.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    let direct: BTreeSet<&str> = graph["petty-core"].iter().map(String::as_str).collect();
    let forbidden_direct: Vec<_> = direct.iter().filter(|d| IO_CRATES.contains(d)).collect();
    assert!(
        forbidden_direct.is_empty(),
        "petty-core must stay pure: remove {forbidden_direct:?} from its dependencies"
    );
    let io: Vec<_> = seen
        .iter()
        .filter(|d| IO_CRATES.contains(&d.as_str()) && !["serde", "serde_json"].contains(&d.as_str()))
        .collect();
    assert!(io.is_empty(), "petty-core pulls in I/O crates through {io:?}");

    let mut files = Vec::new();
    rust_files(&root().join("crates/petty-core/src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in ["std::fs", "std::net", "std::process", "std::env", "async fn", ".await", "tokio::"] {
            assert!(!text.contains(needle), "{} uses `{needle}`: petty-core does no I/O", file.display());
        }
    }
}

#[test]
fn every_rust_file_says_what_it_holds_and_no_mod_rs() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("xtask"), &mut files);
    let mut missing = Vec::new();
    for file in &files {
        assert!(
            file.file_name().is_none_or(|n| n != "mod.rs"),
            "{}: use `name.rs` beside `name/`, not mod.rs",
            file.display()
        );
        let text = std::fs::read_to_string(file).unwrap();
        if !text.trim_start().starts_with("//!") {
            missing.push(file.strip_prefix(root()).unwrap_or(file).display().to_string());
        }
    }
    assert!(missing.is_empty(), "start these files with a `//!` comment saying what lives there: {missing:?}");
}

#[test]
fn sql_lives_only_in_the_store() {
    let sql_crates: Vec<String> = normal_dependencies()
        .into_iter()
        .filter(|(name, _)| name != "petty-store")
        .flat_map(|(name, deps)| {
            deps.into_iter()
                .filter(|d| ["sqlx", "sqlx-core", "rusqlite", "libsqlite3-sys"].contains(&d.as_str()))
                .map(move |d| format!("{name} -> {d}"))
        })
        .collect();
    assert!(sql_crates.is_empty(), "only petty-store talks to the database; remove these dependencies: {sql_crates:?}");
    let mut files = Vec::new();
    for c in crate_dirs().iter().filter(|c| *c != "petty-store") {
        rust_files(&root().join("crates").join(c).join("src"), &mut files);
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("sqlx::"), "{} uses sqlx: all SQL lives in petty-store", file.display());
    }
}

/// `package name -> its normal dependencies` for every workspace member, from its Cargo.toml:
/// the `[dependencies]` tables (also per target), not dev- or build-dependencies.
fn normal_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let mut manifests: Vec<PathBuf> = crate_dirs().iter().map(|c| root().join("crates").join(c)).collect();
    manifests.push(root().join("xtask"));
    let mut graph = BTreeMap::new();
    for dir in manifests {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).expect("a member has a Cargo.toml");
        let (mut name, mut deps) = (None, BTreeSet::new());
        let mut section = String::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if line.starts_with('[') {
                section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
                // `[dependencies.name]` and `[target.'cfg(...)'.dependencies.name]`.
                if let Some((table, dep)) = section.rsplit_once("dependencies.")
                    && !table.ends_with("dev-")
                    && !table.ends_with("build-")
                {
                    deps.insert(dep.to_owned());
                }
                continue;
            }
            let key = line.split(['=', '.', ' ']).next().unwrap_or_default().to_owned();
            if section == "package" && key == "name" {
                name = line.split('"').nth(1).map(str::to_owned);
            } else if (section == "dependencies"
                || (section.starts_with("target.") && section.ends_with(".dependencies")))
                && key.starts_with(|c: char| c.is_ascii_alphanumeric())
            {
                deps.insert(key);
            }
        }
        graph.insert(name.unwrap_or_else(|| panic!("{}: no package name", dir.display())), deps);
    }
    graph
}

/// The workspace's crates and the only dependencies between them: the architecture, readable
/// in one place (ARCHITECTURE.md's codemap says why). The core decides, the store keeps, the
/// application layer runs the use cases, the jobs and the HTTP edge call it; the dashboard and
/// the compatibility profiles build on the edge; the binary composes everything.
const CRATE_GRAPH: &[(&str, &[&str])] = &[
    ("petty-core", &[]),
    ("petty-store", &["petty-core"]),
    ("petty-bus", &["petty-core"]),
    ("petty-notify", &["petty-core", "petty-store"]),
    ("petty-files", &["petty-core"]),
    ("petty-app", &["petty-core", "petty-store", "petty-bus", "petty-notify", "petty-files"]),
    ("petty-jobs", &["petty-core", "petty-store", "petty-bus", "petty-app"]),
    ("petty-sim", &["petty-core"]),
    ("petty-http", &["petty-core", "petty-store", "petty-bus", "petty-app", "petty-notify"]),
    ("petty-web", &["petty-core", "petty-store", "petty-app", "petty-http"]),
    ("petty-compat", &["petty-core", "petty-store", "petty-bus", "petty-app", "petty-http", "petty-notify"]),
    (
        "petty",
        &[
            "petty-core",
            "petty-store",
            "petty-bus",
            "petty-app",
            "petty-jobs",
            "petty-sim",
            "petty-http",
            "petty-web",
            "petty-compat",
        ],
    ),
    ("xtask", &[]),
];

#[test]
fn the_crate_graph_is_the_architecture() {
    let graph = normal_dependencies();
    let members: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    let listed: BTreeSet<&str> = CRATE_GRAPH.iter().map(|(name, _)| *name).collect();
    let unlisted: Vec<_> = members.difference(&listed).collect();
    assert!(unlisted.is_empty(), "add {unlisted:?} to CRATE_GRAPH in xtask/src/tidy.rs, with the crates it may use");
    let gone: Vec<_> = listed.difference(&members).collect();
    assert!(gone.is_empty(), "CRATE_GRAPH in xtask/src/tidy.rs lists crates that are gone: {gone:?}");
    let mut problems = Vec::new();
    for (name, allowed) in CRATE_GRAPH {
        let actual: BTreeSet<&str> = graph[*name].iter().map(String::as_str).filter(|d| members.contains(d)).collect();
        for dep in &actual {
            if !allowed.contains(dep) {
                problems.push(format!(
                    "new edge {name} -> {dep}: not in the architecture; depend the other way, move the shared \
                     piece down (petty-app, petty-core), or, if the architecture changes, add the edge to \
                     CRATE_GRAPH and say why in ARCHITECTURE.md"
                ));
            }
        }
        for dep in allowed.iter().filter(|d| !actual.contains(*d)) {
            problems.push(format!("edge {name} -> {dep} is gone: remove it from CRATE_GRAPH"));
        }
    }
    assert!(problems.is_empty(), "the crate graph changed:\n{}", problems.join("\n"));
}

#[test]
fn only_the_edge_knows_http() {
    const EDGE: &[&str] = &["petty-http", "petty-web", "petty-compat", "petty"];
    const HTTP_SERVER_CRATES: &[&str] =
        &["axum", "axum-core", "axum-extra", "hyper", "tower-http", "utoipa-axum", "utoipa-swagger-ui"];
    let graph = normal_dependencies();
    let mut problems = Vec::new();
    for (name, deps) in graph.iter().filter(|(name, _)| !EDGE.contains(&name.as_str())) {
        for dep in deps {
            if HTTP_SERVER_CRATES.contains(&dep.as_str()) {
                problems.push(format!("{name} -> {dep}: only {EDGE:?} serve HTTP"));
            }
            if EDGE.contains(&dep.as_str()) {
                problems.push(format!("{name} -> {dep}: below the edge, nothing depends on it"));
            }
        }
    }
    assert!(problems.is_empty(), "HTTP outside the edge crates:\n{}", problems.join("\n"));
}

#[test]
fn no_tracked_file_points_outside_the_repository() {
    // Spelled in two halves so this file does not match itself.
    let forbidden = [concat!("..", "/shared/"), concat!("/wo", "rk/")];
    let Ok(out) = std::process::Command::new("git").arg("-C").arg(root()).args(["ls-files", "-z"]).output() else {
        eprintln!("git is not available: skipping the check for paths outside the repository");
        return;
    };
    if !out.status.success() {
        eprintln!("not a git checkout: skipping the check for paths outside the repository");
        return;
    }
    let mut found = Vec::new();
    for name in String::from_utf8_lossy(&out.stdout).split('\0').filter(|n| !n.is_empty()) {
        if name == "Cargo.lock" || name.ends_with("/Cargo.lock") {
            continue;
        }
        // Deleted in the work tree but still in the index, or a binary file: nothing to read.
        let Ok(bytes) = std::fs::read(root().join(name)) else { continue };
        if bytes.contains(&0) {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for (i, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f)) {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "these lines name a path outside the repository; a clone does not have it, so bring what \
         they need into the repository (the bench anchors live in xtask/anchors) and refer to it \
         relative to the repository root:\n{}",
        found.join("\n")
    );
}
