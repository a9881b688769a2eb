//! keepalived.conf keywords haven parses without honouring them.

use super::{gap, Gap, Impact::*};

/// Top-level blocks and keywords.
pub const KEEPALIVED_TOP: &[Gap] = &[
    gap(
        "virtual_server",
        Traffic,
        "no LVS: the virtual server is not set up",
    ),
    gap(
        "virtual_server_group",
        Traffic,
        "no LVS: the group is not set up",
    ),
    gap("static_ipaddress", Traffic, "the addresses are not added"),
    gap("static_routes", Traffic, "the routes are not added"),
    gap("static_rules", Traffic, "the rules are not added"),
    gap(
        "vrrp_track_process",
        Traffic,
        "the process is not tracked: priorities do not follow it",
    ),
    gap(
        "vrrp_track_file",
        Traffic,
        "the file is not tracked: priorities do not follow it",
    ),
    gap(
        "track_file",
        Traffic,
        "the file is not tracked: priorities do not follow it",
    ),
    gap("bfd_instance", Traffic, "no BFD"),
    gap(
        "vrrp_track_bfd",
        Traffic,
        "no BFD: priorities do not follow it",
    ),
    gap(
        "linkbeat_interfaces",
        Reported,
        "link state is read from netlink",
    ),
    gap(
        "net_namespace",
        Traffic,
        "VRRP runs in the process's own namespace",
    ),
    gap("net_namespace_ipvs", Unseen, "no LVS"),
    gap(
        "instance",
        Reported,
        "pid and log file names are not suffixed",
    ),
    gap("use_pid_dir", Reported, "pid files are where -p and -r say"),
    gap("namespace_with_ipsets", Unseen, "no ipsets"),
    gap(
        "garp_group",
        Reported,
        "gratuitous ARPs follow each instance's own settings",
    ),
];

