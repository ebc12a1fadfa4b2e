//! Visits with services alongside each other: their itinerary, their shape's checks, and the
//! practitioners chosen for them, with a property test that nobody is ever in two places.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 2, h, m, 0).unwrap()
}

fn part(duration: u32, before: u32, after: u32, with_previous: bool) -> PartTiming {
    PartTiming { duration_minutes: duration, buffer_before_minutes: before, buffer_after_minutes: after, with_previous }
}

fn prac(name: &str) -> PractitionerId {
    PractitionerId::parse(&format!("prc_{name}")).unwrap()
}

#[test]
fn sequential_parts_follow_one_another_as_next_start_says() {
    let parts = [part(30, 5, 10, false), part(45, 0, 0, false), part(30, 5, 10, false)];
    let starts = itinerary(t(10, 0), &parts);
    assert_eq!(starts, [t(10, 0), t(10, 40), t(11, 30)]);
    assert_eq!(starts[1], next_start(t(10, 30), 10, 0));
}

#[test]
fn a_part_with_the_previous_starts_with_it_and_the_next_waits_for_the_later_of_the_two() {
    // Colour 60 (+10 after) alongside a manicure 45 (+0), then a blow-dry 30 (5 before).
    let parts = [part(60, 0, 10, false), part(45, 0, 0, true), part(30, 5, 0, false)];
    assert_eq!(itinerary(t(10, 0), &parts), [t(10, 0), t(10, 0), t(11, 15)]);
    // A group after a sequential part waits for the longest buffer before among its parts.
    let parts = [part(30, 0, 0, false), part(30, 5, 0, false), part(30, 15, 0, true)];
    assert_eq!(itinerary(t(9, 0), &parts), [t(9, 0), t(9, 45), t(9, 45)]);
}

#[test]
fn groups_are_runs_of_parts_with_the_previous() {
    assert_eq!(parallel_groups([false, true, false, false, true, true]), vec![0..2, 2..3, 3..6]);
    assert_eq!(parallel_groups([false]), vec![0..1]);
}

#[test]
fn a_shape_is_refused_when_a_service_does_not_allow_company_or_one_person_would_do_two_at_once() {
    let (a, b) = (prac("a"), prac("b"));
    let shape = |parallel_ok: bool, with_previous: bool, p: Option<&'static PractitionerId>| PartShape {
        parallel_ok,
        with_previous,
        practitioner_id: p,
    };
    let a: &'static PractitionerId = Box::leak(Box::new(a));
    let b: &'static PractitionerId = Box::leak(Box::new(b));
    assert_eq!(check_shape(&[shape(true, false, Some(a)), shape(true, true, Some(b))]), Ok(()));
    assert_eq!(check_shape(&[shape(true, false, None), shape(true, true, None)]), Ok(()));
    // The same person for two sequential parts is fine; alongside, not.
    assert_eq!(check_shape(&[shape(false, false, Some(a)), shape(false, false, Some(a))]), Ok(()));
    assert_eq!(
        check_shape(&[shape(true, false, Some(a)), shape(true, true, Some(a))]),
        Err(ShapeError::SamePractitioner { index: 1 })
    );
    // Both must allow it: the one asked for, and the one it joins.
    assert_eq!(
        check_shape(&[shape(false, false, None), shape(true, true, None)]),
        Err(ShapeError::NotParallel { index: 1 })
    );
    assert_eq!(
        check_shape(&[shape(true, false, None), shape(true, false, None), shape(false, true, None)]),
        Err(ShapeError::NotParallel { index: 2 })
    );
    assert_eq!(check_shape(&[shape(true, true, None)]), Err(ShapeError::NothingBefore));
}

