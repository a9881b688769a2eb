//! The CSV records of a run. Times are seconds since the start of the run
//! (six decimals), latencies milliseconds.

use serde::{Deserialize, Serialize};

/// One row of `requests.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When the client sent it (s).
    pub start: f64,
    /// Client group.
    pub client: String,
    /// Host header.
    pub host: String,
    /// Load balancer that took it (`-`: none).
    pub lb: String,
    /// Frontend (`-`: none).
    pub frontend: String,
    /// Backend (`-`: none).
    pub backend: String,
    /// Last server tried (`-`: none).
    pub server: String,
    /// Connection attempts.
    pub tries: u32,
    /// Status the client got (0: none).
    pub status: u16,
    /// Termination state.
    pub termination: String,
    /// Latency (ms).
    pub latency_ms: f64,
}

impl RequestRecord {
    /// No usable answer: nothing, or a 5xx.
    pub fn failed(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
}

/// One row of `timeline.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRecord {
    /// When (s).
    pub time: f64,
    /// Host.
    pub host: String,
    /// `state`, `priority`, `vip_add`, `vip_remove`, `arp`, `action`,
    /// `server_down`, `server_up`.
    pub event: String,
    /// VRRP instance, when it concerns one.
    pub instance: String,
    /// Details (`MASTER 121`, `kill haproxy`, an address...).
    pub detail: String,
}

/// Parses CSV `text` with a header row into records.
pub fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<Vec<T>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

/// Writes records as CSV with a header row.
pub fn write<T: Serialize>(rows: &[T]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let rows = vec![
            RequestRecord {
                start: 10.5,
                client: "users".into(),
                host: "www.zb.com".into(),
                lb: "haproxy-server".into(),
                frontend: "www".into(),
                backend: "server_www".into(),
                server: "webapp1".into(),
                tries: 2,
                status: 200,
                termination: "--".into(),
                latency_ms: 1.25,
            },
            RequestRecord {
                status: 0,
                termination: "timeout".into(),
                latency_ms: 5000.0,
                ..rows_first()
            },
        ];
        let text = write(&rows).expect("writes");
        assert!(text.starts_with(
            "start,client,host,lb,frontend,backend,server,tries,status,termination,latency_ms\n"
        ));
        assert_eq!(read::<RequestRecord>(&text).expect("reads"), rows);
        let t = vec![TimelineRecord {
            time: 6.527343,
            host: "A".into(),
            event: "state".into(),
            instance: "HA_1".into(),
            detail: "MASTER 121".into(),
        }];
        assert_eq!(
            read::<TimelineRecord>(&write(&t).expect("writes")).expect("reads"),
            t
        );
    }

    fn rows_first() -> RequestRecord {
        RequestRecord {
            start: 11.0,
            client: "users".into(),
            host: "x".into(),
            lb: "-".into(),
            frontend: "-".into(),
            backend: "-".into(),
            server: "-".into(),
            tries: 0,
            status: 0,
            termination: "timeout".into(),
            latency_ms: 0.0,
        }
    }
}
