//! Identity → Users: list, create, edit, set password, enable/disable, delete.

use leptos::prelude::*;

use crate::error::AppError;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::i18n::{t, use_lang};
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub description: String,
    pub enabled: bool,
    pub created: String,
}

#[server(endpoint = "list_users")]
pub async fn list_users(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<UserRow>, AppError> {
    let a = server::auth().await?;
    let p = a
        .identity
        .list_users(&a.ctx, &server::list_filter(&q, &sort, &dir, page))
        .await?;
    Ok(PageOf {
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|u| UserRow {
                id: u.id,
                name: u.name,
                email: u.email.unwrap_or_default(),
                description: u.description,
                enabled: u.enabled,
                created: u.created_at.format("%Y-%m-%d %H:%M").to_string(),
            })
            .collect(),
    })
}

#[server(endpoint = "create_user")]
pub async fn create_user(
    name: String,
    email: String,
    password: String,
    confirm: String,
    description: String,
    project: String,
    role: String,
) -> Result<(), AppError> {
    use cloud::identity::NewUser;
    let a = server::auth().await?;
    if password != confirm {
        return Err(a.msg("pw.confirm_differs", ""));
    }
    let project = project.trim();
    let project_id = if project.is_empty() {
        None
    } else {
        let f = cloud::identity::ListFilter {
            name: Some(project.to_string()),
            domain_id: Some("default".into()),
            limit: Some(1),
            ..Default::default()
        };
        let found = a.identity.list_projects(&a.ctx, &f).await?;
        match found.items.into_iter().next() {
            Some(p) => Some(p.id),
            None => return Err(a.msg("err.no_project", project).with_kind("not_found")),
        }
    };
    let new = NewUser {
        name,
        domain_id: None,
        email: Some(email).filter(|e| !e.trim().is_empty()),
        description: Some(description),
        enabled: Some(true),
        default_project_id: project_id.clone(),
        password: (!password.is_empty()).then(|| cloud::secret::Secret::new(password)),
        ..Default::default()
    };
    // With a project, the user and its grant are one service call (one
    // transaction): a refused grant leaves no user.
    match project_id {
        Some(pid) => {
            let role = if role.trim().is_empty() {
                "member".to_string()
            } else {
                role
            };
            a.identity
                .create_user_with_grant(&a.ctx, new, &pid, &role)
                .await
        }
        None => a.identity.create_user(&a.ctx, new).await,
    }?;
    Ok(())
}

