//! Building blocks shared by the panels: page header, tables with
//! server-side sort, filter and paging, badges, modals, inline errors.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::hard_redirect;
use crate::error::AppError;
use crate::i18n::{number, t, use_lang};

pub const PAGE_SIZE: i64 = 50;

/// One page of rows with the total matching the filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Pages past this are clamped to it (it has no rows): page arithmetic
/// then never overflows, on the server or in the browser.
pub const MAX_PAGE_NUMBER: i64 = 1_000_000_000;

/// A table's state, kept in the URL: `?tab=…&q=…&sort=…&dir=…&page=…`
/// (`tab` only for tables with [`ListTabs`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListParams {
    pub tab: String,
    pub q: String,
    pub sort: String,
    pub dir: String,
    pub page: i64,
}

impl ListParams {
    pub fn href(&self, base: &str, sort: &str, dir: &str, page: i64) -> String {
        let mut parts = Vec::new();
        if !self.tab.is_empty() {
            parts.push(format!("tab={}", encode(&self.tab)));
        }
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode(&self.q)));
        }
        if !sort.is_empty() {
            parts.push(format!("sort={}", encode(sort)));
        }
        if !dir.is_empty() {
            parts.push(format!("dir={}", encode(dir)));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn use_list_params() -> Memo<ListParams> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.get();
        ListParams {
            tab: q.get("tab").unwrap_or_default(),
            q: q.get("q").unwrap_or_default(),
            sort: q.get("sort").unwrap_or_default(),
            dir: q.get("dir").unwrap_or_default(),
            page: q
                .get("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .clamp(1, MAX_PAGE_NUMBER),
        }
    })
}

#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="mb-6 flex flex-wrap items-end justify-between gap-4">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight text-slate-900">{title}</h1>
                {subtitle.filter(|s| !s.is_empty()).map(|s| view! { <p class="mt-1 text-sm text-slate-500">{s}</p> })}
            </div>
            <div class="flex items-center gap-2">{children.map(|c| c())}</div>
        </div>
    }
}

/// A column header that sorts the table on the server.
#[component]
pub fn SortHeader(
    #[prop(into)] label: String,
    key: &'static str,
    base: &'static str,
    params: Memo<ListParams>,
) -> impl IntoView {
    let href = move || {
        let p = params.get();
        let active = p.sort == key || (p.sort.is_empty() && key == "name");
        let dir = if active && p.dir != "desc" {
            "desc"
        } else {
            "asc"
        };
        p.href(base, key, dir, 1)
    };
    let arrow = move || {
        let p = params.get();
        let active = p.sort == key || (p.sort.is_empty() && key == "name");
        active.then(|| {
            let name = if p.dir == "desc" {
                IconName::ChevronDown
            } else {
                IconName::ChevronUp
            };
            view! { <Icon name=name class="ml-1 inline h-3 w-3 align-[-1px]"/> }
        })
    };
    view! {
        <th class="px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
            <a href=href class="hover:text-slate-900" data-sort=key>{label}{arrow}</a>
        </th>
    }
}

#[component]
pub fn Th(#[prop(into)] label: String) -> impl IntoView {
    view! { <th class="px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">{label}</th> }
}

/// The filter box above a table (a GET form, so it works before hydration too).
#[component]
pub fn FilterBox(base: &'static str, params: Memo<ListParams>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <Form method="GET" action=base>
            <div class="flex items-center gap-2">
                <input type="search" name="q" aria-label=t(lang, "filter")
                    value=move || params.get().q
                    placeholder=t(lang, "filter.placeholder")
                    class="w-64 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500"/>
                {move || {
                    let tab = params.get().tab;
                    (!tab.is_empty()).then(|| view! { <input type="hidden" name="tab" value=tab/> })
                }}
                <input type="hidden" name="sort" value=move || params.get().sort/>
                <input type="hidden" name="dir" value=move || params.get().dir/>
                <button type="submit" class=BTN_SECONDARY>{t(lang, "filter")}</button>
            </div>
        </Form>
    }
}

