//! The Gureum dashboard: pages (one module per panel), components and the
//! `#[server]` functions. With feature `ssr` it calls into `cloud`.

// Leptos views nest deep types; the instance page's would pass the default limit.
#![recursion_limit = "256"]

pub mod auth;
pub mod components;
pub mod error;
pub mod i18n;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::i18n::Lang;

/// Portal settings the server hands to server functions.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub idle_timeout_secs: i64,
}

/// The language of the session, put in the request's extensions by the
/// portal middleware so the page renders in it from the first byte.
#[derive(Debug, Clone)]
pub struct UiLang(pub String);

/// The language this page renders in: on the server from the request, in
/// the browser from `<html lang>` (which the server wrote), so SSR and
/// hydration agree.
fn page_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<UiLang>().cloned())
            .map(|l| Lang::parse(&l.0))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .map(|l| Lang::parse(&l))
            .unwrap_or_default()
    }
}

/// The signed-in user of this page load, put in the request's extensions by
/// the portal's page guard (which has just validated the session's token).
#[derive(Debug, Clone)]
pub struct PageMe(pub auth::Me);

const ME_SCRIPT_ID: &str = "gureum-me";

/// Who is signed in, for this page load: on the server from the request, in
/// the browser from the JSON the server wrote into the page's head. Known
/// before anything renders, the layout needs no `Suspense` (whose server
/// rendering re-runs its children, and with them every panel's server
/// calls).
pub fn page_me() -> Option<auth::Me> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<PageMe>().cloned())
            .map(|m| m.0)
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .get_element_by_id(ME_SCRIPT_ID)
            .and_then(|e| e.text_content())
            .and_then(|json| serde_json::from_str(&json).ok())
    }
}

/// `me` as JSON that is safe inside a `<script>` element.
#[cfg(feature = "ssr")]
fn me_json(me: &auth::Me) -> String {
    serde_json::to_string(me)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = page_lang();
    #[cfg(feature = "ssr")]
    let me_script = page_me().map(|me| {
        view! { <script type="application/json" id=ME_SCRIPT_ID inner_html=me_json(&me)></script> }
    });
    #[cfg(not(feature = "ssr"))]
    let me_script: Option<()> = None;
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
                {me_script}
            </head>
            <body class="bg-slate-50 text-slate-800 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(page_lang());
    if let Some(me) = page_me() {
        provide_context(me);
    }
    // Marks the page as hydrated (effects run only in the browser, after
    // hydration); the browser tests wait for it.
    Effect::new(move |_| {
        #[cfg(not(feature = "ssr"))]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    use pages::compute::{detail as instance_detail, instances, keypairs};
    use pages::compute_admin::{flavors, hypervisors, sysinfo};
    use pages::identity::{app_creds, groups, projects, roles, users};
    use pages::images::{admin as admin_images, detail as image_detail, project as images};
    use pages::{layout::Layout, login::LoginPage, overview, quotas, settings::SettingsPage};
    view! {
        <Stylesheet id="leptos" href="/pkg/gureum.css"/>
        <Title text="Gureum"/>
        <Router>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <ParentRoute path=path!("") view=Layout>
                    <Route path=path!("") view=overview::Home/>
                    <Route path=path!("/project") view=overview::ProjectOverview/>
                    <Route path=path!("/project/instances") view=instances::ProjectInstancesPage/>
                    <Route path=path!("/project/instances/:id") view=instance_detail::ProjectInstanceDetailPage/>
                    <Route path=path!("/project/key_pairs") view=keypairs::KeyPairsPage/>
                    <Route path=path!("/project/images") view=images::ProjectImagesPage/>
                    <Route path=path!("/project/images/:id") view=image_detail::ProjectImageDetailPage/>
                    <Route path=path!("/admin") view=overview::AdminOverview/>
                    <Route path=path!("/admin/instances") view=instances::AdminInstancesPage/>
                    <Route path=path!("/admin/instances/:id") view=instance_detail::AdminInstanceDetailPage/>
                    <Route path=path!("/admin/hypervisors") view=hypervisors::HypervisorsPage/>
                    <Route path=path!("/admin/flavors") view=flavors::FlavorsPage/>
                    <Route path=path!("/admin/defaults") view=quotas::DefaultsPage/>
                    <Route path=path!("/admin/info") view=sysinfo::SystemInfoPage/>
                    <Route path=path!("/admin/images") view=admin_images::AdminImagesPage/>
                    <Route path=path!("/admin/images/:id") view=image_detail::AdminImageDetailPage/>
                    <Route path=path!("/identity/projects") view=projects::ProjectsPage/>
                    <Route path=path!("/identity/projects/:id") view=projects::ProjectMembersPage/>
                    <Route path=path!("/identity/projects/:id/quotas") view=quotas::ProjectQuotasPage/>
                    <Route path=path!("/identity/users") view=users::UsersPage/>
                    <Route path=path!("/identity/groups") view=groups::GroupsPage/>
                    <Route path=path!("/identity/groups/:id") view=groups::GroupMembersPage/>
                    <Route path=path!("/identity/roles") view=roles::RolesPage/>
                    <Route path=path!("/identity/application_credentials") view=app_creds::AppCredsPage/>
                    <Route path=path!("/settings") view=SettingsPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
