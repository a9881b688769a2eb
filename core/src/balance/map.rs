//! HAProxy's weight map (`lb_map.c`, spec/haproxy.md §3.2): a table of
//! `Σ w/g` slots filled by a weighted score, walked cyclically by
//! `static-rr` and indexed by `hash % T` for map-based hashing.

/// The slot table and the static-rr cursor.
#[derive(Debug, Clone, Default)]
pub struct WeightMap {
    table: Vec<usize>,
    rr_idx: usize,
}

impl WeightMap {
    /// A table for `servers` = (index, user weight) of the usable servers
    /// of one group, in config order.
    pub fn new(servers: &[(usize, u32)]) -> Self {
        let mut m = Self::default();
        m.rebuild(servers);
        m
    }

    /// Rebuilds the table (servers went up or down). The cursor stays.
    pub fn rebuild(&mut self, servers: &[(usize, u32)]) {
        let servers: Vec<(usize, u32)> = servers.iter().copied().filter(|(_, w)| *w > 0).collect();
        let g = servers.iter().fold(0, |g, (_, w)| gcd(g, *w)).max(1);
        let weights: Vec<i64> = servers.iter().map(|(_, w)| i64::from(w / g)).collect();
        let tot: i64 = weights.iter().sum();
        let mut score = vec![0i64; servers.len()];
        self.table.clear();
        for _ in 0..tot {
            let mut best: Option<(usize, i64)> = None;
            for (k, w) in weights.iter().enumerate() {
                if tot == 1 {
                    best = Some((k, 0));
                    break;
                }
                score[k] += w;
                let v = (score[k] + tot) / tot;
                if best.is_none_or(|(_, max)| v > max) {
                    best = Some((k, v));
                }
            }
            if let Some((k, _)) = best {
                self.table.push(servers[k].0);
                score[k] -= tot;
            }
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no server is usable.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The server in slot `hash % T`.
    pub fn by_hash(&self, hash: u32) -> Option<usize> {
        (!self.table.is_empty()).then(|| self.table[hash as usize % self.table.len()])
    }

    /// `static-rr`: the next slot whose server is not `full`, preferring
    /// one that is not `avoid`.
    pub fn next_rr(&mut self, avoid: Option<usize>, full: &dyn Fn(usize) -> bool) -> Option<usize> {
        let tot = self.table.len();
        if tot == 0 {
            return None;
        }
        if self.rr_idx >= tot {
            self.rr_idx = 0;
        }
        let start = self.rr_idx;
        let mut idx = start;
        let mut avoided = None;
        loop {
            let srv = self.table[idx];
            idx += 1;
            if !full(srv) {
                avoided = Some((srv, idx));
                if Some(srv) != avoid {
                    self.rr_idx = idx;
                    return Some(srv);
                }
            }
            if idx == tot {
                idx = 0;
            }
            if idx == start {
                break;
            }
        }
        let (srv, at) = avoided?;
        self.rr_idx = at;
        Some(srv)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(w: &[u32]) -> String {
        let servers: Vec<(usize, u32)> = w.iter().copied().enumerate().collect();
        let mut m = WeightMap::new(&servers);
        (0..m.len())
            .map(|_| char::from(b'1' + m.next_rr(None, &|_| false).unwrap_or(0) as u8))
            .collect()
    }

    #[test]
    fn static_rr_tables_measured_on_real_haproxy() {
        assert_eq!(table(&[5, 3, 2]), "1121312123");
        assert_eq!(table(&[1, 2, 3]), "132323");
        assert_eq!(table(&[3, 1]), "1112");
        assert_eq!(table(&[4, 3, 2, 1]), "1212312134");
        assert_eq!(table(&[6, 6]), "12");
    }
}
