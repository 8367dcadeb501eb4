//! Overview pages: Project (the limit summary; volumes and networks still
//! to come) and Admin (a placeholder), and `/`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use serde::{Deserialize, Serialize};

use crate::components::{loading_row, ErrorBox, Icon, IconName, PageHeader, CARD};
use crate::error::AppError;
use crate::i18n::{t, use_lang};
use crate::pages::quotas::{amount, resource_label, Unit};

#[component]
pub fn Home() -> impl IntoView {
    view! { <Redirect path="/project"/> }
}

/// One chart of the limit summary: what the project uses of a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gauge {
    pub resource: String,
    pub unit: Unit,
    /// In use and reserved.
    pub used: i64,
    /// -1: unlimited.
    pub limit: i64,
}

/// The Project Overview's limit summary (Horizon's "Limit Summary"): the
/// caller's own project, which its readers may see (`quota:get_usage`).
/// `None` when the token has no project.
#[server(endpoint = "limit_summary")]
pub async fn limit_summary() -> Result<Option<Vec<Gauge>>, AppError> {
    use cloud::quota::Resource;
    let image = crate::server::image()?;
    let (a, compute) = crate::server::auth_compute().await?;
    let Some(project) = a.ctx.project_id().map(str::to_string) else {
        return Ok(None);
    };
    let mut usage = compute.quota().usage(&a.ctx, &project).await?;
    usage.extend(image.quota().usage(&a.ctx, &project).await?);
    // Key pairs are counted per user (Nova's way): the caller's own.
    let key_pairs = compute.count_keypairs(&a.ctx.user_id).await?;
    let order = [
        Resource::INSTANCES,
        Resource::CORES,
        Resource::RAM,
        Resource::KEY_PAIRS,
        Resource::IMAGE_COUNT_TOTAL,
        Resource::IMAGE_SIZE_TOTAL,
    ];
    Ok(Some(
        order
            .iter()
            .filter_map(|r| usage.iter().find(|u| u.resource == *r))
            .map(|u| Gauge {
                resource: u.resource.name().to_string(),
                unit: crate::pages::quotas::unit_of(u.resource.name()),
                used: if u.resource == Resource::KEY_PAIRS {
                    key_pairs
                } else {
                    u.in_use.saturating_add(u.reserved)
                },
                limit: u.limit,
            })
            .collect(),
    ))
}

#[component]
pub fn ProjectOverview() -> impl IntoView {
    let lang = use_lang();
    let data = Resource::new(|| (), |_| limit_summary());
    view! {
        <Title text=format!("{} · Gureum", t(lang, "overview.project"))/>
        <PageHeader title=t(lang, "overview.project")/>
        <section class=format!("{CARD} mb-6 p-5") data-testid="limit-summary">
            <h2 class="mb-4 text-base font-semibold text-slate-900">{t(lang, "quota.overview.title")}</h2>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                        Ok(None) => view! { <p class="text-sm text-slate-500">{t(lang, "quota.overview.no_project")}</p> }.into_any(),
                        Ok(Some(gauges)) => view! {
                            <div class="grid grid-cols-2 gap-6 sm:grid-cols-3 lg:grid-cols-6">
                                {gauges.into_iter().map(|g| view! { <Donut g=g/> }).collect_view()}
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <div class="grid gap-4 sm:grid-cols-2">
            {[("overview.volumes", IconName::Volumes), ("overview.networks", IconName::Networks)].into_iter().map(|(k, icon)| view! {
                <div class="rounded-lg border border-dashed border-slate-300 bg-white p-6">
                    <div class="text-sky-600"><Icon name=icon class="h-7 w-7"/></div>
                    <div class="mt-2 font-medium text-slate-800">{t(lang, k)}</div>
                    <div class="mt-1 text-sm text-slate-500">{t(lang, "overview.soon")}</div>
                </div>
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// How full a limit is, as a share (None: unlimited).
fn share(used: i64, limit: i64) -> Option<f64> {
    match limit {
        l if l < 0 => None,
        0 => Some(if used > 0 { 1.0 } else { 0.0 }),
        l => Some((used as f64 / l as f64).clamp(0.0, 1.0)),
    }
}

/// The chart's colour by how full the limit is: calm below 70 %, amber
/// to 90 %, red beyond (and at the limit), grey when unlimited.
fn tone(share: Option<f64>) -> &'static str {
    match share {
        None => "text-slate-300",
        Some(s) if s >= 0.9 => "text-rose-500",
        Some(s) if s >= 0.7 => "text-amber-500",
        Some(_) => "text-emerald-500",
    }
}

/// One donut: the share used as an arc, "Used 3 of 10" under it. Drawn as
/// the wrapper's inner HTML (hydration leaves SVG markup alone that way).
#[component]
fn Donut(g: Gauge) -> impl IntoView {
    let lang = use_lang();
    let s = share(g.used, g.limit);
    // r = 15.9155 makes the circumference 100, so the dash is the percent.
    let dash = s.map_or(0.0, |s| s * 100.0);
    let svg = format!(
        r##"<svg viewBox="0 0 36 36" class="h-24 w-24 -rotate-90" aria-hidden="true" focusable="false"><circle cx="18" cy="18" r="15.9155" fill="none" stroke="#e2e8f0" stroke-width="3.5"/><circle cx="18" cy="18" r="15.9155" fill="none" stroke="currentColor" stroke-width="3.5" stroke-dasharray="{dash:.2} 100"/></svg>"##
    );
    let percent = s.map(|s| format!("{}%", (s * 100.0).round() as i64));
    let text = if g.limit < 0 {
        t(lang, "quota.used_unlimited").replace("{used}", &amount(lang, g.unit, g.used))
    } else {
        t(lang, "quota.used_of")
            .replace("{used}", &amount(lang, g.unit, g.used))
            .replace("{limit}", &amount(lang, g.unit, g.limit))
    };
    view! {
        <figure class="flex flex-col items-center text-center" data-gauge=g.resource.clone()
            data-used=g.used.to_string() data-limit=g.limit.to_string()>
            <div class="relative">
                <span class=format!("block {}", tone(s)) inner_html=svg></span>
                <span class="absolute inset-0 flex items-center justify-center text-sm font-semibold text-slate-700">
                    {percent.unwrap_or_else(|| t(lang, "quota.infinite_sign").to_string())}
                </span>
            </div>
            <figcaption class="mt-2">
                <div class="text-sm font-medium text-slate-900">{resource_label(lang, &g.resource)}</div>
                <div class="text-xs text-slate-500" data-testid="gauge-text">{text}</div>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[component]
pub fn AdminOverview() -> impl IntoView {
    let lang = use_lang();
    view! {
        <Title text=format!("{} · Gureum", t(lang, "overview.admin"))/>
        <PageHeader title=t(lang, "overview.admin")/>
        <Placeholder/>
    }
    .into_any()
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
    .into_any()
}
