//! The console's authorisation matrix: every page that shows one of First
//! Bank's objects (sensor, alert, incident) and every form that changes one,
//! for a viewer in First Bank, its sectoral CERT, the national CERT, a sibling
//! bank and an unrelated sector; the duty page's pages and hand-overs and
//! their forms likewise. A page shows the object, and a form changes it,
//! exactly when the one policy lets the viewer; otherwise the page is "Not
//! found", the object's name is nowhere on it, and nothing changes. Objects
//! of the Banking CERT itself (an alert, a page, a hand-over) are checked the
//! same way: a bank below it sees none of them. Run on SQLite and on
//! PostgreSQL.

use axum::http::{Method, StatusCode, header};
use nigehban_app::model::{Role, Sector, Tenant};

use crate::console::{form_encode, page, post_form};
use crate::harness::{Credentials, Platform, call};

/// A viewer of the matrix and whether the policy lets them see First Bank's objects.
struct Viewer {
    /// Where the viewer sits, for messages.
    seat: &'static str,
    credentials: Credentials,
    sees_first_bank: bool,
    /// Whether the policy lets the viewer see the Banking CERT's own objects
    /// (its tenant or a CERT above it; never a bank below it).
    sees_banking_cert: bool,
}

/// First Bank's objects the matrix looks for.
struct Objects {
    sensor_id: String,
    sensor_name: String,
    /// An alert left open for the forms.
    alert: String,
    /// The readable id of an incident opened from another alert (TLP:AMBER).
    incident: String,
    /// First Bank's tenant id.
    first_bank: String,
    /// First Bank's duty schedule (its analyst on call around the clock).
    schedule: String,
    /// An open page of First Bank.
    duty_page: String,
    /// An open hand-over on First Bank's schedule.
    handover: String,
}

/// The Banking CERT's own objects, which the banks below it may not see.
struct CertObjects {
    alert: String,
    schedule: String,
    duty_page: String,
    handover: String,
}

const FIRST_BANK_PAGE: &str = "First Bank drill: core banking down";
const FIRST_BANK_NOTE: &str = "First Bank hand-over: watch the skimming case";
const CERT_PAGE: &str = "Banking CERT drill: sector feed silent";
const CERT_NOTE: &str = "Banking CERT hand-over: brief the regulator at nine";

#[tokio::test]
async fn console_matrix_on_sqlite() {
    console_matrix(Platform::new().await).await;
}

#[tokio::test]
async fn console_matrix_on_postgresql() {
    let Some(platform) = Platform::on_postgres().await else {
        return;
    };
    console_matrix(platform).await;
}