/// Views of one table (`?tab=`), as links that keep the filter and sort;
/// the first tab is the default.
#[component]
pub fn ListTabs(
    base: &'static str,
    params: Memo<ListParams>,
    tabs: Vec<(&'static str, &'static str)>,
    #[prop(into)] label: String,
) -> impl IntoView {
    let links = tabs
        .into_iter()
        .enumerate()
        .map(|(i, (key, text))| {
            let active = move || {
                let p = params.get();
                p.tab == key || (i == 0 && p.tab.is_empty())
            };
            let href = move || {
                let p = params.get();
                let tab = if i == 0 { String::new() } else { key.to_string() };
                ListParams { tab, ..p.clone() }.href(base, &p.sort, &p.dir, 1)
            };
            view! {
                <a href=href data-tab=key
                    aria-current=move || active().then_some("page")
                    class=move || if active() {
                        "border-b-2 border-sky-600 px-3 py-2 text-sm font-medium text-sky-800"
                    } else {
                        "border-b-2 border-transparent px-3 py-2 text-sm text-slate-500 hover:border-slate-300 hover:text-slate-800"
                    }>{text}</a>
            }
        })
        .collect_view();
    view! { <nav class="mb-4 flex flex-wrap gap-1 border-b border-slate-200" aria-label=label>{links}</nav> }
}

/// A server-paged list in its card: "…" while loading, the error, the empty
/// state (or "no match" while a filter is set), else the table (`head`, the
/// header cells, over one `row` per item) and the pager. Every list panel
/// is one of these.
#[component]
pub fn PagedTable<T, H, R>(
    data: Resource<Result<PageOf<T>, AppError>>,
    base: &'static str,
    params: Memo<ListParams>,
    #[prop(into)] empty_title: String,
    #[prop(into)] empty_hint: String,
    head: H,
    row: R,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + for<'de> Deserialize<'de> + 'static,
    H: Fn() -> AnyView + Clone + Send + Sync + 'static,
    R: Fn(T) -> AnyView + Clone + Send + Sync + 'static,
{
    let lang = use_lang();
    view! {
        <div class=CARD>
            <Transition fallback=loading_row>
                {move || {
                    let (head, row) = (head.clone(), row.clone());
                    let (empty_title, empty_hint) = (empty_title.clone(), empty_hint.clone());
                    Suspend::new(async move {
                        match data.await {
                            Err(e) => {
                                view! { <div class="p-4"><ErrorBox error=Signal::derive(move || Some(e.clone()))/></div> }.into_any()
                            }
                            Ok(page) if page.items.is_empty() => {
                                let (title, hint) = if params.get_untracked().q.is_empty() {
                                    (empty_title, empty_hint)
                                } else {
                                    (t(lang, "no_match").to_string(), t(lang, "no_match.hint").to_string())
                                };
                                view! { <EmptyState title=title hint=hint/> }.into_any()
                            }
                            Ok(page) => {
                                let shown = page.items.len();
                                let rows = page.items.into_iter().map(row).collect_view();
                                view! {
                                    <div class="overflow-x-auto">
                                        <table class="min-w-full divide-y divide-slate-200">
                                            <thead class="bg-slate-50"><tr>{head()}</tr></thead>
                                            <tbody class="divide-y divide-slate-100">{rows}</tbody>
                                        </table>
                                    </div>
                                    <Pager base=base params=params total=page.total shown=shown/>
                                }.into_any()
                            }
                        }
                    })
                }}
            </Transition>
        </div>
    }
}

/// "1–50 of 10,000" with previous / next.
#[component]
pub fn Pager(
    base: &'static str,
    params: Memo<ListParams>,
    total: i64,
    shown: usize,
) -> impl IntoView {
    let lang = use_lang();
    let p = params.get_untracked();
    let first = if total == 0 {
        0
    } else {
        (p.page - 1) * PAGE_SIZE + 1
    };
    let last = (p.page - 1) * PAGE_SIZE + shown as i64;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let prev = (p.page > 1).then(|| p.href(base, &p.sort, &p.dir, p.page - 1));
    let next = (p.page < pages).then(|| p.href(base, &p.sort, &p.dir, p.page + 1));
    view! {
        <div class="flex items-center justify-between border-t border-slate-200 px-4 py-3 text-sm text-slate-600">
            <span data-testid="pager-summary">
                {format!(
                    "{}–{} {} {}",
                    number(lang, first),
                    number(lang, last),
                    t(lang, "pager.of"),
                    number(lang, total)
                )}
                {format!(" · {} {} / {}", t(lang, "pager.page"), number(lang, p.page), number(lang, pages))}
            </span>
            <div class="flex gap-2">
                {match prev {
                    Some(h) => view! { <a href=h class=BTN_SECONDARY>{t(lang, "pager.prev")}</a> }.into_any(),
                    None => view! { <span class=BTN_DISABLED>{t(lang, "pager.prev")}</span> }.into_any(),
                }}
                {match next {
                    Some(h) => view! { <a href=h class=BTN_SECONDARY>{t(lang, "pager.next")}</a> }.into_any(),
                    None => view! { <span class=BTN_DISABLED>{t(lang, "pager.next")}</span> }.into_any(),
                }}
            </div>
        </div>
    }
}

pub const BTN_PRIMARY: &str = "inline-flex items-center rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-700 disabled:opacity-50";
pub const BTN_SECONDARY: &str = "inline-flex items-center rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50";
pub const BTN_DANGER: &str = "inline-flex items-center rounded-md bg-rose-600 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-rose-700 disabled:opacity-50";
pub const BTN_DISABLED: &str = "inline-flex items-center rounded-md border border-slate-200 bg-slate-50 px-3 py-1.5 text-sm text-slate-400";
pub const BTN_LINK: &str = "text-sm font-medium text-sky-700 hover:text-sky-900";
pub const BTN_LINK_DANGER: &str = "text-sm font-medium text-rose-600 hover:text-rose-800";
pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500";
pub const LABEL: &str = "block text-sm font-medium text-slate-700";
pub const CARD: &str = "overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm";
pub const TD: &str = "px-4 py-3 text-sm text-slate-700";

#[component]
pub fn Badge(ok: bool, #[prop(into)] yes: String, #[prop(into)] no: String) -> impl IntoView {
    if ok {
        view! { <Pill tone=Tone::Green text=yes/> }
    } else {
        view! { <Pill tone=Tone::Grey text=no/> }
    }
}

/// The colour of a [`Pill`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Green,
    Amber,
    Red,
    Grey,
    Blue,
}

