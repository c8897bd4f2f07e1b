//! `--serve`: the collector keeps running after the tour, and every trace
//! that arrives is drawn once it has finished, as the collector's own
//! printer decides it (`Collector::settled_traces`), until Ctrl-C.

use std::future::Future as _;
use std::task::Poll;

use collector::Collector;

use crate::examples::{EXAMPLES, Endpoints};
use crate::run::Tour;
use crate::show::Screen;

/// The addresses and a command to try, then each new finished trace (the
/// tour's own are skipped) until Ctrl-C.
pub(crate) async fn until_ctrl_c(screen: &Screen, collector: &Collector, mut tour: Tour<'_>) {
    // Polled once, the handler is installed: a Ctrl-C from here on, even
    // right after the addresses are printed, ends the loop below.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut interrupted =
        std::future::poll_fn(|cx| Poll::Ready(ctrl_c.as_mut().poll(cx).is_ready())).await;
    screen.blank();
    screen.collector("━━ the collector keeps running (Ctrl-C to stop)", collector);
    let endpoints = Endpoints {
        grpc: collector.grpc_endpoint(),
        http: collector.http_endpoint(),
        server: None,
    };
    let example = &EXAMPLES[0];
    screen.command(
        "   try: ",
        &example.program.cargo_run(&(example.args)(&endpoints)),
        None,
    );
    let mut finished = collector.settled_traces();
    while !interrupted {
        tokio::select! {
            _ = &mut ctrl_c => interrupted = true,
            trace = finished.next() => match trace {
                Some(trace) if !tour.has_drawn(&trace.trace_id) => {
                    screen.blank();
                    tour.draw(&trace);
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    screen.blank();
}