async fn console_matrix(platform: Platform) {
    let banking = platform.sector("Banking CERT", Sector::Banking).await;
    let telecom = platform.sector("Telecom CERT", Sector::Telecom).await;
    let first = platform.organisation(&banking, "First Bank").await;
    let second = platform.organisation(&banking, "Second Bank").await;
    let telco = platform.organisation(&telecom, "Telco One").await;
    let root = platform.root.clone();
    let mut viewers = Vec::new();
    for (seat, tenant, sees_first_bank, sees_banking_cert) in [
        ("First Bank", &first, true, false),
        ("Banking CERT", &banking, true, true),
        ("national CERT", &root, true, true),
        ("Second Bank", &second, false, false),
        ("Telecom CERT", &telecom, false, false),
        ("Telco One", &telco, false, false),
    ] {
        let username = format!("analyst.{}", seat.to_lowercase().replace(' ', "."));
        platform.user(tenant, &username, Role::Analyst).await;
        viewers.push(Viewer {
            seat,
            credentials: platform.sign_in(&username).await,
            sees_first_bank,
            sees_banking_cert,
        });
    }
    let owner = &viewers[0].credentials;

    let sensor = platform.sensor(&first).await;
    let alert = crate::alerts::raise_in(&platform, first.id).await;
    let for_incident = crate::alerts::raise_in(&platform, first.id).await;
    let opened = post_form(
        &platform,
        owner,
        &format!("/console/alerts/{for_incident}/incident"),
        &form_encode(&[
            ("csrf", &owner.csrf),
            ("title", "Card skimming at First Bank"),
            ("classification", "fraud/phishing"),
            ("severity", "high"),
            ("tlp", "amber"),
        ]),
    )
    .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.text);
    let incident = opened.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let filed = post_form(
        &platform,
        owner,
        "/console/report",
        &form_encode(&[
            ("csrf", &owner.csrf),
            ("title", "Skimmers found at the Mall Road branch"),
            ("description", "Two card skimmers on ATMs."),
            ("noticed_at", "2026-03-15T10:22"),
            ("affected_systems", "ATM 12\nATM 14"),
            ("tlp", "amber"),
        ]),
    )
    .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.text);
    // Duty: each analyst is on call around the clock on their tenant's schedule,
    // writes its hand-over through the console, and a test page opens for the tenant.
    let (schedule, duty_page, handover) =
        duty_objects(&platform, &first, owner, FIRST_BANK_PAGE, FIRST_BANK_NOTE).await;
    let objects = Objects {
        sensor_id: sensor.sensor.id.to_string(),
        sensor_name: sensor.sensor.name.as_str().to_owned(),
        alert: alert.to_string(),
        incident,
        first_bank: first.id.to_string(),
        schedule,
        duty_page,
        handover,
    };
    let sector_analyst = &viewers[1].credentials;
    let (schedule, duty_page, handover) =
        duty_objects(&platform, &banking, sector_analyst, CERT_PAGE, CERT_NOTE).await;
    let cert = CertObjects {
        alert: crate::alerts::raise_in(&platform, banking.id)
            .await
            .to_string(),
        schedule,
        duty_page,
        handover,
    };

    for viewer in &viewers {
        pages_show_first_bank_only_to_those_who_may_see_it(&platform, viewer, &objects).await;
        pages_show_the_cert_only_to_those_who_may_see_it(&platform, viewer, &cert).await;
    }
    for viewer in viewers.iter().filter(|v| !v.sees_first_bank) {
        forms_change_nothing_of_first_bank(&platform, viewer, &objects).await;
    }
    for viewer in viewers.iter().filter(|v| !v.sees_banking_cert) {
        forms_change_nothing_of_the_cert(&platform, viewer, &cert).await;
    }
    assert_eq!(alert_status(&platform, owner, &objects.alert).await, "new");
    assert_eq!(
        duty_status(&platform, owner, "pages", &objects.duty_page).await,
        "open"
    );
    assert_eq!(
        duty_status(&platform, owner, "handovers", &objects.handover).await,
        "open"
    );
    assert_eq!(
        duty_status(&platform, sector_analyst, "pages", &cert.duty_page).await,
        "open"
    );
    assert_eq!(
        duty_status(&platform, sector_analyst, "handovers", &cert.handover).await,
        "open"
    );
    assert_eq!(
        alert_status(&platform, sector_analyst, &cert.alert).await,
        "new"
    );

    // Those who may: the national CERT acknowledges First Bank's page, First
    // Bank's analyst (the incoming person) its hand-over, the Banking CERT's
    // analyst the CERT's own page and hand-over.
    let national = &viewers[2].credentials;
    for (who, uri, kind, id) in [
        (
            national,
            format!("/console/duty/pages/{}/acknowledge", objects.duty_page),
            "pages",
            &objects.duty_page,
        ),
        (
            owner,
            format!("/console/duty/handovers/{}/acknowledge", objects.handover),
            "handovers",
            &objects.handover,
        ),
        (
            sector_analyst,
            format!("/console/duty/pages/{}/acknowledge", cert.duty_page),
            "pages",
            &cert.duty_page,
        ),
        (
            sector_analyst,
            format!("/console/duty/handovers/{}/acknowledge", cert.handover),
            "handovers",
            &cert.handover,
        ),
    ] {
        let done = post_form(&platform, who, &uri, &form_encode(&[("csrf", &who.csrf)])).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "POST {uri}: {}",
            done.text
        );
        assert_eq!(
            duty_status(&platform, who, kind, id).await,
            "acknowledged",
            "POST {uri}"
        );
    }
    let page = platform
        .send(
            call(
                Method::GET,
                &format!("/api/v1/oncall/pages/{}", objects.duty_page),
            )
            .bearer(&owner.token)
            .empty(),
        )
        .await;
    assert_eq!(
        page.json["page"]["acknowledged"]["by"], "analyst.national.cert",
        "{}",
        page.text
    );

    // The CERTs above First Bank may triage its alert: the sectoral CERT acknowledges it,
    // the national CERT closes it.
    let acknowledged = post_form(
        &platform,
        sector_analyst,
        &format!("/console/alerts/{}/acknowledge", objects.alert),
        &form_encode(&[("csrf", &sector_analyst.csrf)]),
    )
    .await;
    assert_eq!(
        acknowledged.status,
        StatusCode::SEE_OTHER,
        "{}",
        acknowledged.text
    );
    assert_eq!(
        alert_status(&platform, owner, &objects.alert).await,
        "acknowledged"
    );
    let closed = post_form(
        &platform,
        national,
        &format!("/console/alerts/{}/close", objects.alert),
        &form_encode(&[("csrf", &national.csrf), ("resolution", "false_positive")]),
    )
    .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.text);
    assert_eq!(
        alert_status(&platform, owner, &objects.alert).await,
        "closed"
    );
}

