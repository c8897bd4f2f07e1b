//! Private MariaDB and Redis servers for tests, from Debian's packages
//! (`mariadb-server`, `redis-server`). Each [`MariaDb`] or [`Redis`] is a
//! server process of its own on a free 127.0.0.1 port with its files in a
//! temporary directory: never the system service, never a fixed port, so
//! tests run side by side. Dropping the value kills the process and removes
//! the directory.
//!
//! When a package is missing, `start` prints `SKIPPED: ...` on stderr and
//! returns `None`, unless `REQUIRE_DB_TESTS=1` (CI, and `scripts/test.sh`
//! once both packages are there): then a missing server is a failure.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::process::{Signal, signal};

/// `root`'s password on every private MariaDB: GoFrame's link
/// `mysql://root:12345678@127.0.0.1:3306/test`, on another port.
const PASSWORD: &str = "12345678";

/// What the first start runs (`--init-file`): the password ([`PASSWORD`]), the account
/// for TCP connections from 127.0.0.1 (mariadb-install-db made one with no
/// password: replaced) and the database `test`. mariadbd stops reading the
/// file at the first error, and the readiness probe then never gets in.
const SETUP_SQL: &str = "\
ALTER USER 'root'@'localhost' IDENTIFIED BY '12345678';
CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '12345678';
GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE test;
";

/// mariadb-install-db plus the first start; a restart.
const MARIADB_LIMIT: Duration = Duration::from_secs(60);
const REDIS_LIMIT: Duration = Duration::from_secs(10);
/// How long a server gets to exit after SIGTERM before SIGKILL.
const STOP_LIMIT: Duration = Duration::from_secs(10);
/// Another process may take the free port between our probe releasing it
/// and the server binding it; then the server exits and we try another.
const PORT_ATTEMPTS: usize = 3;
/// A readiness probe (connect, answer) that takes longer counts as "not yet".
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// A private MariaDB: mariadb-install-db + mariadbd on a free 127.0.0.1
/// port in a temp dir, user root / password 12345678 on 127.0.0.1,
/// database `test`; killed and removed on drop.
#[derive(Debug)]
pub struct MariaDb {
    server: Server,
}

