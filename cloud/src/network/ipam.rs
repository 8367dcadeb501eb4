//! Address arithmetic for subnets and ports: CIDRs, gateways, allocation
//! pools and the choice of the first free address. Pure functions; the
//! service applies them inside the transaction that writes the port, where
//! the `(subnet_id, ip_address)` primary key of `ip_allocations` makes a
//! double allocation impossible.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::{IpNet, Ipv4Net};

use super::error::{NetworkError, Result};
use super::model::AllocationPool;

/// The most allocation pools one subnet may have (what the column holds).
pub const MAX_POOLS: usize = 64;

/// A subnet's CIDR: IPv4, no host bits set, with room for two hosts.
pub fn parse_cidr(text: &str) -> Result<Ipv4Net> {
    let text = text.trim();
    let net: IpNet = text.parse().map_err(|_| {
        NetworkError::invalid(format!(
            "Invalid input for cidr. Reason: '{text}' is not a valid IP subnet."
        ))
    })?;
    let net = match net {
        IpNet::V4(n) => n,
        IpNet::V6(_) => return Err(ipv6_unsupported()),
    };
    if net.trunc() != net {
        return Err(NetworkError::invalid(format!(
            "Invalid input for cidr. Reason: '{text}' isn't a recognized IP subnet cidr, '{}' is recommended.",
            net.trunc()
        )));
    }
    if net.prefix_len() == 0 || net.prefix_len() > 30 {
        return Err(NetworkError::invalid(format!(
            "Invalid input for cidr. Reason: the prefix of '{text}' must be between /1 and /30."
        )));
    }
    Ok(net)
}

pub fn ipv6_unsupported() -> NetworkError {
    NetworkError::invalid("IPv6 subnets are not supported yet: ip_version must be 4.")
}

/// An IPv4 address in field `field`.
pub fn parse_addr(field: &str, text: &str) -> Result<Ipv4Addr> {
    let text = text.trim();
    match text.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => Ok(a),
        Ok(std::net::IpAddr::V6(_)) => Err(ipv6_unsupported()),
        Err(_) => Err(NetworkError::invalid(format!(
            "Invalid input for {field}. Reason: '{text}' is not a valid IP address."
        ))),
    }
}

/// The first and last usable host of `cidr` (no network or broadcast
/// address), as integers.
pub fn host_range(cidr: &Ipv4Net) -> (u32, u32) {
    (
        u32::from(cidr.network()).saturating_add(1),
        u32::from(cidr.broadcast()).saturating_sub(1),
    )
}

/// Whether `ip` is a usable host of `cidr`.
pub fn is_host(cidr: &Ipv4Net, ip: Ipv4Addr) -> bool {
    let (first, last) = host_range(cidr);
    (first..=last).contains(&u32::from(ip))
}

/// The gateway a subnet gets when none is named: its first host.
pub fn default_gateway(cidr: &Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(host_range(cidr).0)
}

/// A gateway must be a host of the subnet.
pub fn check_gateway(cidr: &Ipv4Net, gateway: Ipv4Addr) -> Result<()> {
    if is_host(cidr, gateway) {
        Ok(())
    } else {
        Err(NetworkError::invalid(format!(
            "Gateway IP {gateway} is not a valid host address of subnet {cidr}."
        )))
    }
}

/// The default pools: every host of the CIDR but the gateway (one range,
/// or two around a gateway in the middle).
pub fn default_pools(cidr: &Ipv4Net, gateway: Option<Ipv4Addr>) -> Vec<AllocationPool> {
    let (first, last) = host_range(cidr);
    let mut out = Vec::new();
    let mut push = |a: u32, b: u32| {
        if a <= b {
            out.push(AllocationPool {
                start: Ipv4Addr::from(a),
                end: Ipv4Addr::from(b),
            });
        }
    };
    match gateway
        .map(u32::from)
        .filter(|g| (first..=last).contains(g))
    {
        None => push(first, last),
        Some(g) => {
            if g > first {
                push(first, g - 1);
            }
            if g < last {
                push(g + 1, last);
            }
        }
    }
    out
}

pub fn pool_text(p: &AllocationPool) -> String {
    format!("{}-{}", p.start, p.end)
}

