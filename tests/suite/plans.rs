//! Plans (a transaction and what each write's failure means), on the store the local host uses:
//! a use case reads back the rule that failed as its own type, never by an error's wording.

use mas_domain::error::AppError;
use mas_domain::ids::{RequestId, TenantId};
use mas_ports::{Key, Write};
use mas_store::{AuditContext, Once, Plan, to_item};
use serde_json::json;

use crate::support::app::spawn_app;

fn audit() -> AuditContext {
    AuditContext {
        tenant_id: TenantId::parse("ten_plans").unwrap(),
        actor: "system".into(),
        role: None,
        request_id: RequestId::new(),
    }
}

fn marker(key: &Key) -> Write {
    Write::put_new(to_item(key, "marker", &json!({ "at": "now" })).unwrap())
}

#[tokio::test]
async fn a_typed_plan_answers_the_failure_pushed_with_the_write_whose_condition_failed() {
    let app = spawn_app().await;
    let store = &app.app.store;
    let key = Key::new("TENANT#ten_plans", "MARKER#1");
    let once = || {
        let mut plan = Plan::<Once>::typed();
        plan.push(marker(&key), Once::AlreadyDone(AppError::conflict("marker_exists", "made before")));
        plan
    };
    assert!(once().commit_as(store, &audit(), "marker.made", "1").await.is_ok());
    // The same write again: the rule pushed with it comes back, typed.
    let again = once().commit_as(store, &audit(), "marker.made", "1").await;
    assert!(matches!(again, Err(Once::AlreadyDone(AppError::Conflict { code: "marker_exists", .. }))), "{again:?}");

    // A failure of another write of the same plan is that write's, not the marker's.
    let other = Key::new("TENANT#ten_plans", "MARKER#2");
    let mut plan = Plan::<Once>::typed();
    plan.push(marker(&Key::new("TENANT#ten_plans", "MARKER#3")), Once::AlreadyDone(AppError::conflict("x", "x")));
    plan.push(Write::delete_if(other, mas_ports::Condition::Exists), AppError::NotFound { what: "marker" });
    let failed = plan.commit_as(store, &audit(), "marker.made", "3").await;
    assert!(matches!(failed, Err(Once::Failed(AppError::NotFound { what: "marker" }))), "{failed:?}");

    // A plain plan says its failures as the error the caller answers.
    let mut plain = Plan::new();
    plain.push(marker(&key), AppError::conflict("taken", "taken"));
    let answered = plain.commit(store, &audit(), "marker.made", "1").await;
    assert!(matches!(answered, Err(AppError::Conflict { code: "taken", .. })), "{answered:?}");
}

#[test]
fn a_port_failure_keeps_the_adapters_error_as_its_source() {
    let err: AppError = mas_ports::TableError::Unavailable("disk full".into()).into();
    let source = std::error::Error::source(&err).expect("the table's error is kept");
    assert_eq!(source.to_string(), "table unavailable: disk full");
    assert_eq!(mas_http::error::error_chain(&err), "table failed: table unavailable: disk full");
}
