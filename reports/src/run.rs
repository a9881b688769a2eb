//! A run directory as `haven sim` writes it: summary, timeline, requests,
//! per-host logs and the scenario text.

use crate::schema::{read, RequestRecord, TimelineRecord};
use crate::sweep::SweepRow;
use std::path::{Path, PathBuf};

/// Why a run directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV file is malformed.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What.
        source: csv::Error,
    },
    /// summary.json is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What.
        source: serde_json::Error,
    },
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Run {
    /// `summary.json`.
    pub summary: serde_json::Value,
    /// `timeline.csv`.
    pub timeline: Vec<TimelineRecord>,
    /// `requests.csv` (empty without traffic).
    pub requests: Vec<RequestRecord>,
    /// Each host's log: (host, text).
    pub logs: Vec<(String, String)>,
    /// The scenario file, when the run kept a copy.
    pub scenario: Option<String>,
}

fn text(path: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(path).map_err(|source| RunError::Io {
        path: path.to_owned(),
        source,
    })
}

impl Run {
    /// Reads run directory `dir`.
    pub fn load(dir: &Path) -> Result<Self, RunError> {
        let p = dir.join("summary.json");
        let summary = serde_json::from_str(&text(&p)?)
            .map_err(|source| RunError::Json { path: p, source })?;
        let p = dir.join("timeline.csv");
        let timeline = read(&text(&p)?).map_err(|source| RunError::Csv { path: p, source })?;
        let p = dir.join("requests.csv");
        let requests = if p.exists() {
            read(&text(&p)?).map_err(|source| RunError::Csv { path: p, source })?
        } else {
            Vec::new()
        };
        let mut logs = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| RunError::Io {
                path: dir.to_owned(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        entries.sort();
        for p in entries {
            let host = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            logs.push((host, text(&p)?));
        }
        let scenario = text(&dir.join("scenario.toml")).ok();
        Ok(Self {
            summary,
            timeline,
            requests,
            logs,
            scenario,
        })
    }

    /// The run's length: the scenario's duration, or for a run written
    /// before summaries held it, the last timeline or request time.
    pub fn end(&self) -> f64 {
        if let Some(d) = self.summary["duration"].as_f64().filter(|d| *d > 0.0) {
            return d;
        }
        let t = self.timeline.iter().map(|r| r.time).fold(0.0, f64::max);
        let r = self
            .requests
            .iter()
            .map(|r| r.start + r.latency_ms / 1e3)
            .fold(0.0, f64::max);
        t.max(r).max(1.0)
    }

    /// The run's figures as a sweep row (run `run`, parameter values
    /// `values`): from its first fault, the detection and the VIP move;
    /// downtime and failed requests over all faults.
    pub fn as_row(&self, run: u64, values: Vec<String>) -> SweepRow {
        let s = &self.summary;
        let failovers = s["failovers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let first = failovers.first();
        let since = |key: &str| Some(first?[key].as_f64()? - first?["at"].as_f64()?);
        let sum = |key: &str| {
            failovers
                .iter()
                .filter_map(|f| f[key].as_f64())
                .fold(0.0, |a, b| a + b)
        };
        let expectations = s["expectations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        SweepRow {
            run,
            values,
            seed: s["seed"].as_u64().unwrap_or_default(),
            detection_s: since("detected"),
            vip_move_s: since("vip_moved"),
            client_downtime_s: sum("client_downtime"),
            failed_requests: s["latency"]["failed"].as_u64().unwrap_or_default(),
            p99_ms: s["latency"]["p99_ms"].as_f64(),
            two_masters_s: s["two_masters"].as_f64().unwrap_or_default(),
            passed: expectations
                .iter()
                .all(|e| e["passed"].as_bool() == Some(true)),
        }
    }

    /// Faults: (time, label); faults at the same instant share one label
    /// ("stop keepalived, start keepalived").
    pub fn faults(&self) -> Vec<(f64, String)> {
        let mut out: Vec<(f64, String)> = Vec::new();
        for r in self.timeline.iter().filter(|r| r.event == "action") {
            match out.last_mut() {
                Some((t, label)) if *t == r.time => {
                    label.push_str(", ");
                    label.push_str(&r.detail);
                }
                _ => out.push((r.time, r.detail.clone())),
            }
        }
        out
    }

    /// VIP moves: (time, instance, new owner), from `vip_add` events.
    pub fn vip_moves(&self) -> Vec<(f64, String, String)> {
        self.timeline
            .iter()
            .filter(|r| r.event == "vip_add")
            .map(|r| (r.time, r.instance.clone(), r.host.clone()))
            .collect()
    }

    /// Failover windows: from each fault to the next VIP move it caused.
    pub fn failover_windows(&self) -> Vec<(f64, f64)> {
        // Seconds; runs written before they were numbers hold their text.
        let num = |v: &serde_json::Value| v.as_f64().or_else(|| v.as_str()?.parse().ok());
        self.summary["failovers"]
            .as_array()
            .map(|fs| {
                fs.iter()
                    .filter_map(|f| Some((num(&f["at"])?, num(&f["vip_moved"])?)))
                    .collect()
            })
            .unwrap_or_default()
    }
}
