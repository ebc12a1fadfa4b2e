//! Weekly rules and dated exceptions, in local wall-clock time: opening hours, working hours,
//! closures, time off and extra hours. Rules are checked for overlaps here, once, at the edge.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::values::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub fn of(date: NaiveDate) -> Weekday {
        use chrono::Datelike;
        match date.weekday() {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

/// A wall-clock time of day, `HH:MM` on the wire, on a 5-minute grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "09:30")]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    pub fn parse(raw: &str) -> Result<LocalTime, ParseError> {
        let time = NaiveTime::parse_from_str(raw, "%H:%M")
            .map_err(|_| ParseError(format!("`{raw}` is not a time of day such as 09:30")))?;
        use chrono::Timelike;
        if time.minute() % 5 != 0 {
            return Err(ParseError(format!("`{raw}` must fall on a 5-minute mark")));
        }
        Ok(LocalTime(time))
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl TryFrom<String> for LocalTime {
    type Error = ParseError;
    fn try_from(raw: String) -> Result<Self, ParseError> {
        LocalTime::parse(&raw)
    }
}

impl From<LocalTime> for String {
    fn from(t: LocalTime) -> String {
        t.0.format("%H:%M").to_string()
    }
}

/// Hours on one weekday, `start` before `end`; "24:00" is not accepted — close at 23:55.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayHours {
    pub day: Weekday,
    pub start: LocalTime,
    pub end: LocalTime,
}

/// A rule-set problem: which entry (by index) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
}

/// Refuses empty spans and spans that overlap on the same weekday.
pub fn check_weekly<'a>(spans: impl IntoIterator<Item = &'a DayHours>) -> Result<(), RuleError> {
    let spans: Vec<&DayHours> = spans.into_iter().collect();
    for (index, span) in spans.iter().enumerate() {
        if span.start >= span.end {
            return Err(RuleError {
                index,
                code: "empty_time_range",
                message: format!(
                    "{:?} starts at {} but ends at {}",
                    span.day,
                    String::from(span.start),
                    String::from(span.end)
                ),
            });
        }
        if spans[..index].iter().any(|other| other.day == span.day && other.start < span.end && span.start < other.end)
        {
            return Err(RuleError {
                index,
                code: "overlapping_rules",
                message: format!(
                    "{:?} {}–{} overlaps an earlier rule",
                    span.day,
                    String::from(span.start),
                    String::from(span.end)
                ),
            });
        }
    }
    Ok(())
}

/// A run of whole local days on which a location is closed (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub reason: Option<super::values::Name>,
}

pub fn check_closures(closures: &[Closure]) -> Result<(), RuleError> {
    for (index, closure) in closures.iter().enumerate() {
        if closure.from > closure.to {
            return Err(RuleError {
                index,
                code: "empty_date_range",
                message: "a closure must end on or after its first day".into(),
            });
        }
        if (closure.to - closure.from).num_days() > 366 {
            return Err(RuleError {
                index,
                code: "date_range_too_long",
                message: "a closure may last at most a year".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(day: Weekday, start: &str, end: &str) -> DayHours {
        DayHours { day, start: LocalTime::parse(start).unwrap(), end: LocalTime::parse(end).unwrap() }
    }

    #[test]
    fn split_shifts_on_one_day_are_allowed_but_overlaps_are_not() {
        let morning = hours(Weekday::Monday, "09:00", "12:00");
        let afternoon = hours(Weekday::Monday, "13:00", "17:00");
        let overlap = hours(Weekday::Monday, "11:30", "14:00");
        assert!(check_weekly([&morning, &afternoon]).is_ok());
        let err = check_weekly([&morning, &afternoon, &overlap]).unwrap_err();
        assert_eq!((err.index, err.code), (2, "overlapping_rules"));
    }

    #[test]
    fn a_span_that_ends_before_it_starts_is_refused() {
        let backwards = hours(Weekday::Tuesday, "17:00", "09:00");
        assert_eq!(check_weekly([&backwards]).unwrap_err().code, "empty_time_range");
    }

    #[test]
    fn times_must_be_on_a_five_minute_mark() {
        assert!(LocalTime::parse("09:07").is_err());
        assert!(LocalTime::parse("9am").is_err());
        assert!(LocalTime::parse("24:00").is_err());
    }
}