#[server(endpoint = "update_user")]
pub async fn update_user(
    id: String,
    name: String,
    email: String,
    description: String,
) -> Result<(), AppError> {
    use cloud::identity::UserUpdate;
    let a = server::auth().await?;
    let email = email.trim().to_string();
    a.identity
        .update_user(
            &a.ctx,
            &id,
            UserUpdate {
                name: Some(name),
                email: Some((!email.is_empty()).then_some(email)),
                description: Some(description),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "set_user_password")]
pub async fn set_user_password(
    id: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    use cloud::identity::UserUpdate;
    let a = server::auth().await?;
    if password != confirm {
        return Err(a.msg("pw.confirm_differs", ""));
    }
    a.identity
        .update_user(
            &a.ctx,
            &id,
            UserUpdate {
                password: Some(cloud::secret::Secret::new(password)),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "set_user_enabled")]
pub async fn set_user_enabled(id: String, enabled: bool) -> Result<(), AppError> {
    use cloud::identity::UserUpdate;
    let a = server::auth().await?;
    a.identity
        .update_user(
            &a.ctx,
            &id,
            UserUpdate {
                enabled: Some(enabled),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "delete_user")]
pub async fn delete_user(id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity.delete_user(&a.ctx, &id).await?;
    Ok(())
}

/// Role names for the create form's select.
#[server(endpoint = "role_names")]
pub async fn role_names() -> Result<Vec<String>, AppError> {
    let a = server::auth().await?;
    let f = cloud::identity::ListFilter {
        limit: Some(1000),
        ..Default::default()
    };
    let p = a.identity.list_roles(&a.ctx, &f).await?;
    Ok(p.items.into_iter().map(|r| r.name).collect())
}

const BASE: &str = "/identity/users";

#[component]
pub fn UsersPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let set_pw = ServerAction::<SetUserPassword>::new();
    let toggle = ServerAction::<SetUserEnabled>::new();
    let delete = ServerAction::<DeleteUser>::new();
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
        |(p, _)| list_users(p.q, p.sort, p.dir, p.page),
    );
    let show_create = RwSignal::new(false);
    let editing = RwSignal::new(None::<UserRow>);
    let pw_for = RwSignal::new(None::<UserRow>);
    let deleting = RwSignal::new(None::<UserRow>);
    let disabling = RwSignal::new(None::<UserRow>);
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
        if act_ok!(set_pw) {
            pw_for.set(None)
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
    let roles = Resource::new(
        move || show_create.get(),
        |open| async move {
            if open {
                role_names().await
            } else {
                Ok(vec![])
            }
        },
    );
    let toggle_err = act_err!(toggle);

    view! {
        <Title text=format!("{} · Gureum", t(lang, "users.title"))/>
        <PageHeader title=t(lang, "users.title") subtitle=t(lang, "users.subtitle")>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "users.create")}</button>
        </PageHeader>
        <ErrorBox error=toggle_err/>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "users.empty") empty_hint=t(lang, "users.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <SortHeader label=t(lang, "email") key="email" base=BASE params=params/>
                <SortHeader label=t(lang, "status") key="enabled" base=BASE params=params/>
                <SortHeader label=t(lang, "created") key="created" base=BASE params=params/>
                <SortHeader label=t(lang, "id") key="id" base=BASE params=params/>
                <ThActions/>
            }.into_any()
            row=move |u: UserRow| {
                let (u1, u2, u3, u4) = (u.clone(), u.clone(), u.clone(), u.clone());
                let enabled = u.enabled;
                view! {
                    <tr class="hover:bg-slate-50" data-user=u.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>{u.name.clone()}</td>
                        <td class=TD>{u.email.clone()}</td>
                        <td class=TD><Badge ok=u.enabled yes=t(lang, "enabled") no=t(lang, "disabled")/></td>
                        <td class=format!("{TD} text-slate-500")>{crate::i18n::date_time(lang, &u.created)}</td>
                        <td class=format!("{TD} font-mono text-xs text-slate-400")>{u.id.clone()}</td>
                        <td class=format!("{TD} space-x-3 whitespace-nowrap text-right")>
                            <button type="button" class=BTN_LINK on:click=move |_| { update.clear(); editing.set(Some(u1.clone())) }>{t(lang, "edit")}</button>
                            <button type="button" class=BTN_LINK on:click=move |_| { set_pw.clear(); pw_for.set(Some(u2.clone())) }>{t(lang, "users.set_password")}</button>
                            <button type="button" class=BTN_LINK on:click=move |_| {
                                toggle.clear();
                                if enabled { disabling.set(Some(u3.clone())) } else { toggle.dispatch(SetUserEnabled { id: u3.id.clone(), enabled: true }); }
                            }>{if enabled { t(lang, "disable") } else { t(lang, "enable") }}</button>
                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(u4.clone())) }>{t(lang, "delete")}</button>
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "users.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "email") name="email" kind="email"/>
                    <Field label=t(lang, "description") name="description"/>
                    <Field label=t(lang, "users.password") name="password" kind="password"/>
                    <Field label=t(lang, "users.confirm") name="confirm" kind="password"/>
                    <Field label=t(lang, "users.project") name="project" hint=t(lang, "users.project_hint")/>
                    <div class="mb-4">
                        <label for="f-role" class=LABEL>{t(lang, "users.role")}</label>
                        <select id="f-role" name="role" class=INPUT>
                            <Suspense fallback=|| view! { <option value="member">"member"</option> }>
                                {move || Suspend::new(async move {
                                    roles.await.unwrap_or_default().into_iter().map(|r| {
                                        let sel = r == "member";
                                        view! { <option value=r.clone() selected=sel>{r.clone()}</option> }
                                    }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </div>
                    <FormActions submit_label=t(lang, "create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || editing.get().map(|u| view! {
            <Modal title=t(lang, "users.edit") on_close=Callback::new(move |_| editing.set(None))>
                <ErrorBox error=act_err!(update)/>
                <ActionForm action=update>
                    <input type="hidden" name="id" value=u.id.clone()/>
                    <Field label=t(lang, "name") name="name" value=u.name.clone() required=true/>
                    <Field label=t(lang, "email") name="email" kind="email" value=u.email.clone()/>
                    <Field label=t(lang, "description") name="description" value=u.description.clone()/>
                    <FormActions submit_label=t(lang, "save") pending=update.pending() on_cancel=Callback::new(move |_| editing.set(None))/>
                </ActionForm>
            </Modal>
        })}

        {move || pw_for.get().map(|u| view! {
            <Modal title=format!("{} — {}", t(lang, "users.set_password"), u.name) on_close=Callback::new(move |_| pw_for.set(None))>
                <ErrorBox error=act_err!(set_pw)/>
                <ActionForm action=set_pw>
                    <input type="hidden" name="id" value=u.id.clone()/>
                    <Field label=t(lang, "users.password") name="password" kind="password" required=true/>
                    <Field label=t(lang, "users.confirm") name="confirm" kind="password" required=true/>
                    <FormActions submit_label=t(lang, "save") pending=set_pw.pending() on_cancel=Callback::new(move |_| pw_for.set(None))/>
                </ActionForm>
            </Modal>
        })}

        {move || deleting.get().map(|u| {
            let id = u.id.clone();
            view! {
                <Confirm title=t(lang, "users.delete") message=format!("{} {}", t(lang, "users.delete_q").replace("{name}", &u.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteUser { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}

        {move || disabling.get().map(|u| {
            let id = u.id.clone();
            view! {
                <Confirm title=t(lang, "disable") message=t(lang, "users.disable_q").replace("{name}", &u.name)
                    confirm_label=t(lang, "disable")
                    on_confirm=Callback::new(move |_| { toggle.dispatch(SetUserEnabled { id: id.clone(), enabled: false }); })
                    on_close=Callback::new(move |_| disabling.set(None))
                    pending=toggle.pending() error=act_err!(toggle)/>
            }
        })}
    }
}
