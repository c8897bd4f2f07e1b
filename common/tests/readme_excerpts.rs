//! The code excerpts of the examples' READMEs (English and Chinese) are the
//! code: every line of a ```rust block stands, as written, in the sources it
//! is taken from (the example's own `src/`, `common/src/`, or `userdb/src/`). A comment at
//! the end of a line (after ` // `) is the README's, and a line that is only
//! a comment (`// ...` marks left-out code) is not checked.

use std::path::{Path, PathBuf};

const PACKAGES: &[&str] = &[
    "examples-inprocess-http",
    "examples-inprocess-grpc",
    "examples-inprocess-tracing",
    "examples-http",
    "examples-otlp",
    "examples-grpc-with-db",
    "examples-http-with-db",
    "examples-processes",
    "examples-provider",
];

#[test]
fn every_excerpt_line_is_in_the_sources() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut missing = Vec::new();
    let mut checked = 0;
    for package in PACKAGES {
        let mut sources = String::new();
        // The with-db examples' READMEs also quote their database crate.
        for dir in [
            root.join(package).join("src"),
            root.join("common/src"),
            root.join("userdb/src"),
        ] {
            for file in rust_files(&dir) {
                sources.push_str(&std::fs::read_to_string(&file).unwrap());
                sources.push('\n');
            }
        }
        let lines: Vec<&str> = sources.lines().map(str::trim).collect();
        for readme in ["README.md", "README.zh.md"] {
            let path = root.join(package).join(readme);
            let text = std::fs::read_to_string(&path).unwrap();
            for (number, line) in excerpt_lines(&text) {
                checked += 1;
                if !lines.contains(&line.as_str()) {
                    missing.push(format!("{package}/{readme}:{number}: {line}"));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} excerpt lines found");
    assert!(
        missing.is_empty(),
        "README excerpt lines not in the sources (copy them from the code):\n{}",
        missing.join("\n")
    );
}

/// The code lines of every ```rust block, with their line numbers, trimmed
/// and without a trailing README comment.
fn excerpt_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("```") {
            inside = !inside && line == "```rust";
            continue;
        }
        if !inside {
            continue;
        }
        let code = match line.find(" // ") {
            Some(at) => line[..at].trim_end(),
            None => line,
        };
        if code.is_empty() || code.starts_with("//") {
            continue;
        }
        out.push((i + 1, code.to_owned()));
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
