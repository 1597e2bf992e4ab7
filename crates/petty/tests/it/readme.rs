//! The README works verbatim (issue 17). Its `sh`, `bash` and `console` blocks are read from
//! README.md when the test runs and run in order, in one `bash` session, against a fresh
//! `petty serve` started from the README's own server command on a free port in a temporary
//! folder (the commands run in that folder, so `petty import` finds its database). Only the
//! address (`localhost:8080`) and `cargo run --release --` (the built binary) are replaced.
//!
//! The README's conventions, which this test enforces:
//! - `<!-- readme-test: server (why) -->` before the block that starts the server;
//!   `<!-- readme-test: skip (why) -->` before a block that cannot run here. No block is left
//!   out silently, and a marker must stand just before a command block.
//! - Values flow between examples through shell variables (`export ACCESS_TOKEN=$(... | jq -r
//!   .access_token)`); an undefined one fails the command (`set -u`).
//! - Every `curl` must answer 2xx. A `# → ...` line after a command names what it answers: an
//!   optional status (`# → 202`), then JSON that must be contained in the last answer (objects:
//!   these keys with these values; arrays: each element found) or text the command must print.
//! - No fixed time stamps in commands: examples use times relative to now.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{clean_env, petty, start, temp_dir};

const MARKER: &str = "<!-- readme-test:";
/// The address the README's examples use, replaced by the test server's.
const README_ADDRESSES: [&str; 2] = ["localhost:8080", "127.0.0.1:8080"];
/// How the README runs the binary; the test runs the one cargo built.
const README_BINARY: &str = "cargo run --release --";

/// What the marker before a block says to do with it.
#[derive(Debug, PartialEq)]
enum Treatment {
    Run,
    Server,
    Skip(String),
}

/// A fenced command block of the README.
struct Block {
    /// The line of its opening fence.
    line: usize,
    treatment: Treatment,
    steps: Vec<Step>,
}

/// A block's lines, each with its line number in the README.
type Lines = Vec<(usize, String)>;

/// One command (its continuation lines joined) and what the README says it answers.
struct Step {
    line: usize,
    text: String,
    expect: Vec<Expect>,
}

struct Expect {
    line: usize,
    status: Option<u16>,
    answer: Answer,
}

enum Answer {
    Nothing,
    /// Contained in the last `curl` answer of the command.
    Json(Value),
    /// Printed by the command.
    Text(String),
}

/// One `curl` the session made, as the wrapper in [`PRELUDE`] logged it.
struct Call {
    status: u16,
    body: String,
}

/// Every command block of the README, with its marker's treatment. Panics on a marker that is
/// malformed, unknown or not just before a command block.
fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut pending: Option<(usize, Treatment)> = None;
    let mut open: Option<(usize, String, Lines)> = None;
    for (index, text) in readme.lines().enumerate() {
        let line = index + 1;
        if let Some(fence) = text.strip_prefix("```") {
            match open.take() {
                None => open = Some((line, fence.trim().to_owned(), Vec::new())),
                Some((start, lang, lines)) => {
                    let treatment = pending.take().map(|(_, t)| t);
                    if !matches!(lang.as_str(), "sh" | "bash" | "console") {
                        assert!(treatment.is_none(), "README.md:{start}: a readme-test marker before a `{lang}` block");
                        continue;
                    }
                    let steps = steps(&lang, &lines);
                    blocks.push(Block { line: start, treatment: treatment.unwrap_or(Treatment::Run), steps });
                }
            }
            continue;
        }
        if let Some((_, _, lines)) = open.as_mut() {
            lines.push((line, text.to_owned()));
        } else if let Some(rest) = text.trim().strip_prefix(MARKER) {
            assert!(pending.is_none(), "README.md:{line}: two readme-test markers before one block");
            pending = Some((line, treatment(line, rest)));
        } else if let Some((marker_line, _)) = &pending {
            assert!(
                text.trim().is_empty(),
                "README.md:{marker_line}: a readme-test marker must stand just before a block"
            );
        }
    }
    assert!(open.is_none() && pending.is_none(), "README.md: a block or marker left open at the end");
    blocks
}

