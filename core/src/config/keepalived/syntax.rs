//! keepalived.conf syntax: tokens, `!` / `#` comments, `"quoted strings"`,
//! braces (even glued to words), `include` with globs through the caller's
//! [`SourceLoader`], `@id` conditional lines, `$NAME=value` definitions
//! with `$NAME` / `${NAME}` substitution, and the block tree built from
//! them.

use crate::config::{Diagnostic, Diagnostics, Form, Severity, SourceLoader};
use std::collections::BTreeMap;

/// Deepest include nesting followed (keepalived stops at 32 too).
const MAX_INCLUDE_DEPTH: usize = 32;

/// One token with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// The text, quotes removed.
    pub(crate) text: String,
    /// Source file name.
    pub(crate) file: String,
    /// 1-based line.
    pub(crate) line: u32,
    /// 1-based column.
    pub(crate) col: u32,
    /// The token was quoted (so `{` or `}` inside is not a brace).
    pub(crate) quoted: bool,
}

impl Token {
    fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }
}

/// A statement: a keyword, its arguments and, when followed by `{`, a block.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The first token.
    pub(crate) key: Token,
    /// The rest of the line.
    pub(crate) args: Vec<Token>,
    /// The `{ ... }` block, if any.
    pub(crate) block: Option<Vec<Self>>,
    /// The `}` closing the block (keepalived reports end-of-block checks
    /// there).
    pub(crate) end: Option<Token>,
}

impl Node {
    /// Where end-of-block problems are reported: the closing brace, else
    /// the keyword.
    pub(crate) fn end_or_key(&self) -> &Token {
        self.end.as_ref().unwrap_or(&self.key)
    }
}

/// Tokenises `text` (file `name`), following includes, into lines of tokens.
pub(crate) fn tokenize(
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
    diags: &mut Diagnostics,
) -> Vec<Vec<Token>> {
    let mut lx = Lexer {
        loader,
        diags,
        defs: BTreeMap::new(),
        out: Vec::new(),
    };
    lx.file(name, text, 0);
    lx.out
}

/// Tokenising state shared across included files.
struct Lexer<'a> {
    loader: &'a dyn SourceLoader,
    diags: &'a mut Diagnostics,
    /// `$NAME=value` definitions seen so far.
    defs: BTreeMap<String, String>,
    out: Vec<Vec<Token>>,
}

impl Lexer<'_> {
    fn file(&mut self, name: &str, text: &str, depth: usize) {
        for (i, raw) in text.lines().enumerate() {
            self.line(name, i as u32 + 1, raw, depth);
        }
    }

    fn line(&mut self, name: &str, line_no: u32, raw: &str, depth: usize) {
        let trimmed = raw.trim_start();
        if let Some((var, value)) = trimmed.strip_prefix('$').and_then(|d| d.split_once('=')) {
            if !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.defs.insert(var.to_owned(), value.trim().to_owned());
                return;
            }
        }
        let expanded = match expand(raw, &self.defs) {
            Ok(e) => e,
            Err((col, var)) => {
                let t = Token {
                    text: var.clone(),
                    file: name.to_owned(),
                    line: line_no,
                    col,
                    quoted: false,
                };
                self.diags.push(diag(
                    &t,
                    Severity::Error,
                    format!("undefined variable '${{{var}}}'"),
                ));
                return;
            }
        };
        let mut toks = lex_line(name, line_no, &expanded, self.diags);
        if let Some(first) = toks
            .first()
            .filter(|t| !t.quoted && t.text.starts_with('@'))
        {
            // No config-id is set: `@id` lines are skipped, `@^id` kept.
            if !first.text[1..].starts_with('^') {
                return;
            }
            toks.remove(0);
        }
        if toks.first().is_some_and(|t| t.is("include")) {
            self.include(name, &toks, depth);
        } else if !toks.is_empty() {
            self.out.push(toks);
        }
    }

    /// `include PATTERN`: every matching file, in name order, in place.
    fn include(&mut self, name: &str, toks: &[Token], depth: usize) {
        let Some(pattern) = toks.get(1) else {
            self.diags.push(diag(
                &toks[0],
                Severity::Error,
                "include expects a file name or pattern".into(),
            ));
            return;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            let msg = format!(
                "include nesting deeper than {MAX_INCLUDE_DEPTH} at '{}' - ignoring",
                pattern.text
            );
            self.diags.push(diag(pattern, Severity::Error, msg));
            return;
        }
        match self.loader.load(&pattern.text, name) {
            Ok(files) if files.is_empty() => {
                let msg = format!("no file matches include '{}'", pattern.text);
                self.diags.push(diag(pattern, Severity::Warning, msg));
            }
            Ok(files) => {
                for (inc_name, inc_text) in files {
                    self.file(&inc_name, &inc_text, depth + 1);
                }
            }
            Err(why) => {
                let msg = format!("cannot include '{}': {why}", pattern.text);
                self.diags.push(diag(pattern, Severity::Error, msg));
            }
        }
    }
}

