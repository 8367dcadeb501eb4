//! An instance's detail page: overview, console log, action log.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn ProjectInstanceDetailPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.instances"))/>
        <PageHeader title=t(lang, "nav.instances")/>
    }
}

#[component]
pub fn AdminInstanceDetailPage() -> impl IntoView {
    ProjectInstanceDetailPage()
}
