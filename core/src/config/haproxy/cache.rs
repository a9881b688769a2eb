//! `cache` sections: the HTTP caches `http-request cache-use` looks in
//! and `http-response cache-store` fills, read with haproxy 2.6's
//! defaults, limits and messages.

use super::lexer::Word;
use super::parser::{Parser, Section};
use crate::config::Form;
use serde::Serialize;

/// haproxy's cache block size: sizes are counted in blocks of this many
/// bytes.
const BLOCK: u64 = 1024;

/// The largest `total-max-size`, in megabytes.
const MAX_TOTAL_MB: u64 = (u32::MAX >> 20) as u64;

/// One `cache` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheSection {
    /// Its name (at most 32 characters, as haproxy keeps).
    pub name: String,
    /// `total-max-size`, in bytes.
    pub total: u64,
    /// `max-object-size`, in bytes (a 256th of the total by default).
    pub max_object: u64,
    /// `max-age`, in seconds: the longest an object stays (60 by
    /// default).
    pub max_age: u32,
    /// `process-vary on`: responses with a `Vary` on the headers haproxy
    /// knows are kept per variant; off, they are not kept.
    pub process_vary: bool,
    /// `max-secondary-entries`: variants kept per URI (10 by default).
    pub max_secondary: u32,
}

impl CacheSection {
    fn new(name: String) -> Self {
        Self {
            name,
            total: 0,
            max_object: 0,
            max_age: 60,
            process_vary: false,
            max_secondary: 10,
        }
    }
}

impl Parser<'_> {
    /// `cache <name>`: opens the section.
    pub(super) fn open_cache(&mut self, words: &[Word]) {
        let col = words[0].col;
        let Some(name) = words.get(1) else {
            self.section = Section::Skipped;
            let msg = "'cache' expects a <name> argument".to_owned();
            return self.error(Form::Parsing, col, msg);
        };
        if let Some(extra) = words.get(2) {
            self.section = Section::Skipped;
            let msg = format!(
                "'cache' cannot handle unexpected argument '{}'.",
                extra.text
            );
            return self.error(Form::Parsing, extra.col, msg);
        }
        let kept: String = name.text.chars().take(32).collect();
        if kept.len() < name.text.len() {
            let msg = format!("cache name is limited to 32 characters, truncate to '{kept}'.");
            self.warn(Form::ParsingTight, name.col, msg);
        }
        if self.caches.iter().any(|c| c.name == kept) {
            self.section = Section::Skipped;
            let msg = format!("Duplicate cache name '{kept}'.");
            return self.error(Form::ParsingTight, name.col, msg);
        }
        self.caches.push(CacheSection::new(kept));
        self.section = Section::Cache(self.caches.len() - 1);
    }

    /// A line of cache section `index`.
    pub(super) fn cache_keyword(&mut self, index: usize, words: &[Word]) {
        let kw = words[0].text.as_str();
        let col = words[0].col;
        if !matches!(
            kw,
            "total-max-size"
                | "max-age"
                | "max-object-size"
                | "process-vary"
                | "max-secondary-entries"
        ) {
            let msg = format!("unknown keyword '{kw}' in 'cache' section");
            return self.error(Form::Parsing, col, msg);
        }
        if let Some(extra) = words.get(2) {
            let msg = format!("'{kw}' cannot handle unexpected argument '{}'.", extra.text);
            return self.error(Form::Parsing, extra.col, msg);
        }
        let arg = words.get(1).map_or("", |w| w.text.as_str());
        // haproxy warns of these and stops reading the file: haven says
        // the same words and refuses it.
        let wrong = |what: &str| format!("{what} wrong value '{arg}'");
        let cache = &mut self.caches[index];
        let problem = match kw {
            "total-max-size" => match arg.parse::<u64>() {
                Ok(mb) if mb > MAX_TOTAL_MB => Some(format!(
                    "\"total-max-size\" ({arg}) must not be greater than {MAX_TOTAL_MB}"
                )),
                Ok(mb) => {
                    cache.total = mb * 1024 * 1024;
                    None
                }
                Err(_) => Some(wrong("total-max-size")),
            },
            "max-object-size" => match arg.parse::<u32>() {
                Ok(n) => {
                    cache.max_object = u64::from(n);
                    None
                }
                Err(_) => Some(wrong("max-object-size")),
            },
            "max-secondary-entries" => match arg.parse::<u32>() {
                Ok(n) if n > 0 => {
                    cache.max_secondary = n;
                    None
                }
                _ => Some(wrong("max-secondary-entries")),
            },
            "max-age" => {
                cache.max_age = leading_number(arg);
                if arg.is_empty() {
                    let msg = "'max-age' expects an age parameter in seconds.".to_owned();
                    self.warn(Form::ParsingTight, col, msg);
                }
                None
            }
            _ => {
                match arg {
                    "on" => cache.process_vary = true,
                    "off" => cache.process_vary = false,
                    _ => {
                        let msg = "'process-vary' expects \"on\" or \"off\" (enable or disable vary processing).";
                        self.warn(Form::ParsingTight, col, msg.to_owned());
                    }
                }
                None
            }
        };
        if let Some(msg) = problem {
            self.error(Form::ParsingTight, col, msg);
        }
    }

    /// The end of a cache section (another section opens, or the file
    /// ends): haproxy's checks of its sizes, and its default object size.
    pub(super) fn close_cache(&mut self) {
        let Section::Cache(index) = self.section else {
            return;
        };
        self.section = Section::Skipped;
        let cache = &mut self.caches[index];
        let problem = if cache.total == 0 {
            Some(format!("Size not specified for cache '{}'", cache.name))
        } else if cache.max_object == 0 {
            cache.max_object = cache.total >> 8;
            None
        } else if cache.max_object > cache.total / 2 {
            Some(format!(
                "\"max-object-size\" is limited to an half of \"total-max-size\" => {}",
                cache.total / BLOCK * BLOCK / 2
            ))
        } else {
            None
        };
        if let Some(msg) = problem {
            self.caches.remove(index);
            self.error(Form::Unplaced, 0, msg);
        }
    }
}

