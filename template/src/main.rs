use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use {{crate_name}}::accounts::email::EmailAddress;
use {{crate_name}}::accounts::name::DisplayName;
use {{crate_name}}::accounts::password;
use {{crate_name}}::admin;
use {{crate_name}}::clock::{Clock, SystemClock};
use {{crate_name}}::config::{Profile, Settings};
use {{crate_name}}::db;
use {{crate_name}}::startup::{self, Application};
use {{crate_name}}::telemetry;
use {{crate_name}}::web::health;

#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Within a HEALTHCHECK's usual timeout; `/readyz` itself gives up on the database
/// after 2 seconds.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve HTTP until SIGTERM or Ctrl-C (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask the running app for /readyz (on APP_HOST and APP_PORT); exit 0 when it is
    /// ready, 1 when it is not: a container's HEALTHCHECK.
    Healthcheck,
    /// Fill a development database with demo people, an administrator and audit
    /// history, so the admin pages have something to show. Refused in production.
    Seed,
    /// Create an administrator. The password is read from standard input when it is
    /// not a terminal, and asked for (twice) when it is.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Display name; defaults to the part of the email before the @.
        #[arg(long)]
        name: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env is normal: production passes real environment variables.
    let _ = dotenvy::dotenv();
    telemetry::init(telemetry::LogFormat::from_env());

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("The configuration has problems:");
            for problem in &error.problems {
                eprintln!("  - {problem}");
            }
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(&settings),
        Command::Healthcheck => {
            health::ask_ready(&settings.host, settings.port, HEALTHCHECK_TIMEOUT)
                .map_err(anyhow::Error::msg)
        }
        Command::Seed => seed(&settings),
        Command::CreateAdmin { email, name } => create_admin(&settings, &email, name.as_deref()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.session_secret_is_ephemeral {
        tracing::warn!(
            "SESSION_SECRET is not set: using a random one, so sessions end when the app restarts"
        );
    }
    migrate(&settings)?;
    let host = settings.host.clone();
    let application = Application::build(settings).await?;
    tracing::info!("listening on http://{host}:{}", application.port());
    application
        .run_until_stopped(startup::shutdown_signal())
        .await?;
    Ok(())
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let applied = db::migrate(&settings.database)?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    }
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(())
}

fn create_admin(settings: &Settings, email: &str, name: Option<&str>) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("--email")?;
    // The same rules as the sign-up form's.
    let name = match name {
        Some(name) => DisplayName::parse(name).context("--name")?,
        None => DisplayName::parse(email.local_part())
            .context("the part of the address before the @ cannot be the name: give --name")?,
    };
    let password = read_password()?;
    let broken = password::check_password(&password, email.as_str());
    if !broken.is_empty() {
        let rules: Vec<&str> = broken.iter().map(|rule| rule.message()).collect();
        anyhow::bail!(
            "the password is not accepted:\n  - {}",
            rules.join("\n  - ")
        );
    }
    let hash = password::hash_password(&password, settings.bcrypt_cost)?;

    let mut conn = db::connect(&settings.database)?;
    db::run_migrations(&mut conn)?;
    let admin = admin::create::create_admin(&mut conn, &email, &name, &hash, SystemClock.now())?;
    println!("Created administrator {} (id {})", admin.email, admin.id);
    Ok(())
}

fn seed(settings: &Settings) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.profile != Profile::Production,
        "seed fills a development database with demo accounts; it does not run with APP_ENV=production"
    );
    let hash = password::hash_password(admin::seed::PASSWORD, settings.bcrypt_cost)?;
    let mut conn = db::connect(&settings.database)?;
    db::run_migrations(&mut conn)?;
    match admin::seed::seed(&mut conn, &hash, SystemClock.now())? {
        admin::seed::Seeded::Users(count) => println!(
            "Added {count} demo accounts and the administrator {}, all with the password {}",
            admin::seed::ADMIN_EMAIL,
            admin::seed::PASSWORD
        ),
        admin::seed::Seeded::Already => println!(
            "The demo accounts are there already: sign in as {} with the password {}",
            admin::seed::ADMIN_EMAIL,
            admin::seed::PASSWORD
        ),
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password: ")?;
        let confirmation = rpassword::prompt_password("Repeat the password: ")?;
        anyhow::ensure!(password == confirmation, "the two passwords differ");
        Ok(password)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}
