//! Project › Compute › Instances and Admin › Instances: one table, paged,
//! sorted and filtered on the server, whose rows change as the instances
//! do. The server pushes every change (`/portal/compute/events`, Server-Sent
//! Events) as the row itself; Horizon instead polls each busy row.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos_meta::Title;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::launch::LaunchDialog;
use super::*;
use crate::auth::Me;
use crate::components::*;
use crate::i18n::{date_time, number};
use crate::{act_err, act_ok};

#[component]
pub fn ProjectInstancesPage() -> impl IntoView {
    view! { <InstancesPanel all=false base="/project/instances"/> }
}

#[component]
pub fn AdminInstancesPage() -> impl IntoView {
    view! { <InstancesPanel all=true base="/admin/instances"/> }
}

/// Changes pushed since the page was fetched, by instance id (`None`: the
/// instance is gone). A patch is always the newest state the server has
/// told of; a reconnect (which may have missed some) clears them and
/// fetches again.
type Patches = RwSignal<HashMap<String, Option<InstanceRow>>>;

#[component]
fn InstancesPanel(all: bool, base: &'static str) -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let me = use_context::<Me>();
    let can_launch = !all && me.as_ref().is_some_and(|m| m.can_launch_instance);
    let refresh = RwSignal::new(0usize);
    let patches: Patches = RwSignal::new(HashMap::new());
    let selected = RwSignal::new(HashSet::<String>::new());
    // Which row's Actions menu is open, kept here so that it stays open
    // when the page is fetched again under it (a launch elsewhere).
    let open_menu = RwSignal::new(None::<String>);
    let launching = RwSignal::new(false);
    let data = Resource::new(
        move || (params.get(), refresh.get()),
        move |(p, _)| list_instances(all, p.q, p.tab, p.sort, p.dir, p.page),
    );
    // Rows on the page: what was fetched, with what has been pushed since.
    let shown = StoredValue::new(HashSet::<String>::new());
    Effect::new(move |_| {
        if let Some(Ok(p)) = data.get() {
            shown.set_value(p.items.iter().map(|r| r.id.clone()).collect());
        }
    });
    let refetch_soon = debounced_refresh(refresh);
    live_updates(all, patches, shown, refetch_soon);
    let tabs = vec![
        ("", t(lang, "compute.tab.all")),
        ("active", t(lang, "compute.st.active")),
        ("shutoff", t(lang, "compute.st.shutoff")),
        ("build", t(lang, "compute.st.build")),
        ("error", t(lang, "compute.st.error")),
    ];
    let title = if all {
        t(lang, "compute.admin_title")
    } else {
        t(lang, "compute.title")
    };
    view! {
        <Title text=format!("{title} · Gureum")/>
        <PageHeader title=title subtitle=t(lang, "compute.subtitle")>
            {can_launch.then(|| view! {
                <button type="button" class=BTN_PRIMARY data-testid="launch" on:click=move |_| launching.set(true)>{t(lang, "compute.launch")}</button>
            })}
        </PageHeader>
        <ListTabs base=base params=params tabs=tabs label=title/>
        <div class="mb-3 flex flex-wrap items-center justify-between gap-3">
            <FilterBox base=base params=params/>
            <BulkBar selected=selected on_done=Callback::new(move |_| refresh.update(|n| *n += 1))/>
        </div>
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any(),
                        Ok(page) if page.items.is_empty() => {
                            let (title, hint) = if params.get_untracked().q.is_empty() {
                                (t(lang, "compute.empty"), t(lang, "compute.empty_hint"))
                            } else {
                                (t(lang, "no_match"), t(lang, "no_match.hint"))
                            };
                            view! { <EmptyState title=title hint=hint/> }.into_any()
                        }
                        Ok(page) => view! {
                            <InstanceTable page=page all=all base=base params=params patches=patches selected=selected open_menu=open_menu
                                on_changed=Callback::new(move |_| refresh.update(|n| *n += 1))/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
        <Show when=move || launching.get()>
            <LaunchDialog on_close=Callback::new(move |_| launching.set(false))
                on_launched=Callback::new(move |_| refresh.update(|n| *n += 1))/>
        </Show>
    }
    .into_any()
}

/// A callback that refetches the page a moment from now, once however
/// often it is called meanwhile (a burst of new instances is one fetch).
fn debounced_refresh(refresh: RwSignal<usize>) -> Callback<()> {
    let pending = StoredValue::new(false);
    Callback::new(move |_| {
        if pending.get_value() {
            return;
        }
        pending.set_value(true);
        set_timeout(
            move || {
                pending.set_value(false);
                refresh.update(|n| *n += 1);
            },
            std::time::Duration::from_millis(250),
        );
    })
}

#[component]
fn InstanceTable(
    page: InstancePage,
    all: bool,
    base: &'static str,
    params: Memo<ListParams>,
    patches: Patches,
    selected: RwSignal<HashSet<String>>,
    open_menu: RwSignal<Option<String>>,
    on_changed: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let total = page.total;
    let count = page.items.len();
    let fetched = page.items;
    let rows = Memo::new(move |_| {
        patches.with(|p| {
            fetched
                .iter()
                .map(|r| match p.get(&r.id) {
                    Some(Some(newer)) => newer.clone(),
                    Some(None) => InstanceRow {
                        status: "DELETED".into(),
                        task_state: String::new(),
                        can: InstanceCaps::default(),
                        ..r.clone()
                    },
                    None => r.clone(),
                })
                .collect::<Vec<_>>()
        })
    });
    let ids = Memo::new(move |_| rows.with(|r| r.iter().map(|r| r.id.clone()).collect::<Vec<_>>()));
    let all_checked = move || {
        let ids = ids.get();
        !ids.is_empty() && selected.with(|s| ids.iter().all(|i| s.contains(i)))
    };
    let act = ServerAction::<InstanceAction>::new();
    let deleting = RwSignal::new(None::<InstanceRow>);
    Effect::new(move |_| {
        if act_ok!(act) {
            deleting.set(None);
        }
    });
    let head = view! {
                <thead class="bg-slate-50">
                    <tr>
                        <th class="w-10 px-4 py-3">
                            <input type="checkbox" aria-label=t(lang, "compute.select_all")
                                class="h-4 w-4 rounded border-slate-300"
                                prop:checked=all_checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    selected.update(|s| for id in ids.get_untracked() {
                                        if on { s.insert(id); } else { s.remove(&id); }
                                    });
                                }/>
                        </th>
                        <SortHeader label=t(lang, "name") key="name" base=base params=params/>
                        {all.then(|| view! { <SortHeader label=t(lang, "compute.project") key="project" base=base params=params/> })}
                        <Th label=t(lang, "compute.image")/>
                        <SortHeader label=t(lang, "compute.flavor") key="flavor" base=base params=params/>
                        <Th label=t(lang, "compute.key_pair")/>
                        <SortHeader label=t(lang, "status") key="status" base=base params=params/>
                        <Th label=t(lang, "compute.power")/>
                        {all.then(|| view! { <SortHeader label=t(lang, "compute.host") key="node" base=base params=params/> })}
                        <SortHeader label=t(lang, "compute.created") key="created" base=base params=params/>
                        <ThActions/>
                    </tr>
                </thead>
    }
    .into_any();
    view! {
        <ErrorBox error=act_err!(act)/>
        <div class="overflow-x-auto">
            <table class="min-w-full divide-y divide-slate-200" data-testid="instances">
                {head}
                <tbody class="divide-y divide-slate-100">
                    <For each=move || rows.get()
                        key=|r| (r.id.clone(), r.status.clone(), r.task_state.clone(), r.power_state.clone(), r.locked, r.name.clone(), r.can)
                        children=move |r| view! {
                            <InstanceRowView r=r all=all base=base selected=selected open_menu=open_menu act=act deleting=deleting/>
                        }.into_any()/>
                </tbody>
            </table>
        </div>
        <Pager base=base params=params total=total shown=count/>
        {move || deleting.get().map(|r| {
            let id = r.id.clone();
            view! {
                <Confirm title=t(lang, "compute.delete") message=format!("{} {}", t(lang, "compute.delete_q").replace("{name}", &r.label()), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { act.dispatch(InstanceAction { id: id.clone(), action: "delete".into() }); on_changed.run(()); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=act.pending() error=act_err!(act)/>
            }
        })}
        <span class="hidden" data-testid="instances-total">{number(lang, total)}</span>
    }
    .into_any()
}

#[component]
fn InstanceRowView(
    r: InstanceRow,
    all: bool,
    base: &'static str,
    selected: RwSignal<HashSet<String>>,
    open_menu: RwSignal<Option<String>>,
    act: ServerAction<InstanceAction>,
    deleting: RwSignal<Option<InstanceRow>>,
) -> impl IntoView {
    let lang = use_lang();
    let href = format!("{base}/{}", r.id);
    let id = r.id.clone();
    let checked = {
        let id = id.clone();
        move || selected.with(|s| s.contains(&id))
    };
    let gone = r.status == "DELETED";
    let actions = ACTIONS
        .iter()
        .filter(|(a, _)| allows(&r.can, a))
        .map(|(a, key)| {
            let id = r.id.clone();
            let action = a.to_string();
            view! {
                <button type="button" role="menuitem" data-action=*a
                    class="block w-full px-3 py-1.5 text-left text-sm text-slate-700 hover:bg-slate-50"
                    on:click=move |_| { open_menu.set(None); act.clear(); act.dispatch(InstanceAction { id: id.clone(), action: action.clone() }); }>
                    {t(lang, key)}
                </button>
            }
        })
        .collect_view();
    let has_actions = ACTIONS.iter().any(|(a, _)| allows(&r.can, a));
    let can_delete = r.can.delete;
    let menu_open = {
        let id = id.clone();
        move || open_menu.with(|o| o.as_ref() == Some(&id))
    };
    let toggle_menu = {
        let id = id.clone();
        move |ev: leptos::ev::MouseEvent| {
            ev.prevent_default();
            open_menu.update(|o| {
                *o = if o.as_ref() == Some(&id) {
                    None
                } else {
                    Some(id.clone())
                }
            });
        }
    };
    let r2 = r.clone();
    view! {
        <tr class=if gone { "bg-slate-50 text-slate-400" } else { "hover:bg-slate-50" } data-instance=r.name.clone() data-id=r.id.clone() data-status=r.status.clone()>
            <td class="px-4 py-3">
                <input type="checkbox" aria-label=format!("{} {}", t(lang, "compute.select"), r.label())
                    class="h-4 w-4 rounded border-slate-300" disabled=gone
                    prop:checked=checked
                    on:change={
                        let id = id.clone();
                        move |ev| {
                            let on = event_target_checked(&ev);
                            selected.update(|s| { if on { s.insert(id.clone()); } else { s.remove(&id); } });
                        }
                    }/>
            </td>
            <td class=format!("{TD} min-w-40 font-medium text-slate-900")>
                <a href=href class="hover:text-sky-700 hover:underline">{r.label()}</a>
                {r.locked.then(|| view! { <span class="ml-2 text-xs text-slate-400">{t(lang, "compute.locked")}</span> })}
            </td>
            {all.then(|| view! { <td class=format!("{TD} text-slate-500")>{r.project_name.clone()}</td> })}
            <td class=TD>{r.image_name.clone()}</td>
            <td class=format!("{TD} whitespace-nowrap")>
                <span title=format!("{} vCPU · {} · {} GiB", r.vcpus, mib(r.ram_mib), r.disk_gb)>{r.flavor_name.clone()}</span>
            </td>
            <td class=format!("{TD} text-slate-500")>{r.key_name.clone()}</td>
            <td class=format!("{TD} whitespace-nowrap")>
                <InstanceStatus status=r.status.clone() task=r.task_state.clone()/>
                {(!r.fault.is_empty()).then(|| view! { <p class="mt-1 max-w-xs truncate text-xs text-rose-700" title=r.fault.clone()>{r.fault.clone()}</p> })}
            </td>
            <td class=TD>{power_label(lang, &r.power_state)}</td>
            {all.then(|| view! { <td class=format!("{TD} text-slate-500")>{r.node_name.clone()}</td> })}
            <td class=format!("{TD} whitespace-nowrap text-slate-500")>{date_time(lang, &r.created)}</td>
            <td class=format!("{TD} whitespace-nowrap text-right")>
                {has_actions.then(|| view! {
                    <details class="relative inline-block text-left" data-testid="row-actions" prop:open=menu_open>
                        <summary class=format!("{BTN_SECONDARY} cursor-pointer list-none") on:click=toggle_menu>{t(lang, "actions")}</summary>
                        <div role="menu" class="absolute right-0 z-20 mt-1 w-44 rounded-md border border-slate-200 bg-white py-1 shadow-lg">{actions}</div>
                    </details>
                })}
                {can_delete.then(|| view! {
                    <button type="button" class=format!("{BTN_LINK_DANGER} ml-3") on:click=move |_| { act.clear(); deleting.set(Some(r2.clone())); }>{t(lang, "delete")}</button>
                })}
            </td>
        </tr>
    }
    .into_any()
}

/// Start, stop, reboot or delete every selected instance at once; each
/// refusal is listed with its instance.
#[component]
fn BulkBar(selected: RwSignal<HashSet<String>>, on_done: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    let bulk = ServerAction::<BulkInstanceAction>::new();
    let confirm_delete = RwSignal::new(false);
    let run = move |action: &'static str| {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        bulk.dispatch(BulkInstanceAction {
            ids,
            action: action.to_string(),
        });
    };
    Effect::new(move |_| {
        if act_ok!(bulk) {
            selected.set(HashSet::new());
            confirm_delete.set(false);
            on_done.run(());
        }
    });
    let n = move || selected.with(HashSet::len);
    let outcome = move || {
        bulk.value().get().and_then(|r| r.ok()).map(|r| {
            let failed = r
                .failed
                .iter()
                .map(|(name, e)| view! { <li>{format!("{name}: {}", e.text(lang))}</li> })
                .collect_view();
            view! {
                <div class="text-sm" data-testid="bulk-outcome">
                    <span class="text-emerald-700">{t(lang, "compute.bulk_done").replace("{n}", &r.done.to_string())}</span>
                    {(!r.failed.is_empty()).then(|| view! { <ul role="alert" class="mt-1 list-disc pl-5 text-rose-700">{failed}</ul> })}
                </div>
            }
        })
    };
    view! {
        <div class="flex items-center gap-2">
            {outcome}
            <ErrorBox error=act_err!(bulk)/>
            <Show when=move || { n() > 0 }>
                <span class="text-sm text-slate-500" data-testid="bulk-count">{move || t(lang, "compute.selected").replace("{n}", &n().to_string())}</span>
                <button type="button" class=BTN_SECONDARY disabled=move || bulk.pending().get() on:click=move |_| run("start")>{t(lang, "compute.act.start")}</button>
                <button type="button" class=BTN_SECONDARY disabled=move || bulk.pending().get() on:click=move |_| run("stop")>{t(lang, "compute.act.stop")}</button>
                <button type="button" class=BTN_SECONDARY disabled=move || bulk.pending().get() on:click=move |_| run("reboot")>{t(lang, "compute.act.reboot")}</button>
                <button type="button" class=BTN_DANGER data-testid="bulk-delete" disabled=move || bulk.pending().get() on:click=move |_| confirm_delete.set(true)>{t(lang, "compute.delete_selected")}</button>
            </Show>
            <Show when=move || confirm_delete.get()>
                <Confirm title=t(lang, "compute.delete_selected") message=format!("{} {}", t(lang, "compute.delete_selected_q").replace("{n}", &n().to_string()), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| run("delete"))
                    on_close=Callback::new(move |_| confirm_delete.set(false))
                    pending=bulk.pending() error=act_err!(bulk)/>
            </Show>
        </div>
    }
    .into_any()
}

