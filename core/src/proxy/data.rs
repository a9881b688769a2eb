//! The data phase: once a response head is on its way to the client,
//! its body (or a tunnel) flows until one side ends it. The driver
//! reports how it ended; core words the termination state haproxy logs.

use super::Outcome;

/// How the data phase of a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEnd {
    /// The whole message went through (or the tunnel closed cleanly).
    Complete,
    /// The server closed or broke the connection before the end.
    ServerAborted,
    /// `timeout server` (or `timeout tunnel`) passed with the server quiet.
    ServerTimeout,
    /// The client closed or broke the connection before the end.
    ClientAborted,
    /// `timeout client` (or `timeout tunnel`) passed with the client stuck.
    ClientTimeout,
}

impl Outcome {
    /// This outcome once its data phase ended as `end`: the status stays
    /// the server's; the termination state says who ended it and how
    /// (`SD`, `sD`, `CD`, `cD`), as haproxy logs a transfer cut short.
    pub fn after_data(mut self, end: DataEnd) -> Self {
        self.termination = match end {
            DataEnd::Complete => self.termination,
            DataEnd::ServerAborted => "SD",
            DataEnd::ServerTimeout => "sD",
            DataEnd::ClientAborted => "CD",
            DataEnd::ClientTimeout => "cD",
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Outcome {
        Outcome {
            tried: vec![0],
            ..Outcome::without_server(200, "--", Some(1))
        }
    }

    #[test]
    fn a_cut_transfer_names_the_side_and_the_cause() {
        let cases = [
            (DataEnd::Complete, "--"),
            (DataEnd::ServerAborted, "SD"),
            (DataEnd::ServerTimeout, "sD"),
            (DataEnd::ClientAborted, "CD"),
            (DataEnd::ClientTimeout, "cD"),
        ];
        for (end, termination) in cases {
            let after = served().after_data(end);
            assert_eq!((after.status, after.termination), (200, termination));
        }
    }
}
