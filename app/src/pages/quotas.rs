//! Quota management: Admin › System › Defaults and each project's Quotas
//! form (Identity › Projects › Quotas).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn DefaultsPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.defaults"))/>
        <PageHeader title=t(lang, "nav.defaults")/>
    }
}

#[component]
pub fn ProjectQuotasPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.quotas"))/>
        <PageHeader title=t(lang, "nav.quotas")/>
    }
}
