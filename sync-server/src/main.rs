//! `wangge-server`: run the sync server, enrol and revoke devices, or play
//! a demo with simulated field devices.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use wangge_core::{Catalog, SystemClock};
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{Device, DeviceRole, Scope, Storage};
use wangge_server::{AppState, auth, router};

mod demo;

#[derive(Debug, Parser)]
#[command(
    name = "wangge-server",
    version,
    about = "Wangge sync server and back office"
)]
struct Cli {
    /// The server's SQLite database (created if missing).
    #[arg(long, global = true, default_value = "wangge-server.sqlite3")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync protocol and the back office.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Enrol a device and print its token (shown once).
    Enroll {
        /// A label, e.g. "网格一组-手持03".
        #[arg(long)]
        name: String,
        /// field or centre.
        #[arg(long, default_value = "field")]
        role: String,
        /// Grid blocks it receives (comma-separated ids).
        #[arg(long, value_delimiter = ',')]
        blocks: Vec<String>,
        /// Workstations it receives.
        #[arg(long, value_delimiter = ',')]
        workstations: Vec<String>,
        /// Teams whose dispatched cases it receives.
        #[arg(long, value_delimiter = ',')]
        teams: Vec<String>,
    },
    /// Revoke a device: its token is refused from now on.
    Revoke {
        /// The device id printed at enrolment.
        device_id: String,
    },
    /// List enrolled devices.
    Devices,
    /// Start the server and play field devices recording offline and syncing.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Number of simulated field devices.
        #[arg(long, default_value_t = 2)]
        devices: usize,
        /// Keep serving after the demo (for the back office).
        #[arg(long)]
        stay: bool,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let catalog = Arc::new(Catalog::demo()?);
    match cli.command {
        Command::Serve { listen } => {
            let storage = Arc::new(SqliteStorage::open(&cli.db, catalog.clone())?);
            serve(listen, storage, catalog)
        }
        Command::Enroll {
            name,
            role,
            blocks,
            workstations,
            teams,
        } => {
            let storage = SqliteStorage::open(&cli.db, catalog.clone())?;
            let role = DeviceRole::parse(&role).ok_or("--role must be field or centre")?;
            for id in blocks.iter().chain(&workstations) {
                if catalog.grids.cell(id).is_none() {
                    return Err(
                        format!("unknown grid '{id}': use ids from the grid dataset").into(),
                    );
                }
            }
            let scope = Scope {
                all: role == DeviceRole::Centre,
                blocks,
                workstations,
                teams,
            };
            let (device, token) = enroll(&storage, &name, role, scope)?;
            println!("device_id={}\ntoken={token}", device.device_id);
            eprintln!("keep the token: it is shown only once");
            Ok(())
        }
        Command::Revoke { device_id } => {
            let storage = SqliteStorage::open(&cli.db, catalog)?;
            if storage.revoke(&device_id, chrono::Utc::now().timestamp_millis())? {
                println!("revoked {device_id}");
                Ok(())
            } else {
                Err(format!("no device {device_id}; list them with `wangge-server devices`").into())
            }
        }
        Command::Devices => {
            let storage = SqliteStorage::open(&cli.db, catalog)?;
            for d in storage.devices()? {
                println!(
                    "{}  {:<7} {:<24} {}{}",
                    d.device_id,
                    d.role.as_str(),
                    d.name,
                    serde_json::to_string(&d.scope)?,
                    if d.revoked_at.is_some() {
                        "  REVOKED"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        Command::Demo {
            listen,
            devices,
            stay,
        } => demo::run(&cli.db, listen, devices, stay, catalog),
    }
}

/// Enrols a device and returns it with its token.
pub(crate) fn enroll(
    storage: &dyn Storage,
    name: &str,
    role: DeviceRole,
    scope: Scope,
) -> Result<(Device, String), Box<dyn std::error::Error>> {
    let token = auth::new_token()?;
    let device = Device {
        device_id: wangge_core::DeviceId::generate().to_string(),
        name: name.to_owned(),
        role,
        scope,
        created_at: chrono::Utc::now().timestamp_millis(),
        revoked_at: None,
    };
    storage.enroll(&device, &auth::hash_token(&token))?;
    Ok((device, token))
}

/// Serves until Ctrl-C.
pub(crate) fn serve(
    listen: SocketAddr,
    storage: Arc<SqliteStorage>,
    catalog: Arc<Catalog>,
) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let app = router(AppState {
            storage,
            catalog,
            clock: Arc::new(SystemClock),
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        tracing::info!(%listen, "serving");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}
