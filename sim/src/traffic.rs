//! Simulated backends and clients (Simulator II): their loaded form and
//! the random draws they make.

use crate::access_log::Replayed;
use crate::scenario::{duration_field, Backend, Client, ScenarioError};
use haven_core::time::Duration;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha8Rng;
use std::net::SocketAddrV4;
use toml::Spanned;

/// A service-time (or think-time) distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    /// Always this long.
    Constant(Duration),
    /// Exponential with this mean.
    Exponential(Duration),
    /// Log-normal with this mean and standard deviation.
    LogNormal(Duration, Duration),
}

impl Dist {
    /// One draw.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> Duration {
        match *self {
            Self::Constant(d) => d,
            Self::Exponential(mean) => {
                let u = 1.0 - unit(rng);
                Duration::from_nanos((-(u.ln()) * mean.as_nanos() as f64) as u64)
            }
            Self::LogNormal(mean, sd) => {
                let (m, s) = (mean.as_nanos() as f64, sd.as_nanos() as f64);
                if m <= 0.0 {
                    return Duration::ZERO;
                }
                let sigma2 = (1.0 + s * s / (m * m)).ln();
                let z = gaussian(rng);
                Duration::from_nanos((m.ln() - sigma2 / 2.0 + sigma2.sqrt() * z).exp() as u64)
            }
        }
    }
}

/// Uniform in [0, 1).
pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller).
pub(crate) fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = unit(rng).max(f64::MIN_POSITIVE);
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A loaded backend.
#[derive(Debug, Clone)]
pub struct LoadedBackend {
    /// Its address.
    pub addr: SocketAddrV4,
    /// Service time.
    pub service: Dist,
    /// Concurrency.
    pub workers: u32,
    /// Status per path.
    pub status: Vec<(String, u16)>,
}

impl LoadedBackend {
    /// The status it answers `path` with.
    pub fn status_for(&self, path: &str) -> u16 {
        let path = path.split('?').next().unwrap_or(path);
        self.status
            .iter()
            .find(|(p, _)| p == path)
            .map_or(200, |(_, s)| *s)
    }
}

/// How clients pace their requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Open loop: arrivals this far apart (exponential: Poisson
    /// arrivals; constant: a fixed rate).
    Open(Dist),
    /// `users` users, each thinking this long between requests.
    Closed { users: u32, think: Dist },
    /// The requests of an access log, each when it came (see
    /// [`LoadedClient::replay`]).
    Replay,
}

/// A loaded client group.
#[derive(Debug, Clone)]
pub struct LoadedClient {
    /// Name.
    pub name: String,
    /// VIP and port.
    pub target: SocketAddrV4,
    /// Pacing.
    pub pace: Pace,
    /// Host headers and their cumulative weights.
    pub hosts: Vec<(String, f64)>,
    /// Path.
    pub path: String,
    /// Client timeout.
    pub timeout: Duration,
    /// Active from.
    pub start: Duration,
    /// Active until.
    pub stop: Option<Duration>,
    /// Connections reused (no handshake per request).
    pub keepalive: bool,
    /// Resends of a failed request.
    pub retries: u32,
    /// The requests it replays, in order (`Pace::Replay`).
    pub replay: Vec<Replayed>,
}

impl LoadedClient {
    /// Draws a Host header from the mix.
    pub fn pick_host(&self, rng: &mut ChaCha8Rng) -> Option<&str> {
        let total = self.hosts.last()?.1;
        let x = unit(rng) * total;
        self.hosts
            .iter()
            .find(|(_, c)| x < *c)
            .or(self.hosts.last())
            .map(|(h, _)| h.as_str())
    }
}

fn socket(
    file: &str,
    text: &str,
    v: &toml::Spanned<String>,
) -> Result<SocketAddrV4, ScenarioError> {
    v.get_ref().parse().map_err(|_| {
        ScenarioError::at(
            file,
            text,
            Some(v.span()),
            format!("'{}' is not an IPv4 address with a port", v.get_ref()),
        )
    })
}

/// The distribution named by `name` (default exponential) of mean
/// `mean`, with `stddev` for a log-normal one (default: the mean).
fn distribution(
    (file, text): (&str, &str),
    name: Option<&Spanned<String>>,
    mean: Duration,
    stddev: Option<&Spanned<String>>,
) -> Result<Dist, ScenarioError> {
    Ok(match name.map(|d| (d.get_ref().as_str(), d.span())) {
        None | Some(("exponential", _)) => Dist::Exponential(mean),
        Some(("constant", _)) => Dist::Constant(mean),
        Some(("lognormal", _)) => {
            let sd = match stddev {
                Some(v) => duration_field(file, text, v)?,
                None => mean,
            };
            Dist::LogNormal(mean, sd)
        }
        Some((other, span)) => {
            return Err(ScenarioError::at(
                file,
                text,
                Some(span),
                format!("distribution '{other}' must be exponential, constant or lognormal"),
            ))
        }
    })
}

