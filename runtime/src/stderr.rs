//! Lines to stderr in one write each. std writes a formatted line to the
//! unbuffered stderr piece by piece, so the lines of processes sharing it
//! (a master and its workers, one journal) could interleave mid-line.

use std::io::Write;

/// `eprintln!`, written in one piece.
#[macro_export]
macro_rules! eprintln_whole {
    ($($arg:tt)*) => {
        $crate::stderr::write_line(&format!($($arg)*))
    };
}

/// Writes `line` and a newline to stderr in one write.
pub fn write_line(line: &str) {
    let mut whole = String::with_capacity(line.len() + 1);
    whole.push_str(line);
    whole.push('\n');
    write(&whole);
}

/// Writes `text` to stderr in one write.
pub fn write(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