/// `global_defs` keywords.
pub const KEEPALIVED_GLOBAL: &[Gap] = &[
    gap(
        "vrrp_skip_check_adv_addr",
        Reported,
        "every advert's address list is checked",
    ),
    gap(
        "vrrp_strict",
        Traffic,
        "no strict RFC mode: no filter on the VIPs, unicast and auth allowed",
    ),
    gap(
        "vrrp_garp_interval",
        Reported,
        "no delay between gratuitous ARPs",
    ),
    gap(
        "vrrp_gna_interval",
        Reported,
        "no delay between unsolicited neighbour adverts",
    ),
    gap("lvs_id", Unseen, "no LVS"),
    gap(
        "vrrp_mcast_group4",
        Traffic,
        "adverts go to 224.0.0.18: peers on another group are not heard",
    ),
    gap(
        "vrrp_mcast_group6",
        Traffic,
        "adverts go to ff02::12: peers on another group are not heard",
    ),
    gap(
        "vrrp_iptables",
        Traffic,
        "no filter rules are added for the VIPs",
    ),
    gap(
        "nftables",
        Traffic,
        "no filter rules are added for the VIPs",
    ),
    gap(
        "max_auto_priority",
        Unseen,
        "the process's scheduling priority is left as is",
    ),
    gap(
        "default_interface",
        Traffic,
        "instances without an interface are refused",
    ),
    gap("checker_log_all_failures", Unseen, "no LVS checkers"),
    gap(
        "dynamic_interfaces",
        Reported,
        "interfaces must exist at start",
    ),
    gap("vrrp_no_swap", Unseen, "memory may be swapped"),
    gap("checker_no_swap", Unseen, "no LVS checkers"),
    gap(
        "vrrp_notify_fifo",
        Reported,
        "no state lines are written to the FIFO",
    ),
    gap(
        "notify_fifo",
        Reported,
        "no state lines are written to the FIFO",
    ),
    gap("vrrp_notify_fifo_script", Reported, "no FIFO script is run"),
    gap("notify_fifo_script", Reported, "no FIFO script is run"),
    gap("lvs_notify_fifo", Unseen, "no LVS"),
    gap("smtp_alert_checker", Unseen, "no LVS checkers"),
    gap("lvs_timeouts", Unseen, "no LVS"),
    gap("lvs_sync_daemon", Unseen, "no LVS"),
    gap("lvs_flush", Unseen, "no LVS"),
    gap("enable_traps", Reported, "no SNMP traps"),
    gap("snmp_socket", Reported, "no SNMP"),
    gap("enable_snmp_vrrp", Reported, "no SNMP"),
    gap("enable_snmp_checker", Reported, "no SNMP"),
    gap("enable_snmp_rfc", Reported, "no SNMP"),
    gap("enable_dbus", Reported, "no D-Bus"),
    gap(
        "vrrp_lower_prio_no_advert",
        Traffic,
        "a master answers a lower priority advert as RFC 3768 says",
    ),
    gap(
        "vrrp_higher_prio_send_advert",
        Traffic,
        "a master does not advert back to a higher priority",
    ),
    gap(
        "vrrp_check_unicast_src",
        Traffic,
        "unicast adverts are taken from any source",
    ),
    gap(
        "vrrp_garp_lower_prio_delay",
        Reported,
        "gratuitous ARPs after a lower priority advert follow garp_master_delay",
    ),
    gap(
        "vrrp_garp_lower_prio_repeat",
        Reported,
        "gratuitous ARPs after a lower priority advert follow garp_master_repeat",
    ),
    gap(
        "vrrp_garp_master_refresh_repeat",
        Reported,
        "one gratuitous ARP per refresh",
    ),
    gap("vrrp_startup_delay", Reported, "VRRP starts at once"),
    gap(
        "vrrp_priority",
        Unseen,
        "the process's scheduling priority is left as is",
    ),
    gap("checker_priority", Unseen, "no LVS checkers"),
    gap("bfd_priority", Unseen, "no BFD"),
    gap("vrrp_rt_priority", Unseen, "no real-time scheduling"),
    gap("vrrp_cpu_affinity", Unseen, "no CPU pinning"),
    gap("umask", Unseen, "files are made with the process's umask"),
    gap(
        "vrrp_min_garp",
        Reported,
        "gratuitous ARPs follow garp_master_repeat",
    ),
    gap(
        "process_names",
        Unseen,
        "processes keep the executable's name",
    ),
    gap(
        "linkbeat_use_polling",
        Reported,
        "link state is read from netlink",
    ),
    gap(
        "router_id_to_instance",
        Reported,
        "the router id is not suffixed",
    ),
    gap(
        "script_user_allow_root",
        Unseen,
        "scripts run as `script_user` or root",
    ),
    gap(
        "vrrp_netlink_cmd_rcv_bufs",
        Unseen,
        "netlink buffers are the system's",
    ),
    gap(
        "vrrp_netlink_monitor_rcv_bufs",
        Unseen,
        "netlink buffers are the system's",
    ),
    gap(
        "vrrp_garp_extra_if",
        Reported,
        "no gratuitous ARPs on other interfaces",
    ),
    gap(
        "instance",
        Reported,
        "pid and log file names are not suffixed",
    ),
    gap(
        "vrrp_rx_bufs_policy",
        Unseen,
        "receive buffers are the system's",
    ),
    gap(
        "vrrp_rx_bufs_multiplier",
        Unseen,
        "receive buffers are the system's",
    ),
];

