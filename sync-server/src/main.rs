//! `wangge-server`: run the sync server, import the roster of people and units, enrol and
//! revoke devices, export the audit log, or play a demo with simulated field devices.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use clap::{Parser, Subcommand, ValueEnum};
use wangge_core::{Catalog, SystemClock};
use wangge_server::device_admin::{
    MadeCode, PairRequest, ScopeOverrides, make_pairing_code, person_and_device, scope_is_empty,
};
use wangge_server::office::OfficeConfig;
use wangge_server::office::export::csv_field;
use wangge_server::storage::photo_store::{FsPhotoStore, PhotoStore, export_photos, sweep_orphans};
use wangge_server::storage::{AuditEntry, Device, Person, Storage};
use wangge_server::tokens::TokenPolicy;
use wangge_server::{AppState, auth, roster, router};

mod demo;

type DynError = Box<dyn std::error::Error>;

#[derive(Debug, Parser)]
#[command(
    name = "wangge-server",
    version,
    about = "Wangge sync server and back office"
)]
struct Cli {
    /// The server's database: an SQLite file (created if missing), or a PostgreSQL URL
    /// (postgres://user@host:5432/database) that several server instances share. Its schema
    /// is created or upgraded at start (or by `migrate`).
    #[arg(
        long,
        global = true,
        env = "WANGGE_DB",
        default_value = "wangge-server.sqlite3"
    )]
    db: String,
    /// The street's reference data: a directory with checklist.json, calendar.json and
    /// grids.geojson (the layout of core/data/). Default: the demo street built in.
    /// Devices switch to it at their next sync.
    #[arg(long, global = true, env = "WANGGE_CATALOG", value_name = "DIR")]
    catalog: Option<PathBuf>,
    /// The daily cut-off of residential workstations' zero reports, China time (HH:MM):
    /// after it, a workstation that has not filed the day's report is shown missing.
    #[arg(
        long,
        global = true,
        env = "WANGGE_ZERO_REPORT_CUTOFF",
        default_value = "17:00",
        value_parser = parse_cutoff
    )]
    zero_report_cutoff: chrono::NaiveTime,
    /// Base map tiles under the console's map: a URL template with {z}, {x} and {y}, e.g.
    /// https://tile.openstreetmap.org/{z}/{x}/{y}.png. Without it the grid alone is the map
    /// (no internet needed).
    #[arg(long, global = true, env = "WANGGE_MAP_TILES", value_name = "URL")]
    map_tiles: Option<String>,
    /// The datum the map tiles are drawn in: wgs84 (OpenStreetMap, most providers) or gcj02
    /// (AMap, Tencent); required with --map-tiles.
    #[arg(
        long,
        global = true,
        env = "WANGGE_MAP_TILES_DATUM",
        value_name = "DATUM"
    )]
    map_tiles_datum: Option<String>,
    /// The credit the tile provider asks for, shown in the map's corner.
    #[arg(
        long,
        global = true,
        env = "WANGGE_MAP_TILES_ATTRIBUTION",
        value_name = "TEXT"
    )]
    map_tiles_attribution: Option<String>,
    /// How many days a device token works after it was issued (1 to 3650). A phone that
    /// syncs in the last third of its token's life is given a new one without noticing; a
    /// phone that does not sync for that long must be paired again.
    #[arg(
        long,
        global = true,
        env = "WANGGE_TOKEN_DAYS",
        default_value_t = TokenPolicy::DEFAULT_DAYS,
        value_parser = parse_token_days
    )]
    token_days: u32,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync protocol and the back office.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "WANGGE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve HTTPS with this PEM certificate chain (the server's certificate first, then
        /// the intermediates; certbot's fullchain.pem). Needs --tls-key. Read once at start:
        /// restart the server to rotate it.
        #[arg(long, env = "WANGGE_TLS_CERT", value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// The certificate's PEM private key (PKCS#8, RSA or EC, unencrypted; certbot's
        /// privkey.pem). Needs --tls-cert.
        #[arg(long, env = "WANGGE_TLS_KEY", value_name = "FILE")]
        tls_key: Option<PathBuf>,
        /// With HTTPS, also listen for plain HTTP on this address (e.g. 0.0.0.0:80) and answer
        /// every request with a redirect to the https:// address.
        #[arg(long, env = "WANGGE_REDIRECT_HTTP", value_name = "ADDR")]
        redirect_http: Option<SocketAddr>,
        /// Keep the bytes of uploaded photos and thumbnails as files in this directory
        /// (ab/cd/<sha256>, created if missing) instead of in the database. Without it they
        /// stay in the database: one file to back up for a street. Several instances need
        /// the same directory (shared storage). Photos uploaded before are served from the
        /// database until `photos export-to-dir` moves them.
        #[arg(long, env = "WANGGE_PHOTOS_DIR", value_name = "DIR")]
        photos_dir: Option<PathBuf>,
    },
    /// Create the database's schema, or upgrade it to this build's, and exit. The server
    /// does the same at start; run it first when several instances share a database, or to
    /// upgrade during a maintenance window.
    Migrate,
    /// The register of people and units.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// List the people of the register (staff id, name, roles, units, grids).
    People,
    /// List the units and teams of the register.
    Units,
    /// Enrol a device to a person and print its token (shown once). The device acts as the
    /// person: its role is centre if the person holds the centre role, field otherwise, and
    /// its scope comes from the person (whole street for centre and supervisors; otherwise
    /// the person's blocks, workstations and units). --blocks, --workstations and --teams
    /// replace the person's list of the same name (and drop a supervisor's whole street).
    Enroll {
        /// A label, e.g. "网格一组-手持03".
        #[arg(long)]
        name: String,
        /// Staff id of the person the device is enrolled to (see `wangge-server people`).
        #[arg(long, value_name = "STAFF_ID")]
        person: String,
        /// Grid blocks it receives (comma-separated ids), instead of the person's.
        #[arg(long, value_delimiter = ',')]
        blocks: Option<Vec<String>>,
        /// Workstations it receives, instead of the person's.
        #[arg(long, value_delimiter = ',')]
        workstations: Option<Vec<String>>,
        /// Teams whose dispatched cases it receives, instead of the person's units.
        #[arg(long, value_delimiter = ',')]
        teams: Option<Vec<String>>,
    },
    /// Make a one-time pairing code for a person: the phone exchanges it at `POST /v1/enrol`
    /// for its device id and token (shown nowhere), enrolled as `enroll` would enrol it. Prints
    /// the code and the QR payload; the server keeps only the code's hash.
    Pair {
        /// Staff id of the person the device will act as.
        #[arg(long, value_name = "STAFF_ID")]
        person: String,
        /// A label for the device; default: the name the app sends.
        #[arg(long)]
        name: Option<String>,
        /// Grid blocks it receives (comma-separated ids), instead of the person's.
        #[arg(long, value_delimiter = ',')]
        blocks: Option<Vec<String>>,
        /// Workstations it receives, instead of the person's.
        #[arg(long, value_delimiter = ',')]
        workstations: Option<Vec<String>>,
        /// Teams whose dispatched cases it receives, instead of the person's units.
        #[arg(long, value_delimiter = ',')]
        teams: Option<Vec<String>>,
        /// Minutes the code stays valid (1 to 1440).
        #[arg(long, default_value_t = wangge_server::pairing::DEFAULT_VALID_MINUTES)]
        valid_minutes: u32,
        /// The server's address as phones reach it (e.g. https://sync.example), put in the
        /// QR payload.
        #[arg(long)]
        server_url: Option<String>,
    },
    /// Create or replace a person's console login. The password is read from the first
    /// line of standard input (so it stays out of the shell history and the process list);
    /// a new password ends the person's open console sessions.
    Login {
        /// Staff id of a centre operator, unit handler or inspector.
        #[arg(long)]
        person: String,
        /// The name they type at the login page (letters, digits, '.', '_', '-').
        #[arg(long)]
        username: String,
    },
    /// Revoke a device: its token is refused from now on.
    Revoke {
        /// The device id printed at enrolment.
        device_id: String,
    },
    /// List enrolled devices.
    Devices,
    /// List the documents set aside because they no longer load. A device that holds one is
    /// asked for its copy at its next sync, and a copy that passes the checks repairs it.
    Quarantine,
    /// Export the audit log (every authenticated action and every refusal) to stdout,
    /// oldest first.
    Audit {
        /// From this time on: milliseconds since the epoch, an ISO 8601 time
        /// (2026-03-02T09:00:00+08:00) or a day (2026-03-02, China time). Default: the start.
        #[arg(long)]
        since: Option<String>,
        /// Most lines.
        #[arg(long, default_value_t = 10_000)]
        limit: u32,
        /// json (an array, one line per entry) or csv (with a header row).
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Open311 API keys (for a WeChat or web form): each names a channel and the centre
    /// person its cases are signed by.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// The photo directory: move photos out of the database into it, or delete its orphans.
    Photos {
        #[command(subcommand)]
        command: PhotosCommand,
    },
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

#[derive(Debug, Subcommand)]
enum RosterCommand {
    /// Check a roster file and add or replace its units and people, all or nothing
    /// (format: sync-server/data/roster-demo.json; rules: `wangge_server::roster`).
    Import {
        /// The roster JSON file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PhotosCommand {
    /// Copy every photo whose bytes are in the database into the photo directory, check
    /// each copy, then clear the database's bytes, one photo at a time. Safe while servers
    /// run (start them with --photos-dir first), and resumable: run it again after an
    /// interruption. The database file keeps its size until VACUUM (SQLite, server stopped)
    /// or VACUUM FULL photos (PostgreSQL) gives the space back.
    ExportToDir {
        /// The photo directory (created if missing).
        #[arg(long, env = "WANGGE_PHOTOS_DIR", value_name = "DIR")]
        photos_dir: PathBuf,
    },
    /// List the files of the photo directory that no photo on the server names (left by a
    /// crash between writing a file and recording it; never served) and are older than a
    /// day; delete them with --delete.
    Sweep {
        /// The photo directory.
        #[arg(long, env = "WANGGE_PHOTOS_DIR", value_name = "DIR")]
        photos_dir: PathBuf,
        /// Delete the orphans (otherwise only list them).
        #[arg(long)]
        delete: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Make a key and print it (shown once; the server keeps its hash).
    Create {
        /// The channel its cases are recorded under, e.g. wechat, hotline_12345.
        #[arg(long)]
        channel: String,
        /// Staff id of the centre operator its cases are signed by.
        #[arg(long, value_name = "STAFF_ID")]
        person: String,
        /// A label, e.g. "微信公众号".
        #[arg(long, default_value = "open311")]
        name: String,
    },
    /// List the keys (never their secrets).
    List,
    /// Revoke a key: it is refused from now on.
    Revoke {
        /// The key id printed at creation.
        key_id: String,
    },
}

/// Output format of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Csv,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run(Cli::parse()) {
        // `wangge-server people | head`: the reader has gone, which is no error of ours.
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return;
        }
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), DynError> {
    let catalog = Arc::new(match &cli.catalog {
        Some(dir) => Catalog::from_dir(dir)
            .map_err(|e| format!("the catalog in {} does not load: {e}", dir.display()))?,
        None => Catalog::demo()?,
    });
    let office = OfficeConfig {
        zero_report_cutoff: cli.zero_report_cutoff,
        console: Default::default(),
        map_tiles: wangge_server::console::svg::map::TileLayer::configured(
            cli.map_tiles.as_deref(),
            cli.map_tiles_datum.as_deref(),
            cli.map_tiles_attribution.as_deref(),
        )?
        .map(Arc::new),
    };
    let open = || wangge_server::storage::open(&cli.db, catalog.clone());
    let open_with_photos = |dir: &Path| -> Result<_, DynError> {
        let store: Arc<dyn PhotoStore> = Arc::new(FsPhotoStore::open(dir)?);
        let storage = wangge_server::storage::open_with_photos(
            &cli.db,
            catalog.clone(),
            Some(store.clone()),
        )?;
        Ok((storage, store))
    };
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            redirect_http,
            photos_dir,
        } => {
            let https = https_settings(tls_cert, tls_key, redirect_http)?;
            let tokens = TokenPolicy::days(cli.token_days)?;
            let storage = match &photos_dir {
                Some(dir) => open_with_photos(dir.as_path())?.0,
                None => open()?,
            };
            serve_on(listen, https, storage, catalog.clone(), office, tokens)
        }
        Command::Photos {
            command: PhotosCommand::ExportToDir { photos_dir },
        } => {
            let (storage, _) = open_with_photos(&photos_dir)?;
            let done = export_photos(storage.as_ref(), |done| {
                if done.moved > 0 && done.moved % 1000 == 0 {
                    eprintln!("{} photos moved…", done.moved);
                }
            })?;
            println!("moved {} photos into {}", done.moved, photos_dir.display());
            if !done.damaged.is_empty() {
                return Err(format!(
                    "{} photos were left in the database because their bytes do not hash to \
                     their name (damaged): {}",
                    done.damaged.len(),
                    done.damaged.join(", ")
                )
                .into());
            }
            Ok(())
        }
        Command::Photos {
            command: PhotosCommand::Sweep { photos_dir, delete },
        } => {
            let (storage, store) = open_with_photos(&photos_dir)?;
            let sweep = sweep_orphans(storage.as_ref(), store.as_ref(), SystemTime::now(), delete)?;
            for sha in &sweep.orphans {
                println!("{sha}");
            }
            eprintln!(
                "{} photos on the server, {} orphans {}, {} younger than a day left alone",
                sweep.kept,
                sweep.orphans.len(),
                if delete {
                    "deleted"
                } else {
                    "(delete them with --delete)"
                },
                sweep.young
            );
            Ok(())
        }
        Command::Migrate => {
            let opened = open()?;
            let storage = opened.as_ref();
            storage.ready()?;
            println!("the database's schema is current");
            Ok(())
        }
        Command::Roster {
            command: RosterCommand::Import { file },
        } => {
            let opened = open()?;
            let storage = opened.as_ref();
            let (units, people) = import_roster(storage, &catalog, &file)?;
            println!(
                "imported {units} units and {people} people from {}",
                file.display()
            );
            Ok(())
        }
        Command::People => {
            let opened = open()?;
            let storage = opened.as_ref();
            let mut out = std::io::stdout().lock();
            for p in storage.people()? {
                writeln!(out, "{}", person_line(&p))?;
            }
            Ok(())
        }
        Command::Units => {
            let opened = open()?;
            let storage = opened.as_ref();
            let mut out = std::io::stdout().lock();
            for u in storage.units()? {
                let kind = serde_json::to_value(u.kind)?;
                writeln!(
                    out,
                    "{:<16} {:<22} {}",
                    u.id,
                    kind.as_str().unwrap_or_default(),
                    u.name.as_deref().unwrap_or("")
                )?;
            }
            Ok(())
        }
        Command::Enroll {
            name,
            person,
            blocks,
            workstations,
            teams,
        } => {
            let opened = open()?;
            let storage = opened.as_ref();
            let overrides = ScopeOverrides {
                blocks,
                workstations,
                teams,
            };
            let (device, token) = enroll(storage, &catalog, &name, &person, overrides)?;
            println!("device_id={}\ntoken={token}", device.device_id);
            eprintln!(
                "enrolled to {person} as {}; scope {}",
                device.role.as_str(),
                serde_json::to_string(&device.scope)?
            );
            if scope_is_empty(&device.scope) {
                eprintln!(
                    "note: the scope is empty: the device receives only the cases it reports; \
                     give the person blocks, workstations or units, or pass --blocks/--teams"
                );
            }
            eprintln!("keep the token: it is shown only once");
            Ok(())
        }
        Command::Pair {
            person,
            name,
            blocks,
            workstations,
            teams,
            valid_minutes,
            server_url,
        } => {
            let opened = open()?;
            let storage = opened.as_ref();
            let overrides = ScopeOverrides {
                blocks,
                workstations,
                teams,
            };
            let request = PairRequest {
                staff_id: &person,
                name,
                overrides,
                valid_minutes,
                now_ms: chrono::Utc::now().timestamp_millis(),
            };
            let made = pair(storage, &catalog, request)?;
            let code = wangge_server::pairing::display(&made.code);
            println!(
                "code={code}\nqr={}",
                wangge_server::pairing::qr_payload(server_url.as_deref(), &made.code)
            );
            let until = chrono::FixedOffset::east_opt(8 * 3600)
                .zip(chrono::DateTime::from_timestamp_millis(made.expires_at))
                .map(|(cst, t)| t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            eprintln!(
                "pairing code for {person} ({}; scope {}), valid until {until} (China time), \
                 once: the phone enters the code or scans the QR payload",
                made.role.as_str(),
                serde_json::to_string(&made.scope)?
            );
            Ok(())
        }
        Command::Login { person, username } => {
            let opened = open()?;
            let storage = opened.as_ref();
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            wangge_server::console::account::create_login(
                storage,
                &person,
                &username,
                password,
                chrono::Utc::now().timestamp_millis(),
            )?;
            cli_audit(storage, "cli login", None, Some(person.clone()), None);
            println!(
                "{person} logs in to the console as {}",
                username.trim().to_lowercase()
            );
            Ok(())
        }
        Command::Revoke { device_id } => {
            let opened = open()?;
            let storage = opened.as_ref();
            if storage.revoke(&device_id, chrono::Utc::now().timestamp_millis())? {
                let person = storage
                    .devices()?
                    .into_iter()
                    .find(|d| d.device_id == device_id)
                    .and_then(|d| d.person);
                cli_audit(storage, "cli revoke", Some(&device_id), person, None);
                println!("revoked {device_id}");
                Ok(())
            } else {
                Err(format!("no device {device_id}; list them with `wangge-server devices`").into())
            }
        }
        Command::Quarantine => {
            let opened = open()?;
            let storage = opened.as_ref();
            let mut out = std::io::stdout().lock();
            let docs = storage.quarantined()?;
            for q in &docs {
                writeln!(
                    out,
                    "{}  {:<11} since {}  {}",
                    q.doc_id, q.kind, q.quarantined_at, q.reason
                )?;
            }
            eprintln!(
                "{} document(s) quarantined; each is repaired when a device holding it syncs",
                docs.len()
            );
            Ok(())
        }
        Command::Devices => {
            let opened = open()?;
            let storage = opened.as_ref();
            let mut out = std::io::stdout().lock();
            for d in storage.devices()? {
                writeln!(
                    out,
                    "{}  {:<7} {:<24} {:<12} {}{}",
                    d.device_id,
                    d.role.as_str(),
                    d.name,
                    d.person.as_deref().unwrap_or("(no person)"),
                    serde_json::to_string(&d.scope)?,
                    if d.revoked_at.is_some() {
                        "  REVOKED"
                    } else {
                        ""
                    }
                )?;
            }
            Ok(())
        }
        Command::Audit {
            since,
            limit,
            format,
        } => {
            let since_ms = match since.as_deref() {
                Some(text) => parse_since(text)?,
                None => i64::MIN,
            };
            let opened = open()?;
            let storage = opened.as_ref();
            let entries = storage.audit_log(since_ms, limit.max(1))?;
            let mut out = std::io::stdout().lock();
            match format {
                Format::Json => write_audit_json(&mut out, &entries)?,
                Format::Csv => write_audit_csv(&mut out, &entries)?,
            }
            out.flush()?;
            if let Some(last) = entries.last()
                && entries.len() as u64 >= u64::from(limit.max(1))
            {
                eprintln!(
                    "stopped at --limit {limit}: more lines may follow; continue with --since {} \
                     (lines of that millisecond are repeated)",
                    last.at
                );
            }
            Ok(())
        }
        Command::Apikey { command } => apikey(&*open()?, command),
        Command::Demo {
            listen,
            devices,
            stay,
        } => demo::run(listen, devices, stay, catalog, office),
    }
}

