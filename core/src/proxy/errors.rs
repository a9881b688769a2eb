//! HAProxy 2.6's generated error responses (spec/haproxy.md §4.4).

/// The body haproxy sends for `status` (each ends with a newline).
pub fn error_body(status: u16) -> &'static str {
    match status {
        200 => "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n",
        400 => "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
        401 => "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        403 => "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
        404 => "<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n",
        405 => "<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n",
        407 => "<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
        408 => "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
        410 => "<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n",
        413 => "<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n",
        421 => "<html><body><h1>421 Misdirected Request</h1>\nRequest sent to a non-authoritative server.\n</body></html>\n",
        422 => "<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n",
        425 => "<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n",
        429 => "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
        500 => "<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n",
        501 => "<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n",
        502 => "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
        504 => "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
        _ => "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
    }
}

/// The reason phrase of a generated status.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Unauthorized",
        408 => "Request Time-out",
        410 => "Gone",
        413 => "Payload Too Large",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        425 => "Too Early",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        504 => "Gateway Time-out",
        _ => "Service Unavailable",
    }
}

/// True for the generated statuses after which haproxy closes the client
/// connection.
pub fn closes_connection(status: u16) -> bool {
    matches!(status, 400 | 408 | 413)
}

/// The whole response as haproxy 2.6 sends it. Errors raised while a
/// request is still being read (400, 408, 413, 422) go out verbatim, in
/// mixed case, with `Connection: close` but on 422; the others pass
/// through HTX and come out lower-case.
pub fn error_response(status: u16) -> String {
    let body = error_body(status);
    let (reason, len) = (reason(status), body.len());
    let verbatim = |connection: &str| {
        format!(
            "HTTP/1.1 {status} {reason}\r\nContent-length: {len}\r\nCache-Control: no-cache\r\n{connection}Content-Type: text/html\r\n\r\n{body}"
        )
    };
    if closes_connection(status) {
        verbatim("Connection: close\r\n")
    } else if status == 422 {
        verbatim("")
    } else {
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-length: {len}\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n{body}"
        )
    }
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
        // Captured from haproxy 2.6.12 answering "GARBAGE\r\n\r\n".
        assert_eq!(
            error_response(400),
            "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"
        );
        // Captured from haproxy 2.6.12 refusing "gzip, chunked".
        assert_eq!(
            error_response(422),
            "HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n"
        );
        assert!(error_response(408)
            .starts_with("HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\n"));
    }
}
