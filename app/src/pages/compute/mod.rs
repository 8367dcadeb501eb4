//! Compute (Nova) for project members: Project › Compute › Instances (with
//! status pushed live from the server), the launch dialog, an instance's
//! detail page, and Key Pairs. Admin › Instances reuses the instances table
//! across all projects.

pub mod detail;
pub mod instances;
pub mod keypairs;
pub mod launch;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::{PageOf, Pill, Tone};
use crate::error::AppError;
use crate::i18n::{t, use_lang, Lang};

#[cfg(feature = "ssr")]
use crate::server;

/// An instance as the tables show it, and as the live stream sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    pub project_id: String,
    /// The project's name when the caller may read it, else its id.
    pub project_name: String,
    /// Nova's status (`ACTIVE`, `BUILD`, `SHUTOFF`, …).
    pub status: String,
    /// `spawning`, `powering-off`, … while something is under way.
    pub task_state: String,
    /// `running`, `shutdown`, …
    pub power_state: String,
    pub image_id: String,
    pub image_name: String,
    pub flavor_name: String,
    pub vcpus: u32,
    pub ram_mib: u64,
    pub disk_gb: u64,
    pub key_name: String,
    pub node_name: String,
    pub availability_zone: String,
    pub created: String,
    pub locked: bool,
    /// The fault's message, when it is in ERROR or an action failed.
    pub fault: String,
    pub can: InstanceCaps,
}

/// The compute service's `ServerCapabilities`, as the browser gets them:
/// the dashboard shows an action only when its flag is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceCaps {
    pub start: bool,
    pub stop: bool,
    pub reboot: bool,
    pub hard_reboot: bool,
    pub pause: bool,
    pub unpause: bool,
    pub suspend: bool,
    pub resume: bool,
    pub lock: bool,
    pub unlock: bool,
    pub edit: bool,
    pub delete: bool,
    pub console: bool,
}

impl InstanceRow {
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            self.id.clone()
        } else {
            self.name.clone()
        }
    }

    /// Whether the row is between states (the table marks it as busy).
    pub fn busy(&self) -> bool {
        !self.task_state.is_empty() || self.status == "BUILD"
    }
}

pub type InstancePage = PageOf<InstanceRow>;

/// The actions a row or the bulk bar offers, with their i18n keys, in
/// Horizon's order.
pub const ACTIONS: &[(&str, &str)] = &[
    ("start", "compute.act.start"),
    ("stop", "compute.act.stop"),
    ("reboot", "compute.act.reboot"),
    ("hard_reboot", "compute.act.hard_reboot"),
    ("pause", "compute.act.pause"),
    ("unpause", "compute.act.unpause"),
    ("suspend", "compute.act.suspend"),
    ("resume", "compute.act.resume"),
    ("lock", "compute.act.lock"),
    ("unlock", "compute.act.unlock"),
];

/// Whether `caps` allows the action named `action` (see [`ACTIONS`]).
pub fn allows(caps: &InstanceCaps, action: &str) -> bool {
    match action {
        "start" => caps.start,
        "stop" => caps.stop,
        "reboot" => caps.reboot,
        "hard_reboot" => caps.hard_reboot,
        "pause" => caps.pause,
        "unpause" => caps.unpause,
        "suspend" => caps.suspend,
        "resume" => caps.resume,
        "lock" => caps.lock,
        "unlock" => caps.unlock,
        "delete" => caps.delete,
        _ => false,
    }
}

// ------------------------------------------------------------ server side

#[cfg(feature = "ssr")]
pub mod convert {
    use std::collections::HashMap;

    use cloud::compute::{ComputeService, Server, ServerCapabilities};
    use cloud::RequestContext;

    use super::{InstanceCaps, InstanceRow};

    pub fn caps(c: ServerCapabilities) -> InstanceCaps {
        InstanceCaps {
            start: c.start,
            stop: c.stop,
            reboot: c.reboot,
            hard_reboot: c.hard_reboot,
            pause: c.pause,
            unpause: c.unpause,
            suspend: c.suspend,
            resume: c.resume,
            lock: c.lock,
            unlock: c.unlock,
            edit: c.edit,
            delete: c.delete,
            console: c.console,
        }
    }

