//! `sweep.csv`: one row per run of a parameter sweep, and the merge of
//! shards (`sweep-I-of-N.csv`, written by separate processes or machines)
//! into the file one unsharded sweep would have written.
//!
//! Columns: `run` (the run's index in the whole sweep), one column per
//! parameter, `seed`, then the figures. Times are seconds with six
//! decimals; an empty cell means "did not happen" (no VIP move, no traffic).

use std::path::{Path, PathBuf};

/// The figures after the parameter columns, in order.
const FIGURES: [&str; 8] = [
    "seed",
    "detection_s",
    "vip_move_s",
    "client_downtime_s",
    "failed_requests",
    "p99_ms",
    "two_masters_s",
    "passed",
];

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepRow {
    /// Index in the whole sweep: combination × seeds + seed index.
    pub run: u64,
    /// Parameter values, in the sweep's parameter order.
    pub values: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// First fault to the first log line it caused (s).
    pub detection_s: Option<f64>,
    /// First fault to the next VIP move (s).
    pub vip_move_s: Option<f64>,
    /// Client-visible downtime summed over faults (s).
    pub client_downtime_s: f64,
    /// Failed requests.
    pub failed_requests: u64,
    /// p99 latency of answered requests (ms).
    pub p99_ms: Option<f64>,
    /// Time with two MASTERs of one instance (s).
    pub two_masters_s: f64,
    /// Every expectation held.
    pub passed: bool,
}

/// A sweep: parameter names and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Parameter names, in `--set` order.
    pub params: Vec<String>,
    /// Rows in `run` order.
    pub rows: Vec<SweepRow>,
}

/// Why a sweep file cannot be read or merged.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Not valid CSV.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// What.
        source: csv::Error,
    },
    /// A row or header that is not a sweep's.
    #[error("{path}:{line}: {msg}")]
    Bad {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What.
        msg: String,
    },
    /// Shards that do not make one sweep.
    #[error("{0}")]
    Shards(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.6}"))
}

impl Sweep {
    /// The CSV text.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("run");
        for p in self.params.iter().map(String::as_str).chain(FIGURES) {
            out.push(',');
            out.push_str(&csv_field(p));
        }
        out.push('\n');
        for r in &self.rows {
            out.push_str(&r.run.to_string());
            for v in &r.values {
                out.push(',');
                out.push_str(&csv_field(v));
            }
            out.push_str(&format!(
                ",{},{},{},{:.6},{},{},{:.6},{}\n",
                r.seed,
                opt(r.detection_s),
                opt(r.vip_move_s),
                r.client_downtime_s,
                r.failed_requests,
                opt(r.p99_ms),
                r.two_masters_s,
                r.passed
            ));
        }
        out
    }

    /// Reads CSV `text`; `path` names it in errors.
    pub fn from_csv(path: &str, text: &str) -> Result<Self, SweepError> {
        let csv_err = |source| SweepError::Csv {
            path: path.to_owned(),
            source,
        };
        let bad = |line: u64, msg: String| SweepError::Bad {
            path: path.to_owned(),
            line,
            msg,
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_owned)
            .collect();
        let n = header.len();
        if n < 1 + FIGURES.len() || header[0] != "run" || header[n - FIGURES.len()..] != FIGURES {
            return Err(bad(
                1,
                format!(
                    "not a sweep header: expected run,PARAM...,{}",
                    FIGURES.join(",")
                ),
            ));
        }
        let params = header[1..n - FIGURES.len()].to_vec();
        let mut rows = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map_or(0, csv::Position::line);
            let f = |i: usize| rec.get(i).unwrap_or("");
            let num = |i: usize| -> Result<Option<f64>, SweepError> {
                match f(i) {
                    "" => Ok(None),
                    s => s
                        .parse()
                        .map(Some)
                        .map_err(|_| bad(line, format!("{}: '{s}' is not a number", header[i]))),
                }
            };
            let int = |i: usize| -> Result<u64, SweepError> {
                f(i).parse().map_err(|_| {
                    bad(
                        line,
                        format!("{}: '{}' is not a whole number", header[i], f(i)),
                    )
                })
            };
            let k = 1 + params.len();
            rows.push(SweepRow {
                run: int(0)?,
                values: (1..k).map(|i| f(i).to_owned()).collect(),
                seed: int(k)?,
                detection_s: num(k + 1)?,
                vip_move_s: num(k + 2)?,
                client_downtime_s: num(k + 3)?.unwrap_or(0.0),
                failed_requests: int(k + 4)?,
                p99_ms: num(k + 5)?,
                two_masters_s: num(k + 6)?.unwrap_or(0.0),
                passed: f(k + 7).parse().map_err(|_| {
                    bad(line, format!("passed: '{}' is not true or false", f(k + 7)))
                })?,
            });
        }
        Ok(Self { params, rows })
    }

    /// The distinct parameter combinations, in run order, with their rows.
    pub fn combinations(&self) -> Vec<(Vec<String>, Vec<&SweepRow>)> {
        let mut out: Vec<(Vec<String>, Vec<&SweepRow>)> = Vec::new();
        for r in &self.rows {
            match out.iter_mut().find(|(v, _)| *v == r.values) {
                Some((_, rows)) => rows.push(r),
                None => out.push((r.values.clone(), vec![r])),
            }
        }
        out
    }

    /// `advert_int=1 fall=2` for a combination's values.
    pub fn label(&self, values: &[String]) -> String {
        let parts: Vec<String> = self
            .params
            .iter()
            .zip(values)
            .map(|(p, v)| format!("{p}={v}"))
            .collect();
        parts.join(" ")
    }
}