/// Every page that lists or shows one of First Bank's objects, for one viewer.
async fn pages_show_first_bank_only_to_those_who_may_see_it(
    platform: &Platform,
    viewer: &Viewer,
    objects: &Objects,
) {
    let who = &viewer.credentials;
    let seat = viewer.seat;
    // Lists: the object is listed exactly for those who may see it.
    for (uri, mark) in [
        ("/console/sensors", objects.sensor_name.as_str()),
        ("/console/alerts", objects.alert.as_str()),
        ("/console/alerts?status=all", objects.alert.as_str()),
        ("/console/incidents", objects.incident.as_str()),
        ("/console/report", "Skimmers found at the Mall Road branch"),
        ("/console/duty", FIRST_BANK_PAGE),
        ("/console/duty", FIRST_BANK_NOTE),
        ("/console/duty", objects.schedule.as_str()),
    ] {
        let answer = page(platform, who, uri).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{seat} {uri}: {}",
            answer.text
        );
        assert_eq!(
            answer.text.contains(mark),
            viewer.sees_first_bank,
            "{seat} {uri} (looking for {mark}): {}",
            answer.text
        );
    }
    // Pages of one object: shown, or "Not found" without a trace of it.
    for (uri, mark) in [
        (
            format!("/console/sensors/{}", objects.sensor_id),
            objects.sensor_name.as_str(),
        ),
        (
            format!("/console/alerts/{}", objects.alert),
            objects.alert.as_str(),
        ),
        (
            format!("/console/incidents/{}", objects.incident),
            "Card skimming at First Bank",
        ),
    ] {
        let answer = page(platform, who, &uri).await;
        if viewer.sees_first_bank {
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{seat} {uri}: {}",
                answer.text
            );
            assert!(answer.text.contains(mark), "{seat} {uri}: {}", answer.text);
        } else {
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{seat} {uri}: {}",
                answer.text
            );
            assert!(
                answer.text.contains("<h1>Not found</h1>"),
                "{seat} {uri}: {}",
                answer.text
            );
            assert!(!answer.text.contains(mark), "{seat} {uri}: {}", answer.text);
        }
    }
    // Pages about the viewer's own tree name First Bank only for those above or in it.
    if !viewer.sees_first_bank {
        for uri in [
            "/console/",
            "/console/events?range=all",
            "/console/duty",
            "/console/rules",
        ] {
            let answer = page(platform, who, uri).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{seat} {uri}: {}",
                answer.text
            );
            for foreign in ["First Bank", objects.sensor_name.as_str(), "Card skimming"] {
                assert!(
                    !answer.text.contains(foreign),
                    "{seat} {uri} shows {foreign}: {}",
                    answer.text
                );
            }
        }
    }
}

