//! Overview pages: Project and Admin (placeholders until compute, volumes
//! and networks arrive), and `/`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::components::{Icon, IconName, PageHeader};
use crate::i18n::{t, use_lang};

#[component]
pub fn Home() -> impl IntoView {
    view! { <Redirect path="/project"/> }
}

#[component]
pub fn ProjectOverview() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "overview.project"))/>
        <PageHeader title=t(lang, "overview.project")/>
        <Placeholder/>
    }
}

#[component]
pub fn AdminOverview() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "overview.admin"))/>
        <PageHeader title=t(lang, "overview.admin")/>
        <Placeholder/>
    }
}

#[component]
fn Placeholder() -> impl IntoView {
    let lang = use_lang();
    let cards = [
        ("overview.compute", IconName::Compute),
        ("overview.volumes", IconName::Volumes),
        ("overview.networks", IconName::Networks),
    ];
    view! {
        <div class="grid gap-4 sm:grid-cols-3">
            {cards.into_iter().map(|(k, icon)| view! {
                <div class="rounded-lg border border-dashed border-slate-300 bg-white p-6">
                    <div class="text-sky-600"><Icon name=icon class="h-7 w-7"/></div>
                    <div class="mt-2 font-medium text-slate-800">{t(lang, k)}</div>
                    <div class="mt-1 text-sm text-slate-500">{t(lang, "overview.soon")}</div>
                </div>
            }).collect_view()}
        </div>
        <p class="mt-6 text-sm text-slate-500">{t(lang, "overview.later")}</p>
    }
}
