//! Admin › Compute › Flavors: every flavor, created and deleted by
//! admins; a flavor's description is the one thing that changes (Nova
//! 2.55), and a private flavor's access list names the projects that may
//! use it.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::error::AppError;
use crate::i18n::{t, use_lang};
use crate::pages::compute::mib;
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorRow {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub ephemeral_gb: u64,
    pub swap_mib: u64,
    pub is_public: bool,
    pub description: String,
}

/// What the caller may do here, from the rules the service enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlavorCaps {
    pub manage: bool,
    pub access: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub project_id: String,
    pub project_name: String,
}

#[server(endpoint = "list_flavors_admin")]
pub async fn list_flavors_admin(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<FlavorRow>, AppError> {
    let (a, compute) = server::auth_compute().await?;
    let q = q.trim().to_lowercase();
    let mut rows: Vec<FlavorRow> = compute
        .list_flavors(&a.ctx, &cloud::compute::FlavorFilter::default())
        .await?
        .into_iter()
        .filter(|f| q.is_empty() || f.name.to_lowercase().contains(&q))
        .map(|f| FlavorRow {
            id: f.id,
            name: f.name,
            vcpus: f.vcpus,
            ram_mib: f.ram_mib,
            disk_gb: f.disk_gb,
            ephemeral_gb: f.ephemeral_gb,
            swap_mib: f.swap_mib,
            is_public: f.is_public,
            description: f.description.unwrap_or_default(),
        })
        .collect();
    match sort.as_str() {
        "vcpus" => rows.sort_by_key(|f| f.vcpus),
        "ram" => rows.sort_by_key(|f| f.ram_mib),
        "disk" => rows.sort_by_key(|f| f.disk_gb),
        "id" => rows.sort_by(|x, y| x.id.cmp(&y.id)),
        _ => rows.sort_by(|x, y| x.name.cmp(&y.name)),
    }
    if dir == "desc" {
        rows.reverse();
    }
    let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(cloud::page::page_offset(page, PAGE_SIZE)).unwrap_or(usize::MAX);
    let items = rows
        .into_iter()
        .skip(skip)
        .take(PAGE_SIZE as usize)
        .collect();
    Ok(PageOf { items, total })
}

#[server(endpoint = "flavor_panel_caps")]
pub async fn flavor_panel_caps() -> Result<FlavorCaps, AppError> {
    use cloud::policy::{allows, compute as rules, Target};
    let a = server::auth().await?;
    Ok(FlavorCaps {
        manage: allows(&a.ctx, &rules::FLAVOR_MANAGE, &Target::none()),
        access: allows(&a.ctx, &rules::FLAVOR_ACCESS, &Target::none()),
    })
}

/// A whole number from a form field; empty is `default`. The field is
/// named by its label key, so the error reads in the user's language.
#[cfg(feature = "ssr")]
fn number_field(
    lang: crate::i18n::Lang,
    value: &str,
    default: u64,
    label: &'static str,
) -> Result<u64, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(default);
    }
    v.parse::<u64>()
        .ok()
        .filter(|n| u32::try_from(*n).is_ok())
        .ok_or_else(|| {
            AppError::portal("flavors.err_number")
                .arg("field", crate::i18n::t(lang, label))
                .arg("value", v)
        })
}

