//! The frame around every signed-in page: header with project switcher and
//! user menu, sidebar grouped like Horizon, and the panel.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::use_location;

use crate::auth::{hard_redirect, Logout, Me, SwitchProject};
use crate::components::{ErrorBox, Icon, IconName, Logo, BTN_SECONDARY};
use crate::i18n::{t, use_lang};

#[component]
pub fn Layout() -> impl IntoView {
    let lang = use_lang();
    match use_context::<Me>() {
        Some(me) => view! { <Frame me=me/> }.into_any(),
        // The page guard sends a signed-out visitor to the login page before
        // anything renders; this is only reached if that was bypassed.
        None => {
            hard_redirect("/login");
            view! { <div class="p-10 text-sm text-slate-400">{t(lang, "loading")}</div> }.into_any()
        }
    }
}

fn admin_only(path: &str) -> bool {
    path.starts_with("/admin")
        || (path.starts_with("/identity") && !path.starts_with("/identity/application_credentials"))
}

#[component]
fn Frame(me: Me) -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    let is_admin = me.is_admin;
    let denied = Memo::new(move |_| !is_admin && admin_only(&location.pathname.get()));
    let switch = ServerAction::<SwitchProject>::new();
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if crate::act_ok!(switch) {
            hard_redirect("/project");
        }
    });
    Effect::new(move |_| {
        if crate::act_ok!(logout) {
            hard_redirect("/login?msg=logged_out");
        }
    });
    let current = me
        .project
        .as_ref()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    let has_project = me.project.is_some();
    let options = me
        .projects
        .iter()
        .map(|p| {
            let sel = p.id == current;
            view! { <option value=p.id.clone() selected=sel>{p.name.clone()}</option> }
        })
        .collect_view();
    let initial = me
        .user_name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    let switch_error = crate::act_err!(switch);
    let header = view! {
            <header class="sticky top-0 z-30 flex h-14 items-center justify-between border-b border-slate-200 bg-white/90 px-4 backdrop-blur">
                <div class="flex items-center gap-6">
                    <a href="/project" class="flex items-center gap-2">
                        <Logo/>
                        <span class="text-lg font-semibold tracking-tight text-slate-900">"Gureum"</span>
                    </a>
                    <label class="flex items-center gap-2 text-sm text-slate-500">
                        <span>{t(lang, "nav.project_label")}</span>
                        <select data-testid="project-switcher" aria-label=t(lang, "nav.project_label")
                            class="rounded-md border border-slate-300 bg-white py-1 pl-2 pr-8 text-sm text-slate-800 shadow-sm focus:border-sky-500 focus:outline-none"
                            disabled=move || switch.pending().get()
                            on:change=move |ev| {
                                let id = event_target_value(&ev);
                                if !id.is_empty() {
                                    switch.dispatch(SwitchProject { project_id: id });
                                }
                            }>
                            {(!has_project).then(|| view! { <option value="" selected=true>{t(lang, "nav.no_project")}</option> })}
                            {options}
                        </select>
                    </label>
                </div>
                <details class="relative" data-testid="user-menu">
                    <summary class="flex cursor-pointer list-none items-center gap-2 rounded-md px-2 py-1 text-sm text-slate-700 hover:bg-slate-100">
                        <span class="flex h-7 w-7 items-center justify-center rounded-full bg-slate-200 text-xs font-semibold text-slate-700">{initial}</span>
                        <span data-testid="user-name">{me.user_name.clone()}</span>
                        <span class="text-slate-400"><Icon name=IconName::ChevronDown class="h-4 w-4"/></span>
                    </summary>
                    <div class="absolute right-0 mt-2 w-52 rounded-md border border-slate-200 bg-white py-1 shadow-lg">
                        <div class="border-b border-slate-100 px-3 py-2 text-xs text-slate-500">{format!("{} · {}", me.user_name, me.domain_name)}</div>
                        <a href="/settings" class="block px-3 py-2 text-sm text-slate-700 hover:bg-slate-50">{t(lang, "nav.settings")}</a>
                        <ActionForm action=logout>
                            <button type="submit" class="block w-full px-3 py-2 text-left text-sm text-slate-700 hover:bg-slate-50">{t(lang, "nav.sign_out")}</button>
                        </ActionForm>
                    </div>
                </details>
            </header>
    }
    .into_any();
    let nav = view! {
                <nav class="sticky top-14 h-[calc(100vh-3.5rem)] w-60 shrink-0 overflow-y-auto border-r border-slate-200 bg-white px-3 py-4" aria-label=t(lang, "nav.main")>
                    <NavGroup title=t(lang, "nav.project")>
                        <NavLink href="/project" label=t(lang, "nav.overview") exact=true/>
                        <NavSub title=t(lang, "nav.compute")/>
                        <NavLink href="/project/instances" label=t(lang, "nav.instances")/>
                        <NavLink href="/project/images" label=t(lang, "nav.images")/>
                        <NavLink href="/project/key_pairs" label=t(lang, "nav.key_pairs")/>
                    </NavGroup>
                    {is_admin.then(|| view! {
                        <NavGroup title=t(lang, "nav.admin")>
                            <NavLink href="/admin" label=t(lang, "nav.overview") exact=true/>
                            <NavSub title=t(lang, "nav.compute")/>
                            <NavLink href="/admin/hypervisors" label=t(lang, "nav.hypervisors")/>
                            <NavLink href="/admin/flavors" label=t(lang, "nav.flavors")/>
                            <NavLink href="/admin/instances" label=t(lang, "nav.instances")/>
                            <NavLink href="/admin/images" label=t(lang, "nav.images")/>
                            <NavSub title=t(lang, "nav.system")/>
                            <NavLink href="/admin/defaults" label=t(lang, "nav.defaults")/>
                            <NavLink href="/admin/info" label=t(lang, "nav.system_info")/>
                        </NavGroup>
                    })}
                    <NavGroup title=t(lang, "nav.identity")>
                        {is_admin.then(|| view! {
                            <NavLink href="/identity/projects" label=t(lang, "nav.projects")/>
                            <NavLink href="/identity/users" label=t(lang, "nav.users")/>
                            <NavLink href="/identity/groups" label=t(lang, "nav.groups")/>
                            <NavLink href="/identity/roles" label=t(lang, "nav.roles")/>
                        })}
                        <NavLink href="/identity/application_credentials" label=t(lang, "nav.app_creds")/>
                    </NavGroup>
                    <NavGroup title=t(lang, "nav.settings")>
                        <NavLink href="/settings" label=t(lang, "nav.user_settings")/>
                    </NavGroup>
                </nav>
    }
    .into_any();
    view! {
        <div class="min-h-screen">
            {header}
            <div class="flex">
                {nav}
                <main class="min-w-0 flex-1 px-8 py-6">
                    <ErrorBox error=switch_error/>
                    <Show when=move || !denied.get() fallback=move || view! { <Denied/> }>
                        <Outlet/>
                    </Show>
                </main>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn NavGroup(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="mb-5">
            <div class="mb-1 px-2 text-xs font-semibold uppercase tracking-wider text-slate-400">{title}</div>
            <ul class="space-y-0.5">{children()}</ul>
        </div>
    }
}

