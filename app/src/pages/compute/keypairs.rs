//! Project › Compute › Key Pairs: the caller's own key pairs. A generated
//! private key is answered once by the service and lives only in this
//! page's signal until its dialog closes; nothing can show it again.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::error::AppError;
use crate::i18n::{date_time, t, use_lang};
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPairRow {
    pub name: String,
    pub key_type: String,
    pub fingerprint: String,
    pub public_key: String,
    pub created: String,
}

/// A generated pair, as the dialog shows it this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedKey {
    pub name: String,
    pub fingerprint: String,
    pub private_key: String,
}

/// The caller's key pairs matching `q` (case-insensitive, on the name), a
/// page of them: the service answers them all, by name.
#[server(endpoint = "list_keypairs")]
pub async fn list_keypairs(
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<PageOf<KeyPairRow>, AppError> {
    let (a, compute) = server::auth_compute().await?;
    let q = q.trim().to_lowercase();
    let mut rows: Vec<KeyPairRow> = compute
        .list_keypairs(&a.ctx, None)
        .await?
        .into_iter()
        .filter(|k| q.is_empty() || k.name.to_lowercase().contains(&q))
        .map(|k| KeyPairRow {
            created: k.created_at.format("%Y-%m-%d %H:%M").to_string(),
            name: k.name,
            key_type: k.key_type,
            fingerprint: k.fingerprint,
            public_key: k.public_key,
        })
        .collect();
    if sort == "created" {
        rows.sort_by(|x, y| x.created.cmp(&y.created).then(x.name.cmp(&y.name)));
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

/// Only SSH keys are offered (Gureum issues no x509 pairs).
#[cfg(feature = "ssr")]
fn check_type(key_type: &str) -> Result<(), AppError> {
    if key_type.is_empty() || key_type == "ssh" {
        Ok(())
    } else {
        Err(AppError::portal_named("kp.err_type", key_type))
    }
}

#[server(endpoint = "create_keypair")]
pub async fn create_keypair(name: String, key_type: String) -> Result<GeneratedKey, AppError> {
    let (a, compute) = server::auth_compute().await?;
    check_type(&key_type)?;
    let created = compute
        .create_keypair(
            &a.ctx,
            cloud::compute::NewKeyPair {
                name,
                public_key: None,
                user_id: None,
            },
        )
        .await?;
    let private_key = created
        .private_key
        .map(|k| k.expose().to_string())
        .ok_or_else(|| AppError::internal("a generated key pair came without its private key"))?;
    Ok(GeneratedKey {
        name: created.keypair.name,
        fingerprint: created.keypair.fingerprint,
        private_key,
    })
}

#[server(endpoint = "import_keypair")]
pub async fn import_keypair(
    name: String,
    key_type: String,
    public_key: String,
) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    check_type(&key_type)?;
    compute
        .create_keypair(
            &a.ctx,
            cloud::compute::NewKeyPair {
                name,
                public_key: Some(public_key),
                user_id: None,
            },
        )
        .await?;
    Ok(())
}

#[server(endpoint = "delete_keypair")]
pub async fn delete_keypair(name: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    compute.delete_keypair(&a.ctx, None, &name).await?;
    Ok(())
}

/// `text` as a `data:` URL the browser saves as a file: no Blob, no
/// script, and the same markup on the server and after hydration.
fn pem_data_url(text: &str) -> String {
    let mut out = String::from("data:application/x-pem-file;charset=utf-8,");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

const BASE: &str = "/project/key_pairs";

/// The key type choice both dialogs share (SSH only).
#[component]
fn KeyTypeField() -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="mb-4">
            <label for="f-key_type" class=LABEL>{t(lang, "kp.type")}</label>
            <select id="f-key_type" name="key_type" class=INPUT>
                <option value="ssh" selected=true>{t(lang, "kp.type_ssh")}</option>
            </select>
        </div>
    }
}

#[component]
pub fn KeyPairsPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let create = ServerAction::<CreateKeypair>::new();
    let import = ServerAction::<ImportKeypair>::new();
    let delete = ServerAction::<DeleteKeypair>::new();
    let data = Resource::new(
        move || {
            (
                params.get(),
                create.version().get() + import.version().get() + delete.version().get(),
            )
        },
        |(p, _)| list_keypairs(p.q, p.sort, p.dir, p.page),
    );
    let show_create = RwSignal::new(false);
    let show_import = RwSignal::new(false);
    let deleting = RwSignal::new(None::<KeyPairRow>);
    let viewing = RwSignal::new(None::<KeyPairRow>);
    // The private key lives only here, until its dialog is closed.
    let generated = RwSignal::new(None::<GeneratedKey>);
    Effect::new(move |_| {
        let made = create
            .value()
            .with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).cloned());
        if let Some(k) = made {
            show_create.set(false);
            generated.set(Some(k));
            // Drop the action's copy too: the key is in one place only.
            create.clear();
        }
    });
    Effect::new(move |_| {
        if act_ok!(import) {
            show_import.set(false)
        }
    });
    Effect::new(move |_| {
        if act_ok!(delete) {
            deleting.set(None)
        }
    });

    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.key_pairs"))/>
        <PageHeader title=t(lang, "nav.key_pairs") subtitle=t(lang, "kp.subtitle")>
            <button type="button" class=BTN_SECONDARY on:click=move |_| { import.clear(); show_import.set(true) }>{t(lang, "kp.import")}</button>
            <button type="button" class=BTN_PRIMARY on:click=move |_| { create.clear(); show_create.set(true) }>{t(lang, "kp.create")}</button>
        </PageHeader>
        <div class="mb-3"><FilterBox base=BASE params=params/></div>
        <PagedTable data=data base=BASE params=params
            empty_title=t(lang, "kp.empty") empty_hint=t(lang, "kp.empty_hint")
            head=move || view! {
                <SortHeader label=t(lang, "name") key="name" base=BASE params=params/>
                <Th label=t(lang, "kp.type")/>
                <Th label=t(lang, "kp.fingerprint")/>
                <SortHeader label=t(lang, "created") key="created" base=BASE params=params/>
                <ThActions/>
            }.into_any()
            row=move |k: KeyPairRow| {
                let (k1, k2) = (k.clone(), k.clone());
                view! {
                    <tr class="hover:bg-slate-50" data-keypair=k.name.clone()>
                        <td class=format!("{TD} font-medium text-slate-900")>{k.name.clone()}</td>
                        <td class=TD>{k.key_type.clone()}</td>
                        <td class=format!("{TD} font-mono text-xs text-slate-500") data-testid="fingerprint">{k.fingerprint.clone()}</td>
                        <td class=format!("{TD} text-slate-500")>{format!("{} UTC", date_time(lang, &k.created))}</td>
                        <td class=format!("{TD} space-x-3 text-right whitespace-nowrap")>
                            <button type="button" class=BTN_LINK on:click=move |_| viewing.set(Some(k1.clone()))>{t(lang, "kp.public_key")}</button>
                            <button type="button" class=BTN_LINK_DANGER on:click=move |_| { delete.clear(); deleting.set(Some(k2.clone())) }>{t(lang, "delete")}</button>
                        </td>
                    </tr>
                }.into_any()
            }/>

        <Show when=move || show_create.get()>
            <Modal title=t(lang, "kp.create") on_close=Callback::new(move |_| show_create.set(false))>
                <ErrorBox error=act_err!(create)/>
                <ActionForm action=create>
                    <Field label=t(lang, "name") name="name" required=true hint=t(lang, "kp.name_hint")/>
                    <KeyTypeField/>
                    <p class="mb-4 text-xs text-slate-500">{t(lang, "kp.create_hint")}</p>
                    <FormActions submit_label=t(lang, "kp.create") pending=create.pending() on_cancel=Callback::new(move |_| show_create.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        <Show when=move || show_import.get()>
            <Modal title=t(lang, "kp.import") on_close=Callback::new(move |_| show_import.set(false))>
                <ErrorBox error=act_err!(import)/>
                <ActionForm action=import>
                    <Field label=t(lang, "name") name="name" required=true hint=t(lang, "kp.name_hint")/>
                    <KeyTypeField/>
                    <div class="mb-4">
                        <label for="f-public_key" class=LABEL>{t(lang, "kp.public_key")}</label>
                        <textarea id="f-public_key" name="public_key" rows="6" required=true class=format!("{INPUT} font-mono text-xs")></textarea>
                        <p class="mt-1 text-xs text-slate-500">{t(lang, "kp.public_key_hint")}</p>
                    </div>
                    <FormActions submit_label=t(lang, "kp.import") pending=import.pending() on_cancel=Callback::new(move |_| show_import.set(false))/>
                </ActionForm>
            </Modal>
        </Show>

        {move || generated.get().map(|k| {
            let href = pem_data_url(&k.private_key);
            let file = format!("{}.pem", k.name);
            view! {
                <Modal title=t(lang, "kp.private_title") on_close=Callback::new(move |_| generated.set(None))>
                    <p role="note" class="mb-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800">{t(lang, "kp.private_once")}</p>
                    <dl class="space-y-3 text-sm">
                        <div><dt class="font-medium text-slate-700">{t(lang, "name")}</dt><dd class="text-slate-900">{k.name.clone()}</dd></div>
                        <div><dt class="font-medium text-slate-700">{t(lang, "kp.fingerprint")}</dt><dd class="font-mono text-xs text-slate-900">{k.fingerprint.clone()}</dd></div>
                        <div>
                            <dt class="font-medium text-slate-700"><label for="kp-private">{t(lang, "kp.private_key")}</label></dt>
                            <dd><textarea id="kp-private" readonly rows="8" data-testid="private-key" class="mt-1 block w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs">{k.private_key.clone()}</textarea></dd>
                        </div>
                    </dl>
                    <div class="mt-5 flex justify-end gap-2">
                        <a href=href download=file class=BTN_SECONDARY data-testid="download-key">{t(lang, "kp.download")}</a>
                        <button type="button" class=BTN_PRIMARY on:click=move |_| generated.set(None)>{t(lang, "kp.done")}</button>
                    </div>
                </Modal>
            }
        })}

        {move || viewing.get().map(|k| view! {
            <Modal title=format!("{} · {}", t(lang, "kp.public_key"), k.name) on_close=Callback::new(move |_| viewing.set(None))>
                <textarea readonly rows="6" aria-label=t(lang, "kp.public_key") class="block w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs">{k.public_key.clone()}</textarea>
                <div class="mt-5 flex justify-end">
                    <button type="button" class=BTN_PRIMARY on:click=move |_| viewing.set(None)>{t(lang, "close")}</button>
                </div>
            </Modal>
        })}

        {move || deleting.get().map(|k| {
            let name = k.name.clone();
            view! {
                <Confirm title=t(lang, "kp.delete") message=format!("{} {}", t(lang, "kp.delete_q").replace("{name}", &k.name), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { delete.dispatch(DeleteKeypair { name: name.clone() }); })
                    on_close=Callback::new(move |_| deleting.set(None))
                    pending=delete.pending() error=act_err!(delete)/>
            }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_key_downloads_as_is() {
        let url = pem_data_url("-----BEGIN X-----\nab+/=\n");
        assert_eq!(
            url,
            "data:application/x-pem-file;charset=utf-8,-----BEGIN%20X-----%0Aab%2B%2F%3D%0A"
        );
    }
}