/// Substitutes defined `$NAME` / `${NAME}`; an undefined `${NAME}` is an
/// error `(col, NAME)`, an undefined bare `$NAME` stays (shell text).
fn expand(raw: &str, defs: &BTreeMap<String, String>) -> Result<String, (u32, String)> {
    if !raw.contains('$') {
        return Ok(raw.to_owned());
    }
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' || c == '!' {
            out.extend(&chars[i..]);
            break;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        let braced = chars.get(i + 1) == Some(&'{');
        let start = i + 1 + usize::from(braced);
        let len = chars[start..]
            .iter()
            .take_while(|ch| ch.is_ascii_alphanumeric() || **ch == '_')
            .count();
        let name: String = chars[start..start + len].iter().collect();
        let closed = !braced || chars.get(start + len) == Some(&'}');
        match defs.get(&name) {
            Some(v) if len > 0 && closed => {
                out.push_str(v);
                i = start + len + usize::from(braced);
            }
            _ if braced && len > 0 && closed => return Err((i as u32 + 1, name)),
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

fn lex_line(file: &str, line: u32, raw: &str, diags: &mut Diagnostics) -> Vec<Token> {
    let chars: Vec<char> = raw.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i as u32 + 1;
        let mk = |text: String, quoted: bool| Token {
            text,
            file: file.to_owned(),
            line,
            col,
            quoted,
        };
        if c.is_whitespace() {
            i += 1;
        } else if c == '!' || c == '#' {
            break;
        } else if c == '{' || c == '}' {
            toks.push(mk(c.to_string(), false));
            i += 1;
        } else if c == '"' {
            match chars[i + 1..].iter().position(|&q| q == '"') {
                Some(len) => {
                    toks.push(mk(chars[i + 1..i + 1 + len].iter().collect(), true));
                    i += len + 2;
                }
                None => {
                    let t = mk(chars[i + 1..].iter().collect(), true);
                    diags.push(diag(
                        &t,
                        Severity::Error,
                        "unterminated quoted string".into(),
                    ));
                    toks.push(t);
                    break;
                }
            }
        } else {
            let len = chars[i..]
                .iter()
                .take_while(|ch| !ch.is_whitespace() && !matches!(ch, '{' | '}' | '"'))
                .count();
            toks.push(mk(chars[i..i + len].iter().collect(), false));
            i += len;
        }
    }
    toks
}

/// Builds the block tree from token lines. Unbalanced braces are reported
/// in keepalived's words.
pub(crate) fn build_tree(lines: Vec<Vec<Token>>, diags: &mut Diagnostics) -> Vec<Node> {
    // Flatten into statements: a statement ends at end of line or at a brace.
    let mut stack: Vec<Vec<Node>> = vec![Vec::new()];
    let mut last_open: Vec<Token> = Vec::new();
    for toks in lines {
        let mut cur: Vec<Token> = Vec::new();
        for t in toks {
            if t.is("{") {
                let node = match cur.is_empty() {
                    false => Some(to_node(std::mem::take(&mut cur))),
                    // `{` alone: opens the block of the previous statement.
                    true => stack
                        .last_mut()
                        .and_then(|s| s.pop())
                        .filter(|n| n.block.is_none()),
                };
                match node {
                    Some(n) => {
                        if let Some(level) = stack.last_mut() {
                            level.push(n);
                        }
                        stack.push(Vec::new());
                        last_open.push(t);
                    }
                    None => diags.push(diag(
                        &t,
                        Severity::Error,
                        "Unexpected '{' - ignoring".into(),
                    )),
                }
            } else if t.is("}") {
                if !cur.is_empty() {
                    if let Some(level) = stack.last_mut() {
                        level.push(to_node(std::mem::take(&mut cur)));
                    }
                }
                if stack.len() == 1 {
                    diags.push(diag(&t, Severity::Error, "Extra '}' found".into()));
                    continue;
                }
                close_block(&mut stack, Some(t));
                last_open.pop();
            } else {
                cur.push(t);
            }
        }
        if !cur.is_empty() {
            if let Some(level) = stack.last_mut() {
                level.push(to_node(cur));
            }
        }
    }
    let missing = stack.len() - 1;
    if missing > 0 {
        if let Some(open) = last_open.first() {
            let msg = format!("There are {missing} missing '}}'s or extra '{{'s");
            diags.push(diag(open, Severity::Error, msg));
        }
        while stack.len() > 1 {
            close_block(&mut stack, None);
        }
    }
    stack.pop().unwrap_or_default()
}

fn close_block(stack: &mut Vec<Vec<Node>>, end: Option<Token>) {
    let block = stack.pop().unwrap_or_default();
    if let Some(owner) = stack.last_mut().and_then(|s| s.last_mut()) {
        owner.block = Some(block);
        owner.end = end;
    }
}

fn to_node(mut toks: Vec<Token>) -> Node {
    let key = toks.remove(0);
    Node {
        key,
        args: toks,
        block: None,
        end: None,
    }
}

/// A diagnostic at a token, in haven's `file:line:col` form.
pub(crate) fn diag(t: &Token, severity: Severity, message: String) -> Diagnostic {
    Diagnostic {
        severity,
        file: t.file.clone(),
        line: t.line,
        col: t.col,
        message,
        form: Form::Colon,
        source_line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoIncludes;

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut d = Diagnostics::default();
        let lines = tokenize("k.conf", text, &NoIncludes, &mut d);
        (build_tree(lines, &mut d), d)
    }

    #[test]
    fn comments_quotes_and_glued_braces() {
        let (t, d) = tree("vrrp_script chk{\n script \"killall -0 haproxy\" # c\n ! x\n}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t[0].key.text, "vrrp_script");
        let block = t[0].block.as_ref().expect("block");
        assert_eq!(block[0].args[0].text, "killall -0 haproxy");
        assert_eq!((block[0].key.line, block[0].key.col), (2, 2));
    }

    #[test]
    fn one_line_blocks_and_brace_on_next_line() {
        let (t, _) = tree("track_script { chk }\nvrrp_instance X\n{\n state BACKUP\n}\n");
        assert_eq!(t[0].block.as_ref().expect("block")[0].key.text, "chk");
        assert_eq!(
            t[1].block.as_ref().expect("block")[0].args[0].text,
            "BACKUP"
        );
    }

    #[test]
    fn variables_are_substituted_and_undefined_ones_reported() {
        let (t, d) =
            tree("$IF=eth0\nvrrp_instance X {\n interface ${IF}\n notify \"/x $HOME\"\n}\n");
        assert!(d.is_empty(), "{d:?}");
        let block = t[0].block.as_ref().expect("block");
        assert_eq!(block[0].args[0].text, "eth0");
        assert_eq!(block[1].args[0].text, "/x $HOME");
        let (_, d) = tree("global_defs {\n router_id ${router_id}\n}\n");
        let first = d.iter().next().expect("one diagnostic");
        assert_eq!(
            (first.line, first.col, first.message.as_str()),
            (2, 12, "undefined variable '${router_id}'")
        );
    }

    #[test]
    fn unbalanced_braces_are_reported() {
        let (_, d) = tree("a {\n b {\n");
        assert_eq!(
            d.iter().next().map(|d| d.message.as_str()),
            Some("There are 2 missing '}'s or extra '{'s")
        );
        let (_, d) = tree("a {\n}\n}\n");
        let first = d.iter().next().expect("one diagnostic");
        assert_eq!(
            (first.line, first.col, first.message.as_str()),
            (3, 1, "Extra '}' found")
        );
    }
}
