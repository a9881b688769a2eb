//! HAProxy 2.6's generated error responses (spec/haproxy.md §4.4).

/// The body haproxy sends for `status` (each ends with a newline).
pub fn error_body(status: u16) -> &'static str {
    match status {
        400 => "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
        401 => "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        403 => "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
        408 => "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
        500 => "<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n",
        502 => "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
        504 => "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
        _ => "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
    }
}

/// The reason phrase of a generated status.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        408 => "Request Time-out",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        504 => "Gateway Time-out",
        _ => "Service Unavailable",
    }
}

/// The whole response: HTTP/1.1, lower-case headers, `connection: close`
/// on 400 and 408 only.
pub fn error_response(status: u16) -> String {
    let body = error_body(status);
    let close = if matches!(status, 400 | 408) {
        "connection: close\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {}\r\ncontent-length: {}\r\ncache-control: no-cache\r\n{close}content-type: text/html\r\n\r\n{body}",
        reason(status),
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_haproxy() {
        assert_eq!(error_body(503).len(), 107);
        assert_eq!(error_body(504).len(), 92);
        assert_eq!(error_body(502).len(), 107);
        // On the wire, as haproxy 2.6.12 sends it (its log counts 217
        // bytes for the same response).
        assert_eq!(
            error_response(503),
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n"
        );
        assert_eq!(error_response(503).len(), 214);
    }
}
