//! User settings: language and password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::{hard_redirect, ChangePassword, SetLanguage};
use crate::components::{ErrorBox, Field, PageHeader, BTN_PRIMARY, CARD, LABEL};
use crate::i18n::{t, use_lang, Lang};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let lang = use_lang();
    let set_lang = ServerAction::<SetLanguage>::new();
    let change = ServerAction::<ChangePassword>::new();
    Effect::new(move |_| {
        if crate::act_ok!(set_lang) {
            hard_redirect("/settings");
        }
    });
    Effect::new(move |_| {
        if crate::act_ok!(change) {
            hard_redirect("/login?msg=password_changed");
        }
    });
    let lang_err = crate::act_err!(set_lang);
    let pw_err = crate::act_err!(change);
    view! {
        <Title text=format!("{} · Gureum", t(lang, "settings.title"))/>
        <PageHeader title=t(lang, "settings.title")/>
        <div class="grid max-w-4xl gap-6 lg:grid-cols-2">
            <section class=format!("{CARD} p-6")>
                <h2 class="mb-4 text-base font-semibold text-slate-900">{t(lang, "settings.language")}</h2>
                <ErrorBox error=lang_err/>
                <ActionForm action=set_lang>
                    <label for="lang" class=LABEL>{t(lang, "settings.language")}</label>
                    <select id="lang" name="lang" class="mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm">
                        <option value="en" selected=lang == Lang::En>"English"</option>
                        <option value="ko" selected=lang == Lang::Ko>"한국어"</option>
                    </select>
                    <button type="submit" class=format!("{BTN_PRIMARY} mt-4")>{t(lang, "save")}</button>
                </ActionForm>
            </section>
            <section class=format!("{CARD} p-6")>
                <h2 class="mb-1 text-base font-semibold text-slate-900">{t(lang, "settings.password")}</h2>
                <p class="mb-4 text-sm text-slate-500">{t(lang, "settings.password_hint")}</p>
                <ErrorBox error=pw_err/>
                <ActionForm action=change>
                    <Field label=t(lang, "settings.old_password") name="old_password" kind="password" required=true/>
                    <Field label=t(lang, "settings.new_password") name="new_password" kind="password" required=true/>
                    <Field label=t(lang, "settings.confirm_password") name="confirm_password" kind="password" required=true/>
                    <button type="submit" class=BTN_PRIMARY disabled=move || change.pending().get()>{t(lang, "settings.change_password")}</button>
                </ActionForm>
            </section>
        </div>
    }
}