/// Loads a program's start lag (constant unless said otherwise).
pub(crate) fn load_lag(
    file: &str,
    text: &str,
    lag: &crate::scenario::Lag,
) -> Result<Dist, ScenarioError> {
    let mean = duration_field(file, text, &lag.mean)?;
    match &lag.distribution {
        None => Ok(Dist::Constant(mean)),
        Some(name) => distribution((file, text), Some(name), mean, lag.stddev.as_ref()),
    }
}

/// Loads a backend.
pub(crate) fn load_backend(
    file: &str,
    text: &str,
    b: &Backend,
) -> Result<LoadedBackend, ScenarioError> {
    let mean = duration_field(file, text, &b.service)?;
    let service = distribution(
        (file, text),
        b.distribution.as_ref(),
        mean,
        b.stddev.as_ref(),
    )?;
    Ok(LoadedBackend {
        addr: socket(file, text, &b.address)?,
        service,
        workers: b.workers.max(1),
        status: b.status.iter().map(|(p, s)| (p.clone(), *s)).collect(),
    })
}

/// Loads a client group.
pub(crate) fn load_client(
    file: &str,
    text: &str,
    c: &Client,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<LoadedClient, ScenarioError> {
    let target = socket(file, text, &c.target)?;
    let vary = |mean| {
        distribution(
            (file, text),
            c.distribution.as_ref(),
            mean,
            c.stddev.as_ref(),
        )
    };
    let replay = match &c.replay {
        Some(log) => replayed(file, text, log, read)?,
        None => Vec::new(),
    };
    let pace = match (c.rate, c.users) {
        (None, None) if c.replay.is_some() => Pace::Replay,
        (Some(r), None) if r > 0.0 && c.replay.is_none() => {
            Pace::Open(vary(Duration::from_nanos((1e9 / r) as u64))?)
        }
        (None, Some(u)) if u > 0 && c.replay.is_none() => {
            let think = match &c.think {
                Some(t) => vary(duration_field(file, text, t)?)?,
                None => Dist::Constant(Duration::ZERO),
            };
            Pace::Closed { users: u, think }
        }
        _ => {
            return Err(ScenarioError::at(
                file,
                text,
                Some(c.target.span()),
                format!(
                    "client '{}' needs one of rate (> 0), users (> 0) or replay",
                    c.name
                ),
            ));
        }
    };
    let mut acc = 0.0;
    let hosts = c
        .hosts
        .iter()
        .filter(|(_, w)| **w > 0.0)
        .map(|(h, w)| {
            acc += w;
            (h.clone(), acc)
        })
        .collect();
    let opt = |v: &Option<toml::Spanned<String>>| {
        v.as_ref()
            .map(|v| duration_field(file, text, v))
            .transpose()
    };
    Ok(LoadedClient {
        name: c.name.clone(),
        target,
        pace,
        hosts,
        path: c.path.clone(),
        timeout: opt(&c.timeout)?.unwrap_or(Duration::from_secs(5)),
        start: opt(&c.start)?.unwrap_or(Duration::ZERO),
        stop: opt(&c.stop)?,
        keepalive: c.keepalive,
        retries: c.retries,
        replay,
    })
}

/// The requests of the access log `log` names, read with `read`; an
/// error points at `log` and names the log's line.
fn replayed(
    file: &str,
    text: &str,
    log: &Spanned<String>,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Vec<Replayed>, ScenarioError> {
    let err = |msg: String| ScenarioError::at(file, text, Some(log.span()), msg);
    let body = read(log.get_ref()).map_err(err)?;
    crate::access_log::read(&body).map_err(|(line, why)| match line {
        0 => err(format!("{}: {why}", log.get_ref())),
        n => err(format!("{}:{n}: {why}", log.get_ref())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn exponential_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let d = Dist::Exponential(Duration::from_millis(2));
        let mean = (0..50_000)
            .map(|_| d.sample(&mut rng).as_nanos() as f64)
            .sum::<f64>()
            / 50_000.0;
        assert!((mean - 2_000_000.0).abs() < 40_000.0, "{mean}");
    }
}