/// A small coloured label (a status).
#[component]
pub fn Pill(tone: Tone, #[prop(into)] text: String) -> impl IntoView {
    let cls = match tone {
        Tone::Green => "inline-flex items-center rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-inset ring-emerald-600/20",
        Tone::Amber => "inline-flex items-center rounded-full bg-amber-50 px-2 py-0.5 text-xs font-medium text-amber-800 ring-1 ring-inset ring-amber-600/30",
        Tone::Red => "inline-flex items-center rounded-full bg-rose-50 px-2 py-0.5 text-xs font-medium text-rose-700 ring-1 ring-inset ring-rose-600/20",
        Tone::Grey => "inline-flex items-center rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600 ring-1 ring-inset ring-slate-500/20",
        Tone::Blue => "inline-flex items-center rounded-full bg-sky-50 px-2 py-0.5 text-xs font-medium text-sky-700 ring-1 ring-inset ring-sky-600/20",
    };
    view! { <span class=cls>{text}</span> }
}

/// An error, shown inline in the page's language. An ended session sends
/// the browser to the login page instead.
#[component]
pub fn ErrorBox(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let lang = use_lang();
    Effect::new(move |_| {
        if error.with(|e| matches!(e, Some(AppError::SessionEnded))) {
            hard_redirect("/login");
        }
    });
    move || {
        error.get().map(|e| {
            view! {
                <div role="alert" class="mb-4 rounded-md border border-rose-200 bg-rose-50 px-4 py-3 text-sm text-rose-800">{e.text(lang)}</div>
            }
        })
    }
}

#[component]
pub fn Notice(#[prop(into)] text: String) -> impl IntoView {
    view! { <div role="status" class="mb-4 rounded-md border border-emerald-200 bg-emerald-50 px-4 py-3 text-sm text-emerald-800">{text}</div> }
}

#[component]
pub fn EmptyState(#[prop(into)] title: String, #[prop(into)] hint: String) -> impl IntoView {
    view! {
        <div class="px-6 py-14 text-center">
            <div class="mx-auto mb-3 flex h-10 w-10 items-center justify-center rounded-full bg-sky-50 text-sky-600"><Icon name=IconName::Cloud/></div>
            <p class="text-sm font-medium text-slate-900">{title}</p>
            <p class="mt-1 text-sm text-slate-500">{hint}</p>
        </div>
    }
}