/// `wangge-server apikey …`.
fn apikey(storage: &dyn Storage, command: ApikeyCommand) -> Result<(), DynError> {
    let now = chrono::Utc::now().timestamp_millis();
    match command {
        ApikeyCommand::Create {
            channel,
            person,
            name,
        } => {
            let channel = wangge_core::SourceChannel::parse(&channel)?;
            let (key, secret) = wangge_server::routes::open311::create_api_key(
                storage, channel, &person, &name, now,
            )?;
            cli_audit(
                storage,
                "cli apikey create",
                Some(&key.key_id),
                Some(person),
                None,
            );
            println!(
                "key_id={}
api_key={secret}",
                key.key_id
            );
            eprintln!("keep the api_key: it is shown only once");
        }
        ApikeyCommand::List => {
            let mut out = std::io::stdout().lock();
            for k in storage.api_keys()? {
                let revoked = if k.revoked_at.is_some() {
                    "  REVOKED"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{}  {:<24} {:<16} {}{revoked}",
                    k.key_id,
                    k.name,
                    k.channel.as_str(),
                    k.person
                )?;
            }
        }
        ApikeyCommand::Revoke { key_id } => {
            if !storage.revoke_api_key(&key_id, now)? {
                return Err(format!(
                    "no api key {key_id}; list them with `wangge-server apikey list`"
                )
                .into());
            }
            cli_audit(storage, "cli apikey revoke", Some(&key_id), None, None);
            println!("revoked {key_id}");
        }
    }
    Ok(())
}

