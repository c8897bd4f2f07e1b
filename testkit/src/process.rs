//! Helpers for tests that run the example binaries as real processes against
//! the collector: a runner with a hard time limit, a long-running server
//! process whose port is read from its output, signals, another package's
//! binary located, a child's output line by line and the collector's
//! startup banner, a program in a pseudo-terminal of a given width, a port
//! nothing listens on, and a "black hole" that accepts connections and
//! never answers.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
pub use rustix::process::Signal;
use rustix::process::{Pid, kill_process};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The line a server prints on stderr once it listens: `listening on http://ADDR`.
pub const LISTENING_PREFIX: &str = "listening on http://";

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
    let child = spawn_captured(command)?;
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

/// The path of binary `bin` of workspace package `package`, for a test of
/// another package: Cargo gives a test only its own package's binaries
/// (`env!("CARGO_BIN_EXE_<name>")`, which a test uses for those). It is
/// looked up in the target directory (`CARGO_TARGET_DIR`, else `cargo
/// metadata`'s `target_directory`), in the profile the running test was
/// built with (its executable is `target/<profile>/deps/<test>-<hash>`).
/// When it is not there, the error names the missing file and the command
/// that builds it.
pub fn workspace_binary(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    let test = std::env::current_exe().context("cannot locate the test executable")?;
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = test
        .parent()
        .and_then(Path::parent)
        .with_context(|| format!("{} is not in <profile>/deps", test.display()))?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("no profile name in {}", profile_dir.display()))?;
    let target = target_directory()?;
    // Keep a `<triple>/` level (`--target`) when the test is under `target`.
    let dir = match profile_dir.strip_prefix(&target) {
        Ok(relative) => target.join(relative),
        Err(_) => target.join(profile),
    };
    let path = dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        let profile_flag = match profile {
            "debug" => String::new(),
            "release" => " --release".to_owned(),
            other => format!(" --profile {other}"),
        };
        bail!(
            "{} is missing: build it with `cargo build{profile_flag} -p {package} --bin {bin}` \
             (`cargo test --workspace` builds it as well)",
            path.display()
        );
    }
    Ok(path)
}