/// Pools as asked, checked as Neutron does: each inside the CIDR's hosts
/// (`OutOfBoundsAllocationPool`, 400), start before end, none overlapping
/// another (`OverlappingAllocationPools`, 409) or holding the gateway
/// (`GatewayConflictWithAllocationPools`, 409). Answers them sorted.
pub fn check_pools(
    cidr: &Ipv4Net,
    pools: &[(String, String)],
    gateway: Option<Ipv4Addr>,
) -> Result<Vec<AllocationPool>> {
    if pools.len() > MAX_POOLS {
        return Err(NetworkError::invalid(format!(
            "A subnet has at most {MAX_POOLS} allocation pools."
        )));
    }
    let mut out = Vec::with_capacity(pools.len());
    for (start, end) in pools {
        let start = parse_addr("allocation_pools", start)?;
        let end = parse_addr("allocation_pools", end)?;
        if u32::from(start) > u32::from(end) {
            return Err(NetworkError::invalid(format!(
                "The allocation pool {start}-{end} starts after its end."
            )));
        }
        let pool = AllocationPool { start, end };
        if !is_host(cidr, start) || !is_host(cidr, end) {
            return Err(NetworkError::Validation {
                neutron_type: "OutOfBoundsAllocationPool",
                message: crate::msg!(
                    "error.network.pool_out_of_bounds",
                    "The allocation pool {pool} spans beyond the subnet cidr {subnet_cidr}.",
                    pool = pool_text(&pool),
                    subnet_cidr = cidr,
                ),
            });
        }
        out.push(pool);
    }
    out.sort();
    for w in out.windows(2) {
        if u32::from(w[1].start) <= u32::from(w[0].end) {
            return Err(NetworkError::Conflict {
                neutron_type: "OverlappingAllocationPools",
                message: crate::msg!(
                    "error.network.pools_overlap",
                    "Found overlapping allocation pools: {pool_1} and {pool_2} for subnet {subnet_cidr}.",
                    pool_1 = pool_text(&w[0]),
                    pool_2 = pool_text(&w[1]),
                    subnet_cidr = cidr,
                ),
            });
        }
    }
    if let Some(g) = gateway {
        if let Some(p) = out.iter().find(|p| pool_contains(p, g)) {
            return Err(gateway_conflict(g, p));
        }
    }
    Ok(out)
}

pub fn gateway_conflict(gateway: Ipv4Addr, pool: &AllocationPool) -> NetworkError {
    NetworkError::Conflict {
        neutron_type: "GatewayConflictWithAllocationPools",
        message: crate::msg!(
            "error.network.gateway_in_pool",
            "Gateway ip {ip_address} conflicts with allocation pool {pool}.",
            ip_address = gateway,
            pool = pool_text(pool),
        ),
    }
}

pub fn pool_contains(p: &AllocationPool, ip: Ipv4Addr) -> bool {
    (u32::from(p.start)..=u32::from(p.end)).contains(&u32::from(ip))
}

/// The first address of the pools (in order) that is not in `used`.
pub fn first_free(pools: &[AllocationPool], used: &BTreeSet<u32>) -> Option<Ipv4Addr> {
    for p in pools {
        let (start, end) = (u32::from(p.start), u32::from(p.end));
        let mut candidate = start;
        for &u in used.range(start..=end) {
            if u != candidate {
                break;
            }
            if candidate == end {
                break;
            }
            candidate += 1;
        }
        if !used.contains(&candidate) && candidate <= end {
            return Some(Ipv4Addr::from(candidate));
        }
    }
    None
}

