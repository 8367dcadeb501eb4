//! Project › Compute › Instances and Admin › Instances.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn ProjectInstancesPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.instances"))/>
        <PageHeader title=t(lang, "nav.instances")/>
    }
}

#[component]
pub fn AdminInstancesPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.instances"))/>
        <PageHeader title=t(lang, "nav.instances")/>
    }
}
