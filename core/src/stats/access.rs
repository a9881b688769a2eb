//! Which requests are stats or metrics requests, and whether they may see
//! the page.

use crate::config::haproxy::Proxy;
use crate::route::{condition, path_and_query, RequestHead};
use crate::sample::basic_credentials;
use subtle::{Choice, ConstantTimeEq};

/// What a request to a proxy with `stats` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Not a stats request: route it as usual.
    Pass,
    /// The frontend's `monitor-uri`: haproxy answers 200 itself.
    Monitor,
    /// The Prometheus metrics (`http-request use-service
    /// prometheus-exporter`).
    Prometheus,
    /// The page: HTML, or the CSV (`;csv` after the URI); of the proxies
    /// whose name holds `scope` when `scope=` says.
    Page {
        /// `;csv`.
        csv: bool,
        /// `scope=`.
        scope: Option<String>,
    },
    /// A POST to the page: the admin form, which `stats admin` may allow.
    Post {
        /// `stats admin` lets this request change servers.
        allowed: bool,
        /// `scope=`, kept for the page the browser is sent back to.
        scope: Option<String>,
    },
    /// 401 with `WWW-Authenticate: Basic realm="..."`.
    Unauthorized {
        /// The realm (`stats realm`, default "HAProxy Statistics").
        realm: String,
    },
}

/// Decides for `req` on `proxy`: [`intercept`], then [`page`].
pub fn access(proxy: &Proxy, req: &RequestHead<'_>) -> Access {
    match intercept(proxy, req) {
        Access::Pass => page(proxy, req),
        other => other,
    }
}

/// What is answered before any rule: the `monitor-uri`, and the
/// Prometheus exporter.
pub fn intercept(proxy: &Proxy, req: &RequestHead<'_>) -> Access {
    if proxy
        .monitor_uri
        .as_deref()
        .is_some_and(|m| monitors(m, req.uri))
    {
        return Access::Monitor;
    }
    let exporter = proxy
        .prometheus
        .iter()
        .any(|r| r.cond.as_ref().is_none_or(|c| condition(proxy, c, req)));
    if exporter {
        return Access::Prometheus;
    }
    Access::Pass
}

/// The stats page, as haproxy decides it once `proxy`'s `http-request`
/// rules have run: any URI starting with the stats URI is a stats
/// request, answered as `stats auth` and `stats admin` say.
pub fn page(proxy: &Proxy, req: &RequestHead<'_>) -> Access {
    let Some(stats) = &proxy.stats else {
        return Access::Pass;
    };
    let Some(rest) = req.uri.strip_prefix(stats.uri.as_str()) else {
        return Access::Pass;
    };
    if !stats.auth.is_empty() {
        let given = basic_credentials(req);
        // Every credential is compared, each in constant time, so timing
        // tells nothing of how much of a guess was right.
        let ok = given.is_some_and(|g| {
            let matched = stats.auth.iter().fold(Choice::from(0), |any, (u, p)| {
                any | format!("{u}:{p}").as_bytes().ct_eq(g.as_bytes())
            });
            bool::from(matched)
        });
        if !ok {
            return Access::Unauthorized {
                realm: stats
                    .realm
                    .clone()
                    .unwrap_or_else(|| "HAProxy Statistics".into()),
            };
        }
    }
    let options = rest.split([';', '?', '&']);
    let scope = options
        .clone()
        .find_map(|o| o.strip_prefix("scope="))
        .map(str::to_owned);
    if req.method == "POST" {
        let allowed = stats
            .admin
            .as_ref()
            .is_some_and(|c| condition(proxy, c, req));
        return Access::Post { allowed, scope };
    }
    let csv = options.clone().any(|o| o == "csv");
    Access::Page { csv, scope }
}

