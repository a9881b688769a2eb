//! `requests.csv`: the sampled requests in order of their start. The rows
//! are kept in memory, or streamed to a writer as the run goes so a long
//! run's memory stays flat: a row is written once no request still in
//! flight can sort before it.

use crate::record::RequestRow;
use haven_core::time::Instant;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};

/// Pending rows that make a streamed log write them out.
const FLUSH_AT: usize = 4096;

/// The header line.
const HEADER: &str =
    "start,client,host,lb,frontend,backend,server,tries,status,termination,latency_ms\n";

/// The sampled requests of a run.
#[derive(Default)]
pub(crate) struct RequestLog {
    /// Rows not written yet, by start, then in the order they ended.
    pending: BTreeMap<(Instant, u64), RequestRow>,
    ended: u64,
    sink: Option<Sink>,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("pending", &self.pending.len())
            .field("streamed", &self.sink.is_some())
            .finish()
    }
}

/// Where a streamed log goes.
struct Sink {
    out: BufWriter<Box<dyn Write>>,
    header_written: bool,
    /// The first write error; the rest is not written.
    error: Option<io::Error>,
}

impl RequestLog {
    /// From now on, rows go to `out` (the header first) instead of memory.
    pub(crate) fn stream_to(&mut self, out: Box<dyn Write>) {
        self.sink = Some(Sink {
            out: BufWriter::new(out),
            header_written: false,
            error: None,
        });
    }

    /// True when rows go to a writer.
    pub(crate) fn streamed(&self) -> bool {
        self.sink.is_some()
    }

    /// A request that ended.
    pub(crate) fn push(&mut self, row: RequestRow) {
        self.pending.insert((row.start, self.ended), row);
        self.ended += 1;
    }

    /// True when a streamed log holds enough rows to write some.
    pub(crate) fn wants_flush(&self) -> bool {
        self.streamed() && self.pending.len() >= FLUSH_AT
    }

    /// Writes every pending row that started at or before `oldest`, the
    /// start of the oldest request still in flight (or now): any request
    /// that ends later sorts after them.
    pub(crate) fn flush(&mut self, oldest: Instant) {
        let Some(sink) = &mut self.sink else { return };
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > oldest {
                break;
            }
            sink.write(&line(&entry.remove()));
        }
    }

    /// Writes what is left of a streamed log; its first write error.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        let Some(sink) = &mut self.sink else {
            return Ok(());
        };
        for row in std::mem::take(&mut self.pending).into_values() {
            sink.write(&line(&row));
        }
        if sink.error.is_none() {
            if let Err(e) = sink.out.flush() {
                sink.error = Some(e);
            }
        }
        sink.error.take().map_or(Ok(()), Err)
    }

    /// The whole file, from memory (a log that was not streamed).
    pub(crate) fn csv(&self) -> String {
        let mut out = String::from(HEADER);
        for row in self.pending.values() {
            out.push_str(&line(row));
        }
        out
    }
}

impl Sink {
    fn write(&mut self, line: &str) {
        if self.error.is_some() {
            return;
        }
        let header = if self.header_written { "" } else { HEADER };
        self.header_written = true;
        let written = self
            .out
            .write_all(header.as_bytes())
            .and_then(|()| self.out.write_all(line.as_bytes()));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
}

/// One row as a CSV line.
fn line(r: &RequestRow) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "{},{},{},{},{},{},{},{},{},{},{:.3}\n",
        r.start,
        r.client,
        r.host,
        opt(&r.lb),
        opt(&r.frontend),
        opt(&r.backend),
        opt(&r.server),
        r.tries,
        r.status,
        r.termination,
        r.latency.as_nanos() as f64 / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_core::time::Duration;
    use std::sync::{Arc, Mutex};

    fn row(start_ms: u64, client: &str) -> RequestRow {
        RequestRow {
            start: Instant::ZERO + Duration::from_millis(start_ms),
            client: client.into(),
            host: "h".into(),
            lb: None,
            frontend: None,
            backend: None,
            server: None,
            tries: 1,
            status: 200,
            termination: "--".into(),
            latency: Duration::from_millis(1),
        }
    }

    /// A writer whose bytes can be read after it is handed over.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_log_writes_the_same_file_as_one_kept_in_memory() {
        let mut memory = RequestLog::default();
        let mut streamed = RequestLog::default();
        let out = Shared::default();
        streamed.stream_to(Box::new(out.clone()));
        for r in [row(5, "a"), row(3, "b"), row(5, "c")] {
            memory.push(r.clone());
            streamed.push(r);
        }
        // The oldest request in flight started at 5 ms: all three can go.
        streamed.flush(Instant::ZERO + Duration::from_millis(5));
        assert!(streamed.pending.is_empty());
        for r in [row(9, "d"), row(7, "e")] {
            memory.push(r.clone());
            streamed.push(r);
        }
        streamed.flush(Instant::ZERO + Duration::from_millis(8));
        assert_eq!(
            streamed.pending.len(),
            1,
            "d may still have a request before it"
        );
        streamed.close().expect("written");
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(text, memory.csv());
        let clients: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).expect("client"))
            .collect();
        assert_eq!(
            clients,
            ["b", "a", "c", "e", "d"],
            "by start, ties in the order they ended"
        );
    }
}
