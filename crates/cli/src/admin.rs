//! `nigehban admin`: account administration at the server's command line.

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use nigehban_app::NewUser;
use nigehban_app::model::{DisplayName, Password, Role, TenantId, Username};

use crate::config::{ConfigSources, StorageFlags};
use crate::{logging, serve, storage};

/// The `admin` subcommands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user. On an empty platform this creates the national CERT and
    /// makes this user its first administrator, so `serve` prints no password.
    CreateUser(CreateUserArgs),
    /// Give a user a new one-time password (printed once), which they must
    /// change at their next sign-in; ends their sessions and lifts a lockout.
    /// Audited as the operator's action. The way back in when the
    /// administrator's password is lost (or the first start's was never seen).
    ResetPassword(ResetPasswordArgs),
}

/// Arguments of `nigehban admin reset-password`.
#[derive(Debug, Args)]
pub struct ResetPasswordArgs {
    /// Which storage.
    #[command(flatten)]
    pub storage: StorageFlags,
    /// The user's sign-in name.
    #[arg(value_name = "USER")]
    pub username: String,
}

/// Arguments of `nigehban admin create-user`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Which storage.
    #[command(flatten)]
    pub storage: StorageFlags,
    /// Sign-in name (a-z, 0-9, '.', '_', '-', '@').
    #[arg(long)]
    pub username: String,
    /// Name shown in the console [default: the username].
    #[arg(long)]
    pub display_name: Option<String>,
    /// Role: administrator, analyst, responder, intel_analyst, duty_officer,
    /// constituent_reporter, council_member or auditor.
    #[arg(long, default_value = "administrator")]
    pub role: String,
    /// Tenant id to create the user in [default: the national CERT].
    #[arg(long)]
    pub tenant: Option<String>,
    /// Read the password from the first line of standard input instead of generating a one-time password.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Runs an `admin` subcommand.
pub fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::CreateUser(args) => create_user(args),
        AdminCommand::ResetPassword(args) => reset_password(args),
    }
}

fn reset_password(args: ResetPasswordArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    let username = Username::parse(&args.username).context("USER")?;
    crate::runtime()?.block_on(async {
        let app = storage::open(&settings).await?;
        let operator = app
            .operator(None)
            .await
            .context("the platform is not set up yet: `nigehban serve` sets it up on its first start")?;
        let reset = app
            .users()
            .reset_password_of(&operator, &username, None)
            .await
            .with_context(|| format!("cannot reset the password of {:?}", username.as_str()))?;
        let Some(password) = reset.one_time_password else {
            bail!("no password was generated");
        };
        println!(
            "nigehban: reset the password of {} ({}) in tenant {}",
            reset.user.username, reset.user.id, reset.user.tenant
        );
        println!("nigehban:   one-time password: {}", password.expose());
        println!(
            "nigehban: the user must choose a new password at next sign-in; their sessions were ended; this password is not shown again"
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn create_user(args: CreateUserArgs) -> anyhow::Result<ExitCode> {
    let env = crate::config::process_env;
    let sources = ConfigSources::load(args.storage.config.as_deref(), &env)?;
    let mut settings = sources.storage(&args.storage)?;
    logging::init(&settings.log);
    let username = Username::parse(&args.username).context("--username")?;
    let display_name =
        DisplayName::parse(args.display_name.as_deref().unwrap_or(username.as_str()))
            .context("--display-name")?;
    let role: Role = args.role.parse().context("--role")?;
    let tenant: Option<TenantId> = args
        .tenant
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--tenant")?;
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let line = line.trim_end_matches(['\r', '\n']);
        Some(Password::parse(line).context("password from standard input")?)
    } else {
        None
    };
    crate::runtime()?.block_on(async {
        let app = storage::open(&settings).await?;
        if app.operator(None).await.is_err() {
            // An empty platform: this user becomes the first administrator.
            if role != Role::Administrator || tenant.is_some() {
                bail!(
                    "the platform is not set up yet: the first user must be an administrator of the national CERT (omit --tenant and --role)"
                );
            }
            settings.admin_username = username.as_str().to_owned();
            let created = serve::first_start(&app, &settings, password).await?;
            if !created {
                bail!("the platform was set up by another process at the same moment; run the command again");
            }
            return Ok(ExitCode::SUCCESS);
        }
        let operator = app.operator(None).await?;
        let tenant = tenant.unwrap_or(operator.tenant_id());
        let created = app
            .users()
            .create(
                &operator,
                NewUser {
                    tenant,
                    username,
                    display_name,
                    role,
                    password,
                },
            )
            .await
            .context("cannot create the user")?;
        println!(
            "nigehban: created user {} ({}) in tenant {} as {}",
            created.user.username, created.user.id, created.user.tenant, created.user.role
        );
        if let Some(password) = created.one_time_password {
            println!("nigehban:   one-time password: {}", password.expose());
            println!("nigehban: the user must choose a new password at first sign-in; this password is not shown again");
        }
        Ok(ExitCode::SUCCESS)
    })
}
