use std::path::PathBuf;

use clap::{Parser, Subcommand};
use cloud::identity::BootstrapRequest;
use cloud::secret::Secret;
use gureum_server::supervisor::Supervisor;
use gureum_server::{AppState, Config};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// See the workspace Cargo.toml: faster small allocations than glibc's, and
/// memory returned to the system after a burst.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gureum-server",
    about = "Gureum control plane: portal, REST APIs, scheduler"
)]
struct Cli {
    /// Config file (TOML); `GUREUM_*` environment variables override it.
    #[arg(long, env = "GUREUM_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal and the APIs (the default).
    Serve {
        /// Bootstrap first if the cloud has no admin yet, printing the login.
        #[arg(long)]
        bootstrap: bool,
    },
    /// Create the Default domain, admin project and user, roles and catalog.
    Bootstrap {
        #[arg(long, default_value = "admin")]
        admin_user: String,
        #[arg(long, default_value = "admin")]
        admin_project: String,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GUREUM_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn".into()),
        )
        // Colours only on a terminal: logs sent to a file or journald stay
        // plain text (`request_id=req-…` greps as written).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if let Err(e) = run(Cli::parse()).await {
        let mut msg = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        eprintln!("gureum-server: {msg}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(cli.config.as_deref())?;
    let state = AppState::new(config.clone()).await?;
    match cli.command.unwrap_or(Command::Serve { bootstrap: false }) {
        Command::Bootstrap {
            admin_user,
            admin_project,
        } => {
            let done = bootstrap(&state, admin_user, admin_project)
                .await
                .map(|_| ());
            // A one-off command: it runs no uploads, only its row to remove.
            gureum_server::hand_back(&state).await;
            done
        }
        Command::Serve { bootstrap: first } => {
            if first {
                let admin_project_id = bootstrap(&state, "admin".into(), "admin".into()).await?;
                seed(&state, &admin_project_id).await?;
            }
            serve(state).await
        }
    }
}

/// The admin user and project (idempotent); returns the project's id.
async fn bootstrap(
    state: &AppState,
    admin_user: String,
    admin_project: String,
) -> Result<String, Box<dyn std::error::Error>> {
    let (password, generated) = match std::env::var("GUREUM_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (cloud::identity::random_token(12), true),
    };
    let report = state
        .identity
        .bootstrap(&BootstrapRequest {
            admin_user: admin_user.clone(),
            admin_project,
            admin_password: Secret::new(password.clone()),
        })
        .await?;
    if report.created_admin {
        println!("Created admin user {admin_user:?} in domain Default.");
        if generated {
            println!("  password: {password}   (generated; shown once — set GUREUM_ADMIN_PASSWORD to choose it)");
        } else {
            println!("  password: from GUREUM_ADMIN_PASSWORD");
        }
    } else {
        println!("Admin user {admin_user:?} exists; its password is unchanged.");
    }
    Ok(report.admin_project_id)
}

/// Flavors, and the bootable guest image when `GUREUM_SEED_GUEST_DIR`
/// names a built guest (`make run` sets it when libvirtd and QEMU work);
/// then says which driver the embedded agent uses.
async fn seed(state: &AppState, admin_project_id: &str) -> Result<(), Box<dyn std::error::Error>> {
    let guest_dir = std::env::var_os("GUREUM_SEED_GUEST_DIR").map(std::path::PathBuf::from);
    let report = gureum_server::seed::seed(state, admin_project_id, guest_dir.as_deref()).await?;
    if !report.flavors.is_empty() {
        println!("Created flavors {}.", report.flavors.join(", "));
    }
    if report.image.is_some() {
        println!(
            "Created public image {:?} (a kernel and busybox initramfs) to boot.",
            gureum_server::seed::GUEST_IMAGE
        );
    }
    if state.config.bus.embedded_agent {
        let uri = &state.config.agent.libvirt_uri;
        if uri.starts_with("test:") {
            println!("Compute: the embedded agent uses libvirt's test driver ({uri}): instances are simulated, no guest runs.");
        } else {
            println!("Compute: the embedded agent boots real guests on {uri}.");
        }
    }
    Ok(())
}

/// Serves until SIGTERM or Ctrl-C, then shuts down in order: stop
/// accepting, let requests in flight finish within the grace period (then
/// cut them off), stop the workers, hand back the uploads still running
/// and remove this server's row.
async fn serve(state: AppState) -> Result<(), Box<dyn std::error::Error>> {
    let listen = state.config.listen.clone();
    let public_url = state.config.public_url.clone();
    let grace = state.config.server.shutdown_grace();
    let http_cfg = state.config.http.clone();
    let built = gureum_server::build(state.clone()).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let stop = CancellationToken::new();
    let mut supervisor = Supervisor::new(stop.child_token());
    for worker in built.workers {
        supervisor.spawn(worker);
    }
    tracing::info!(
        server_id = state.server.id(),
        workers = ?supervisor.worker_names(),
        "serving"
    );
    println!("Gureum is listening on {public_url}  (identity API: {public_url}/identity/v3)");
    // Our listener, not axum::serve: it sets the header read timeout, and on
    // `stop` it stops accepting and drains the connections for `grace`.
    let mut http = tokio::spawn({
        let stop = stop.clone();
        async move {
            gureum_server::listener::serve(
                listener,
                built.router,
                &http_cfg,
                grace,
                stop.cancelled_owned(),
            )
            .await
        }
    });
    tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, grace = ?grace, "shutting down: no new connections; waiting for requests in flight");
        }
        ended = &mut http => {
            // The server stopped by itself: an accept loop error.
            supervisor.shutdown(grace).await;
            gureum_server::hand_back(&state).await;
            ended?;
            return Err("the HTTP server stopped unexpectedly".into());
        }
    }
    stop.cancel();
    // The listener drains for `grace` itself; this bound only guards it.
    match tokio::time::timeout(grace + std::time::Duration::from_secs(1), &mut http).await {
        Ok(_) => tracing::info!("requests in flight finished"),
        Err(_) => {
            tracing::warn!("grace period over: cutting off the requests still running");
            http.abort();
        }
    }
    let report = supervisor.shutdown(grace).await;
    tracing::info!(stopped = ?report.stopped, aborted = ?report.aborted, "workers stopped");
    let handed_back = gureum_server::hand_back(&state).await;
    tracing::info!(handed_back, "shut down");
    Ok(())
}

/// Resolves with the signal's name on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() -> &'static str {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
