//! Network service behaviour, on SQLite and on MariaDB: networks, subnets
//! and ports with their validation, per-project isolation, shared networks,
//! IPAM under concurrency (distinct addresses, clean exhaustion, reuse
//! after delete), security groups and rules (the default group, rule
//! checks, ports' groups, isolation), and quotas.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use cloud::error::{ErrorKind, ServiceError};
use cloud::network::*;
use cloud::quota::Resource;
use cloud::testing::ScratchDb;
use cloud::{per_backend, Backend, RequestContext, Scope, SortDir};

fn ctx(project: &str, roles: &[&str]) -> RequestContext {
    RequestContext {
        user_id: format!("user-of-{project}"),
        user_name: format!("user-of-{project}"),
        user_domain_id: "default".into(),
        scope: Scope::Project {
            id: project.into(),
            name: project.into(),
            domain_id: "default".into(),
            domain_name: "Default".into(),
        },
        roles: roles.iter().map(|r| r.to_string()).collect(),
        audit_id: "audit".into(),
        app_cred_id: None,
        request_id: cloud::context::new_request_id(),
    }
}

fn member(project: &str) -> RequestContext {
    ctx(project, &["member", "reader"])
}

fn reader(project: &str) -> RequestContext {
    ctx(project, &["reader"])
}

fn admin() -> RequestContext {
    ctx("admin", &["admin", "member", "reader"])
}

async fn setup(backend: Backend) -> (ScratchDb, NetworkService) {
    let scratch = ScratchDb::new(backend).await;
    let svc = NetworkService::new(scratch.db.clone(), NetworkConfig::default());
    (scratch, svc)
}

fn net(name: &str) -> NewNetwork {
    NewNetwork {
        name: name.into(),
        ..Default::default()
    }
}

fn subnet(network_id: &str, cidr: &str) -> NewSubnet {
    NewSubnet {
        network_id: network_id.into(),
        name: format!("sub-{cidr}"),
        cidr: cidr.into(),
        ..Default::default()
    }
}