/// Checks the roster file against the street's grids and the units already registered, then
/// stores it in one transaction. Returns the numbers of units and people imported.
pub(crate) fn import_roster(
    storage: &dyn Storage,
    catalog: &Catalog,
    file: &std::path::Path,
) -> Result<(usize, usize), DynError> {
    let known = storage.units()?;
    let roster = roster::load(file, catalog, &known)?;
    storage.upsert_roster(&roster.people, &roster.units)?;
    let counts = (roster.units.len(), roster.people.len());
    cli_audit(
        storage,
        "cli roster import",
        None,
        None,
        Some(format!("{} units, {} people", counts.0, counts.1)),
    );
    Ok(counts)
}

/// One line of `wangge-server people`: ids, the name, roles, units and grids; nothing else
/// about the person.
fn person_line(p: &Person) -> String {
    let roles: Vec<&str> = p.roles.iter().map(|r| r.as_str()).collect();
    format!(
        "{:<12} {:<8} roles={} units={} blocks={} workstations={}{}{}",
        p.staff_id,
        p.name,
        roles.join(","),
        p.units.join(","),
        p.blocks.join(","),
        p.workstations.join(","),
        if p.admin { "  ADMIN" } else { "" },
        if p.active { "" } else { "  INACTIVE" }
    )
}

