//! The launch dialog: details, source image, flavor (with what it would
//! take of the project's quota), key pair, user data and count. The quota
//! shown is advisory; the compute service decides, and a refusal names the
//! quota inline.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::mib;
use crate::components::*;
use crate::error::AppError;
use crate::i18n::{number, t, use_lang};
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageChoice {
    pub id: String,
    pub name: String,
    pub min_disk: i64,
    pub min_ram: i64,
    pub size: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlavorChoice {
    pub id: String,
    pub name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
}

/// A quota's limit (-1: none) and what is taken of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headroom {
    pub limit: i64,
    pub used: i64,
}

impl Headroom {
    /// How many more fit (`None`: no limit).
    pub fn left(&self) -> Option<i64> {
        (self.limit >= 0).then(|| (self.limit - self.used).max(0))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchChoices {
    pub images: Vec<ImageChoice>,
    pub flavors: Vec<FlavorChoice>,
    pub key_pairs: Vec<String>,
    pub zones: Vec<String>,
    pub instances: Headroom,
    pub cores: Headroom,
    pub ram: Headroom,
}

/// What the dialog offers: active images the project can boot, the
/// flavors it may use, the user's key pairs, the zones, and the quota.
#[server(endpoint = "launch_options")]
pub async fn launch_options() -> Result<LaunchChoices, AppError> {
    use cloud::image::{ImageFilter, ImageSortKey, ImageStatus};
    let image = server::image()?;
    let (a, compute) = server::auth_compute().await?;
    let project = a.ctx.project_id().unwrap_or_default().to_string();
    let images = image
        .list_images(
            &a.ctx,
            &ImageFilter {
                status: Some(ImageStatus::Active),
                sort: vec![(ImageSortKey::Name, cloud::SortDir::Asc)],
                limit: Some(1000),
                admin_all: Some(false),
                ..Default::default()
            },
        )
        .await?;
    let flavors = compute
        .list_flavors(&a.ctx, &cloud::compute::FlavorFilter::default())
        .await?;
    let key_pairs = compute.list_keypairs(&a.ctx, None).await?;
    let zones = compute
        .availability_zones(&a.ctx)
        .await
        .map(|z| z.into_iter().map(|(name, _)| name).collect())
        .unwrap_or_default();
    let limits = compute.limits(&a.ctx, &project).await?;
    let mut flavors: Vec<FlavorChoice> = flavors
        .into_iter()
        .map(|f| FlavorChoice {
            id: f.id,
            name: f.name,
            vcpus: f.vcpus,
            ram_mib: f.ram_mib,
            disk_gb: f.disk_gb,
        })
        .collect();
    flavors.sort_by_key(|f| (f.vcpus, f.ram_mib, f.disk_gb));
    Ok(LaunchChoices {
        images: images
            .items
            .into_iter()
            // Kernel and ramdisk images are parts of a boot, not sources.
            .filter(|i| {
                !matches!(
                    i.disk_format,
                    Some(cloud::image::DiskFormat::Aki | cloud::image::DiskFormat::Ari)
                )
            })
            .map(|i| ImageChoice {
                name: i.name.clone().unwrap_or_else(|| i.id.clone()),
                id: i.id,
                min_disk: i.min_disk,
                min_ram: i.min_ram,
                size: i.size,
            })
            .collect(),
        flavors,
        key_pairs: key_pairs.into_iter().map(|k| k.name).collect(),
        zones,
        instances: Headroom {
            limit: limits.max_instances,
            used: limits.instances_used,
        },
        cores: Headroom {
            limit: limits.max_cores,
            used: limits.cores_used,
        },
        ram: Headroom {
            limit: limits.max_ram_mib,
            used: limits.ram_mib_used,
        },
    })
}

/// Boots `count` instances (all or none, as the quota allows) and returns
/// their ids. `user_data` is plain text; it is base64-encoded here.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "launch_instance")]
pub async fn launch_instance(
    name: String,
    description: String,
    image_id: String,
    flavor_id: String,
    key_name: String,
    user_data: String,
    zone: String,
    count: u32,
) -> Result<Vec<String>, AppError> {
    use base64::Engine;
    let (a, compute) = server::auth_compute().await?;
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(a.msg("compute.err_name", ""));
    }
    if image_id.is_empty() {
        return Err(a.msg("compute.err_image", ""));
    }
    if flavor_id.is_empty() {
        return Err(a.msg("compute.err_flavor", ""));
    }
    if !(1..=crate::components::PAGE_SIZE as u32).contains(&count) {
        return Err(a.msg("compute.err_count", ""));
    }
    let opt = |s: String| {
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    };
    let user_data = (!user_data.trim().is_empty())
        .then(|| base64::engine::general_purpose::STANDARD.encode(user_data.as_bytes()));
    let servers = compute
        .create_servers(
            &a.ctx,
            cloud::compute::NewServer {
                name,
                description: opt(description),
                image_id,
                flavor_id,
                key_name: opt(key_name),
                user_data,
                availability_zone: opt(zone),
                min_count: count,
                max_count: count,
                ..Default::default()
            },
        )
        .await?;
    Ok(servers.into_iter().map(|s| s.id).collect())
}

#[component]
pub fn LaunchDialog(on_close: Callback<()>, on_launched: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    let options = Resource::new(|| (), |_| launch_options());
    let launch = ServerAction::<LaunchInstance>::new();
    Effect::new(move |_| {
        if act_ok!(launch) {
            on_launched.run(());
            on_close.run(());
        }
    });
    view! {
        <Modal title=t(lang, "compute.launch") on_close=on_close>
            <Transition fallback=loading_row>
                {move || Suspend::new(async move {
                    match options.await {
                        Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                        Ok(o) => view! { <LaunchForm o=o launch=launch on_close=on_close/> }.into_any(),
                    }
                })}
            </Transition>
        </Modal>
    }
}

#[component]
fn LaunchForm(
    o: LaunchChoices,
    launch: ServerAction<LaunchInstance>,
    on_close: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let image = RwSignal::new(o.images.first().map(|i| i.id.clone()).unwrap_or_default());
    let flavor = RwSignal::new(o.flavors.first().map(|f| f.id.clone()).unwrap_or_default());
    let key = RwSignal::new(o.key_pairs.first().cloned().unwrap_or_default());
    let zone = RwSignal::new(String::new());
    let user_data = RwSignal::new(String::new());
    let count = RwSignal::new(1u32);
    let flavors = StoredValue::new(o.flavors.clone());
    let chosen = move || flavors.with_value(|fs| fs.iter().find(|f| f.id == flavor.get()).cloned());
    let (inst_q, cores_q, ram_q) = (o.instances, o.cores, o.ram);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        launch.dispatch(LaunchInstance {
            name: name.get_untracked(),
            description: description.get_untracked(),
            image_id: image.get_untracked(),
            flavor_id: flavor.get_untracked(),
            key_name: key.get_untracked(),
            user_data: user_data.get_untracked(),
            zone: zone.get_untracked(),
            count: count.get_untracked(),
        });
    };
    let no_images = o.images.is_empty();
    let images = o.images.clone();
    let zones = o.zones.clone();
    let keys = o.key_pairs.clone();
    view! {
        <form on:submit=submit data-testid="launch-form">
            <ErrorBox error=act_err!(launch)/>
            <h3 class="mb-2 text-sm font-semibold text-slate-900">{t(lang, "compute.l.details")}</h3>
            <div class="mb-4">
                <label for="l-name" class=LABEL>{t(lang, "compute.l.name")}</label>
                <input id="l-name" class=INPUT required=true autocomplete="off" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            </div>
            <div class="mb-4">
                <label for="l-description" class=LABEL>{t(lang, "description")}</label>
                <input id="l-description" class=INPUT autocomplete="off" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))/>
            </div>
            <div class="mb-4 grid grid-cols-2 gap-4">
                <div>
                    <label for="l-count" class=LABEL>{t(lang, "compute.l.count")}</label>
                    <input id="l-count" type="number" min="1" max="50" class=INPUT prop:value=move || count.get().to_string()
                        on:input=move |ev| count.set(event_target_value(&ev).parse().unwrap_or(1))/>
                </div>
                <div>
                    <label for="l-zone" class=LABEL>{t(lang, "compute.l.zone")}</label>
                    <select id="l-zone" class=INPUT on:change=move |ev| zone.set(event_target_value(&ev))>
                        <option value="">{t(lang, "compute.l.any_zone")}</option>
                        {zones.into_iter().map(|z| view! { <option value=z.clone()>{z.clone()}</option> }).collect_view()}
                    </select>
                </div>
            </div>

            <h3 class="mb-2 mt-5 text-sm font-semibold text-slate-900">{t(lang, "compute.l.source")}</h3>
            {if no_images {
                view! { <p class="mb-4 text-sm text-amber-700">{t(lang, "compute.l.no_images")}</p> }.into_any()
            } else {
                view! {
                    <div class="mb-4">
                        <label for="l-image" class=LABEL>{t(lang, "compute.image")}</label>
                        <select id="l-image" class=INPUT on:change=move |ev| image.set(event_target_value(&ev))>
                            {images.into_iter().map(|i| {
                                let size = i.size.map(crate::pages::images::human_size).unwrap_or_default();
                                view! { <option value=i.id.clone()>{format!("{} {}", i.name, if size.is_empty() { String::new() } else { format!("({size})") })}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                }.into_any()
            }}

            <h3 class="mb-2 mt-5 text-sm font-semibold text-slate-900">{t(lang, "compute.flavor")}</h3>
            <div class="mb-3 max-h-48 overflow-y-auto rounded-md border border-slate-200" role="radiogroup" aria-label=t(lang, "compute.flavor")>
                {o.flavors.iter().map(|f| {
                    let id = f.id.clone();
                    let id2 = f.id.clone();
                    let over = inst_q.left().is_some_and(|l| l < 1)
                        || cores_q.left().is_some_and(|l| l < i64::from(f.vcpus))
                        || ram_q.left().is_some_and(|l| l < f.ram_mib as i64);
                    view! {
                        <label class="flex cursor-pointer items-center gap-3 border-b border-slate-100 px-3 py-2 text-sm last:border-0 hover:bg-slate-50" data-flavor=f.name.clone()>
                            <input type="radio" name="flavor" value=f.id.clone() prop:checked=move || flavor.get() == id
                                on:change=move |_| flavor.set(id2.clone())/>
                            <span class="w-28 font-medium text-slate-900">{f.name.clone()}</span>
                            <span class="w-16 tabular-nums text-slate-600">{format!("{} vCPU", f.vcpus)}</span>
                            <span class="w-20 tabular-nums text-slate-600">{mib(f.ram_mib)}</span>
                            <span class="w-16 tabular-nums text-slate-600">{format!("{} GiB", f.disk_gb)}</span>
                            {over.then(|| view! { <span class="text-xs text-amber-700">{t(lang, "compute.l.over_quota")}</span> })}
                        </label>
                    }
                }).collect_view()}
            </div>
            <div class="mb-4 grid grid-cols-3 gap-3" data-testid="quota-impact">
                <QuotaBar label=t(lang, "quota.name.instances") q=inst_q add=Signal::derive(move || i64::from(count.get())) unit=""/>
                <QuotaBar label=t(lang, "quota.name.cores") q=cores_q add=Signal::derive(move || chosen().map_or(0, |f| i64::from(f.vcpus) * i64::from(count.get()))) unit=""/>
                <QuotaBar label=t(lang, "compute.ram") q=ram_q add=Signal::derive(move || chosen().map_or(0, |f| f.ram_mib as i64 * i64::from(count.get()))) unit=" MiB"/>
            </div>

            <h3 class="mb-2 mt-5 text-sm font-semibold text-slate-900">{t(lang, "compute.key_pair")}</h3>
            <div class="mb-4">
                <select id="l-key" aria-label=t(lang, "compute.key_pair") class=INPUT on:change=move |ev| key.set(event_target_value(&ev))>
                    {keys.iter().map(|k| view! { <option value=k.clone()>{k.clone()}</option> }).collect_view()}
                    <option value="">{t(lang, "compute.l.no_key")}</option>
                </select>
                {keys.is_empty().then(|| view! { <p class="mt-1 text-xs text-slate-500">{t(lang, "compute.l.no_keys_hint")}</p> })}
            </div>

            <h3 class="mb-2 mt-5 text-sm font-semibold text-slate-900">{t(lang, "compute.l.config")}</h3>
            <div class="mb-5">
                <label for="l-user-data" class=LABEL>{t(lang, "compute.l.user_data")}</label>
                <textarea id="l-user-data" rows="4" class=format!("{INPUT} font-mono") prop:value=user_data on:input=move |ev| user_data.set(event_target_value(&ev))></textarea>
                <p class="mt-1 text-xs text-slate-500">{t(lang, "compute.l.user_data_hint")}</p>
            </div>
            <FormActions submit_label=t(lang, "compute.launch") pending=launch.pending() on_cancel=on_close/>
        </form>
    }
    .into_any()
}

/// One quota: used, what this launch would add, and the limit.
#[component]
fn QuotaBar(
    label: &'static str,
    q: Headroom,
    #[prop(into)] add: Signal<i64>,
    unit: &'static str,
) -> impl IntoView {
    let lang = use_lang();
    let pct = move |n: i64| {
        if q.limit <= 0 {
            0.0
        } else {
            (n as f64 * 100.0 / q.limit as f64).clamp(0.0, 100.0)
        }
    };
    let over = move || q.limit >= 0 && q.used + add.get() > q.limit;
    view! {
        <div class="rounded-md border border-slate-200 p-2 text-xs" data-quota=label>
            <div class="mb-1 font-medium text-slate-700">{label}</div>
            <div class="relative h-2 overflow-hidden rounded bg-slate-100">
                <div class="absolute inset-y-0 left-0 bg-slate-400" style=format!("width: {}%", pct(q.used))></div>
                <div class=move || if over() { "absolute inset-y-0 bg-rose-500" } else { "absolute inset-y-0 bg-sky-500" }
                    style=move || format!("left: {}%; width: {}%", pct(q.used), (pct(q.used + add.get()) - pct(q.used)).max(0.0))></div>
            </div>
            <div class=move || if over() { "mt-1 text-rose-700" } else { "mt-1 text-slate-500" }>
                {move || if q.limit < 0 {
                    format!("{}{unit} + {}{unit} · {}", number(lang, q.used), number(lang, add.get()), t(lang, "compute.l.unlimited"))
                } else {
                    format!("{}{unit} + {}{unit} / {}{unit}", number(lang, q.used), number(lang, add.get()), number(lang, q.limit))
                }}
            </div>
        </div>
    }
}
