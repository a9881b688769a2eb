//! What one transaction captured into its frontend's slots, as
//! `capture.req.hdr(N)` reads it and the log prints it (`{a|b}`).

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
        let list = if request {
            &self.request
        } else {
            &self.response
        };
        list.get(index)?.value.as_deref()
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
    pub fn headers(&mut self, slots: &CaptureSlots, request: bool, headers: &[(&str, &str)]) {
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

/// The log's capture blocks, each followed by a space: `{a|b} ` for the
/// request slots, then the response's; nothing for a side without slots.
impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for side in [&self.request, &self.response] {
            if side.is_empty() {
                continue;
            }
            f.write_str("{")?;
            for (i, v) in side.iter().enumerate() {
                if i > 0 {
                    f.write_str("|")?;
                }
                for b in v.value.as_deref().unwrap_or("").bytes() {
                    // haproxy's header encoding: controls, 8-bit bytes
                    // and `"#{|}` as `#XX`.
                    if !(32..127).contains(&b) || b"\"#{|}".contains(&b) {
                        write!(f, "#{b:02X}")?;
                    } else {
                        write!(f, "{}", b as char)?;
                    }
                }
            }
            f.write_str("} ")?;
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
            &[("Host", "example.com"), ("X-A", "1"), ("x-a", "a|b")],
        );
        c.set(true, 7, "ignored");
        assert_eq!(c.get(true, 0), Some("exam"));
        assert_eq!(c.to_string(), "{exam||a#7Cb} {} ");
        c.headers(&slots, false, &[("server", "s1")]);
        assert_eq!(c.to_string(), "{exam||a#7Cb} {s1} ");
        assert_eq!(Captured::default().to_string(), "");
    }
}