#[test]
fn anyone_alongside_is_someone_else_even_when_the_first_choice_would_take_both() {
    let (a, b, c) = (prac("a"), prac("b"), prac("c"));
    // Both prefer A; only B is left for the first, A for the second.
    let staffed = staff(&[vec![a.clone(), b.clone()], vec![a.clone()]], &[false, true], 0).unwrap();
    assert_eq!(staffed, [b.clone(), a.clone()]);
    // Sequential parts may share a practitioner.
    assert_eq!(staff(&[vec![a.clone()], vec![a.clone()]], &[false, false], 0).unwrap(), [a.clone(), a.clone()]);
    // Nobody else is free alongside.
    assert_eq!(staff(&[vec![a.clone()], vec![a.clone()]], &[false, true], 0), None);
    // Later attempts prefer later candidates.
    assert_eq!(staff(&[vec![a.clone(), b.clone(), c.clone()], vec![c.clone()]], &[false, true], 1).unwrap(), [b, c]);
    assert_eq!(staff(&[vec![], vec![a]], &[false, false], 0), None);
}

/// A random visit: up to six parts, each with its duration and buffers, whether it joins the one
/// before, and which of three practitioners could take it.
fn visits() -> impl Strategy<Value = (Vec<PartTiming>, Vec<Vec<PractitionerId>>, usize)> {
    let one = (1u32..=24, 0u32..=6, 0u32..=6, any::<bool>(), prop::sample::subsequence(vec![0usize, 1, 2], 0..=3));
    (prop::collection::vec(one, 1..=6), 0usize..3).prop_map(|(parts, attempt)| {
        let names = [prac("a"), prac("b"), prac("c")];
        let timings =
            parts.iter().enumerate().map(|(i, (d, b, a, w, _))| part(d * 5, b * 5, a * 5, *w && i > 0)).collect();
        let candidates = parts.iter().map(|(.., who)| who.iter().map(|i| names[*i].clone()).collect()).collect();
        (timings, candidates, attempt)
    })
}

/// Whether each group could be staffed by distinct candidates, by trying every choice.
fn staffable(candidates: &[Vec<PractitionerId>], timings: &[PartTiming]) -> bool {
    parallel_groups(timings.iter().map(|p| p.with_previous)).into_iter().all(|group| {
        fn any_distinct(options: &[Vec<PractitionerId>], used: &mut Vec<PractitionerId>) -> bool {
            let Some((first, rest)) = options.split_first() else { return true };
            first.iter().any(|p| {
                if used.contains(p) {
                    return false;
                }
                used.push(p.clone());
                let ok = any_distinct(rest, used);
                used.pop();
                ok
            })
        }
        any_distinct(&candidates[group], &mut Vec::new())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_practitioner_is_ever_in_two_places_in_a_staffed_visit((timings, candidates, attempt) in visits()) {
        let starts = itinerary(t(9, 0), &timings);
        let with_previous: Vec<bool> = timings.iter().map(|p| p.with_previous).collect();
        match staff(&candidates, &with_previous, attempt) {
            None => prop_assert!(!staffable(&candidates, &timings), "a staffable visit was refused"),
            Some(chosen) => {
                prop_assert_eq!(chosen.len(), timings.len());
                let span = |i: usize| {
                    let p = timings[i];
                    occupied_span(
                        starts[i],
                        starts[i] + Duration::minutes(i64::from(p.duration_minutes)),
                        p.buffer_before_minutes,
                        p.buffer_after_minutes,
                    )
                };
                for i in 0..timings.len() {
                    prop_assert!(candidates[i].contains(&chosen[i]), "part {} got someone not free", i);
                    for j in i + 1..timings.len() {
                        let ((a0, a1), (b0, b1)) = (span(i), span(j));
                        let overlap = a0 < b1 && b0 < a1;
                        prop_assert!(!(overlap && chosen[i] == chosen[j]), "{} and {} overlap with one person", i, j);
                        // Parts of different groups never overlap at all, whoever does them.
                        if !with_previous[i + 1..=j].iter().all(|w| *w) {
                            prop_assert!(!overlap, "{} and {} of different groups overlap", i, j);
                        }
                    }
                }
            }
        }
    }
}
