//! The built-in starter pack: Sigma rules written by Nigehban (Apache-2.0,
//! author "Nigehban") for what a national SOC sees from day one, before any
//! rule set is imported. The rule files are in `crates/detect/starter/`,
//! built into the binary.
//!
//! | rule | what it sees | raises when |
//! | --- | --- | --- |
//! | Suricata Alert of Severity 1 / 2 / 3 | Suricata EVE alerts (`alert.severity`) | every alert: level high (1), medium (2), low (3); severity 4 and above raise nothing |
//! | Failed SSH Logon | sshd `Failed <method> for ...` syslog lines | never on its own (feeds the two below) |
//! | SSH Brute Force From One Address | failed SSH logons by `source.ip` | 10 or more within 5 minutes (high) |
//! | SSH Password Spraying From One Address | failed SSH logons by `source.ip` | 10 or more distinct `user.name` within 1 hour (high) |
//! | Failed Windows Logon Over RDP or the Network | Security 4625 with `LogonType` 10 (RDP) or 3 (network, and RDP with NLA), not from `-`, `127.0.0.1`, `::1` | never on its own (feeds the two below) |
//! | RDP or Network Logon Brute Force From One Address | those failed logons by `IpAddress` | 10 or more within 5 minutes (high) |
//! | RDP or Network Logon Password Spraying From One Address | those failed logons by `IpAddress` | 10 or more distinct `TargetUserName` within 1 hour (high) |
//! | Sensor Silent | intake's health events (`event.dataset: nigehban.sensor_health`, `event.action: sensor-silent`) | a sensor sent nothing for longer than its expected interval (medium) |
//!
//! The brute-force and spraying correlations re-arm once they fire (see
//! `nigehban_sigma::correlate`): 25 failures in a burst raise two matches,
//! which the alert service folds into one alert for that address.
//!
//! The pack is only rule texts: the rule store seeds itself from
//! [`starter_pack`], and it is loaded like any imported rule.

use crate::rules::RuleSource;

/// The starter rules' files: (file name, text).
const FILES: &[(&str, &str)] = &[
    (
        "suricata_alert_severity_1.yml",
        include_str!("../starter/suricata_alert_severity_1.yml"),
    ),
    (
        "suricata_alert_severity_2.yml",
        include_str!("../starter/suricata_alert_severity_2.yml"),
    ),
    (
        "suricata_alert_severity_3.yml",
        include_str!("../starter/suricata_alert_severity_3.yml"),
    ),
    (
        "ssh_logon_failed.yml",
        include_str!("../starter/ssh_logon_failed.yml"),
    ),
    (
        "ssh_brute_force.yml",
        include_str!("../starter/ssh_brute_force.yml"),
    ),
    (
        "ssh_password_spraying.yml",
        include_str!("../starter/ssh_password_spraying.yml"),
    ),
    (
        "windows_remote_logon_failed.yml",
        include_str!("../starter/windows_remote_logon_failed.yml"),
    ),
    (
        "windows_logon_brute_force.yml",
        include_str!("../starter/windows_logon_brute_force.yml"),
    ),
    (
        "windows_password_spraying.yml",
        include_str!("../starter/windows_password_spraying.yml"),
    ),
    (
        "sensor_silent.yml",
        include_str!("../starter/sensor_silent.yml"),
    ),
];

/// Where the starter rules are said to come from in diagnostics and alerts.
pub const STARTER_ORIGIN: &str = "builtin:starter";

/// The built-in starter pack, one source per rule file, each named
/// `builtin:starter/<file>`.
pub fn starter_pack() -> Vec<RuleSource> {
    FILES
        .iter()
        .map(|(name, text)| RuleSource {
            origin: format!("{STARTER_ORIGIN}/{name}"),
            text: (*text).to_owned(),
        })
        .collect()
}