/// Whether request target `uri` asks for `monitor`: its path (with the
/// query) when the monitor URI is a path, else the whole target, as
/// haproxy compares them.
fn monitors(monitor: &str, uri: &str) -> bool {
    uri == monitor || monitor.starts_with('/') && path_and_query(uri) == monitor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::haproxy::{parse, ParseOptions};
    use crate::sample::HeaderView;

    fn stats_proxy(extra: &str) -> Proxy {
        let text = format!(
            "listen st\n    bind :8404\n    mode http\n    stats enable\n    stats uri /s\n{extra}"
        );
        let parsed = parse(&[("t.cfg", &text)], &ParseOptions::default());
        parsed.config.expect("valid").proxies.remove(0)
    }

    fn ask(p: &Proxy, uri: &str, authorization: Option<&str>) -> Access {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| ("Authorization", a))
            .into_iter()
            .collect();
        access(
            p,
            &RequestHead {
                method: "GET",
                uri,
                headers: HeaderView::Pairs(&headers),
                client: None,
                payload: &[],
                around: Default::default(),
            },
        )
    }

    const HTML: Access = Access::Page {
        csv: false,
        scope: None,
    };
    const CSV: Access = Access::Page {
        csv: true,
        scope: None,
    };

    #[test]
    fn stats_uri_prefix_csv_and_scope_options() {
        let p = stats_proxy("");
        assert_eq!(ask(&p, "/s", None), HTML);
        assert_eq!(ask(&p, "/s;csv", None), CSV);
        assert_eq!(ask(&p, "/s;csv;norefresh", None), CSV);
        assert_eq!(
            ask(&p, "/s?;csv;scope=b1", None),
            Access::Page {
                csv: true,
                scope: Some("b1".into())
            }
        );
        assert_eq!(ask(&p, "/other", None), Access::Pass);
    }

    #[test]
    fn a_post_is_the_admin_form_which_stats_admin_may_allow() {
        let post = |p: &Proxy| {
            let req = RequestHead {
                method: "POST",
                uri: "/s?scope=b2",
                headers: HeaderView::Pairs(&[]),
                client: None,
                payload: &[],
                around: Default::default(),
            };
            access(p, &req)
        };
        let answer = |allowed| Access::Post {
            allowed,
            scope: Some("b2".into()),
        };
        assert_eq!(
            post(&stats_proxy("    stats admin if TRUE\n")),
            answer(true)
        );
        assert_eq!(
            post(&stats_proxy("    stats admin if FALSE\n")),
            answer(false)
        );
        assert_eq!(post(&stats_proxy("")), answer(false));
    }

    #[test]
    fn the_monitor_uri_matches_a_path_or_a_whole_target() {
        assert!(monitors("/health", "/health"));
        assert!(monitors("/health", "http://www.haproxy.org/health"));
        assert!(!monitors("/health", "/hEAlth"));
        assert!(!monitors("/health", "/health?x=1"));
        let absolute = "http://www.haproxy.org/health";
        assert!(monitors(absolute, absolute));
        assert!(!monitors(absolute, "/health"));
    }

    #[test]
    fn basic_auth_is_checked() {
        let p = stats_proxy("    stats auth admin:secret\n    stats realm Haproxy\\ Statistics\n");
        let denied = Access::Unauthorized {
            realm: "Haproxy Statistics".into(),
        };
        assert_eq!(ask(&p, "/s", None), denied);
        // "admin:wrong" and "admin:secret" in base64.
        assert_eq!(ask(&p, "/s", Some("Basic YWRtaW46d3Jvbmc=")), denied);
        assert_eq!(ask(&p, "/s", Some("Basic YWRtaW46c2VjcmV0")), HTML);
    }

    #[test]
    fn the_exporter_rule_comes_before_the_stats_uri() {
        let p = stats_proxy(
            "    stats uri /\n    http-request use-service prometheus-exporter if { path /metrics }\n",
        );
        assert_eq!(ask(&p, "/metrics", None), Access::Prometheus);
        assert_eq!(ask(&p, "/metrics/x", None), HTML);
    }
}
