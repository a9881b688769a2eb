//! The prefixes log lines carry: syslog's `Mmm dd HH:MM:SS host ident[pid]: `
//! and keepalived's console form (`-l`). Wall-clock instants come in as
//! seconds since the Unix epoch (UTC); core never reads a clock itself.

/// Month names as logs write them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// A calendar date and time of day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
    /// Day of week, 0 = Thursday (1970-01-01 was one).
    weekday: usize,
}

impl Civil {
    /// The date and time `secs` seconds after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            weekday: days.rem_euclid(7) as usize,
        }
    }

    /// Seconds since the epoch of a civil date and time (UTC).
    pub fn to_unix(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
    }

    /// The date as haproxy's logs print it, `tail` after the seconds:
    /// `06/Dec/2026:05:49:20` then `.162` (`%t`) or ` +0000` (`%T`;
    /// haven keeps its clock in UTC, so local dates read the same).
    pub fn log_date(&self, tail: &str) -> String {
        format!(
            "{:02}/{}/{}:{:02}:{:02}:{:02}{tail}",
            self.day,
            MONTHS[(self.month - 1) as usize],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// syslog's RFC 3164 timestamp: `Apr  4 20:57:54`.
    pub fn syslog(&self) -> String {
        format!(
            "{} {:>2} {:02}:{:02}:{:02}",
            MONTHS[(self.month - 1) as usize],
            self.day,
            self.hour,
            self.minute,
            self.second
        )
    }

    /// C's `%c`, as keepalived's console log uses: `Tue Nov 24 20:33:35 2026`.
    pub fn ctime(&self) -> String {
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            DAYS[self.weekday],
            MONTHS[(self.month - 1) as usize],
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.year
        )
    }
}

/// Syslog facility names and codes (RFC 3164 §4.1.1).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2",
    "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// Severity names, most severe first.
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// A facility's code by the name haproxy's `log` takes (`local0` → 16).
pub fn facility_code(name: &str) -> Option<u8> {
    FACILITIES.iter().position(|f| *f == name).map(|i| i as u8)
}

/// A severity's code by name (`info` → 6).
pub fn severity_code(name: &str) -> Option<u8> {
    SEVERITIES.iter().position(|s| *s == name).map(|i| i as u8)
}

/// The RFC 3164 datagram haproxy sends to a syslog target, with no
/// hostname: `<134>Nov 24 20:48:06 haproxy[5637]: text` and a newline.
pub fn datagram(
    facility: u8,
    severity: u8,
    at: &Civil,
    ident: &str,
    pid: u32,
    text: &str,
) -> String {
    let pri = u16::from(facility) * 8 + u16::from(severity);
    format!("<{pri}>{} {ident}[{pid}]: {text}\n", at.syslog())
}

/// A syslog file line: `Apr  4 20:57:54 host ident[pid]: text`.
pub fn syslog_line(at: &Civil, host: &str, ident: &str, pid: u32, text: &str) -> String {
    format!("{} {host} {ident}[{pid}]: {text}", at.syslog())
}

/// keepalived's console line (`-l`): `Tue Nov 24 20:33:35 2026: text`.
pub fn console_line(at: &Civil, text: &str) -> String {
    format!("{}: {text}", at.ctime())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_line_and_console_line() {
        let t = Civil::to_unix(2015, 4, 4, 20, 57, 54);
        let c = Civil::from_unix(t);
        assert_eq!(
            syslog_line(&c, "haproxy-server", "Keepalived_vrrp", 23824, "VRRP_Instance(HA_1) Entering BACKUP STATE"),
            "Apr  4 20:57:54 haproxy-server Keepalived_vrrp[23824]: VRRP_Instance(HA_1) Entering BACKUP STATE"
        );
        let lab = Civil::from_unix(Civil::to_unix(2026, 11, 24, 20, 33, 35));
        assert_eq!(
            console_line(&lab, "(HA_1) Entering MASTER STATE"),
            "Tue Nov 24 20:33:35 2026: (HA_1) Entering MASTER STATE"
        );
    }

    #[test]
    fn civil_round_trips() {
        for secs in [0, 951_782_400, 1_709_164_799, 4_102_444_800, -86_400] {
            let c = Civil::from_unix(secs);
            assert_eq!(
                Civil::to_unix(c.year, c.month, c.day, c.hour, c.minute, c.second),
                secs
            );
        }
        assert_eq!(Civil::from_unix(951_782_400).syslog(), "Feb 29 00:00:00");
    }

    #[test]
    fn datagrams_carry_haproxys_priority_and_no_hostname() {
        let at = Civil::from_unix(Civil::to_unix(2026, 11, 24, 20, 48, 6));
        let local0 = facility_code("local0").expect("known");
        let info = severity_code("info").expect("known");
        assert_eq!(
            datagram(local0, info, &at, "haproxy", 5637, "hello"),
            "<134>Nov 24 20:48:06 haproxy[5637]: hello\n"
        );
        assert_eq!(
            datagram(local0, 1, &at, "haproxy", 1, "x").get(..5),
            Some("<129>")
        );
        assert_eq!(
            (facility_code("bogus"), severity_code("notice")),
            (None, Some(5))
        );
    }
}
