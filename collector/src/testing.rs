//! Helpers for tests that run the example binaries as real processes against
//! this collector: a runner with a hard time limit, a port nothing listens
//! on, and a "black hole" that accepts connections and never answers.

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::task::JoinHandle;

/// What a finished process left behind.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
}

/// A command for an example binary, with every `OTEL_*` variable and
/// `TRACE_TOKEN` removed so the caller's environment cannot leak in.
pub fn example_command(binary: &str) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        let is_config = name
            .to_str()
            .is_some_and(|n| n.starts_with("OTEL_") || n == "TRACE_TOKEN");
        if is_config {
            command.env_remove(name);
        }
    }
    command
}

/// Runs `command` to completion, killing it if it is still running after
/// `limit`; stdin is closed, stdout and stderr are captured.
pub async fn run(command: &mut Command, limit: Duration) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("{command:?} still running after {limit:?}; killed"))??;
    Ok(Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    })
}

/// A loopback port that nothing listens on (bound, then released).
pub fn closed_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A server that accepts every connection and never sends a byte: the
/// worst case for an exporter's shutdown.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl BlackHole {
    /// Starts listening on a free loopback port.
    pub async fn start() -> anyhow::Result<BlackHole> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Ok(BlackHole { addr, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks that a process reported a failed delivery to `url` the way every
/// example must: non-zero exit, exactly one `error:` line on stderr that
/// names the URL and says how to start a collector. Returns that line.
pub fn delivery_failure(out: &Finished, url: &str) -> Result<String, String> {
    if out.status.success() {
        return Err(format!("exited successfully:\n{}", out.stderr));
    }
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    let [line] = errors.as_slice() else {
        return Err(format!("expected one `error:` line:\n{}", out.stderr));
    };
    let prefix = "error: could not deliver ";
    if !line.starts_with(prefix) || !line.contains(&format!(" to {url}: ")) {
        return Err(format!("the line does not name {url}: {line}"));
    }
    if !line.contains("cargo run -p collector") {
        return Err(format!(
            "the line does not say how to start a collector: {line}"
        ));
    }
    Ok((*line).to_owned())
}

/// The fenced code block that follows `marker` in a README, so a test can
/// check that the sample output there is what the code prints.
pub fn readme_sample<'a>(readme: &'a str, marker: &str) -> Option<&'a str> {
    let after = &readme[readme.find(marker)? + marker.len()..];
    let body = &after[after.find("```")?..];
    let body = &body[body.find('\n')? + 1..];
    Some(&body[..body.find("```")?])
}
