//! `nigehban oncall now|import-holidays|coverage`: the duty roster from a
//! terminal, through a running server's API (an API token of someone who
//! may read or keep rosters).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::rules::form_urlencoded_pairs;

/// The duty roster.
#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call now (or at --at), per schedule.
    Now(NowArgs),
    /// Import an iCalendar (.ics) file of holidays into a calendar.
    ImportHolidays(ImportHolidaysArgs),
    /// List every gap (a moment with nobody on call) in the next weeks.
    Coverage(CoverageArgs),
}

/// How to reach the server.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The server's base URL, e.g. https://nsoc.example.org.
    #[arg(long, value_name = "URL")]
    server: String,
    /// An API token (`ngt_...`); also NIGEHBAN_TOKEN, which keeps it out of the process list.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The tenant (default: the token's).
    #[arg(long, value_name = "UUID")]
    tenant: Option<String>,
}

/// Arguments of `nigehban oncall now`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when everyone's schedule has someone on call, 1 when a schedule has a gap at that moment, 2 when the request failed."
)]
pub struct NowArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Only this team's schedules.
    #[arg(long)]
    team: Option<String>,
    /// The moment (RFC 3339); a past moment is answered from the roster as it was then.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

/// Arguments of `nigehban oncall import-holidays`.
#[derive(Debug, Args)]
#[command(
    after_help = "Holidays are merged by UID into the calendar NAME of the tenant (made if missing); \
corrections made by hand are kept. Lunar holidays move: correct them through the API when they are announced.\n\n\
Exit status: 0 when imported (gaps it opens are printed as warnings), 2 when the request failed."
)]
pub struct ImportHolidaysArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The calendar's name.
    #[arg(long)]
    name: String,
    /// Whose holidays (e.g. Pakistan).
    #[arg(long, default_value = "")]
    scope: String,
    /// The .ics file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Arguments of `nigehban oncall coverage`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when there is no gap, 1 when there is one, 2 when the request failed."
)]
pub struct CoverageArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// How many weeks ahead (1 to 104).
    #[arg(long, default_value_t = 4)]
    weeks: u32,
}

/// Runs a `nigehban oncall` subcommand.
pub fn run(command: OncallCommand) -> anyhow::Result<ExitCode> {
    match command {
        OncallCommand::Now(args) => now(args),
        OncallCommand::ImportHolidays(args) => import_holidays(args),
        OncallCommand::Coverage(args) => coverage(args),
    }
}

/// A connection to the server's API.
struct Api {
    agent: ureq::Agent,
    server: String,
    token: String,
}

impl Api {
    fn new(args: &ServerArgs) -> anyhow::Result<Self> {
        let token = match &args.token {
            Some(token) => token.clone(),
            None => crate::config::process_env("NIGEHBAN_TOKEN")
                .context("no API token: pass --token or set NIGEHBAN_TOKEN")?,
        };
        let server = args.server.trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            anyhow::bail!("--server {server:?}: expected an http:// or https:// URL");
        }
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .tls_config(tls)
            .build()
            .into();
        Ok(Self {
            agent,
            server,
            token,
        })
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Value> {
        let mut response =
            response.with_context(|| format!("the request to {} failed", self.server))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            anyhow::bail!("the server refused ({status}): {message}");
        }
        serde_json::from_str(&text).context("unexpected answer from the server")
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let url = format!("{}{path}?{}", self.server, form_urlencoded_pairs(query));
        let response = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call();
        self.answer(response)
    }

    fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server);
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes());
        self.answer(response)
    }
}

fn with_tenant<'a>(
    args: &'a ServerArgs,
    mut query: Vec<(&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    if let Some(tenant) = &args.tenant {
        query.push(("tenant", tenant));
    }
    query
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

fn now(args: NowArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.server)?;
    let mut query = with_tenant(&args.server, Vec::new());
    if let Some(team) = &args.team {
        query.push(("team", team));
    }
    if let Some(at) = &args.at {
        query.push(("at", at));
    }
    let answer = api.get("/api/v1/oncall/now", &query)?;
    let mut gap = false;
    for item in answer["items"].as_array().into_iter().flatten() {
        match item["on_call"].as_str() {
            Some(person) => println!(
                "{} ({}): {person} until {} [{} layer, roster version {}]",
                text(&item["name"]),
                text(&item["team"]),
                text(&item["shift"]["end"]),
                text(&item["shift"]["layer"]),
                item["roster_version"]
            ),
            None => {
                gap = true;
                println!(
                    "{} ({}): NOBODY ON CALL at {}",
                    text(&item["name"]),
                    text(&item["team"]),
                    text(&item["at"])
                );
            }
        }
    }
    Ok(if gap {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_gaps(coverage: &Value) -> bool {
    let mut any = false;
    for gap in coverage["gaps"].as_array().into_iter().flatten() {
        any = true;
        println!(
            "{}: nobody on call from {} to {}",
            text(&coverage["name"]),
            text(&gap["start"]),
            text(&gap["end"])
        );
    }
    any
}

fn import_holidays(args: ImportHolidaysArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.server)?;
    let ical = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let body = serde_json::json!({
        "tenant": args.server.tenant,
        "name": args.name,
        "scope": args.scope,
        "ical": ical,
    });
    let answer = api
        .post("/api/v1/oncall/calendars/import", &body)
        .with_context(|| format!("{}", args.file.display()))?;
    let calendar = &answer["calendar"];
    println!(
        "{}: calendar {} ({}): {} added, {} replaced, {} hand corrections kept; {} holiday(s) in all",
        args.file.display(),
        text(&calendar["name"]),
        text(&calendar["id"]),
        answer["import"]["added"],
        answer["import"]["replaced"],
        answer["import"]["corrections_kept"],
        calendar["holidays"].as_array().map_or(0, Vec::len)
    );
    for warning in answer["warnings"].as_array().into_iter().flatten() {
        print_gaps(warning);
    }
    Ok(ExitCode::SUCCESS)
}

fn coverage(args: CoverageArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(&args.server)?;
    let weeks = args.weeks.to_string();
    let query = with_tenant(&args.server, vec![("weeks", weeks.as_str())]);
    let answer = api.get("/api/v1/oncall/coverage", &query)?;
    let mut gap = false;
    for coverage in answer["items"].as_array().into_iter().flatten() {
        gap |= print_gaps(coverage);
    }
    if !gap {
        println!("no gap in the next {} week(s)", args.weeks);
    }
    Ok(if gap {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
