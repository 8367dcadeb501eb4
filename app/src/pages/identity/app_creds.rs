//! Identity → Application Credentials: every user's own; the secret is
//! shown once, at creation.

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
pub struct AppCredRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project: String,
    pub roles: Vec<String>,
    pub expires: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCredList {
    pub items: Vec<AppCredRow>,
    pub has_project: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSecret {
    pub id: String,
    pub name: String,
    pub secret: String,
}

#[server(endpoint = "list_app_creds")]
pub async fn list_app_creds() -> Result<AppCredList, AppError> {
    let a = server::auth().await?;
    let creds = a
        .identity
        .list_app_credentials(&a.ctx, &a.ctx.user_id, None)
        .await?;
    let projects = a.identity.auth_projects(&a.info).await?;
    let name_of = |id: &str| {
        projects
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    Ok(AppCredList {
        has_project: a.ctx.project_id().is_some(),
        items: creds
            .into_iter()
            .map(|c| AppCredRow {
                project: name_of(&c.project_id),
                id: c.id,
                name: c.name,
                description: c.description,
                roles: c.roles.into_iter().map(|r| r.name).collect(),
                expires: c.expires_at.map(|e| e.format("%Y-%m-%d %H:%M").to_string()),
            })
            .collect(),
    })
}

#[server(endpoint = "create_app_cred")]
pub async fn create_app_cred(
    name: String,
    description: String,
    expires: String,
) -> Result<CreatedSecret, AppError> {
    let a = server::auth().await?;
    let expires = expires.trim();
    let expires_at = if expires.is_empty() {
        None
    } else {
        let d = match chrono::NaiveDate::parse_from_str(expires, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => return Err(a.msg("err.bad_date", expires)),
        };
        d.and_hms_opt(23, 59, 59).map(|dt| dt.and_utc())
    };
    let created = a
        .identity
        .create_app_credential(
            &a.ctx,
            &a.ctx.user_id,
            cloud::identity::NewAppCredential {
                name,
                description: Some(description),
                roles: vec![],
                expires_at,
                unrestricted: false,
                secret: None,
                access_rules: vec![],
            },
        )
        .await?;
    Ok(CreatedSecret {
        id: created.credential.id,
        name: created.credential.name,
        secret: created.secret.expose().to_string(),
    })
}

#[server(endpoint = "delete_app_cred")]
pub async fn delete_app_cred(id: String) -> Result<(), AppError> {
    let a = server::auth().await?;
    a.identity
        .delete_app_credential(&a.ctx, &a.ctx.user_id, &id)
        .await?;
    Ok(())
}

#[component]
pub fn AppCredsPage() -> impl IntoView {
    let lang = use_lang();
    let create = ServerAction::<CreateAppCred>::new();
    let delete = ServerAction::<DeleteAppCred>::new();
    let data = Resource::new(
        move || create.version().get() + delete.version().get(),
        |_| list_app_creds(),
    );
    let show_create = RwSignal::new(false);
    let deleting = RwSignal::new(None::<AppCredRow>);
    // The secret lives only in this signal, until the dialog is closed.
    let secret = RwSignal::new(None::<CreatedSecret>);
    Effect::new(move |_| {
        let created = create
            .value()
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned());
        if let Some(c) = created {
            show_create.set(false);
            secret.set(Some(c));
            create.clear();
        }
    });
    Effect::new(move |_| {
        if act_ok!(delete) {
            deleting.set(None)
        }
    });

    view! {
        <Title text=format!("{} · Gureum", t(lang, "ac.title"))/>
        <PageHeader title=t(lang, "ac.title") subtitle=t(lang, "ac.subtitle")>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "ac.create")}</button>
        </PageHeader>
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any(),
                        Ok(list) if list.items.is_empty() => {
                            let hint = if list.has_project { t(lang, "ac.empty_hint") } else { t(lang, "ac.no_project") };
                            view! { <EmptyState title=t(lang, "ac.empty") hint=hint/> }.into_any()
                        }
                        Ok(list) => {
                            let rows = list.items.into_iter().map(|c| {
                                let c1 = c.clone();
                                view! {
                                    <tr class="hover:bg-slate-50" data-credential=c.name.clone()>
                                        <td class=format!("{TD} font-medium text-slate-900")>{c.name.clone()}</td>
                                        <td class=format!("{TD} text-slate-500")>{c.description.clone()}</td>
                                        <td class=TD>{c.project.clone()}</td>
                                        <td class=TD>{c.roles.iter().map(|r| view! {
                                            <span class="mr-1 inline-flex items-center rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-inset ring-sky-600/20">{r.clone()}</span>
                                        }).collect_view()}</td>
                                        <td class=format!("{TD} text-slate-500")>{c.expires.as_deref().map(|e| format!("{} UTC", crate::i18n::date_time(lang, e))).unwrap_or_else(|| t(lang, "ac.never").to_string())}</td>
                                        <td class=format!("{TD} text-right")>
                                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(c1.clone())) }>{t(lang, "delete")}</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="min-w-full divide-y divide-slate-200">
                                    <thead class="bg-slate-50"><tr>
                                        <Th label=t(lang, "name")/>
                                        <Th label=t(lang, "description")/>
                                        <Th label=t(lang, "ac.project")/>
                                        <Th label=t(lang, "ac.roles")/>
                                        <Th label=t(lang, "ac.expires")/>
                                        <ThActions/>
                                    </tr></thead>
                                    <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </div>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "ac.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true/>
                    <Field label=t(lang, "description") name="description"/>
                    <Field label=t(lang, "ac.expires") name="expires" kind="date" hint=t(lang, "ac.expires_hint")/>
                    <FormActions submit_label=t(lang, "create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || secret.get().map(|s| view! {
            <Modal title=t(lang, "ac.secret_title") on_close=Callback::new(move |_| secret.set(None))>
                <p class="mb-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800">{t(lang, "ac.secret_text")}</p>
                <dl class="space-y-3 text-sm">
                    <div><dt class="font-medium text-slate-700">{t(lang, "name")}</dt><dd class="text-slate-900">{s.name.clone()}</dd></div>
                    <div><dt class="font-medium text-slate-700">{t(lang, "id")}</dt><dd class="font-mono text-xs text-slate-900">{s.id.clone()}</dd></div>
                    <div>
                        <dt class="font-medium text-slate-700">{t(lang, "ac.secret")}</dt>
                        <dd><input readonly data-testid="ac-secret" value=s.secret.clone() class="mt-1 block w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs"/></dd>
                    </div>
                </dl>
                <div class="mt-5 flex justify-end">
                    <button type="button" class=BTN_PRIMARY on:click=move |_| secret.set(None)>{t(lang, "ac.done")}</button>
                </div>
            </Modal>
        })}

        {move || deleting.get().map(|c| {
            let id = c.id.clone();
            view! {
                <Confirm title=t(lang, "ac.delete") message=format!("{} {}", t(lang, "ac.delete_q").replace("{name}", &c.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteAppCred { id: id.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}
    }
}