fn treatment(line: usize, marker: &str) -> Treatment {
    let text = marker.trim().strip_suffix("-->").unwrap_or_else(|| panic!("README.md:{line}: end the marker with -->"));
    let (kind, why) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    let why = why.trim();
    assert!(
        why.len() > 2 && why.starts_with('(') && why.ends_with(')'),
        "README.md:{line}: a readme-test marker says why, in parentheses: <!-- readme-test: {kind} (why) -->"
    );
    match kind {
        "skip" => Treatment::Skip(why[1..why.len() - 1].to_owned()),
        "server" => Treatment::Server,
        other => panic!("README.md:{line}: unknown readme-test marker `{other}` (skip or server)"),
    }
}

/// The commands of a block. In `sh` and `bash`, `# → ...` lines are expectations of the command
/// before them; in `console`, commands start with `$ ` and other lines are what they print.
fn steps(lang: &str, lines: &Lines) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (line, text) in lines {
        let (line, trimmed) = (*line, text.trim());
        let command = if lang == "console" { trimmed.strip_prefix("$ ") } else { Some(text.as_str()) };
        if continued {
            let step = steps.last_mut().expect("a continued command");
            step.text.push('\n');
            step.text.push_str(command.unwrap_or(text));
        } else if let Some(expected) = trimmed.strip_prefix("# →") {
            let step = steps.last_mut().unwrap_or_else(|| panic!("README.md:{line}: `# →` follows no command"));
            step.expect.push(expectation(line, expected));
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        } else if let Some(command) = command {
            steps.push(Step { line, text: command.to_owned(), expect: Vec::new() });
        } else {
            let step = steps.last_mut().unwrap_or_else(|| panic!("README.md:{line}: output before any `$ ` command"));
            step.expect.push(Expect { line, status: None, answer: Answer::Text(trimmed.to_owned()) });
        }
        continued = trimmed.ends_with('\\');
    }
    steps
}

fn expectation(line: usize, text: &str) -> Expect {
    let text = text.trim();
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    let (status, rest) = match first.parse::<u16>() {
        Ok(status) if first.len() == 3 => (Some(status), rest.trim()),
        _ => (None, text),
    };
    let answer = if rest.is_empty() {
        Answer::Nothing
    } else if rest.starts_with('{') || rest.starts_with('[') {
        Answer::Json(
            serde_json::from_str(rest)
                .unwrap_or_else(|e| panic!("README.md:{line}: the answer shown is not JSON: {e}")),
        )
    } else {
        Answer::Text(rest.to_owned())
    };
    Expect { line, status, answer }
}

/// Whether `actual` holds everything `expected` says: an object's keys with their values, each
/// element of an array somewhere in it, numbers by value (92 is 92.0).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            expected.iter().all(|(key, value)| actual.get(key).is_some_and(|a| contains(a, value)))
        }
        (Value::Array(actual), Value::Array(expected)) => {
            expected.iter().all(|e| actual.iter().any(|a| contains(a, e)))
        }
        (Value::Number(a), Value::Number(e)) => a.as_f64().zip(e.as_f64()).is_some_and(|(a, e)| (a - e).abs() < 1e-9),
        _ => actual == expected,
    }
}

/// A literal time stamp (`2026-11-22T06:15:35Z`) in a command: it would age out of the default
/// read windows, so examples compute times from now instead.
fn fixed_time(text: &str) -> bool {
    let pattern = b"dddd-dd-ddT";
    text.as_bytes()
        .windows(pattern.len())
        .any(|window| window.iter().zip(pattern).all(|(c, p)| if *p == b'd' { c.is_ascii_digit() } else { c == p }))
}

/// The README's command with the test server's address and binary.
fn adapt(text: &str, address: &str) -> String {
    let text = text.replace(README_BINARY, "petty");
    README_ADDRESSES.iter().fold(text, |text, readme| text.replace(readme, address))
}

