//! Time: the real clock and a simulated one.
//!
//! Every decision that depends on time (expiry, receipt timestamps) reads a [`Clock`], so a
//! scenario run under [`SimClock`] is byte-for-byte reproducible.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch, UTC. Serialized as RFC 3339 with milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

/// A timestamp or duration that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {hint}")]
pub struct TimeParseError {
    what: &'static str,
    value: String,
    hint: &'static str,
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// The last instant RFC 3339 can write (9999-12-31T23:59:59.999Z). Later values can be
    /// held and compared, never recorded: the engine refuses them as `expiry_out_of_range`
    /// and a simulated clock stops here.
    pub const MAX: Timestamp = Timestamp(253_402_300_800_000 - 1);

    /// Whether RFC 3339 can write this time (it is not past [`Timestamp::MAX`]).
    pub const fn in_range(self) -> bool {
        self.0 <= Self::MAX.0
    }

    /// From milliseconds since the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// From whole seconds since the epoch (the marketplace's `expiry` format).
    pub const fn from_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This time plus a duration (saturating). The result may be past [`Timestamp::MAX`]:
    /// a term that ends there is refused, not shortened.
    pub fn plus(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// Parses RFC 3339 (`2026-02-26T00:00:00Z`), a date (`2026-02-26`), or epoch seconds.
    pub fn parse(text: &str) -> Result<Self, TimeParseError> {
        let t = text.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u64>()
                .map(Timestamp::from_secs)
                .map_err(|_| err("timestamp", text, "epoch seconds out of range"));
        }
        let full;
        let (t, offset_ms) = if t.len() == 10 {
            full = format!("{t}T00:00:00Z");
            (full.as_str(), 0)
        } else if let Some((local, offset_ms)) = utc_offset(t) {
            // RFC 3339 allows a numeric offset; the parser below takes UTC (`Z`) only.
            full = format!("{local}Z");
            (full.as_str(), offset_ms)
        } else {
            (t, 0)
        };
        let st = humantime::parse_rfc3339_weak(t).map_err(|_| {
            err(
                "timestamp",
                text,
                "use RFC 3339 (2026-02-26T00:00:00Z), a date (2026-02-26) or epoch seconds",
            )
        })?;
        let ms = st
            .duration_since(UNIX_EPOCH)
            .map_err(|_| err("timestamp", text, "times before 1970 are not supported"))?
            .as_millis();
        let ms = i128::try_from(ms).unwrap_or(i128::MAX) - i128::from(offset_ms);
        let ms = u64::try_from(ms)
            .map_err(|_| err("timestamp", text, "times before 1970 are not supported"))?;
        Ok(Timestamp(ms))
    }
}

/// `text` without a trailing numeric UTC offset (`+05:00`, `-03:30`), and the offset in
/// milliseconds (local time minus UTC); `None` when it has none.
fn utc_offset(text: &str) -> Option<(&str, i64)> {
    let cut = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..cut)?, text.get(cut..)?.as_bytes());
    let sign = match offset[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from((a - b'0') * 10 + (b - b'0')))
    };
    let hours = digits(offset[1], offset[2])?;
    let minutes = digits(offset[4], offset[5])?;
    (offset[3] == b':' && local.contains(['T', 't', ' ']) && hours < 24 && minutes < 60)
        .then_some((local, sign * (hours * 3_600_000 + minutes * 60_000)))
}

fn err(what: &'static str, value: &str, hint: &'static str) -> TimeParseError {
    TimeParseError {
        what,
        value: value.to_owned(),
        hint,
    }
}

/// Parses a duration such as `30d`, `1h 30m`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, TimeParseError> {
    humantime::parse_duration(text.trim()).map_err(|_| {
        err(
            "duration",
            text,
            "use a number and unit, e.g. 30d, 2h, 90s, 250ms",
        )
    })
}