/// Every form that changes one of First Bank's objects, sent by a viewer who may not see it:
/// "Not found" (or a failed bulk action), and nothing changed.
async fn forms_change_nothing_of_first_bank(
    platform: &Platform,
    viewer: &Viewer,
    objects: &Objects,
) {
    let who = &viewer.credentials;
    let seat = viewer.seat;
    let alert = &objects.alert;
    for (uri, extra) in [
        (format!("/console/alerts/{alert}/acknowledge"), vec![]),
        (
            format!("/console/alerts/{alert}/close"),
            vec![("resolution", "false_positive")],
        ),
        (
            format!("/console/alerts/{alert}/incident"),
            vec![
                ("title", "Forged"),
                ("classification", "other/undetermined"),
                ("severity", "low"),
                ("tlp", "clear"),
            ],
        ),
        (
            format!("/console/incidents/{}/escalate", objects.incident),
            vec![("note", "forged")],
        ),
        (
            format!("/console/incidents/{}/tasks", objects.incident),
            vec![
                ("tenant", objects.first_bank.as_str()),
                ("kind", "investigation"),
                ("title", "forged"),
            ],
        ),
        (
            format!("/console/duty/pages/{}/acknowledge", objects.duty_page),
            vec![],
        ),
        (
            format!("/console/duty/handovers/{}/acknowledge", objects.handover),
            vec![],
        ),
        (
            "/console/duty/handovers".to_owned(),
            vec![("schedule", objects.schedule.as_str()), ("note", "forged")],
        ),
    ] {
        let mut form = vec![("csrf", who.csrf.as_str())];
        form.extend(extra);
        let answer = post_form(platform, who, &uri, &form_encode(&form)).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{seat} POST {uri}: {}",
            answer.text
        );
        assert!(
            !answer.text.contains("First Bank"),
            "{seat} POST {uri}: {}",
            answer.text
        );
    }
    for action in ["acknowledge", "close:false_positive", "assign_to_me"] {
        let bulk = post_form(
            platform,
            who,
            "/console/alerts/bulk",
            &format!(
                "{}&alert={alert}",
                form_encode(&[("csrf", &who.csrf), ("action", action)])
            ),
        )
        .await;
        assert_eq!(bulk.status, StatusCode::SEE_OTHER, "{seat}: {}", bulk.text);
        assert_eq!(
            bulk.headers[header::LOCATION].to_str().unwrap(),
            "/console/alerts?done=0&failed=1",
            "{seat} bulk {action}"
        );
    }
}

/// A schedule of `tenant` with `who` (user `person`) on call around the
/// clock, its hand-over written by `who` through the console with `note`, and
/// a test page of the tenant titled `title`: (schedule, page, hand-over) ids.
async fn duty_objects(
    platform: &Platform,
    tenant: &Tenant,
    who: &Credentials,
    title: &str,
    note: &str,
) -> (String, String, String) {
    let person = platform
        .app
        .auth()
        .session(&who.cookie, None)
        .await
        .unwrap()
        .user
        .username
        .to_string();
    crate::console::round_the_clock(platform, tenant, &person).await;
    let duty = platform.app.duty();
    let schedule = duty
        .schedules(&platform.operator, Some(tenant.id))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.tenant == tenant.id)
        .unwrap()
        .id
        .to_string();
    let written = post_form(
        platform,
        who,
        "/console/duty/handovers",
        &form_encode(&[("csrf", &who.csrf), ("schedule", &schedule), ("note", note)]),
    )
    .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER, "{}", written.text);
    let handover = duty
        .handovers(&platform.operator, Some(tenant.id))
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.tenant == tenant.id)
        .unwrap()
        .id
        .to_string();
    let page = duty
        .test_page(&platform.operator, tenant.id, "high", Some(title))
        .await
        .unwrap()
        .id
        .to_string();
    (schedule, page, handover)
}

