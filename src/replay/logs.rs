//! Log files as operators keep them, read into one shape: syslog files
//! (RFC 3164, as `journalctl -o short` prints too), `journalctl -o
//! short-precise` and `-o short-iso`, and keepalived's console log (`-l`).

use haven_core::log::syslog::{Civil, MONTHS};

/// One line of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// Where it was read: `file:line`.
    pub(crate) place: String,
    /// The wall-clock time it carries, in microseconds since the epoch (the
    /// clock as written: no time zone is applied).
    pub(crate) at: i64,
    /// True when the time has a fraction of a second.
    pub(crate) precise: bool,
    /// The syslog host field (none in keepalived's console form).
    pub(crate) host: Option<String>,
    /// The program (`Keepalived_vrrp`, `haproxy`), when the line names one.
    pub(crate) ident: Option<String>,
    /// Its process id, when the line gives it.
    pub(crate) pid: Option<u32>,
    /// The message.
    pub(crate) text: String,
}

/// The lines of log `file` (its `name` for messages). Syslog's dates have
/// no year: they are read in `year`, the next one after December. Blank
/// lines, `#` comments and the journal's `-- ... --` markers are skipped;
/// any other line that is not a log line is an error naming its place.
pub(crate) fn read(name: &str, file: &str, year: i64) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let mut year = year;
    let mut last_month = 0;
    for (n, raw) in file.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with("-- ") {
            continue;
        }
        let place = format!("{name}:{}", n + 1);
        let mut stamp = stamp(line, year).ok_or_else(|| {
            format!("{place}: not a log line (syslog, journal or keepalived console form): {line}")
        })?;
        if stamp.yearless {
            // Syslog has no year: a month far before the last is the next year's.
            if stamp.month + 6 < last_month {
                year += 1;
                stamp = self::stamp(line, year).expect("the line was read in the year before");
            }
            last_month = stamp.month;
        }
        let at = stamp.at;
        let (host, (ident, pid, text)) = match stamp.console {
            true => (None, (None, None, stamp.rest)),
            false => {
                let (host, rest) = stamp.rest.split_once(' ').unwrap_or((stamp.rest, ""));
                (Some(host.to_owned()), program(rest))
            }
        };
        // keepalived -l under systemd: the journal's stamp, then the console's.
        let text = console_stamp(text).map_or(text, |inner| inner.rest);
        lines.push(Line {
            place,
            at,
            precise: stamp.precise,
            host,
            ident,
            pid,
            text: text.to_owned(),
        });
    }
    Ok(lines)
}

/// A line's timestamp and what follows it.
struct Stamp<'a> {
    at: i64,
    precise: bool,
    /// Syslog's yearless form (read in the year given), and its month.
    yearless: bool,
    month: u32,
    /// keepalived's console form: no host, no program.
    console: bool,
    rest: &'a str,
}

impl<'a> Stamp<'a> {
    /// The stamp of date `(year, month, day)` at `time` (`HH:MM:SS[.f]`),
    /// or `None` when the time does not read.
    fn new(
        date: (i64, u32, u32),
        time: &str,
        yearless: bool,
        console: bool,
        rest: &'a str,
    ) -> Option<Self> {
        let (year, month, day) = date;
        let (secs, micros, precise) = clock(time)?;
        let at = Civil::to_unix(year, month, day, 0, 0, 0) + secs;
        Some(Self {
            at: at * 1_000_000 + micros,
            precise,
            yearless,
            month,
            console,
            rest,
        })
    }
}

/// Reads the timestamp `line` starts with, in any of the forms.
fn stamp(line: &str, year: i64) -> Option<Stamp<'_>> {
    syslog_stamp(line, year)
        .or_else(|| iso_stamp(line))
        .or_else(|| console_stamp(line))
}

/// `Apr  4 20:57:54 ` or `Apr 04 20:57:54.123456 `.
fn syslog_stamp(line: &str, year: i64) -> Option<Stamp<'_>> {
    let month = month(line.get(..3)?)?;
    let rest = line.get(3..)?.trim_start();
    let (day, rest) = rest.split_once(' ')?;
    let day: u32 = day.parse().ok()?;
    let (time, rest) = rest.split_once(' ')?;
    Stamp::new((year, month, day), time, true, false, rest)
}

/// `2026-12-06T02:54:42+0000 ` or `2026-12-06T02:54:42.123456+00:00 `:
/// the clock as written, the offset skipped.
fn iso_stamp(line: &str) -> Option<Stamp<'_>> {
    let (stamp, rest) = line.split_once(' ')?;
    let (date, time) = stamp.split_once('T')?;
    let mut ymd = date.split('-');
    let (year, month, day) = (ymd.next()?, ymd.next()?, ymd.next()?);
    let (year, month, day): (i64, u32, u32) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let end = time.find(['Z', '+', '-']).unwrap_or(time.len());
    Stamp::new((year, month, day), &time[..end], false, false, rest)
}

