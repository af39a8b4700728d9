//! Settings, read once at start-up from the environment (and `.env`, through dotenvy).
//! The settings of a part live with that part (`db::DatabaseSettings`,
//! `mail::MailSettings`, ...); this module reads them all and nothing below the web
//! layer reads it back.
//!
//! Every setting has a development default so `cargo run` works with nothing set;
//! production refuses to start while a secret is missing or weak, listing every problem.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use rand::RngCore;

use crate::accounts::AccountSettings;
use crate::accounts::hashing::HashingLimits;
use crate::db::{self, DatabaseSettings};
use crate::mail::outbox::RecipientLimits;
use crate::mail::transport::{self, ProviderSettings};
use crate::mail::{MailSettings, MailTransport, can_send_as, local_sender};
use crate::secret::Secret;
use crate::sessions::SessionSettings;
use crate::telemetry::LogFormat;

/// The shortest session secret accepted; actix-session needs 64 bytes of key material.
pub const MIN_SESSION_SECRET_BYTES: usize = 64;

/// The product's name when `APP_NAME` is not set: the project's, as a title.
const DEFAULT_APP_NAME: &str = "{{project-name | title_case}}";

/// The line beside the name on the sign-in pages when `APP_TAGLINE` is not set.
const DEFAULT_TAGLINE: &str = "Your work, in one secure place.";

/// Which defaults apply and how strict start-up checks are (`APP_ENV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "development" => Some(Self::Development),
            "test" => Some(Self::Test),
            "production" => Some(Self::Production),
            _ => None,
        }
    }
}

/// Everything the application needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    pub host: String,
    pub port: u16,
    /// Public URL of the site, without a trailing slash; links in mail are built from it.
    pub base_url: String,
    pub brand: Brand,
    pub database: DatabaseSettings,
    pub session_secret: Secret,
    pub mail: MailSettings,
    pub bcrypt_cost: u32,
    pub hashing: HashingLimits,
    pub sessions: SessionSettings,
    pub accounts: AccountSettings,
    /// Peers whose `X-Forwarded-For` header is believed when finding a client's IP.
    pub trusted_proxies: Vec<IpNet>,
    pub rate_limits: RateLimitSettings,
    /// How long a form's body may take to arrive (`REQUEST_BODY_TIMEOUT_SECONDS`,
    /// default 10): a client trickling it in holds a connection no longer.
    pub request_body_timeout: Duration,
    /// How long a handler may take before the visitor gets the 503 page
    /// (`REQUEST_TIMEOUT_SECONDS`, default 30).
    pub request_timeout: Duration,
    /// Requests of one client in progress at once; more get 429
    /// (`MAX_REQUESTS_PER_CLIENT`, default 64).
    pub max_requests_per_client: u32,
    pub shutdown: ShutdownSettings,
    pub retention: Retention,
    /// Set when no secret was configured and a random one was made for this run.
    pub session_secret_is_ephemeral: bool,
}

/// How the app stops on SIGTERM: `/readyz` answers 503 for `notice` while the app goes
/// on serving, so load balancers take it out of rotation first
/// (`SHUTDOWN_NOTICE_SECONDS`; default 5 in production, 0 otherwise); then it finishes
/// in-flight requests. The whole stop, the mail worker's included, takes at most
/// `timeout` (`SHUTDOWN_TIMEOUT_SECONDS`, default 25: inside an orchestrator's usual 30).
#[derive(Debug, Clone, Copy)]
pub struct ShutdownSettings {
    pub notice: Duration,
    pub timeout: Duration,
}

/// What visitors and mail call the product (`APP_NAME`, `APP_TAGLINE`).
#[derive(Debug, Clone)]
pub struct Brand {
    /// In the wordmark, page titles, mail subjects and the default sender's name.
    pub name: String,
    /// Beside the name on the sign-in and sign-up pages.
    pub tagline: String,
}

