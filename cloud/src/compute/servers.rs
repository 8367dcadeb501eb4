//! Instances: create (quota, schedule, spawn), read, update, actions,
//! delete, metadata, console output, os-instance-actions, limits and usage.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use bus::messages::{
    ComputeAction, ComputeRequest, ConfigDrive, ConsoleOutput, ImageRef, PowerState, SpawnSpec,
};

use super::nodes::{to_u32, to_u64};
use super::scheduler::Candidate;
use super::{
    new_uuid, AbsoluteLimits, ComputeError, ComputeService, Fault, InstanceAction, InstanceFlavor,
    Networks, NewServer, ProjectUsage, Result, Server, ServerAction, ServerCapabilities,
    ServerFilter, ServerUpdate, ServerUsage, TaskState, VmState,
};
use crate::db::{micros_to_time, now_micros, WriteTx};
use crate::policy::{allows, compute as rules, enforce, Target};
use crate::quota::{OverQuota, QuotaError, Resource};
use crate::{msg, RequestContext};

/// A server list's conditions and their values, in order.
struct ServerWhere {
    sql: String,
    binds: Vec<Bind>,
}

enum Bind {
    Text(String),
    Int(i64),
}

impl ServerWhere {
    fn text(&mut self, cond: &str, value: &str) {
        self.sql.push_str(cond);
        self.binds.push(Bind::Text(value.to_string()));
    }

    fn bind<'q>(
        &self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }

    fn bind_scalar<'q, O>(
        &self,
        mut q: sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// The vm states Nova lets an action start from (its
/// `check_instance_state`); lock and unlock apply in any state.
fn allowed_states(action: &ServerAction) -> &'static [VmState] {
    use VmState::*;
    match action {
        ServerAction::Start => &[Stopped],
        ServerAction::Stop => &[Active, Error],
        ServerAction::Reboot { hard: false } => &[Active],
        ServerAction::Reboot { hard: true } => &[Active, Stopped, Paused, Suspended, Error],
        ServerAction::Pause | ServerAction::Suspend => &[Active],
        ServerAction::Unpause => &[Paused],
        ServerAction::Resume => &[Suspended],
        ServerAction::Lock { .. } | ServerAction::Unlock => &[],
    }
}

/// Nova's limit on user data: 65,535 bytes of base64.
pub const MAX_USER_DATA: usize = 65_535;
/// Nova's `max_limit` on list pages.
const MAX_LIST: usize = 1000;

const COLUMNS: &str = "id, name, description, project_id, user_id, image_id, flavor_id, \
    flavor_name, vcpus, ram_mib, disk_gb, ephemeral_gb, swap_mib, flavor_extra_specs, key_name, \
    user_data, availability_zone, hostname, node_id, node_name, vm_state, task_state, \
    power_state, locked, locked_by, locked_reason, fault_code, fault_message, fault_details, fault_at, \
    reservation_id, launch_index, launched_at, terminated_at, created_at, updated_at, \
    pending_request, pending_action, tries, tried_nodes, key_data, kernel_id, ramdisk_id, access_ip_v4, access_ip_v6";

/// What an instance row holds beyond its [`Server`] view: the scheduler's
/// and the conductor's bookkeeping.
#[derive(Debug, Clone)]
pub(super) struct Instance {
    pub server: Server,
    pub pending_request: Option<String>,
    pub pending_action: Option<String>,
    pub tries: u32,
    pub tried_nodes: Vec<String>,
    pub key_data: Option<String>,
}

impl ComputeService {
    pub(super) fn instance_from_row(&self, row: &AnyRow) -> Result<Instance> {
        let id: String = row.try_get("id")?;
        let specs: String = row.try_get("flavor_extra_specs")?;
        let extra_specs: BTreeMap<String, String> =
            serde_json::from_str(&specs).unwrap_or_default();
        let vm: String = row.try_get("vm_state")?;
        let task: Option<String> = row.try_get("task_state")?;
        let user_data: Option<Vec<u8>> = row.try_get("user_data")?;
        let fault = match row.try_get::<Option<String>, _>("fault_message")? {
            Some(message) => Some(Fault {
                code: u16::try_from(row.try_get::<Option<i64>, _>("fault_code")?.unwrap_or(500))
                    .unwrap_or(500),
                message,
                details: row.try_get("fault_details")?,
                created: micros_to_time(row.try_get::<Option<i64>, _>("fault_at")?.unwrap_or(0)),
            }),
            None => None,
        };
        let tried: String = row.try_get("tried_nodes")?;
        let server = Server {
            instance_name: instance_name(&id),
            id,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            project_id: row.try_get("project_id")?,
            user_id: row.try_get("user_id")?,
            image_id: row.try_get("image_id")?,
            kernel_id: row.try_get("kernel_id")?,
            ramdisk_id: row.try_get("ramdisk_id")?,
            access_ip_v4: row
                .try_get::<Option<String>, _>("access_ip_v4")?
                .and_then(|a| a.parse().ok()),
            access_ip_v6: row
                .try_get::<Option<String>, _>("access_ip_v6")?
                .and_then(|a| a.parse().ok()),
            flavor: InstanceFlavor {
                id: row.try_get("flavor_id")?,
                name: row.try_get("flavor_name")?,
                vcpus: to_u32(row.try_get("vcpus")?),
                ram_mib: to_u64(row.try_get("ram_mib")?),
                disk_gb: to_u64(row.try_get("disk_gb")?),
                ephemeral_gb: to_u64(row.try_get("ephemeral_gb")?),
                swap_mib: to_u64(row.try_get("swap_mib")?),
                extra_specs,
            },
            key_name: row.try_get("key_name")?,
            availability_zone: row.try_get("availability_zone")?,
            hostname: row.try_get("hostname")?,
            node_name: row.try_get("node_name")?,
            node_id: row.try_get("node_id")?,
            vm_state: VmState::parse(&vm).unwrap_or(VmState::Error),
            task_state: task.as_deref().and_then(TaskState::parse),
            power_state: PowerState::from_code(
                u8::try_from(row.try_get::<i64, _>("power_state")?).unwrap_or(0),
            ),
            locked: row.try_get::<i64, _>("locked")? != 0,
            locked_by: row.try_get("locked_by")?,
            locked_reason: row.try_get("locked_reason")?,
            fault,
            metadata: BTreeMap::new(),
            reservation_id: row.try_get("reservation_id")?,
            launch_index: to_u32(row.try_get("launch_index")?),
            user_data: user_data.and_then(|b| String::from_utf8(b).ok()),
            launched_at: row
                .try_get::<Option<i64>, _>("launched_at")?
                .map(micros_to_time),
            terminated_at: row
                .try_get::<Option<i64>, _>("terminated_at")?
                .map(micros_to_time),
            created_at: micros_to_time(row.try_get("created_at")?),
            updated_at: micros_to_time(row.try_get("updated_at")?),
        };
        Ok(Instance {
            server,
            pending_request: row.try_get("pending_request")?,
            pending_action: row.try_get("pending_action")?,
            tries: to_u32(row.try_get("tries")?),
            tried_nodes: tried
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            key_data: row.try_get("key_data")?,
        })
    }