/// Enrols a device to the person `staff_id` and returns it with its token. Refuses a person
/// who is not in the register or is no longer active.
pub(crate) fn enroll(
    storage: &dyn Storage,
    catalog: &Catalog,
    name: &str,
    staff_id: &str,
    overrides: ScopeOverrides,
) -> Result<(Device, String), DynError> {
    let (person, role, scope) = person_and_device(storage, catalog, staff_id, &overrides)?;
    let token = auth::new_token()?;
    let device = Device {
        device_id: wangge_core::DeviceId::generate().to_string(),
        name: name.to_owned(),
        role,
        scope,
        created_at: chrono::Utc::now().timestamp_millis(),
        revoked_at: None,
        person: Some(person.staff_id),
    };
    storage.enroll(&device, &auth::hash_token(&token))?;
    cli_audit(
        storage,
        "cli enroll",
        Some(&device.device_id),
        device.person.clone(),
        Some(format!("role {}", device.role.as_str())),
    );
    Ok((device, token))
}

/// Makes a one-time pairing code as [`make_pairing_code`] does and records it in the audit
/// log as a command-line action.
pub(crate) fn pair(
    storage: &dyn Storage,
    catalog: &Catalog,
    request: PairRequest<'_>,
) -> Result<MadeCode, DynError> {
    let valid_minutes = request.valid_minutes;
    let made = make_pairing_code(storage, catalog, request)?;
    cli_audit(
        storage,
        "cli pair",
        None,
        Some(made.person.staff_id.clone()),
        Some(format!(
            "role {}, valid {valid_minutes} min",
            made.role.as_str()
        )),
    );
    Ok(made)
}