#[server(endpoint = "create_flavor")]
pub async fn create_flavor(
    name: String,
    id: String,
    vcpus: String,
    ram: String,
    disk: String,
    ephemeral: String,
    swap: String,
    is_public: Option<String>,
    description: String,
) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let lang = a.lang().await;
    // At most u32::MAX, so this cannot fail.
    let vcpus = u32::try_from(number_field(lang, &vcpus, 1, "flavors.vcpus")?).unwrap_or(u32::MAX);
    let id = id.trim();
    let description = description.trim();
    compute
        .create_flavor(
            &a.ctx,
            cloud::compute::NewFlavor {
                id: (!id.is_empty()).then(|| id.to_string()),
                name: name.trim().to_string(),
                description: (!description.is_empty()).then(|| description.to_string()),
                vcpus,
                ram_mib: number_field(lang, &ram, 0, "flavors.ram")?,
                disk_gb: number_field(lang, &disk, 0, "flavors.disk")?,
                ephemeral_gb: number_field(lang, &ephemeral, 0, "flavors.ephemeral")?,
                swap_mib: number_field(lang, &swap, 0, "flavors.swap")?,
                rxtx_factor: 1.0,
                is_public: is_public.is_some(),
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "delete_flavor")]
pub async fn delete_flavor(id: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    compute.delete_flavor(&a.ctx, &id).await?;
    Ok(())
}

#[server(endpoint = "update_flavor_description")]
pub async fn update_flavor_description(id: String, description: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let d = description.trim();
    compute
        .update_flavor_description(&a.ctx, &id, (!d.is_empty()).then(|| d.to_string()))
        .await?;
    Ok(())
}

#[cfg(feature = "ssr")]
async fn access_rows(a: &server::Auth, ids: Vec<String>) -> Vec<AccessRow> {
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    // Names are a help; a project the caller cannot read shows its id.
    let names = a
        .identity
        .project_names(&a.ctx, &refs)
        .await
        .unwrap_or_default();
    ids.iter()
        .map(|id| AccessRow {
            project_name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
            project_id: id.clone(),
        })
        .collect()
}

#[server(endpoint = "list_flavor_access")]
pub async fn list_flavor_access(id: String) -> Result<Vec<AccessRow>, AppError> {
    let (a, compute) = server::auth_compute().await?;
    let ids = compute.list_flavor_access(&a.ctx, &id).await?;
    Ok(access_rows(&a, ids).await)
}

/// Opens a private flavor to a project named by id or (exact) name.
#[server(endpoint = "add_flavor_access")]
pub async fn add_flavor_access(id: String, project: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let project = project.trim();
    if project.is_empty() {
        return Err(AppError::portal("flavors.err_project_required"));
    }
    let project_id = match a.identity.get_project(&a.ctx, project).await {
        Ok(p) => p.id,
        Err(_) => {
            let found = a
                .identity
                .list_projects(
                    &a.ctx,
                    &cloud::identity::ListFilter {
                        name: Some(project.to_string()),
                        limit: Some(2),
                        ..Default::default()
                    },
                )
                .await?;
            match found.items.as_slice() {
                [p] => p.id.clone(),
                [] => {
                    return Err(a
                        .msg("flavors.err_no_project", project)
                        .with_kind("not_found"))
                }
                _ => return Err(a.msg("flavors.err_many_projects", project)),
            }
        }
    };
    compute.add_flavor_access(&a.ctx, &id, &project_id).await?;
    Ok(())
}

#[server(endpoint = "remove_flavor_access")]
pub async fn remove_flavor_access(id: String, project_id: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    compute
        .remove_flavor_access(&a.ctx, &id, &project_id)
        .await?;
    Ok(())
}

const BASE: &str = "/admin/flavors";

/// A number input of the create dialog.
#[component]
fn NumberField(
    #[prop(into)] label: String,
    name: &'static str,
    value: &'static str,
    min: &'static str,
) -> impl IntoView {
    let id = format!("f-{name}");
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <input id=id name=name type="number" min=min step="1" value=value required=true class=INPUT/>
        </div>
    }
}

