//! An instance's page: Overview (every field, its fault, metadata; the
//! status follows the instance live), Console Log (the tail of its serial
//! console, asked of its node) and Action Log (os-instance-actions).

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::instances::live_updates;
use super::*;
use crate::components::*;
use crate::i18n::date_time;
use crate::{act_err, act_ok};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub row: InstanceRow,
    pub description: String,
    pub hostname: String,
    pub user_id: String,
    pub launched: String,
    pub updated: String,
    pub fault_details: String,
    pub fault_code: u16,
    pub metadata: Vec<(String, String)>,
    pub locked_reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRow {
    pub action: String,
    pub request_id: String,
    pub user_id: String,
    pub started: String,
    pub finished: String,
    pub message: String,
}

#[server(endpoint = "instance_detail")]
pub async fn instance_detail(id: String) -> Result<InstanceInfo, AppError> {
    let (image, identity) = (server::image()?, server::identity()?);
    let (a, compute) = server::auth_compute().await?;
    let s = compute.get_server(&a.ctx, &id).await?;
    let names = convert::Names::of(&a.ctx, &image, &identity, std::slice::from_ref(&s), true).await;
    let fault = s.fault.clone();
    Ok(InstanceInfo {
        description: s.description.clone().unwrap_or_default(),
        hostname: s.hostname.clone(),
        user_id: s.user_id.clone(),
        launched: s.launched_at.map(convert::time).unwrap_or_default(),
        updated: convert::time(s.updated_at),
        fault_details: fault
            .as_ref()
            .and_then(|f| f.details.clone())
            .unwrap_or_default(),
        fault_code: fault.as_ref().map_or(0, |f| f.code),
        metadata: s
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        locked_reason: s.locked_reason.clone().unwrap_or_default(),
        row: convert::row(&a.ctx, &compute, s, &names),
    })
}

/// The last `lines` lines of the instance's console.
#[server(endpoint = "instance_console")]
pub async fn instance_console(id: String, lines: u32) -> Result<String, AppError> {
    let (a, compute) = server::auth_compute().await?;
    let lines = (lines > 0).then_some(lines.min(10_000));
    Ok(compute.console_output(&a.ctx, &id, lines).await?)
}

#[server(endpoint = "instance_action_log")]
pub async fn instance_action_log(id: String) -> Result<Vec<ActionRow>, AppError> {
    let (a, compute) = server::auth_compute().await?;
    Ok(compute
        .instance_actions(&a.ctx, &id)
        .await?
        .into_iter()
        .map(|x| ActionRow {
            action: x.action,
            request_id: x.request_id,
            user_id: x.user_id,
            started: convert::time(x.start_time),
            finished: x.finish_time.map(convert::time).unwrap_or_default(),
            message: x.message.unwrap_or_default(),
        })
        .collect())
}

#[component]
pub fn ProjectInstanceDetailPage() -> impl IntoView {
    view! { <InstanceDetailPage base="/project/instances" all=false/> }
}

#[component]
pub fn AdminInstanceDetailPage() -> impl IntoView {
    view! { <InstanceDetailPage base="/admin/instances" all=true/> }
}