/// Records an administration command in the audit log, next to what devices do: who was
/// enrolled or revoked, when, and to which person. The command has already happened, so a
/// failure to record it is reported, not fatal. Only ids and counts, never names.
fn cli_audit(
    storage: &dyn Storage,
    action: &str,
    device_id: Option<&str>,
    person: Option<String>,
    detail: Option<String>,
) {
    let entry = AuditEntry {
        at: chrono::Utc::now().timestamp_millis(),
        device_id: device_id.map(str::to_owned),
        person,
        action: action.to_owned(),
        target: device_id.map(str::to_owned),
        outcome: "ok".to_owned(),
        code: None,
        remote_addr: None,
        detail,
    };
    if let Err(e) = storage.audit(&entry) {
        eprintln!("warning: done, but not recorded in the audit log: {e}");
    }
}

/// Resolves on SIGTERM (systemd, a container manager) or SIGINT (Ctrl-C): the server then
/// stops accepting connections and finishes the requests in flight before it exits, so a
/// push being merged is either stored whole or not at all (each is one transaction).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; stop the server with SIGINT");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// Parses `--zero-report-cutoff`: a China-time wall-clock time, `HH:MM`.
fn parse_cutoff(text: &str) -> Result<chrono::NaiveTime, String> {
    chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| format!("'{text}' is not a time of day; write it as 17:00 (China time)"))
}

