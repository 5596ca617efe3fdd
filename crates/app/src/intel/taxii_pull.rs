//! The TAXII 2.1 client: pulling outside collections into a tenant.
//!
//! A subscription names an API root, a collection, credentials, the tenant
//! the objects go to and how often to pull. Each pull asks for the objects
//! added after the last `X-TAXII-Date-Added-Last` it saw (kept in the store
//! per subscription, so a restart goes on where it stopped), follows `next`
//! while the server says `more`, and imports every page through
//! [`Intel::import_stix`]: objects are kept whole (their markings and
//! `created_by_ref` with them), TLP comes from their markings, and
//! indicators name the identity that made them, else the subscription.
//! Failed requests are retried with back-off; a failed pull is retried at
//! the next interval, never losing what earlier pages brought.

use std::time::Duration;

use base64::Engine as _;
use nigehban_model::{Pap, Role, TenantId, Timestamp, Tlp};
use serde_json::Value;

use crate::caller::Via;
use crate::intel::{StixImport, StixImportTotals, stix_import_totals};
use crate::{App, AppError, AppResult, Caller};

/// The TAXII 2.1 media type, asked for in `Accept`.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Objects asked for per page.
const PAGE_LIMIT: usize = 500;

/// Tries per request before a pull gives up.
const TRIES: u32 = 4;

/// Pages one pull follows at most (a server that never stops saying `more` is cut off).
const MAX_PAGES: usize = 100_000;

/// How a subscription authenticates to the outside server.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum TaxiiCredentials {
    /// No credentials.
    #[default]
    None,
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

impl std::fmt::Debug for TaxiiCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, <password>)"),
            Self::Bearer(_) => f.write_str("Bearer(<token>)"),
        }
    }
}

/// A subscription to an outside TAXII collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxiiSubscription {
    /// Its name: the source of objects that name no creator, and the key of its cursor.
    pub name: String,
    /// The API root's URL (`https://taxii.example/api1/`).
    pub api_root: String,
    /// The collection's id.
    pub collection: String,
    /// How to authenticate.
    pub credentials: TaxiiCredentials,
    /// The tenant the objects are imported for.
    pub tenant: TenantId,
    /// The TLP label of objects that carry none.
    pub default_tlp: Tlp,
    /// How often to pull.
    pub interval: Duration,
}

/// What a pull brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxiiPulled {
    /// Pages read.
    pub pages: usize,
    /// Objects read.
    pub objects: usize,
    /// What the imports did, added up.
    pub totals: StixImportTotals,
    /// The latest `X-TAXII-Date-Added-Last` seen (the next pull asks for what came after).
    pub added_last: Option<String>,
}

/// One page as the outside server sent it.
struct FetchedPage {
    body: Vec<u8>,
    added_last: Option<String>,
}

fn objects_url(
    subscription: &TaxiiSubscription,
    added_after: Option<&str>,
    next: Option<&str>,
) -> String {
    let root = subscription.api_root.trim_end_matches('/');
    let mut url = format!(
        "{root}/collections/{}/objects/?limit={PAGE_LIMIT}",
        urlencode(&subscription.collection)
    );
    if let Some(after) = added_after {
        url.push_str(&format!("&added_after={}", urlencode(after)));
    }
    if let Some(next) = next {
        url.push_str(&format!("&next={}", urlencode(next)));
    }
    url
}