/// How many sign-up, login, code and reset attempts one IP address may make. In each
/// instance's memory: a burst, then one more each `refill` (`RATE_LIMIT_AUTH_BURST`,
/// `RATE_LIMIT_AUTH_REFILL_SECONDS`). In the database, shared by every instance:
/// `window_limit` in each fixed `window` (`RATE_LIMIT_AUTH_WINDOW_LIMIT`,
/// `RATE_LIMIT_AUTH_WINDOW_SECONDS`, at most a day).
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    pub auth_burst: u32,
    pub auth_refill: Duration,
    pub auth_window: chrono::Duration,
    pub auth_window_limit: i64,
}

/// How long the purge keeps what is no longer in use (`jobs::purge_expired`).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Audit log entries (`AUDIT_RETENTION_DAYS`, default 365).
    pub audit_events: chrono::Duration,
    /// Accounts whose address was never verified (`UNVERIFIED_ACCOUNT_DAYS`, default 7):
    /// after that, their codes could only be guessed at.
    pub unverified_accounts: chrono::Duration,
}

/// Every problem found in the configuration, one per line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl Settings {
    /// Whether templates are read again for each page and mail: in a development
    /// build running in development, where an edit should show at the next request.
    pub fn reload_templates(&self) -> bool {
        cfg!(debug_assertions) && self.profile == Profile::Development
    }

    /// Whether the site is served over https (`APP_BASE_URL`): cookies are then `Secure`
    /// and `__Host-` prefixed, and browsers are told to insist on https.
    pub fn https(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value if it is set.
    /// Tests pass their own variables here instead of changing the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Reader {
            lookup: &lookup,
            problems: Vec::new(),
        };

        let profile = match env.get("APP_ENV") {
            None => Profile::Development,
            Some(value) => Profile::parse(&value).unwrap_or_else(|| {
                env.problem(format!(
                    "APP_ENV={value} is not a profile; use development, test or production"
                ));
                Profile::Development
            }),
        };
        let production = profile == Profile::Production;

        let default_host = if production { "0.0.0.0" } else { "127.0.0.1" };
        let host = env.get("APP_HOST").unwrap_or_else(|| default_host.into());
        if host.parse::<IpAddr>().is_err() && host != "localhost" {
            env.problem(format!("APP_HOST={host} is not an IP address"));
        }
        // Read by `telemetry` before the settings; only checked here.
        if let Some(value) = env.get("LOG_FORMAT")
            && LogFormat::parse(&value).is_none()
        {
            env.problem(format!(
                "LOG_FORMAT={value} is not a log format; use text or json"
            ));
        }
        let default_port = if profile == Profile::Test { 0 } else { 8000 };
        let port = env.parse("APP_PORT", default_port, "a port number (0-65535)");

        let base_url = match env.get("APP_BASE_URL") {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if production => {
                env.problem("APP_BASE_URL is required in production, e.g. https://example.com");
                String::new()
            }
            None => format!("http://localhost:{port}"),
        };
        if base_url.is_empty() {
            // Missing in production: said above.
        } else if production && !base_url.starts_with("https://") {
            env.problem(format!(
                "APP_BASE_URL={base_url} must start with https:// in production"
            ));
        } else if !base_url.starts_with("https://") && !base_url.starts_with("http://") {
            env.problem(format!(
                "APP_BASE_URL={base_url} must be an absolute http(s) URL"
            ));
        }

        let database = DatabaseSettings {
            url: match env.get("DATABASE_URL") {
                Some(url) => url,
                None if production => {
                    env.problem("DATABASE_URL is required in production");
                    String::new()
                }
                None => db::DEFAULT_DEVELOPMENT_URL.to_owned(),
            },
            pool_size: env.parse("DATABASE_POOL_SIZE", 10, "a whole number above 0"),
            timeouts: db::Timeouts {
                lock: Duration::from_secs(env.positive("DATABASE_LOCK_TIMEOUT_SECONDS", 5) as u64),
                statement: Duration::from_secs(
                    env.positive("DATABASE_STATEMENT_TIMEOUT_SECONDS", 30) as u64,
                ),
            },
        };
        if database.pool_size == 0 {
            env.problem("DATABASE_POOL_SIZE must be above 0");
        }

        let (session_secret, session_secret_is_ephemeral) = match env.get("SESSION_SECRET") {
            Some(secret) => {
                if secret.len() < MIN_SESSION_SECRET_BYTES {
                    env.problem(format!(
                        "SESSION_SECRET is {} bytes; it must be at least {MIN_SESSION_SECRET_BYTES} \
                         (generate one with: openssl rand -base64 64)",
                        secret.len()
                    ));
                } else if production && secret.starts_with("change-me") {
                    env.problem("SESSION_SECRET still holds the example value; generate a new one");
                } else if production && looks_guessable(&secret) {
                    env.problem(
                        "SESSION_SECRET repeats a few characters; generate a random one \
                         (openssl rand -base64 64)",
                    );
                }
                (Secret::new(secret), false)
            }
            None if production => {
                env.problem(
                    "SESSION_SECRET is required in production (generate one with: openssl rand -base64 64)",
                );
                (Secret::new(String::new()), false)
            }
            None => (Secret::new(random_secret()), true),
        };

        let brand = Brand {
            name: env
                .get("APP_NAME")
                .unwrap_or_else(|| DEFAULT_APP_NAME.to_owned()),
            tagline: env
                .get("APP_TAGLINE")
                .unwrap_or_else(|| DEFAULT_TAGLINE.to_owned()),
        };
        let mail = env.mail_settings(profile, &brand);

        let default_cost = if profile == Profile::Test { 4 } else { 12 };
        let bcrypt_cost = env.parse("BCRYPT_COST", default_cost, "a whole number from 4 to 31");
        if !(4..=31).contains(&bcrypt_cost) {
            env.problem(format!("BCRYPT_COST={bcrypt_cost} must be from 4 to 31"));
        } else if production && bcrypt_cost < 10 {
            env.problem(format!(
                "BCRYPT_COST={bcrypt_cost} is too weak for production; use 10 or more (12 is the default)"
            ));
        }

        // A core stays free for serving pages while a crowd signs in.
        let spare_cores = std::thread::available_parallelism().map_or(1, |cores| cores.get() - 1);
        let hashing = HashingLimits {
            threads: env.positive("BCRYPT_THREADS", spare_cores.max(1) as i64) as usize,
            max_wait: Duration::from_secs(env.positive("BCRYPT_QUEUE_SECONDS", 2) as u64),
        };

        let trusted_proxies = env.trusted_proxies();
        if production && trusted_proxies.iter().any(|net| net.prefix_len() == 0) {
            env.problem(
                "TRUSTED_PROXIES must not contain 0.0.0.0/0 or ::/0: every client could name its \
                 own address and escape the rate limits; list your proxies' addresses",
            );
        }
        // Ten attempts at once, then one every six seconds: ten a minute, sustained. The
        // shared budget allows as many over ten minutes, however many instances run.
        let auth_window = env.positive("RATE_LIMIT_AUTH_WINDOW_SECONDS", 600);
        if auth_window > 86_400 {
            env.problem(format!(
                "RATE_LIMIT_AUTH_WINDOW_SECONDS={auth_window} must be at most 86400 (a day)"
            ));
        }
        let rate_limits = RateLimitSettings {
            auth_burst: env.positive("RATE_LIMIT_AUTH_BURST", 10) as u32,
            auth_refill: Duration::from_secs(
                env.positive("RATE_LIMIT_AUTH_REFILL_SECONDS", 6) as u64
            ),
            auth_window: chrono::Duration::seconds(auth_window.min(86_400)),
            auth_window_limit: env.positive("RATE_LIMIT_AUTH_WINDOW_LIMIT", 100),
        };
        let request_body_timeout =
            Duration::from_secs(env.positive("REQUEST_BODY_TIMEOUT_SECONDS", 10) as u64);
        let request_timeout =
            Duration::from_secs(env.positive("REQUEST_TIMEOUT_SECONDS", 30) as u64);
        let max_requests_per_client = env.positive("MAX_REQUESTS_PER_CLIENT", 64) as u32;
        let shutdown_timeout = env.positive("SHUTDOWN_TIMEOUT_SECONDS", 25) as u64;
        let shutdown_notice: u64 = env.parse(
            "SHUTDOWN_NOTICE_SECONDS",
            if production { 5 } else { 0 },
            "a whole number of seconds",
        );
        if shutdown_notice >= shutdown_timeout {
            env.problem(format!(
                "SHUTDOWN_NOTICE_SECONDS={shutdown_notice} must be less than \
                 SHUTDOWN_TIMEOUT_SECONDS={shutdown_timeout}: requests need time to finish"
            ));
        }
        let shutdown = ShutdownSettings {
            notice: Duration::from_secs(shutdown_notice.min(shutdown_timeout.saturating_sub(1))),
            timeout: Duration::from_secs(shutdown_timeout),
        };
        let sessions = SessionSettings {
            idle_timeout: chrono::Duration::minutes(env.positive("SESSION_IDLE_MINUTES", 30)),
            absolute_timeout: chrono::Duration::hours(env.positive("SESSION_MAX_HOURS", 12)),
            remember_timeout: chrono::Duration::days(env.positive("SESSION_REMEMBER_DAYS", 14)),
            sudo_timeout: chrono::Duration::minutes(env.positive("SUDO_MINUTES", 10)),
        };
        let accounts = AccountSettings {
            max_failed_logins: env.positive("LOGIN_MAX_FAILURES", 10) as i32,
            lockout: chrono::Duration::minutes(env.positive("LOGIN_LOCKOUT_MINUTES", 15)),
            code_lifetime: chrono::Duration::minutes(env.positive("VERIFICATION_CODE_MINUTES", 10)),
            code_max_attempts: env.positive("VERIFICATION_CODE_MAX_ATTEMPTS", 5) as i32,
            code_cooldown: chrono::Duration::seconds(
                env.positive("VERIFICATION_CODE_COOLDOWN_SECONDS", 60),
            ),
            codes_per_hour: env.positive("VERIFICATION_CODES_PER_HOUR", 5),
            reset_lifetime: chrono::Duration::minutes(env.positive("PASSWORD_RESET_MINUTES", 60)),
            mail_limits: RecipientLimits {
                cooldown: chrono::Duration::seconds(env.positive("MAIL_COOLDOWN_SECONDS", 60)),
                per_hour: env.positive("MAILS_PER_HOUR", 5),
            },
            new_sign_in_mail: env.parse("NEW_SIGN_IN_MAIL", true, "true or false"),
            admin_two_factor_required: env.parse(
                "ADMIN_TWO_FACTOR_REQUIRED",
                false,
                "true or false",
            ),
        };

        let retention = Retention {
            audit_events: chrono::Duration::days(env.positive("AUDIT_RETENTION_DAYS", 365)),
            unverified_accounts: chrono::Duration::days(env.positive("UNVERIFIED_ACCOUNT_DAYS", 7)),
        };

        if !env.problems.is_empty() {
            return Err(ConfigError {
                problems: env.problems,
            });
        }
        Ok(Self {
            profile,
            host,
            port,
            base_url,
            brand,
            database,
            session_secret,
            mail,
            bcrypt_cost,
            hashing,
            sessions,
            accounts,
            trusted_proxies,
            rate_limits,
            request_body_timeout,
            request_timeout,
            max_requests_per_client,
            shutdown,
            retention,
            session_secret_is_ephemeral,
        })
    }
}

