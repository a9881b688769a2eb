//! HTTP basic authentication as the `http_auth*` fetches and `stats auth`
//! read it: the credentials of an `Authorization: Basic` header.

use crate::route::RequestHead;
use base64::Engine as _;

/// The `user:password` text of the request's `Authorization: Basic`
/// header, decoded.
pub fn basic_credentials(req: &RequestHead<'_>) -> Option<String> {
    let (_, value) = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}