/// Runs before the README's commands: strict mode, `petty` as the built binary, and `curl`
/// wrapped so each call's status and answer are logged against the README line that made it,
/// while the command still sees curl's output as usual.
const PRELUDE: &str = r#"set -euo pipefail
petty() { "$README_PETTY" "$@"; }
curl() {
  local headers body
  headers=$(mktemp "$README_LOG/headers.XXXXXX")
  body=$(mktemp "$README_LOG/body.XXXXXX")
  printf '%s\t%s\t%s\n' "$README_LINE" "$headers" "$body" >> "$README_LOG/calls"
  command curl --max-time 120 -D "$headers" "$@" | tee "$body"
}
"#;

fn tool_present(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok_and(|out| out.status.success());
    if !found {
        assert!(std::env::var("CI").map_or(true, |v| v.is_empty()), "CI needs {name} to run the README's examples");
        eprintln!("skipped: the README's examples (no {name} on PATH)");
    }
    found
}

fn status_of(headers: &str) -> u16 {
    // The last status line: after a `100 Continue` or a redirect, the one that answered.
    headers
        .lines()
        .rfind(|line| line.starts_with("HTTP/"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim_end_matches('\\').trim()
}

#[test]
fn every_command_of_the_readme_works_against_a_fresh_server() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let blocks = blocks(&readme);
    if !["bash", "curl", "jq"].into_iter().all(tool_present) {
        return;
    }

    for step in blocks.iter().filter(|b| b.treatment == Treatment::Run).flat_map(|b| &b.steps) {
        assert!(
            !fixed_time(&step.text),
            "README.md:{}: a fixed time in `{}`; examples use times relative to now",
            step.line,
            first_line(&step.text)
        );
    }
    let servers: Vec<&Block> = blocks.iter().filter(|b| b.treatment == Treatment::Server).collect();
    assert_eq!(servers.len(), 1, "one block is marked readme-test: server");
    let server_block = servers[0];
    assert_eq!(server_block.steps.len(), 1, "README.md:{}: the server block is one command", server_block.line);
    let server_command = &server_block.steps[0].text;
    let args = server_command
        .strip_prefix(README_BINARY)
        .unwrap_or_else(|| panic!("README.md:{}: the server block runs `{README_BINARY} ...`", server_block.line));
    let dir = temp_dir("readme");
    let mut cmd = petty(&dir);
    cmd.args(args.split_whitespace()).args(["--listen", "127.0.0.1:0"]);
    eprintln!("README.md:{}: started as the test's server: {server_command} --listen 127.0.0.1:0", server_block.line);
    let mut server = start(cmd);

    let log = dir.join("readme-log");
    std::fs::create_dir_all(&log).unwrap();
    let mut script = PRELUDE.to_owned();
    let mut run: Vec<&Step> = Vec::new();
    for block in &blocks {
        match &block.treatment {
            Treatment::Server => continue,
            Treatment::Skip(why) => {
                eprintln!("README.md:{}: skipped ({why}): {}", block.line, first_line(&block.steps[0].text));
                continue;
            }
            Treatment::Run => eprintln!("README.md:{}: run (commands: {})", block.line, block.steps.len()),
        }
        for step in &block.steps {
            let line = step.line;
            let _ = write!(
                script,
                "README_LINE={line}\necho {line} >> \"$README_LOG/started\"\n{{\n{}\n}} > \"$README_LOG/out.{line}\" 2> \"$README_LOG/err.{line}\"\n",
                adapt(&step.text, &server.address)
            );
            run.push(step);
        }
    }
    assert!(run.len() >= 10, "the README's examples are found and run ({} commands)", run.len());

    let mut bash = Command::new("bash");
    clean_env(&mut bash);
    let out = bash
        .args(["-c", &script])
        .current_dir(&dir)
        .env("README_LOG", &log)
        .env("README_PETTY", env!("CARGO_BIN_EXE_petty"))
        .output()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(log.join(name)).unwrap_or_default();
    let started: Vec<usize> = read("started").lines().filter_map(|l| l.parse().ok()).collect();
    let mut calls: HashMap<usize, Vec<Call>> = HashMap::new();
    for record in read("calls").lines() {
        let mut fields = record.split('\t');
        let (Some(line), Some(headers), Some(body)) = (fields.next(), fields.next(), fields.next()) else { continue };
        let call = Call {
            status: status_of(&std::fs::read_to_string(headers).unwrap_or_default()),
            body: std::fs::read_to_string(body).unwrap_or_default(),
        };
        calls.entry(line.parse().unwrap()).or_default().push(call);
    }

    for step in run.iter().filter(|step| started.contains(&step.line)) {
        let (line, command) = (step.line, first_line(&step.text));
        let printed = read(&format!("out.{line}"));
        let calls = calls.remove(&line).unwrap_or_default();
        let status_expected = step.expect.iter().find_map(|e| e.status);
        for (index, call) in calls.iter().enumerate() {
            let expected = match status_expected {
                Some(status) if index + 1 == calls.len() => status.to_string(),
                _ => "2xx".to_owned(),
            };
            assert!(
                expected == call.status.to_string() || (expected == "2xx" && (200..300).contains(&call.status)),
                "README.md:{line}: `{command}` answered {} (expected {expected}): {}",
                call.status,
                call.body
            );
        }
        if !out.status.success() && started.last() == Some(&line) {
            panic!(
                "README.md:{line}: `{command}` failed ({}): {}{}",
                out.status,
                read(&format!("err.{line}")),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for expect in &step.expect {
            match &expect.answer {
                Answer::Nothing => {}
                Answer::Json(expected) => {
                    let body = calls.last().map(|c| c.body.as_str()).unwrap_or_else(|| {
                        panic!("README.md:{}: an answer is shown but `{command}` called no curl", expect.line)
                    });
                    let actual: Value = serde_json::from_str(body)
                        .unwrap_or_else(|e| panic!("README.md:{line}: `{command}` answered no JSON ({e}): {body}"));
                    assert!(
                        contains(&actual, expected),
                        "README.md:{}: `{command}` answered {actual}, which does not hold {expected}",
                        expect.line
                    );
                }
                Answer::Text(text) => assert!(
                    printed.contains(text.as_str()),
                    "README.md:{}: `{command}` printed {printed:?}, without {text:?}",
                    expect.line
                ),
            }
        }
        eprintln!("README.md:{line}: ok (curl answers checked: {}): {command}", calls.len());
    }
    assert!(out.status.success(), "the session failed before any command: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(started.len(), run.len(), "every command ran");

    server.terminate();
    let (ok, logs) = server.wait_exit();
    assert!(ok, "{logs:#?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_readme_conventions_are_read_as_documented() {
    let readme = "intro\n<!-- readme-test: skip (needs a broker) -->\n\n```sh\nmosquitto\n```\n```sh\ncurl -s x \\\n  -d '{}'\n# → 201 {\"a\": [1]}\n# → done\n```\n```json\n{}\n```\n";
    let parsed = blocks(readme);
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].treatment, Treatment::Skip("needs a broker".into()));
    let step = &parsed[1].steps[0];
    assert_eq!((step.line, step.text.as_str()), (8, "curl -s x \\\n  -d '{}'"));
    assert_eq!(step.expect[0].status, Some(201));
    assert!(
        matches!(&step.expect[0].answer, Answer::Json(v) if contains(&serde_json::json!({"a": [0, 1.0], "b": 2}), v))
    );
    assert!(matches!(&step.expect[1].answer, Answer::Text(t) if t == "done"));
    assert!(!contains(&serde_json::json!({"a": [2]}), &serde_json::json!({"a": [1]})));
    assert!(fixed_time("-d '{\"ts\":\"2026-11-22T06:15:35Z\"}'") && !fixed_time("$(date -u +%FT%TZ)"));
    let unmarked = std::panic::catch_unwind(|| blocks("<!-- readme-test: skip -->\n```sh\nx\n```\n"));
    assert!(unmarked.is_err(), "a skip without a reason is refused");
    let stray = std::panic::catch_unwind(|| blocks("<!-- readme-test: skip (why) -->\ntext\n```sh\nx\n```\n"));
    assert!(stray.is_err(), "a marker away from its block is refused");
}