/// A dialog over the page.
#[component]
pub fn Modal(
    #[prop(into)] title: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let lang = use_lang();
    let label = title.clone();
    // Escape closes the dialog wherever the focus is.
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || esc.remove());
    view! {
        <div class="fixed inset-0 z-40 flex items-start justify-center overflow-y-auto bg-slate-900/40 p-4 pt-24" role="dialog" aria-modal="true" aria-label=label>
            <div class="w-full max-w-lg rounded-lg bg-white shadow-xl ring-1 ring-slate-900/10">
                <div class="flex items-center justify-between border-b border-slate-200 px-5 py-3">
                    <h2 class="text-base font-semibold text-slate-900">{title}</h2>
                    <button type="button" class="text-slate-400 hover:text-slate-600" aria-label=t(lang, "close") on:click=move |_| on_close.run(())><Icon name=IconName::Close/></button>
                </div>
                <div class="px-5 py-4">{children()}</div>
            </div>
        </div>
    }
}

/// The confirm step of a destructive action.
#[component]
pub fn Confirm(
    #[prop(into)] title: String,
    #[prop(into)] message: String,
    #[prop(into)] confirm_label: String,
    on_confirm: Callback<()>,
    on_close: Callback<()>,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <Modal title=title on_close=on_close>
            <ErrorBox error=error/>
            <p class="text-sm text-slate-600">{message}</p>
            <div class="mt-5 flex justify-end gap-2">
                <button type="button" class=BTN_SECONDARY on:click=move |_| on_close.run(())>{t(lang, "cancel")}</button>
                <button type="button" class=BTN_DANGER data-testid="confirm" disabled=move || pending.get() on:click=move |_| on_confirm.run(())>{confirm_label}</button>
            </div>
        </Modal>
    }
}

/// The footer of a form dialog: cancel, and submit (disabled while pending).
#[component]
pub fn FormActions(
    #[prop(into)] submit_label: String,
    on_cancel: Callback<()>,
    #[prop(into)] pending: Signal<bool>,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="flex justify-end gap-2">
            <button type="button" class=BTN_SECONDARY on:click=move |_| on_cancel.run(())>{t(lang, "cancel")}</button>
            <button type="submit" class=BTN_PRIMARY disabled=move || pending.get()>{submit_label}</button>
        </div>
    }
}

/// The right-aligned header of a table's actions column.
#[component]
pub fn ThActions() -> impl IntoView {
    let lang = use_lang();
    view! { <th class="px-4 py-3 text-right text-xs font-semibold uppercase tracking-wide text-slate-500">{t(lang, "actions")}</th> }
}

/// A labelled input.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    name: &'static str,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional, into)] value: String,
    #[prop(optional)] required: bool,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let id = format!("f-{name}");
    view! {
        <div class="mb-4">
            <label for=id.clone() class=LABEL>{label}</label>
            <input id=id name=name type=kind.unwrap_or("text") value=value required=required class=INPUT
                autocomplete=if kind == Some("password") { "new-password" } else { "off" }/>
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{h}</p> })}
        </div>
    }
}

/// The error of a server action's last result, as a signal.
#[macro_export]
macro_rules! act_err {
    ($a:expr) => {{
        let a = $a;
        ::leptos::prelude::Signal::derive(move || {
            a.value()
                .with(|v| v.as_ref().and_then(|r| r.as_ref().err()).cloned())
        })
    }};
}

/// Whether a server action's last result was a success (tracked).
#[macro_export]
macro_rules! act_ok {
    ($a:expr) => {
        $a.value().with(|v| matches!(v, Some(Ok(_))))
    };
}

/// A table frame with its loading state.
pub fn loading_row() -> impl IntoView {
    view! { <div class="px-4 py-10 text-center text-sm text-slate-400">"…"</div> }
}

/// The Gureum mark: a cloud.
#[component]
pub fn Logo(#[prop(optional)] large: bool) -> impl IntoView {
    let (box_cls, size) = if large {
        (
            "flex h-11 w-11 items-center justify-center rounded-xl bg-sky-600 text-white shadow",
            "28",
        )
    } else {
        (
            "flex h-8 w-8 items-center justify-center rounded-lg bg-sky-600 text-white",
            "20",
        )
    };
    view! {
        <span class=box_cls aria-hidden="true">
            <svg width=size height=size viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                <path d="M17.5 19H9a7 7 0 1 1 6.71-9h1.79a4.5 4.5 0 1 1 0 9Z"/>
            </svg>
        </span>
    }
}

// ---------------------------------------------------------------- icons

/// The dashboard's icons, drawn inline as SVG (outlines from heroicons,
/// MIT): no icon font, no network, and no dependence on an emoji font,
/// which a browser may not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconName {
    Compute,
    Volumes,
    Networks,
    Cloud,
    Close,
    Back,
    ChevronDown,
    ChevronUp,
}