/// keepalived's console form: `Sun Dec  6 02:54:42 2026: text`.
fn console_stamp(line: &str) -> Option<Stamp<'_>> {
    let (head, rest) = line.split_once(": ")?;
    let words: Vec<&str> = head.split_whitespace().collect();
    let [_weekday, mon, day, time, year] = words.as_slice() else {
        return None;
    };
    let month = month(mon)?;
    let (day, year): (u32, i64) = (day.parse().ok()?, year.parse().ok()?);
    Stamp::new((year, month, day), time, false, true, rest)
}

/// A month's number from its name.
fn month(name: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

/// `HH:MM:SS[.ffffff]`: seconds into the day, microseconds, and whether a
/// fraction was given.
fn clock(time: &str) -> Option<(i64, i64, bool)> {
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (time, None),
    };
    let mut parts = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let micros = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let digits: String = f.chars().chain("000000".chars()).take(6).collect();
            digits.parse().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    Some((h * 3600 + m * 60 + s, micros, fraction.is_some()))
}

/// `ident[pid]: text` or `ident: text`: the program, its pid and the
/// message; a line in neither form is all message.
pub(crate) fn program(rest: &str) -> (Option<String>, Option<u32>, &str) {
    let Some((head, text)) = rest.split_once(": ") else {
        return (None, None, rest);
    };
    let (ident, pid) = match head.split_once('[') {
        Some((ident, pid)) => (ident, pid.strip_suffix(']').and_then(|p| p.parse().ok())),
        None => (head, None),
    };
    if ident.is_empty() || ident.contains(' ') {
        return (None, None, rest);
    }
    (Some(ident.to_owned()), pid, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Line {
        read("log", line, 2015).expect("a log line").remove(0)
    }

    #[test]
    fn every_form_gives_time_host_program_and_message() {
        let syslog = one("Apr  4 20:57:54 backup-haproxy Keepalived_vrrp[17261]: VRRP_Instance(HA_1) forcing a new MASTER election");
        let secs = Civil::to_unix(2015, 4, 4, 20, 57, 54);
        assert_eq!(syslog.at, secs * 1_000_000);
        assert!(!syslog.precise);
        assert_eq!(syslog.host.as_deref(), Some("backup-haproxy"));
        assert_eq!(syslog.ident.as_deref(), Some("Keepalived_vrrp"));
        assert_eq!(syslog.pid, Some(17261));
        assert_eq!(
            syslog.text,
            "VRRP_Instance(HA_1) forcing a new MASTER election"
        );

        let precise = one("Apr 04 20:57:54.250000 lb1 haproxy[574]: Proxy www started.");
        assert_eq!(precise.at, secs * 1_000_000 + 250_000);
        assert!(precise.precise);
        assert_eq!(precise.ident.as_deref(), Some("haproxy"));

        let iso = one("2015-04-04T20:57:54.5+02:00 lb1 Keepalived[9]: Stopping");
        assert_eq!(iso.at, secs * 1_000_000 + 500_000);
        assert_eq!(iso.text, "Stopping");

        let journal = one("Apr 04 20:57:54.25 lb1 keepalived[7]: Sat Apr  4 20:57:54 2015: (HA_1) Entering MASTER STATE");
        assert_eq!(journal.at, secs * 1_000_000 + 250_000);
        assert_eq!(journal.text, "(HA_1) Entering MASTER STATE");

        let console = one("Sat Apr  4 20:57:54 2015: (HA_1) Entering MASTER STATE");
        assert_eq!(
            (console.at, console.host, console.ident),
            (secs * 1_000_000, None, None)
        );
        assert_eq!(console.text, "(HA_1) Entering MASTER STATE");
    }

    #[test]
    fn syslog_dates_roll_into_the_next_year_and_bad_lines_are_placed() {
        let lines = read(
            "ha.log",
            "# a comment\nDec 31 23:59:59 a k: x\n-- Boot 1 --\nJan  1 00:00:01 a k: y\n",
            2015,
        )
        .expect("readable");
        assert_eq!(lines[1].at - lines[0].at, 2_000_000);
        assert_eq!(lines[1].place, "ha.log:4");
        let err = read("ha.log", "Apr  4 20:57:54 a k: x\nnot a line\n", 2015).expect_err("bad");
        assert!(err.starts_with("ha.log:2: not a log line"), "{err}");
    }
}
