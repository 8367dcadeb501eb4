//! Admin › System › System Information.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn SystemInfoPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.system_info"))/>
        <PageHeader title=t(lang, "nav.system_info")/>
    }
}