/// Quotes a field when CSV needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The shard file of shard `index` (1-based) of `count`.
pub fn shard_file(index: u32, count: u32) -> String {
    format!("sweep-{index}-of-{count}.csv")
}

/// Reads `dir`'s sweep: merges shard files into `sweep.csv` when there are
/// any (all of 1..=N must be there, with one header), else reads
/// `sweep.csv`. `None` when the directory holds no sweep.
pub fn load_sweep(dir: &Path) -> Result<Option<Sweep>, SweepError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SweepError::Io { path, source }
    };
    let mut shards: Vec<(u32, u32, PathBuf)> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let (i, n) = name
                .strip_prefix("sweep-")?
                .strip_suffix(".csv")?
                .split_once("-of-")?;
            Some((i.parse().ok()?, n.parse().ok()?, p))
        })
        .collect();
    let whole = dir.join("sweep.csv");
    if shards.is_empty() {
        if !whole.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&whole).map_err(io(&whole))?;
        return Sweep::from_csv(&whole.display().to_string(), &text).map(Some);
    }
    shards.sort();
    let count = shards[0].1;
    let found: Vec<u32> = shards.iter().map(|s| s.0).collect();
    if shards.iter().any(|s| s.1 != count) || found != (1..=count).collect::<Vec<_>>() {
        let names: Vec<String> = shards.iter().map(|s| shard_file(s.0, s.1)).collect();
        return Err(SweepError::Shards(format!(
            "{}: shards {} do not make one sweep of {count}",
            dir.display(),
            names.join(", ")
        )));
    }
    let mut merged: Option<Sweep> = None;
    for (_, _, path) in &shards {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let part = Sweep::from_csv(&path.display().to_string(), &text)?;
        match &mut merged {
            None => merged = Some(part),
            Some(m) if m.params == part.params => m.rows.extend(part.rows),
            Some(_) => {
                return Err(SweepError::Shards(format!(
                    "{}: its parameters differ from the other shards'",
                    path.display()
                )))
            }
        }
    }
    let mut sweep = merged.unwrap_or(Sweep {
        params: Vec::new(),
        rows: Vec::new(),
    });
    sweep.rows.sort_by_key(|r| r.run);
    if let Some(w) = sweep.rows.windows(2).find(|w| w[0].run == w[1].run) {
        return Err(SweepError::Shards(format!(
            "run {} appears in two shards",
            w[0].run
        )));
    }
    std::fs::write(&whole, sweep.to_csv()).map_err(io(&whole))?;
    Ok(Some(sweep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(run: u64, values: &[&str]) -> SweepRow {
        SweepRow {
            run,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            seed: run + 1,
            detection_s: Some(0.501),
            vip_move_s: None,
            client_downtime_s: 6.791155,
            failed_requests: 27,
            p99_ms: Some(9.679),
            two_masters_s: 0.0,
            passed: run % 2 == 0,
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let sweep = Sweep {
            params: vec!["advert_int".into(), "haproxy.fall".into()],
            rows: vec![
                row(0, &["1", "2"]),
                row(1, &["1", "3"]),
                row(2, &["2", "2"]),
            ],
        };
        let text = sweep.to_csv();
        assert!(text.starts_with(
            "run,advert_int,haproxy.fall,seed,detection_s,vip_move_s,client_downtime_s,failed_requests,p99_ms,two_masters_s,passed\n0,1,2,1,0.501000,,6.791155,27,9.679000,0.000000,true\n"
        ));
        let back = Sweep::from_csv("sweep.csv", &text).expect("reads");
        assert_eq!(back, sweep);
        assert_eq!(back.to_csv(), text);
        assert_eq!(back.combinations().len(), 3);
        assert_eq!(
            back.label(&back.rows[1].values),
            "advert_int=1 haproxy.fall=3"
        );
    }

    #[test]
    fn bad_rows_name_file_line_and_column() {
        let err = Sweep::from_csv("s.csv", "run,a,seed\n").expect_err("short header");
        assert!(
            err.to_string().starts_with("s.csv:1: not a sweep header"),
            "{err}"
        );
        let good = Sweep {
            params: vec!["a".into()],
            rows: vec![row(0, &["1"])],
        }
        .to_csv();
        let broken = good.replace(",27,", ",many,");
        let err = Sweep::from_csv("s.csv", &broken).expect_err("bad count");
        assert_eq!(
            err.to_string(),
            "s.csv:2: failed_requests: 'many' is not a whole number"
        );
    }
}