    /// The instance row, deleted or not, with no policy check (internal).
    pub(super) async fn load(&self, id: &str) -> Result<Option<Instance>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM instances WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut inst = self.instance_from_row(&row)?;
        inst.server.metadata = self.metadata_of(&inst.server.id).await?;
        Ok(Some(inst))
    }

    async fn metadata_of(&self, id: &str) -> Result<BTreeMap<String, String>> {
        let rows =
            sqlx::query("SELECT meta_key, meta_value FROM instance_metadata WHERE instance_id = ?")
                .bind(id.to_string())
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("meta_key")?, r.try_get("meta_value")?)))
            .collect()
    }

    /// An instance the caller may see under `rule`: another project's is
    /// "not found", as Nova answers (it does not confirm that it exists).
    async fn visible(
        &self,
        ctx: &RequestContext,
        id: &str,
        rule: &crate::policy::Rule,
    ) -> Result<Instance> {
        let inst = match self.load(id).await? {
            Some(i) if i.server.vm_state != VmState::Deleted => i,
            _ => return Err(ComputeError::not_found_server(id)),
        };
        let target = Target::project(&inst.server.project_id);
        if !allows(ctx, &rules::SERVERS_SHOW, &target) {
            return Err(ComputeError::not_found_server(id));
        }
        enforce(ctx, rule, &target)?;
        Ok(inst)
    }

    // ------------------------------------------------------------ create

    /// Boots `req.max_count` instances (as many as the quota allows, down to
    /// `min_count`): each is recorded and counted in one transaction, then
    /// scheduled and handed to its node. The servers come back in BUILD;
    /// their node's answer makes them ACTIVE (or ERROR, with a fault).
    /// Runs [`to_the_end`]: a boot cut off after its commit (even inside
    /// it) would wait in `scheduling` for the sweep.
    pub async fn create_servers(
        &self,
        ctx: &RequestContext,
        req: NewServer,
    ) -> Result<Vec<Server>> {
        let (this, ctx) = (self.clone(), ctx.clone());
        to_the_end(async move { this.record_and_start(&ctx, req).await }).await
    }

    async fn record_and_start(&self, ctx: &RequestContext, req: NewServer) -> Result<Vec<Server>> {
        let Some(project_id) = ctx.project_id().map(str::to_string) else {
            return Err(ComputeError::Forbidden(msg!(
                "error.compute.project_scope_required",
                "Creating a server needs a project-scoped token."
            )));
        };
        enforce(ctx, &rules::SERVERS_CREATE, &Target::project(&project_id))?;
        let name = req.name.trim().to_string();
        if name.is_empty() {
            return Err(ComputeError::Validation(msg!(
                "error.compute.name_required",
                "A server needs a name."
            )));
        }
        if name.chars().count() > 255 {
            return Err(ComputeError::Validation(msg!(
                "error.compute.name_too_long",
                "The server name is longer than 255 characters."
            )));
        }
        if req
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 255)
        {
            return Err(ComputeError::Validation(msg!(
                "error.compute.description_too_long",
                "The description is longer than 255 characters."
            )));
        }
        let min = req.min_count.max(1);
        let max = req.max_count.max(min);
        if max > 1000 {
            return Err(ComputeError::Validation(msg!(
                "error.compute.count_too_large",
                "At most {max} servers can be created at once.",
                max = 1000,
            )));
        }
        if let Networks::Requested(nets) = &req.networks {
            // The network service is not there yet: no network can exist.
            if let Some(n) = nets.first() {
                let id = n
                    .network_id
                    .clone()
                    .or_else(|| n.port_id.clone())
                    .unwrap_or_default();
                return Err(ComputeError::Validation(msg!(
                    "error.compute.network_not_found",
                    "Network {id} could not be found.",
                    id = id,
                )));
            }
        }
        let user_data = match &req.user_data {
            Some(ud) => Some(validate_user_data(ud)?),
            None => None,
        };
        self.validate_metadata(&project_id, &req.metadata).await?;
        let flavor = self
            .get_flavor(ctx, &req.flavor_id)
            .await
            .map_err(bad_reference)?;
        let image = self
            .image
            .get_image(ctx, &req.image_id)
            .await
            .map_err(|e| bad_reference(e.into()))?;
        if image.status != crate::image::ImageStatus::Active {
            return Err(ComputeError::Validation(msg!(
                "error.compute.image_not_active",
                "Image {id} is not active.",
                id = image.id,
            )));
        }
        // The kernel and ramdisk it names must be there for this caller
        // too, or the boot would only fail later, on the node (Nova checks
        // them at create as well).
        for part in ["kernel_id", "ramdisk_id"] {
            if let Some(part_id) = image.properties.get(part) {
                self.image
                    .get_image(ctx, part_id)
                    .await
                    .map_err(|e| bad_reference(e.into()))?;
            }
        }
        if image.min_ram > 0 && (flavor.ram_mib as i64) < image.min_ram {
            return Err(ComputeError::Validation(msg!(
                "error.compute.flavor_ram_too_small",
                "Flavor's memory is too small for requested image.",
            )));
        }
        if flavor.disk_gb > 0 && image.min_disk > 0 && (flavor.disk_gb as i64) < image.min_disk {
            return Err(ComputeError::Validation(msg!(
                "error.compute.flavor_disk_too_small",
                "Flavor's disk is too small for requested image.",
            )));
        }
        let key = match &req.key_name {
            Some(k) => Some(
                self.get_keypair(ctx, None, k)
                    .await
                    .map_err(bad_reference)?,
            ),
            None => None,
        };
        if let Some(az) = &req.availability_zone {
            let known = self
                .all_nodes()
                .await?
                .iter()
                .any(|n| n.availability_zone == *az)
                || *az == self.cfg.default_availability_zone;
            if !known {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.unknown_zone",
                    "The requested availability zone is not available",
                )));
            }
        }

        // Record and count them, all or nothing: as many as fit, down to `min`.
        let per = [
            (Resource::INSTANCES, 1i64),
            (Resource::CORES, i64::from(flavor.vcpus)),
            (Resource::RAM, flavor.ram_mib as i64),
        ];
        let mut count = max;
        let reservation_id = format!("r-{}", &new_uuid()[..8]);
        let now = now_micros();
        let ids: Vec<String> = loop {
            let mut tx = self.db.begin_write().await?;
            let items: Vec<(Resource, i64)> = per
                .iter()
                .map(|(r, n)| (*r, n * i64::from(count)))
                .collect();
            match self.quota.consume(&mut tx, &project_id, &items).await {
                Ok(()) => {}
                Err(QuotaError::OverQuota(o)) => {
                    drop(tx);
                    let unit = per
                        .iter()
                        .find(|(r, _)| *r == o.resource)
                        .map_or(1, |(_, n)| *n)
                        .max(1);
                    let room = (o.limit - o.in_use - o.reserved).max(0) / unit;
                    let fit = u32::try_from(room).unwrap_or(0);
                    if fit >= min && fit < count {
                        count = fit;
                        continue;
                    }
                    return Err(ComputeError::OverQuota(OverQuota {
                        requested: o.requested / i64::from(count).max(1) * i64::from(min),
                        ..o
                    }));
                }
                Err(e) => return Err(e.into()),
            }
            let mut ids = Vec::with_capacity(count as usize);
            for index in 0..count {
                let id = new_uuid();
                let hostname = hostname_for(&name, count > 1, index);
                self.insert_instance(
                    &mut tx,
                    &id,
                    &name,
                    &req,
                    &project_id,
                    ctx,
                    &flavor,
                    &image,
                    key.as_ref(),
                    &user_data,
                    &hostname,
                    &reservation_id,
                    index,
                    now,
                )
                .await?;
                ids.push(id);
            }
            tx.commit().await?;
            for id in &ids {
                self.changed(id, &project_id);
            }
            break ids;
        };

        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(inst) = self.load(id).await? {
                self.schedule_and_spawn(inst, None).await?;
            }
            if let Some(inst) = self.load(id).await? {
                out.push(inst.server);
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_instance(
        &self,
        tx: &mut WriteTx,
        id: &str,
        name: &str,
        req: &NewServer,
        project_id: &str,
        ctx: &RequestContext,
        flavor: &super::Flavor,
        image: &crate::image::Image,
        key: Option<&super::KeyPair>,
        user_data: &Option<String>,
        hostname: &str,
        reservation_id: &str,
        index: u32,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO instances (id, name, description, project_id, user_id, image_id, \
             flavor_id, flavor_name, vcpus, ram_mib, disk_gb, ephemeral_gb, swap_mib, \
             flavor_extra_specs, key_name, key_data, user_data, availability_zone, hostname, \
             vm_state, task_state, power_state, reservation_id, launch_index, created_at, updated_at, \
             kernel_id, ramdisk_id, access_ip_v4, access_ip_v6) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(name.to_string())
        .bind(req.description.clone())
        .bind(project_id.to_string())
        .bind(ctx.user_id.clone())
        .bind(req.image_id.clone())
        .bind(flavor.id.clone())
        .bind(flavor.name.clone())
        .bind(i64::from(flavor.vcpus))
        .bind(flavor.ram_mib as i64)
        .bind(flavor.disk_gb as i64)
        .bind(flavor.ephemeral_gb as i64)
        .bind(flavor.swap_mib as i64)
        .bind(serde_json::to_string(&flavor.extra_specs).unwrap_or_else(|_| "{}".into()))
        .bind(key.map(|k| k.name.clone()))
        .bind(key.map(|k| k.public_key.clone()))
        .bind(user_data.clone().map(String::into_bytes))
        .bind(req.availability_zone.clone())
        .bind(hostname.to_string())
        .bind(VmState::Building.as_str())
        .bind(TaskState::Scheduling.as_str())
        .bind(reservation_id.to_string())
        .bind(i64::from(index))
        .bind(now)
        .bind(now)
        .bind(image.properties.get("kernel_id").cloned())
        .bind(image.properties.get("ramdisk_id").cloned())
        .bind(req.access_ip_v4.map(|a| a.to_string()))
        .bind(req.access_ip_v6.map(|a| a.to_string()))
        .execute(&mut **tx)
        .await?;
        for (k, v) in &req.metadata {
            sqlx::query("INSERT INTO instance_metadata (instance_id, meta_key, meta_value) VALUES (?, ?, ?)")
                .bind(id.to_string())
                .bind(k.clone())
                .bind(v.clone())
                .execute(&mut **tx)
                .await?;
        }
        insert_action(tx, id, "create", ctx, project_id, now).await?;
        Ok(())
    }

    /// Picks a node (not one in `inst.tried_nodes`), claims it and sends the
    /// spawn. No node: ERROR with Nova's "No valid host was found".
    pub(super) async fn schedule_and_spawn(
        &self,
        inst: Instance,
        last_error: Option<String>,
    ) -> Result<()> {
        let s = &inst.server;
        let candidate = Candidate {
            vcpus: s.flavor.vcpus,
            ram_mib: s.flavor.ram_mib,
            disk_gb: s.flavor.disk_gb,
            availability_zone: s.availability_zone.clone(),
            exclude: inst.tried_nodes.clone(),
        };
        let Some(node) = self.schedule(&candidate).await? else {
            let details = last_error.map(|e| format!("Last error: {e}"));
            self.fail_build(
                &s.id,
                inst.pending_request.as_deref(),
                "No valid host was found. There are not enough hosts available.",
                details,
            )
            .await?;
            return Ok(());
        };
        let spec = match self.spawn_spec(&inst).await {
            Ok(spec) => spec,
            Err(e) => {
                let mut conn = self.db.pool.acquire().await?;
                self.unclaim(&mut conn, &node.id, &s.flavor).await?;
                return Err(e);
            }
        };
        let request_id = new_uuid();
        let mut tried = inst.tried_nodes.clone();
        tried.push(node.id.clone());
        let deadline = now_micros() + secs(self.cfg.spawn_timeout_secs);
        // Conditional on the request this instance was waiting for: a delete
        // (or another reschedule) that came in meanwhile wins.
        let updated = sqlx::query(
            "UPDATE instances SET node_id = ?, node_name = ?, task_state = ?, tries = tries + 1, \
             tried_nodes = ?, pending_request = ?, pending_action = 'spawn', action_deadline = ?, \
             updated_at = ? WHERE id = ? AND vm_state = 'building' AND \
             (pending_request = ? OR (pending_request IS NULL AND ? = ''))",
        )
        .bind(node.id.clone())
        .bind(node.name.clone())
        .bind(TaskState::Spawning.as_str())
        .bind(tried.join(","))
        .bind(request_id.clone())
        .bind(deadline)
        .bind(now_micros())
        .bind(s.id.clone())
        .bind(inst.pending_request.clone().unwrap_or_default())
        .bind(inst.pending_request.clone().unwrap_or_default())
        .execute(&self.db.pool)
        .await?;
        if updated.rows_affected() == 0 {
            let mut conn = self.db.pool.acquire().await?;
            self.unclaim(&mut conn, &node.id, &s.flavor).await?;
            return Ok(());
        }
        self.changed(&s.id, &s.project_id);
        let msg = ComputeRequest {
            request_id,
            instance_id: s.id.clone(),
            action: ComputeAction::Spawn(Box::new(spec)),
        };
        if let Err(e) = self
            .bus
            .publish(&bus::compute_queue(&node.name), bus::encode(&msg))
            .await
        {
            // The sweeper would retry it at the deadline; the bus being down
            // is worth saying now.
            tracing::error!(instance = %s.id, node = %node.name, error = %e, "could not send spawn");
        }
        Ok(())
    }

    /// Everything the node needs, so it never asks the database.
    async fn spawn_spec(&self, inst: &Instance) -> Result<SpawnSpec> {
        let s = &inst.server;
        let ctx = RequestContext::internal();
        let image = self.image.get_image(&ctx, &s.image_id).await?;
        let image_ref = |img: &crate::image::Image| ImageRef {
            id: img.id.clone(),
            download_url: format!(
                "{}/v2/images/{}/file",
                self.cfg.image_api_url.trim_end_matches('/'),
                img.id
            ),
            disk_format: img
                .disk_format
                .map(|f| f.as_str().to_string())
                .unwrap_or_else(|| "raw".into()),
            size: img.size.and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            hash_algo: if img.os_hash_value.is_some() {
                img.os_hash_algo.clone().unwrap_or_else(|| "sha512".into())
            } else {
                "md5".into()
            },
            hash_value: img
                .os_hash_value
                .clone()
                .or_else(|| img.checksum.clone())
                .unwrap_or_default(),
            download_grant: None,
        };
        // The node reads each image with a grant that lasts as long as the
        // spawn may: a retry elsewhere gets new ones (see image::grants).
        let ttl = std::time::Duration::from_secs(self.cfg.spawn_timeout_secs);
        let granted = |mut r: ImageRef| async move {
            let grant = self.image.grant_download(&r.id, ttl).await?;
            r.download_grant = Some(bus::messages::Credential::new(grant.expose()));
            Result::<ImageRef>::Ok(r)
        };
        let root = granted(image_ref(&image)).await?;
        let mut kernel = None;
        let mut ramdisk = None;
        if let Some(k) = &s.kernel_id {
            kernel = Some(granted(image_ref(&self.image.get_image(&ctx, k).await?)).await?);
        }
        if let Some(r) = &s.ramdisk_id {
            ramdisk = Some(granted(image_ref(&self.image.get_image(&ctx, r).await?)).await?);
        }
        let mut public_keys = serde_json::Map::new();
        let mut keys = Vec::new();
        if let (Some(name), Some(data)) = (&s.key_name, &inst.key_data) {
            public_keys.insert(name.clone(), serde_json::Value::String(data.clone()));
            keys.push(serde_json::json!({"name": name, "type": "ssh", "data": data}));
        }
        let meta_data = serde_json::json!({
            "uuid": s.id,
            "name": s.name,
            "hostname": s.hostname,
            "launch_index": s.launch_index,
            "availability_zone": s.availability_zone.clone().unwrap_or_else(|| self.cfg.default_availability_zone.clone()),
            "project_id": s.project_id,
            "public_keys": public_keys,
            "keys": keys,
            "meta": s.metadata,
            "devices": [],
        });
        let user_data = s
            .user_data
            .as_ref()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        Ok(SpawnSpec {
            name: s.name.clone(),
            domain_name: s.instance_name.clone(),
            vcpus: s.flavor.vcpus,
            memory_mib: s.flavor.ram_mib,
            root_gb: s.flavor.disk_gb,
            image: root,
            kernel,
            ramdisk,
            kernel_cmdline: image.properties.get("os_command_line").cloned(),
            interfaces: Vec::new(),
            config_drive: ConfigDrive {
                meta_data,
                user_data,
            },
        })
    }

    /// BUILD → ERROR with a fault; the node claim (if any) is given back.
    pub(super) async fn fail_build(
        &self,
        id: &str,
        pending: Option<&str>,
        message: &str,
        details: Option<String>,
    ) -> Result<()> {
        let Some(inst) = self.load(id).await? else {
            return Ok(());
        };
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE instances SET vm_state = 'error', task_state = NULL, pending_request = NULL, \
             pending_action = NULL, action_deadline = NULL, node_id = NULL, fault_code = 500, \
             fault_message = ?, fault_details = ?, fault_at = ?, updated_at = ? \
             WHERE id = ? AND vm_state = 'building' AND COALESCE(pending_request, '') = ?",
        )
        .bind(truncate(message, 255))
        .bind(details.map(|d| truncate(&d, 1024)))
        .bind(now)
        .bind(now)
        .bind(id.to_string())
        .bind(pending.unwrap_or_default().to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            if let Some(node) = &inst.server.node_id {
                let f = &inst.server.flavor;
                self.unclaim(&mut tx, node, f).await?;
            }
            finish_action(&mut tx, id, "create", Some(message), now).await?;
        }
        tx.commit().await?;
        if done.rows_affected() == 1 {
            self.changed(id, &inst.server.project_id);
        }
        Ok(())
    }

    // ------------------------------------------------------------ read

    pub async fn get_server(&self, ctx: &RequestContext, id: &str) -> Result<Server> {
        Ok(self.visible(ctx, id, &rules::SERVERS_SHOW).await?.server)
    }

    /// What `ctx` may do with `s` now: the policy rules and state checks
    /// the calls themselves make (a test pins each flag against the call).
    pub fn capabilities(&self, ctx: &RequestContext, s: &Server) -> ServerCapabilities {
        let target = Target::project(&s.project_id);
        let may = |rule: &crate::policy::Rule| allows(ctx, rule, &target);
        let live = s.vm_state != VmState::Deleted;
        let unlocked = !s.locked || allows(ctx, &rules::SERVERS_LOCKED_OVERRIDE, &Target::none());
        let acting = live
            && may(&rules::SERVERS_ACTION)
            && unlocked
            && s.task_state.is_none()
            && s.node_name.is_some();
        let can = |a: ServerAction| acting && allowed_states(&a).contains(&s.vm_state);
        let locking = live && may(&rules::SERVERS_LOCK);
        ServerCapabilities {
            start: can(ServerAction::Start),
            stop: can(ServerAction::Stop),
            reboot: can(ServerAction::Reboot { hard: false }),
            hard_reboot: can(ServerAction::Reboot { hard: true }),
            pause: can(ServerAction::Pause),
            unpause: can(ServerAction::Unpause),
            suspend: can(ServerAction::Suspend),
            resume: can(ServerAction::Resume),
            lock: locking && !s.locked,
            unlock: locking
                && s.locked
                && (s.locked_by.as_deref() != Some("admin")
                    || may(&rules::SERVERS_UNLOCK_OVERRIDE)),
            edit: live && may(&rules::SERVERS_UPDATE) && unlocked,
            delete: live
                && may(&rules::SERVERS_DELETE)
                && unlocked
                && s.task_state != Some(TaskState::Deleting),
            console: live
                && may(&rules::CONSOLE_OUTPUT)
                && s.node_name.is_some()
                && (s.vm_state != VmState::Building || s.task_state == Some(TaskState::Spawning)),
        }
    }

    /// Servers, newest first (Nova's default order), with Nova's filters.
    pub async fn list_servers(
        &self,
        ctx: &RequestContext,
        f: &ServerFilter,
    ) -> Result<Vec<Server>> {
        let Some(w) = self.server_where(ctx, f).await? else {
            return Ok(Vec::new());
        };
        let limit = f.limit.unwrap_or(MAX_LIST).min(MAX_LIST);
        let order = match f.sort {
            Some((key, dir)) => format!("{} {}, id {}", key.column(), dir.sql(), dir.sql()),
            None => "created_at DESC, id DESC".to_string(),
        };
        let mut sql = format!(
            "SELECT {COLUMNS} FROM instances WHERE {} ORDER BY {order} LIMIT {limit}",
            w.sql
        );
        if let Some(offset) = f.offset {
            sql.push_str(&format!(" OFFSET {offset}"));
        }
        let rows = w.bind(sqlx::query(&sql)).fetch_all(&self.db.pool).await?;
        let mut servers: Vec<Server> = rows
            .iter()
            .map(|r| self.instance_from_row(r).map(|i| i.server))
            .collect::<Result<_>>()?;
        self.attach_metadata(&mut servers).await?;
        Ok(servers)
    }

    /// One page of servers and how many match in all (the portal's lists):
    /// [`list_servers`](Self::list_servers) with a count under the same filter.
    pub async fn list_servers_page(
        &self,
        ctx: &RequestContext,
        f: &ServerFilter,
    ) -> Result<crate::Page<Server>> {
        let Some(w) = self.server_where(ctx, f).await? else {
            return Ok(crate::Page {
                items: Vec::new(),
                total: 0,
            });
        };
        let sql = format!("SELECT COUNT(*) FROM instances WHERE {}", w.sql);
        let total: i64 = w
            .bind_scalar(sqlx::query_scalar(&sql))
            .fetch_one(&self.db.pool)
            .await?;
        let items = self.list_servers(ctx, f).await?;
        Ok(crate::Page { items, total })
    }

    /// The `WHERE` clause of a server list, after the policy checks; `None`
    /// when the caller has no project and so no servers.
    async fn server_where(
        &self,
        ctx: &RequestContext,
        f: &ServerFilter,
    ) -> Result<Option<ServerWhere>> {
        let mut w = ServerWhere {
            sql: "1 = 1".to_string(),
            binds: Vec::new(),
        };
        if f.all_projects {
            enforce(ctx, &rules::SERVERS_INDEX_ALL, &Target::none())?;
            if let Some(p) = &f.project_id {
                w.text(" AND project_id = ?", p);
            }
        } else {
            let Some(p) = ctx.project_id() else {
                return Ok(None);
            };
            enforce(ctx, &rules::SERVERS_INDEX, &Target::project(p))?;
            w.text(" AND project_id = ?", p);
        }
        if !f.deleted && f.changes_since.is_none() {
            w.sql.push_str(" AND deleted_at IS NULL");
        }
        if let Some(status) = &f.status {
            let Some(states) = super::vm_states_for_status(status) else {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.bad_status",
                    "Invalid status value {status}",
                    status = status,
                )));
            };
            w.sql.push_str(" AND vm_state IN (");
            w.sql.push_str(&vec!["?"; states.len()].join(", "));
            w.sql.push(')');
            w.binds
                .extend(states.iter().map(|s| Bind::Text(s.as_str().to_string())));
        }
        if let Some(name) = &f.name {
            crate::page::check_search(name).map_err(ComputeError::Validation)?;
            w.text(
                " AND name LIKE ? ESCAPE '!'",
                &crate::page::like_contains(name),
            );
        }
        if let Some(image) = &f.image {
            w.text(" AND image_id = ?", image);
        }
        if let Some(flavor) = &f.flavor {
            w.text(" AND flavor_id = ?", flavor);
        }
        if let Some(host) = &f.host {
            enforce(ctx, &rules::EXTENDED_ATTRIBUTES, &Target::none())?;
            w.text(" AND node_name = ?", host);
        }
        if let Some(t) = f.changes_since {
            w.sql.push_str(" AND updated_at >= ?");
            w.binds.push(Bind::Int(t.timestamp_micros()));
        }
        if let Some(m) = &f.marker {
            let Some(mi) = self.load(m).await? else {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.marker_not_found",
                    "marker [{marker}] not found",
                    marker = m,
                )));
            };
            let at = mi.server.created_at.timestamp_micros();
            w.sql
                .push_str(" AND (created_at < ? OR (created_at = ? AND id < ?))");
            w.binds.push(Bind::Int(at));
            w.binds.push(Bind::Int(at));
            w.binds.push(Bind::Text(mi.server.id));
        }
        Ok(Some(w))
    }

    async fn attach_metadata(&self, servers: &mut [Server]) -> Result<()> {
        for chunk in servers.chunks_mut(500) {
            if chunk.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT instance_id, meta_key, meta_value FROM instance_metadata WHERE instance_id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for s in chunk.iter() {
                q = q.bind(s.id.clone());
            }
            let rows = q.fetch_all(&self.db.pool).await?;
            for r in rows {
                let id: String = r.try_get("instance_id")?;
                if let Some(s) = chunk.iter_mut().find(|s| s.id == id) {
                    s.metadata
                        .insert(r.try_get("meta_key")?, r.try_get("meta_value")?);
                }
            }
        }
        Ok(())
    }

    /// Rename or re-describe (`PUT /servers/{id}`).
    pub async fn update_server(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: ServerUpdate,
    ) -> Result<Server> {
        let inst = self.visible(ctx, id, &rules::SERVERS_UPDATE).await?;
        self.check_lock(ctx, &inst.server)?;
        if let Some(n) = &change.name {
            if n.trim().is_empty() || n.chars().count() > 255 {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.name_required",
                    "A server needs a name."
                )));
            }
        }
        if let Some(Some(d)) = &change.description {
            if d.chars().count() > 255 {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.description_too_long",
                    "The description is longer than 255 characters."
                )));
            }
        }
        let s = &inst.server;
        sqlx::query(
            "UPDATE instances SET name = ?, description = ?, access_ip_v4 = ?, access_ip_v6 = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(
            change
                .name
                .map(|n| n.trim().to_string())
                .unwrap_or_else(|| s.name.clone()),
        )
        .bind(change.description.unwrap_or_else(|| s.description.clone()))
        .bind(
            change
                .access_ip_v4
                .unwrap_or(s.access_ip_v4)
                .map(|a| a.to_string()),
        )
        .bind(
            change
                .access_ip_v6
                .unwrap_or(s.access_ip_v6)
                .map(|a| a.to_string()),
        )
        .bind(now_micros())
        .bind(id.to_string())
        .execute(&self.db.pool)
        .await?;
        self.changed(id, &s.project_id);
        self.get_server(ctx, id).await
    }

    fn check_lock(&self, ctx: &RequestContext, s: &Server) -> Result<()> {
        if s.locked && !allows(ctx, &rules::SERVERS_LOCKED_OVERRIDE, &Target::none()) {
            return Err(ComputeError::Conflict(msg!(
                "error.compute.locked",
                "Instance {id} is locked",
                id = s.id,
            )));
        }
        Ok(())
    }

    // ------------------------------------------------------------ actions

    /// A server action: checked against the instance's state as Nova
    /// checks it, recorded, and sent to its node. Lock and unlock take
    /// effect at once.
    pub async fn server_action(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: ServerAction,
    ) -> Result<()> {
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_string());
        to_the_end(async move { this.record_and_send(&ctx, &id, action).await }).await
    }

    async fn record_and_send(
        &self,
        ctx: &RequestContext,
        id: &str,
        action: ServerAction,
    ) -> Result<()> {
        let rule = match action {
            ServerAction::Lock { .. } | ServerAction::Unlock => &rules::SERVERS_LOCK,
            _ => &rules::SERVERS_ACTION,
        };
        let inst = self.visible(ctx, id, rule).await?;
        let s = &inst.server;
        let now = now_micros();
        match &action {
            ServerAction::Lock { reason } => {
                if reason.as_ref().is_some_and(|r| r.chars().count() > 255) {
                    return Err(ComputeError::Validation(msg!(
                        "error.compute.reason_too_long",
                        "The disabled reason is longer than 255 characters."
                    )));
                }
                let by = if ctx.is_admin() && ctx.project_id() != Some(&s.project_id) {
                    "admin"
                } else {
                    "owner"
                };
                sqlx::query("UPDATE instances SET locked = 1, locked_by = ?, locked_reason = ?, updated_at = ? WHERE id = ?")
                    .bind(by)
                    .bind(reason.clone())
                    .bind(now)
                    .bind(id.to_string())
                    .execute(&self.db.pool)
                    .await?;
                let mut tx = self.db.begin_write().await?;
                insert_action(&mut tx, id, "lock", ctx, &s.project_id, now).await?;
                finish_action(&mut tx, id, "lock", None, now).await?;
                tx.commit().await?;
                self.changed(id, &s.project_id);
                return Ok(());
            }
            ServerAction::Unlock => {
                let by: Option<String> =
                    sqlx::query_scalar("SELECT locked_by FROM instances WHERE id = ?")
                        .bind(id.to_string())
                        .fetch_one(&self.db.pool)
                        .await?;
                if by.as_deref() == Some("admin") {
                    enforce(
                        ctx,
                        &rules::SERVERS_UNLOCK_OVERRIDE,
                        &Target::project(&s.project_id),
                    )?;
                }
                sqlx::query("UPDATE instances SET locked = 0, locked_by = NULL, locked_reason = NULL, updated_at = ? WHERE id = ?")
                    .bind(now)
                    .bind(id.to_string())
                    .execute(&self.db.pool)
                    .await?;
                let mut tx = self.db.begin_write().await?;
                insert_action(&mut tx, id, "unlock", ctx, &s.project_id, now).await?;
                finish_action(&mut tx, id, "unlock", None, now).await?;
                tx.commit().await?;
                self.changed(id, &s.project_id);
                return Ok(());
            }
            _ => {}
        }
        self.check_lock(ctx, s)?;
        let allowed = allowed_states(&action);
        let (task, bus_action): (TaskState, ComputeAction) = match action {
            ServerAction::Start => (TaskState::PoweringOn, ComputeAction::Start),
            ServerAction::Stop => (
                TaskState::PoweringOff,
                ComputeAction::Stop {
                    timeout_secs: self.cfg.shutdown_timeout_secs,
                },
            ),
            ServerAction::Reboot { hard: false } => {
                (TaskState::Rebooting, ComputeAction::Reboot { hard: false })
            }
            ServerAction::Reboot { hard: true } => (
                TaskState::RebootingHard,
                ComputeAction::Reboot { hard: true },
            ),
            ServerAction::Pause => (TaskState::Pausing, ComputeAction::Pause),
            ServerAction::Unpause => (TaskState::Unpausing, ComputeAction::Unpause),
            ServerAction::Suspend => (TaskState::Suspending, ComputeAction::Suspend),
            ServerAction::Resume => (TaskState::Resuming, ComputeAction::Resume),
            ServerAction::Lock { .. } | ServerAction::Unlock => return Ok(()),
        };
        let name = action.name();
        if let Some(t) = s.task_state {
            return Err(ComputeError::invalid_state(
                name,
                id,
                "task_state",
                t.as_str(),
            ));
        }
        if !allowed.contains(&s.vm_state) {
            return Err(ComputeError::invalid_state(
                name,
                id,
                "vm_state",
                s.vm_state.as_str(),
            ));
        }
        let Some(node) = s.node_name.clone() else {
            return Err(ComputeError::invalid_state(
                name,
                id,
                "vm_state",
                s.vm_state.as_str(),
            ));
        };
        let request_id = new_uuid();
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE instances SET task_state = ?, pending_request = ?, pending_action = ?, \
             action_deadline = ?, updated_at = ? WHERE id = ? AND vm_state = ? AND task_state IS NULL",
        )
        .bind(task.as_str())
        .bind(request_id.clone())
        .bind(name)
        .bind(now + secs(self.cfg.action_timeout_secs))
        .bind(now)
        .bind(id.to_string())
        .bind(s.vm_state.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ComputeError::invalid_state(
                name,
                id,
                "task_state",
                "changing",
            ));
        }
        insert_action(&mut tx, id, name, ctx, &s.project_id, now).await?;
        tx.commit().await?;
        self.changed(id, &s.project_id);
        let msg = ComputeRequest {
            request_id,
            instance_id: id.to_string(),
            action: bus_action,
        };
        self.bus
            .publish(&bus::compute_queue(&node), bus::encode(&msg))
            .await?;
        Ok(())
    }

    /// Deletes a server: at once when no node has it, else through its node
    /// (`task_state` deleting until the node confirms). Deleting twice is fine.
    pub async fn delete_server(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let (this, ctx, id) = (self.clone(), ctx.clone(), id.to_string());
        to_the_end(async move { this.record_and_send_delete(&ctx, &id).await }).await
    }

    async fn record_and_send_delete(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let inst = self.visible(ctx, id, &rules::SERVERS_DELETE).await?;
        let s = &inst.server;
        self.check_lock(ctx, s)?;
        if s.task_state == Some(TaskState::Deleting) {
            return Ok(());
        }
        let now = now_micros();
        let request_id = new_uuid();
        let mut tx = self.db.begin_write().await?;
        insert_action(&mut tx, id, "delete", ctx, &s.project_id, now).await?;
        let Some(node) = s.node_name.clone().filter(|_| s.node_id.is_some()) else {
            self.mark_deleted(&mut tx, &inst, None, now).await?;
            tx.commit().await?;
            self.changed(id, &s.project_id);
            return Ok(());
        };
        // Whatever the node was doing, its answer is now stale.
        sqlx::query(
            "UPDATE instances SET task_state = 'deleting', pending_request = ?, pending_action = 'delete', \
             action_deadline = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
        )
        .bind(request_id.clone())
        .bind(now + secs(self.cfg.action_timeout_secs))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(id, &s.project_id);
        let msg = ComputeRequest {
            request_id,
            instance_id: id.to_string(),
            action: ComputeAction::Delete,
        };
        self.bus
            .publish(&bus::compute_queue(&node), bus::encode(&msg))
            .await?;
        Ok(())
    }

    /// The instance is gone: DELETED, its quota and node claim given back.
    /// Conditional on `pending` (the delete request), so it happens once.
    pub(super) async fn mark_deleted(
        &self,
        tx: &mut WriteTx,
        inst: &Instance,
        pending: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let s = &inst.server;
        let done = sqlx::query(
            "UPDATE instances SET vm_state = 'deleted', task_state = NULL, power_state = 0, \
             pending_request = NULL, pending_action = NULL, action_deadline = NULL, \
             deleted_at = ?, terminated_at = ?, updated_at = ? \
             WHERE id = ? AND deleted_at IS NULL AND COALESCE(pending_request, '') = ?",
        )
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(s.id.clone())
        .bind(
            pending
                .map(str::to_string)
                .unwrap_or_else(|| inst.pending_request.clone().unwrap_or_default()),
        )
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        let f = &s.flavor;
        self.quota
            .give_back(
                tx,
                &s.project_id,
                &[
                    (Resource::INSTANCES, 1),
                    (Resource::CORES, i64::from(f.vcpus)),
                    (Resource::RAM, f.ram_mib as i64),
                ],
            )
            .await?;
        if let Some(node) = &s.node_id {
            self.unclaim(tx, node, f).await?;
        }
        finish_action(tx, &s.id, "delete", None, now).await?;
        Ok(true)
    }

    /// The tail of the instance's serial console (`os-getConsoleOutput`),
    /// asked of its node.
    pub async fn console_output(
        &self,
        ctx: &RequestContext,
        id: &str,
        lines: Option<u32>,
    ) -> Result<String> {
        let inst = self.visible(ctx, id, &rules::CONSOLE_OUTPUT).await?;
        let Some(node) = inst.server.node_name.clone().filter(|_| {
            inst.server.vm_state != VmState::Building
                || inst.server.task_state == Some(TaskState::Spawning)
        }) else {
            return Err(ComputeError::Conflict(msg!(
                "error.compute.no_console",
                "Instance {id} has no console output yet.",
                id = id,
            )));
        };
        let req = ComputeRequest {
            request_id: new_uuid(),
            instance_id: id.to_string(),
            action: ComputeAction::ConsoleLog { lines },
        };
        let reply = match self
            .bus
            .call(
                &bus::compute_queue(&node),
                bus::encode(&req),
                std::time::Duration::from_secs(10),
            )
            .await
        {
            Ok(r) => r,
            Err(bus::BusError::Timeout { .. }) => {
                return Err(ComputeError::Unavailable(msg!(
                    "error.compute.node_unreachable",
                    "The compute node {node} did not answer.",
                    node = node,
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let out: ConsoleOutput =
            bus::decode(&reply).map_err(|e| ComputeError::Internal(e.to_string()))?;
        Ok(out.output.unwrap_or_default())
    }

    // ------------------------------------------------------------ metadata

    pub async fn server_metadata(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(self
            .visible(ctx, id, &rules::METADATA_READ)
            .await?
            .server
            .metadata)
    }

    /// Replaces all metadata (`PUT /servers/{id}/metadata`) or merges it in
    /// (`POST`, `replace` false).
    pub async fn set_metadata(
        &self,
        ctx: &RequestContext,
        id: &str,
        items: BTreeMap<String, String>,
        replace: bool,
    ) -> Result<BTreeMap<String, String>> {
        let inst = self.visible(ctx, id, &rules::METADATA_WRITE).await?;
        self.check_lock(ctx, &inst.server)?;
        let mut merged = if replace {
            BTreeMap::new()
        } else {
            inst.server.metadata.clone()
        };
        merged.extend(items);
        self.validate_metadata(&inst.server.project_id, &merged)
            .await?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM instance_metadata WHERE instance_id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        for (k, v) in &merged {
            sqlx::query("INSERT INTO instance_metadata (instance_id, meta_key, meta_value) VALUES (?, ?, ?)")
                .bind(id.to_string())
                .bind(k.clone())
                .bind(v.clone())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE instances SET updated_at = ? WHERE id = ?")
            .bind(now_micros())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(merged)
    }

    pub async fn delete_metadata_item(
        &self,
        ctx: &RequestContext,
        id: &str,
        key: &str,
    ) -> Result<()> {
        let inst = self.visible(ctx, id, &rules::METADATA_WRITE).await?;
        self.check_lock(ctx, &inst.server)?;
        let done =
            sqlx::query("DELETE FROM instance_metadata WHERE instance_id = ? AND meta_key = ?")
                .bind(id.to_string())
                .bind(key.to_string())
                .execute(&self.db.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(ComputeError::NotFound(msg!(
                "error.compute.metadata_not_found",
                "Metadata item was not found",
            )));
        }
        Ok(())
    }

    /// Nova's metadata rules: keys 1–255 characters, values up to 255, and
    /// at most the project's `metadata_items`.
    async fn validate_metadata(
        &self,
        project_id: &str,
        m: &BTreeMap<String, String>,
    ) -> Result<()> {
        for (k, v) in m {
            if k.is_empty() || k.chars().count() > 255 || v.chars().count() > 255 {
                return Err(ComputeError::Validation(msg!(
                    "error.compute.bad_metadata",
                    "Metadata keys must be 1 to 255 characters and values at most 255.",
                )));
            }
        }
        let u = self
            .quota
            .standing(project_id, Resource::METADATA_ITEMS)
            .await?;
        if u.limit >= 0 && m.len() as i64 > u.limit {
            return Err(ComputeError::OverQuota(OverQuota {
                project_id: project_id.to_string(),
                resource: Resource::METADATA_ITEMS,
                limit: u.limit,
                in_use: 0,
                reserved: 0,
                requested: m.len() as i64,
            }));
        }
        Ok(())
    }

    // ------------------------------------------------------------ actions log, limits, usage

    pub async fn instance_actions(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Vec<InstanceAction>> {
        self.visible(ctx, id, &rules::INSTANCE_ACTIONS).await?;
        let rows = sqlx::query(
            "SELECT id, instance_id, action, request_id, user_id, project_id, message, start_time, \
             finish_time FROM instance_actions WHERE instance_id = ? ORDER BY start_time DESC, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(InstanceAction {
                    id: r.try_get("id")?,
                    instance_id: r.try_get("instance_id")?,
                    action: r.try_get("action")?,
                    request_id: r.try_get("request_id")?,
                    user_id: r.try_get("user_id")?,
                    project_id: r.try_get("project_id")?,
                    message: r.try_get("message")?,
                    start_time: micros_to_time(r.try_get("start_time")?),
                    finish_time: r
                        .try_get::<Option<i64>, _>("finish_time")?
                        .map(micros_to_time),
                })
            })
            .collect()
    }

    /// A project's absolute limits and use (`GET /limits`).
    pub async fn limits(&self, ctx: &RequestContext, project_id: &str) -> Result<AbsoluteLimits> {
        let usage = self.quota.usage(ctx, project_id).await?;
        let get = |r: Resource| usage.iter().find(|u| u.resource == r);
        let limit = |r: Resource| get(r).map_or(-1, |u| u.limit);
        let used = |r: Resource| get(r).map_or(0, |u| u.in_use + u.reserved);
        Ok(AbsoluteLimits {
            max_instances: limit(Resource::INSTANCES),
            max_cores: limit(Resource::CORES),
            max_ram_mib: limit(Resource::RAM),
            max_key_pairs: limit(Resource::KEY_PAIRS),
            max_metadata_items: limit(Resource::METADATA_ITEMS),
            instances_used: used(Resource::INSTANCES),
            cores_used: used(Resource::CORES),
            ram_mib_used: used(Resource::RAM),
        })
    }

    /// One project's usage between `start` and `end` (os-simple-tenant-usage).
    pub async fn project_usage(
        &self,
        ctx: &RequestContext,
        project_id: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<ProjectUsage> {
        enforce(ctx, &rules::USAGE_PROJECT, &Target::project(project_id))?;
        Ok(self
            .usage_between(Some(project_id), start, end)
            .await?
            .pop()
            .unwrap_or_else(|| empty_usage(project_id, start, end)))
    }

    /// Every project's usage (admins).
    pub async fn all_usage(
        &self,
        ctx: &RequestContext,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ProjectUsage>> {
        enforce(ctx, &rules::USAGE_ALL, &Target::none())?;
        self.usage_between(None, start, end).await
    }

    async fn usage_between(
        &self,
        project: Option<&str>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<ProjectUsage>> {
        let (s, e) = (start.timestamp_micros(), end.timestamp_micros());
        let mut sql = format!(
            "SELECT {COLUMNS} FROM instances WHERE created_at < ? AND (terminated_at IS NULL OR terminated_at > ?)"
        );
        if project.is_some() {
            sql.push_str(" AND project_id = ?");
        }
        sql.push_str(" ORDER BY project_id, created_at");
        let mut q = sqlx::query(&sql).bind(e).bind(s);
        if let Some(p) = project {
            q = q.bind(p.to_string());
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        let mut out: Vec<ProjectUsage> = Vec::new();
        for r in &rows {
            let sv = self.instance_from_row(r)?.server;
            let from = sv.launched_at.unwrap_or(sv.created_at).max(start);
            let to = sv.terminated_at.unwrap_or_else(Utc::now).min(end);
            let hours = ((to - from).num_milliseconds().max(0) as f64) / 3_600_000.0;
            if out.last().is_none_or(|u| u.project_id != sv.project_id) {
                out.push(empty_usage(&sv.project_id, start, end));
            }
            let Some(u) = out.last_mut() else { continue };
            u.total_hours += hours;
            u.total_vcpus_usage += hours * f64::from(sv.flavor.vcpus);
            u.total_memory_mb_usage += hours * sv.flavor.ram_mib as f64;
            u.total_local_gb_usage += hours * sv.flavor.disk_gb as f64;
            u.servers.push(ServerUsage {
                instance_id: sv.id.clone(),
                name: sv.name.clone(),
                hours,
                vcpus: sv.flavor.vcpus,
                memory_mb: sv.flavor.ram_mib,
                local_gb: sv.flavor.disk_gb,
                flavor: sv.flavor.name.clone(),
                state: sv.vm_state.as_str().to_string(),
                started_at: sv.launched_at.unwrap_or(sv.created_at),
                ended_at: sv.terminated_at,
            });
        }
        Ok(out)
    }
}

fn empty_usage(project_id: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> ProjectUsage {
    ProjectUsage {
        project_id: project_id.to_string(),
        start,
        stop: end,
        total_hours: 0.0,
        total_vcpus_usage: 0.0,
        total_memory_mb_usage: 0.0,
        total_local_gb_usage: 0.0,
        servers: Vec::new(),
    }
}

/// The libvirt domain name (`OS-EXT-SRV-ATTR:instance_name`), unique per
/// instance: Nova's `instance-%08x` form, from the UUID.
pub fn instance_name(id: &str) -> String {
    format!("instance-{}", id.split('-').next().unwrap_or(id))
}

/// Nova's hostname from the display name: lower-case letters, digits and
/// hyphens, at most 63; with `-N` per instance when several are booted.
fn hostname_for(name: &str, multi: bool, index: u32) -> String {
    let mut h: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    h = h.trim_matches('-').to_string();
    if h.is_empty() {
        h = "server".into();
    }
    if multi {
        h = format!("{h}-{}", index + 1);
    }
    h.chars().take(63).collect()
}

fn validate_user_data(ud: &str) -> Result<String> {
    if ud.len() > MAX_USER_DATA {
        return Err(ComputeError::Validation(msg!(
            "error.compute.user_data_too_long",
            "User data too large. User data must be no larger than {max} bytes once base64 encoded.",
            max = MAX_USER_DATA,
        )));
    }
    if base64::engine::general_purpose::STANDARD
        .decode(ud.trim())
        .is_err()
    {
        return Err(ComputeError::Validation(msg!(
            "error.compute.user_data_not_base64",
            "User data needs to be valid base 64.",
        )));
    }
    Ok(ud.trim().to_string())
}

/// Runs `work` on its own task and waits for it. A client that disconnects
/// cancels its request's future; work that records a change and then sends
/// it to a node must not stop between the two (the request's deadline
/// would still clean up, but only minutes later).
async fn to_the_end<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    use tracing::Instrument;
    // In the caller's span, so its logs keep the request id.
    tokio::spawn(work.in_current_span())
        .await
        .map_err(|e| ComputeError::Internal(format!("the task ended: {e}")))?
}

pub(super) fn secs(s: u64) -> i64 {
    i64::try_from(s)
        .unwrap_or(i64::MAX / 2_000_000)
        .saturating_mul(1_000_000)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

async fn insert_action(
    tx: &mut WriteTx,
    instance_id: &str,
    action: &str,
    ctx: &RequestContext,
    project_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO instance_actions (id, instance_id, action, request_id, user_id, project_id, start_time) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new_uuid())
    .bind(instance_id.to_string())
    .bind(action.to_string())
    .bind(ctx.request_id.clone())
    .bind(ctx.user_id.clone())
    .bind(project_id.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Closes the latest open record of `action` (with the error, if it failed).
pub(super) async fn finish_action(
    tx: &mut WriteTx,
    instance_id: &str,
    action: &str,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE instance_actions SET finish_time = ?, message = ? WHERE instance_id = ? AND action = ? \
         AND finish_time IS NULL",
    )
    .bind(now)
    .bind(error.map(|e| truncate(e, 255)))
    .bind(instance_id.to_string())
    .bind(action.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A request that names a flavor, image or key pair the caller cannot see
/// is a bad request, not a missing server (Nova answers 400 with the same
/// message).
fn bad_reference(e: ComputeError) -> ComputeError {
    match e {
        ComputeError::NotFound(m) => ComputeError::Validation(m),
        e => e,
    }
}
