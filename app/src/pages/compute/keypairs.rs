//! Project › Compute › Key Pairs.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::PageHeader;
use crate::i18n::{t, use_lang};

#[component]
pub fn KeyPairsPage() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.key_pairs"))/>
        <PageHeader title=t(lang, "nav.key_pairs")/>
    }
}
