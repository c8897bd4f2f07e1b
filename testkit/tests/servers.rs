//! The private MariaDB and Redis servers of `testkit::servers`: each answers
//! on its own port with the url's credentials, `stop` closes the port,
//! `restart` brings the server back on it (MariaDB with its data), and
//! dropping one kills it.

use std::time::{Duration, Instant};

use testkit::servers::{MariaDb, Redis};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Runs `sql` through the `mariadb` client with the credentials of `url`
/// (`mysql://USER:PASSWORD@HOST:PORT/DATABASE`); its stdout, or its error.
async fn mariadb_cli(url: &str, sql: &str) -> Result<String, String> {
    let rest = url.strip_prefix("mysql://").expect("a mysql:// url");
    let (credentials, rest) = rest.split_once('@').expect("user:password@");
    let (user, password) = credentials.split_once(':').expect("user:password");
    let (host_port, database) = rest.split_once('/').expect("/database");
    let (host, port) = host_port.split_once(':').expect("host:port");
    let mut command = tokio::process::Command::new("mariadb");
    command
        .args(["--no-defaults", "--connect-timeout=5"])
        .args([
            format!("-h{host}"),
            format!("-P{port}"),
            format!("-u{user}"),
        ])
        .arg(format!("-p{password}"))
        .args([database, "-e", sql])
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .map_err(|_| "the mariadb client still ran after 30 s".to_owned())?
        .map_err(|e| format!("cannot run the mariadb client: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Sends `PING` to the Redis at `url` (`redis://HOST:PORT/0`); its answer.
async fn redis_ping(url: &str) -> std::io::Result<String> {
    let addr = url
        .strip_prefix("redis://")
        .and_then(|rest| rest.strip_suffix("/0"))
        .expect("redis://HOST:PORT/0");
    let exchange = async {
        let mut socket = TcpStream::connect(addr).await?;
        socket.write_all(b"PING\r\n").await?;
        let mut answer = [0; 7];
        socket.read_exact(&mut answer).await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await?
}

/// Nothing listens on `port`: a connection is refused.
async fn assert_refused(port: u16) {
    let connect = TcpStream::connect(("127.0.0.1", port));
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        other => panic!("port {port} should refuse connections, got {other:?}"),
    }
}

#[tokio::test]
async fn mariadb_answers_stops_and_restarts_with_its_data() {
    let started = Instant::now();
    let Some(mut db) = MariaDb::start("mariadb_answers_stops_and_restarts_with_its_data").await
    else {
        return;
    };
    eprintln!("MariaDB started in {:?}", started.elapsed());
    let url = db.url();
    assert_eq!(
        url,
        format!("mysql://root:12345678@127.0.0.1:{}/test", db.port())
    );

    let version = mariadb_cli(&url, "SELECT VERSION()").await.unwrap();
    assert!(version.contains("MariaDB"), "{version}");
    mariadb_cli(
        &url,
        "CREATE TABLE kept (name VARCHAR(45)); INSERT INTO kept VALUES ('john')",
    )
    .await
    .unwrap();

    db.stop().await;
    assert_refused(db.port()).await;
    mariadb_cli(&url, "SELECT 1")
        .await
        .expect_err("a stopped server answered");

    let restarted = Instant::now();
    db.restart().await;
    eprintln!("MariaDB restarted in {:?}", restarted.elapsed());
    assert_eq!(db.url(), url, "the restart moved the server");
    let rows = mariadb_cli(&url, "SELECT name FROM kept").await.unwrap();
    assert!(rows.contains("john"), "the table is gone: {rows:?}");
}

#[tokio::test]
async fn redis_answers_stops_and_restarts() {
    let started = Instant::now();
    let Some(mut redis) = Redis::start("redis_answers_stops_and_restarts").await else {
        return;
    };
    eprintln!("Redis started in {:?}", started.elapsed());
    let url = redis.url();
    assert_eq!(url, format!("redis://127.0.0.1:{}/0", redis.port()));
    assert_eq!(redis_ping(&url).await.unwrap(), "+PONG\r\n");

    redis.stop().await;
    assert_refused(redis.port()).await;

    let restarted = Instant::now();
    redis.restart().await;
    eprintln!("Redis restarted in {:?}", restarted.elapsed());
    assert_eq!(redis.url(), url, "the restart moved the server");
    assert_eq!(redis_ping(&url).await.unwrap(), "+PONG\r\n");
}

#[tokio::test]
async fn two_at_once_get_their_own_ports_and_data() {
    let test = "two_at_once_get_their_own_ports_and_data";
    let (a, b, c, d) = tokio::join!(
        MariaDb::start(test),
        MariaDb::start(test),
        Redis::start(test),
        Redis::start(test)
    );
    let (Some(a), Some(b), Some(c), Some(d)) = (a, b, c, d) else {
        return;
    };
    let mut ports = vec![a.port(), b.port(), c.port(), d.port()];
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4, "shared ports: {a:?} {b:?} {c:?} {d:?}");

    // Separate data dirs: a table made in one is not in the other.
    mariadb_cli(&a.url(), "CREATE TABLE only_in_a (id INT)")
        .await
        .unwrap();
    let err = mariadb_cli(&b.url(), "SELECT * FROM only_in_a")
        .await
        .expect_err("b sees a's table");
    assert!(err.contains("doesn't exist"), "{err}");
    assert_eq!(redis_ping(&c.url()).await.unwrap(), "+PONG\r\n");
    assert_eq!(redis_ping(&d.url()).await.unwrap(), "+PONG\r\n");
}

#[tokio::test]
async fn dropping_a_server_kills_it() {
    let test = "dropping_a_server_kills_it";
    let (db, redis) = tokio::join!(MariaDb::start(test), Redis::start(test));
    let (Some(db), Some(redis)) = (db, redis) else {
        return;
    };
    let ports = [db.port(), redis.port()];
    drop(db);
    drop(redis);
    for port in ports {
        assert_refused(port).await;
    }
}

/// Not a test by itself: run by `leaked_servers_die_with_the_test_process`
/// in a process of its own, it starts both servers and ends without
/// dropping them, as a server kept in a `static` is never dropped.
#[tokio::test]
#[ignore = "a helper process of leaked_servers_die_with_the_test_process"]
async fn leak_servers() {
    if std::env::var_os("TESTKIT_LEAK_SERVERS").is_none() {
        return;
    }
    let (db, redis) = tokio::join!(MariaDb::start("leak_servers"), Redis::start("leak_servers"));
    let (Some(db), Some(redis)) = (db, redis) else {
        return;
    };
    println!(
        "leaked {} {} {}",
        std::process::id(),
        db.port(),
        redis.port()
    );
    std::mem::forget(db);
    std::mem::forget(redis);
}

#[tokio::test]
async fn leaked_servers_die_with_the_test_process() {
    let test = std::env::current_exe().unwrap();
    let mut helper = tokio::process::Command::new(test);
    helper
        .args(["leak_servers", "--exact", "--ignored", "--nocapture"])
        .env("TESTKIT_LEAK_SERVERS", "1")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), helper.output())
        .await
        .expect("the helper process still ran after 120 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(line) = stdout.lines().find_map(|line| line.strip_prefix("leaked ")) else {
        assert!(
            out.status.success() && stderr.contains("SKIPPED"),
            "the helper neither started the servers nor skipped:\n{stdout}\n{stderr}"
        );
        return;
    };
    let [pid, db_port, redis_port] = line
        .split(' ')
        .map(|n| n.parse::<u32>().unwrap())
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();

    // The watchdogs kill the servers and then (after a second) remove
    // their directories, `testkit-<kind>-<pid>-<n>` under the temp dir.
    let deadline = Instant::now() + Duration::from_secs(20);
    for port in [db_port, redis_port] {
        let port = u16::try_from(port).unwrap();
        while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            assert!(Instant::now() < deadline, "port {port} still answers");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let left = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("testkit-") && name.contains(&format!("-{pid}-")))
            .collect()
    };
    while !left().is_empty() {
        assert!(Instant::now() < deadline, "left behind: {:?}", left());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