/// `CARGO_TARGET_DIR` when it is an absolute path, otherwise what `cargo
/// metadata` says (it knows `.cargo/config.toml`'s `build.target-dir`).
fn target_directory() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return Ok(dir);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(&cargo);
    command.args([
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    let output = command
        .output()
        .with_context(|| format!("cannot run `{} metadata`", cargo.to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed no JSON")?;
    let dir = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` names no target_directory")?;
    Ok(PathBuf::from(dir))
}

/// Spawns `command` with stdin closed and stdout/stderr captured; the child
/// is killed if its handle is dropped, so no test leaves a process behind.
fn spawn_captured(command: &mut Command) -> anyhow::Result<tokio::process::Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))
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

/// A server that accepts every connection, reads what comes, and resets
/// it (RST) without answering: a crashed backend, or a firewall that
/// rejects.
#[derive(Debug)]
pub struct ResetServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl ResetServer {
    /// Starts listening on a free loopback port.
    pub async fn start() -> anyhow::Result<ResetServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let read = socket.read(&mut request);
                    let _ = tokio::time::timeout(Duration::from_millis(500), read).await;
                    // Closing with a zero linger sends RST instead of FIN.
                    let _ = socket.set_zero_linger();
                });
            }
        });
        Ok(ResetServer { addr, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ResetServer {
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
    // `... to URL: cause`, or `... to URL and 2 log records to ...: cause`.
    let names_url = [": ", " and "]
        .iter()
        .any(|after| line.contains(&format!(" to {url}{after}")));
    if !line.starts_with(prefix) || !names_url {
        return Err(format!("the line does not name {url}: {line}"));
    }
    // "Start a collector" is advice for exactly one cause: nothing listens.
    let refused = line.contains("nothing is listening");
    if refused != line.contains("cargo run -p collector") {
        return Err(format!(
            "the advice to start a collector belongs to `nothing is listening`, and only there: {line}"
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

/// The marker before each README's sample output.
pub const SAMPLE_STDOUT: &str = "<!-- sample stdout -->";

/// Every README in `readmes` (their text, e.g. `include_str!`) shows exactly
/// `stdout` as its sample output.
pub fn assert_readme_samples(readmes: &[&str], stdout: &str) {
    for readme in readmes {
        let sample =
            readme_sample(readme, SAMPLE_STDOUT).expect("README has a sample stdout block");
        assert_eq!(sample.trim(), stdout.trim());
    }
}

/// A server process started by a test, e.g. `examples-http`'s `server` with
/// `--listen 127.0.0.1:0`. Its output is drained all along (so it never
/// blocks on a full pipe) and kept; it is killed if dropped while running.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    addr: SocketAddr,
    started: Instant,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    drains: Vec<JoinHandle<()>>,
}

/// `examples-http`'s `server` (at `binary`) on a free loopback port,
/// exporting to `endpoint`, with `env` added to a clean environment.
pub async fn example_server(
    binary: &str,
    endpoint: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<RunningServer> {
    let mut command = example_command(binary);
    command
        .args(["--listen", "127.0.0.1:0", "--endpoint", endpoint])
        .envs(env.iter().copied());
    start_server(&mut command, Duration::from_secs(30)).await
}

/// Starts `command` and waits (at most `limit`) for the line
/// `listening on http://ADDR` on its stderr.
pub async fn start_server(command: &mut Command, limit: Duration) -> anyhow::Result<RunningServer> {
    let started = Instant::now();
    let mut child = spawn_captured(command)?;
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let (found, listening) = oneshot::channel();
    let mut drains = Vec::new();
    if let Some(out) = child.stdout.take() {
        drains.push(tokio::spawn(drain(out, Arc::clone(&stdout), None)));
    }
    if let Some(err) = child.stderr.take() {
        drains.push(tokio::spawn(drain(err, Arc::clone(&stderr), Some(found))));
    }
    let addr = match tokio::time::timeout(limit, listening).await {
        Ok(Ok(addr)) => addr,
        Ok(Err(_)) => {
            let status = child.wait().await?;
            for drain in drains {
                let _ = drain.await;
            }
            bail!(
                "{command:?} exited ({status}) before listening:\n{}",
                locked(&stderr)
            );
        }
        Err(_) => bail!(
            "{command:?} printed no `{LISTENING_PREFIX}...` line within {limit:?}:\n{}",
            locked(&stderr)
        ),
    };
    Ok(RunningServer {
        child,
        addr,
        started,
        stdout,
        stderr,
        drains,
    })
}

/// Appends every line of `pipe` to `sink`; reports the first listen address.
async fn drain(
    pipe: impl AsyncRead + Unpin,
    sink: Arc<Mutex<String>>,
    mut listening: Option<oneshot::Sender<SocketAddr>>,
) {
    let mut lines = BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(addr) = line
            .strip_prefix(LISTENING_PREFIX)
            .and_then(|addr| addr.trim().parse().ok())
            && let Some(listening) = listening.take()
        {
            let _ = listening.send(addr);
        }
        let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
        sink.push_str(&line);
        sink.push('\n');
    }
}

fn locked(text: &Mutex<String>) -> String {
    text.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

impl RunningServer {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server printed on stderr so far.
    pub fn stderr(&self) -> String {
        locked(&self.stderr)
    }

    /// Sends SIGTERM, as `docker stop` or Kubernetes do.
    pub fn terminate(&self) -> anyhow::Result<()> {
        self.signal(Signal::TERM)
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn interrupt(&self) -> anyhow::Result<()> {
        self.signal(Signal::INT)
    }

    fn signal(&self, sent: Signal) -> anyhow::Result<()> {
        let pid = self.child.id().context("the server has exited already")?;
        signal(pid, sent)
    }

    /// SIGTERM, then the clean exit (status 0, no panic) it must lead to
    /// within `limit`; everything the server printed.
    pub async fn stop(self, limit: Duration) -> anyhow::Result<Finished> {
        self.terminate()?;
        let out = self.wait(limit).await?;
        if !out.status.success() || out.stderr.contains("panicked") {
            bail!(
                "the server did not exit cleanly ({}):\n{}",
                out.status,
                out.stderr
            );
        }
        Ok(out)
    }

    /// Waits for the process to exit (killing it after `limit`) and returns
    /// everything it printed.
    pub async fn wait(mut self, limit: Duration) -> anyhow::Result<Finished> {
        let status = match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                let _ = self.child.kill().await;
                bail!(
                    "the server still ran {limit:?} after being asked to stop; killed:\n{}",
                    self.stderr()
                );
            }
        };
        for drain in std::mem::take(&mut self.drains) {
            let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
        }
        Ok(Finished {
            status,
            stdout: locked(&self.stdout),
            stderr: locked(&self.stderr),
            elapsed: self.started.elapsed(),
        })
    }
}

/// Sends `signal` to process `pid` (kill(2) through rustix: no `kill`
/// binary, no unsafe code).
pub fn signal(pid: u32, signal: Signal) -> anyhow::Result<()> {
    let raw = i32::try_from(pid).with_context(|| format!("{pid} is no process id"))?;
    let process = Pid::from_raw(raw).context("process id 0 is no single process")?;
    kill_process(process, signal)
        .with_context(|| format!("cannot send {signal:?} to process {pid}"))
}

/// Forwards each line of `reader` (a child's piped stdout or stderr) into a
/// channel, from a thread. Once the receiver is dropped the thread goes on
/// reading (and drops the lines), so the child never blocks on a full pipe
/// nor fails on a closed one.
pub fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut forward = true;
        for line in std::io::BufReader::new(reader)
            .lines()
            .map_while(Result::ok)
        {
            if forward && tx.send(line).is_err() {
                forward = false;
            }
        }
    });
    rx
}

