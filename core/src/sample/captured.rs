//! What one transaction captured into its frontend's slots, as
//! `capture.req.hdr(N)` reads it and the log prints it (`{a|b}`).

use super::HeaderView;
use crate::config::haproxy::CaptureSlots;
use std::fmt;

/// Captured values, slot by slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    request: Vec<Slot>,
    response: Vec<Slot>,
}

/// One slot: its longest value and what it holds (`None`: nothing yet).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    len: usize,
    value: Option<String>,
}

impl Captured {
    /// Empty slots, as many as `slots` declares.
    pub fn for_slots(slots: &CaptureSlots) -> Self {
        let empty = |list: &[crate::config::haproxy::CaptureSlot]| {
            list.iter()
                .map(|s| Slot {
                    len: s.len,
                    value: None,
                })
                .collect()
        };
        Self {
            request: empty(&slots.request),
            response: empty(&slots.response),
        }
    }

    /// No slot is declared.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }

    /// What slot `index` of the request side (`request`) or the response
    /// side holds.
    pub fn get(&self, request: bool, index: usize) -> Option<&str> {
        self.side(request).get(index)?.value.as_deref()
    }

    /// Stores `value` in slot `index` of the request side (`request`) or
    /// the response side, cut to the slot's length; an unknown slot is
    /// left alone.
    pub fn set(&mut self, request: bool, index: usize, value: &str) {
        let list = if request {
            &mut self.request
        } else {
            &mut self.response
        };
        if let Some(slot) = list.get_mut(index) {
            let mut end = value.len().min(slot.len);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            slot.value = Some(value[..end].to_owned());
        }
    }

    /// Captures the headers the slots name from `headers` (the last of
    /// each name wins, as in haproxy).
    pub fn headers(&mut self, slots: &CaptureSlots, request: bool, headers: HeaderView<'_>) {
        let declared = if request {
            &slots.request
        } else {
            &slots.response
        };
        for (index, slot) in declared.iter().enumerate() {
            let Some(name) = &slot.header else { continue };
            if let Some((_, v)) = headers
                .iter()
                .rev()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                self.set(request, index, v);
            }
        }
    }
}

/// haproxy's encoding of a captured value in a log line: controls,
/// 8-bit bytes and `"#{|}` as `#XX`.
fn encode(out: &mut String, value: &str) {
    for b in value.bytes() {
        if !(32..127).contains(&b) || b"\"#{|}".contains(&b) {
            out.push_str(&format!("#{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
}

impl Captured {
    fn side(&self, request: bool) -> &[Slot] {
        if request {
            &self.request
        } else {
            &self.response
        }
    }

    /// The log's block of the request side (`request`) or the response
    /// side, `{a|b}` (`%hr`, `%hs`); `None` when the side has no slots.
    pub fn block(&self, request: bool) -> Option<String> {
        let side = self.side(request);
        if side.is_empty() {
            return None;
        }
        let mut out = String::from("{");
        for (i, slot) in side.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            encode(&mut out, slot.value.as_deref().unwrap_or(""));
        }
        out.push('}');
        Some(out)
    }

    /// The log's list of one side's slots, space separated (`%hrl`,
    /// `%hsl`): each in quotes with `quote`, else `-` when empty.
    pub fn list(&self, request: bool, quote: bool) -> String {
        let mut out = String::new();
        for (i, slot) in self.side(request).iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            if quote {
                out.push('"');
            }
            match slot.value.as_deref() {
                Some(v) => encode(&mut out, v),
                None if !quote => out.push('-'),
                None => {}
            }
            if quote {
                out.push('"');
            }
        }
        out
    }
}

/// The log's capture blocks, each followed by a space: `{a|b} ` for the
/// request slots, then the response's; nothing for a side without slots.
impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for block in [self.block(true), self.block(false)].into_iter().flatten() {
            write!(f, "{block} ")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::CaptureSlot;

    #[test]
    fn headers_are_cut_to_their_slot_and_printed_encoded() {
        let slot = |header: Option<&str>, len| CaptureSlot {
            header: header.map(str::to_owned),
            len,
        };
        let slots = CaptureSlots {
            request: vec![slot(Some("host"), 4), slot(None, 8), slot(Some("x-a"), 8)],
            response: vec![slot(Some("server"), 16)],
        };
        let mut c = Captured::for_slots(&slots);
        c.headers(
            &slots,
            true,
            HeaderView::Pairs(&[("Host", "example.com"), ("X-A", "1"), ("x-a", "a|b")]),
        );
        c.set(true, 7, "ignored");
        assert_eq!(c.get(true, 0), Some("exam"));
        assert_eq!(c.to_string(), "{exam||a#7Cb} {} ");
        c.headers(&slots, false, HeaderView::Pairs(&[("server", "s1")]));
        assert_eq!(c.to_string(), "{exam||a#7Cb} {s1} ");
        assert_eq!(Captured::default().to_string(), "");
        assert_eq!(c.list(true, false), "exam - a#7Cb");
        assert_eq!(c.list(true, true), "\"exam\" \"\" \"a#7Cb\"");
        assert_eq!(c.block(false).as_deref(), Some("{s1}"));
    }
}
