//! The Gureum dashboard: pages (one module per panel), components and the
//! `#[server]` functions. With feature `ssr` it calls into `cloud`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// Portal settings the server hands to server functions.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub idle_timeout_secs: i64,
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gureum.css"/>
        <Title text="Gureum"/>
        <Router>
            <main>
                <Routes fallback=|| "Page not found.".into_view()>
                    <Route path=path!("") view=|| view! { <h1>"Gureum"</h1> }/>
                </Routes>
            </main>
        </Router>
    }
}