/// Parses `--token-days`: a whole number of days the token policy accepts.
fn parse_token_days(text: &str) -> Result<u32, String> {
    let days: u32 = text.trim().parse().map_err(|_| {
        format!("'{text}' is not a number of days; write e.g. 90 (WANGGE_TOKEN_DAYS)")
    })?;
    TokenPolicy::days(days)
        .map(|_| days)
        .map_err(|e| e.to_string())
}

/// Parses `--since`: milliseconds since the epoch, an RFC 3339 / ISO 8601 time with its
/// offset, a local time without offset or a day (both China Standard Time, the street's).
/// The same parser as the back office's `from`/`to` (`wangge_server::office::period`).
fn parse_since(text: &str) -> Result<i64, String> {
    wangge_server::office::period::When::parse(text)
        .map(wangge_server::office::period::When::start)
        .map_err(|e| format!("--since {e}"))
}

/// The audit log as a JSON array, one entry per line.
fn write_audit_json(out: &mut dyn Write, entries: &[AuditEntry]) -> Result<(), DynError> {
    writeln!(out, "[")?;
    for (i, e) in entries.iter().enumerate() {
        let comma = if i + 1 < entries.len() { "," } else { "" };
        writeln!(out, "{}{comma}", serde_json::to_string(e)?)?;
    }
    writeln!(out, "]")?;
    Ok(())
}

/// The audit log as CSV with a header row; `time` is the `at` instant in China time.
fn write_audit_csv(out: &mut dyn Write, entries: &[AuditEntry]) -> Result<(), DynError> {
    writeln!(
        out,
        "at,time,device_id,person,action,target,outcome,code,remote_addr,detail"
    )?;
    let cst = chrono::FixedOffset::east_opt(8 * 3600).ok_or("bad China offset")?;
    for e in entries {
        let time = chrono::DateTime::from_timestamp_millis(e.at)
            .map(|t| {
                t.with_timezone(&cst)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            })
            .unwrap_or_default();
        let opt = |v: &Option<String>| csv_field(v.as_deref().unwrap_or(""));
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            e.at,
            time,
            opt(&e.device_id),
            opt(&e.person),
            csv_field(&e.action),
            opt(&e.target),
            csv_field(&e.outcome),
            opt(&e.code),
            opt(&e.remote_addr),
            opt(&e.detail),
        )?;
    }
    Ok(())
}

/// Serves plain HTTP until Ctrl-C or SIGTERM (the demo's server).
pub(crate) fn serve(
    listen: SocketAddr,
    storage: Arc<dyn Storage>,
    catalog: Arc<Catalog>,
    office: OfficeConfig,
) -> Result<(), DynError> {
    serve_on(
        listen,
        None,
        storage,
        catalog,
        office,
        TokenPolicy::default(),
    )
}

