//! Admin › Compute › Flavors.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn FlavorsPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.flavors"))/>
        <PageHeader title=t(lang, "nav.flavors")/>
    }
}