impl Timestamp {
    /// RFC 3339 with milliseconds (`2026-01-10T00:00:00.000Z`); `None` past
    /// [`Timestamp::MAX`]. Spelled digit by digit rather than through a formatter: every
    /// receipt records at least one timestamp.
    fn rfc3339(self) -> Option<[u8; 24]> {
        if !self.in_range() {
            return None;
        }
        let secs = self.0 / 1000;
        let (year, month, day) = civil_from_days(secs / 86_400);
        let second_of_day = secs % 86_400;
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: u64| {
            for slot in text[at..at + width].iter_mut().rev() {
                // A remainder of 10 is a single digit.
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, second_of_day / 3600);
        put(14, 2, second_of_day / 60 % 60);
        put(17, 2, second_of_day % 60);
        put(20, 3, self.0 % 1000);
        Some(text)
    }
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rfc3339() {
            // The text is ASCII digits and separators.
            Some(text) => f.write_str(std::str::from_utf8(&text).unwrap_or_default()),
            // Past year 9999 RFC 3339 has no form; epoch seconds read back the same way.
            None => write!(f, "{}", self.0 / 1000),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Timestamp::from_secs(s)),
            Raw::Text(t) => Timestamp::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "RFC 3339 time, a date, or Unix epoch seconds",
            "type": ["string", "integer"]
        })
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The machine's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct SimClock(AtomicU64);

impl SimClock {
    /// A simulated clock starting at `start` (at most [`Timestamp::MAX`]).
    pub fn new(start: Timestamp) -> Self {
        SimClock(AtomicU64::new(start.min(Timestamp::MAX).0))
    }

    /// Moves the clock to `t` (which may be earlier: scenarios may rewind), never past
    /// [`Timestamp::MAX`].
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.min(Timestamp::MAX).0, Ordering::SeqCst);
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let now = Timestamp(self.0.load(Ordering::SeqCst));
        self.set(now.plus(d));
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Spelled as humantime spells it, which is how every receipt so far spelled it.
        #[test]
        fn timestamps_are_spelled_as_humantime_spells_them(
            ms in proptest::prop_oneof![0..=Timestamp::MAX.0, 0u64..4_102_444_800_000]
        ) {
            let humantime = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms));
            proptest::prop_assert_eq!(Timestamp(ms).to_string(), humantime.to_string());
        }
    }

    #[test]
    fn calendar_edges_are_spelled_right() {
        for (text, ms) in [
            ("1970-01-01T00:00:00.000Z", 0),
            ("2000-02-29T23:59:59.999Z", 951_868_799_999),
            ("2100-03-01T00:00:00.000Z", 4_107_542_400_000),
            ("9999-12-31T23:59:59.999Z", Timestamp::MAX.0),
        ] {
            assert_eq!(Timestamp(ms).to_string(), text);
            assert_eq!(serde_json::to_value(Timestamp(ms)).unwrap(), text);
        }
        assert_eq!(
            Timestamp(Timestamp::MAX.0 + 1000).to_string(),
            "253402300800"
        );
    }

    #[test]
    fn parses_and_formats_rfc3339() {
        let t = Timestamp::parse("2026-02-26T00:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-02-26T00:00:00.000Z");
        assert_eq!(Timestamp::parse("2026-02-26").unwrap(), t);
        assert_eq!(
            Timestamp::parse("1740534000").unwrap(),
            Timestamp::from_secs(1740534000)
        );
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn a_numeric_utc_offset_is_taken_into_account() {
        let utc = Timestamp::parse("2026-01-05T05:00:00Z").unwrap();
        assert_eq!(Timestamp::parse("2026-01-05T10:00:00+05:00").unwrap(), utc);
        assert_eq!(Timestamp::parse("2026-01-05T01:30:00-03:30").unwrap(), utc);
        assert_eq!(
            Timestamp::parse("2026-01-05T05:00:00.250+00:00")
                .unwrap()
                .to_string(),
            "2026-01-05T05:00:00.250Z"
        );
        assert!(Timestamp::parse("1970-01-01T00:00:00+01:00").is_err());
        assert!(Timestamp::parse("2026-01-05T10:00:00+25:00").is_err());
    }

    #[test]
    fn times_past_year_9999_format_without_failing() {
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        let late = Timestamp::from_secs(253_402_300_800);
        assert!(!late.in_range());
        assert_eq!(late.to_string(), "253402300800");
        assert_eq!(Timestamp::parse(&late.to_string()).unwrap(), late);
        assert_eq!(
            serde_json::to_string(&Timestamp::from_millis(u64::MAX)).unwrap(),
            "\"18446744073709551\""
        );
        let c = SimClock::new(Timestamp::EPOCH);
        c.advance(parse_duration("3000000d").unwrap());
        assert_eq!(c.now(), Timestamp::MAX);
    }

    #[test]
    fn sim_clock_moves_only_when_told() {
        let c = SimClock::new(Timestamp::from_secs(10));
        assert_eq!(c.now(), Timestamp::from_secs(10));
        c.advance(parse_duration("30d").unwrap());
        assert_eq!(c.now(), Timestamp::from_secs(10 + 30 * 86_400));
    }
}
