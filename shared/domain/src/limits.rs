//! Abuse limits, pure: token buckets (how many attempts a caller may make, refilled over time)
//! and the countries a clinic texts. The table holds each bucket's state and a conditional write
//! decides every take (`ops::limits`), so a limit holds across every Lambda at once.

use serde::{Deserialize, Serialize};

/// A bucket of `capacity` tokens, one added every `refill_seconds`; each attempt takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub capacity: u32,
    pub refill_seconds: u32,
}

/// A bucket's stored state, as GCRA keeps it: the theoretical arrival time of the next token
/// (epoch seconds). Integer arithmetic, so waits are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketState {
    pub tat: i64,
}

impl Bucket {
    /// The state after taking one token at `now` (epoch seconds), or the seconds to wait.
    pub fn take(&self, state: Option<BucketState>, now: i64) -> Result<BucketState, i64> {
        let interval = i64::from(self.refill_seconds.max(1));
        let burst = i64::from(self.capacity) * interval;
        let tat = state.map_or(now, |s| s.tat.max(now)) + interval;
        let ahead = tat - now;
        if ahead <= burst { Ok(BucketState { tat }) } else { Err(ahead - burst) }
    }

    /// Seconds after which an untouched bucket is full again (its item may expire then).
    pub fn refills_within(&self) -> i64 {
        i64::from(self.capacity) * i64::from(self.refill_seconds.max(1))
    }
}

/// At most `max` takes in each `seconds`-long window (windows start at whole multiples of
/// `seconds` since the epoch). Coarser than a bucket (a burst may straddle two windows), but a
/// take is one conditional add with no read first, so a limit many callers hit at once (a
/// clinic's public bookings) never turns their races into refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub max: u32,
    pub seconds: u32,
}

impl Window {
    /// The window `now` (epoch seconds) falls in.
    pub fn index(&self, now: i64) -> i64 {
        now.div_euclid(i64::from(self.seconds.max(1)))
    }

    /// When the window `now` falls in ends (epoch seconds).
    pub fn ends(&self, now: i64) -> i64 {
        (self.index(now) + 1) * i64::from(self.seconds.max(1))
    }
}

/// A phone number's international calling code (`+44…` → 44), libphonenumber's reading (the
/// `phonenumber` crate); `None` when it is no number at all. The code, not the region, is what an
/// SMS costs by: Guernsey and Jersey share the UK's +44.
pub fn phone_calling_code(phone: &str) -> Option<u16> {
    phonenumber::parse(None, phone).ok().map(|number| number.code().value())
}

/// A country's calling code (`GB` → 44).
pub fn country_calling_code(country: &str) -> Option<u16> {
    phonenumber::metadata::DATABASE.by_id(country).map(|metadata| metadata.country_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_AN_HOUR: Bucket = Bucket { capacity: 5, refill_seconds: 720 };

    #[test]
    fn a_window_ends_at_the_next_whole_multiple_of_its_length() {
        let hour = Window { max: 600, seconds: 3600 };
        assert_eq!((hour.index(7_199), hour.ends(7_199)), (1, 7_200));
        assert_eq!((hour.index(7_200), hour.ends(7_200)), (2, 10_800));
    }

    #[test]
    fn a_full_bucket_gives_its_capacity_at_once_then_asks_to_wait_for_the_next_token() {
        let mut state = None;
        for _ in 0..5 {
            state = Some(FIVE_AN_HOUR.take(state, 1_000).unwrap());
        }
        assert_eq!(FIVE_AN_HOUR.take(state, 1_000), Err(720));
        assert_eq!(FIVE_AN_HOUR.take(state, 1_600), Err(120));
        assert!(FIVE_AN_HOUR.take(state, 1_720).is_ok(), "one token back after 12 minutes");
    }

    #[test]
    fn a_day_of_quiet_refills_the_bucket_to_its_capacity_and_no_more() {
        let mut state = None;
        for _ in 0..5 {
            state = Some(FIVE_AN_HOUR.take(state, 1_000).unwrap());
        }
        let later = 1_000 + 86_400;
        for _ in 0..5 {
            state = Some(FIVE_AN_HOUR.take(state, later).unwrap());
        }
        assert!(FIVE_AN_HOUR.take(state, later).is_err(), "five, not a day's worth");
    }

    #[test]
    fn a_phone_numbers_calling_code_is_read_and_a_countrys_code_looked_up() {
        assert_eq!(phone_calling_code("+447700900123"), Some(44));
        assert_eq!(phone_calling_code("+447911123456"), Some(44), "Guernsey's mobiles share +44");
        assert_eq!(phone_calling_code("+12125550123"), Some(1));
        assert_eq!(phone_calling_code("not a number"), None);
        assert_eq!(
            (country_calling_code("GB"), country_calling_code("US"), country_calling_code("FR")),
            (Some(44), Some(1), Some(33))
        );
        assert_eq!(country_calling_code("XX"), None);
    }
}