fn port(network_id: &str) -> NewPort {
    NewPort {
        network_id: network_id.into(),
        ..Default::default()
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn kind_of<T: std::fmt::Debug>(r: Result<T, NetworkError>) -> (ErrorKind, &'static str) {
    let e = r.expect_err("expected an error");
    (e.kind(), e.neutron_type())
}

async fn networks_crud_policy_and_isolation(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let a = member("proj-a");
    let b = member("proj-b");

    let n = svc.create_network(&a, net("net-a")).await.unwrap();
    assert_eq!(n.project_id, "proj-a");
    assert_eq!(n.status, "ACTIVE");
    assert!(n.admin_state_up && !n.shared && !n.router_external);
    assert_eq!(n.network_type, NetworkType::Vxlan);
    assert_eq!(n.mtu, 1450);
    assert_eq!(n.physical_network, None);
    let vni = n.segmentation_id.unwrap();
    let n2 = svc.create_network(&a, net("net-a2")).await.unwrap();
    assert_ne!(n2.segmentation_id.unwrap(), vni, "VNIs are unique");

    // The owner reads, lists, updates.
    assert_eq!(svc.get_network(&a, &n.id).await.unwrap().name, "net-a");
    let u = svc
        .update_network(
            &a,
            &n.id,
            NetworkUpdate {
                name: Some("renamed".into()),
                admin_state_up: Some(false),
                mtu: Some(1400),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.admin_state_up, u.mtu),
        ("renamed", false, 1400)
    );
    assert_eq!(
        kind_of(
            svc.update_network(
                &a,
                &n.id,
                NetworkUpdate {
                    mtu: Some(9000),
                    ..Default::default()
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "InvalidInput")
    );

    // Another project sees nothing of it.
    assert_eq!(
        kind_of(svc.get_network(&b, &n.id).await),
        (ErrorKind::NotFound, "NetworkNotFound")
    );
    assert_eq!(
        kind_of(
            svc.update_network(&b, &n.id, NetworkUpdate::default())
                .await
        )
        .0,
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(svc.delete_network(&b, &n.id).await).0,
        ErrorKind::NotFound
    );
    let listed = svc
        .list_networks(&b, &NetworkFilter::default())
        .await
        .unwrap();
    assert_eq!((listed.items.len(), listed.total), (0, 0));

    // A reader reads but does not write.
    let r = reader("proj-a");
    assert_eq!(
        svc.list_networks(&r, &NetworkFilter::default())
            .await
            .unwrap()
            .total,
        2
    );
    assert_eq!(
        kind_of(svc.create_network(&r, net("x")).await).0,
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind_of(svc.delete_network(&r, &n.id).await).0,
        ErrorKind::Forbidden
    );

    // Members may not share, make external, choose a segment, or create
    // in another project.
    for new in [
        NewNetwork {
            shared: true,
            ..net("s")
        },
        NewNetwork {
            router_external: true,
            ..net("e")
        },
        NewNetwork {
            network_type: Some(NetworkType::Vxlan),
            segmentation_id: Some(5000),
            ..net("p")
        },
        NewNetwork {
            project_id: Some("proj-b".into()),
            ..net("o")
        },
    ] {
        assert_eq!(
            kind_of(svc.create_network(&a, new).await).0,
            ErrorKind::Forbidden
        );
    }
    assert_eq!(
        kind_of(
            svc.update_network(
                &a,
                &n.id,
                NetworkUpdate {
                    shared: Some(true),
                    ..Default::default()
                }
            )
            .await
        )
        .0,
        ErrorKind::Forbidden
    );

    // Admin: shared and external networks are visible to every project.
    let ad = admin();
    let shared = svc
        .create_network(
            &ad,
            NewNetwork {
                shared: true,
                ..net("shared")
            },
        )
        .await
        .unwrap();
    let ext = svc
        .create_network(
            &ad,
            NewNetwork {
                router_external: true,
                network_type: Some(NetworkType::Flat),
                physical_network: Some("physnet1".into()),
                ..net("public")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (ext.network_type, ext.mtu, ext.segmentation_id),
        (NetworkType::Flat, 1500, None)
    );
    assert_eq!(ext.physical_network.as_deref(), Some("physnet1"));
    let seen = svc
        .list_networks(&b, &NetworkFilter::default())
        .await
        .unwrap();
    let names: BTreeSet<String> = seen.items.iter().map(|n| n.name.clone()).collect();
    assert_eq!(names, ["public", "shared"].map(String::from).into());
    assert_eq!(svc.get_network(&b, &shared.id).await.unwrap().id, shared.id);
    // Visible is not writable.
    assert_eq!(
        kind_of(
            svc.update_network(&b, &shared.id, NetworkUpdate::default())
                .await
        )
        .0,
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind_of(svc.delete_network(&b, &ext.id).await).0,
        ErrorKind::Forbidden
    );
    let only_shared = svc
        .list_networks(
            &b,
            &NetworkFilter {
                shared: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only_shared.items.len(), 1);
    let only_ext = svc
        .list_networks(
            &b,
            &NetworkFilter {
                router_external: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only_ext.items[0].id, ext.id);

    // Provider segments are unique; a flat network needs its physical network.
    assert_eq!(
        kind_of(
            svc.create_network(
                &ad,
                NewNetwork {
                    network_type: Some(NetworkType::Flat),
                    physical_network: Some("physnet1".into()),
                    ..net("again")
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "FlatNetworkInUse")
    );
    assert_eq!(
        kind_of(
            svc.create_network(
                &ad,
                NewNetwork {
                    network_type: Some(NetworkType::Vxlan),
                    segmentation_id: Some(vni),
                    ..net("dup-vni")
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "TunnelIdInUse")
    );
    assert_eq!(
        kind_of(
            svc.create_network(
                &ad,
                NewNetwork {
                    network_type: Some(NetworkType::Flat),
                    ..net("f")
                }
            )
            .await
        )
        .0,
        ErrorKind::BadRequest
    );
    let chosen = svc
        .create_network(
            &ad,
            NewNetwork {
                network_type: Some(NetworkType::Vxlan),
                segmentation_id: Some(4242),
                project_id: Some("proj-c".into()),
                ..net("chosen")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (chosen.segmentation_id, chosen.project_id.as_str()),
        (Some(4242), "proj-c")
    );

    // The admin sees all; filters, sorting and paging.
    let all = svc
        .list_networks(&ad, &NetworkFilter::default())
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    let by_project = svc
        .list_networks(
            &ad,
            &NetworkFilter {
                project_id: Some("proj-a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_project.total, 2);
    let by_name = svc
        .list_networks(
            &ad,
            &NetworkFilter {
                name: Some("shared".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_name.items[0].id, shared.id);
    let sorted = svc
        .list_networks(
            &ad,
            &NetworkFilter {
                sort: vec![(NetworkSortKey::Name, SortDir::Desc)],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = sorted.items.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["shared", "renamed", "public", "net-a2", "chosen"]);
    let mut paged = Vec::new();
    let mut marker = None;
    loop {
        let page = svc
            .list_networks(
                &ad,
                &NetworkFilter {
                    sort: vec![(NetworkSortKey::Name, SortDir::Asc)],
                    limit: Some(2),
                    marker: marker.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if page.items.is_empty() {
            break;
        }
        assert_eq!(page.total, 5);
        marker = page.items.last().map(|n| n.id.clone());
        paged.extend(page.items.into_iter().map(|n| n.name));
    }
    assert_eq!(paged, ["chosen", "net-a2", "public", "renamed", "shared"]);
    // Another project's network is no marker.
    assert_eq!(
        kind_of(
            svc.list_networks(
                &b,
                &NetworkFilter {
                    marker: Some(n.id.clone()),
                    ..Default::default()
                }
            )
            .await
        )
        .0,
        ErrorKind::NotFound
    );

    // Delete.
    svc.delete_network(&a, &n2.id).await.unwrap();
    assert_eq!(
        kind_of(svc.get_network(&a, &n2.id).await).0,
        ErrorKind::NotFound
    );
    // Its VNI is free again.
    let reuse = svc.create_network(&a, net("reuse")).await.unwrap();
    assert_eq!(reuse.segmentation_id, n2.segmentation_id);
    scratch.finish().await;
}

async fn subnets_validation_and_isolation(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let a = member("proj-a");
    let b = member("proj-b");
    let n = svc.create_network(&a, net("net-a")).await.unwrap();

    let s = svc
        .create_subnet(&a, subnet(&n.id, "10.0.0.0/24"))
        .await
        .unwrap();
    assert_eq!(s.ip_version, 4);
    assert_eq!(s.cidr.to_string(), "10.0.0.0/24");
    assert_eq!(s.gateway_ip, Some(ip("10.0.0.1")));
    assert_eq!(
        s.allocation_pools,
        vec![AllocationPool {
            start: ip("10.0.0.2"),
            end: ip("10.0.0.254")
        }]
    );
    assert!(s.enable_dhcp);
    assert_eq!(
        svc.get_network(&a, &n.id).await.unwrap().subnets,
        vec![s.id.clone()]
    );

    // Bad input.
    for cidr in [
        "10.0.0.0/33",
        "banana",
        "10.0.1.1/24",
        "fd00::/64",
        "10.0.0.0/31",
    ] {
        let r = svc.create_subnet(&a, subnet(&n.id, cidr)).await;
        assert_eq!(kind_of(r).0, ErrorKind::BadRequest, "{cidr}");
    }
    let pool = |start: &str, end: &str| PoolRequest {
        start: start.into(),
        end: end.into(),
    };
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    allocation_pools: Some(vec![pool("10.1.0.10", "10.1.1.20")]),
                    ..subnet(&n.id, "10.1.0.0/24")
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "OutOfBoundsAllocationPool")
    );
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    allocation_pools: Some(vec![
                        pool("10.1.0.10", "10.1.0.20"),
                        pool("10.1.0.15", "10.1.0.30")
                    ]),
                    ..subnet(&n.id, "10.1.0.0/24")
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "OverlappingAllocationPools")
    );
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    allocation_pools: Some(vec![pool("10.1.0.1", "10.1.0.20")]),
                    ..subnet(&n.id, "10.1.0.0/24")
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "GatewayConflictWithAllocationPools")
    );
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    gateway_ip: GatewayRequest::Address("10.9.0.1".into()),
                    ..subnet(&n.id, "10.1.0.0/24")
                }
            )
            .await
        )
        .0,
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    ip_version: Some(6),
                    ..subnet(&n.id, "10.1.0.0/24")
                }
            )
            .await
        )
        .0,
        ErrorKind::BadRequest
    );
    // Overlapping a subnet of the same network is refused.
    for cidr in ["10.0.0.0/24", "10.0.0.128/25", "10.0.0.0/16"] {
        assert_eq!(
            kind_of(svc.create_subnet(&a, subnet(&n.id, cidr)).await),
            (ErrorKind::BadRequest, "InvalidInput"),
            "{cidr}"
        );
    }
    // Nothing refused was kept, quota included.
    let usage = svc.quota().usage(&a, "proj-a").await.unwrap();
    let subnets_used = usage
        .iter()
        .find(|u| u.resource == Resource::SUBNETS)
        .unwrap();
    assert_eq!(subnets_used.in_use, 1);

    // A second, custom subnet: no gateway, explicit pools, DNS, routes.
    let custom = svc
        .create_subnet(
            &a,
            NewSubnet {
                gateway_ip: GatewayRequest::None,
                allocation_pools: Some(vec![
                    pool("10.1.0.100", "10.1.0.110"),
                    pool("10.1.0.10", "10.1.0.20"),
                ]),
                dns_nameservers: vec!["8.8.8.8".into(), "1.1.1.1".into()],
                host_routes: vec![RouteRequest {
                    destination: "192.168.0.0/16".into(),
                    nexthop: "10.1.0.5".into(),
                }],
                enable_dhcp: Some(false),
                ..subnet(&n.id, "10.1.0.0/24")
            },
        )
        .await
        .unwrap();
    assert_eq!(custom.gateway_ip, None);
    assert_eq!(
        custom.allocation_pools[0].start,
        ip("10.1.0.10"),
        "pools are sorted"
    );
    assert_eq!(custom.dns_nameservers, vec![ip("8.8.8.8"), ip("1.1.1.1")]);
    assert_eq!(custom.host_routes[0].nexthop, ip("10.1.0.5"));
    assert!(!custom.enable_dhcp);
    let no_gw = svc
        .create_subnet(
            &a,
            NewSubnet {
                gateway_ip: GatewayRequest::None,
                ..subnet(&n.id, "10.2.0.0/30")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        no_gw.allocation_pools,
        vec![AllocationPool {
            start: ip("10.2.0.1"),
            end: ip("10.2.0.2")
        }]
    );
    assert_eq!(
        kind_of(
            svc.create_subnet(
                &a,
                NewSubnet {
                    dns_nameservers: vec!["8.8.8.8".into(), "8.8.8.8".into()],
                    ..subnet(&n.id, "10.3.0.0/24")
                }
            )
            .await
        )
        .0,
        ErrorKind::BadRequest
    );

    // Update.
    let u = svc
        .update_subnet(
            &a,
            &custom.id,
            SubnetUpdate {
                name: Some("custom".into()),
                dns_nameservers: Some(vec!["9.9.9.9".into()]),
                gateway_ip: Some(GatewayRequest::Address("10.1.0.1".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.gateway_ip),
        ("custom", Some(ip("10.1.0.1")))
    );
    assert_eq!(u.dns_nameservers, vec![ip("9.9.9.9")]);
    assert_eq!(
        kind_of(
            svc.update_subnet(
                &a,
                &custom.id,
                SubnetUpdate {
                    gateway_ip: Some(GatewayRequest::Address("10.1.0.15".into())),
                    ..Default::default()
                }
            )
            .await
        )
        .1,
        "GatewayConflictWithAllocationPools"
    );

    // The same CIDR in another project's network is normal.
    let nb = svc.create_network(&b, net("net-b")).await.unwrap();
    let sb = svc
        .create_subnet(&b, subnet(&nb.id, "10.0.0.0/24"))
        .await
        .unwrap();
    assert_eq!(sb.cidr, s.cidr);
    // And isolated: NotFound everywhere, nothing listed.
    assert_eq!(
        kind_of(svc.get_subnet(&a, &sb.id).await),
        (ErrorKind::NotFound, "SubnetNotFound")
    );
    assert_eq!(
        kind_of(svc.update_subnet(&a, &sb.id, SubnetUpdate::default()).await).0,
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(svc.delete_subnet(&a, &sb.id).await).0,
        ErrorKind::NotFound
    );
    let listed = svc
        .list_subnets(&b, &SubnetFilter::default())
        .await
        .unwrap();
    assert_eq!(
        listed.items.iter().map(|s| &s.id).collect::<Vec<_>>(),
        vec![&sb.id]
    );
    // Nor may a project put a subnet on another's network.
    assert_eq!(
        kind_of(svc.create_subnet(&b, subnet(&n.id, "10.5.0.0/24")).await).0,
        ErrorKind::NotFound
    );
    let by_net = svc
        .list_subnets(
            &a,
            &SubnetFilter {
                network_id: Some(n.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_net.total, 3);
    let by_cidr = svc
        .list_subnets(
            &admin(),
            &SubnetFilter {
                cidr: Some("10.0.0.0/24".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_cidr.total, 2);

    // A shared network's subnets are visible to all; only its owner adds some.
    let ad = admin();
    let shared = svc
        .create_network(
            &ad,
            NewNetwork {
                shared: true,
                ..net("shared")
            },
        )
        .await
        .unwrap();
    let ss = svc
        .create_subnet(&ad, subnet(&shared.id, "172.16.0.0/24"))
        .await
        .unwrap();
    assert_eq!(svc.get_subnet(&b, &ss.id).await.unwrap().id, ss.id);
    assert_eq!(
        kind_of(
            svc.create_subnet(&b, subnet(&shared.id, "172.17.0.0/24"))
                .await
        )
        .0,
        ErrorKind::Forbidden
    );
    assert_eq!(
        kind_of(svc.delete_subnet(&b, &ss.id).await).0,
        ErrorKind::Forbidden
    );

    // Delete frees the CIDR.
    svc.delete_subnet(&a, &no_gw.id).await.unwrap();
    svc.create_subnet(&a, subnet(&n.id, "10.2.0.0/24"))
        .await
        .unwrap();
    scratch.finish().await;
}

async fn ports_ipam_and_deletes(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let a = member("proj-a");
    let b = member("proj-b");
    let n = svc.create_network(&a, net("net-a")).await.unwrap();
    // A port on a network without subnets has no address.
    let bare = svc.create_port(&a, port(&n.id)).await.unwrap();
    assert!(bare.fixed_ips.is_empty());
    svc.delete_port(&a, &bare.id).await.unwrap();

    let s = svc
        .create_subnet(&a, subnet(&n.id, "10.0.0.0/24"))
        .await
        .unwrap();
    let web = svc
        .create_security_group(
            &a,
            NewSecurityGroup {
                name: "web".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let p1 = svc
        .create_port(
            &a,
            NewPort {
                name: "vm1".into(),
                device_id: "server-1".into(),
                device_owner: "compute:nova".into(),
                security_groups: Some(vec![web.id.clone()]),
                allowed_address_pairs: vec![AddressPairRequest {
                    ip_address: "10.0.0.200".into(),
                    mac_address: None,
                }],
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        p1.fixed_ips,
        vec![PortIp {
            subnet_id: s.id.clone(),
            ip_address: ip("10.0.0.2")
        }]
    );
    assert_eq!(p1.status, "DOWN");
    assert!(p1.mac_address.starts_with("fa:16:3e:") && p1.mac_address.len() == 17);
    assert!(p1.port_security_enabled && p1.admin_state_up);
    assert_eq!(p1.security_groups, vec![web.id.clone()]);
    assert_eq!(p1.allowed_address_pairs[0].mac_address, p1.mac_address);
    let p2 = svc.create_port(&a, port(&n.id)).await.unwrap();
    assert_eq!(p2.fixed_ips[0].ip_address, ip("10.0.0.3"));
    assert_ne!(p1.mac_address, p2.mac_address);

    // Chosen addresses.
    let fixed = |subnet_id: Option<&str>, addr: Option<&str>| {
        Some(vec![FixedIpRequest {
            subnet_id: subnet_id.map(String::from),
            ip_address: addr.map(String::from),
        }])
    };
    let p3 = svc
        .create_port(
            &a,
            NewPort {
                fixed_ips: fixed(Some(&s.id), Some("10.0.0.50")),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(p3.fixed_ips[0].ip_address, ip("10.0.0.50"));
    let p4 = svc
        .create_port(
            &a,
            NewPort {
                fixed_ips: fixed(None, Some("10.0.0.51")),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(p4.fixed_ips[0].subnet_id, s.id);
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(None, Some("10.0.0.50")),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "IpAddressAlreadyAllocated")
    );
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(Some(&s.id), Some("10.0.0.1")),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "IpAddressAlreadyAllocated"),
        "the gateway"
    );
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(Some(&s.id), Some("10.9.9.9")),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "InvalidIpForSubnet")
    );
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(Some(&s.id), Some("10.0.0.255")),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "InvalidIpForSubnet")
    );
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(None, Some("10.9.9.9")),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "InvalidIpForNetwork")
    );
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    fixed_ips: fixed(Some("nope"), None),
                    ..port(&n.id)
                }
            )
            .await
        )
        .0,
        ErrorKind::BadRequest
    );
    // Chosen MACs are the network owner's; a taken one is refused.
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    mac_address: Some(p1.mac_address.to_uppercase()),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "MacAddressInUse")
    );
    // Port security off with address pairs is refused.
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    port_security_enabled: Some(false),
                    allowed_address_pairs: vec![AddressPairRequest {
                        ip_address: "10.0.0.9".into(),
                        mac_address: None
                    }],
                    ..port(&n.id)
                }
            )
            .await
        )
        .1,
        "AddressPairAndPortSecurityRequired"
    );
    // The binding host is an admin's.
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    binding_host_id: Some("node1".into()),
                    ..port(&n.id)
                }
            )
            .await
        )
        .0,
        ErrorKind::Forbidden
    );

    // Update: keep one address, add another, release the rest.
    let u = svc
        .update_port(
            &a,
            &p3.id,
            PortUpdate {
                name: Some("moved".into()),
                fixed_ips: Some(vec![
                    FixedIpRequest {
                        subnet_id: None,
                        ip_address: Some("10.0.0.50".into()),
                    },
                    FixedIpRequest {
                        subnet_id: Some(s.id.clone()),
                        ip_address: Some("10.0.0.60".into()),
                    },
                ]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.name, "moved");
    assert_eq!(
        u.fixed_ips.iter().map(|f| f.ip_address).collect::<Vec<_>>(),
        vec![ip("10.0.0.50"), ip("10.0.0.60")]
    );
    let u = svc
        .update_port(
            &a,
            &p3.id,
            PortUpdate {
                fixed_ips: Some(vec![FixedIpRequest {
                    subnet_id: None,
                    ip_address: Some("10.0.0.60".into()),
                }]),
                device_id: Some("server-3".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.fixed_ips.len(), 1);
    assert_eq!(u.device_id, "server-3");
    // 10.0.0.50 is free again.
    let again = svc
        .create_port(
            &a,
            NewPort {
                fixed_ips: fixed(None, Some("10.0.0.50")),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    svc.delete_port(&a, &again.id).await.unwrap();

    // Filters.
    let by_device = svc
        .list_ports(
            &a,
            &PortFilter {
                device_id: Some("server-1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        by_device.items.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&p1.id]
    );
    let by_owner = svc
        .list_ports(
            &a,
            &PortFilter {
                device_owner: Some("compute:nova".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_owner.total, 1);
    let by_ip = svc
        .list_ports(
            &a,
            &PortFilter {
                fixed_ip_address: Some("10.0.0.60".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_ip.items[0].id, p3.id);
    let on_net = svc
        .list_ports(
            &a,
            &PortFilter {
                network_id: Some(n.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(on_net.total, 4);

    // Isolation.
    assert_eq!(
        kind_of(svc.get_port(&b, &p1.id).await),
        (ErrorKind::NotFound, "PortNotFound")
    );
    assert_eq!(
        kind_of(svc.update_port(&b, &p1.id, PortUpdate::default()).await).0,
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(svc.delete_port(&b, &p1.id).await).0,
        ErrorKind::NotFound
    );
    assert_eq!(
        svc.list_ports(&b, &PortFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    // Not on another project's private network either.
    assert_eq!(
        kind_of(svc.create_port(&b, port(&n.id)).await),
        (ErrorKind::NotFound, "NetworkNotFound")
    );

    // Deleting a port frees its address for the next one.
    svc.delete_port(&a, &p1.id).await.unwrap();
    let p5 = svc.create_port(&a, port(&n.id)).await.unwrap();
    assert_eq!(p5.fixed_ips[0].ip_address, ip("10.0.0.2"));

    // A subnet with allocations stays; a network with a user port stays.
    assert_eq!(
        kind_of(svc.delete_subnet(&a, &s.id).await),
        (ErrorKind::Conflict, "SubnetInUse")
    );
    assert_eq!(
        kind_of(svc.delete_network(&a, &n.id).await),
        (ErrorKind::Conflict, "NetworkInUse")
    );
    // With only DHCP ports left, the network goes with them.
    for p in svc
        .list_ports(&a, &PortFilter::default())
        .await
        .unwrap()
        .items
    {
        svc.delete_port(&a, &p.id).await.unwrap();
    }
    let dhcp = svc
        .create_port(
            &a,
            NewPort {
                device_owner: DEVICE_OWNER_DHCP.into(),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    // A port that only says it is a router's keeps the network (routers'
    // ports go through the router API), and, being no router's, is
    // deleted as any port is.
    let posing = svc
        .create_port(
            &a,
            NewPort {
                device_owner: DEVICE_OWNER_ROUTER_INTERFACE.into(),
                fixed_ips: fixed(None, Some("10.0.0.1")),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        kind_of(svc.delete_network(&a, &n.id).await),
        (ErrorKind::Conflict, "NetworkInUse")
    );
    svc.delete_port(&a, &posing.id).await.unwrap();
    assert_eq!(
        svc.get_port(&a, &dhcp.id).await.unwrap().device_owner,
        DEVICE_OWNER_DHCP
    );
    svc.delete_network(&a, &n.id).await.unwrap();
    assert_eq!(
        kind_of(svc.get_port(&a, &dhcp.id).await).0,
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(svc.get_subnet(&a, &s.id).await).0,
        ErrorKind::NotFound
    );
    // Everything given back, but the project's default security group
    // and its four rules, which stay with the project.
    svc.delete_security_group(&a, &web.id).await.unwrap();
    for u in svc.quota().usage(&a, "proj-a").await.unwrap() {
        let expected = match u.resource {
            Resource::SECURITY_GROUPS => 1,
            Resource::SECURITY_GROUP_RULES => 4,
            _ => 0,
        };
        assert_eq!(u.in_use, expected, "{}", u.resource);
    }
    scratch.finish().await;
}

async fn shared_network_ports(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let ad = admin();
    let shared = svc
        .create_network(
            &ad,
            NewNetwork {
                shared: true,
                ..net("shared")
            },
        )
        .await
        .unwrap();
    let s = svc
        .create_subnet(&ad, subnet(&shared.id, "192.168.10.0/24"))
        .await
        .unwrap();
    let b = member("proj-b");
    let c = member("proj-c");
    let pb = svc.create_port(&b, port(&shared.id)).await.unwrap();
    assert_eq!(pb.project_id, "proj-b");
    assert_eq!(
        pb.fixed_ips[0],
        PortIp {
            subnet_id: s.id.clone(),
            ip_address: ip("192.168.10.2")
        }
    );
    let pc = svc.create_port(&c, port(&shared.id)).await.unwrap();
    assert_eq!(pc.fixed_ips[0].ip_address, ip("192.168.10.3"));
    // Each sees its own port only.
    assert_eq!(
        svc.list_ports(&b, &PortFilter::default())
            .await
            .unwrap()
            .items[0]
            .id,
        pb.id
    );
    assert_eq!(
        kind_of(svc.get_port(&c, &pb.id).await).0,
        ErrorKind::NotFound
    );
    // A non-owner of the network may not choose addresses on it.
    assert_eq!(
        kind_of(
            svc.create_port(
                &b,
                NewPort {
                    fixed_ips: Some(vec![FixedIpRequest {
                        subnet_id: None,
                        ip_address: Some("192.168.10.9".into())
                    }]),
                    ..port(&shared.id)
                }
            )
            .await
        )
        .0,
        ErrorKind::Forbidden
    );
    // An external network that is not shared takes no project's ports.
    let ext = svc
        .create_network(
            &ad,
            NewNetwork {
                router_external: true,
                ..net("public")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        kind_of(svc.create_port(&b, port(&ext.id)).await).0,
        ErrorKind::Forbidden
    );
    // Used by other projects, the network cannot be un-shared or deleted.
    assert_eq!(
        kind_of(
            svc.update_network(
                &ad,
                &shared.id,
                NetworkUpdate {
                    shared: Some(false),
                    ..Default::default()
                }
            )
            .await
        )
        .1,
        "InvalidSharedSetting"
    );
    assert_eq!(
        kind_of(svc.delete_network(&ad, &shared.id).await).1,
        "NetworkInUse"
    );
    svc.delete_port(&b, &pb.id).await.unwrap();
    svc.delete_port(&c, &pc.id).await.unwrap();
    svc.delete_network(&ad, &shared.id).await.unwrap();
    scratch.finish().await;
}

/// 200 ports at once on a /24, from four projects on one shared network,
/// then the rest of its 253 addresses, then one too many.
async fn concurrent_ports_get_distinct_addresses(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let ad = admin();
    let shared = svc
        .create_network(
            &ad,
            NewNetwork {
                shared: true,
                ..net("busy")
            },
        )
        .await
        .unwrap();
    let s = svc
        .create_subnet(&ad, subnet(&shared.id, "10.20.30.0/24"))
        .await
        .unwrap();

    let create = |i: usize| {
        let svc = svc.clone();
        let network_id = shared.id.clone();
        tokio::spawn(async move {
            let who = member(&format!("proj-{}", i % 4));
            svc.create_port(
                &who,
                NewPort {
                    name: format!("p{i}"),
                    ..port(&network_id)
                },
            )
            .await
        })
    };
    let mut ports = Vec::new();
    let tasks: Vec<_> = (0..200).map(create).collect();
    for t in tasks {
        ports.push(t.await.unwrap().unwrap());
    }
    let first: BTreeSet<Ipv4Addr> = ports.iter().map(|p| p.fixed_ips[0].ip_address).collect();
    assert_eq!(first.len(), 200, "200 ports, 200 distinct addresses");
    let macs: BTreeSet<&str> = ports.iter().map(|p| p.mac_address.as_str()).collect();
    assert_eq!(macs.len(), 200);

    // The other 53 at once too.
    let tasks: Vec<_> = (200..253).map(create).collect();
    for t in tasks {
        ports.push(t.await.unwrap().unwrap());
    }
    let all: BTreeSet<Ipv4Addr> = ports.iter().map(|p| p.fixed_ips[0].ip_address).collect();
    let expected: BTreeSet<Ipv4Addr> = (2..=254u8).map(|h| Ipv4Addr::new(10, 20, 30, h)).collect();
    assert_eq!(all, expected, "every pool address, once");
    assert!(ports.iter().all(|p| p.fixed_ips[0].subnet_id == s.id));

    // Exhausted: a clean error, and a few at once fail the same way.
    let tasks: Vec<_> = (253..258).map(create).collect();
    for t in tasks {
        let (kind, neutron) = kind_of(t.await.unwrap());
        assert_eq!(
            (kind, neutron),
            (ErrorKind::Conflict, "IpAddressGenerationFailure")
        );
    }
    let e = svc
        .create_port(&member("proj-0"), port(&shared.id))
        .await
        .expect_err("exhausted");
    assert!(
        matches!(e, NetworkError::IpAddressGenerationFailure(_)),
        "{e:?}"
    );
    assert_eq!(e.kind().status(), 409);
    assert_eq!(
        e.to_string(),
        format!("No more IP addresses available on network {}.", shared.id)
    );
    // No failed create left a port or used quota.
    let total = svc
        .list_ports(
            &ad,
            &PortFilter {
                network_id: Some(shared.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .total;
    assert_eq!(total, 253);
    let mut in_use = 0;
    for i in 0..4 {
        let p = format!("proj-{i}");
        let u = svc.quota().usage(&ad, &p).await.unwrap();
        in_use += u
            .iter()
            .find(|u| u.resource == Resource::PORTS)
            .unwrap()
            .in_use;
    }
    assert_eq!(in_use, 253);

    // A freed address is handed out again.
    let gone = ports
        .iter()
        .find(|p| p.fixed_ips[0].ip_address == ip("10.20.30.77"))
        .unwrap();
    let owner = member(&gone.project_id);
    svc.delete_port(&owner, &gone.id).await.unwrap();
    let back = svc
        .create_port(&member("proj-9"), port(&shared.id))
        .await
        .unwrap();
    assert_eq!(back.fixed_ips[0].ip_address, ip("10.20.30.77"));
    scratch.finish().await;
}

async fn quotas_refuse_networks(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let ad = admin();
    let a = member("proj-a");
    let defaults = svc.quota().get_limits(&a, "proj-a").await.unwrap();
    let limits: Vec<(Resource, i64)> = defaults.iter().map(|l| (l.resource, l.limit)).collect();
    assert_eq!(
        limits,
        vec![
            (Resource::NETWORKS, 100),
            (Resource::SUBNETS, 100),
            (Resource::PORTS, 500),
            (Resource::SECURITY_GROUPS, 10),
            (Resource::SECURITY_GROUP_RULES, 100),
            (Resource::ROUTERS, 10),
            (Resource::FLOATING_IPS, 50),
        ]
    );

    svc.quota()
        .set_limit(&ad, "proj-a", Resource::NETWORKS, 2)
        .await
        .unwrap();
    let n1 = svc.create_network(&a, net("one")).await.unwrap();
    svc.create_network(&a, net("two")).await.unwrap();
    let e = svc
        .create_network(&a, net("three"))
        .await
        .expect_err("over quota");
    assert!(
        matches!(&e, NetworkError::OverQuota(o) if o.resource == Resource::NETWORKS && o.limit == 2),
        "{e:?}"
    );
    assert_eq!(
        (e.kind(), e.neutron_type()),
        (ErrorKind::Conflict, "OverQuota")
    );
    assert_eq!(e.public().key, "error.quota.over");
    assert_eq!(
        svc.list_networks(&a, &NetworkFilter::default())
            .await
            .unwrap()
            .total,
        2
    );
    // Another project is not affected; a delete makes room.
    svc.create_network(&member("proj-b"), net("b"))
        .await
        .unwrap();
    svc.delete_network(&a, &n1.id).await.unwrap();
    svc.create_network(&a, net("three")).await.unwrap();

    // Ports too.
    svc.quota()
        .set_limit(&ad, "proj-a", Resource::PORTS, 1)
        .await
        .unwrap();
    let n = svc
        .list_networks(&a, &NetworkFilter::default())
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    svc.create_subnet(&a, subnet(&n, "10.0.0.0/28"))
        .await
        .unwrap();
    svc.create_port(&a, port(&n)).await.unwrap();
    assert!(matches!(
        svc.create_port(&a, port(&n)).await,
        Err(NetworkError::OverQuota(_))
    ));
    scratch.finish().await;
}

fn sg(name: &str) -> NewSecurityGroup {
    NewSecurityGroup {
        name: name.into(),
        ..Default::default()
    }
}

fn sg_rule(group: &str, direction: &str) -> NewSecurityGroupRule {
    NewSecurityGroupRule {
        security_group_id: group.into(),
        direction: direction.into(),
        ..Default::default()
    }
}

fn ssh_rule(group: &str) -> NewSecurityGroupRule {
    NewSecurityGroupRule {
        protocol: Some("tcp".into()),
        port_range_min: Some(22),
        port_range_max: Some(22),
        remote_ip_prefix: Some("0.0.0.0/0".into()),
        ..sg_rule(group, "ingress")
    }
}

async fn security_groups_rules_and_ports(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let (a, b, ad) = (member("proj-a"), member("proj-b"), admin());

    // A project's first look makes its default group, with Neutron's
    // four rules; a second look finds the same one.
    let listed = svc
        .list_security_groups(&a, &SecurityGroupFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let default = listed.items[0].clone();
    assert_eq!(default.name, "default");
    assert_eq!(default.project_id, "proj-a");
    assert!(default.stateful);
    let shape: BTreeSet<(Direction, EtherType, Option<String>)> = default
        .rules
        .iter()
        .map(|r| (r.direction, r.ethertype, r.remote_group_id.clone()))
        .collect();
    let own = Some(default.id.clone());
    assert_eq!(
        shape,
        BTreeSet::from([
            (Direction::Egress, EtherType::IPv4, None),
            (Direction::Egress, EtherType::IPv6, None),
            (Direction::Ingress, EtherType::IPv4, own.clone()),
            (Direction::Ingress, EtherType::IPv6, own),
        ])
    );
    assert!(default.rules.iter().all(|r| r.protocol.is_none()));
    assert_eq!(
        svc.default_security_group("proj-a").await.unwrap(),
        default.id
    );

    // A new group: two egress rules. `default` is taken.
    let web = svc.create_security_group(&a, sg("web")).await.unwrap();
    assert_eq!(web.rules.len(), 2);
    assert!(web.rules.iter().all(|r| r.direction == Direction::Egress));
    assert_eq!(
        kind_of(svc.create_security_group(&a, sg("default")).await),
        (ErrorKind::Conflict, "SecurityGroupDefaultAlreadyExists")
    );
    assert_eq!(
        kind_of(svc.create_security_group(&reader("proj-a"), sg("r")).await),
        (ErrorKind::Forbidden, "PolicyNotAuthorized")
    );

    // Rules: checked, normalised, never twice.
    let ssh = svc
        .create_security_group_rule(&a, ssh_rule(&web.id))
        .await
        .unwrap();
    assert_eq!(ssh.protocol.as_deref(), Some("tcp"));
    assert_eq!(
        (ssh.port_range_min, ssh.port_range_max),
        (Some(22), Some(22))
    );
    assert_eq!(ssh.remote_ip_prefix.as_deref(), Some("0.0.0.0/0"));
    assert_eq!(ssh.project_id, "proj-a");
    let again = svc
        .create_security_group_rule(
            &a,
            NewSecurityGroupRule {
                protocol: Some("6".into()),
                description: "same rule, other words".into(),
                ..ssh_rule(&web.id)
            },
        )
        .await;
    let e = again.expect_err("a duplicate");
    assert_eq!(e.neutron_type(), "SecurityGroupRuleExists");
    assert!(e.to_string().contains(&ssh.id), "{e}");
    assert_eq!(
        kind_of(
            svc.create_security_group_rule(
                &a,
                NewSecurityGroupRule {
                    port_range_min: Some(80),
                    port_range_max: Some(79),
                    ..ssh_rule(&web.id)
                }
            )
            .await
        ),
        (ErrorKind::BadRequest, "SecurityGroupInvalidPortRange")
    );
    let from_default = svc
        .create_security_group_rule(
            &a,
            NewSecurityGroupRule {
                remote_group_id: Some(default.id.clone()),
                protocol: Some("icmp".into()),
                ..sg_rule(&web.id, "ingress")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        from_default.remote_group_id.as_deref(),
        Some(default.id.as_str())
    );
    let got = svc.get_security_group(&a, &web.id).await.unwrap();
    assert_eq!(got.rules.len(), 4);

    // Isolation: another project sees none of it and cannot add to it.
    let b_groups = svc
        .list_security_groups(&b, &SecurityGroupFilter::default())
        .await
        .unwrap();
    assert_eq!(b_groups.items.len(), 1, "only its own default group");
    assert_ne!(b_groups.items[0].id, default.id);
    assert_eq!(
        kind_of(svc.get_security_group(&b, &web.id).await),
        (ErrorKind::NotFound, "SecurityGroupNotFound")
    );
    assert_eq!(
        kind_of(svc.create_security_group_rule(&b, ssh_rule(&web.id)).await),
        (ErrorKind::NotFound, "SecurityGroupNotFound")
    );
    assert_eq!(
        kind_of(svc.get_security_group_rule(&b, &ssh.id).await),
        (ErrorKind::NotFound, "SecurityGroupRuleNotFound")
    );
    assert_eq!(
        kind_of(svc.delete_security_group(&b, &web.id).await),
        (ErrorKind::NotFound, "SecurityGroupNotFound")
    );
    let b_web = svc.create_security_group(&b, sg("web")).await.unwrap();
    assert_eq!(
        kind_of(
            svc.create_security_group_rule(
                &b,
                NewSecurityGroupRule {
                    remote_group_id: Some(web.id.clone()),
                    ..sg_rule(&b_web.id, "ingress")
                }
            )
            .await
        ),
        (ErrorKind::NotFound, "SecurityGroupNotFound"),
        "a remote group must be one the caller sees"
    );
    let rules_b = svc
        .list_security_group_rules(&b, &SecurityGroupRuleFilter::default())
        .await
        .unwrap();
    assert!(rules_b.items.iter().all(|r| r.project_id == "proj-b"));
    let all = svc
        .list_security_groups(&ad, &SecurityGroupFilter::default())
        .await
        .unwrap();
    assert!(all.items.iter().any(|g| g.id == web.id) && all.items.iter().any(|g| g.id == b_web.id));
    let tcp_rules = svc
        .list_security_group_rules(
            &a,
            &SecurityGroupRuleFilter {
                security_group_id: Some(web.id.clone()),
                direction: Some(Direction::Ingress),
                protocol: Some("tcp".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        tcp_rules
            .items
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        std::slice::from_ref(&ssh.id)
    );

    // Ports: the default group unless told otherwise; none for the
    // network service's own ports or without port security; only the
    // port's project's groups.
    let n = svc.create_network(&a, net("n")).await.unwrap();
    svc.create_subnet(&a, subnet(&n.id, "10.9.0.0/24"))
        .await
        .unwrap();
    let p = svc.create_port(&a, port(&n.id)).await.unwrap();
    assert_eq!(p.security_groups, std::slice::from_ref(&default.id));
    let dhcp = svc
        .create_port(
            &a,
            NewPort {
                device_owner: DEVICE_OWNER_DHCP.into(),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert!(dhcp.security_groups.is_empty());
    let open = svc
        .create_port(
            &a,
            NewPort {
                port_security_enabled: Some(false),
                ..port(&n.id)
            },
        )
        .await
        .unwrap();
    assert!(open.security_groups.is_empty());
    assert_eq!(
        kind_of(
            svc.create_port(
                &a,
                NewPort {
                    security_groups: Some(vec![b_web.id.clone()]),
                    ..port(&n.id)
                }
            )
            .await
        ),
        (ErrorKind::NotFound, "SecurityGroupNotFound")
    );
    let p = svc
        .update_port(
            &a,
            &p.id,
            PortUpdate {
                security_groups: Some(vec![web.id.clone(), default.id.clone()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(p.security_groups, [web.id.clone(), default.id.clone()]);

    // A group in use stays; the default group is an admin's to delete
    // and keeps its name.
    assert_eq!(
        kind_of(svc.delete_security_group(&a, &web.id).await),
        (ErrorKind::Conflict, "SecurityGroupInUse")
    );
    assert_eq!(
        kind_of(svc.delete_security_group(&a, &default.id).await),
        (ErrorKind::Conflict, "SecurityGroupCannotRemoveDefault")
    );
    assert_eq!(
        kind_of(
            svc.update_security_group(
                &a,
                &default.id,
                SecurityGroupUpdate {
                    name: Some("mine".into()),
                    ..Default::default()
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "SecurityGroupCannotUpdateDefault")
    );
    let renamed = svc
        .update_security_group(
            &a,
            &web.id,
            SecurityGroupUpdate {
                name: Some("www".into()),
                description: Some("the web tier".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_str()),
        ("www", "the web tier")
    );
    svc.update_port(
        &a,
        &p.id,
        PortUpdate {
            security_groups: Some(vec![web.id.clone()]),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Deleting the default group (an admin, no port in it) takes the
    // rules naming it as their remote group along.
    svc.delete_port(&a, &open.id).await.unwrap();
    svc.delete_port(&a, &dhcp.id).await.unwrap();
    svc.delete_security_group(&ad, &default.id).await.unwrap();
    assert_eq!(
        kind_of(svc.get_security_group_rule(&a, &from_default.id).await),
        (ErrorKind::NotFound, "SecurityGroupRuleNotFound")
    );
    svc.delete_security_group_rule(&a, &ssh.id).await.unwrap();
    assert_eq!(
        svc.get_security_group(&a, &web.id)
            .await
            .unwrap()
            .rules
            .len(),
        2
    );
    svc.delete_port(&a, &p.id).await.unwrap();
    svc.delete_security_group(&a, &web.id).await.unwrap();
    // The next first use makes a new default group.
    let fresh = svc.default_security_group("proj-a").await.unwrap();
    assert_ne!(fresh, default.id);
    let usage = |r: Resource| {
        let svc = svc.clone();
        let a = a.clone();
        async move {
            svc.quota()
                .usage(&a, "proj-a")
                .await
                .unwrap()
                .into_iter()
                .find(|u| u.resource == r)
                .map_or(0, |u| u.in_use)
        }
    };
    assert_eq!(usage(Resource::SECURITY_GROUPS).await, 1);
    assert_eq!(usage(Resource::SECURITY_GROUP_RULES).await, 4);

    // Quotas: the default group counts, a new one is refused past the limit.
    svc.quota()
        .set_limit(&ad, "proj-a", Resource::SECURITY_GROUPS, 2)
        .await
        .unwrap();
    let second = svc.create_security_group(&a, sg("second")).await.unwrap();
    assert!(matches!(
        svc.create_security_group(&a, sg("third")).await,
        Err(NetworkError::OverQuota(_))
    ));
    svc.quota()
        .set_limit(&ad, "proj-a", Resource::SECURITY_GROUP_RULES, 7)
        .await
        .unwrap();
    svc.create_security_group_rule(&a, ssh_rule(&second.id))
        .await
        .unwrap();
    assert!(matches!(
        svc.create_security_group_rule(
            &a,
            NewSecurityGroupRule {
                port_range_min: Some(80),
                port_range_max: Some(80),
                ..ssh_rule(&second.id)
            }
        )
        .await,
        Err(NetworkError::OverQuota(_))
    ));
    scratch.finish().await;
}

/// Eight first uses at once give a project one default group.
async fn concurrent_first_uses_make_one_default_group(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let a = member("proj-a");
    let n = svc.create_network(&a, net("n")).await.unwrap();
    svc.create_subnet(&a, subnet(&n.id, "10.1.0.0/24"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (svc, a, id) = (svc.clone(), a.clone(), n.id.clone());
        tasks.push(tokio::spawn(async move {
            svc.create_port(&a, port(&id))
                .await
                .unwrap()
                .security_groups
        }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    let groups = svc
        .list_security_groups(&a, &SecurityGroupFilter::default())
        .await
        .unwrap();
    assert_eq!(groups.items.len(), 1, "{:?}", groups.items);
    assert_eq!(seen, BTreeSet::from([groups.items[0].id.clone()]));
    scratch.finish().await;
}

/// A deleted project's ports, networks, subnets, groups and quota rows go;
/// a shared network others still use stays, and their ports with it.
async fn purge_after_project_deletion(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let (a, b, ad) = (member("proj-a"), member("proj-b"), admin());
    let own = svc.create_network(&a, net("own")).await.unwrap();
    svc.create_subnet(&a, subnet(&own.id, "10.5.0.0/24"))
        .await
        .unwrap();
    svc.create_port(&a, port(&own.id)).await.unwrap();
    let web = svc.create_security_group(&a, sg("web")).await.unwrap();
    let (public, _) = external(&svc, "203.0.113.0/24").await;
    let own_sub = svc
        .list_subnets(&a, &SubnetFilter::default())
        .await
        .unwrap()
        .items;
    let r = svc
        .create_router(&a, router("r", Some(&public.id)))
        .await
        .unwrap();
    svc.add_router_interface(&a, &r.id, InterfaceRequest::Subnet(own_sub[0].id.clone()))
        .await
        .unwrap();
    let vm = svc.create_port(&a, port(&own.id)).await.unwrap();
    let f = svc
        .create_floating_ip(&a, fip(&public.id, Some(&vm.id)))
        .await
        .unwrap();
    let shared = svc
        .create_network(
            &ad,
            NewNetwork {
                project_id: Some("proj-a".into()),
                shared: true,
                ..net("lent")
            },
        )
        .await
        .unwrap();
    svc.create_subnet(&ad, subnet(&shared.id, "10.6.0.0/24"))
        .await
        .unwrap();
    let theirs = svc.create_port(&b, port(&shared.id)).await.unwrap();
    svc.quota()
        .set_limit(&ad, "proj-a", Resource::PORTS, 50)
        .await
        .unwrap();
    assert!(svc
        .network_project_owners()
        .await
        .unwrap()
        .contains(&"proj-a".to_string()));

    svc.purge_project("proj-a").await.unwrap();
    assert_eq!(
        kind_of(svc.get_network(&ad, &own.id).await),
        (ErrorKind::NotFound, "NetworkNotFound")
    );
    assert_eq!(
        kind_of(svc.get_security_group(&ad, &web.id).await),
        (ErrorKind::NotFound, "SecurityGroupNotFound")
    );
    assert_eq!(
        kind_of(svc.get_router(&ad, &r.id).await),
        (ErrorKind::NotFound, "RouterNotFound")
    );
    assert_eq!(
        kind_of(svc.get_floating_ip(&ad, &f.id).await),
        (ErrorKind::NotFound, "FloatingIPNotFound")
    );
    assert_eq!(
        svc.list_ports(
            &ad,
            &PortFilter {
                network_id: Some(public.id.clone()),
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .total,
        0,
        "the gateway's and the floating IP's addresses went back"
    );
    let left = svc
        .list_ports(
            &ad,
            &PortFilter {
                project_id: Some("proj-a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(left.total, 0);
    let groups = svc
        .list_security_groups(
            &ad,
            &SecurityGroupFilter {
                project_id: Some("proj-a".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(groups.total, 0, "the default group went too");
    assert_eq!(
        svc.get_network(&ad, &shared.id).await.unwrap().id,
        shared.id
    );
    assert_eq!(svc.get_port(&b, &theirs.id).await.unwrap().id, theirs.id);
    assert_eq!(
        svc.quota()
            .standing("proj-a", Resource::PORTS)
            .await
            .unwrap()
            .in_use,
        0
    );
    // Idempotent, as the sweep needs.
    svc.purge_project("proj-a").await.unwrap();
    scratch.finish().await;
}

/// An external network (admin's) with one subnet, for routers' gateways
/// and floating IPs.
async fn external(svc: &NetworkService, cidr: &str) -> (Network, Subnet) {
    let ad = admin();
    let n = svc
        .create_network(
            &ad,
            NewNetwork {
                router_external: true,
                ..net("public")
            },
        )
        .await
        .unwrap();
    let s = svc.create_subnet(&ad, subnet(&n.id, cidr)).await.unwrap();
    (n, s)
}

fn router(name: &str, gateway: Option<&str>) -> NewRouter {
    NewRouter {
        name: name.into(),
        external_gateway: gateway.map(|g| ExternalGatewayRequest {
            network_id: g.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn fip(network_id: &str, port_id: Option<&str>) -> NewFloatingIp {
    NewFloatingIp {
        floating_network_id: network_id.into(),
        port_id: port_id.map(str::to_string),
        ..Default::default()
    }
}

async fn routers_and_floating_ips(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let (a, b, ad) = (member("proj-a"), member("proj-b"), admin());
    let (public, public_sub) = external(&svc, "203.0.113.0/28").await;
    let private = svc.create_network(&a, net("private")).await.unwrap();
    let sub = svc
        .create_subnet(&a, subnet(&private.id, "10.0.0.0/24"))
        .await
        .unwrap();

    // A router with a gateway: its port is no project's, SNAT is on.
    let r = svc
        .create_router(&a, router("r1", Some(&public.id)))
        .await
        .unwrap();
    assert_eq!(
        (r.project_id.as_str(), r.status.as_str()),
        ("proj-a", "ACTIVE")
    );
    let gw = r.external_gateway.clone().unwrap();
    assert_eq!(gw.network_id, public.id);
    assert!(gw.enable_snat);
    assert_eq!(gw.external_fixed_ips.len(), 1);
    assert_eq!(gw.external_fixed_ips[0].subnet_id, public_sub.id);
    let gw_port = svc.get_port(&ad, &gw.port_id).await.unwrap();
    assert_eq!(
        (
            gw_port.project_id.as_str(),
            gw_port.device_owner.as_str(),
            gw_port.device_id.as_str()
        ),
        ("", DEVICE_OWNER_ROUTER_GATEWAY, r.id.as_str())
    );
    assert_eq!(
        kind_of(svc.get_port(&a, &gw.port_id).await).0,
        ErrorKind::NotFound,
        "the gateway port is not the project's"
    );
    // SNAT is the admin's to turn off; a non-external network is refused.
    let snat_off = ExternalGatewayRequest {
        network_id: public.id.clone(),
        enable_snat: Some(false),
        ..Default::default()
    };
    assert_eq!(
        kind_of(
            svc.update_router(
                &a,
                &r.id,
                RouterUpdate {
                    external_gateway: Some(Some(snat_off.clone())),
                    ..Default::default()
                }
            )
            .await
        ),
        (ErrorKind::Forbidden, "PolicyNotAuthorized")
    );
    let r = svc
        .update_router(
            &ad,
            &r.id,
            RouterUpdate {
                external_gateway: Some(Some(snat_off)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let same = r.external_gateway.clone().unwrap();
    assert!(!same.enable_snat);
    assert_eq!(
        same.port_id, gw.port_id,
        "only SNAT changed: the port stays"
    );
    assert_eq!(
        kind_of(
            svc.create_router(&a, router("bad", Some(&private.id)))
                .await
        ),
        (ErrorKind::BadRequest, "BadRequest")
    );

    // Interfaces: the subnet's gateway address, once per subnet, no
    // overlaps, only the project's own subnets.
    let i = svc
        .add_router_interface(&a, &r.id, InterfaceRequest::Subnet(sub.id.clone()))
        .await
        .unwrap();
    assert_eq!(i.subnet_ids, vec![sub.id.clone()]);
    assert_eq!(i.network_id, private.id);
    let ip_port = svc.get_port(&a, &i.port_id).await.unwrap();
    assert_eq!(ip_port.fixed_ips[0].ip_address, ip("10.0.0.1"));
    assert_eq!(ip_port.device_owner, DEVICE_OWNER_ROUTER_INTERFACE);
    assert!(ip_port.security_groups.is_empty());
    assert_eq!(
        svc.get_router(&a, &r.id).await.unwrap().interface_port_ids,
        vec![i.port_id.clone()]
    );
    assert_eq!(
        kind_of(
            svc.add_router_interface(&a, &r.id, InterfaceRequest::Subnet(sub.id.clone()))
                .await
        ),
        (ErrorKind::BadRequest, "BadRequest")
    );
    let other = svc.create_network(&a, net("other")).await.unwrap();
    let overlapping = svc
        .create_subnet(&a, subnet(&other.id, "10.0.0.0/25"))
        .await
        .unwrap();
    let e = svc
        .add_router_interface(&a, &r.id, InterfaceRequest::Subnet(overlapping.id.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("overlaps"), "{e}");
    // A second subnet by port: an unused port of the project's.
    let third = svc.create_network(&a, net("third")).await.unwrap();
    let third_sub = svc
        .create_subnet(&a, subnet(&third.id, "10.9.0.0/24"))
        .await
        .unwrap();
    let by_port = svc.create_port(&a, port(&third.id)).await.unwrap();
    assert_eq!(by_port.security_groups.len(), 1);
    let i2 = svc
        .add_router_interface(&a, &r.id, InterfaceRequest::Port(by_port.id.clone()))
        .await
        .unwrap();
    assert_eq!(i2.subnet_ids, vec![third_sub.id.clone()]);
    let taken = svc.get_port(&a, &by_port.id).await.unwrap();
    assert_eq!(
        (taken.device_owner.as_str(), taken.device_id.as_str()),
        (DEVICE_OWNER_ROUTER_INTERFACE, r.id.as_str())
    );
    assert!(taken.security_groups.is_empty());
    assert_eq!(
        kind_of(
            svc.add_router_interface(&a, &r.id, InterfaceRequest::Port(by_port.id.clone()))
                .await
        ),
        (ErrorKind::Conflict, "PortInUse")
    );
    // Routers' ports, their networks and subnets stay until the router
    // lets them go.
    assert_eq!(
        kind_of(svc.delete_port(&a, &i.port_id).await),
        (ErrorKind::Conflict, "ServicePortInUse")
    );
    assert_eq!(
        kind_of(svc.delete_port(&ad, &gw.port_id).await),
        (ErrorKind::Conflict, "ServicePortInUse")
    );
    assert_eq!(
        kind_of(svc.delete_subnet(&a, &sub.id).await),
        (ErrorKind::Conflict, "SubnetInUse")
    );
    assert_eq!(
        kind_of(svc.delete_network(&a, &private.id).await),
        (ErrorKind::Conflict, "NetworkInUse")
    );
    assert_eq!(
        kind_of(svc.delete_router(&a, &r.id).await),
        (ErrorKind::Conflict, "RouterInUse")
    );
    assert_eq!(
        kind_of(
            svc.update_network(
                &ad,
                &public.id,
                NetworkUpdate {
                    router_external: Some(false),
                    ..Default::default()
                }
            )
            .await
        ),
        (ErrorKind::Conflict, "ExternalNetworkInUse")
    );
    // Isolation: another project neither sees nor changes the router.
    assert_eq!(
        kind_of(svc.get_router(&b, &r.id).await),
        (ErrorKind::NotFound, "RouterNotFound")
    );
    assert_eq!(
        kind_of(
            svc.add_router_interface(&b, &r.id, InterfaceRequest::Subnet(sub.id.clone()))
                .await
        ),
        (ErrorKind::NotFound, "RouterNotFound")
    );
    assert_eq!(
        svc.list_routers(&b, &RouterFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        kind_of(svc.delete_router(&reader("proj-a"), &r.id).await),
        (ErrorKind::Forbidden, "PolicyNotAuthorized")
    );
    let b_router = svc.create_router(&b, router("rb", None)).await.unwrap();
    assert_eq!(
        kind_of(
            svc.add_router_interface(&b, &b_router.id, InterfaceRequest::Subnet(sub.id.clone()))
                .await
        ),
        (ErrorKind::NotFound, "SubnetNotFound"),
        "another project's subnet is not seen"
    );

    // Floating IPs: an address of the external network, associated
    // through the router with a port's fixed address.
    let vm = svc.create_port(&a, port(&private.id)).await.unwrap();
    let f = svc
        .create_floating_ip(&a, fip(&public.id, None))
        .await
        .unwrap();
    assert_eq!((f.status.as_str(), f.port_id.clone()), ("DOWN", None));
    assert!(public_sub.cidr.contains(&f.floating_ip_address));
    let fip_ports = svc
        .list_ports(
            &ad,
            &PortFilter {
                device_id: Some(f.id.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(fip_ports.len(), 1);
    assert_eq!(fip_ports[0].device_owner, DEVICE_OWNER_FLOATINGIP);
    assert_eq!(fip_ports[0].fixed_ips[0].ip_address, f.floating_ip_address);
    let assoc = |port: Option<&str>| FloatingIpUpdate {
        port_id: Some(port.map(str::to_string)),
        ..Default::default()
    };
    let f = svc
        .update_floating_ip(&a, &f.id, assoc(Some(&vm.id)))
        .await
        .unwrap();
    assert_eq!(f.status, "ACTIVE");
    assert_eq!(f.port_id.as_deref(), Some(vm.id.as_str()));
    assert_eq!(f.fixed_ip_address, Some(vm.fixed_ips[0].ip_address));
    assert_eq!(f.router_id.as_deref(), Some(r.id.as_str()));
    // One floating IP per fixed address; the router's interface and
    // gateway stay while it is used.
    let e = svc
        .create_floating_ip(&a, fip(&public.id, Some(&vm.id)))
        .await;
    assert_eq!(
        kind_of(e),
        (ErrorKind::Conflict, "FloatingIPPortAlreadyAssociated")
    );
    assert_eq!(
        kind_of(
            svc.remove_router_interface(&a, &r.id, Some(&sub.id), None)
                .await
        ),
        (ErrorKind::Conflict, "RouterInterfaceInUseByFloatingIP")
    );
    assert_eq!(
        kind_of(
            svc.update_router(
                &a,
                &r.id,
                RouterUpdate {
                    external_gateway: Some(None),
                    ..Default::default()
                }
            )
            .await
        ),
        (
            ErrorKind::Conflict,
            "RouterExternalGatewayInUseByFloatingIp"
        )
    );
    // A port no router reaches, another project's port, a non-external
    // network, an address chosen by a non-admin: refused.
    let lonely = svc.create_network(&a, net("lonely")).await.unwrap();
    svc.create_subnet(&a, subnet(&lonely.id, "10.7.0.0/24"))
        .await
        .unwrap();
    let unreachable = svc.create_port(&a, port(&lonely.id)).await.unwrap();
    assert_eq!(
        kind_of(
            svc.create_floating_ip(&a, fip(&public.id, Some(&unreachable.id)))
                .await
        ),
        (ErrorKind::NotFound, "ExternalGatewayForFloatingIPNotFound")
    );
    let b_net = svc.create_network(&b, net("b-net")).await.unwrap();
    svc.create_subnet(&b, subnet(&b_net.id, "10.0.0.0/24"))
        .await
        .unwrap();
    let b_port = svc.create_port(&b, port(&b_net.id)).await.unwrap();
    assert_eq!(
        kind_of(
            svc.update_floating_ip(&a, &f.id, assoc(Some(&b_port.id)))
                .await
        ),
        (ErrorKind::NotFound, "PortNotFound")
    );
    assert_eq!(
        kind_of(svc.create_floating_ip(&a, fip(&private.id, None)).await),
        (ErrorKind::BadRequest, "BadRequest")
    );
    assert_eq!(
        kind_of(
            svc.create_floating_ip(
                &a,
                NewFloatingIp {
                    floating_ip_address: Some("203.0.113.9".into()),
                    ..fip(&public.id, None)
                }
            )
            .await
        ),
        (ErrorKind::Forbidden, "PolicyNotAuthorized")
    );
    let chosen = svc
        .create_floating_ip(
            &ad,
            NewFloatingIp {
                project_id: Some("proj-a".into()),
                floating_ip_address: Some("203.0.113.9".into()),
                ..fip(&public.id, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(chosen.floating_ip_address, ip("203.0.113.9"));
    // Isolation of floating IPs.
    assert_eq!(
        kind_of(svc.get_floating_ip(&b, &f.id).await),
        (ErrorKind::NotFound, "FloatingIPNotFound")
    );
    assert_eq!(
        kind_of(svc.delete_floating_ip(&b, &f.id).await).1,
        "FloatingIPNotFound"
    );
    let listed = svc
        .list_floating_ips(&a, &FloatingIpFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 2);
    assert_eq!(
        svc.list_floating_ips(&b, &FloatingIpFilter::default())
            .await
            .unwrap()
            .total,
        0
    );
    let unassociated = svc
        .list_floating_ips(
            &a,
            &FloatingIpFilter {
                port_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(unassociated.items.len(), 1);
    assert_eq!(unassociated.items[0].id, chosen.id);
    // Deleting the port disassociates its floating IP.
    svc.delete_port(&a, &vm.id).await.unwrap();
    let f = svc.get_floating_ip(&a, &f.id).await.unwrap();
    assert_eq!(
        (f.status.as_str(), f.port_id.clone(), f.router_id.clone()),
        ("DOWN", None, None)
    );
    // The external subnet's 13 addresses (a /28 less the gateway): the
    // router's gateway holds one, two floating IPs two; the rest run out
    // cleanly.
    svc.quota()
        .set_limit(&ad, "proj-a", Resource::FLOATING_IPS, 100)
        .await
        .unwrap();
    for _ in 0..10 {
        svc.create_floating_ip(&a, fip(&public.id, None))
            .await
            .unwrap();
    }
    assert_eq!(
        kind_of(svc.create_floating_ip(&a, fip(&public.id, None)).await),
        (ErrorKind::Conflict, "IpAddressGenerationFailure")
    );
    assert_eq!(
        svc.quota()
            .standing("proj-a", Resource::FLOATING_IPS)
            .await
            .unwrap()
            .in_use,
        12,
        "the refused one took no quota"
    );
    for f in svc
        .list_floating_ips(&a, &FloatingIpFilter::default())
        .await
        .unwrap()
        .items
    {
        svc.delete_floating_ip(&a, &f.id).await.unwrap();
    }
    // Now the interfaces and the gateway may go: by subnet, by port.
    let out = svc
        .remove_router_interface(&a, &r.id, Some(&sub.id), None)
        .await
        .unwrap();
    assert_eq!(out.port_id, i.port_id);
    assert_eq!(
        kind_of(svc.get_port(&a, &i.port_id).await).0,
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(
            svc.remove_router_interface(&a, &r.id, Some(&sub.id), None)
                .await
        ),
        (ErrorKind::NotFound, "RouterInterfaceNotFoundForSubnet")
    );
    assert_eq!(
        kind_of(
            svc.remove_router_interface(&a, &r.id, None, Some(&vm.id))
                .await
        ),
        (ErrorKind::NotFound, "RouterInterfaceNotFound")
    );
    svc.remove_router_interface(&a, &r.id, None, Some(&by_port.id))
        .await
        .unwrap();
    svc.delete_router(&a, &r.id).await.unwrap();
    assert_eq!(
        kind_of(svc.get_port(&ad, &gw.port_id).await).0,
        ErrorKind::NotFound,
        "the gateway port went with the router"
    );
    svc.delete_network(&a, &private.id).await.unwrap();
    svc.delete_network(&ad, &public.id).await.unwrap();
    for u in svc.quota().usage(&a, "proj-a").await.unwrap() {
        let expected = match u.resource {
            Resource::SECURITY_GROUPS => 1,
            Resource::SECURITY_GROUP_RULES => 4,
            Resource::NETWORKS => 3,
            Resource::SUBNETS => 3,
            // The port on the network no router reaches.
            Resource::PORTS => 1,
            _ => 0,
        };
        assert_eq!(u.in_use, expected, "{}", u.resource);
    }
    // Router quota.
    svc.quota()
        .set_limit(&ad, "proj-b", Resource::ROUTERS, 1)
        .await
        .unwrap();
    assert_eq!(
        kind_of(svc.create_router(&b, router("rb2", None)).await),
        (ErrorKind::Conflict, "OverQuota")
    );
    scratch.finish().await;
}

/// Floating IPs created at once on a small external subnet get distinct
/// addresses, and the ones past its end are clean refusals.
async fn concurrent_floating_ips_get_distinct_addresses(backend: Backend) {
    let (scratch, svc) = setup(backend).await;
    let (public, _) = external(&svc, "198.51.100.0/27").await;
    svc.quota()
        .set_limit(&admin(), "proj-a", Resource::FLOATING_IPS, 100)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (svc, net) = (svc.clone(), public.id.clone());
        tasks.push(tokio::spawn(async move {
            svc.create_floating_ip(&member("proj-a"), fip(&net, None))
                .await
        }));
    }
    let mut got = BTreeSet::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(f) => assert!(
                got.insert(f.floating_ip_address),
                "twice: {}",
                f.floating_ip_address
            ),
            Err(e) => {
                assert_eq!(e.neutron_type(), "IpAddressGenerationFailure", "{e}");
                refused += 1;
            }
        }
    }
    // A /27 has 29 addresses to give after its gateway.
    assert_eq!((got.len(), refused), (29, 11));
    scratch.finish().await;
}

#[test]
fn every_error_has_a_key_and_a_kind() {
    for e in NetworkError::examples() {
        let p = e.public();
        assert!(p.key.starts_with("error."), "{e:?}");
        assert!(!e.neutron_type().is_empty());
        let _ = e.kind().status();
    }
}

per_backend!(
    networks_crud_policy_and_isolation,
    subnets_validation_and_isolation,
    ports_ipam_and_deletes,
    shared_network_ports,
    quotas_refuse_networks,
    security_groups_rules_and_ports,
    purge_after_project_deletion,
    routers_and_floating_ips,
);
per_backend!(multi_thread: concurrent_ports_get_distinct_addresses);
per_backend!(multi_thread: concurrent_first_uses_make_one_default_group);
per_backend!(multi_thread: concurrent_floating_ips_get_distinct_addresses);