/// Reads variables and collects every problem instead of stopping at the first.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// A variable's value; empty counts as unset, as in most `.env` files.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    fn problem(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    fn parse<T: std::str::FromStr>(&mut self, name: &str, default: T, expected: &str) -> T {
        match self.get(name) {
            None => default,
            Some(value) => value.parse().unwrap_or_else(|_| {
                self.problem(format!("{name}={value} is not {expected}"));
                default
            }),
        }
    }

    /// A whole number from 1 to 100 000: every limit and duration setting.
    fn positive(&mut self, name: &str, default: i64) -> i64 {
        let value = self.parse(name, default, "a whole number");
        if (1..=100_000).contains(&value) {
            value
        } else {
            self.problem(format!("{name}={value} must be from 1 to 100000"));
            default
        }
    }

    fn mail_settings(&mut self, profile: Profile, brand: &Brand) -> MailSettings {
        let production = profile == Profile::Production;
        let transport = match self.get("MAIL_TRANSPORT") {
            None if production => MailTransport::Provider,
            None => MailTransport::Log,
            Some(value) => MailTransport::parse(&value).unwrap_or_else(|| {
                self.problem(format!(
                    "MAIL_TRANSPORT={value} is not a transport; use log, file or {}",
                    transport::NAME
                ));
                MailTransport::Log
            }),
        };
        if production && transport != MailTransport::Provider {
            self.problem(format!(
                "MAIL_TRANSPORT must be {} in production; log and file never deliver mail",
                transport::NAME
            ));
        }

        let from = match self.get("MAIL_FROM") {
            Some(from) => from,
            None if production => {
                self.problem(
                    "MAIL_FROM is required in production, e.g. Example <hello@example.com>",
                );
                String::new()
            }
            None => local_sender(&brand.name),
        };
        let file_dir = self
            .get("MAIL_FILE_DIR")
            .unwrap_or_else(|| "data/mail".into())
            .into();
        let default_poll_ms = if profile == Profile::Test { 50 } else { 1000 };
        let poll_interval = Duration::from_millis(self.parse(
            "MAIL_POLL_INTERVAL_MS",
            default_poll_ms,
            "a number of milliseconds",
        ));
        let concurrent_sends = self.positive("MAIL_CONCURRENT_SENDS", 4);
        if concurrent_sends > 16 {
            self.problem(format!(
                "MAIL_CONCURRENT_SENDS={concurrent_sends} must be at most 16"
            ));
        }

        let mut problems = Vec::new();
        let provider = ProviderSettings::from_lookup(|name| self.get(name), &mut problems);
        self.problems.extend(problems);
        if transport == MailTransport::Provider || production {
            self.problems.extend(provider.missing_credentials());
        }
        if production {
            self.problems.extend(provider.production_problems());
        }
        if !from.is_empty() && !can_send_as(&from) {
            self.problem(format!(
                "MAIL_FROM={from} is not a sender address, e.g. Example <hello@example.com>"
            ));
        }

        MailSettings {
            transport,
            from,
            file_dir,
            poll_interval,
            concurrent_sends: concurrent_sends.min(16) as usize,
            provider,
        }
    }

    fn trusted_proxies(&mut self) -> Vec<IpNet> {
        let Some(list) = self.get("TRUSTED_PROXIES") else {
            return Vec::new();
        };
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter_map(|entry| {
                let parsed = entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from));
                if parsed.is_err() {
                    self.problem(format!(
                        "TRUSTED_PROXIES entry {entry} is not an IP address or CIDR range"
                    ));
                }
                parsed.ok()
            })
            .collect()
    }
}

/// A secret made of few different characters (`aaaa…`, `abab…`) was typed, not
/// generated: 64 random bytes in base64 or hex use a dozen or more.
fn looks_guessable(secret: &str) -> bool {
    let distinct: std::collections::HashSet<char> = secret.chars().collect();
    distinct.len() < 10
}

fn random_secret() -> String {
    let mut bytes = [0u8; MIN_SESSION_SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