// ------------------------------------------------------------ live updates

/// An open event stream; dropping it closes the stream and its handlers.
struct Live {
    source: web_sys::EventSource,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Listens to `/portal/compute/events` while the page is open: a pushed
/// row patches the table in place; a row that is not on this page (a new
/// instance) or one that is gone makes the page fetch again; a reconnect,
/// which may have missed changes, starts over. Effects run only in the
/// browser.
pub(super) fn live_updates(
    all: bool,
    patches: Patches,
    shown: StoredValue<HashSet<String>>,
    refetch: Callback<()>,
) {
    // Browser only: on the server nothing connects, and a thread-local
    // value cleaned up from another thread would panic.
    if cfg!(feature = "ssr") {
        return;
    }
    let live = StoredValue::new_local(None::<Live>);
    Effect::new(move |_| {
        let url = if all {
            "/portal/compute/events?all=true"
        } else {
            "/portal/compute/events"
        };
        match connect(url, patches, shown, refetch) {
            Ok(l) => live.set_value(Some(l)),
            Err(e) => leptos::logging::warn!("live updates unavailable: {e:?}"),
        }
    });
    on_cleanup(move || live.update_value(|l| *l = None));
}

fn connect(
    url: &str,
    patches: Patches,
    shown: StoredValue<HashSet<String>>,
    refetch: Callback<()>,
) -> Result<Live, JsValue> {
    let source = web_sys::EventSource::new(url)?;
    let data = |ev: &JsValue| {
        ev.dyn_ref::<web_sys::MessageEvent>()
            .and_then(|m| m.data().as_string())
            .unwrap_or_default()
    };
    let on_instance = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let Ok(row) = serde_json::from_str::<InstanceRow>(&data(&ev)) else {
            return;
        };
        if shown.with_value(|s| s.contains(&row.id)) {
            patches.update(|p| {
                p.insert(row.id.clone(), Some(row));
            });
        } else {
            refetch.run(());
        }
    });
    let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let id = data(&ev);
        if shown.with_value(|s| s.contains(&id)) {
            patches.update(|p| {
                p.insert(id, None);
            });
            refetch.run(());
        }
    });
    // Opened, or opened again after a drop: whatever happened meanwhile is
    // in a fresh fetch.
    let first = StoredValue::new(true);
    let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        if first.get_value() {
            first.set_value(false);
        } else {
            patches.update(HashMap::clear);
            refetch.run(());
        }
    });
    let on_resync = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        patches.update(HashMap::clear);
        refetch.run(());
    });
    let on_ended = {
        let source = source.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |_| {
            source.close();
            crate::auth::hard_redirect("/login");
        })
    };
    let target: &web_sys::EventTarget = source.as_ref();
    target.add_event_listener_with_callback("instance", on_instance.as_ref().unchecked_ref())?;
    target.add_event_listener_with_callback("gone", on_gone.as_ref().unchecked_ref())?;
    target.add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref())?;
    target.add_event_listener_with_callback("ended", on_ended.as_ref().unchecked_ref())?;
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    Ok(Live {
        source,
        _handlers: vec![on_instance, on_gone, on_open, on_resync, on_ended],
    })
}