/// Percent-encodes a query value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One GET, retried with back-off on transport errors, 429 and 5xx.
async fn fetch(url: String, credentials: TaxiiCredentials) -> AppResult<FetchedPage> {
    let mut delay = Duration::from_millis(500);
    let mut last_error = String::new();
    for attempt in 1..=TRIES {
        let (url_now, credentials_now) = (url.clone(), credentials.clone());
        let answer = tokio::task::spawn_blocking(move || get_once(&url_now, &credentials_now))
            .await
            .map_err(|e| AppError::Internal(format!("the TAXII request task failed: {e}")))?;
        match answer {
            Ok(page) => return Ok(page),
            Err((retry, error)) => {
                last_error = error;
                if !retry || attempt == TRIES {
                    break;
                }
                tracing::warn!(%url, attempt, error = %last_error, "TAXII request failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
    Err(AppError::Invalid(format!(
        "TAXII pull from {url}: {last_error}"
    )))
}

/// One GET; on failure, whether trying again may help and why it failed.
fn get_once(url: &str, credentials: &TaxiiCredentials) -> Result<FetchedPage, (bool, String)> {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .tls_config(tls)
        .build()
        .into();
    let mut request = agent.get(url).header("Accept", TAXII_MEDIA_TYPE);
    match credentials {
        TaxiiCredentials::None => {}
        TaxiiCredentials::Basic { username, password } => {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            request = request.header("Authorization", format!("Basic {encoded}"));
        }
        TaxiiCredentials::Bearer(token) => {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
    }
    let mut response = request.call().map_err(|e| (true, e.to_string()))?;
    let status = response.status().as_u16();
    let added_last = response
        .headers()
        .get("X-TAXII-Date-Added-Last")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| (true, format!("reading the answer: {e}")))?;
    match status {
        200..=299 => Ok(FetchedPage { body, added_last }),
        // Nothing new: some servers answer an empty filter with 404.
        404 if url.contains("added_after=") => Ok(FetchedPage {
            body: b"{}".to_vec(),
            added_last: None,
        }),
        429 | 500..=599 => Err((true, format!("the server answered {status}"))),
        _ => Err((
            false,
            format!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
        )),
    }
}

/// The later of two TAXII timestamps (as timestamps when both read, else as text).
fn later(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let newer = match (Timestamp::parse_rfc3339(&a), Timestamp::parse_rfc3339(&b)) {
                (Ok(x), Ok(y)) => y > x,
                _ => b > a,
            };
            Some(if newer { b } else { a })
        }
        (a, b) => a.or(b),
    }
}

/// The latest `date_added` an envelope's objects carry, when the server sent no header.
fn latest_date_added(envelope: &Value) -> Option<String> {
    envelope
        .get("objects")?
        .as_array()?
        .iter()
        .filter_map(|o| {
            o.get("date_added")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .fold(None, |acc, d| later(acc, Some(d)))
}

impl App {
    /// The caller a subscription imports as: the tenant's intelligence
    /// analyst, acting for the operator who configured the subscription.
    fn subscription_caller(&self, tenant: TenantId) -> Caller {
        Caller::new(None, tenant, Role::IntelAnalyst, Via::Operator, None)
    }

    /// Pulls a subscription once: everything added after its cursor (all,
    /// when `from_start`), page by page, each imported for its tenant — as
    /// `caller` (an operator's one-shot pull: the policy decides whether it
    /// may publish for the tenant), else as the subscription.
    pub async fn taxii_pull(
        &self,
        caller: Option<&Caller>,
        subscription: &TaxiiSubscription,
        from_start: bool,
    ) -> AppResult<TaxiiPulled> {
        let caller = caller
            .cloned()
            .unwrap_or_else(|| self.subscription_caller(subscription.tenant));
        // The tenant must exist (and be where the objects may go).
        self.path_ids(subscription.tenant).await?;
        let cursor_key = format!("{}\n{}", subscription.name, subscription.api_root);
        let mut added_after = if from_start {
            None
        } else {
            self.store().taxii_pull_cursor(&cursor_key).await?
        };
        let options = StixImport {
            tenant: Some(subscription.tenant),
            default_tlp: subscription.default_tlp,
            default_pap: Pap::Amber,
            source: subscription.name.clone(),
        };
        let mut pulled = TaxiiPulled::default();
        let mut next: Option<String> = None;
        let mut report = Vec::new();
        loop {
            let url = objects_url(subscription, added_after.as_deref(), next.as_deref());
            let page = fetch(url, subscription.credentials.clone()).await?;
            let envelope: Value = serde_json::from_slice(&page.body).map_err(|e| {
                AppError::Invalid(format!(
                    "TAXII pull {}: the answer is not JSON: {e}",
                    subscription.name
                ))
            })?;
            let bundle = nigehban_stix::read_envelope(&page.body)
                .map_err(|e| AppError::Invalid(format!("TAXII pull {}: {e}", subscription.name)))?;
            pulled.pages += 1;
            pulled.objects += bundle.objects.len() + bundle.refused.len();
            report.extend(
                self.intel()
                    .import_stix(&caller, &options, &bundle, &mut |_, _| {})
                    .await?,
            );
            let page_last = later(page.added_last, latest_date_added(&envelope));
            pulled.added_last = later(pulled.added_last.take(), page_last);
            let more = envelope
                .get("more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            next = envelope
                .get("next")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if !more || pulled.pages >= MAX_PAGES {
                break;
            }
            if next.is_none() {
                // A server that pages by time only: go on after the last object seen.
                if pulled.added_last == added_after {
                    break;
                }
                added_after.clone_from(&pulled.added_last);
            }
        }
        if let Some(last) = &pulled.added_last {
            self.store()
                .set_taxii_pull_cursor(&cursor_key, last, self.clock().now())
                .await?;
        }
        pulled.totals = stix_import_totals(&report);
        tracing::info!(
            subscription = %subscription.name,
            pages = pulled.pages,
            objects = pulled.objects,
            new = pulled.totals.new,
            refused = pulled.totals.refused,
            "TAXII collection pulled"
        );
        Ok(pulled)
    }

    /// Pulls every subscription on its schedule, forever (the node's
    /// background task): a failed pull is logged and tried again after a
    /// back-off that doubles up to the subscription's interval.
    pub async fn run_taxii_subscriptions(self, subscriptions: Vec<TaxiiSubscription>) {
        let tasks: Vec<_> = subscriptions
            .into_iter()
            .map(|subscription| {
                let app = self.clone();
                tokio::spawn(async move {
                    let mut backoff = Duration::from_secs(5);
                    loop {
                        let wait = match app.taxii_pull(None, &subscription, false).await {
                            Ok(_) => {
                                backoff = Duration::from_secs(5);
                                subscription.interval
                            }
                            Err(error) => {
                                tracing::warn!(subscription = %subscription.name, %error, "TAXII pull failed");
                                let wait = backoff.min(subscription.interval);
                                backoff = (backoff * 2).min(subscription.interval);
                                wait
                            }
                        };
                        tokio::time::sleep(wait).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_compares_timestamps_not_text() {
        assert_eq!(
            later(
                Some("2024-01-01T00:00:00.5Z".into()),
                Some("2024-01-01T00:00:00.123456Z".into())
            )
            .as_deref(),
            Some("2024-01-01T00:00:00.5Z")
        );
        assert_eq!(later(None, Some("x".into())).as_deref(), Some("x"));
    }

    #[test]
    fn urls_encode_their_query() {
        let subscription = TaxiiSubscription {
            name: "feed".into(),
            api_root: "http://127.0.0.1:1/api1/".into(),
            collection: "abc".into(),
            credentials: TaxiiCredentials::None,
            tenant: TenantId::new(),
            default_tlp: Tlp::Amber,
            interval: Duration::from_secs(60),
        };
        assert_eq!(
            objects_url(&subscription, Some("2024-01-01T00:00:00+00:00"), None),
            "http://127.0.0.1:1/api1/collections/abc/objects/?limit=500&added_after=2024-01-01T00%3A00%3A00%2B00%3A00"
        );
    }
}