#[component]
fn InstanceDetailPage(base: &'static str, all: bool) -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let tab = Memo::new(move |_| query.with(|q| q.get("tab").unwrap_or_default()));
    let refresh = RwSignal::new(0usize);
    let detail = Resource::new(
        move || (id.get(), refresh.get()),
        |(id, _)| instance_detail(id),
    );
    // The status follows the instance: a pushed row replaces the fetched one.
    let patches: RwSignal<HashMap<String, Option<InstanceRow>>> = RwSignal::new(HashMap::new());
    let shown = StoredValue::new(HashSet::new());
    Effect::new(move |_| shown.set_value(HashSet::from([id.get()])));
    let refetch = Callback::new(move |_| refresh.update(|n| *n += 1));
    live_updates(all, patches, shown, refetch);
    let tabs = move || {
        let current = tab.get();
        [
            ("", t(lang, "compute.d.overview")),
            ("console", t(lang, "compute.d.console")),
            ("log", t(lang, "compute.d.action_log")),
        ]
        .into_iter()
        .map(|(key, label)| {
            let href = if key.is_empty() {
                format!("{base}/{}", id.get())
            } else {
                format!("{base}/{}?tab={key}", id.get())
            };
            let active = current == key;
            view! {
                <a href=href data-tab=key aria-current=active.then_some("page")
                    class=if active { "border-b-2 border-sky-600 px-3 py-2 text-sm font-medium text-sky-800" } else { "border-b-2 border-transparent px-3 py-2 text-sm text-slate-500 hover:text-slate-800" }>{label}</a>
            }
        })
        .collect_view()
    };
    view! {
        <div class="mb-4"><BackLink href=base label=t(lang, "compute.back")/></div>
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(d) => {
                        let fetched = d.row.clone();
                        let row = Memo::new(move |_| match patches.with(|p| p.get(&fetched.id).cloned()) {
                            Some(Some(r)) => r,
                            Some(None) => InstanceRow { status: "DELETED".into(), task_state: String::new(), can: InstanceCaps::default(), ..fetched.clone() },
                            None => fetched.clone(),
                        });
                        view! {
                            <Title text=format!("{} · Gureum", d.row.label())/>
                            <PageHeader title=d.row.label() subtitle=d.row.id.clone()>
                                <ActionButtons row=row/>
                            </PageHeader>
                            <nav class="mb-4 flex gap-1 border-b border-slate-200" aria-label=t(lang, "compute.d.tabs")>{tabs}</nav>
                            {move || match tab.get().as_str() {
                                "console" => view! { <ConsoleLog id=id.get_untracked() can=row.with(|r| r.can.console)/> }.into_any(),
                                "log" => view! { <ActionLog id=id.get_untracked() version=Signal::derive(move || row.with(|r| (r.status.clone(), r.task_state.clone())))/> }.into_any(),
                                _ => view! { <Overview d=d.clone() row=row all=all/> }.into_any(),
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

/// The actions the instance allows now (they change as it does).
#[component]
fn ActionButtons(row: Memo<InstanceRow>) -> impl IntoView {
    let lang = use_lang();
    let act = ServerAction::<InstanceAction>::new();
    let deleting = RwSignal::new(false);
    Effect::new(move |_| {
        if act_ok!(act) {
            deleting.set(false);
        }
    });
    let buttons = move || {
        let r = row.get();
        ACTIONS
            .iter()
            .filter(|(a, _)| allows(&r.can, a))
            .map(|(a, key)| {
                let id = r.id.clone();
                let action = a.to_string();
                view! {
                    <button type="button" class=BTN_SECONDARY data-action=*a disabled=move || act.pending().get()
                        on:click=move |_| { act.clear(); act.dispatch(InstanceAction { id: id.clone(), action: action.clone() }); }>{t(lang, key)}</button>
                }
            })
            .collect_view()
    };
    view! {
        <div class="flex flex-wrap items-center gap-2">
            {buttons}
            {move || row.with(|r| r.can.delete).then(|| view! {
                <button type="button" class=BTN_DANGER on:click=move |_| { act.clear(); deleting.set(true); }>{t(lang, "delete")}</button>
            })}
        </div>
        <div class="w-full"><ErrorBox error=act_err!(act)/></div>
        <Show when=move || deleting.get()>
            <Confirm title=t(lang, "compute.delete") message=format!("{} {}", t(lang, "compute.delete_q").replace("{name}", &row.with_untracked(|r| r.label())), t(lang, "confirm.irreversible"))
                confirm_label=t(lang, "delete")
                on_confirm=Callback::new(move |_| { act.dispatch(InstanceAction { id: row.with_untracked(|r| r.id.clone()), action: "delete".into() }); })
                on_close=Callback::new(move |_| deleting.set(false))
                pending=act.pending() error=act_err!(act)/>
        </Show>
    }
    .into_any()
}

#[component]
fn Overview(d: InstanceInfo, row: Memo<InstanceRow>, all: bool) -> impl IntoView {
    let lang = use_lang();
    let item = |label: &'static str, value: String| {
        view! {
            <div class="grid grid-cols-3 gap-4 px-4 py-2.5">
                <dt class="text-sm text-slate-500">{label}</dt>
                <dd class="col-span-2 break-all text-sm text-slate-900">{value}</dd>
            </div>
        }
        .into_any()
    };
    let r = d.row.clone();
    let meta = d
        .metadata
        .iter()
        .map(|(k, v)| item_kv(k.clone(), v.clone()))
        .collect_view();
    let image_href = if all {
        format!("/admin/images/{}", r.image_id)
    } else {
        format!("/project/images/{}", r.image_id)
    };
    let info = view! {
            <section class=CARD>
                <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "compute.d.info")}</h2>
                <dl class="divide-y divide-slate-100">
                    <div class="grid grid-cols-3 gap-4 px-4 py-2.5" data-testid="detail-status">
                        <dt class="text-sm text-slate-500">{t(lang, "status")}</dt>
                        <dd class="col-span-2">{move || { let r = row.get(); view! { <InstanceStatus status=r.status task=r.task_state/> } }}</dd>
                    </div>
                    <div class="grid grid-cols-3 gap-4 px-4 py-2.5">
                        <dt class="text-sm text-slate-500">{t(lang, "compute.power")}</dt>
                        <dd class="col-span-2 text-sm text-slate-900" data-testid="detail-power">{move || power_label(lang, &row.with(|r| r.power_state.clone()))}</dd>
                    </div>
                    {item(t(lang, "name"), r.name.clone())}
                    {item(t(lang, "id"), r.id.clone())}
                    {item(t(lang, "description"), d.description.clone())}
                    {item(t(lang, "compute.project"), r.project_name.clone())}
                    {item(t(lang, "compute.hostname"), d.hostname.clone())}
                    {item(t(lang, "compute.zone"), r.availability_zone.clone())}
                    {item(t(lang, "compute.host"), r.node_name.clone())}
                    {item(t(lang, "compute.created"), date_time(lang, &r.created))}
                    {item(t(lang, "compute.launched"), date_time(lang, &d.launched))}
                    {item(t(lang, "compute.locked"), if r.locked { format!("{} {}", t(lang, "yes"), d.locked_reason) } else { t(lang, "no").to_string() })}
                </dl>
            </section>
    }
    .into_any();
    let specs = view! {
                <section class=CARD>
                    <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "compute.d.specs")}</h2>
                    <dl class="divide-y divide-slate-100">
                        {item(t(lang, "compute.flavor"), r.flavor_name.clone())}
                        {item(t(lang, "compute.vcpus"), r.vcpus.to_string())}
                        {item(t(lang, "compute.ram"), mib(r.ram_mib))}
                        {item(t(lang, "compute.disk"), format!("{} GiB", r.disk_gb))}
                        <div class="grid grid-cols-3 gap-4 px-4 py-2.5">
                            <dt class="text-sm text-slate-500">{t(lang, "compute.image")}</dt>
                            <dd class="col-span-2 text-sm"><a class="text-sky-700 hover:underline" href=image_href>{r.image_name.clone()}</a></dd>
                        </div>
                        {item(t(lang, "compute.key_pair"), r.key_name.clone())}
                    </dl>
                </section>
    }
    .into_any();
    let extra = view! {
                {move || {
                    let f = row.with(|r| r.fault.clone());
                    (!f.is_empty()).then(|| view! {
                        <section class="rounded-lg border border-rose-200 bg-rose-50 p-4" data-testid="fault">
                            <h2 class="text-sm font-semibold text-rose-900">{t(lang, "compute.d.fault")}</h2>
                            <p class="mt-1 text-sm text-rose-800">{f}</p>
                        </section>
                    })
                }}
                {(!d.metadata.is_empty()).then(|| view! {
                    <section class=CARD>
                        <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "compute.d.metadata")}</h2>
                        <dl class="divide-y divide-slate-100">{meta}</dl>
                    </section>
                })}
    }
    .into_any();
    view! {
        <div class="grid gap-6 lg:grid-cols-2">
            {info}
            <div class="space-y-6">{specs}{extra}</div>
        </div>
    }
    .into_any()
}