/// A heading inside a group (Project → Compute).
#[component]
fn NavSub(title: &'static str) -> impl IntoView {
    view! { <li class="px-2 pb-0.5 pt-2 text-[11px] font-medium uppercase tracking-wide text-slate-400">{title}</li> }
}

#[component]
fn NavLink(
    href: &'static str,
    label: &'static str,
    /// Current only on this very path (an overview whose panels live below it).
    #[prop(optional)]
    exact: bool,
) -> impl IntoView {
    view! {
        <li>
            <A href=href exact=exact attr:class="block rounded-md px-2 py-1.5 text-sm text-slate-600 hover:bg-slate-100 hover:text-slate-900 aria-[current=page]:bg-sky-50 aria-[current=page]:font-medium aria-[current=page]:text-sky-800">
                {label}
            </A>
        </li>
    }
}

#[component]
fn Denied() -> impl IntoView {
    let lang = use_lang();
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <div class="mx-auto mt-16 max-w-md rounded-lg border border-amber-200 bg-amber-50 p-6 text-center" data-testid="denied">
            <h1 class="text-lg font-semibold text-amber-900">{t(lang, "denied.title")}</h1>
            <p class="mt-2 text-sm text-amber-800">{t(lang, "denied.text")}</p>
            <a href="/project" class=format!("{BTN_SECONDARY} mt-4")>{t(lang, "denied.back")}</a>
        </div>
    }
}
