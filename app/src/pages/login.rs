//! The login page: domain, user name, password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::{hard_redirect, Login, LoginOutcome};
use crate::components::{ErrorBox, Logo, Notice, BTN_PRIMARY, INPUT, LABEL};
use crate::error::AppError;
use crate::i18n::{t, use_lang, Lang};

#[component]
pub fn LoginPage() -> impl IntoView {
    let lang = use_lang();
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let notice = move || match query.get().get("msg").as_deref() {
        Some("password_changed") => Some(t(lang, "login.pw_changed")),
        Some("logged_out") => Some(t(lang, "login.logged_out")),
        _ => None,
    };
    Effect::new(move |_| {
        if matches!(login.value().get(), Some(Ok(LoginOutcome::Ok))) {
            hard_redirect("/project");
        }
    });
    let error = Signal::derive(move || {
        login.value().with(|v| match v {
            Some(Ok(LoginOutcome::Invalid)) => Some(AppError::portal("login.invalid")),
            Some(Ok(LoginOutcome::Missing)) => Some(AppError::portal("login.missing")),
            Some(Ok(LoginOutcome::Locked { minutes })) => {
                Some(AppError::portal("login.locked").arg("n", &minutes.to_string()))
            }
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        })
    });
    let other = match lang {
        Lang::En => ("ko", "한국어"),
        Lang::Ko => ("en", "English"),
    };
    let set_lang = ServerAction::<crate::auth::SetLanguage>::new();
    Effect::new(move |_| {
        if crate::act_ok!(set_lang) {
            hard_redirect("/login");
        }
    });
    view! {
        <Title text=format!("{} · Gureum", t(lang, "login.title"))/>
        <main class="flex min-h-screen flex-col items-center justify-center bg-gradient-to-b from-sky-50 to-slate-100 px-4">
            <div class="mb-8 flex items-center gap-3">
                <Logo large=true/>
                <div>
                    <div class="text-2xl font-semibold tracking-tight text-slate-900">"Gureum"</div>
                    <div class="text-sm text-slate-500">{t(lang, "login.tagline")}</div>
                </div>
            </div>
            <div class="w-full max-w-sm rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
                <h1 class="mb-6 text-lg font-semibold text-slate-900">{t(lang, "login.title")}</h1>
                {move || notice().map(|n| view! { <Notice text=n/> })}
                <ErrorBox error=error/>
                <ActionForm action=login>
                    <div class="mb-4">
                        <label for="domain" class=LABEL>{t(lang, "login.domain")}</label>
                        <input id="domain" name="domain" value="Default" autocomplete="off" class=INPUT/>
                    </div>
                    <div class="mb-4">
                        <label for="username" class=LABEL>{t(lang, "login.username")}</label>
                        <input id="username" name="username" autocomplete="username" required autofocus class=INPUT/>
                    </div>
                    <div class="mb-6">
                        <label for="password" class=LABEL>{t(lang, "login.password")}</label>
                        <input id="password" name="password" type="password" autocomplete="current-password" required class=INPUT/>
                    </div>
                    <button type="submit" class=format!("{BTN_PRIMARY} w-full justify-center py-2") disabled=move || login.pending().get()>
                        {move || if login.pending().get() { t(lang, "login.signing_in") } else { t(lang, "login.submit") }}
                    </button>
                </ActionForm>
            </div>
            <div class="mt-6 text-sm text-slate-500">
                <ActionForm action=set_lang>
                    <input type="hidden" name="lang" value=other.0/>
                    <button type="submit" class="hover:text-slate-800 hover:underline">{other.1}</button>
                </ActionForm>
            </div>
        </main>
    }
}