/// How `serve` speaks HTTPS: the loaded certificate and key, and the plain listener that
/// redirects to HTTPS, if any.
struct Https {
    config: Arc<wangge_server::tls::ServerConfig>,
    redirect_http: Option<SocketAddr>,
}

/// Checks the TLS flags and loads the certificate and key (before the database is opened,
/// so a wrong path fails at once): `None` for plain HTTP.
fn https_settings(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    redirect_http: Option<SocketAddr>,
) -> Result<Option<Https>, DynError> {
    match wangge_server::tls::files(cert, key)? {
        Some((cert, key)) => Ok(Some(Https {
            config: wangge_server::tls::server_config(&cert, &key)?,
            redirect_http,
        })),
        None if redirect_http.is_some() => Err("--redirect-http (WANGGE_REDIRECT_HTTP) sends \
             clients to HTTPS, which needs --tls-cert and --tls-key; give them, or drop \
             --redirect-http"
            .into()),
        None => Ok(None),
    }
}

/// Serves plain HTTP or, with `https`, HTTPS (and the redirecting plain listener) until
/// Ctrl-C or SIGTERM; then stops accepting and finishes the requests in flight on every
/// listener. The client's address reaches the audit log through `ConnectInfo`.
fn serve_on(
    listen: SocketAddr,
    https: Option<Https>,
    storage: Arc<dyn Storage>,
    catalog: Arc<Catalog>,
    office: OfficeConfig,
    tokens: TokenPolicy,
) -> Result<(), DynError> {
    use std::future::IntoFuture;
    // Declared before the runtime, so dropped after it, outside it: closing a PostgreSQL
    // connection blocks, which is refused on a thread that drives async tasks (tasks the
    // runtime still holds at shutdown may hold the storage too).
    let _storage = storage.clone();
    let runtime = tokio::runtime::Runtime::new()?;
    let catalog_version = catalog.version().to_owned();
    runtime.block_on(async move {
        let app = router(AppState {
            storage,
            catalog,
            clock: Arc::new(SystemClock),
            office,
            tokens,
        });
        let bind = |addr: SocketAddr| async move {
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr}: {e}; is another server using it?"))
        };
        let listener = bind(listen).await?;
        // One signal stops every listener.
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(());
        });
        let on_stop = |mut stopped: tokio::sync::watch::Receiver<()>| async move {
            let _ = stopped.changed().await;
        };
        let Some(https) = https else {
            tracing::info!(%listen, catalog = %catalog_version, "serving http");
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(on_stop(stopped))
            .await?;
            return Ok(());
        };
        let redirecting = match https.redirect_http {
            Some(addr) => {
                let plain = bind(addr).await?;
                tracing::info!(%addr, to_port = listen.port(), "redirecting http to https");
                let serving = axum::serve(plain, wangge_server::tls::redirect(listen.port()))
                    .with_graceful_shutdown(on_stop(stopped.clone()))
                    .into_future();
                Some(tokio::spawn(serving))
            }
            None => None,
        };
        tracing::info!(%listen, catalog = %catalog_version, "serving https");
        wangge_server::tls::serve_https(listener, https.config, app, on_stop(stopped)).await?;
        if let Some(redirecting) = redirecting {
            redirecting.await??;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_server::storage::sqlite::SqliteStorage;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn since_takes_milliseconds_iso_times_and_days() {
        assert_eq!(parse_since("1772413200000"), Ok(1_772_413_200_000));
        assert_eq!(
            parse_since("2026-03-02T09:00:00+08:00"),
            Ok(1_772_413_200_000)
        );
        assert_eq!(parse_since("2026-03-02T01:00:00Z"), Ok(1_772_413_200_000));
        assert_eq!(parse_since("2026-03-02T09:00:00"), Ok(1_772_413_200_000));
        assert_eq!(
            parse_since("2026-03-02"),
            Ok(1_772_413_200_000 - 9 * 3_600_000)
        );
        let err = parse_since("yesterday").unwrap_err();
        assert!(err.contains("ISO 8601"), "{err}");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let entry = AuditEntry {
            at: 1_772_413_200_000,
            device_id: Some("dev".into()),
            person: None,
            action: "POST /v1/sync".into(),
            target: None,
            outcome: "ok".into(),
            code: None,
            remote_addr: Some("10.0.0.1".into()),
            detail: Some("pushed 1, pulled 2".into()),
        };
        let mut out = Vec::new();
        write_audit_csv(&mut out, std::slice::from_ref(&entry)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "at,time,device_id,person,action,target,outcome,code,remote_addr,detail\n\
             1772413200000,2026-03-02T09:00:00.000+08:00,dev,,POST /v1/sync,,ok,,10.0.0.1,\"pushed 1, pulled 2\"\n"
        );
        let mut out = Vec::new();
        write_audit_json(&mut out, &[entry.clone(), entry.clone()]).unwrap();
        let back: Vec<AuditEntry> = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, vec![entry.clone(), entry]);
    }

    #[test]
    fn enrolment_refuses_unknown_and_inactive_people_and_bad_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let storage = SqliteStorage::open(dir.path().join("s.sqlite3"), catalog.clone()).unwrap();
        let roster = roster::parse("demo", roster::DEMO_ROSTER, &catalog, &[]).unwrap();
        storage
            .upsert_roster(&roster.people, &roster.units)
            .unwrap();
        let none = ScopeOverrides::default();
        let err = enroll(&storage, &catalog, "x", "XT-NOPE", none.clone()).unwrap_err();
        assert!(err.to_string().contains("roster import"), "{err}");
        let err = enroll(&storage, &catalog, "x", "XT-GO-009", none.clone()).unwrap_err();
        assert!(err.to_string().contains("inactive"), "{err}");
        let bad_team = ScopeOverrides {
            teams: Some(strings(&["网格九组"])),
            ..ScopeOverrides::default()
        };
        let err = enroll(&storage, &catalog, "x", "XT-GO-001", bad_team).unwrap_err();
        assert!(err.to_string().contains("--teams"), "{err}");
        let bad_block = ScopeOverrides {
            blocks: Some(strings(&["XT-W01"])),
            ..ScopeOverrides::default()
        };
        let err = enroll(&storage, &catalog, "x", "XT-GO-001", bad_block).unwrap_err();
        assert!(err.to_string().contains("not a block"), "{err}");

        let (device, token) = enroll(&storage, &catalog, "手持01", "XT-GO-001", none).unwrap();
        assert_eq!(device.person.as_deref(), Some("XT-GO-001"));
        assert_eq!(
            storage.device_by_token(&auth::hash_token(&token)).unwrap(),
            Some(device.clone())
        );
        assert!(storage.devices().unwrap().len() == 1);
        let log = storage.audit_log(0, 10).unwrap();
        assert_eq!(log.len(), 1, "refused enrolments enrol nothing: {log:?}");
        assert_eq!(log[0].action, "cli enroll");
        assert_eq!(log[0].person.as_deref(), Some("XT-GO-001"));
        assert_eq!(log[0].device_id, Some(device.device_id.clone()));
    }

    #[test]
    fn a_pairing_code_is_made_for_an_active_person_as_enroll_would_enrol_and_stored_hashed() {
        use wangge_server::pairing::{self, Redeem};
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let storage = SqliteStorage::open(dir.path().join("s.sqlite3"), catalog.clone()).unwrap();
        let roster = roster::parse("demo", roster::DEMO_ROSTER, &catalog, &[]).unwrap();
        storage
            .upsert_roster(&roster.people, &roster.units)
            .unwrap();
        let request = |staff_id: &'static str, valid_minutes: u32| PairRequest {
            staff_id,
            name: Some("手持09".into()),
            overrides: ScopeOverrides::default(),
            valid_minutes,
            now_ms: 1_000,
        };
        let err = pair(&storage, &catalog, request("XT-NOPE", 15))
            .err()
            .unwrap();
        assert!(err.to_string().contains("roster import"), "{err}");
        let err = pair(&storage, &catalog, request("XT-GO-009", 15))
            .err()
            .unwrap();
        assert!(err.to_string().contains("inactive"), "{err}");
        for minutes in [0, 1441] {
            let err = pair(&storage, &catalog, request("XT-GO-001", minutes))
                .err()
                .unwrap();
            assert!(err.to_string().contains("--valid-minutes"), "{err}");
        }

        let made = pair(&storage, &catalog, request("XT-GO-001", 15)).unwrap();
        let person = storage.person("XT-GO-001").unwrap().unwrap();
        assert_eq!(
            (made.role, made.scope.clone()),
            wangge_server::device_admin::device_for(&person, &ScopeOverrides::default())
        );
        assert_eq!(made.expires_at, 1_000 + 15 * 60_000);
        let log = storage.audit_log(0, 10).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].action, "cli pair");
        assert!(!format!("{log:?}").contains(&made.code));

        // The code enrols a device to the person, once.
        let redeem = Redeem {
            code_id: pairing::code_id(&made.code).to_owned(),
            code_hash: pairing::hash_code(&made.code),
            device_id: wangge_core::DeviceId::generate().to_string(),
            device_id_from_app: true,
            device_name: Some("from the app".into()),
            token_hash: auth::hash_token("wgt_t"),
            now_ms: 2_000,
        };
        let done = storage.redeem_pairing_code(&redeem).unwrap();
        assert_eq!(done.device.name, "手持09", "the back office's name wins");
        assert_eq!(done.device.person.as_deref(), Some("XT-GO-001"));
        assert_eq!(done.device.scope, made.scope);
        let again = storage.redeem_pairing_code(&redeem).unwrap_err();
        assert_eq!(again.code(), "pairing_code_used");
    }
}
