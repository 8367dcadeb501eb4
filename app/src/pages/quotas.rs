//! Quota management: Admin › System › Defaults (the limits of every project
//! without its own, Nova's quota class `default`) and each project's Quotas
//! form (Identity › Projects › Quotas), and the shared pieces the Project
//! Overview's limit summary uses.
//!
//! Both views are lists of sections, one per service that keeps quotas
//! (compute, images; networks and volumes add theirs the same way): a
//! section is its service's resources, read from that service's engine.
//! Saving sends the whole form in one engine call, so a refused value
//! leaves every limit as it was.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::auth::Me;
use crate::components::*;
use crate::error::AppError;
use crate::i18n::{lookup, number, t, use_lang, Lang};
use crate::pages::images::human_size;
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

pub const MIB: i64 = 1024 * 1024;

/// How a resource is counted and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    Count,
    /// Stored in MiB (RAM).
    Mib,
    /// Stored in bytes, entered in MiB (image storage, as Glance counts it).
    Bytes,
}

/// What "in use" means for a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Usage {
    /// Counted for the project.
    Project,
    /// Counted per user against the project's limit (key pairs).
    PerUser,
    /// A limit on each instance, never in use (metadata items).
    PerInstance,
}

/// One service's part of a quota view: `service` is `compute` or `image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section<R> {
    pub service: String,
    pub rows: Vec<R>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRow {
    pub resource: String,
    pub unit: Unit,
    /// What applies (-1 unlimited).
    pub limit: i64,
    /// The service's configured default.
    pub configured: i64,
    /// An admin changed it (else the configuration gives it).
    pub overridden: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaRow {
    pub resource: String,
    pub unit: Unit,
    pub usage: Usage,
    pub limit: i64,
    /// The project has no limit of its own: the default applies.
    pub is_default: bool,
    /// The default it would go back to.
    pub default_limit: i64,
    pub in_use: i64,
    pub reserved: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectQuotaView {
    pub project_id: String,
    pub project_name: String,
    pub sections: Vec<Section<QuotaRow>>,
}

/// One field of a saved form: `value` as typed (empty or -1 is
/// unlimited); `reset` goes back to the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaEdit {
    pub resource: String,
    pub value: String,
    pub reset: bool,
}

pub fn unit_of(resource: &str) -> Unit {
    match resource {
        "ram" => Unit::Mib,
        "image_size_total" => Unit::Bytes,
        _ => Unit::Count,
    }
}

/// A resource's name in `lang` (the keys over-quota errors use too).
pub fn resource_label(lang: Lang, resource: &str) -> String {
    lookup(lang, &format!("quota.name.{resource}"))
        .map(str::to_string)
        .unwrap_or_else(|| resource.to_string())
}

/// A form field's label: image storage is entered in MiB.
fn field_label(lang: Lang, resource: &str, unit: Unit) -> String {
    match unit {
        Unit::Bytes => t(lang, "quota.form.image_size_total").to_string(),
        _ => resource_label(lang, resource),
    }
}

/// An amount written for reading: counts grouped, sizes in binary units.
pub fn amount(lang: Lang, unit: Unit, n: i64) -> String {
    match unit {
        Unit::Count => number(lang, n),
        Unit::Mib => human_size(n.saturating_mul(MIB)),
        Unit::Bytes => human_size(n),
    }
}

/// A limit written for reading (-1: unlimited).
pub fn limit_text(lang: Lang, unit: Unit, n: i64) -> String {
    if n < 0 {
        t(lang, "quota.unlimited").to_string()
    } else {
        amount(lang, unit, n)
    }
}

/// A limit as a form field shows it: empty for unlimited, MiB for bytes.
fn field_value(unit: Unit, n: i64) -> String {
    match (n < 0, unit) {
        (true, _) => String::new(),
        (false, Unit::Bytes) if n % MIB == 0 => (n / MIB).to_string(),
        (false, Unit::Bytes) => format!("{:.2}", n as f64 / MIB as f64),
        (false, _) => n.to_string(),
    }
}

/// What a field says, as the engine counts it: empty is unlimited (-1);
/// a negative number goes to the engine as typed, which refuses all but -1
/// with its own error. Not a number is the portal's refusal, naming the field.
#[cfg(feature = "ssr")]
fn parse_field(resource: &str, unit: Unit, value: &str) -> Result<i64, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(cloud::quota::UNLIMITED);
    }
    let bad = || AppError::portal("quota.err.not_number").arg("resource", resource);
    if let Ok(n) = v.parse::<i64>() {
        if n < 0 || unit != Unit::Bytes {
            return Ok(n);
        }
        return n
            .checked_mul(MIB)
            .ok_or_else(|| AppError::portal("quota.err.too_large").arg("resource", resource));
    }
    // Image storage may be a fraction of a MiB.
    match v.parse::<f64>() {
        Ok(f) if unit == Unit::Bytes && f.is_finite() && f >= 0.0 => {
            let bytes = (f * MIB as f64).round();
            if bytes > i64::MAX as f64 {
                Err(AppError::portal("quota.err.too_large").arg("resource", resource))
            } else {
                Ok(bytes as i64)
            }
        }
        _ => Err(bad()),
    }
}

