//! OpenSSH's log lines about logons, read into ECS fields: who tried to log
//! on, from where, and whether it worked. Brute force and password spraying
//! over SSH are seen in these lines only, so detection needs the address and
//! the user name as fields, not inside free text.
//!
//! Read (from `sshd` or, since OpenSSH 9.8, `sshd-session`):
//!
//! | message | fields |
//! | --- | --- |
//! | `Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2` | `event.outcome: failure` |
//! | `Accepted <method> for <user> from <ip> port <port> ssh2` | `event.outcome: success` |
//!
//! Both set `event.category: [authentication]`, `event.type: [start]`,
//! `event.action: ssh_login`, `user.name`, `source.ip`, `source.port`, and
//! `event.reason` to the method (`password`, `publickey`,
//! `keyboard-interactive/pam`). Other sshd lines (`Invalid user ...`,
//! `Connection closed ...`) are left as they are: each failed attempt has
//! exactly one `Failed` line, so counting those counts attempts.

use crate::event::Fields;

/// Whether `appname` is OpenSSH's server (the listener or, since 9.8, the
/// per-session process).
pub(crate) fn is_sshd(appname: &str) -> bool {
    appname == "sshd" || appname == "sshd-session"
}

/// Sets the logon fields of an sshd `message`, when it is a logon line.
pub(crate) fn logon_fields(message: &str, fields: &mut Fields) {
    let Some(logon) = parse_logon(message) else {
        return;
    };
    if !fields.put_ip("source.ip", Some(logon.address)) {
        return;
    }
    fields.push_unique("event.category", "authentication");
    fields.push_unique("event.type", "start");
    fields.insert("event.action", "ssh_login");
    fields.insert(
        "event.outcome",
        if logon.accepted { "success" } else { "failure" },
    );
    fields.insert("event.reason", logon.method);
    fields.insert("user.name", logon.user);
    if let Some(port) = logon.port {
        fields.put_u64("source.port", port);
    }
}

/// One logon line's parts.
#[derive(Debug, PartialEq, Eq)]
struct Logon<'a> {
    accepted: bool,
    method: &'a str,
    user: &'a str,
    address: &'a str,
    port: Option<u64>,
}

/// Reads `Failed|Accepted <method> for [invalid user ]<user> from <ip> [port <n>] ...`.
fn parse_logon(message: &str) -> Option<Logon<'_>> {
    let message = message.trim();
    let (accepted, rest) = if let Some(rest) = message.strip_prefix("Failed ") {
        (false, rest)
    } else if let Some(rest) = message.strip_prefix("Accepted ") {
        (true, rest)
    } else {
        return None;
    };
    let (method, rest) = rest.split_once(" for ")?;
    if method.is_empty() || method.contains(' ') {
        return None;
    }
    let rest = rest.strip_prefix("invalid user ").unwrap_or(rest);
    // A user name may hold spaces; the address is after the last " from ".
    let (user, rest) = rest.rsplit_once(" from ")?;
    let mut words = rest.split_whitespace();
    let address = words.next()?;
    let port = match (words.next(), words.next()) {
        (Some("port"), Some(port)) => port.parse().ok().filter(|p| *p <= 65_535),
        _ => None,
    };
    Some(Logon {
        accepted,
        method,
        user,
        address,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_and_accepted_logons_are_read() {
        assert_eq!(
            parse_logon("Failed password for root from 203.0.113.77 port 40022 ssh2"),
            Some(Logon {
                accepted: false,
                method: "password",
                user: "root",
                address: "203.0.113.77",
                port: Some(40022),
            })
        );
        assert_eq!(
            parse_logon("Failed password for invalid user admin from 2001:db8::7 port 5 ssh2"),
            Some(Logon {
                accepted: false,
                method: "password",
                user: "admin",
                address: "2001:db8::7",
                port: Some(5),
            })
        );
        assert_eq!(
            parse_logon(
                "Accepted publickey for deploy from 192.0.2.1 port 51000 ssh2: ED25519 SHA256:x"
            ),
            Some(Logon {
                accepted: true,
                method: "publickey",
                user: "deploy",
                address: "192.0.2.1",
                port: Some(51000),
            })
        );
        let spaced = parse_logon("Failed none for a from b from 192.0.2.9 port 22 ssh2");
        assert_eq!(
            spaced.map(|l| (l.user, l.address)),
            Some(("a from b", "192.0.2.9"))
        );
    }

    #[test]
    fn other_lines_are_not_logons() {
        for line in [
            "Invalid user admin from 203.0.113.77 port 40022",
            "Connection closed by 203.0.113.77 port 40022 [preauth]",
            "Failed password",
            "Failed password for root",
            "Failed  for root from 203.0.113.77",
            "Accepted",
        ] {
            assert_eq!(parse_logon(line), None, "{line}");
        }
    }

    #[test]
    fn an_sshd_syslog_line_is_normalised_with_its_logon_fields() {
        let hint = crate::SourceHint::new(
            crate::Format::Auto,
            time::macros::datetime!(2024-03-15 12:00 UTC),
        );
        let line = b"<38>Mar 15 10:22:14 web01 sshd[4242]: Failed password for invalid user admin from 203.0.113.77 port 40022 ssh2";
        let event = crate::normalise(line, &hint).unwrap();
        let fields = event.fields();
        assert_eq!(fields.get_str("source.ip"), Some("203.0.113.77"));
        assert_eq!(fields.get_u64("source.port"), Some(40022));
        assert_eq!(fields.get_str("user.name"), Some("admin"));
        assert_eq!(fields.get_str("event.outcome"), Some("failure"));
        assert_eq!(fields.get_str("event.action"), Some("ssh_login"));
        assert_eq!(fields.get_str("event.reason"), Some("password"));
        assert_eq!(
            fields.get("event.category"),
            Some(&serde_json::json!(["authentication"]))
        );
        assert_eq!(
            fields.get("related.ip"),
            Some(&serde_json::json!(["203.0.113.77"]))
        );
        // The same text from another program is not a logon.
        let other = b"<38>Mar 15 10:22:14 web01 myapp[1]: Failed password for root from 203.0.113.77 port 1 ssh2";
        let event = crate::normalise(other, &hint).unwrap();
        assert_eq!(event.fields().get("source.ip"), None);
    }

    #[test]
    fn a_logon_without_an_address_sets_nothing() {
        let mut fields = Fields::new();
        logon_fields(
            "Failed password for root from somewhere port 22 ssh2",
            &mut fields,
        );
        assert!(fields.is_empty());
    }
}
