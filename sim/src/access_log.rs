//! Arrivals read from a haproxy access log (`option httplog`): when each
//! request came, relative to the first, with its method, path and Host,
//! for a client group that replays them.

use haven_core::log::syslog::{Civil, MONTHS};
use haven_core::time::Duration;

/// One request of the log, as a replaying client sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// When it came, after the log's first request.
    pub at: Duration,
    /// Its method.
    pub method: String,
    /// Its path (and query).
    pub path: String,
    /// Its Host: the first captured request header, when the log captured
    /// any (`capture request header Host` first, as usual).
    pub host: Option<String>,
}

/// The requests of `log`, a haproxy access log (or a syslog file holding
/// one among other lines), in the order of their reception dates. Lines
/// without an httplog reception date and request line are not requests
/// and are skipped; `Err` names the first request line that cannot be
/// read (1-based) and why, or says there is none.
pub(crate) fn read(log: &str) -> Result<Vec<Replayed>, (usize, String)> {
    let mut seen = Vec::new();
    for (n, line) in log.lines().enumerate() {
        let Some(date) = reception_date(line) else {
            continue;
        };
        let at = date.map_err(|e| (n + 1, e))?;
        let Some((before, request)) = split_request(line) else {
            continue;
        };
        let mut words = request.split_whitespace();
        let (Some(method), Some(path)) = (words.next(), words.next()) else {
            return Err((n + 1, format!("request line '{request}' has no path")));
        };
        if method == "<BADREQ>" {
            continue;
        }
        let host = first_capture(before).filter(|h| !h.is_empty());
        seen.push((at, method.to_owned(), path.to_owned(), host));
    }
    let first = seen
        .iter()
        .map(|(at, ..)| *at)
        .min()
        .ok_or((0, "no httplog request line".to_owned()))?;
    // A stable sort: lines of the same millisecond keep the log's order.
    seen.sort_by_key(|(at, ..)| *at);
    Ok(seen
        .into_iter()
        .map(|(at, method, path, host)| Replayed {
            at: Duration::from_millis(at - first),
            method,
            path,
            host,
        })
        .collect())
}

/// When the first request of access log `log` came: its reception date in
/// milliseconds since the Unix epoch (the clock as the log writes it);
/// `None` when the log has no request it can read.
pub fn first_request(log: &str) -> Option<u64> {
    log.lines()
        .filter(|l| split_request(l).is_some())
        .filter_map(|l| reception_date(l)?.ok())
        .min()
}

/// The line's reception date (`[05/Dec/2026:19:51:03.123]`) in
/// milliseconds since the Unix epoch; `None` when it has none.
fn reception_date(line: &str) -> Option<Result<u64, String>> {
    let (_, rest) = line.split_once(" [")?;
    let (date, _) = rest.split_once(']')?;
    let shape = date.len() == 24 && date.as_bytes()[2] == b'/' && date.as_bytes()[20] == b'.';
    if !shape {
        return None;
    }
    let bad = || format!("'{date}' is not a date as dd/Mon/yyyy:HH:MM:SS.mmm");
    let field = |from: usize, to: usize| date.get(from..to)?.parse::<u32>().ok();
    let month = MONTHS.iter().position(|m| date.get(3..6) == Some(*m));
    let parts = (
        field(0, 2),
        month,
        field(7, 11),
        field(12, 14),
        field(15, 17),
        field(18, 20),
        field(21, 24),
    );
    let (Some(day), Some(month), Some(year), Some(h), Some(m), Some(s), Some(ms)) = parts else {
        return Some(Err(bad()));
    };
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 59 {
        return Some(Err(bad()));
    }
    let secs = Civil::to_unix(i64::from(year), month as u32 + 1, day, h, m, s);
    Some(
        u64::try_from(secs)
            .map(|secs| secs * 1000 + u64::from(ms))
            .map_err(|_| bad()),
    )
}

/// The line before its last `"..."`, and that quoted text: httplog's
/// request line.
fn split_request(line: &str) -> Option<(&str, &str)> {
    let end = line.rfind('"')?;
    let start = line[..end].rfind('"')?;
    Some((&line[..start], &line[start + 1..end]))
}

/// The first field of the first `{...}` capture block in `fields`.
fn first_capture(fields: &str) -> Option<String> {
    let (_, rest) = fields.split_once(" {")?;
    let (block, _) = rest.split_once('}')?;
    Some(block.split('|').next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
Dec  5 19:51:03 lb1 haproxy[812]: 10.0.0.7:51234 [05/Dec/2026:19:51:03.120] web pool/b1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {www.zb.com|curl/8} \"GET /index.html HTTP/1.1\"
Dec  5 19:51:03 lb1 Keepalived_vrrp[900]: VRRP_Instance(HA_1) Sending gratuitous ARPs
Dec  5 19:51:04 lb1 haproxy[812]: 10.0.0.8:40000 [05/Dec/2026:19:51:04.005] web pool/b2 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 \"POST /api?x=1 HTTP/1.1\"
Dec  5 19:51:03 lb1 haproxy[812]: 10.0.0.9:40001 [05/Dec/2026:19:51:03.620] web pool/b1 0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 {static.zb.com} \"GET /a.png HTTP/1.1\"
";

    #[test]
    fn requests_come_in_date_order_with_their_method_path_and_host() {
        let got = read(LOG).expect("readable");
        let summary: Vec<(u64, &str, &str, Option<&str>)> = got
            .iter()
            .map(|r| {
                (
                    r.at.as_millis(),
                    r.method.as_str(),
                    r.path.as_str(),
                    r.host.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (0, "GET", "/index.html", Some("www.zb.com")),
                (500, "GET", "/a.png", Some("static.zb.com")),
                (885, "POST", "/api?x=1", None),
            ]
        );
    }

    #[test]
    fn the_first_request_is_the_earliest_date() {
        let first = Civil::to_unix(2026, 12, 5, 19, 51, 3) as u64 * 1000 + 120;
        assert_eq!(first_request(LOG), Some(first));
        assert_eq!(first_request("Dec  5 lb1 Keepalived: nothing\n"), None);
    }

    #[test]
    fn bad_dates_are_located_and_a_log_without_requests_refused() {
        let bad = "x 10.0.0.1:1 [05/Dex/2026:19:51:03.120] web pool/b1 \"GET / HTTP/1.1\"\n";
        let (line, why) = read(&format!("\n{bad}")).expect_err("a bad month");
        assert_eq!(line, 2);
        assert!(why.contains("05/Dex/2026"), "{why}");
        assert!(read("Dec  5 lb1 Keepalived: nothing\n").is_err());
    }
}