/// The number at the start of `text`, as C's `atoi` reads it (0 when
/// there is none).
fn leading_number(text: &str) -> u32 {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text[..digits].parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use crate::config::haproxy::{parse, ParseOptions};

    fn messages(text: &str) -> Vec<String> {
        let parsed = parse(&[("c.cfg", text)], &ParseOptions::default());
        parsed.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn a_cache_section_takes_haproxy_defaults() {
        let text = "cache c\n  total-max-size 4\n  process-vary on\n";
        let parsed = parse(&[("c.cfg", text)], &ParseOptions::default());
        let cfg = parsed.config.expect("valid");
        let c = &cfg.caches[0];
        assert_eq!((c.total, c.max_object, c.max_age), (4 << 20, 16_384, 60));
        assert!(c.process_vary);
        assert_eq!(c.max_secondary, 10);
    }

    #[test]
    fn cache_sections_are_checked_as_haproxy_checks_them() {
        let text = "cache a\n  total-max-size 3\n  max-object-size 3000000\ncache b\n  max-age 5\ncache c\n  total-max-size 2\n  foo 1\n  total-max-size 5000\ncache c\n";
        assert_eq!(
            messages(text),
            [
                "\"max-object-size\" is limited to an half of \"total-max-size\" => 1572864",
                "Size not specified for cache 'b'",
                "parsing [c.cfg:8] : unknown keyword 'foo' in 'cache' section",
                "parsing [c.cfg:9]: \"total-max-size\" (5000) must not be greater than 4095",
                "parsing [c.cfg:10]: Duplicate cache name 'c'.",
            ]
        );
    }
}
