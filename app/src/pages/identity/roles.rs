//! Identity → Roles: list, create, delete.

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
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
}

#[server(endpoint = "list_roles")]
pub async fn list_roles(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<RoleRow>, AppError> {
    let a = server::auth().await?;
    let p = a
        .identity
        .list_roles(&a.ctx, &server::list_filter(&q, &sort, &dir, page))
        .await?;
    Ok(PageOf {
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|r| RoleRow {
                id: r.id,
                name: r.name,
                description: r.description,
            })
            .collect(),
    })
}

#[server(endpoint = "create_role")]
pub async fn create_role(name: String, description: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .create_role(&a.ctx, &name, Some(description), None)
        .await?;
    Ok(())
}

#[server(endpoint = "delete_role")]
pub async fn delete_role(id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity.delete_role(&a.ctx, &id).await?;
    Ok(())
}

const BASE: &str = "/identity/roles";

#[component]
pub fn RolesPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let data = Resource::new(
        move || {
            (
                params.get(),
                create.version().get() + delete.version().get(),
            )
        },
        |(p, _)| list_roles(p.q, p.sort, p.dir, p.page),
    );
    let show_create = RwSignal::new(false);
    let deleting = RwSignal::new(None::<RoleRow>);
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

    view! {
        <Title text=format!("{} · Gureum", t(lang, "roles.title"))/>
        <PageHeader title=t(lang, "roles.title") subtitle=t(lang, "roles.subtitle")>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "roles.create")}</button>
        </PageHeader>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "roles.empty") empty_hint=t(lang, "roles.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <Th label=t(lang, "description")/>
                <SortHeader label=t(lang, "id") key="id" base=BASE params=params/>
                <ThActions/>
            }.into_any()
            row=move |r: RoleRow| {
                let r1 = r.clone();
                view! {
                    <tr class="hover:bg-slate-50" data-role=r.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>{r.name.clone()}</td>
                        <td class=format!("{TD} text-slate-500")>{r.description.clone()}</td>
                        <td class=format!("{TD} font-mono text-xs text-slate-400")>{r.id.clone()}</td>
                        <td class=format!("{TD} text-right")>
                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(r1.clone())) }>{t(lang, "delete")}</button>
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "roles.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "description") name="description"/>
                    <FormActions submit_label=t(lang, "create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || deleting.get().map(|r| {
            let id = r.id.clone();
            view! {
                <Confirm title=t(lang, "roles.delete") message=format!("{} {}", t(lang, "roles.delete_q").replace("{name}", &r.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteRole { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}
    }
}
