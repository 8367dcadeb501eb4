//! Admin → Images: every project's images, with their owners; admins
//! deactivate and reactivate them here.

use leptos::prelude::*;
use leptos_meta::Title;

use super::*;

const BASE: &str = "/admin/images";

#[component]
pub fn AdminImagesPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_list_params();
    let acts = use_image_actions();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "images.admin_title"))/>
        <PageHeader title=t(lang, "images.admin_title") subtitle=t(lang, "images.admin_subtitle")/>
        <ImageTable base=BASE mode=Mode::Admin params=params acts=acts refresh=Signal::stored(0)/>
        <ImageDialogs acts=acts/>
    }
}
