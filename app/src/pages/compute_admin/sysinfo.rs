//! Admin › System › System Information: the catalog's services with their
//! endpoints (what /v3/services and /v3/endpoints answer), and the compute
//! services, one `nova-compute` a node (what os-services answers).

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::hypervisors::{list_compute_nodes, NodeRow};
use crate::components::*;
use crate::error::AppError;
use crate::i18n::{date_time, t, use_lang};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub interface: String,
    pub region: String,
    pub url: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub id: String,
    pub name: String,
    pub service_type: String,
    pub enabled: bool,
    pub endpoints: Vec<EndpointRow>,
}

/// The catalog: every service (by type, as the service lists them) with
/// its endpoints, public first.
#[server(endpoint = "list_catalog_services")]
pub async fn list_catalog_services() -> Result<Vec<ServiceRow>, AppError> {
    let a = server::auth().await?;
    let services = a.identity.list_services(&a.ctx).await?;
    let endpoints = a.identity.list_endpoints(&a.ctx).await?;
    let rank = |i: &str| match i {
        "public" => 0,
        "internal" => 1,
        _ => 2,
    };
    Ok(services
        .into_iter()
        .map(|s| {
            let mut eps: Vec<EndpointRow> = endpoints
                .iter()
                .filter(|e| e.service_id == s.id)
                .map(|e| EndpointRow {
                    interface: e.interface.clone(),
                    region: e.region_id.clone().unwrap_or_default(),
                    url: e.url.clone(),
                    enabled: e.enabled,
                })
                .collect();
            eps.sort_by_key(|e| rank(&e.interface));
            ServiceRow {
                id: s.id,
                name: s.name,
                service_type: s.r#type,
                enabled: s.enabled,
                endpoints: eps,
            }
        })
        .collect())
}

const BASE: &str = "/admin/info";
/// The binary every node's compute service is, as os-services names it.
const BINARY: &str = "nova-compute";

#[component]
pub fn SystemInfoPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let tab = Memo::new(move |_| params.get().tab);
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.system_info"))/>
        <PageHeader title=t(lang, "nav.system_info") subtitle=t(lang, "sys.subtitle")/>
        <ListTabs base=BASE params=params label=t(lang, "sys.tabs")
            tabs=vec![("services", t(lang, "sys.services")), ("compute", t(lang, "sys.compute_services"))]/>
        {move || if tab.get() == "compute" {
            view! { <ComputeServices/> }.into_any()
        } else {
            view! { <CatalogServices/> }.into_any()
        }}
    }
}

#[component]
fn CatalogServices() -> impl IntoView {
    let lang = use_lang();
    let data = Resource::new(|| (), |_| list_catalog_services());
    view! {
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <EmptyState title=t(lang, "sys.no_services") hint=t(lang, "sys.no_services_hint")/> }.into_any(),
                        Ok(list) => {
                            let rows = list.into_iter().map(|s| {
                                let regions = {
                                    let mut r: Vec<String> = s.endpoints.iter().map(|e| e.region.clone()).filter(|r| !r.is_empty()).collect();
                                    r.dedup();
                                    r.join(", ")
                                };
                                let eps = s.endpoints.iter().map(|e| {
                                    let cls = if e.enabled { "text-slate-700" } else { "text-slate-400 line-through" };
                                    view! {
                                    <li class=cls>
                                        <span class="mr-2 inline-block w-16 text-xs uppercase text-slate-500">{e.interface.clone()}</span>
                                        <span class="font-mono text-xs">{e.url.clone()}</span>
                                    </li>
                                }}).collect_view();
                                view! {
                                    <tr class="hover:bg-slate-50 align-top" data-service=s.service_type.clone()>
                                        <td class=format!("{TD} font-medium text-slate-900")>{s.name.clone()}</td>
                                        <td class=TD>{s.service_type.clone()}</td>
                                        <td class=TD>{regions}</td>
                                        <td class=TD><ul class="space-y-1">{eps}</ul></td>
                                        <td class=TD><Badge ok=s.enabled yes=t(lang, "enabled") no=t(lang, "disabled")/></td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <div class="overflow-x-auto">
                                    <table class="min-w-full divide-y divide-slate-200">
                                        <thead class="bg-slate-50"><tr>
                                            <Th label=t(lang, "name")/>
                                            <Th label=t(lang, "sys.service")/>
                                            <Th label=t(lang, "sys.region")/>
                                            <Th label=t(lang, "sys.endpoints")/>
                                            <Th label=t(lang, "status")/>
                                        </tr></thead>
                                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn ComputeServices() -> impl IntoView {
    let lang = use_lang();
    let data = Resource::new(|| (), |_| list_compute_nodes());
    view! {
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any(),
                        Ok(list) if list.nodes.is_empty() => view! { <EmptyState title=t(lang, "hv.empty") hint=t(lang, "hv.empty_hint")/> }.into_any(),
                        Ok(list) => {
                            let rows = list.nodes.into_iter().map(|n: NodeRow| view! {
                                <tr class="hover:bg-slate-50" data-compute-service=n.name.clone()>
                                    <td class=format!("{TD} font-mono text-xs")>{BINARY}</td>
                                    <td class=format!("{TD} font-medium text-slate-900")>{n.name.clone()}</td>
                                    <td class=TD>{n.zone.clone()}</td>
                                    <td class=TD data-testid="service-status"><Badge ok=n.enabled yes=t(lang, "enabled") no=t(lang, "disabled")/></td>
                                    <td class=TD data-testid="service-state">{if n.up {
                                        view! { <Pill tone=Tone::Green text=t(lang, "hv.up")/> }.into_any()
                                    } else {
                                        view! { <Pill tone=Tone::Red text=t(lang, "hv.down")/> }.into_any()
                                    }}</td>
                                    <td class=format!("{TD} text-slate-500")>{format!("{} UTC", date_time(lang, &n.heartbeat))}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <div class="overflow-x-auto">
                                    <table class="min-w-full divide-y divide-slate-200">
                                        <thead class="bg-slate-50"><tr>
                                            <Th label=t(lang, "sys.binary")/>
                                            <Th label=t(lang, "sys.host")/>
                                            <Th label=t(lang, "sys.zone")/>
                                            <Th label=t(lang, "status")/>
                                            <Th label=t(lang, "hv.state")/>
                                            <Th label=t(lang, "sys.updated")/>
                                        </tr></thead>
                                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </div>
    }
}
