//! The runtime API's TLS commands, read as haproxy 2.6 reads them:
//! certificate, CA and CRL files created, replaced in a transaction,
//! deleted and shown (`new|set|commit|abort|del|show ssl cert|ca-file|
//! crl-file`), and `crt-list` lines added, deleted and shown. The runtime
//! answers them: the files live there.

use super::CliCommand;
use crate::config::haproxy::CliLevel;

/// What a TLS command is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslFile {
    /// `cert`: a certificate with its chain and key.
    Cert,
    /// `ca-file`: the CAs certificates are checked against.
    CaFile,
    /// `crl-file`: revocation lists.
    CrlFile,
}

impl SslFile {
    /// The command's word for it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Cert => "cert",
            Self::CaFile => "ca-file",
            Self::CrlFile => "crl-file",
        }
    }

    fn of(word: &str) -> Option<Self> {
        [Self::Cert, Self::CaFile, Self::CrlFile]
            .into_iter()
            .find(|k| k.word() == word)
    }
}

/// A TLS command of the runtime API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslCommand {
    /// `show ssl KIND [NAME]`: the files in memory, or one in detail
    /// (`*NAME`: the open transaction's; `NAME:N`, for CA and CRL files:
    /// its Nth certificate or list).
    Show(SslFile, Option<String>),
    /// `new ssl KIND NAME`: an empty file, to fill with `set`.
    New(SslFile, String),
    /// `set ssl KIND NAME <<` with the new contents as payload: opens (or
    /// updates) the transaction.
    Set(SslFile, String, String),
    /// `commit ssl KIND NAME`: the transaction applies.
    Commit(SslFile, String),
    /// `abort ssl KIND NAME`: the transaction is dropped.
    Abort(SslFile, String),
    /// `del ssl KIND NAME`: a file no listener or server uses is dropped.
    Del(SslFile, String),
    /// `show ssl crt-list [-n] [LIST]`: the crt-lists, or one's lines
    /// (`-n`: with their line numbers).
    ShowCrtList {
        /// The list; `None`: every list's name.
        list: Option<String>,
        /// `-n`.
        numbered: bool,
    },
    /// `add ssl crt-list LIST LINE` (or the line as payload).
    AddCrtList {
        /// The crt-list (trailing `/`s dropped, as haproxy does).
        list: String,
        /// The line, as in a crt-list file.
        line: String,
    },
    /// `show ssl ocsp-response [ID]`: the certificate IDs of the OCSP
    /// responses stapled, or one response in detail.
    ShowOcspResponse(Option<String>),
    /// `set ssl ocsp-response <base64>` (or the base64 as payload): the
    /// response replaces the one of the certificate it is about.
    SetOcspResponse(String),
    /// `del ssl crt-list LIST CERT[:LINE]`.
    DelCrtList {
        /// The crt-list (trailing `/`s dropped).
        list: String,
        /// The certificate, with the line number when given.
        cert: String,
    },
}

impl SslCommand {
    /// The level a socket needs for it, as haproxy asks; `set ssl
    /// ocsp-response`, which haproxy lets any level run, needs `admin`
    /// as every other change does.
    pub fn level(&self) -> CliLevel {
        match self {
            Self::ShowOcspResponse(_) => CliLevel::User,
            Self::Show(..) => CliLevel::Operator,
            _ => CliLevel::Admin,
        }
    }
}

/// The command of `words` (and its `payload`) when it is a TLS one.
pub(super) fn parse(words: &[&str], payload: Option<&str>) -> Option<CliCommand> {
    let ["new" | "set" | "commit" | "abort" | "del" | "show" | "add", "ssl", what, rest @ ..] =
        words
    else {
        return None;
    };
    if *what == "crt-list" {
        return Some(crt_list(words[0], rest, payload));
    }
    if *what == "ocsp-response" {
        let given = payload
            .or(rest.first().copied())
            .filter(|b| !b.trim().is_empty());
        let command = match (words[0], given) {
            ("show", _) => SslCommand::ShowOcspResponse(rest.first().map(|k| (*k).to_owned())),
            ("set", Some(base64)) => SslCommand::SetOcspResponse(base64.to_owned()),
            ("set", None) => {
                return Some(CliCommand::Invalid(
                    "'set ssl ocsp-response' expects response in base64 encoding.\n",
                ))
            }
            _ => return None,
        };
        return Some(CliCommand::Ssl(command));
    }
    let kind = SslFile::of(what)?;
    let name = rest.first().map(|n| (*n).to_owned());
    let command = match (words[0], name) {
        ("show", name) => SslCommand::Show(kind, name),
        ("new", Some(name)) => SslCommand::New(kind, name),
        ("set", Some(name)) if payload.is_some() => {
            SslCommand::Set(kind, name, payload.unwrap_or_default().to_owned())
        }
        ("commit", Some(name)) => SslCommand::Commit(kind, name),
        ("abort", Some(name)) => SslCommand::Abort(kind, name),
        ("del", Some(name)) => SslCommand::Del(kind, name),
        (verb, _) => return Some(CliCommand::Invalid(usage(verb, kind)?)),
    };
    Some(CliCommand::Ssl(command))
}

