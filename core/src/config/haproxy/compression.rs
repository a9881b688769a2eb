//! `compression algo|type|offload`: which responses haproxy compresses,
//! read as haproxy 2.6 reads them.

use serde::Serialize;

/// A compression algorithm of `compression algo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompAlgo {
    /// No compression: the body is only re-framed as chunks.
    Identity,
    /// zlib-wrapped deflate (RFC 1950), announced as `deflate`.
    Deflate,
    /// Bare deflate (RFC 1951), announced as `deflate`.
    RawDeflate,
    /// gzip (RFC 1952).
    Gzip,
}

impl CompAlgo {
    /// The algorithm `compression algo` names `name`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "identity" => Some(Self::Identity),
            "deflate" => Some(Self::Deflate),
            "raw-deflate" => Some(Self::RawDeflate),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }

    /// Its token in `Accept-Encoding` and `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Deflate | Self::RawDeflate => "deflate",
            Self::Gzip => "gzip",
        }
    }
}

/// A proxy's `compression` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Compression {
    /// `compression algo`, in the order haproxy tries them: the last
    /// named first.
    pub algos: Vec<CompAlgo>,
    /// `compression type`: the content types compressed (any, when
    /// empty), compared by prefix and case.
    pub types: Vec<String>,
    /// `compression offload`: the request goes to the server without its
    /// `Accept-Encoding`.
    pub offload: bool,
}

/// Reads the words after `compression` into `comp`: what is wrong, in
/// haproxy's words (`Err`; `place` is the line's `file:line`, which one of
/// them repeats), or worth a warning (`Ok(Some)`).
pub(crate) fn read_line(
    comp: &mut Compression,
    args: &[&str],
    (in_defaults, place): (bool, &str),
) -> Result<Option<String>, String> {
    match args.first().copied() {
        Some("algo") => {
            if args.len() < 2 {
                return Err(format!(
                    "parsing [{place}] : 'compression' expects <algorithm>."
                ));
            }
            for name in &args[1..] {
                let Some(algo) = CompAlgo::named(name) else {
                    return Err(format!(
                        "'compression' : '{name}' is not a supported algorithm."
                    ));
                };
                comp.algos.insert(0, algo);
            }
            Ok(None)
        }
        Some("type") => {
            if args.len() < 2 {
                return Err("'compression' expects <type>.".into());
            }
            for t in &args[1..] {
                comp.types.insert(0, (*t).to_owned());
            }
            Ok(None)
        }
        Some("offload") if in_defaults => Ok(Some(
            "'compression' : 'offload' ignored in 'defaults' section.".into(),
        )),
        Some("offload") => {
            comp.offload = true;
            Ok(None)
        }
        _ => Err("'compression' expects 'algo', 'type' or 'offload'".into()),
    }
}