#[component]
pub fn FlavorsPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateFlavor>::new();
    let delete = ServerAction::<DeleteFlavor>::new();
    let edit = ServerAction::<UpdateFlavorDescription>::new();
    let data = Resource::new(
        move || {
            (
                params.get(),
                create.version().get() + delete.version().get() + edit.version().get(),
            )
        },
        |(p, _)| list_flavors_admin(p.q, p.sort, p.dir, p.page),
    );
    let caps = Resource::new(|| (), |_| flavor_panel_caps());
    let can = Signal::derive(move || caps.get().and_then(|r| r.ok()).unwrap_or_default());
    let show_create = RwSignal::new(false);
    let deleting = RwSignal::new(None::<FlavorRow>);
    let editing = RwSignal::new(None::<FlavorRow>);
    let access_of = RwSignal::new(None::<FlavorRow>);
    Effect::new(move |_| {
        if act_ok!(create) {
            show_create.set(false)
        }
    });
    Effect::new(move |_| {
        if act_ok!(delete) {
            deleting.set(None)
        }
    });
    Effect::new(move |_| {
        if act_ok!(edit) {
            editing.set(None)
        }
    });

    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.flavors"))/>
        <PageHeader title=t(lang, "nav.flavors") subtitle=t(lang, "flavors.subtitle")>
            {move || can.get().manage.then(|| view! {
                <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "flavors.create")}</button>
            })}
        </PageHeader>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "flavors.empty") empty_hint=t(lang, "flavors.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <SortHeader label=t(lang, "flavors.vcpus") key="vcpus" base=BASE params=params/>
                <SortHeader label=t(lang, "flavors.ram_col") key="ram" base=BASE params=params/>
                <SortHeader label=t(lang, "flavors.disk_col") key="disk" base=BASE params=params/>
                <Th label=t(lang, "flavors.ephemeral_col")/>
                <Th label=t(lang, "flavors.swap_col")/>
                <Th label=t(lang, "flavors.public")/>
                <SortHeader label=t(lang, "id") key="id" base=BASE params=params/>
                <Th label=t(lang, "description")/>
                <ThActions/>
            }.into_any()
            row=move |f: FlavorRow| {
                let (f1, f2, f3) = (f.clone(), f.clone(), f.clone());
                let private = !f.is_public;
                view! {
                    <tr class="hover:bg-slate-50" data-flavor=f.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>{f.name.clone()}</td>
                        <td class=TD>{f.vcpus}</td>
                        <td class=TD>{mib(f.ram_mib)}</td>
                        <td class=TD>{format!("{} GiB", f.disk_gb)}</td>
                        <td class=TD>{format!("{} GiB", f.ephemeral_gb)}</td>
                        <td class=TD>{if f.swap_mib == 0 { "0 MiB".to_string() } else { mib(f.swap_mib) }}</td>
                        <td class=TD><Badge ok=f.is_public yes=t(lang, "yes") no=t(lang, "no")/></td>
                        <td class=format!("{TD} font-mono text-xs text-slate-400")>{f.id.clone()}</td>
                        <td class=format!("{TD} text-slate-500")>{f.description.clone()}</td>
                        <td class=format!("{TD} space-x-3 text-right whitespace-nowrap")>
                            {move || (can.get().access && private).then(|| {
                                let f = f3.clone();
                                view! { <button type="button" class=BTN_LINK on:click=move |_| access_of.set(Some(f.clone()))>{t(lang, "flavors.access")}</button> }
                            })}
                            {move || can.get().manage.then(|| {
                                let (e, d) = (f1.clone(), f2.clone());
                                view! {
                                    <button type="button" class=BTN_LINK on:click=move |_| { edit.clear(); editing.set(Some(e.clone())) }>{t(lang, "flavors.edit_description")}</button>
                                    <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(d.clone())) }>{t(lang, "delete")}</button>
                                }
                            })}
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "flavors.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "id") name="id" hint=t(lang, "flavors.id_hint")/>
                    <div class="mb-4 grid grid-cols-2 gap-4">
                        <NumberField label=t(lang, "flavors.vcpus") name="vcpus" value="1" min="1"/>
                        <NumberField label=t(lang, "flavors.ram") name="ram" value="512" min="1"/>
                        <NumberField label=t(lang, "flavors.disk") name="disk" value="1" min="0"/>
                        <NumberField label=t(lang, "flavors.ephemeral") name="ephemeral" value="0" min="0"/>
                        <NumberField label=t(lang, "flavors.swap") name="swap" value="0" min="0"/>
                    </div>
                    <label class="mb-4 flex items-center gap-2 text-sm font-medium text-slate-700">
                        <input type="checkbox" name="is_public" value="on" checked=true
                            class="h-4 w-4 rounded border-slate-300 text-sky-600 focus:ring-sky-500"/>
                        {t(lang, "flavors.public")}
                    </label>
                    <Field label=t(lang, "description") name="description"/>
                    <FormActions submit_label=t(lang, "flavors.create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || editing.get().map(|f| view! {
            <Modal title=format!("{} · {}", t(lang, "flavors.edit_description"), f.name) on_close=Callback::new(move |_| editing.set(None))>
                <ErrorBox error=act_err!(edit)/>
                <ActionForm action=edit>
                    <input type="hidden" name="id" value=f.id.clone()/>
                    <Field label=t(lang, "description") name="description" value=f.description.clone()/>
                    <FormActions submit_label=t(lang, "save") pending=edit.pending() on_cancel=Callback::new(move |_| editing.set(None))/>
                </ActionForm>
            </Modal>
        })}

        {move || access_of.get().map(|f| view! { <AccessDialog flavor=f on_close=Callback::new(move |_| access_of.set(None))/> })}

        {move || deleting.get().map(|f| {
            let id = f.id.clone();
            view! {
                <Confirm title=t(lang, "flavors.delete") message=format!("{} {}", t(lang, "flavors.delete_q").replace("{name}", &f.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteFlavor { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}
    }
}

/// The projects a private flavor is open to, with add and remove.
#[component]
fn AccessDialog(flavor: FlavorRow, on_close: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    let add = ServerAction::<AddFlavorAccess>::new();
    let remove = ServerAction::<RemoveFlavorAccess>::new();
    let id = flavor.id.clone();
    let list = Resource::new(
        move || add.version().get() + remove.version().get(),
        move |_| list_flavor_access(id.clone()),
    );
    let fid = flavor.id.clone();
    view! {
        <Modal title=format!("{} · {}", t(lang, "flavors.access"), flavor.name) on_close=on_close>
            <p class="mb-3 text-sm text-slate-500">{t(lang, "flavors.access_hint")}</p>
            <ErrorBox error=act_err!(add)/>
            <ErrorBox error=act_err!(remove)/>
            <Transition fallback=loading_row>
                {move || {
                    let fid = fid.clone();
                    Suspend::new(async move {
                        match list.await {
                            Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                            Ok(rows) if rows.is_empty() => view! { <p class="mb-4 text-sm text-slate-500" data-testid="access-empty">{t(lang, "flavors.access_empty")}</p> }.into_any(),
                            Ok(rows) => {
                                let items = rows.into_iter().map(|r| {
                                    let (fid, pid) = (fid.clone(), r.project_id.clone());
                                    view! {
                                        <li class="flex items-center justify-between py-2 text-sm" data-access=r.project_name.clone()>
                                            <span>{r.project_name.clone()}<span class="ml-2 font-mono text-xs text-slate-400">{r.project_id.clone()}</span></span>
                                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { remove.dispatch(RemoveFlavorAccess { id: fid.clone(), project_id: pid.clone() }); }>{t(lang, "remove")}</button>
                                        </li>
                                    }
                                }).collect_view();
                                view! { <ul class="mb-4 divide-y divide-slate-100">{items}</ul> }.into_any()
                            }
                        }
                    })
                }}
            </Transition>
            <ActionForm action=add>
                <input type="hidden" name="id" value=flavor.id.clone()/>
                <Field label=t(lang, "flavors.access_project") name="project" required=true hint=t(lang, "flavors.access_project_hint")/>
                <FormActions submit_label=t(lang, "flavors.access_add") pending=add.pending() on_cancel=on_close/>
            </ActionForm>
        </Modal>
    }
}
