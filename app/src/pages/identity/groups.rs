//! Identity → Groups: list, create, edit, delete, and members.

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
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    pub id: String,
    pub name: String,
    pub email: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberList {
    pub group: GroupRow,
    pub members: Vec<GroupMember>,
}

#[server(endpoint = "list_groups")]
pub async fn list_groups(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<GroupRow>, AppError> {
    let a = server::auth().await?;
    let p = a
        .identity
        .list_groups(&a.ctx, &server::list_filter(&q, &sort, &dir, page))
        .await?;
    Ok(PageOf {
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|g| GroupRow {
                id: g.id,
                name: g.name,
                description: g.description,
            })
            .collect(),
    })
}

#[server(endpoint = "create_group")]
pub async fn create_group(name: String, description: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .create_group(&a.ctx, &name, None, Some(description))
        .await?;
    Ok(())
}

#[server(endpoint = "update_group")]
pub async fn update_group(id: String, name: String, description: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .update_group(
            &a.ctx,
            &id,
            cloud::identity::GroupUpdate {
                name: Some(name),
                description: Some(description),
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "delete_group")]
pub async fn delete_group(id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity.delete_group(&a.ctx, &id).await?;
    Ok(())
}

#[server(endpoint = "group_members")]
pub async fn group_members(id: String) -> Result<GroupMemberList, AppError> {
    let a = server::auth().await?;
    let g = a.identity.get_group(&a.ctx, &id).await?;
    let mut users = a.identity.list_group_users(&a.ctx, &id).await?;
    users.sort_by(|x, y| x.name.cmp(&y.name));
    Ok(GroupMemberList {
        group: GroupRow {
            id: g.id,
            name: g.name,
            description: g.description,
        },
        members: users
            .into_iter()
            .map(|u| GroupMember {
                id: u.id,
                name: u.name,
                email: u.email.unwrap_or_default(),
                enabled: u.enabled,
            })
            .collect(),
    })
}

#[server(endpoint = "add_group_member")]
pub async fn add_group_member(group_id: String, user: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    let user_id = super::projects::user_id_by_name(&a, &user).await?;
    a.identity
        .add_user_to_group(&a.ctx, &group_id, &user_id)
        .await?;
    Ok(())
}

#[server(endpoint = "remove_group_member")]
pub async fn remove_group_member(group_id: String, user_id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .remove_user_from_group(&a.ctx, &group_id, &user_id)
        .await?;
    Ok(())
}

const BASE: &str = "/identity/groups";

#[component]
pub fn GroupsPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateGroup>::new();
    let update = ServerAction::<UpdateGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let data = Resource::new(
        move || {
            (
                params.get(),
                create.version().get() + update.version().get() + delete.version().get(),
            )
        },
        |(p, _)| list_groups(p.q, p.sort, p.dir, p.page),
    );
    let show_create = RwSignal::new(false);
    let editing = RwSignal::new(None::<GroupRow>);
    let deleting = RwSignal::new(None::<GroupRow>);
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

    view! {
        <Title text=format!("{} · Gureum", t(lang, "groups.title"))/>
        <PageHeader title=t(lang, "groups.title") subtitle=t(lang, "groups.subtitle")>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "groups.create")}</button>
        </PageHeader>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "groups.empty") empty_hint=t(lang, "groups.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <Th label=t(lang, "description")/>
                <SortHeader label=t(lang, "id") key="id" base=BASE params=params/>
                <ThActions/>
            }.into_any()
            row=move |g: GroupRow| {
                let (g1, g2) = (g.clone(), g.clone());
                view! {
                    <tr class="hover:bg-slate-50" data-group=g.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>
                            <a href=format!("{BASE}/{}", g.id) class="hover:text-sky-700 hover:underline">{g.name.clone()}</a>
                        </td>
                        <td class=format!("{TD} text-slate-500")>{g.description.clone()}</td>
                        <td class=format!("{TD} font-mono text-xs text-slate-400")>{g.id.clone()}</td>
                        <td class=format!("{TD} space-x-3 whitespace-nowrap text-right")>
                            <a href=format!("{BASE}/{}", g.id) class=BTN_LINK>{t(lang, "groups.members")}</a>
                            <button type="button" class=BTN_LINK on:click=move |_| { update.clear(); editing.set(Some(g1.clone())) }>{t(lang, "edit")}</button>
                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(g2.clone())) }>{t(lang, "delete")}</button>
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "groups.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "description") name="description"/>
                    <FormActions submit_label=t(lang, "create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || editing.get().map(|g| view! {
            <Modal title=t(lang, "groups.edit") on_close=Callback::new(move |_| editing.set(None))>
                <ErrorBox error=act_err!(update)/>
                <ActionForm action=update>
                    <input type="hidden" name="id" value=g.id.clone()/>
                    <Field label=t(lang, "name") name="name" value=g.name.clone() required=true/>
                    <Field label=t(lang, "description") name="description" value=g.description.clone()/>
                    <FormActions submit_label=t(lang, "save") pending=update.pending() on_cancel=Callback::new(move |_| editing.set(None))/>
                </ActionForm>
            </Modal>
        })}

        {move || deleting.get().map(|g| {
            let id = g.id.clone();
            view! {
                <Confirm title=t(lang, "groups.delete") message=format!("{} {}", t(lang, "groups.delete_q").replace("{name}", &g.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteGroup { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}
    }
}

#[component]
pub fn GroupMembersPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let add = ServerAction::<AddGroupMember>::new();
    let remove = ServerAction::<RemoveGroupMember>::new();
    let data = Resource::new(
        move || (id.get(), add.version().get() + remove.version().get()),
        |(id, _)| group_members(id),
    );
    let removing = RwSignal::new(None::<GroupMember>);
    Effect::new(move |_| {
        if act_ok!(remove) {
            removing.set(None)
        }
    });
    view! {
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(m) => {
                        let gid_form = m.group.id.clone();
                        let gid = m.group.id.clone();
                        let empty = m.members.is_empty();
                        let rows = m.members.iter().map(|u| {
                            let u1 = u.clone();
                            view! {
                                <tr class="hover:bg-slate-50" data-member=u.name.clone()>
                                    <td class=format!("{TD} font-medium text-slate-900")>{u.name.clone()}</td>
                                    <td class=TD>{u.email.clone()}</td>
                                    <td class=TD><Badge ok=u.enabled yes=t(lang, "enabled") no=t(lang, "disabled")/></td>
                                    <td class=format!("{TD} text-right")>
                                        <button type="button" class=BTN_LINK_DANGER on:click=move |_| { remove.clear(); removing.set(Some(u1.clone())) }>{t(lang, "remove")}</button>
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <Title text=format!("{} {} · Gureum", t(lang, "members.title"), m.group.name)/>
                            <div class="mb-2"><BackLink href=BASE label=t(lang, "groups.title")/></div>
                            <PageHeader title=format!("{} {}", t(lang, "members.title"), m.group.name) subtitle=t(lang, "gm.subtitle")/>
                            <ErrorBox error=act_err!(add)/>
                            <div class=format!("{CARD} mb-6 p-4")>
                                <ActionForm action=add>
                                    <input type="hidden" name="group_id" value=gid_form/>
                                    <div class="flex flex-wrap items-end gap-3">
                                        <div class="min-w-56 flex-1">
                                            <label for="g-user" class=LABEL>{t(lang, "members.user")}</label>
                                            <input id="g-user" name="user" required class=INPUT placeholder=t(lang, "members.user_hint") autocomplete="off"/>
                                        </div>
                                        <button type="submit" class=BTN_PRIMARY disabled=move || add.pending().get()>{t(lang, "gm.add")}</button>
                                    </div>
                                </ActionForm>
                            </div>
                            <div class=CARD>
                                {if empty {
                                    view! { <EmptyState title=t(lang, "gm.empty") hint=t(lang, "gm.empty_hint")/> }.into_any()
                                } else {
                                    view! {
                                        <table class="min-w-full divide-y divide-slate-200">
                                            <thead class="bg-slate-50"><tr>
                                                <Th label=t(lang, "name")/>
                                                <Th label=t(lang, "email")/>
                                                <Th label=t(lang, "status")/>
                                                <ThActions/>
                                            </tr></thead>
                                            <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </div>
                            {move || removing.get().map(|u| {
                                let (gid, uid) = (gid.clone(), u.id.clone());
                                view! {
                                    <Confirm title=t(lang, "remove") message=t(lang, "gm.remove_q").replace("{name}", &u.name)
                                        confirm_label=t(lang, "remove")
                                        on_confirm=Callback::new(move |_| { remove.dispatch(RemoveGroupMember { group_id: gid.clone(), user_id: uid.clone() }); })
                                        on_close=Callback::new(move |_| removing.set(None))
                                        pending=remove.pending() error=act_err!(remove)/>
                                }
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
