//! The reminder correctness suite (pure part): plans across clock changes, booking lead times
//! and quiet hours, checked against the local times a person would expect.

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::*;

fn at(zone: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    zone.from_local_datetime(&NaiveDate::from_ymd_opt(y, mo, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

/// The plan as `(kind, local time with offset)`.
fn local_plan(start: DateTime<Utc>, minutes: i64, zone: Tz, now: DateTime<Utc>) -> Vec<(&'static str, String)> {
    plan(start, start + Duration::minutes(minutes), zone, &NotificationSettings::default(), now)
        .into_iter()
        .map(|p| (p.kind.as_str(), p.due_at.with_timezone(&zone).format("%Y-%m-%d %H:%M %:z").to_string()))
        .collect()
}

#[test]
fn a_london_visit_after_the_autumn_clock_change_keeps_its_reminders_on_the_wall_clock() {
    let london: Tz = "Europe/London".parse().unwrap();
    // Clocks go back on Sunday 25 October 2026; the visit is Monday 14:00 GMT, booked 3 days ahead.
    let start = at(london, 2026, 10, 26, 14, 0);
    let now = start - Duration::days(3);
    assert_eq!(
        local_plan(start, 60, london, now),
        vec![
            ("prep_48h", "2026-10-24 14:00 +01:00".to_string()),
            ("reminder_24h", "2026-10-25 14:00 +00:00".to_string()),
            ("check_in_2h", "2026-10-26 12:00 +00:00".to_string()),
            ("aftercare", "2026-10-27 15:00 +00:00".to_string()),
            ("follow_up", "2026-11-02 15:00 +00:00".to_string()),
            ("rebook", "2026-11-25 15:00 +00:00".to_string()),
        ]
    );
}

#[test]
fn a_new_york_visit_after_the_spring_clock_change_is_reminded_at_local_times() {
    let new_york: Tz = "America/New_York".parse().unwrap();
    // Clocks go forward on Sunday 8 March 2026; the visit is Monday 10:30 EDT.
    let start = at(new_york, 2026, 3, 9, 10, 30);
    let now = start - Duration::days(3);
    let plan = local_plan(start, 45, new_york, now);
    assert_eq!(
        &plan[..3],
        &[
            ("prep_48h", "2026-03-07 10:30 -05:00".to_string()),
            ("reminder_24h", "2026-03-08 10:30 -04:00".to_string()),
            ("check_in_2h", "2026-03-09 08:30 -04:00".to_string()),
        ]
    );
    assert_eq!(plan[3], ("aftercare", "2026-03-10 11:15 -04:00".to_string()));
}

#[test]
fn lord_howe_half_hour_clock_change_is_respected() {
    let lord_howe: Tz = "Australia/Lord_Howe".parse().unwrap();
    // Lord Howe moves from +10:30 to +11:00 at 02:00 on Sunday 4 October 2026.
    let start = at(lord_howe, 2026, 10, 5, 9, 0);
    let now = start - Duration::days(3);
    let plan = local_plan(start, 60, lord_howe, now);
    assert_eq!(
        &plan[..3],
        &[
            ("prep_48h", "2026-10-03 09:00 +10:30".to_string()),
            ("reminder_24h", "2026-10-04 09:00 +11:00".to_string()),
            // 07:00 is quiet: moved to 08:00, still an hour before the visit.
            ("check_in_2h", "2026-10-05 08:00 +11:00".to_string()),
        ]
    );
}

#[test]
fn booked_thirty_hours_ahead_skips_the_preparation_guide_and_keeps_the_rest() {
    let london: Tz = "Europe/London".parse().unwrap();
    let start = at(london, 2026, 6, 10, 15, 0);
    let kinds: Vec<_> =
        local_plan(start, 60, london, start - Duration::hours(30)).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["reminder_24h", "check_in_2h", "aftercare", "follow_up", "rebook"]);
}

#[test]
fn booked_ninety_minutes_ahead_sends_no_reminder_before_the_visit() {
    let london: Tz = "Europe/London".parse().unwrap();
    let start = at(london, 2026, 6, 10, 15, 0);
    let kinds: Vec<_> =
        local_plan(start, 60, london, start - Duration::minutes(90)).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["aftercare", "follow_up", "rebook"]);
}

#[test]
fn quiet_hours_crossing_midnight_move_a_late_evening_reminder_to_the_next_morning() {
    let london: Tz = "Europe/London".parse().unwrap();
    let quiet = QuietHours::default();
    assert_eq!(quiet.next_allowed(at(london, 2026, 6, 9, 22, 30), london), at(london, 2026, 6, 10, 8, 0));
    assert_eq!(quiet.next_allowed(at(london, 2026, 6, 10, 3, 0), london), at(london, 2026, 6, 10, 8, 0));
    assert_eq!(quiet.next_allowed(at(london, 2026, 6, 10, 8, 0), london), at(london, 2026, 6, 10, 8, 0));
    assert_eq!(quiet.next_allowed(at(london, 2026, 6, 10, 20, 59), london), at(london, 2026, 6, 10, 20, 59));
    // A 21:30 visit: its day-before reminder falls at 21:30, so it goes at 08:00 on the day.
    let start = at(london, 2026, 6, 10, 21, 30);
    let plan = local_plan(start, 30, london, start - Duration::days(3));
    assert!(plan.contains(&("reminder_24h", "2026-06-10 08:00 +01:00".to_string())), "{plan:?}");
}

#[test]
fn a_check_in_that_quiet_hours_would_push_past_the_visit_is_dropped() {
    let london: Tz = "Europe/London".parse().unwrap();
    // 06:15 is quiet; 08:00 would be within 30 minutes of an 08:15 start.
    let start = at(london, 2026, 6, 10, 8, 15);
    let kinds: Vec<_> = local_plan(start, 30, london, start - Duration::days(3)).into_iter().map(|(k, _)| k).collect();
    assert!(!kinds.contains(&"check_in_2h"), "{kinds:?}");
    assert!(kinds.contains(&"reminder_24h"));
}

#[test]
fn quiet_hours_that_do_not_cross_midnight_work_too_and_equal_bounds_mean_none() {
    let zone: Tz = "Europe/London".parse().unwrap();
    let lunch = QuietHours { start: hm(12, 0), end: hm(13, 0) };
    assert_eq!(lunch.next_allowed(at(zone, 2026, 6, 10, 12, 10), zone), at(zone, 2026, 6, 10, 13, 0));
    assert!(!lunch.contains(hm(13, 0)));
    let none = QuietHours { start: hm(9, 0), end: hm(9, 0) };
    assert!(!none.contains(hm(9, 0)));
}

#[test]
fn a_template_with_a_missing_variable_names_it_and_renders_nothing() {
    let mut vars = Variables::new();
    vars.insert("clinic.name".into(), "Glow".into());
    vars.insert("client.first_name".into(), "Ada".into());
    let err = render(MessageKind::Confirmation, &vars).unwrap_err();
    assert_eq!(err.0, ["appointment.number", "appointment.when", "location.name", "service.name"]);
}

#[test]
fn rendering_escapes_values_in_html_but_not_in_text() {
    let vars: Variables = [
        ("clinic.name", "Glow & Co"),
        ("client.first_name", "<Ada>"),
        ("link", "https://x.test/p?t=1"),
        ("link.expires", "12:00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let out = render(MessageKind::PortalLink, &vars).unwrap();
    assert!(out.text.starts_with("Hello <Ada>,"));
    assert!(out.html.contains("Hello &lt;Ada&gt;,") && out.html.contains("Glow &amp; Co"));
    assert!(out.sms.contains("https://x.test/p?t=1"));
}

#[test]
fn every_kind_has_a_template_and_round_trips_its_name() {
    for kind in MessageKind::ALL {
        assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        assert!(!kind.template().subject.is_empty());
    }
}

#[test]
fn stop_turns_off_all_sms_and_start_restores_booking_messages_only() {
    let prefs = Preferences::defaults(true);
    let stopped = prefs.sms_stopped();
    assert!(!stopped.allows(Channel::Sms, Purpose::Transactional));
    assert!(stopped.allows(Channel::Email, Purpose::Marketing));
    let started = stopped.sms_started();
    assert!(started.allows(Channel::Sms, Purpose::Transactional));
    assert!(!started.allows(Channel::Sms, Purpose::Marketing));
}

#[test]
fn sms_keywords_are_recognised_whatever_their_case() {
    assert_eq!(sms_command(" c "), SmsCommand::Confirm);
    assert_eq!(sms_command("Yes!"), SmsCommand::Confirm);
    assert_eq!(sms_command("stopall"), SmsCommand::Stop);
    assert_eq!(sms_command("Unstop"), SmsCommand::Start);
    assert_eq!(sms_command("help"), SmsCommand::Help);
    assert_eq!(sms_command("can I move my visit?"), SmsCommand::Other);
}

#[test]
fn settings_with_a_notice_in_the_cadence_or_a_wrong_sided_offset_are_refused() {
    let mut settings = NotificationSettings::default();
    settings.steps[0].offset_minutes = 60;
    assert!(settings.check().is_err());
    let mut settings = NotificationSettings::default();
    settings.steps[0].kind = MessageKind::Confirmation;
    assert!(settings.check().is_err());
    assert!(NotificationSettings::default().check().is_ok());
}

#[test]
fn no_planned_message_may_be_sent_more_than_three_hours_late_or_after_its_limit() {
    let london: Tz = "Europe/London".parse().unwrap();
    let start = at(london, 2026, 6, 10, 15, 0);
    for planned in
        plan(start, start + Duration::hours(1), london, &NotificationSettings::default(), start - Duration::days(3))
    {
        assert!(planned.useful_until <= planned.due_at + Duration::hours(MAX_LATENESS_HOURS), "{planned:?}");
        assert!(planned.useful_until >= planned.due_at, "{planned:?}");
        if planned.due_at < start {
            assert!(planned.useful_until <= start - Duration::minutes(30), "{planned:?}");
        }
    }
}

#[test]
fn links_are_redacted_from_what_staff_read_and_the_words_around_them_stay() {
    use super::redact_links;
    let text =
        "Glow Clinic: please sign your consent form https://glow.test/v1/esign/abc.def?x=1 before Tuesday.\nThanks";
    assert_eq!(redact_links(text), "Glow Clinic: please sign your consent form [link] before Tuesday.\nThanks");
    assert_eq!(redact_links("HTTP://A.TEST/x and www.b.test"), "[link] and [link]");
    assert_eq!(redact_links("no links here"), "no links here");
}
