//! The traced gRPC server (GoFrame's `grpc-with-db` server): the service
//! `user.User` (Insert, Query, Delete) on a user table behind a 5 s cache.
//! The server layer gives every call a SERVER span that continues the
//! caller's trace and carries its baggage, and writes an access line; the
//! database and cache calls below are its children (spans from `userdb`).
//!
//! It runs with nothing else installed: SQLite in memory and a cache in
//! this process. `--db mysql://...` and `--redis redis://...` use real
//! servers, unchanged otherwise.
//!
//! Run with (start a collector first: `cargo run -p collector`), then call
//! it with the client (`cargo run -p examples-grpc-with-db --bin grpc-db-client`)
//!
//! ```text
//! cargo run -p examples-grpc-with-db --bin grpc-db-server
//! cargo run -p examples-grpc-with-db --bin grpc-db-server -- --db mysql://root:12345678@127.0.0.1:3306/test --redis redis://127.0.0.1:6379/0
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::config::GrpcExporterArgs;
use common::server::{self, Stop};
use common::telemetry;
use examples_grpc_with_db::otel::ServerTracing;
use examples_grpc_with_db::proto::user_server::{User, UserServer};
use examples_grpc_with_db::proto::{
    DeleteReq, DeleteRes, InsertReq, InsertRes, QueryReq, QueryRes,
};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};
use userdb::{StoreArgs, UserError, Users};

const SERVICE_NAME: &str = "otlp-grpc-server";

/// How long open calls may take to finish once a stop was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Traced gRPC server: the user.User service on a database and cache.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the real one is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8001")]
    listen: SocketAddr,

    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    otlp: GrpcExporterArgs,
}

// The gRPC exporter's channel lives on this runtime, which must outlive the
// provider's shutdown: it does, since shutdown is the last thing main does.
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match cli
        .otlp
        .resolve(SERVICE_NAME)
        .and_then(|config| telemetry::init(&config))
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };

    // The table is created if it is missing; an unreachable database is one
    // line that names it (password masked) and says what to do.
    let users = match Users::connect(&cli.store).await {
        Ok(users) => users,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    eprintln!("serving user.User from {}", users.describe());
    let listener = match server::listen(cli.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    // Serve until Ctrl-C or SIGTERM; then let open calls finish, within bounds.
    let stop = Stop::new();
    let served = Server::builder()
        // A SERVER span per call; the client's baggage `uid` is copied onto
        // it, so the trace shows what arrived.
        .layer(ServerTracing::new().with_baggage(["uid"]))
        .serve_with_incoming_shutdown(
            UserServer::new(UserService { users }),
            TcpIncoming::from(listener),
            stop.signal(),
        );
    stop.serve(served, SHUTDOWN_GRACE).await;

    // Every call has ended, so its spans are queued: flush them, report.
    telemetry.shutdown().exit_code()
}

/// `user.User` on the user table. Each handler runs inside the call's
/// SERVER span (the layer made it current), so the database and cache
/// spans `userdb` opens are its children. The validation is `userdb`'s,
/// with GoFrame's messages.
struct UserService {
    users: Users,
}

#[tonic::async_trait]
impl User for UserService {
    /// Inserts a user; its new id.
    async fn insert(&self, request: Request<InsertReq>) -> Result<Response<InsertRes>, Status> {
        let name = request.into_inner().name;
        let id = self.users.insert(&name).await.map_err(status)?;
        Ok(Response::new(InsertRes { id: proto_id(id)? }))
    }

    /// The user, from the cache or else the database (then cached for 5 s).
    /// GoFrame answers id 0 here (its struct misses the `uid` column).
    async fn query(&self, request: Request<QueryReq>) -> Result<Response<QueryRes>, Status> {
        let id = request.into_inner().id;
        let user = self.users.query(id.into()).await.map_err(status)?;
        Ok(Response::new(QueryRes {
            id: proto_id(user.id)?,
            name: user.name,
        }))
    }

    /// Deletes the user and drops its cache entry (GoFrame's ran a SELECT).
    async fn delete(&self, request: Request<DeleteReq>) -> Result<Response<DeleteRes>, Status> {
        let id = request.into_inner().id;
        self.users.delete(id.into()).await.map_err(status)?;
        Ok(Response::new(DeleteRes {}))
    }
}

/// The table's ids are 64-bit, the proto's `int32` (GoFrame's).
fn proto_id(id: i64) -> Result<i32, Status> {
    i32::try_from(id).map_err(|_| Status::internal(format!("user id {id} does not fit in int32")))
}

/// Each failure as its gRPC code: the caller's mistakes apart from the
/// server's (only the latter make the SERVER span an error).
fn status(error: UserError) -> Status {
    let message = error.to_string();
    match error {
        UserError::Invalid(_) => Status::invalid_argument(message),
        UserError::NotFound(_) => Status::not_found(message),
        UserError::Unavailable(_) => Status::unavailable(message),
        UserError::Internal(_) => Status::internal(message),
    }
}
