//! How a notification leaves the platform: e-mail over SMTP (STARTTLS or
//! implicit TLS and authentication, as the relay's URL says) and JSON
//! webhooks signed with HMAC-SHA256. One attempt each; the duty loop
//! retries with back-off and keeps every attempt.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

use crate::secrets::hmac_sha256;

/// The header a webhook's signature travels in: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Nigehban-Signature";

/// The SMTP relay notifications are sent through.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// `smtp://user:password@host:587?tls=required` (STARTTLS),
    /// `smtps://user:password@host:465` (implicit TLS) or
    /// `smtp://host:25` (no TLS: loopback relays only).
    pub url: String,
    /// The sender, e.g. `Nigehban <duty@cert.example.pk>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the relay's password.
        f.debug_struct("SmtpSettings")
            .field("url", &"<redacted>")
            .field("from", &self.from)
            .finish()
    }
}

/// One e-mail.
pub(crate) struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Sends one e-mail; the error says why it did not go.
pub(crate) async fn send_email(
    smtp: Option<&SmtpSettings>,
    email: Email<'_>,
    timeout: Duration,
) -> Result<String, String> {
    let smtp = smtp.ok_or("no SMTP relay is configured (smtp_url)")?;
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("smtp_from {:?}: {e}", smtp.from))?;
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e| format!("address {:?}: {e}", email.to))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.to_owned())
        .map_err(|e| format!("the message could not be built: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp.url)
        .map_err(|e| format!("smtp_url: {e}"))?
        .timeout(Some(timeout))
        .build();
    match transport.send(message).await {
        Ok(response) => Ok(format!(
            "accepted by the relay: {}",
            response.message().collect::<Vec<_>>().join(" ")
        )),
        Err(e) => Err(format!("SMTP: {e}")),
    }
}

/// The signature header's value for a webhook body.
pub(crate) fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), body);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Posts one signed JSON webhook; a 2xx answer is delivery.
pub(crate) async fn send_webhook(
    url: &str,
    secret: &str,
    body: String,
    timeout: Duration,
) -> Result<String, String> {
    let signature = webhook_signature(secret, body.as_bytes());
    let url = url.to_owned();
    let sent = tokio::task::spawn_blocking(move || {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .tls_config(tls)
            .build()
            .into();
        agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, &signature)
            .send(body.as_bytes())
            .map(|response| response.status().as_u16())
    })
    .await
    .map_err(|e| format!("the webhook task failed: {e}"))?;
    match sent {
        Ok(status) if (200..300).contains(&status) => Ok(format!("answered {status}")),
        Ok(status) => Err(format!("the webhook answered {status}")),
        Err(e) => Err(format!("webhook: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_are_hex_hmac_of_the_body() {
        let signature = webhook_signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn smtp_settings_hide_the_password() {
        let smtp = SmtpSettings {
            url: "smtp://duty:hunter2@relay:587".into(),
            from: "duty@example.pk".into(),
        };
        assert!(!format!("{smtp:?}").contains("hunter2"));
    }
}
