//! What every example server does around its routes, whatever serves them
//! (axum or tonic): listen where asked and say where, stop on Ctrl-C or
//! SIGTERM, and give the requests still open a bounded time to finish, so
//! that their spans end and can be flushed.
//!
//! ```text
//! let listener = server::listen(cli.listen).await?;      // prints `listening on http://ADDR`
//! let stop = Stop::new();
//! let served = axum::serve(listener, app()).with_graceful_shutdown(stop.signal());
//! stop.serve(served, Duration::from_secs(5)).await;     // then: telemetry.shutdown()
//! ```

use std::fmt::Display;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::anyhow;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Binds `addr` and prints `listening on http://ADDR` on stderr, with the
/// port really bound (tests and the tour start servers on port 0 and read
/// it there). An address in use says what to do.
pub async fn listen(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await.map_err(|error| {
        let hint = if error.kind() == std::io::ErrorKind::AddrInUse {
            " (is the server running already? pick another address with --listen 127.0.0.1:PORT)"
        } else {
            ""
        };
        anyhow!("cannot listen on {addr}: {error}{hint}")
    })?;
    match listener.local_addr() {
        Ok(bound) => eprintln!("listening on http://{bound}"),
        Err(error) => eprintln!("listening on {addr} ({error})"),
    }
    Ok(listener)
}

/// A stop asked by Ctrl-C or SIGTERM (what `docker stop` and Kubernetes
/// send), for a server's graceful shutdown.
#[derive(Debug)]
pub struct Stop {
    asked: watch::Sender<bool>,
}

impl Stop {
    pub fn new() -> Stop {
        Stop {
            asked: watch::Sender::new(false),
        }
    }

    /// Resolves on Ctrl-C or SIGTERM: give it to the server's graceful
    /// shutdown (`with_graceful_shutdown`, `serve_with_incoming_shutdown`).
    pub fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let asked = self.asked.clone();
        async move {
            ctrl_c_or_sigterm().await;
            eprintln!("shutting down: finishing open requests, then flushing spans");
            asked.send_replace(true);
        }
    }

    /// Runs `server` to its end; once a stop was asked, for at most `grace`
    /// more (a client that keeps its connection open does not hold the
    /// process, nor the spans of the requests that did finish).
    pub async fn serve<E: Display>(
        self,
        server: impl IntoFuture<Output = Result<(), E>>,
        grace: Duration,
    ) {
        let mut asked = self.asked.subscribe();
        let grace_over = async move {
            let _ = asked.wait_for(|asked| *asked).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server.into_future() => if let Err(error) = served {
                eprintln!("error: the server stopped: {error}");
            },
            () = grace_over => eprintln!(
                "connections still open after {}s; closing them", grace.as_secs()
            ),
        }
    }
}

impl Default for Stop {
    fn default() -> Stop {
        Stop::new()
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn ctrl_c_or_sigterm() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
