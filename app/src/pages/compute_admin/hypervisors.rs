//! Admin › Compute › Hypervisors: what the cloud has and has promised
//! (summary bars), and each compute node with its state (up while its
//! heartbeats arrive, as the compute service decides) and whether the
//! scheduler may use it.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::error::AppError;
use crate::i18n::{date_time, number, t, use_lang};
use crate::pages::compute::mib;
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub id: String,
    pub name: String,
    pub hypervisor_type: String,
    pub host_ip: String,
    pub zone: String,
    pub vcpus: u32,
    pub vcpus_used: u32,
    pub memory_mib: u64,
    pub memory_mib_used: u64,
    pub disk_gb: u64,
    pub disk_gb_used: u64,
    pub instances: u32,
    pub up: bool,
    pub forced_down: bool,
    pub enabled: bool,
    pub disabled_reason: String,
    /// The last heartbeat, `YYYY-MM-DD HH:MM:SS` UTC.
    pub heartbeat: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeList {
    pub nodes: Vec<NodeRow>,
    /// Disable / Enable are offered (os-services:update).
    pub can_update: bool,
}

#[cfg(feature = "ssr")]
pub(crate) fn node_row(n: cloud::compute::ComputeNode) -> NodeRow {
    NodeRow {
        id: n.id,
        name: n.name,
        hypervisor_type: n.hypervisor_type,
        host_ip: n.host_ip,
        zone: n.availability_zone,
        vcpus: n.vcpus,
        vcpus_used: n.vcpus_used,
        memory_mib: n.memory_mib,
        memory_mib_used: n.memory_mib_used,
        disk_gb: n.disk_gb,
        disk_gb_used: n.disk_gb_used,
        instances: n.running_vms,
        // The service's decision (heartbeat within node_down_after_secs
        // and not forced down), the same one os-hypervisors reports.
        up: n.up,
        forced_down: n.forced_down,
        enabled: n.enabled,
        disabled_reason: n.disabled_reason.unwrap_or_default(),
        heartbeat: n.heartbeat_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    }
}

/// Every compute node, with whether the caller may enable and disable them.
#[server(endpoint = "list_compute_nodes")]
pub async fn list_compute_nodes() -> Result<NodeList, AppError> {
    use cloud::policy::{allows, compute as rules, Target};
    let (a, compute) = server::auth_compute().await?;
    let nodes = compute.list_nodes(&a.ctx).await?;
    Ok(NodeList {
        nodes: nodes.into_iter().map(node_row).collect(),
        can_update: allows(&a.ctx, &rules::SERVICES_UPDATE, &Target::none()),
    })
}

#[server(endpoint = "set_compute_node_enabled")]
pub async fn set_compute_node_enabled(
    id: String,
    enabled: bool,
    reason: String,
) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let reason = reason.trim();
    compute
        .set_node_enabled(
            &a.ctx,
            &id,
            enabled,
            (!reason.is_empty()).then(|| reason.to_string()),
        )
        .await?;
    Ok(())
}

/// `used` of `total` as a bar with its numbers.
#[component]
fn UsageBar(
    #[prop(into)] label: String,
    used: u64,
    total: u64,
    #[prop(into)] used_text: String,
    #[prop(into)] total_text: String,
    testid: &'static str,
) -> impl IntoView {
    let lang = use_lang();
    let pct = used
        .saturating_mul(100)
        .checked_div(total)
        .unwrap_or(0)
        .min(100);
    let tone = if pct >= 90 {
        "bg-rose-500"
    } else if pct >= 70 {
        "bg-amber-500"
    } else {
        "bg-sky-600"
    };
    let text = t(lang, "hv.used_of")
        .replace("{used}", &used_text)
        .replace("{total}", &total_text);
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid=testid>
            <p class="text-sm font-medium text-slate-700">{label}</p>
            <p class="mt-1 text-lg font-semibold text-slate-900">{text}</p>
            <div class="mt-3 h-2 w-full overflow-hidden rounded-full bg-slate-100" role="progressbar"
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                <div class=format!("h-2 rounded-full {tone}") style=format!("width: {pct}%")></div>
            </div>
        </div>
    }
}