impl MariaDb {
    /// None when Debian's mariadb-server is not installed and
    /// REQUIRE_DB_TESTS is not 1 (prints `SKIPPED: <test> needs mariadbd
    /// ...` to stderr); panics with the reason when required or when it is
    /// installed but fails to start.
    pub async fn start(test: &str) -> Option<MariaDb> {
        let [mariadbd, install_db, client] = installed(
            test,
            ["mariadbd", "mariadb-install-db", "mariadb"],
            "mariadb-server",
        )?;
        let dir = TempDir::new("mariadb");
        std::fs::create_dir(dir.path().join("tmp"))
            .unwrap_or_else(|e| panic!("{test}: cannot create its tmpdir: {e}"));
        let deadline = Instant::now() + MARIADB_LIMIT;

        // The system tables, with root@localhost reachable by password
        // (Debian's default is unix_socket authentication).
        let mut install = Command::new(&install_db);
        install
            .arg("--no-defaults")
            .arg(dir.arg("--datadir=", "data"))
            .arg(dir.arg("--tmpdir=", "tmp"))
            .args([
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                // Passed on to mariadbd: an 8 MiB redo log instead of 96 MiB.
                "--innodb-log-file-size=8M",
            ])
            .args(as_root("--user=root"));
        let out = tokio::time::timeout_at(deadline.into(), install.kill_on_drop(true).output())
            .await
            .unwrap_or_else(|_| panic!("{test}: {install:?} still ran after {MARIADB_LIMIT:?}"))
            .unwrap_or_else(|e| panic!("{test}: cannot run {install:?}: {e}"));
        if !out.status.success() {
            panic!(
                "{test}: {install:?} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(dir.path().join("setup.sql"), SETUP_SQL)
            .unwrap_or_else(|e| panic!("{test}: cannot write setup.sql: {e}"));

        let kind = Kind::MariaDb { client };
        let server = Server::start(test, kind, mariadbd, dir, deadline).await;
        Some(MariaDb { server })
    }

    /// `mysql://root:12345678@127.0.0.1:PORT/test`.
    pub fn url(&self) -> String {
        format!("mysql://root:{PASSWORD}@127.0.0.1:{}/test", self.port())
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// Stops the server (SIGTERM, SIGKILL after 10 s); the data dir is
    /// kept and the port refuses connections until [`MariaDb::restart`].
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }

    /// Starts the server again on the same port and data dir (stopping it
    /// first if it runs) and waits until it answers; panics if it does not.
    pub async fn restart(&mut self) {
        self.server.restart(MARIADB_LIMIT).await;
    }
}

/// A private Redis: `redis-server --port N --bind 127.0.0.1 --save ''
/// --appendonly no` in a temp dir (no persistence: a restart starts empty);
/// killed and removed on drop.
#[derive(Debug)]
pub struct Redis {
    server: Server,
}

impl Redis {
    /// None when Debian's redis-server is not installed and
    /// REQUIRE_DB_TESTS is not 1 (prints `SKIPPED: <test> needs
    /// redis-server ...` to stderr); panics with the reason when required
    /// or when it is installed but fails to start.
    pub async fn start(test: &str) -> Option<Redis> {
        let [redis_server] = installed(test, ["redis-server"], "redis-server")?;
        let dir = TempDir::new("redis");
        let deadline = Instant::now() + REDIS_LIMIT;
        let server = Server::start(test, Kind::Redis, redis_server, dir, deadline).await;
        Some(Redis { server })
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port())
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// Stops the server (SIGTERM, SIGKILL after 10 s); the port refuses
    /// connections until [`Redis::restart`].
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }

    /// Starts the server again on the same port (empty: Redis keeps
    /// nothing here) and waits until it answers `PING`.
    pub async fn restart(&mut self) {
        self.server.restart(REDIS_LIMIT).await;
    }
}

/// Which server, and what only it needs.
#[derive(Debug)]
enum Kind {
    MariaDb { client: PathBuf },
    Redis,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::MariaDb { .. } => "mariadbd",
            Kind::Redis => "redis-server",
        }
    }

    /// The server's arguments; `first` is the start right after install.
    fn args(&self, dir: &TempDir, port: u16, first: bool) -> Vec<String> {
        match self {
            Kind::MariaDb { .. } => {
                let mut args = vec![
                    "--no-defaults".to_owned(),
                    dir.arg("--datadir=", "data"),
                    // Not /tmp: mariadbd removes every `#sql*` file in its
                    // tmpdir when it starts, other servers' temporary tables too.
                    dir.arg("--tmpdir=", "tmp"),
                    format!("--port={port}"),
                    "--bind-address=127.0.0.1".to_owned(),
                    dir.arg("--socket=", "sock"),
                    dir.arg("--pid-file=", "pid"),
                    "--skip-log-bin".to_owned(),
                    // Clients are 127.0.0.1, no reverse DNS lookup.
                    "--skip-name-resolve".to_owned(),
                    "--innodb-log-file-size=8M".to_owned(),
                ];
                args.extend(as_root("--user=root").map(str::to_owned));
                // Only once: a restart keeps whatever the test left.
                if first {
                    args.push(dir.arg("--init-file=", "setup.sql"));
                }
                args
            }
            Kind::Redis => vec![
                "--port".to_owned(),
                port.to_string(),
                "--bind".to_owned(),
                "127.0.0.1".to_owned(),
                "--save".to_owned(),
                String::new(),
                "--appendonly".to_owned(),
                "no".to_owned(),
                "--dir".to_owned(),
                dir.path().display().to_string(),
            ],
        }
    }

    /// The server answers a real request, and it is this server (not
    /// another test's that took the port first): `SELECT @@datadir` through
    /// the `mariadb` client with the url's credentials names `dir`, or
    /// `PING` gets `+PONG` and `INFO server` names process `pid`.
    async fn answers(&self, port: u16, pid: u32, dir: &Path) -> bool {
        let probe = async {
            let mut socket = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            match self {
                Kind::MariaDb { client } => {
                    drop(socket);
                    let out = Command::new(client)
                        .args(["--no-defaults", "-h127.0.0.1", "--connect-timeout=2"])
                        .arg(format!("-P{port}"))
                        .args(["-uroot", &format!("-p{PASSWORD}"), "test"])
                        .args(["-N", "-B", "-e", "SELECT @@datadir"])
                        .stdin(Stdio::null())
                        .stderr(Stdio::null())
                        .kill_on_drop(true)
                        .output()
                        .await
                        .ok()?;
                    let datadir = String::from_utf8_lossy(&out.stdout);
                    // Path equality ignores the trailing `/` mariadbd adds.
                    (out.status.success() && Path::new(datadir.trim()) == dir.join("data"))
                        .then_some(())
                }
                Kind::Redis => {
                    socket.write_all(b"PING\r\nINFO server\r\n").await.ok()?;
                    let ours = format!("\nprocess_id:{pid}\r\n");
                    let mut answer = Vec::new();
                    let mut chunk = [0; 4096];
                    loop {
                        let text = String::from_utf8_lossy(&answer);
                        if text.starts_with("+PONG\r\n") && text.contains(&ours) {
                            return Some(());
                        }
                        let n = socket.read(&mut chunk).await.ok()?;
                        if n == 0 || answer.len() > 64 * 1024 {
                            return None;
                        }
                        answer.extend_from_slice(&chunk[..n]);
                    }
                }
            }
        };
        matches!(tokio::time::timeout(PROBE_LIMIT, probe).await, Ok(Some(())))
    }
}

