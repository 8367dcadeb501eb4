//! Identity → Projects: list, create, edit, enable/disable, delete, and
//! members (grant and revoke users' roles on a project).

use leptos::prelude::*;

use crate::error::AppError;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::i18n::{t, use_lang};
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub user_id: String,
    pub user_name: String,
    pub role_id: String,
    pub role_name: String,
    pub via_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub project: ProjectRow,
    pub members: Vec<MemberRow>,
    pub roles: Vec<String>,
}

#[cfg(feature = "ssr")]
fn row(p: cloud::identity::Project) -> ProjectRow {
    ProjectRow {
        id: p.id,
        name: p.name,
        description: p.description,
        enabled: p.enabled,
    }
}

#[server(endpoint = "list_projects")]
pub async fn list_projects(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<ProjectRow>, AppError> {
    let a = server::auth().await?;
    let p = a
        .identity
        .list_projects(&a.ctx, &server::list_filter(&q, &sort, &dir, page))
        .await?;
    Ok(PageOf {
        total: p.total,
        items: p.items.into_iter().map(row).collect(),
    })
}

#[server(endpoint = "create_project")]
pub async fn create_project(name: String, description: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .create_project(
            &a.ctx,
            cloud::identity::NewProject {
                name,
                domain_id: None,
                description: Some(description),
                enabled: Some(true),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "update_project")]
pub async fn update_project(id: String, name: String, description: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .update_project(
            &a.ctx,
            &id,
            cloud::identity::ProjectUpdate {
                name: Some(name),
                description: Some(description),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "set_project_enabled")]
pub async fn set_project_enabled(id: String, enabled: bool) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .update_project(
            &a.ctx,
            &id,
            cloud::identity::ProjectUpdate {
                enabled: Some(enabled),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "delete_project")]
pub async fn delete_project(id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity.delete_project(&a.ctx, &id).await?;
    Ok(())
}

#[server(endpoint = "project_members")]
pub async fn project_members(id: String) -> Result<Members, AppError> {
    use cloud::identity::{ActorType, AssignmentFilter, ListFilter, Target};
    let a = server::auth().await?;
    let project = a.identity.get_project(&a.ctx, &id).await?;
    let list = a
        .identity
        .list_role_assignments(
            &a.ctx,
            &AssignmentFilter {
                project_id: Some(id.clone()),
                effective: false,
                include_names: true,
                ..Default::default()
            },
        )
        .await?;
    let mut members: Vec<MemberRow> = list
        .into_iter()
        .filter(|r| {
            r.actor_type == ActorType::User && matches!(&r.target, Target::Project(p) if *p == id)
        })
        .map(|r| MemberRow {
            user_name: r.actor_name.clone().unwrap_or_else(|| r.actor_id.clone()),
            user_id: r.actor_id,
            role_name: r.role_name.clone().unwrap_or_else(|| r.role_id.clone()),
            role_id: r.role_id,
            via_group: r.via_group_id,
        })
        .collect();
    members.sort_by(|x, y| {
        (x.user_name.as_str(), x.role_name.as_str())
            .cmp(&(y.user_name.as_str(), y.role_name.as_str()))
    });
    members.dedup();
    let roles = a
        .identity
        .list_roles(
            &a.ctx,
            &ListFilter {
                limit: Some(1000),
                ..Default::default()
            },
        )
        .await?;
    Ok(Members {
        project: row(project),
        members,
        roles: roles.items.into_iter().map(|r| r.name).collect(),
    })
}

/// A user of the Default domain by name.
#[cfg(feature = "ssr")]
pub(crate) async fn user_id_by_name(a: &server::Auth, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let f = cloud::identity::ListFilter {
        name: Some(name.to_string()),
        domain_id: Some("default".into()),
        limit: Some(1),
        ..Default::default()
    };
    let users = a.identity.list_users(&a.ctx, &f).await?;
    match users.items.into_iter().next() {
        Some(u) => Ok(u.id),
        None => Err(a.msg("err.no_user", name).with_kind("not_found")),
    }
}

#[server(endpoint = "grant_project_role")]
pub async fn grant_project_role(
    project_id: String,
    user: String,
    role: String,
) -> Result<(), AppError> {
    use cloud::identity::{ActorType, Target};
    let a = server::auth().await?;
    let user_id = user_id_by_name(&a, &user).await?;
    a.identity
        .grant_role(
            &a.ctx,
            ActorType::User,
            &user_id,
            &Target::Project(project_id),
            &role,
            false,
        )
        .await?;
    Ok(())
}

#[server(endpoint = "revoke_project_role")]
pub async fn revoke_project_role(
    project_id: String,
    user_id: String,
    role_id: String,
) -> Result<(), AppError> {
    use cloud::identity::{ActorType, Target};
    let a = server::auth().await?;
    a.identity
        .revoke_role(
            &a.ctx,
            ActorType::User,
            &user_id,
            &Target::Project(project_id),
            &role_id,
            false,
        )
        .await?;
    Ok(())
}

const BASE: &str = "/identity/projects";

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateProject>::new();
    let update = ServerAction::<UpdateProject>::new();
    let toggle = ServerAction::<SetProjectEnabled>::new();
    let delete = ServerAction::<DeleteProject>::new();
    let data = Resource::new(
        move || {
            (
                params.get(),
                create.version().get()
                    + update.version().get()
                    + toggle.version().get()
                    + delete.version().get(),
            )
        },
        |(p, _)| list_projects(p.q, p.sort, p.dir, p.page),
    );
    let show_create = RwSignal::new(false);
    let editing = RwSignal::new(None::<ProjectRow>);
    let deleting = RwSignal::new(None::<ProjectRow>);
    let disabling = RwSignal::new(None::<ProjectRow>);
    Effect::new(move |_| {
        if act_ok!(create) {
            show_create.set(false)
        }
    });
    Effect::new(move |_| {
        if act_ok!(update) {
            editing.set(None)
        }
    });
    Effect::new(move |_| {
        if act_ok!(delete) {
            deleting.set(None)
        }
    });
    Effect::new(move |_| {
        if act_ok!(toggle) {
            disabling.set(None)
        }
    });
    let toggle_err = act_err!(toggle);

    view! {
        <Title text=format!("{} · Gureum", t(lang, "projects.title"))/>
        <PageHeader title=t(lang, "projects.title") subtitle=t(lang, "projects.subtitle")>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "projects.create")}</button>
        </PageHeader>
        <ErrorBox error=toggle_err/>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "projects.empty") empty_hint=t(lang, "projects.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <Th label=t(lang, "description")/>
                <SortHeader label=t(lang, "status") key="enabled" base=BASE params=params/>
                <SortHeader label=t(lang, "id") key="id" base=BASE params=params/>
                <ThActions/>
            }.into_any()
            row=move |p: ProjectRow| {
                let (p1, p3, p4) = (p.clone(), p.clone(), p.clone());
                let enabled = p.enabled;
                view! {
                    <tr class="hover:bg-slate-50" data-project=p.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>
                            <a href=format!("{BASE}/{}", p.id) class="hover:text-sky-700 hover:underline">{p.name.clone()}</a>
                        </td>
                        <td class=format!("{TD} text-slate-500")>{p.description.clone()}</td>
                        <td class=TD><Badge ok=p.enabled yes=t(lang, "enabled") no=t(lang, "disabled")/></td>
                        <td class=format!("{TD} font-mono text-xs text-slate-400")>{p.id.clone()}</td>
                        <td class=format!("{TD} space-x-3 whitespace-nowrap text-right")>
                            <a href=format!("{BASE}/{}", p.id) class=BTN_LINK>{t(lang, "projects.members")}</a>
                            <a href=format!("{BASE}/{}/quotas", p.id) class=BTN_LINK data-testid="quotas">{t(lang, "nav.quotas")}</a>
                            <button type="button" class=BTN_LINK on:click=move |_| { update.clear(); editing.set(Some(p1.clone())) }>{t(lang, "edit")}</button>
                            <button type="button" class=BTN_LINK on:click=move |_| {
                                toggle.clear();
                                if enabled { disabling.set(Some(p3.clone())) } else { toggle.dispatch(SetProjectEnabled { id: p3.id.clone(), enabled: true }); }
                            }>{if enabled { t(lang, "disable") } else { t(lang, "enable") }}</button>
                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(p4.clone())) }>{t(lang, "delete")}</button>
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "projects.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "description") name="description"/>
                    <FormActions submit_label=t(lang, "create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || editing.get().map(|p| view! {
            <Modal title=t(lang, "projects.edit") on_close=Callback::new(move |_| editing.set(None))>
                <ErrorBox error=act_err!(update)/>
                <ActionForm action=update>
                    <input type="hidden" name="id" value=p.id.clone()/>
                    <Field label=t(lang, "name") name="name" value=p.name.clone() required=true/>
                    <Field label=t(lang, "description") name="description" value=p.description.clone()/>
                    <FormActions submit_label=t(lang, "save") pending=update.pending() on_cancel=Callback::new(move |_| editing.set(None))/>
                </ActionForm>
            </Modal>
        })}

        {move || deleting.get().map(|p| {
            let id = p.id.clone();
            view! {
                <Confirm title=t(lang, "projects.delete") message=format!("{} {}", t(lang, "projects.delete_q").replace("{name}", &p.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteProject { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}

        {move || disabling.get().map(|p| {
            let id = p.id.clone();
            view! {
                <Confirm title=t(lang, "disable") message=format!("{} “{}”?", t(lang, "disable"), p.name)
                    confirm_label=t(lang, "disable")
                    on_confirm=Callback::new(move |_| { toggle.dispatch(SetProjectEnabled { id: id.clone(), enabled: false }); })
                    on_close=Callback::new(move |_| disabling.set(None))
                    pending=toggle.pending() error=act_err!(toggle)/>
            }
        })}
    }
}

#[component]
pub fn ProjectMembersPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let grant = ServerAction::<GrantProjectRole>::new();
    let revoke = ServerAction::<RevokeProjectRole>::new();
    let data = Resource::new(
        move || (id.get(), grant.version().get() + revoke.version().get()),
        |(id, _)| project_members(id),
    );
    let revoking = RwSignal::new(None::<MemberRow>);
    Effect::new(move |_| {
        if act_ok!(revoke) {
            revoking.set(None)
        }
    });
    view! {
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(m) => {
                        let pid_form = m.project.id.clone();
                        let pid = m.project.id.clone();
                        let role_opts = m.roles.iter().map(|r| {
                            let sel = r == "member";
                            view! { <option value=r.clone() selected=sel>{r.clone()}</option> }
                        }).collect_view();
                        let rows = m.members.iter().map(|r| {
                            let r1 = r.clone();
                            view! {
                                <tr class="hover:bg-slate-50" data-member=r.user_name.clone()>
                                    <td class=format!("{TD} font-medium text-slate-900")>{r.user_name.clone()}</td>
                                    <td class=TD>
                                        <span class="inline-flex items-center rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-inset ring-sky-600/20">{r.role_name.clone()}</span>
                                        {r.via_group.as_ref().map(|_| view! { <span class="ml-2 text-xs text-slate-400">{t(lang, "members.via_group")}</span> })}
                                    </td>
                                    <td class=format!("{TD} text-right")>
                                        {r.via_group.is_none().then(|| view! {
                                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { revoke.clear(); revoking.set(Some(r1.clone())) }>{t(lang, "members.revoke")}</button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        let empty = m.members.is_empty();
                        view! {
                            <Title text=format!("{} {} · Gureum", t(lang, "members.title"), m.project.name)/>
                            <div class="mb-2"><BackLink href=BASE label=t(lang, "projects.title")/></div>
                            <PageHeader title=format!("{} {}", t(lang, "members.title"), m.project.name) subtitle=t(lang, "members.subtitle")/>
                            <ErrorBox error=act_err!(grant)/>
                            <div class=format!("{CARD} mb-6 p-4")>
                                <ActionForm action=grant>
                                    <input type="hidden" name="project_id" value=pid_form/>
                                    <div class="flex flex-wrap items-end gap-3">
                                        <div class="min-w-56 flex-1">
                                            <label for="m-user" class=LABEL>{t(lang, "members.user")}</label>
                                            <input id="m-user" name="user" required class=INPUT placeholder=t(lang, "members.user_hint") autocomplete="off"/>
                                        </div>
                                        <div class="w-48">
                                            <label for="m-role" class=LABEL>{t(lang, "members.role")}</label>
                                            <select id="m-role" name="role" class=INPUT>{role_opts}</select>
                                        </div>
                                        <button type="submit" class=BTN_PRIMARY disabled=move || grant.pending().get()>{t(lang, "members.grant")}</button>
                                    </div>
                                </ActionForm>
                            </div>
                            <div class=CARD>
                                {if empty {
                                    view! { <EmptyState title=t(lang, "members.empty") hint=t(lang, "members.empty_hint")/> }.into_any()
                                } else {
                                    view! {
                                        <table class="min-w-full divide-y divide-slate-200">
                                            <thead class="bg-slate-50"><tr>
                                                <Th label=t(lang, "members.user")/>
                                                <Th label=t(lang, "members.role")/>
                                                <ThActions/>
                                            </tr></thead>
                                            <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </div>
                            {move || revoking.get().map(|r| {
                                let (pid, uid, rid) = (pid.clone(), r.user_id.clone(), r.role_id.clone());
                                view! {
                                    <Confirm title=t(lang, "members.revoke") message=t(lang, "members.revoke_q").replace("{role}", &r.role_name).replace("{name}", &r.user_name)
                                        confirm_label=t(lang, "members.revoke")
                                        on_confirm=Callback::new(move |_| { revoke.dispatch(RevokeProjectRole { project_id: pid.clone(), user_id: uid.clone(), role_id: rid.clone() }); })
                                        on_close=Callback::new(move |_| revoking.set(None))
                                        pending=revoke.pending() error=act_err!(revoke)/>
                                }
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
