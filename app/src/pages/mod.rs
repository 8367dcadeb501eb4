//! The dashboard's pages, one module per panel.

pub mod compute;
pub mod compute_admin;
pub mod identity;
pub mod images;
pub mod layout;
pub mod login;
pub mod overview;
pub mod quotas;
pub mod settings;

use leptos::prelude::*;

use crate::i18n::{t, use_lang};

#[component]
pub fn NotFound() -> impl IntoView {
    let lang = use_lang();
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="flex min-h-screen items-center justify-center">
            <div class="text-center">
                <p class="text-5xl font-semibold text-slate-300">"404"</p>
                <p class="mt-2 text-slate-600">{t(lang, "notfound")}</p>
                <a href="/" class="mt-4 inline-block text-sky-700 hover:underline">{t(lang, "notfound.home")}</a>
            </div>
        </main>
    }
}