fn item_kv(k: String, v: String) -> impl IntoView {
    view! {
        <div class="grid grid-cols-3 gap-4 px-4 py-2.5">
            <dt class="break-all font-mono text-xs text-slate-500">{k}</dt>
            <dd class="col-span-2 break-all text-sm text-slate-900">{v}</dd>
        </div>
    }
}

/// The console's tail, with how many lines to show and a refresh.
#[component]
fn ConsoleLog(id: String, can: bool) -> impl IntoView {
    let lang = use_lang();
    let lines = RwSignal::new(35u32);
    let refresh = RwSignal::new(0usize);
    let id = StoredValue::new(id);
    let log = Resource::new(
        move || (lines.get(), refresh.get()),
        move |(n, _)| instance_console(id.get_value(), n),
    );
    if !can {
        return view! { <p class="text-sm text-slate-500">{t(lang, "compute.d.no_console")}</p> }
            .into_any();
    }
    view! {
        <div class="mb-3 flex items-center gap-3">
            <label for="console-lines" class="text-sm text-slate-600">{t(lang, "compute.d.lines")}</label>
            <input id="console-lines" type="number" min="1" max="10000" class="w-24 rounded-md border border-slate-300 px-2 py-1 text-sm"
                prop:value=move || lines.get().to_string()
                on:change=move |ev| lines.set(event_target_value(&ev).parse().unwrap_or(35))/>
            <button type="button" class=BTN_SECONDARY on:click=move |_| refresh.update(|n| *n += 1)>{t(lang, "compute.d.refresh")}</button>
            <a class=BTN_LINK href=move || format!("?tab=console&full={}", refresh.get()) on:click=move |ev| { ev.prevent_default(); lines.set(10_000); }>{t(lang, "compute.d.full_log")}</a>
        </div>
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match log.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(text) => view! {
                        <pre data-testid="console-log" class="max-h-[32rem] overflow-auto rounded-lg bg-slate-900 p-4 font-mono text-xs leading-relaxed text-slate-100">{text}</pre>
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

/// Every request made of the instance, newest first; fetched again when
/// its state changes (each change ends or starts an action).
#[component]
fn ActionLog(id: String, version: Signal<(String, String)>) -> impl IntoView {
    let lang = use_lang();
    let id = StoredValue::new(id);
    let log = Resource::new(
        move || version.get(),
        move |_| instance_action_log(id.get_value()),
    );
    view! {
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match log.await {
                        Err(e) => view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any(),
                        Ok(rows) => view! {
                            <table class="min-w-full divide-y divide-slate-200" data-testid="action-log">
                                <thead class="bg-slate-50"><tr>
                                    <Th label=t(lang, "compute.d.action")/>
                                    <Th label=t(lang, "compute.d.request")/>
                                    <Th label=t(lang, "compute.d.user")/>
                                    <Th label=t(lang, "compute.d.started")/>
                                    <Th label=t(lang, "compute.d.message")/>
                                </tr></thead>
                                <tbody class="divide-y divide-slate-100">
                                    {rows.into_iter().map(|r| view! {
                                        <tr data-action=r.action.clone()>
                                            <td class=format!("{TD} font-medium")>{action_label(lang, &r.action)}</td>
                                            <td class=format!("{TD} font-mono text-xs text-slate-500")>{r.request_id}</td>
                                            <td class=format!("{TD} font-mono text-xs text-slate-500")>{r.user_id}</td>
                                            <td class=format!("{TD} whitespace-nowrap")>{date_time(lang, &r.started)}</td>
                                            <td class=format!("{TD} text-rose-700")>{if r.finished.is_empty() { t(lang, "compute.d.running").to_string() } else { r.message }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
    .into_any()
}

fn action_label(lang: Lang, action: &str) -> String {
    match action {
        "create" => t(lang, "compute.act.create").to_string(),
        "delete" => t(lang, "delete").to_string(),
        other => ACTIONS
            .iter()
            .find(|(a, _)| *a == other)
            .map(|(_, key)| t(lang, key).to_string())
            .unwrap_or_else(|| other.to_string()),
    }
}