/// `program args` in a pseudo-terminal `columns` wide with `COLUMNS` unset,
/// as a user's terminal runs it (bash does not export `COLUMNS`): a
/// synchronous command for util-linux's `script`, which makes the terminal
/// (`stty` sets its size) and passes its exit status on. What the program
/// writes to the terminal, stdout and stderr alike, is the command's stdout
/// (lines end in CR LF); its stdin is the terminal's input.
pub fn in_terminal(program: &Path, args: &[&str], columns: u16) -> std::process::Command {
    let quoted: Vec<String> = std::iter::once(program.to_string_lossy().as_ref())
        .chain(args.iter().copied())
        .map(|word| format!("'{}'", word.replace('\'', r"'\''")))
        .collect();
    let mut command = std::process::Command::new("script");
    command
        .args([
            "--quiet",
            "--return",
            "--command",
            &format!("stty cols {columns} rows 50; exec {}", quoted.join(" ")),
            "/dev/null",
        ])
        .env_remove("COLUMNS");
    command
}

/// Flags that put each of the collector binary's listeners (OTLP/gRPC,
/// OTLP/HTTP, web view) on a free loopback port.
pub const COLLECTOR_FREE_PORTS: [&str; 6] = [
    "--grpc",
    "127.0.0.1:0",
    "--http",
    "127.0.0.1:0",
    "--ui",
    "127.0.0.1:0",
];

/// The address on the collector binary's startup line for `listener`
/// (`OTLP/gRPC`, `OTLP/HTTP` or `web view`, as in `  OTLP/HTTP  http://ADDR
/// ...`), read from its stderr `lines`; banner lines before it are skipped.
/// Panics, with the lines read, when there is none within `limit` a line.
pub fn banner_addr(stderr: &mpsc::Receiver<String>, listener: &str, limit: Duration) -> SocketAddr {
    let mut seen = Vec::new();
    loop {
        let line = match stderr.recv_timeout(limit) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no `{listener}` line in the collector's banner within {limit:?}: {seen:#?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "the collector closed stderr (exited?) before a `{listener}` line: {seen:#?}"
                )
            }
        };
        let Some(rest) = line.trim().strip_prefix(listener) else {
            seen.push(line);
            continue;
        };
        let url = rest.split_whitespace().next().unwrap_or_default();
        let addr = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .map(|addr| addr.trim_end_matches('/'))
            .and_then(|addr| addr.parse().ok());
        return addr.unwrap_or_else(|| panic!("no address in the banner line {line:?}"));
    }
}