/// `vrrp_instance` keywords.
pub const KEEPALIVED_INSTANCE: &[Gap] = &[
    gap("lvs_sync_daemon_interface", Unseen, "no LVS"),
    gap(
        "dont_track_primary",
        Traffic,
        "a fault of the instance's interface still takes it to FAULT",
    ),
    gap(
        "use_vmac",
        Traffic,
        "no VMAC interface: the VIP answers with the host's MAC",
    ),
    gap("vmac_xmit_base", Traffic, "no VMAC interface"),
    gap(
        "native_ipv6",
        Traffic,
        "the instance's protocol follows its addresses",
    ),
    gap("debug", Unseen, "no debug output"),
    gap(
        "accept",
        Traffic,
        "the VIP's traffic is taken as the host's firewall allows",
    ),
    gap(
        "no_accept",
        Traffic,
        "the VIP's traffic is taken as the host's firewall allows",
    ),
    gap(
        "strict_mode",
        Traffic,
        "no strict RFC mode for the instance",
    ),
    gap(
        "skip_check_adv_addr",
        Reported,
        "every advert's address list is checked",
    ),
    gap(
        "check_unicast_src",
        Traffic,
        "unicast adverts are taken from any source",
    ),
    gap(
        "unicast_ttl",
        Traffic,
        "unicast adverts go out with TTL 255 and any TTL is taken",
    ),
    gap(
        "track_process",
        Traffic,
        "the process is not tracked: priorities do not follow it",
    ),
    gap(
        "track_file",
        Traffic,
        "the file is not tracked: priorities do not follow it",
    ),
    gap("track_bfd", Traffic, "no BFD: priorities do not follow it"),
    gap(
        "virtual_routes",
        Traffic,
        "the routes are not added with the VIPs",
    ),
    gap(
        "virtual_rules",
        Traffic,
        "the rules are not added with the VIPs",
    ),
    gap(
        "notify_master_rx_lower_pri",
        Reported,
        "the script is not run",
    ),
    gap(
        "notify_deleted",
        Reported,
        "no notification when the instance is removed",
    ),
    gap(
        "lower_prio_no_advert",
        Traffic,
        "a master answers a lower priority advert as RFC 3768 says",
    ),
    gap(
        "higher_prio_send_advert",
        Traffic,
        "a master does not advert back to a higher priority",
    ),
    gap(
        "kernel_rx_buf_size",
        Unseen,
        "receive buffers are the system's",
    ),
    gap(
        "old_unicast_checksum",
        Traffic,
        "unicast adverts carry the RFC checksum: peers wanting the old one drop them",
    ),
    gap(
        "unicast_fault_no_peer",
        Traffic,
        "a unicast instance without peers does not go to FAULT",
    ),
    gap(
        "linkbeat_use_polling",
        Reported,
        "link state is read from netlink",
    ),
    gap(
        "garp_master_refresh_repeat",
        Reported,
        "one gratuitous ARP per refresh",
    ),
    gap(
        "garp_lower_prio_delay",
        Reported,
        "gratuitous ARPs after a lower priority advert follow garp_master_delay",
    ),
    gap(
        "garp_lower_prio_repeat",
        Reported,
        "gratuitous ARPs after a lower priority advert follow garp_master_repeat",
    ),
    gap(
        "virtual_ipaddress_excluded",
        Traffic,
        "the addresses are not added",
    ),
    gap(
        "notify_priority_changes",
        Reported,
        "no notification of priority changes",
    ),
    gap("track_src_ip", Traffic, "the source address is not tracked"),
    gap(
        "mcast_dst",
        Traffic,
        "adverts go to 224.0.0.18: peers on another group are not heard",
    ),
    gap(
        "promote_secondaries",
        Reported,
        "secondary addresses are not promoted when the primary goes",
    ),
    gap(
        "vrrp_garp_interval",
        Reported,
        "no delay between gratuitous ARPs",
    ),
    gap(
        "vrrp_gna_interval",
        Reported,
        "no delay between unsolicited neighbour adverts",
    ),
    gap(
        "virtual_ipaddress",
        Traffic,
        "this address option is not applied",
    ),
];

/// `vrrp_sync_group` keywords.
pub const KEEPALIVED_SYNC_GROUP: &[Gap] = &[
    gap(
        "global_tracking",
        Traffic,
        "each instance tracks only what it names itself",
    ),
    gap(
        "sync_group_tracking_weight",
        Traffic,
        "tracked items move the whole group to FAULT",
    ),
    gap(
        "track_interface",
        Traffic,
        "the group does not follow the interface",
    ),
    gap(
        "track_script",
        Traffic,
        "the group does not follow the script",
    ),
    gap("track_file", Traffic, "the group does not follow the file"),
    gap(
        "track_process",
        Traffic,
        "the group does not follow the process",
    ),
    gap("track_bfd", Traffic, "the group does not follow BFD"),
    gap(
        "notify_priority_changes",
        Reported,
        "no notification of priority changes",
    ),
];