impl IconName {
    pub fn as_str(self) -> &'static str {
        match self {
            IconName::Compute => "compute",
            IconName::Volumes => "volumes",
            IconName::Networks => "networks",
            IconName::Cloud => "cloud",
            IconName::Close => "close",
            IconName::Back => "back",
            IconName::ChevronDown => "chevron-down",
            IconName::ChevronUp => "chevron-up",
        }
    }

    /// The outline's path data on a 24×24 grid.
    fn path(self) -> &'static str {
        match self {
            IconName::Compute => "M9 17.25v1.007a3 3 0 0 1-.879 2.122L7.5 21h9l-.621-.621A3 3 0 0 1 15 18.257V17.25m6-12V15a2.25 2.25 0 0 1-2.25 2.25H5.25A2.25 2.25 0 0 1 3 15V5.25m18 0A2.25 2.25 0 0 0 18.75 3H5.25A2.25 2.25 0 0 0 3 5.25m18 0V12a2.25 2.25 0 0 1-2.25 2.25H5.25A2.25 2.25 0 0 1 3 12V5.25",
            IconName::Volumes => "M20.25 6.375c0 2.278-3.694 4.125-8.25 4.125S3.75 8.653 3.75 6.375m16.5 0c0-2.278-3.694-4.125-8.25-4.125S3.75 4.097 3.75 6.375m16.5 0v11.25c0 2.278-3.694 4.125-8.25 4.125s-8.25-1.847-8.25-4.125V6.375m16.5 0v3.75m-16.5-3.75v3.75m16.5 0v3.75C20.25 16.153 16.556 18 12 18s-8.25-1.847-8.25-4.125v-3.75m16.5 0c0 2.278-3.694 4.125-8.25 4.125s-8.25-1.847-8.25-4.125",
            IconName::Networks => "M12 21a9.004 9.004 0 0 0 8.716-6.747M12 21a9.004 9.004 0 0 1-8.716-6.747M12 21c2.485 0 4.5-4.03 4.5-9S14.485 3 12 3m0 18c-2.485 0-4.5-4.03-4.5-9S9.515 3 12 3m0 0a8.997 8.997 0 0 1 7.843 4.582M12 3a8.997 8.997 0 0 0-7.843 4.582m15.686 0A11.953 11.953 0 0 1 12 10.5c-2.998 0-5.74-1.1-7.843-2.918m15.686 0A8.959 8.959 0 0 1 21 12c0 .778-.099 1.533-.284 2.253m0 0A17.919 17.919 0 0 1 12 16.5c-3.162 0-6.133-.815-8.716-2.247m0 0A9.015 9.015 0 0 1 3 12c0-1.605.42-3.113 1.157-4.418",
            IconName::Cloud => "M2.25 15a4.5 4.5 0 0 0 4.5 4.5H18a3.75 3.75 0 0 0 1.332-7.257 3 3 0 0 0-3.758-3.848 5.25 5.25 0 0 0-10.233 2.33A4.502 4.502 0 0 0 2.25 15Z",
            IconName::Close => "M6 18 18 6M6 6l12 12",
            IconName::Back => "M10.5 19.5 3 12m0 0 7.5-7.5M3 12h18",
            IconName::ChevronDown => "m19.5 8.25-7.5 7.5-7.5-7.5",
            IconName::ChevronUp => "m4.5 15.75 7.5-7.5 7.5 7.5",
        }
    }
}

/// An inline SVG icon in the current text colour; `class` sizes it
/// (`h-5 w-5` by default). Decorative: the text beside it carries the
/// meaning, so it is hidden from assistive technology. The markup is set as
/// the wrapper's inner HTML, which hydration leaves alone (walking SVG
/// children during hydration failed).
#[component]
pub fn Icon(name: IconName, #[prop(optional)] class: Option<&'static str>) -> impl IntoView {
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" fill="none" viewBox="0 0 24 24" stroke-width="1.5" stroke="currentColor" aria-hidden="true" focusable="false" class="{}"><path stroke-linecap="round" stroke-linejoin="round" d="{}"/></svg>"#,
        class.unwrap_or("h-5 w-5"),
        name.path()
    );
    view! { <span class="inline-flex align-middle" data-icon=name.as_str() inner_html=svg></span> }
}

/// A "← back" link to a list page.
#[component]
pub fn BackLink(href: &'static str, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <a href=href class=format!("{BTN_LINK} inline-flex items-center gap-1")>
            <Icon name=IconName::Back class="h-4 w-4"/>{label}
        </a>
    }
}