/// The Banking CERT's own alert, page and hand-over: on the pages of those
/// who may see them, and "Not found" or absent for everyone else — the banks
/// below the CERT included.
async fn pages_show_the_cert_only_to_those_who_may_see_it(
    platform: &Platform,
    viewer: &Viewer,
    cert: &CertObjects,
) {
    let who = &viewer.credentials;
    let seat = viewer.seat;
    for (uri, mark) in [
        ("/console/duty", CERT_PAGE),
        ("/console/duty", CERT_NOTE),
        ("/console/duty", cert.schedule.as_str()),
        ("/console/alerts", cert.alert.as_str()),
        ("/console/alerts?status=all", cert.alert.as_str()),
    ] {
        let answer = page(platform, who, uri).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{seat} {uri}: {}",
            answer.text
        );
        assert_eq!(
            answer.text.contains(mark),
            viewer.sees_banking_cert,
            "{seat} {uri} (looking for {mark}): {}",
            answer.text
        );
    }
    let uri = format!("/console/alerts/{}", cert.alert);
    let answer = page(platform, who, &uri).await;
    if viewer.sees_banking_cert {
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{seat} {uri}: {}",
            answer.text
        );
    } else {
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{seat} {uri}: {}",
            answer.text
        );
        assert!(
            !answer.text.contains(&cert.alert),
            "{seat} {uri}: {}",
            answer.text
        );
    }
}

/// The Banking CERT's forms, sent by a viewer who may not see its objects
/// (a bank below it among them): "Not found", no trace, nothing changed.
async fn forms_change_nothing_of_the_cert(
    platform: &Platform,
    viewer: &Viewer,
    cert: &CertObjects,
) {
    let who = &viewer.credentials;
    let seat = viewer.seat;
    for (uri, extra) in [
        (
            format!("/console/duty/pages/{}/acknowledge", cert.duty_page),
            vec![],
        ),
        (
            format!("/console/duty/handovers/{}/acknowledge", cert.handover),
            vec![],
        ),
        (
            "/console/duty/handovers".to_owned(),
            vec![("schedule", cert.schedule.as_str()), ("note", "forged")],
        ),
        (
            format!("/console/alerts/{}/acknowledge", cert.alert),
            vec![],
        ),
        (
            format!("/console/alerts/{}/close", cert.alert),
            vec![("resolution", "false_positive")],
        ),
    ] {
        let mut form = vec![("csrf", who.csrf.as_str())];
        form.extend(extra);
        let answer = post_form(platform, who, &uri, &form_encode(&form)).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{seat} POST {uri}: {}",
            answer.text
        );
        for trace in [CERT_PAGE, CERT_NOTE, "Banking CERT"] {
            assert!(
                !answer.text.contains(trace),
                "{seat} POST {uri} shows {trace}: {}",
                answer.text
            );
        }
    }
}

/// The status of a page or hand-over (`kind`: `pages` or `handovers`), read
/// through the API by `who`.
async fn duty_status(platform: &Platform, who: &Credentials, kind: &str, id: &str) -> String {
    let answer = platform
        .send(
            call(Method::GET, &format!("/api/v1/oncall/{kind}"))
                .bearer(&who.token)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", answer.text))
        .iter()
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("{kind} {id} not listed: {}", answer.text))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The status of an alert, read through the API by `who`.
async fn alert_status(platform: &Platform, who: &Credentials, alert: &str) -> String {
    let answer = platform
        .send(
            call(Method::GET, &format!("/api/v1/alerts/{alert}"))
                .bearer(&who.token)
                .empty(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(
        answer.json["alert"]["assignee"].is_null(),
        "{}",
        answer.text
    );
    answer.json["alert"]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("no status: {}", answer.text))
        .to_owned()
}
