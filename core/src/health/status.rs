//! Check outcomes as HAProxy names and describes them (spec/haproxy.md §2.3).

/// A finished check's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckStatus {
    /// TCP connect succeeded (no HTTP check).
    L4Ok,
    /// Connect timed out.
    L4Tout,
    /// Connect refused or failed.
    L4Con,
    /// The server answered a TLS hello (`option ssl-hello-chk`).
    L6Ok,
    /// No TLS answer in time.
    L6Tout,
    /// The answer was not TLS.
    L6Rsp,
    /// Expected HTTP status or content.
    L7Ok,
    /// Unexpected HTTP status.
    L7Sts,
    /// Garbage, or closed without a response.
    L7Rsp,
    /// Connected but no response in time.
    L7Tout,
    /// Local socket error.
    SockErr,
}

impl CheckStatus {
    /// The code in stats (`check_status`).
    pub fn code(self) -> &'static str {
        match self {
            Self::L4Ok => "L4OK",
            Self::L4Tout => "L4TOUT",
            Self::L4Con => "L4CON",
            Self::L6Ok => "L6OK",
            Self::L6Tout => "L6TOUT",
            Self::L6Rsp => "L6RSP",
            Self::L7Ok => "L7OK",
            Self::L7Sts => "L7STS",
            Self::L7Rsp => "L7RSP",
            Self::L7Tout => "L7TOUT",
            Self::SockErr => "SOCKERR",
        }
    }

    /// The description used in log lines.
    pub fn description(self) -> &'static str {
        match self {
            Self::L4Ok => "Layer4 check passed",
            Self::L4Tout => "Layer4 timeout",
            Self::L4Con => "Layer4 connection problem",
            Self::L6Ok => "Layer6 check passed",
            Self::L6Tout => "Layer6 timeout",
            Self::L6Rsp => "Layer6 invalid response",
            Self::L7Ok => "Layer7 check passed",
            Self::L7Sts => "Layer7 wrong status",
            Self::L7Rsp => "Layer7 invalid response",
            Self::L7Tout => "Layer7 timeout",
            Self::SockErr => "Socket error",
        }
    }

    /// True for a passing result.
    pub fn passed(self) -> bool {
        matches!(self, Self::L4Ok | Self::L6Ok | Self::L7Ok)
    }

    /// True for layer-7 results, which carry the HTTP code in logs.
    pub fn is_l7_with_code(self) -> bool {
        matches!(self, Self::L7Ok | Self::L7Sts)
    }
}

/// A finished check: status, HTTP code, info text, duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The status.
    pub status: CheckStatus,
    /// HTTP status code for L7OK / L7STS.
    pub code: Option<u16>,
    /// Extra text (`Connection refused`, a reason phrase).
    pub info: Option<String>,
    /// How long the check took, in milliseconds.
    pub duration_ms: u64,
}
