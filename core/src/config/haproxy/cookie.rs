//! `cookie <name> [rewrite|insert|prefix] [indirect] ...`: persistence by
//! cookie, with haproxy 2.6's options and error texts.

use super::lexer::Word;
use super::parser::Parser;
use crate::config::Form;
use serde::Serialize;

/// How the persistence cookie reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CookieMode {
    /// The application sets the cookie; haproxy only reads it.
    #[default]
    Passive,
    /// haproxy adds a `Set-Cookie` naming the server.
    Insert,
    /// haproxy replaces the value of the application's cookie.
    Rewrite,
    /// haproxy prefixes the application's cookie with the server's value
    /// and `~`.
    Prefix,
}

/// A backend's `cookie` line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CookiePersistence {
    /// The cookie's name.
    pub name: String,
    /// `insert`, `rewrite`, `prefix` or none of them.
    pub mode: CookieMode,
    /// `indirect`: the cookie is not passed to the server, nor set again
    /// for a client that already has it.
    pub indirect: bool,
    /// `nocache`: a cacheable response that sets the cookie is marked
    /// `Cache-control: private`.
    pub nocache: bool,
    /// `postonly`: inserted on answers to POST only.
    pub postonly: bool,
    /// `preserve`: a cookie the server sets itself is left alone.
    pub preserve: bool,
    /// `httponly`.
    pub httponly: bool,
    /// `secure`.
    pub secure: bool,
    /// `domain` values, in order.
    pub domains: Vec<String>,
    /// `attr` values, in order.
    pub attrs: Vec<String>,
}

impl Parser<'_> {
    /// Reads a `cookie` line; `None` after an error (reported).
    pub(super) fn cookie_persistence(&mut self, words: &[Word]) -> Option<CookiePersistence> {
        let col = words[0].col;
        let Some(name) = words.get(1) else {
            let msg = "'cookie' expects <cookie_name> as argument.";
            self.error(Form::Parsing, col, msg.into());
            return None;
        };
        let mut c = CookiePersistence {
            name: name.text.clone(),
            ..CookiePersistence::default()
        };
        let mut conflict = false;
        let mut rest = words[2..].iter();
        while let Some(w) = rest.next() {
            let arg = |rest: &mut std::slice::Iter<'_, Word>| rest.next().map(|a| a.text.clone());
            match w.text.as_str() {
                "rewrite" | "insert" | "prefix" => {
                    let mode = match w.text.as_str() {
                        "rewrite" => CookieMode::Rewrite,
                        "insert" => CookieMode::Insert,
                        _ => CookieMode::Prefix,
                    };
                    conflict |= c.mode != CookieMode::Passive && c.mode != mode;
                    c.mode = mode;
                }
                "indirect" => c.indirect = true,
                "nocache" => c.nocache = true,
                "postonly" => c.postonly = true,
                "preserve" => c.preserve = true,
                "httponly" => c.httponly = true,
                "secure" => c.secure = true,
                "domain" => {
                    let Some(d) = arg(&mut rest) else {
                        let msg = "'domain' expects <domain> as argument.";
                        self.error(Form::ParsingTight, w.col, msg.into());
                        return None;
                    };
                    if !d.contains('.') {
                        let msg = format!("domain '{d}' contains no embedded dot, this configuration may not work properly (see RFC6265#5.2.3).");
                        self.warn(Form::ParsingTight, w.col, msg);
                    }
                    c.domains.push(d);
                }
                "attr" => {
                    let Some(a) = arg(&mut rest) else {
                        let msg = "'attr' expects <value> as argument.";
                        self.error(Form::ParsingTight, w.col, msg.into());
                        return None;
                    };
                    if let Some(bad) = a.bytes().find(|b| b.is_ascii_control() || *b == b';') {
                        let msg =
                            format!("character '%x{bad:02X}' is not permitted in attribute value.");
                        self.error(Form::ParsingTight, w.col, msg);
                        return None;
                    }
                    c.attrs.push(a);
                }
                "maxidle" | "maxlife" => {
                    let what = format!("cookie {}", w.text);
                    self.not_supported(w.col, &what);
                    if arg(&mut rest).is_none() {
                        let msg = format!("'{}' expects <time> in seconds as argument.", w.text);
                        self.error(Form::ParsingTight, w.col, msg);
                        return None;
                    }
                }
                "dynamic" => self.not_supported(w.col, "cookie dynamic"),
                _ => {
                    let msg = "'cookie' supports 'rewrite', 'insert', 'prefix', 'indirect', 'nocache', 'postonly', 'domain', 'maxidle', 'dynamic', 'maxlife' and 'attr' options.";
                    self.error(Form::Parsing, col, msg.into());
                    return None;
                }
            }
        }
        if c.mode == CookieMode::Rewrite && c.indirect {
            let msg = "cookie 'rewrite' and 'indirect' modes are incompatible.";
            self.error(Form::Parsing, col, msg.into());
        }
        if conflict {
            let msg = "cookie 'rewrite', 'insert' and 'prefix' modes are incompatible.";
            self.error(Form::Parsing, col, msg.into());
        }
        if c.preserve && c.mode != CookieMode::Insert && !c.indirect {
            let msg = "cookie 'preserve' requires at least 'insert' or 'indirect'.";
            self.error(Form::Parsing, col, msg.into());
        }
        Some(c)
    }
}