    fn power_name(p: cloud::compute::PowerState) -> &'static str {
        use cloud::compute::PowerState as P;
        match p {
            P::Running => "running",
            P::Paused => "paused",
            P::Shutdown => "shutdown",
            P::Crashed => "crashed",
            P::Suspended => "suspended",
            P::NoState => "nostate",
        }
    }

    pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }

    /// Names the rows need, looked up once for a whole page.
    #[derive(Default)]
    pub struct Names {
        pub images: HashMap<String, String>,
        pub projects: HashMap<String, String>,
    }

    impl Names {
        /// The names of the images and (when `projects`) projects behind
        /// `servers` that the caller may read; an unreadable one shows its id.
        pub async fn of(
            ctx: &RequestContext,
            image: &cloud::image::ImageService,
            identity: &cloud::identity::IdentityService,
            servers: &[Server],
            projects: bool,
        ) -> Names {
            let mut names = Names::default();
            let mut ids: Vec<&str> = servers.iter().map(|s| s.image_id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            // A page rarely holds more than a few images: one read each.
            for id in ids {
                if let Ok(im) = image.get_image(ctx, id).await {
                    names
                        .images
                        .insert(id.to_string(), im.name.unwrap_or_default());
                }
            }
            if projects {
                let ids: Vec<&str> = servers.iter().map(|s| s.project_id.as_str()).collect();
                match identity.project_names(ctx, &ids).await {
                    Ok(p) => names.projects = p,
                    Err(e) => tracing::warn!(error = %e, "project names for the instances panel"),
                }
            }
            names
        }
    }

    pub fn row(
        ctx: &RequestContext,
        compute: &ComputeService,
        s: Server,
        names: &Names,
    ) -> InstanceRow {
        let can = caps(compute.capabilities(ctx, &s));
        InstanceRow {
            status: s.status().to_string(),
            task_state: s
                .task_state
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            power_state: power_name(s.power_state).to_string(),
            image_name: names
                .images
                .get(&s.image_id)
                .cloned()
                .unwrap_or_else(|| s.image_id.clone()),
            project_name: names
                .projects
                .get(&s.project_id)
                .cloned()
                .unwrap_or_else(|| s.project_id.clone()),
            flavor_name: s.flavor.name.clone(),
            vcpus: s.flavor.vcpus,
            ram_mib: s.flavor.ram_mib,
            disk_gb: s.flavor.disk_gb,
            key_name: s.key_name.clone().unwrap_or_default(),
            node_name: s.node_name.clone().unwrap_or_default(),
            availability_zone: s.availability_zone.clone().unwrap_or_default(),
            created: time(s.created_at),
            locked: s.locked,
            fault: s
                .fault
                .as_ref()
                .map(|f| f.message.clone())
                .unwrap_or_default(),
            can,
            id: s.id,
            name: s.name,
            project_id: s.project_id,
            image_id: s.image_id,
        }
    }
}

/// A page of instances: the caller's project's, or (`all`, admins) every
/// project's; filtered by name (`q`) and status, sorted and paged on the
/// server, with the total.
#[server(endpoint = "list_instances")]
pub async fn list_instances(
    all: bool,
    q: String,
    status: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<InstancePage, AppError> {
    use cloud::compute::{ServerFilter, ServerSortKey};
    let (image, identity) = (server::image()?, server::identity()?);
    let (a, compute) = server::auth_compute().await?;
    let q = q.trim();
    let size = crate::components::PAGE_SIZE;
    let offset = cloud::page::page_offset(page, size);
    let f = ServerFilter {
        all_projects: all,
        name: (!q.is_empty()).then(|| q.to_string()),
        status: (!status.is_empty()).then(|| status.to_uppercase()),
        sort: Some(match ServerSortKey::parse(&sort) {
            Some(key) => (key, cloud::SortDir::parse(&dir)),
            // Newest first, as Nova and Horizon list them.
            None => (ServerSortKey::Created, cloud::SortDir::Desc),
        }),
        limit: Some(size as usize),
        offset: Some(usize::try_from(offset).unwrap_or(0)),
        ..Default::default()
    };
    let p = compute.list_servers_page(&a.ctx, &f).await?;
    let names = convert::Names::of(&a.ctx, &image, &identity, &p.items, all).await;
    Ok(PageOf {
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|s| convert::row(&a.ctx, &compute, s, &names))
            .collect(),
    })
}

/// One action on one instance (`start`, `stop`, … as in [`ACTIONS`], or
/// `delete`).
#[server(endpoint = "instance_action")]
pub async fn instance_action(id: String, action: String) -> Result<(), AppError> {
    let (a, compute) = server::auth_compute().await?;
    run_action(&a, &compute, &id, &action).await
}

#[cfg(feature = "ssr")]
async fn run_action(
    a: &server::Auth,
    compute: &cloud::compute::ComputeService,
    id: &str,
    action: &str,
) -> Result<(), AppError> {
    use cloud::compute::ServerAction as A;
    let act = match action {
        "delete" => return Ok(compute.delete_server(&a.ctx, id).await?),
        "start" => A::Start,
        "stop" => A::Stop,
        "reboot" => A::Reboot { hard: false },
        "hard_reboot" => A::Reboot { hard: true },
        "pause" => A::Pause,
        "unpause" => A::Unpause,
        "suspend" => A::Suspend,
        "resume" => A::Resume,
        "lock" => A::Lock { reason: None },
        "unlock" => A::Unlock,
        other => return Err(a.msg("compute.err_action", other)),
    };
    compute.server_action(&a.ctx, id, act).await?;
    Ok(())
}

/// What a bulk action did: how many succeeded, and each refusal with the
/// instance it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    pub done: usize,
    pub failed: Vec<(String, AppError)>,
}