#[component]
pub fn HypervisorsPage() -> impl IntoView {
    let lang = use_lang();
    let toggle = ServerAction::<SetComputeNodeEnabled>::new();
    let refresh = RwSignal::new(0u32);
    let data = Resource::new(
        move || (toggle.version().get(), refresh.get()),
        |_| list_compute_nodes(),
    );
    let disabling = RwSignal::new(None::<NodeRow>);
    let toggle_err = act_err!(toggle);
    Effect::new(move |_| {
        if act_ok!(toggle) {
            disabling.set(None)
        }
    });

    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.hypervisors"))/>
        <PageHeader title=t(lang, "nav.hypervisors") subtitle=t(lang, "hv.subtitle")>
            <button type="button" class=BTN_SECONDARY on:click=move |_| refresh.update(|n| *n += 1)>{t(lang, "hv.refresh")}</button>
        </PageHeader>
        // An enable that failed shows here (a disable shows in its dialog).
        <ErrorBox error=Signal::derive(move || if disabling.get().is_none() { toggle_err.get() } else { None })/>
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(list) => {
                        let sum = |f: &dyn Fn(&NodeRow) -> u64| list.nodes.iter().map(f).sum::<u64>();
                        let (vu, vt) = (sum(&|n| u64::from(n.vcpus_used)), sum(&|n| u64::from(n.vcpus)));
                        let (ru, rt) = (sum(&|n| n.memory_mib_used), sum(&|n| n.memory_mib));
                        let (du, dt) = (sum(&|n| n.disk_gb_used), sum(&|n| n.disk_gb));
                        let count = |n: u64| number(lang, i64::try_from(n).unwrap_or(i64::MAX));
                        let can_update = list.can_update;
                        let summary = view! {
                            <h2 class="mb-3 text-sm font-semibold uppercase tracking-wide text-slate-500">{t(lang, "hv.summary")}</h2>
                            <div class="mb-6 grid gap-4 sm:grid-cols-3">
                                <UsageBar label=t(lang, "hv.vcpu_usage") used=vu total=vt used_text=count(vu) total_text=count(vt) testid="usage-vcpus"/>
                                <UsageBar label=t(lang, "hv.ram_usage") used=ru total=rt used_text=mib(ru) total_text=mib(rt) testid="usage-ram"/>
                                <UsageBar label=t(lang, "hv.disk_usage") used=du total=dt used_text=format!("{} GiB", count(du)) total_text=format!("{} GiB", count(dt)) testid="usage-disk"/>
                            </div>
                        };
                        let body = if list.nodes.is_empty() {
                            view! { <EmptyState title=t(lang, "hv.empty") hint=t(lang, "hv.empty_hint")/> }.into_any()
                        } else {
                            let rows = list.nodes.into_iter().map(|n| {
                                let n1 = n.clone();
                                let id = n.id.clone();
                                let action = can_update.then(|| if n.enabled {
                                    view! { <button type="button" class=BTN_LINK_DANGER on:click=move |_| { toggle.clear(); disabling.set(Some(n1.clone())) }>{t(lang, "hv.disable")}</button> }.into_any()
                                } else {
                                    view! { <button type="button" class=BTN_LINK disabled=move || toggle.pending().get()
                                        on:click=move |_| { toggle.dispatch(SetComputeNodeEnabled { id: id.clone(), enabled: true, reason: String::new() }); }>{t(lang, "hv.enable")}</button> }.into_any()
                                });
                                let state = if n.up {
                                    view! { <Pill tone=Tone::Green text=t(lang, "hv.up")/> }.into_any()
                                } else {
                                    view! { <Pill tone=Tone::Red text=t(lang, "hv.down")/> }.into_any()
                                };
                                let status = if n.enabled {
                                    view! { <Pill tone=Tone::Green text=t(lang, "enabled")/> }.into_any()
                                } else {
                                    view! { <Pill tone=Tone::Grey text=t(lang, "disabled")/> }.into_any()
                                };
                                let reason = (!n.enabled && !n.disabled_reason.is_empty()).then(|| view! {
                                    <p class="mt-1 text-xs text-slate-500">{n.disabled_reason.clone()}</p>
                                });
                                view! {
                                    <tr class="hover:bg-slate-50" data-node=n.name.clone()>
                                        <td class=format!("{TD} font-medium text-slate-900")>{n.name.clone()}<p class="font-mono text-xs font-normal text-slate-400">{n.host_ip.clone()}</p></td>
                                        <td class=TD>{n.hypervisor_type.clone()}</td>
                                        <td class=TD>{format!("{} / {}", count(u64::from(n.vcpus_used)), count(u64::from(n.vcpus)))}</td>
                                        <td class=TD>{format!("{} / {}", mib(n.memory_mib_used), mib(n.memory_mib))}</td>
                                        <td class=TD>{format!("{} / {} GiB", count(n.disk_gb_used), count(n.disk_gb))}</td>
                                        <td class=TD>{count(u64::from(n.instances))}</td>
                                        <td class=TD data-testid="node-state">{state}<p class="mt-1 text-xs text-slate-400">{format!("{} UTC", date_time(lang, &n.heartbeat))}</p></td>
                                        <td class=TD data-testid="node-status">{status}{reason}</td>
                                        <td class=format!("{TD} text-right")>{action}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <div class="overflow-x-auto">
                                    <table class="min-w-full divide-y divide-slate-200">
                                        <thead class="bg-slate-50"><tr>
                                            <Th label=t(lang, "hv.hostname")/>
                                            <Th label=t(lang, "hv.type")/>
                                            <Th label=t(lang, "hv.vcpus")/>
                                            <Th label=t(lang, "hv.ram")/>
                                            <Th label=t(lang, "hv.disk")/>
                                            <Th label=t(lang, "hv.instances")/>
                                            <Th label=t(lang, "hv.state")/>
                                            <Th label=t(lang, "status")/>
                                            <ThActions/>
                                        </tr></thead>
                                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                    </table>
                                </div>
                            }.into_any()
                        };
                        view! { {summary}<div class=CARD>{body}</div> }.into_any()
                    }
                }
            })}
        </Transition>

        {move || disabling.get().map(|n| {
            let id = n.id.clone();
            view! {
                <Modal title=format!("{} · {}", t(lang, "hv.disable_title"), n.name) on_close=Callback::new(move |_| disabling.set(None))>
                    <ErrorBox error=toggle_err/>
                    <p class="mb-4 text-sm text-slate-600">{t(lang, "hv.disable_text")}</p>
                    <ActionForm action=toggle>
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="enabled" value="false"/>
                        <Field label=t(lang, "hv.reason") name="reason" hint=t(lang, "hv.reason_hint")/>
                        <FormActions submit_label=t(lang, "hv.disable") pending=toggle.pending() on_cancel=Callback::new(move |_| disabling.set(None))/>
                    </ActionForm>
                </Modal>
            }
        })}
    }
}
