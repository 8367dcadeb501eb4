//! Project → Compute → Images: the project's own images, those shared with
//! it, public and community images; Create Image uploads the file with a
//! progress bar.

use leptos::prelude::*;
use leptos_meta::Title;

use super::upload::{Phase, Upload};
use super::*;
use crate::auth::Me;

const BASE: &str = "/project/images";

#[component]
pub fn ProjectImagesPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let acts = use_image_actions();
    let me = use_context::<Me>();
    let can_create = me.as_ref().is_some_and(|m| m.can_create_image);
    let publicize = me.as_ref().is_some_and(|m| m.can_publicize_image);
    let show_create = RwSignal::new(false);
    let refresh = RwSignal::new(0usize);
    let tabs = vec![
        ("project", t(lang, "images.tab.project")),
        ("shared", t(lang, "images.tab.shared")),
        ("pending", t(lang, "images.tab.pending")),
        ("public", t(lang, "images.tab.public")),
        ("community", t(lang, "images.tab.community")),
    ];
    view! {
        <Title text=format!("{} · Gureum", t(lang, "images.title"))/>
        <PageHeader title=t(lang, "images.title") subtitle=t(lang, "images.subtitle")>
            {can_create.then(|| view! {
                <button type="button" class=BTN_PRIMARY on:click=move |_| show_create.set(true)>{t(lang, "images.create")}</button>
            })}
        </PageHeader>
        <ListTabs base=BASE params=params tabs=tabs label=t(lang, "images.title")/>
        <ImageTable base=BASE mode=Mode::Project params=params acts=acts refresh=refresh/>
        <ImageDialogs acts=acts/>
        <Show when=move || show_create.get()>
            <CreateImageDialog publicize=publicize
                on_close=Callback::new(move |_| show_create.set(false))
                on_changed=Callback::new(move |_| refresh.update(|n| *n += 1))/>
        </Show>
    }
}

