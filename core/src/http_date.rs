//! HTTP dates (RFC 9110 §5.6.7) as seconds since the Unix epoch: the
//! three forms a recipient must read, and the one a sender writes.

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Reads an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), an RFC 850
/// date (`Sunday, 06-Nov-94 08:49:37 GMT`) or an asctime date (`Sun Nov
/// 6 08:49:37 1994`); `None` for anything else.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (day, month, year, clock) = if let Some((_, rest)) = text.split_once(", ") {
        let rest = rest.strip_suffix(" GMT")?;
        if let Some((date, clock)) = rest.split_once(' ').filter(|(d, _)| d.contains('-')) {
            // RFC 850: two-digit years are taken as 19xx, as haproxy does.
            let mut parts = date.split('-');
            let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
            (d, m, format!("19{y}"), clock)
        } else {
            let mut parts = rest.splitn(4, ' ');
            let (d, m, y, clock) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            (d, m, y.to_owned(), clock)
        }
    } else {
        let mut parts = text.split_whitespace();
        let (_, m, d, clock, y) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (d, m, y.to_owned(), clock)
    };
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year
        .parse()
        .ok()
        .filter(|y: &i64| y.to_string().len() == 4)?;
    let mut hms = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s)
}

/// `secs` since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37
/// GMT`).
pub fn format_http_date(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The civil date (year, month, day) `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_read_the_same_instant() {
        let t = 784_111_777;
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(
            parse_http_date("Thu, 22 Oct 2020 16:51:12 GMT"),
            Some(1_603_385_472)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_http_date(951_782_400),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(parse_http_date("Thu, 22 Foo 2020 16:51:12 GMT"), None);
    }
}
