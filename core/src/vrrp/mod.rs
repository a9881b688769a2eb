//! VRRP as keepalived does it (spec/vrrp-keepalived.md): the packet codec
//! and receive checks, timer formulas, tracked scripts, the per-instance
//! state machine, and the [`Vrrp`] daemon that runs them.
//!
//! Driving contract (sans-IO, STYLE.md §1): the driver calls
//! [`Vrrp::start`], then feeds `handle_*` inputs with `now` and the node's
//! timers, fires due [`Timer`]s through [`Vrrp::handle_timer`], and drains
//! [`Output`]s with [`Vrrp::poll_output`] after each call, in order.

mod checksum;
mod daemon;
mod data_dump;
mod dump;
mod garp;
mod idiom;
mod instance;
mod mail;
pub mod packet;
mod reload;
mod script;
pub mod timers;

pub use daemon::{priority_with, HostInfo, InstanceView, SetupError, Vrrp};
pub use dump::stats_dump;
pub use garp::{garp_frame, na_frame, GARP_LEN, NA_LEN};
pub use idiom::is_haproxy_idiom;
pub use instance::Stats;
pub use mail::Alert;
pub use script::Health;

use crate::config::keepalived::Compat;
use crate::log::keepalived::Record;
use crate::sched::Timers;
use crate::time::{Duration, Instant};
use packet::Advert;
use std::collections::VecDeque;
use std::net::IpAddr;

/// An instance's VRRP state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Not started, or stopped.
    Init,
    /// Listening for a master.
    Backup,
    /// Sending adverts (VIPs set from the first one on).
    Master,
    /// A tracked item failed: silent.
    Fault,
}

impl State {
    /// keepalived's upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
            Self::Fault => "FAULT",
        }
    }
}

/// The state a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyState {
    /// `notify_master`.
    Master,
    /// `notify_backup`.
    Backup,
    /// `notify_fault`.
    Fault,
    /// `notify_stop`.
    Stop,
}

/// The daemon's named timers; `usize` is an instance or script index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// A BACKUP's master-down deadline (1.x: also a forced election).
    MasterDown(usize),
    /// A MASTER's next advert.
    Advert(usize),
    /// The second GARP burst after becoming MASTER.
    GarpDelayed(usize),
    /// 1.x: recompute the effective priority.
    PriorityPoll(usize),
    /// Launch a tracked script.
    Script(usize),
    /// A running script's time is up.
    ScriptTimeout(usize),
}

/// What the daemon asks its driver to do, in order. Fields: `instance` /
/// `script` are indexes in config order; `src` / `dst` the advert's addresses.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send an advert (encode with [`Advert::encode_ipv4`] and `ip_id`).
    Advert {
        instance: usize,
        src: IpAddr,
        dst: IpAddr,
        advert: Advert,
        ip_id: u16,
    },
    /// Add these of the instance's VIPs (all of them, but on a reload) to
    /// its interface.
    AddVips { instance: usize, addrs: Vec<IpAddr> },
    /// Remove these of its VIPs.
    RemoveVips { instance: usize, addrs: Vec<IpAddr> },
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) frame.
    Garp {
        instance: usize,
        iface: String,
        addr: IpAddr,
    },
    /// Run the notify programs for a state change.
    Notify {
        instance: usize,
        state: NotifyState,
        priority: u8,
    },
    /// Mail this alert to `notification_email` through `smtp_server`.
    Mail { instance: usize, alert: Alert },
    /// Run tracked script `script`; report with `handle_script_result`.
    RunScript {
        script: usize,
        command: String,
        timeout: Duration,
    },
    /// Kill the still-running tracked script `script`.
    KillScript { script: usize },
    /// A log line.
    Log(Record),
    /// A reload switched configs ([`Vrrp::reload`]): from here on,
    /// `instance` and `script` index the new config; before, the old one.
    Reconfigured,
}

/// What an instance method needs from the daemon.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) timers: &'a mut dyn Timers<Timer>,
    pub(crate) out: &'a mut VecDeque<Output>,
    pub(crate) compat: Compat,
}

impl Ctx<'_> {
    fn emit(&mut self, o: Output) {
        self.out.push_back(o);
    }
    fn log(&mut self, r: Record) {
        self.out.push_back(Output::Log(r));
    }
}