/// The watchdog of a server process (`sh -c WATCHDOG watchdog PID DIR`): it
/// waits for the end of its stdin, a pipe only the test process holds. If
/// the test process ends without dropping the server (a `static`,
/// `process::exit`, a signal), the pipe closes and the watchdog kills the
/// server and removes its directory. On every normal stop it is killed
/// first, so it never acts on a process id that may have been reused.
const WATCHDOG: &str = "trap '' INT HUP TERM; read _; kill -KILL \"$1\"; sleep 1; rm -rf \"$2\"";

/// A launched server process and its watchdog.
#[derive(Debug)]
struct Running {
    process: Child,
    watchdog: Child,
}

/// One server, its port and its directory (with `server.log`, where its
/// stdout and stderr go).
#[derive(Debug)]
struct Server {
    test: String,
    kind: Kind,
    program: PathBuf,
    port: u16,
    running: Option<Running>,
    // Last: removed after Drop killed the process.
    dir: TempDir,
}

/// Why a server did not come up.
enum Failure {
    PortTaken(String),
    Other(String),
}

impl Server {
    async fn start(
        test: &str,
        kind: Kind,
        program: PathBuf,
        dir: TempDir,
        deadline: Instant,
    ) -> Server {
        let mut server = Server {
            test: test.to_owned(),
            kind,
            program,
            port: 0,
            running: None,
            dir,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.port = free_port();
            match server.launch(true, deadline).await {
                Ok(()) => return server,
                Err(Failure::PortTaken(_)) if attempt < PORT_ATTEMPTS => continue,
                Err(Failure::PortTaken(why) | Failure::Other(why)) => panic!("{why}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    async fn restart(&mut self, limit: Duration) {
        self.stop().await;
        if let Err(Failure::PortTaken(why) | Failure::Other(why)) =
            self.launch(false, Instant::now() + limit).await
        {
            panic!("{why}");
        }
    }

    /// Spawns the server on `self.port` and waits until it answers, it
    /// exits, or `deadline` passes (then it is killed).
    async fn launch(&mut self, first: bool, deadline: Instant) -> Result<(), Failure> {
        let log_path = self.dir.path().join("server.log");
        let log_start = std::fs::metadata(&log_path).map_or(0, |m| m.len());
        let started = Instant::now();
        let running = self
            .spawn(first, &log_path)
            .map_err(|e| Failure::Other(self.failure(&e)))?;
        let pid = running.process.id().unwrap_or_default();
        self.running = Some(running);
        loop {
            let exited = self
                .running
                .as_mut()
                .and_then(|running| running.process.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.stop().await;
                let log = log_since(&log_path, log_start);
                let why = self.failure(&format!("exited ({status}) before answering:\n{log}"));
                return Err(if log.contains("Address already in use") {
                    Failure::PortTaken(why)
                } else {
                    Failure::Other(why)
                });
            }
            if self.kind.answers(self.port, pid, self.dir.path()).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop().await;
                let log = log_since(&log_path, log_start);
                let waited = started.elapsed();
                let why = format!("did not answer within {waited:?}; stopped:\n{log}");
                return Err(Failure::Other(self.failure(&why)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server process, its output appended to `log_path`, and its
    /// watchdog.
    fn spawn(&self, first: bool, log_path: &Path) -> Result<Running, String> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .and_then(|log| Ok((log.try_clone()?, log)))
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(self.kind.args(&self.dir, self.port, first))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.0)
            .stderr(log.1)
            .kill_on_drop(true);
        let process = command
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let pid = process.id().unwrap_or_default();
        let watchdog = Command::new("sh")
            .args(["-c", WATCHDOG, "watchdog", &pid.to_string()])
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start its watchdog (sh): {e}"))?;
        Ok(Running { process, watchdog })
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{}: the private {} on 127.0.0.1:{} {what}",
            self.test,
            self.kind.name(),
            self.port
        )
    }

    /// The watchdog killed, then the server: SIGTERM, SIGKILL if it still
    /// runs after [`STOP_LIMIT`].
    async fn stop(&mut self) {
        let Some(Running {
            mut process,
            mut watchdog,
        }) = self.running.take()
        else {
            return;
        };
        let _ = watchdog.kill().await;
        if let Some(pid) = process.id() {
            let _ = signal(pid, Signal::TERM);
        }
        if tokio::time::timeout(STOP_LIMIT, process.wait())
            .await
            .is_err()
        {
            let _ = process.kill().await;
        }
    }
}

impl Drop for Server {
    /// Kills the watchdog and the server and waits (briefly) until the
    /// server is gone, so that the directory removed next has no writer
    /// left.
    fn drop(&mut self) {
        let Some(Running { process, watchdog }) = self.running.as_mut() else {
            return;
        };
        let _ = watchdog.start_kill();
        let _ = process.start_kill();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(process.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = watchdog.try_wait();
    }
}

/// A directory under the system's temp dir, unique to this process and
/// value, removed with everything in it on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(kind: &str) -> TempDir {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("testkit-{kind}-{}-{n}", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir(path),
                // Left behind by a killed run whose process id was the same.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// `--flag=DIR/name`, as the servers take it.
    fn arg(&self, flag: &str, name: &str) -> String {
        format!("{flag}{}", self.0.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The paths of `programs` (on PATH, or in /usr/sbin and /usr/bin where
/// Debian puts them), or None after `SKIPPED: ...` when one is missing;
/// panics instead when REQUIRE_DB_TESTS=1.
fn installed<const N: usize>(
    test: &str,
    programs: [&str; N],
    package: &str,
) -> Option<[PathBuf; N]> {
    let mut found = Vec::with_capacity(N);
    for program in programs {
        match find_program(program) {
            Some(path) => found.push(path),
            None => {
                if std::env::var("REQUIRE_DB_TESTS").is_ok_and(|v| v == "1") {
                    panic!(
                        "{test} needs {program} (Debian's {package}) and REQUIRE_DB_TESTS=1: \
                         install Debian's mariadb-server and redis-server \
                         (apt-get install mariadb-server redis-server) or run scripts/test.sh"
                    );
                }
                eprintln!(
                    "SKIPPED: {test} needs {program} (Debian's {package}); scripts/test.sh installs it"
                );
                return None;
            }
        }
    }
    found.try_into().ok()
}

fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `flag` when this process runs as root (mariadbd refuses root unless told
/// to run as it), nothing otherwise.
fn as_root(flag: &'static str) -> Option<&'static str> {
    rustix::process::geteuid().is_root().then_some(flag)
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|e| panic!("cannot bind a free port on 127.0.0.1: {e}"))
}

/// What the server logged since byte `start` of its log: the first 20 lines
/// (startup errors) and the last 40.
fn log_since(path: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path)
        && file.seek(SeekFrom::Start(start)).is_ok()
    {
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= 60 {
        return text;
    }
    let (head, tail) = (&lines[..20], &lines[lines.len() - 40..]);
    format!("{}\n[...]\n{}", head.join("\n"), tail.join("\n"))
}