/// One action on many instances; each is tried, and each refusal reported
/// with its instance (a locked one does not stop the others).
#[server(endpoint = "bulk_instance_action")]
pub async fn bulk_instance_action(
    ids: Vec<String>,
    action: String,
) -> Result<BulkResult, AppError> {
    let (a, compute) = server::auth_compute().await?;
    if ids.len() > crate::components::PAGE_SIZE as usize {
        return Err(a.msg("compute.err_too_many", ""));
    }
    let mut out = BulkResult {
        done: 0,
        failed: Vec::new(),
    };
    for id in &ids {
        match run_action(&a, &compute, id, &action).await {
            Ok(()) => out.done += 1,
            Err(e) => {
                let name = compute
                    .get_server(&a.ctx, id)
                    .await
                    .map(|s| s.name)
                    .unwrap_or_else(|_| id.clone());
                out.failed.push((name, e));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- shared

/// Nova's status as a coloured, translated label; a task under way shows
/// beside it.
#[component]
pub fn InstanceStatus(status: String, task: String) -> impl IntoView {
    let lang = use_lang();
    let (tone, key) = status_label(&status);
    let task_text = (!task.is_empty()).then(|| task_label(lang, &task));
    view! {
        <span class="inline-flex items-center gap-2" data-status=status.clone() data-task=task.clone()>
            <Pill tone=tone text=t(lang, key)/>
            {task_text.map(|tt| view! {
                <span class="inline-flex items-center gap-1 text-xs text-slate-500">
                    <span class="h-2 w-2 animate-pulse rounded-full bg-sky-500"></span>{tt}
                </span>
            })}
        </span>
    }
}

fn status_label(status: &str) -> (Tone, &'static str) {
    match status {
        "ACTIVE" => (Tone::Green, "compute.st.active"),
        "BUILD" => (Tone::Blue, "compute.st.build"),
        "SHUTOFF" => (Tone::Grey, "compute.st.shutoff"),
        "PAUSED" => (Tone::Amber, "compute.st.paused"),
        "SUSPENDED" => (Tone::Amber, "compute.st.suspended"),
        "REBOOT" => (Tone::Blue, "compute.st.reboot"),
        "HARD_REBOOT" => (Tone::Blue, "compute.st.hard_reboot"),
        "ERROR" => (Tone::Red, "compute.st.error"),
        "DELETED" => (Tone::Grey, "compute.st.deleted"),
        _ => (Tone::Grey, "compute.st.unknown"),
    }
}

pub fn task_label(lang: Lang, task: &str) -> &'static str {
    match task {
        "scheduling" => t(lang, "compute.task.scheduling"),
        "networking" => t(lang, "compute.task.networking"),
        "spawning" => t(lang, "compute.task.spawning"),
        "powering-off" => t(lang, "compute.task.powering_off"),
        "powering-on" => t(lang, "compute.task.powering_on"),
        "rebooting" | "reboot_started" => t(lang, "compute.task.rebooting"),
        "rebooting_hard" | "reboot_started_hard" => t(lang, "compute.task.rebooting_hard"),
        "pausing" => t(lang, "compute.task.pausing"),
        "unpausing" => t(lang, "compute.task.unpausing"),
        "suspending" => t(lang, "compute.task.suspending"),
        "resuming" => t(lang, "compute.task.resuming"),
        "deleting" => t(lang, "compute.task.deleting"),
        _ => t(lang, "compute.task.other"),
    }
}

pub fn power_label(lang: Lang, power: &str) -> &'static str {
    match power {
        "running" => t(lang, "compute.power.running"),
        "paused" => t(lang, "compute.power.paused"),
        "shutdown" => t(lang, "compute.power.shutdown"),
        "crashed" => t(lang, "compute.power.crashed"),
        "suspended" => t(lang, "compute.power.suspended"),
        _ => t(lang, "compute.power.nostate"),
    }
}

/// MiB as the panels write memory: `512 MiB`, `2 GiB`.
pub fn mib(n: u64) -> String {
    if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} GiB", n / 1024)
    } else if n >= 1024 {
        format!("{:.1} GiB", n as f64 / 1024.0)
    } else {
        format!("{n} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_in_binary_units() {
        assert_eq!(mib(512), "512 MiB");
        assert_eq!(mib(2048), "2 GiB");
        assert_eq!(mib(1536), "1.5 GiB");
    }

    #[test]
    fn every_action_has_a_flag() {
        let all = InstanceCaps {
            start: true,
            stop: true,
            reboot: true,
            hard_reboot: true,
            pause: true,
            unpause: true,
            suspend: true,
            resume: true,
            lock: true,
            unlock: true,
            edit: true,
            delete: true,
            console: true,
        };
        for (action, _) in ACTIONS {
            assert!(allows(&all, action), "{action}");
            assert!(!allows(&InstanceCaps::default(), action), "{action}");
        }
        assert!(!allows(&all, "explode"));
    }
}