/// Create Image: the record is created by a server function, then the
/// browser sends the file to `/portal/images/{id}/file`.
#[component]
fn CreateImageDialog(
    publicize: bool,
    on_close: Callback<()>,
    on_changed: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let phase = RwSignal::new(Phase::Idle);
    let name = RwSignal::new(String::new());
    let format = RwSignal::new("raw".to_string());
    // The running upload; dropping it (the dialog closing) aborts it.
    let upload = StoredValue::new_local(None::<Upload>);
    let remove = ServerAction::<DeleteImage>::new();
    let busy = Memo::new(move |_| phase.with(Phase::busy));
    let close = Callback::new(move |_| {
        if !busy.get_untracked() {
            on_close.run(())
        }
    });
    Effect::new(move |_| {
        if act_ok!(remove) {
            on_changed.run(());
            on_close.run(());
        }
    });
    let on_file = move |ev: leptos::ev::Event| {
        let path = event_target_value(&ev);
        let file = path
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_string();
        format.set(guess_disk_format(&file).to_string());
        if name.get_untracked().trim().is_empty() {
            let stem = file.rsplit_once('.').map(|(s, _)| s).unwrap_or(&file);
            name.set(stem.to_string());
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !busy.get_untracked() {
            super::upload::submit(&ev, lang, phase, upload, on_changed);
        }
    };
    let failed_id = move || match phase.get() {
        Phase::Failed {
            image_id: Some(id), ..
        } => Some(id),
        _ => None,
    };
    let error = Signal::derive(move || match phase.get() {
        Phase::Failed { message, .. } => Some(message),
        _ => None,
    });
    view! {
        <Modal title=t(lang, "images.create") on_close=close>
            <ErrorBox error=error/>
            {move || failed_id().map(|id| view! {
                <div class="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-md border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900" data-testid="queued-left">
                    <span>{t(lang, "images.left_queued")}</span>
                    <button type="button" class=BTN_DANGER disabled=move || remove.pending().get()
                        on:click=move |_| { remove.dispatch(DeleteImage { id: id.clone() }); }>{t(lang, "images.delete_queued")}</button>
                </div>
            })}
            <ErrorBox error=act_err!(remove)/>
            <form on:submit=on_submit>
                <fieldset disabled=move || busy.get() || phase.with(|p| matches!(p, Phase::Done { .. }))>
                    <div class="mb-4">
                        <label for="f-name" class=LABEL>{t(lang, "name")}</label>
                        <input id="f-name" name="name" class=INPUT autocomplete="off"
                            prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    </div>
                    <Field label=t(lang, "description") name="description"/>
                    <div class="mb-4">
                        <label for="f-file" class=LABEL>{t(lang, "images.file")}</label>
                        <input id="f-file" name="file" type="file" required on:change=on_file
                            class="mt-1 block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium file:text-slate-700 hover:file:bg-slate-200"/>
                    </div>
                    <div class="grid grid-cols-2 gap-4">
                        <div class="mb-4">
                            <label for="f-disk_format" class=LABEL>{t(lang, "images.disk_format")}</label>
                            <select id="f-disk_format" name="disk_format" class=INPUT
                                prop:value=move || format.get() on:change=move |ev| format.set(event_target_value(&ev))>
                                {DISK_FORMATS.iter().map(|(v, label)| view! {
                                    <option value=*v selected=move || format.get() == *v>{*label}</option>
                                }).collect_view()}
                            </select>
                        </div>
                        <div class="mb-4">
                            <label for="f-container" class=LABEL>{t(lang, "images.container_format")}</label>
                            <select id="f-container" name="container_format" class=INPUT disabled>
                                <option value="bare" selected>"Bare"</option>
                            </select>
                        </div>
                    </div>
                    <MinFields/>
                    <div class="grid grid-cols-2 items-end gap-4">
                        <VisibilitySelect selected="private" publicize=publicize/>
                        <div class="pb-2.5"><CheckField label=t(lang, "images.protected") name="protected"/></div>
                    </div>
                </fieldset>
                <UploadProgress phase=phase/>
                {move || if phase.with(|p| matches!(p, Phase::Done { .. })) {
                    view! {
                        <div class="flex justify-end">
                            <button type="button" class=BTN_PRIMARY on:click=move |_| on_close.run(())>{t(lang, "images.done")}</button>
                        </div>
                    }.into_any()
                } else if busy.get() {
                    view! {
                        <div class="flex justify-end gap-2">
                            <button type="button" class=BTN_SECONDARY on:click=move |_| {
                                upload.with_value(|u| { if let Some(u) = u { u.abort() } });
                            }>{t(lang, "images.cancel_upload")}</button>
                            <button type="submit" class=BTN_PRIMARY disabled=true>{t(lang, "images.uploading")}</button>
                        </div>
                    }.into_any()
                } else {
                    view! { <FormActions submit_label=t(lang, "create") pending=busy on_cancel=close/> }.into_any()
                }}
            </form>
        </Modal>
    }
}

/// The upload's progress: percent and bytes; it stays at 100 % when done.
#[component]
fn UploadProgress(phase: RwSignal<Phase>) -> impl IntoView {
    let lang = use_lang();
    move || {
        let (loaded, total, note, done) = match phase.get() {
            Phase::Uploading { loaded, total } => (loaded, total, None, false),
            Phase::Verifying { total } => (total, total, Some(t(lang, "images.verifying")), false),
            Phase::Done { total } => (total, total, Some(t(lang, "images.uploaded")), true),
            _ => return None,
        };
        let pct = if total > 0.0 {
            (loaded / total * 100.0).clamp(0.0, 100.0).floor()
        } else {
            100.0
        };
        let bar = if done {
            "h-2 rounded-full bg-emerald-500 transition-[width] duration-150"
        } else {
            "h-2 rounded-full bg-sky-600 transition-[width] duration-150"
        };
        let bytes = super::upload::progress_text(loaded, total);
        Some(view! {
            <div class="mb-4" data-testid="upload-progress" data-done=done.to_string()>
                <div class="mb-1 flex justify-between text-xs text-slate-600">
                    <span data-testid="upload-percent">{format!("{pct}%")}</span>
                    <span class="tabular-nums">{bytes}</span>
                </div>
                <div class="h-2 w-full overflow-hidden rounded-full bg-slate-100" role="progressbar"
                    aria-label=t(lang, "images.progress") aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string()>
                    <div class=bar style=format!("width: {pct}%")></div>
                </div>
                {note.map(|n| view! { <p class="mt-1 text-xs text-slate-500">{n}</p> })}
            </div>
        })
    }
}