/// The edits as the engine takes them (`None`: back to the default).
#[cfg(feature = "ssr")]
fn engine_items(
    edits: &[QuotaEdit],
) -> Result<Vec<(cloud::quota::Resource, Option<i64>)>, AppError> {
    edits
        .iter()
        .map(|e| {
            let resource = cloud::quota::Resource::parse(&e.resource).ok_or_else(|| {
                AppError::portal("quota.err.unknown").arg("resource", &e.resource)
            })?;
            if e.reset {
                return Ok((resource, None));
            }
            Ok((
                resource,
                Some(parse_field(&e.resource, unit_of(&e.resource), &e.value)?),
            ))
        })
        .collect()
}

/// The field an error is about (its `resource` argument), if any.
fn error_resource(e: &AppError) -> Option<String> {
    match e {
        AppError::Service { args, .. } | AppError::Portal { args, .. } => args
            .iter()
            .find(|(n, _)| n == "resource")
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

// ------------------------------------------------------- server functions

#[cfg(feature = "ssr")]
fn default_rows(d: Vec<cloud::quota::DefaultLimit>) -> Vec<DefaultRow> {
    d.into_iter()
        .map(|d| DefaultRow {
            resource: d.resource.name().to_string(),
            unit: unit_of(d.resource.name()),
            limit: d.limit,
            configured: d.configured,
            overridden: d.overridden,
        })
        .collect()
}

/// The default limits, one section per service (admins).
#[server(endpoint = "quota_defaults")]
pub async fn quota_defaults() -> Result<Vec<Section<DefaultRow>>, AppError> {
    let image = server::image()?;
    let (a, compute) = server::auth_compute().await?;
    let c = compute.quota().default_limits(&a.ctx).await?;
    let i = image.quota().default_limits(&a.ctx).await?;
    Ok(vec![
        Section {
            service: "compute".into(),
            rows: default_rows(c),
        },
        Section {
            service: "image".into(),
            rows: default_rows(i),
        },
    ])
}

/// Update Defaults: every field in one transaction (admins).
#[server(endpoint = "update_quota_defaults", input = leptos::server_fn::codec::Json)]
pub async fn update_quota_defaults(edits: Vec<QuotaEdit>) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let items = engine_items(&edits)?;
    // The defaults table is shared: one engine writes every service's rows.
    compute.quota().set_default_limits(&a.ctx, &items).await?;
    Ok(())
}

#[cfg(feature = "ssr")]
async fn quota_rows(
    q: &cloud::quota::QuotaService,
    ctx: &cloud::RequestContext,
    project_id: &str,
) -> Result<Vec<QuotaRow>, AppError> {
    use cloud::quota::Resource;
    let usage = q.usage(ctx, project_id).await?;
    let limits = q.get_limits(ctx, project_id).await?;
    let defaults = q.defaults(ctx).await?;
    Ok(usage
        .into_iter()
        .map(|u| {
            let is_default = limits
                .iter()
                .find(|l| l.resource == u.resource)
                .is_none_or(|l| l.is_default);
            let default_limit = defaults
                .iter()
                .find(|d| d.resource == u.resource)
                .map_or(cloud::quota::UNLIMITED, |d| d.limit);
            let usage = match u.resource {
                Resource::KEY_PAIRS => Usage::PerUser,
                Resource::METADATA_ITEMS => Usage::PerInstance,
                _ => Usage::Project,
            };
            QuotaRow {
                resource: u.resource.name().to_string(),
                unit: unit_of(u.resource.name()),
                usage,
                limit: u.limit,
                is_default,
                default_limit,
                in_use: u.in_use,
                reserved: u.reserved,
            }
        })
        .collect())
}

/// A project's limits beside its usage, one section per service.
#[server(endpoint = "project_quotas")]
pub async fn project_quotas(project_id: String) -> Result<ProjectQuotaView, AppError> {
    let image = server::image()?;
    let (a, compute) = server::auth_compute().await?;
    let project = a.identity.get_project(&a.ctx, &project_id).await?;
    let c = quota_rows(compute.quota(), &a.ctx, &project.id).await?;
    let i = quota_rows(image.quota(), &a.ctx, &project.id).await?;
    Ok(ProjectQuotaView {
        project_id: project.id,
        project_name: project.name,
        sections: vec![
            Section {
                service: "compute".into(),
                rows: c,
            },
            Section {
                service: "image".into(),
                rows: i,
            },
        ],
    })
}

/// Saves a project's quota form in one transaction (admins).
#[server(endpoint = "save_project_quotas", input = leptos::server_fn::codec::Json)]
pub async fn save_project_quotas(
    project_id: String,
    edits: Vec<QuotaEdit>,
) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    let project = a.identity.get_project(&a.ctx, &project_id).await?;
    let items = engine_items(&edits)?;
    // Limits of every service live in one table: one call, all or nothing.
    compute
        .quota()
        .set_limits(&a.ctx, &project.id, &items)
        .await?;
    Ok(())
}