/// Neutron's generated MACs: the `fa:16:3e` prefix and three random bytes.
pub fn random_mac() -> String {
    let b: [u8; 3] = rand::random();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

/// A MAC as a client wrote it, normalised to lower-case colon form; a
/// multicast or all-zero address is refused.
pub fn parse_mac(text: &str) -> Result<String> {
    let invalid = || {
        NetworkError::invalid(format!(
            "Invalid input for mac_address. Reason: '{text}' is not a valid MAC address."
        ))
    };
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return Err(invalid());
    }
    let mut bytes = [0u8; 6];
    for (b, p) in bytes.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(invalid());
        }
        *b = u8::from_str_radix(p, 16).map_err(|_| invalid())?;
    }
    if bytes[0] & 1 == 1 || bytes == [0; 6] {
        return Err(invalid());
    }
    Ok(bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        parse_cidr(s).expect("cidr")
    }

    fn pool(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn cidrs_are_checked() {
        assert_eq!(net("10.0.0.0/24").to_string(), "10.0.0.0/24");
        for bad in [
            "10.0.0.1/24",
            "nonsense",
            "10.0.0.0/33",
            "0.0.0.0/0",
            "10.0.0.0/31",
            "fd00::/64",
        ] {
            assert!(parse_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_pools_leave_out_the_gateway() {
        let c = net("10.0.0.0/24");
        let g = default_gateway(&c);
        assert_eq!(g, Ipv4Addr::new(10, 0, 0, 1));
        let p = default_pools(&c, Some(g));
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].start, p[0].end),
            (
                "10.0.0.2".parse().expect("a"),
                "10.0.0.254".parse().expect("a")
            )
        );
        let mid = default_pools(&c, Some("10.0.0.100".parse().expect("a")));
        assert_eq!(mid.len(), 2);
        let none = default_pools(&c, None);
        assert_eq!(none[0].start, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn pools_are_validated() {
        let c = net("10.0.0.0/24");
        let g = Some(Ipv4Addr::new(10, 0, 0, 1));
        assert!(check_pools(&c, &[pool("10.0.0.10", "10.0.0.20")], g).is_ok());
        let out = check_pools(&c, &[pool("10.0.1.10", "10.0.1.20")], g).expect_err("outside");
        assert_eq!(out.neutron_type(), "OutOfBoundsAllocationPool");
        let over = check_pools(
            &c,
            &[
                pool("10.0.0.10", "10.0.0.20"),
                pool("10.0.0.20", "10.0.0.30"),
            ],
            g,
        )
        .expect_err("overlap");
        assert_eq!(over.neutron_type(), "OverlappingAllocationPools");
        let gw = check_pools(&c, &[pool("10.0.0.1", "10.0.0.20")], g).expect_err("gateway");
        assert_eq!(gw.neutron_type(), "GatewayConflictWithAllocationPools");
        assert!(check_pools(&c, &[pool("10.0.0.20", "10.0.0.10")], g).is_err());
        assert!(check_pools(&c, &[pool("10.0.0.0", "10.0.0.10")], None).is_err());
    }

    #[test]
    fn first_free_skips_used_addresses_across_pools() {
        let pools = [
            AllocationPool {
                start: Ipv4Addr::new(10, 0, 0, 2),
                end: Ipv4Addr::new(10, 0, 0, 4),
            },
            AllocationPool {
                start: Ipv4Addr::new(10, 0, 0, 10),
                end: Ipv4Addr::new(10, 0, 0, 10),
            },
        ];
        let mut used = BTreeSet::new();
        assert_eq!(first_free(&pools, &used), Some(Ipv4Addr::new(10, 0, 0, 2)));
        used.insert(u32::from(Ipv4Addr::new(10, 0, 0, 2)));
        used.insert(u32::from(Ipv4Addr::new(10, 0, 0, 4)));
        assert_eq!(first_free(&pools, &used), Some(Ipv4Addr::new(10, 0, 0, 3)));
        used.insert(u32::from(Ipv4Addr::new(10, 0, 0, 3)));
        assert_eq!(first_free(&pools, &used), Some(Ipv4Addr::new(10, 0, 0, 10)));
        used.insert(u32::from(Ipv4Addr::new(10, 0, 0, 10)));
        assert_eq!(first_free(&pools, &used), None);
    }

    #[test]
    fn macs() {
        let m = random_mac();
        assert!(m.starts_with("fa:16:3e:") && m.len() == 17, "{m}");
        assert_eq!(
            parse_mac("FA-16-3E-00-00-01").expect("mac"),
            "fa:16:3e:00:00:01"
        );
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("00:00:00:00:00:00").is_err());
        assert!(parse_mac("fa:16:3e:00:00").is_err());
    }
}