/// haproxy's answer to `VERB ssl KIND` without what it needs.
fn usage(verb: &str, kind: SslFile) -> Option<&'static str> {
    use SslFile::*;
    Some(match (verb, kind) {
        ("new", Cert) => "'new ssl cert' expects a filename\n",
        ("new", CaFile) => "'new ssl ca-file' expects a filename\n",
        ("new", CrlFile) => "'new ssl crl-file' expects a filename\n",
        ("set", Cert) => "'set ssl cert expects a filename and a certificate as a payload\n",
        ("set", CaFile) => "'set ssl ca-file expects a filename and CAs as a payload\n",
        ("set", CrlFile) => "'set ssl crl-file expects a filename and CRLs as a payload\n",
        ("commit", Cert) => "'commit ssl cert expects a filename\n",
        // haproxy 2.6 words both so.
        ("commit", _) => "'commit ssl ca-file expects a filename\n",
        ("abort", Cert) => "'abort ssl cert' expects a filename\n",
        ("abort", CaFile) => "'abort ssl ca-file' expects a filename\n",
        ("abort", CrlFile) => "'abort ssl crl-file' expects a filename\n",
        ("del", Cert) => "'del ssl cert' expects a certificate name\n",
        ("del", CaFile) => "'del ssl ca-file' expects a CA file name\n",
        ("del", CrlFile) => "'del ssl crl-file' expects a CRL file name\n",
        _ => return None,
    })
}

/// `VERB ssl crt-list REST`.
fn crt_list(verb: &str, rest: &[&str], payload: Option<&str>) -> CliCommand {
    let list = |name: &str| name.trim_end_matches('/').to_owned();
    let command = match (verb, rest) {
        ("show", ["-n", name, ..]) => SslCommand::ShowCrtList {
            list: Some(list(name)),
            numbered: true,
        },
        ("show", ["-n"]) => {
            return CliCommand::Invalid(
                "'show ssl crt-list -n' expects a filename or a directory\n",
            )
        }
        ("show", rest) => SslCommand::ShowCrtList {
            list: rest.first().map(|n| list(n)),
            numbered: false,
        },
        ("add", [name]) if payload.is_some() => SslCommand::AddCrtList {
            list: list(name),
            line: payload.unwrap_or_default().to_owned(),
        },
        ("add", [name, line @ ..]) if !line.is_empty() => SslCommand::AddCrtList {
            list: list(name),
            line: line.join(" "),
        },
        ("add", _) => {
            return CliCommand::Invalid(
                "'add ssl crtlist' expects a filename and a certificate name\n",
            )
        }
        ("del", [name, cert]) => SslCommand::DelCrtList {
            list: list(name),
            cert: (*cert).to_owned(),
        },
        ("del", _) => {
            return CliCommand::Invalid(
                "'del ssl crtlist' expects a filename and a certificate name\n",
            )
        }
        _ => return CliCommand::Unknown(format!("{verb} ssl crt-list {}", rest.join(" "))),
    };
    CliCommand::Ssl(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::parse_cli;

    fn one(input: &str) -> CliCommand {
        parse_cli(input).remove(0)
    }

    #[test]
    fn file_commands_name_their_kind_and_file() {
        assert_eq!(
            one("new ssl ca-file new.crt"),
            CliCommand::Ssl(SslCommand::New(SslFile::CaFile, "new.crt".into()))
        );
        assert_eq!(
            one("set ssl crl-file c.pem <<\nPEM\n\n"),
            CliCommand::Ssl(SslCommand::Set(
                SslFile::CrlFile,
                "c.pem".into(),
                "PEM\n\n".into()
            ))
        );
        assert_eq!(
            one("show ssl ca-file *a.crt:2"),
            CliCommand::Ssl(SslCommand::Show(SslFile::CaFile, Some("*a.crt:2".into())))
        );
        assert_eq!(
            one("set ssl cert a.pem"),
            CliCommand::Invalid(
                "'set ssl cert expects a filename and a certificate as a payload\n"
            )
        );
        assert_eq!(
            one("del ssl crl-file"),
            CliCommand::Invalid("'del ssl crl-file' expects a CRL file name\n")
        );
    }

    #[test]
    fn crt_list_commands_drop_trailing_slashes_and_take_a_line() {
        let added = |list: &str, line: &str| {
            CliCommand::Ssl(SslCommand::AddCrtList {
                list: list.into(),
                line: line.into(),
            })
        };
        assert_eq!(
            one("add ssl crt-list /l.crt-list/// <<\n/e.pem [verify none] a !b\n\n"),
            added("/l.crt-list", "/e.pem [verify none] a !b\n\n")
        );
        assert_eq!(
            one("add ssl crt-list /l.crt-list// /e.pem"),
            added("/l.crt-list", "/e.pem")
        );
        assert_eq!(
            one("show ssl crt-list -n /l//"),
            CliCommand::Ssl(SslCommand::ShowCrtList {
                list: Some("/l".into()),
                numbered: true
            })
        );
        assert_eq!(
            one("del ssl crt-list /l /c.pem:2"),
            CliCommand::Ssl(SslCommand::DelCrtList {
                list: "/l".into(),
                cert: "/c.pem:2".into()
            })
        );
        assert_eq!(
            one("del ssl crt-list /l").level(),
            CliLevel::User,
            "an invalid command needs no level"
        );
        assert_eq!(
            SslCommand::Del(SslFile::Cert, "x".into()).level(),
            CliLevel::Admin
        );
    }
}