// ------------------------------------------------------------------ views

fn section_title(lang: Lang, service: &str) -> &'static str {
    match service {
        "compute" => t(lang, "quota.section.compute"),
        "image" => t(lang, "quota.section.image"),
        "network" => t(lang, "quota.section.network"),
        "volume" => t(lang, "quota.section.volume"),
        _ => t(lang, "quota.section.other"),
    }
}

/// A field being edited: what is typed and whether it goes back to the default.
#[derive(Clone, Copy)]
struct FieldState {
    resource: StoredValue<String>,
    value: RwSignal<String>,
    reset: RwSignal<bool>,
    /// The field's value once back at the default.
    default_value: StoredValue<String>,
}

impl FieldState {
    fn new(resource: &str, value: String, reset: bool, default_value: String) -> FieldState {
        FieldState {
            resource: StoredValue::new(resource.to_string()),
            value: RwSignal::new(value),
            reset: RwSignal::new(reset),
            default_value: StoredValue::new(default_value),
        }
    }

    fn reset_to_default(&self) {
        self.value.set(self.default_value.get_value());
        self.reset.set(true);
    }

    fn edit(&self) -> QuotaEdit {
        QuotaEdit {
            resource: self.resource.get_value(),
            value: self.value.get_untracked(),
            reset: self.reset.get_untracked(),
        }
    }
}

/// The inline error of one field (the action's error naming it).
fn field_error(
    err: Signal<Option<AppError>>,
    resource: String,
) -> impl Fn() -> Option<String> + Send + Sync + 'static {
    let lang = use_lang();
    move || {
        err.get()
            .filter(|e| error_resource(e).as_deref() == Some(resource.as_str()))
            .map(|e| e.text(lang))
    }
}

/// The action's error when it names no field (shown above the form).
fn form_error(err: Signal<Option<AppError>>) -> Signal<Option<AppError>> {
    Signal::derive(move || err.get().filter(|e| error_resource(e).is_none()))
}

