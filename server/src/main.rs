use std::path::PathBuf;

use clap::{Parser, Subcommand};
use cloud::identity::BootstrapRequest;
use cloud::secret::Secret;
use gureum_server::{AppState, Config};

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
            bootstrap(&state, admin_user, admin_project).await?;
            Ok(())
        }
        Command::Serve { bootstrap: first } => {
            if first {
                bootstrap(&state, "admin".into(), "admin".into()).await?;
            } else {
                state.identity.ensure_catalog().await?;
            }
            serve(state).await
        }
    }
}

async fn bootstrap(
    state: &AppState,
    admin_user: String,
    admin_project: String,
) -> Result<(), Box<dyn std::error::Error>> {
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
    Ok(())
}

async fn serve(state: AppState) -> Result<(), Box<dyn std::error::Error>> {
    let listen = state.config.listen.clone();
    let public_url = state.config.public_url.clone();
    let http = state.config.http.clone();
    let purge = state.identity.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            if let Err(e) = purge.purge_expired_tokens().await {
                tracing::warn!(error = ?e, "token purge failed");
            }
        }
    });
    let app = gureum_server::app(state).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("Gureum is listening on {public_url}  (identity API: {public_url}/identity/v3)");
    gureum_server::listener::serve(listener, app, &http, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
