//! A message's header fields kept in three buffers whatever their number
//! (one allocation per field would cost more than the parse): names
//! lower-cased, as haproxy's HTX keeps them, values as sent.

/// Fields a message's buffers have room for past those it came with.
pub const SPARE_FIELDS: usize = 4;
/// Bytes a message's buffers have room for past those it came with.
pub const SPARE_BYTES: usize = 64;

/// Header fields in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// Every name, back to back.
    names: String,
    /// Every value, back to back.
    values: Vec<u8>,
    /// Per field: where its name ends in `names` and its value in `values`.
    ends: Vec<(u32, u32)>,
}

/// What becomes of a field in [`Fields::rewrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldChange<'a> {
    /// It stays as it is.
    Keep,
    /// It goes.
    Drop,
    /// It takes this value.
    Value(&'a [u8]),
}

impl Fields {
    /// Room for `fields` fields of `bytes` bytes in all, and for the few
    /// a rule or the proxy adds (`x-forwarded-for`, a `set-header`)
    /// without growing.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Self {
            names: String::with_capacity(bytes / 2 + SPARE_BYTES),
            values: Vec::with_capacity(bytes + SPARE_BYTES),
            ends: Vec::with_capacity(fields + SPARE_FIELDS),
        }
    }

    /// Adds a field at the end; its name is lower-cased.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let start = self.names.len();
        self.names.push_str(name);
        self.names[start..].make_ascii_lowercase();
        self.values.extend_from_slice(value);
        self.ends
            .push((self.names.len() as u32, self.values.len() as u32));
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of every name and value.
    pub fn bytes(&self) -> usize {
        self.names.len() + self.values.len()
    }

    /// Each field's name and value, in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &[u8])> + '_ {
        (0..self.ends.len()).map(|i| self.field(i))
    }

    /// Field `i`'s name and value.
    fn field(&self, i: usize) -> (&str, &[u8]) {
        let (n0, v0) = i.checked_sub(1).map_or((0, 0), |p| self.ends[p]);
        let (n1, v1) = self.ends[i];
        (
            &self.names[n0 as usize..n1 as usize],
            &self.values[v0 as usize..v1 as usize],
        )
    }

    /// The values of every field named `name` (lower case), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The value of the first field named `name` (lower case).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// True when a field is named `name` (lower case).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Changes the fields in order as `change` says of each (its name
    /// and value).
    pub fn rewrite<'v>(&mut self, mut change: impl FnMut(&str, &[u8]) -> FieldChange<'v>) {
        let mut out = Self::with_capacity(self.len(), self.values.len());
        for (name, value) in self.iter() {
            match change(name, value) {
                FieldChange::Keep => out.push(name, value),
                FieldChange::Drop => {}
                FieldChange::Value(v) => out.push(name, v),
            }
        }
        *self = out;
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for Fields {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(iter: I) -> Self {
        let mut fields = Self::default();
        for (name, value) in iter {
            fields.push(name, value);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_with_names_lower_cased() {
        let mut f = Fields::default();
        f.push("Host", b"a");
        f.push("X-Empty", b"");
        f.push("host", b"b");
        let all: Vec<_> = f.iter().collect();
        assert_eq!(all, [("host", &b"a"[..]), ("x-empty", b""), ("host", b"b")]);
        assert_eq!(f.get("host"), Some(&b"a"[..]));
        assert_eq!(f.all("host").count(), 2);
        assert!(f.contains("x-empty") && !f.contains("Host"));
        assert_eq!(f.iter().next_back(), Some(("host", &b"b"[..])));
    }

    #[test]
    fn rewriting_keeps_drops_or_changes_each_field() {
        let mut f: Fields = [("a", &b"1"[..]), ("b", b"2"), ("a", b"3")]
            .into_iter()
            .collect();
        f.rewrite(|name, value| match (name, value) {
            ("a", b"1") => FieldChange::Value(b"x"),
            ("b", _) => FieldChange::Drop,
            _ => FieldChange::Keep,
        });
        let all: Vec<_> = f.iter().collect();
        assert_eq!(all, [("a", &b"x"[..]), ("a", b"3")]);
        assert_eq!(f.len(), 2);
    }
}