#[component]
pub fn DefaultsPage() -> impl IntoView {
    let lang = use_lang();
    let update = ServerAction::<UpdateQuotaDefaults>::new();
    let saved = RwSignal::new(0u32);
    let data = Resource::new(move || saved.get(), |_| quota_defaults());
    let editing = RwSignal::new(false);
    Effect::new(move |_| {
        if act_ok!(update) {
            editing.set(false);
            saved.update(|n| *n += 1);
        }
    });
    view! {
        <Title text=format!("{} · Gureum", t(lang, "nav.defaults"))/>
        <PageHeader title=t(lang, "nav.defaults") subtitle=t(lang, "quota.defaults.subtitle")>
            <button type="button" class=BTN_PRIMARY data-testid="update-defaults"
                on:click=move |_| { update.clear(); editing.set(true) }>{t(lang, "quota.defaults.update")}</button>
        </PageHeader>
        {move || (act_ok!(update) && !editing.get()).then(|| view! { <Notice text=t(lang, "quota.defaults.saved")/> })}
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(sections) => {
                        let table = sections.clone();
                        view! {
                            <div class="space-y-6">
                                {table.into_iter().map(|s| view! { <DefaultsTable section=s/> }).collect_view()}
                            </div>
                            <Show when=move || editing.get()>
                                <DefaultsDialog sections=sections.clone() update=update
                                    on_close=Callback::new(move |_| editing.set(false))/>
                            </Show>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn DefaultsTable(section: Section<DefaultRow>) -> impl IntoView {
    let lang = use_lang();
    let rows = section
        .rows
        .into_iter()
        .map(|r| {
            view! {
                <tr data-quota=r.resource.clone()>
                    <td class=format!("{TD} font-medium text-slate-900")>{resource_label(lang, &r.resource)}</td>
                    <td class=TD data-testid="limit">{limit_text(lang, r.unit, r.limit)}</td>
                    <td class=TD>
                        {if r.overridden {
                            view! { <Pill tone=Tone::Blue text=t(lang, "quota.overridden")/> }.into_any()
                        } else {
                            view! { <Pill tone=Tone::Grey text=t(lang, "quota.from_config")/> }.into_any()
                        }}
                    </td>
                    <td class=format!("{TD} text-slate-500")>{limit_text(lang, r.unit, r.configured)}</td>
                </tr>
            }
            .into_any()
        })
        .collect_view();
    view! {
        <section class=CARD data-section=section.service.clone()>
            <h2 class="border-b border-slate-200 bg-slate-50 px-4 py-2 text-sm font-semibold text-slate-700">{section_title(lang, &section.service)}</h2>
            <table class="min-w-full divide-y divide-slate-200">
                <thead><tr>
                    <Th label=t(lang, "quota.col.quota")/>
                    <Th label=t(lang, "quota.col.limit")/>
                    <Th label=t(lang, "quota.col.source")/>
                    <Th label=t(lang, "quota.col.configured")/>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}

/// Update Defaults: a field per resource, grouped by service; a field may
/// go back to the configured value.
#[component]
fn DefaultsDialog(
    sections: Vec<Section<DefaultRow>>,
    update: ServerAction<UpdateQuotaDefaults>,
    on_close: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let err = act_err!(update);
    let mut fields: Vec<FieldState> = Vec::new();
    let groups = sections
        .into_iter()
        .map(|s| {
            let rows = s
                .rows
                .into_iter()
                .map(|r| {
                    let f = FieldState::new(&r.resource, field_value(r.unit, r.limit), false, field_value(r.unit, r.configured));
                    fields.push(f);
                    let id = format!("d-{}", r.resource);
                    let configured = limit_text(lang, r.unit, r.configured);
                    let field_err = field_error(err, r.resource.clone());
                    let has_err = field_error(err, r.resource.clone());
                    view! {
                        <div class="mb-3" data-field=r.resource.clone()>
                            <label for=id.clone() class=LABEL>{field_label(lang, &r.resource, r.unit)}</label>
                            <div class="flex items-center gap-3">
                                <input id=id name=r.resource.clone() class=move || if has_err().is_some() { format!("{INPUT} border-rose-500") } else { INPUT.to_string() }
                                    inputmode="numeric" autocomplete="off" placeholder=t(lang, "quota.unlimited")
                                    prop:value=move || f.value.get()
                                    on:input=move |ev| { f.value.set(event_target_value(&ev)); f.reset.set(false) }/>
                                <button type="button" class=format!("{BTN_LINK} whitespace-nowrap") data-testid="use-configured"
                                    on:click=move |_| f.reset_to_default()>
                                    {format!("{} ({})", t(lang, "quota.use_configured"), configured)}
                                </button>
                            </div>
                            {move || field_err().map(|m| view! { <p role="alert" class="mt-1 text-xs text-rose-700">{m}</p> })}
                        </div>
                    }
                    .into_any()
                })
                .collect_view();
            view! {
                <fieldset class="mb-4">
                    <legend class="mb-2 text-sm font-semibold text-slate-800">{section_title(lang, &s.service)}</legend>
                    {rows}
                </fieldset>
            }
            .into_any()
        })
        .collect_view();
    let fields = StoredValue::new(fields);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let edits = fields.with_value(|fs| fs.iter().map(FieldState::edit).collect());
        update.dispatch(UpdateQuotaDefaults { edits });
    };
    view! {
        <Modal title=t(lang, "quota.defaults.update") on_close=on_close>
            <ErrorBox error=form_error(err)/>
            <p class="mb-4 text-sm text-slate-500">{t(lang, "quota.unlimited_hint")}</p>
            <form on:submit=on_submit>
                {groups}
                <FormActions submit_label=t(lang, "save") pending=update.pending() on_cancel=on_close/>
            </form>
        </Modal>
    }
    .into_any()
}

#[component]
pub fn ProjectQuotasPage() -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let save = ServerAction::<SaveProjectQuotas>::new();
    let saved = RwSignal::new(0u32);
    let data = Resource::new(
        move || (id.get(), saved.get()),
        |(id, _)| project_quotas(id),
    );
    Effect::new(move |_| {
        if act_ok!(save) {
            saved.update(|n| *n += 1);
        }
    });
    let can_edit = use_context::<Me>().is_some_and(|m| m.is_admin);
    view! {
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! {
                        <Title text=format!("{} · Gureum", t(lang, "nav.quotas"))/>
                        <div class="mb-2"><BackLink href="/identity/projects" label=t(lang, "projects.title")/></div>
                        <ErrorBox error=Signal::derive(move || Some(e.clone()))/>
                    }.into_any(),
                    Ok(q) => view! {
                        <Title text=format!("{} {} · Gureum", t(lang, "nav.quotas"), q.project_name)/>
                        <div class="mb-2"><BackLink href="/identity/projects" label=t(lang, "projects.title")/></div>
                        <PageHeader title=format!("{} · {}", t(lang, "nav.quotas"), q.project_name) subtitle=t(lang, "quota.project.subtitle")/>
                        <QuotaForm q=q save=save can_edit=can_edit/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn QuotaForm(
    q: ProjectQuotaView,
    save: ServerAction<SaveProjectQuotas>,
    can_edit: bool,
) -> impl IntoView {
    let lang = use_lang();
    let err = act_err!(save);
    let mut fields: Vec<FieldState> = Vec::new();
    let sections = q
        .sections
        .into_iter()
        .map(|s| {
            let rows = s
                .rows
                .into_iter()
                .map(|r| {
                    let f = FieldState::new(&r.resource, field_value(r.unit, r.limit), r.is_default, field_value(r.unit, r.default_limit));
                    fields.push(f);
                    let id = format!("q-{}", r.resource);
                    let default_text = limit_text(lang, r.unit, r.default_limit);
                    let field_err = field_error(err, r.resource.clone());
                    let has_err = field_error(err, r.resource.clone());
                    let (in_use, reserved) = match r.usage {
                        Usage::Project => (amount(lang, r.unit, r.in_use), amount(lang, r.unit, r.reserved)),
                        Usage::PerUser => (t(lang, "quota.per_user").to_string(), String::new()),
                        Usage::PerInstance => (t(lang, "quota.per_instance").to_string(), String::new()),
                    };
                    view! {
                        <tr data-quota=r.resource.clone() class="align-top">
                            <td class=format!("{TD} font-medium text-slate-900")>
                                <label for=id.clone()>{field_label(lang, &r.resource, r.unit)}</label>
                            </td>
                            <td class=TD>
                                <input id=id name=r.resource.clone() disabled=!can_edit
                                    class=move || if has_err().is_some() { format!("{INPUT} mt-0 w-40 border-rose-500") } else { format!("{INPUT} mt-0 w-40") }
                                    inputmode="numeric" autocomplete="off" placeholder=t(lang, "quota.unlimited")
                                    prop:value=move || f.value.get()
                                    on:input=move |ev| { f.value.set(event_target_value(&ev)); f.reset.set(false) }/>
                                {move || field_err().map(|m| view! { <p role="alert" class="mt-1 max-w-xs text-xs text-rose-700">{m}</p> })}
                            </td>
                            <td class=TD data-testid="in-use">{in_use}</td>
                            <td class=TD data-testid="reserved">{reserved}</td>
                            <td class=format!("{TD} whitespace-nowrap")>
                                {move || if f.reset.get() {
                                    view! { <span data-testid="marker"><Pill tone=Tone::Grey text=t(lang, "quota.default_marker")/></span> }.into_any()
                                } else {
                                    view! { <span data-testid="marker"><Pill tone=Tone::Blue text=t(lang, "quota.own_marker")/></span> }.into_any()
                                }}
                                {can_edit.then(|| view! {
                                    <button type="button" class=format!("{BTN_LINK} ml-3") data-testid="reset"
                                        title=format!("{} ({})", t(lang, "quota.default_marker"), default_text)
                                        on:click=move |_| f.reset_to_default()>{t(lang, "quota.reset")}</button>
                                })}
                            </td>
                        </tr>
                    }
                    .into_any()
                })
                .collect_view();
            view! {
                <section class=format!("{CARD} mb-6") data-section=s.service.clone()>
                    <h2 class="border-b border-slate-200 bg-slate-50 px-4 py-2 text-sm font-semibold text-slate-700">{section_title(lang, &s.service)}</h2>
                    <table class="min-w-full divide-y divide-slate-200">
                        <thead><tr>
                            <Th label=t(lang, "quota.col.quota")/>
                            <Th label=t(lang, "quota.col.limit")/>
                            <Th label=t(lang, "quota.col.in_use")/>
                            <Th label=t(lang, "quota.col.reserved")/>
                            <Th label=t(lang, "quota.col.source")/>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                    </table>
                </section>
            }
            .into_any()
        })
        .collect_view();
    let fields = StoredValue::new(fields);
    let project_id = q.project_id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let edits = fields.with_value(|fs| fs.iter().map(FieldState::edit).collect());
        save.dispatch(SaveProjectQuotas {
            project_id: project_id.clone(),
            edits,
        });
    };
    let reset_all =
        move |_| fields.with_value(|fs| fs.iter().for_each(FieldState::reset_to_default));
    view! {
        <ErrorBox error=form_error(err)/>
        {move || act_ok!(save).then(|| view! { <Notice text=t(lang, "quota.project.saved")/> })}
        <p class="mb-4 text-sm text-slate-500">{t(lang, "quota.unlimited_hint")}</p>
        <form on:submit=on_submit>
            {sections}
            {can_edit.then(|| view! {
                <div class="flex justify-end gap-2">
                    <button type="button" class=BTN_SECONDARY data-testid="reset-all" on:click=reset_all>{t(lang, "quota.reset_all")}</button>
                    <button type="submit" class=BTN_PRIMARY disabled=move || save.pending().get()>{t(lang, "save")}</button>
                </div>
            })}
        </form>
    }
    .into_any()
}
