//! The conductor: applies what agents report (heartbeats, results, power
//! states) and gives up on requests no agent answers. Every server runs it
//! on the one conductor queue; each event is handled by one of them, and
//! every change is conditional on the instance still waiting for that very
//! request, so a redelivered event changes nothing.

use std::time::Duration;

use bus::messages::{
    ActionResult, AgentEvent, ComputeAction, ComputeRequest, InstancePower, Outcome, PowerState,
};
use sqlx::Row;

use super::servers::{finish_action, secs};
use super::{ComputeService, Result, VmState};
use crate::db::now_micros;

impl ComputeService {
    /// Consumes the conductor queue until the bus closes. A malformed or
    /// newer-version event is dropped (logged) rather than retried forever;
    /// one that fails on the database is requeued.
    pub async fn run_conductor(&self) -> Result<()> {
        let mut consumer = self.bus.consume(bus::CONDUCTOR_QUEUE, 32).await?;
        while let Some(delivery) = consumer.next().await {
            let event: AgentEvent = match bus::decode(&delivery.body) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(error = %e, "dropping an unreadable agent event");
                    delivery.ack().await?;
                    continue;
                }
            };
            match self.handle_event(event).await {
                Ok(()) => delivery.ack().await?,
                Err(e) => {
                    tracing::error!(error = %crate::error::Chain(&e), "agent event failed; requeued");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    delivery.nack(true).await?;
                }
            }
        }
        Ok(())
    }

    pub async fn handle_event(&self, event: AgentEvent) -> Result<()> {
        match event {
            AgentEvent::Heartbeat(report) => self.record_heartbeat(&report).await,
            AgentEvent::Result(result) => self.apply_result(result).await,
            AgentEvent::PowerStates { node, states } => {
                self.sync_power_states(&node, &states).await
            }
        }
    }

    async fn apply_result(&self, r: ActionResult) -> Result<()> {
        let Some(inst) = self.load(&r.instance_id).await? else {
            return Ok(());
        };
        if inst.pending_request.as_deref() != Some(r.request_id.as_str()) {
            tracing::debug!(instance = %r.instance_id, request = %r.request_id, "stale result ignored");
            return Ok(());
        }
        let action = inst.pending_action.clone().unwrap_or_default();
        let now = now_micros();
        match (&r.outcome, action.as_str()) {
            (Outcome::Done { .. }, "delete") => {
                let mut tx = self.db.begin_write().await?;
                let deleted = self
                    .mark_deleted(&mut tx, &inst, Some(&r.request_id), now)
                    .await?;
                tx.commit().await?;
                if deleted {
                    self.changed(&inst.server.id, &inst.server.project_id);
                }
            }
            (
                Outcome::Failed {
                    message,
                    retry_elsewhere,
                },
                "spawn",
            ) => {
                let f = &inst.server.flavor;
                if let Some(node) = &inst.server.node_id {
                    let mut conn = self.db.pool.acquire().await?;
                    self.unclaim(&mut conn, node, f).await?;
                }
                tracing::warn!(instance = %inst.server.id, node = %r.node, error = %message, "spawn failed");
                if *retry_elsewhere && inst.tries < self.cfg.max_attempts {
                    self.reschedule(inst, message.clone()).await?;
                } else {
                    self.fail_build(
                        &r.instance_id,
                        Some(&r.request_id),
                        &format!("Build of instance {} failed: {message}", r.instance_id),
                        None,
                    )
                    .await?;
                }
            }
            (Outcome::Done { power_state }, _) => {
                let vm = match action.as_str() {
                    "spawn" | "start" | "reboot" | "unpause" | "resume" => VmState::Active,
                    "stop" => VmState::Stopped,
                    "pause" => VmState::Paused,
                    "suspend" => VmState::Suspended,
                    _ => inst.server.vm_state,
                };
                let mut tx = self.db.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE instances SET vm_state = ?, task_state = NULL, power_state = ?, \
                     pending_request = NULL, pending_action = NULL, action_deadline = NULL, \
                     launched_at = COALESCE(launched_at, ?), updated_at = ? WHERE id = ? AND pending_request = ?",
                )
                .bind(vm.as_str())
                .bind(i64::from(power_state.code()))
                .bind(now)
                .bind(now)
                .bind(r.instance_id.clone())
                .bind(r.request_id.clone())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    let logged = if action == "spawn" {
                        "create"
                    } else {
                        action.as_str()
                    };
                    finish_action(&mut tx, &r.instance_id, logged, None, now).await?;
                }
                tx.commit().await?;
                if done.rows_affected() == 1 {
                    self.changed(&inst.server.id, &inst.server.project_id);
                }
            }
            (Outcome::Failed { message, .. }, _) => {
                // The action did not happen: the instance keeps its state and
                // the user reads why in its fault and action log.
                let vm_state = if action == "delete" {
                    "error"
                } else {
                    inst.server.vm_state.as_str()
                };
                let mut tx = self.db.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE instances SET vm_state = ?, task_state = NULL, pending_request = NULL, \
                     pending_action = NULL, action_deadline = NULL, fault_code = 500, fault_message = ?, \
                     fault_at = ?, updated_at = ? WHERE id = ? AND pending_request = ?",
                )
                .bind(vm_state)
                .bind(message.chars().take(255).collect::<String>())
                .bind(now)
                .bind(now)
                .bind(r.instance_id.clone())
                .bind(r.request_id.clone())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    finish_action(&mut tx, &r.instance_id, &action, Some(message), now).await?;
                }
                tx.commit().await?;
                if done.rows_affected() == 1 {
                    self.changed(&inst.server.id, &inst.server.project_id);
                }
            }
        }
        Ok(())
    }

    /// Tries the boot on another node. The node given up on is told to
    /// delete whatever it may have built (it may be alive but slow): that
    /// message queues behind the spawn, so it is undone even if done late.
    async fn reschedule(&self, inst: super::servers::Instance, last_error: String) -> Result<()> {
        if let Some(node) = &inst.server.node_name {
            let undo = ComputeRequest {
                request_id: super::new_uuid(),
                instance_id: inst.server.id.clone(),
                action: ComputeAction::Delete,
            };
            if let Err(e) = self
                .bus
                .publish(&bus::compute_queue(node), bus::encode(&undo))
                .await
            {
                tracing::warn!(node, error = %e, "could not tell the node to clean up");
            }
        }
        self.schedule_and_spawn(inst, Some(last_error)).await
    }

    /// What libvirt really says. An active instance found shut off is
    /// stopped, as Nova's power-state sync does; a domain the database
    /// does not know (or knows deleted) is removed from the node.
    async fn sync_power_states(&self, node: &str, states: &[InstancePower]) -> Result<()> {
        let now = now_micros();
        for s in states {
            let row = sqlx::query(
                "SELECT vm_state, task_state, node_name, project_id FROM instances WHERE id = ?",
            )
            .bind(s.instance_id.clone())
            .fetch_optional(&self.db.pool)
            .await?;
            let orphan = match &row {
                None => true,
                Some(r) => {
                    let vm: String = r.try_get("vm_state")?;
                    let owner: Option<String> = r.try_get("node_name")?;
                    vm == "deleted" || owner.as_deref() != Some(node)
                }
            };
            if orphan {
                let undo = ComputeRequest {
                    request_id: super::new_uuid(),
                    instance_id: s.instance_id.clone(),
                    action: ComputeAction::Delete,
                };
                self.bus
                    .publish(&bus::compute_queue(node), bus::encode(&undo))
                    .await?;
                continue;
            }
            let stop =
                s.power_state == PowerState::Shutdown || s.power_state == PowerState::Crashed;
            // Only rows that change are written, so a change is announced
            // once and an unchanged report costs no write.
            let power = i64::from(s.power_state.code());
            let done = sqlx::query(
                "UPDATE instances SET power_state = ?, \
                 vm_state = CASE WHEN ? AND vm_state = 'active' THEN 'stopped' ELSE vm_state END, \
                 updated_at = ? \
                 WHERE id = ? AND node_name = ? AND task_state IS NULL AND deleted_at IS NULL \
                 AND (power_state <> ? OR (? AND vm_state = 'active'))",
            )
            .bind(power)
            .bind(stop)
            .bind(now)
            .bind(s.instance_id.clone())
            .bind(node.to_string())
            .bind(power)
            .bind(stop)
            .execute(&self.db.pool)
            .await?;
            if done.rows_affected() == 1 {
                if let Some(r) = &row {
                    let project: String = r.try_get("project_id")?;
                    self.changed(&s.instance_id, &project);
                }
            }
        }
        Ok(())
    }

    /// Gives up on requests past their deadline: a boot is tried on another
    /// node (or goes to ERROR), a delete completes (the node's power-state
    /// sync removes the domain if it comes back), any other action ends
    /// with a fault. Returns how many were given up on.
    pub async fn sweep(&self) -> Result<u64> {
        let now = now_micros();
        let mut n = self.sweep_unscheduled(now).await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM instances WHERE action_deadline IS NOT NULL AND action_deadline < ? AND pending_request IS NOT NULL",
        )
        .bind(now)
        .fetch_all(&self.db.pool)
        .await?;
        for id in ids {
            let Some(inst) = self.load(&id).await? else {
                continue;
            };
            let (Some(request_id), Some(node)) =
                (inst.pending_request.clone(), inst.server.node_name.clone())
            else {
                continue;
            };
            let message = format!("The compute node {node} did not answer in time.");
            let outcome = if inst.pending_action.as_deref() == Some("delete") {
                Outcome::Done {
                    power_state: PowerState::NoState,
                }
            } else {
                Outcome::Failed {
                    message,
                    retry_elsewhere: true,
                }
            };
            self.apply_result(ActionResult {
                request_id,
                instance_id: id,
                node,
                outcome,
            })
            .await?;
            n += 1;
        }
        Ok(n)
    }

    /// Schedules the boots a server committed but never scheduled (it died
    /// between the two): `scheduling`, no request out, untouched for
    /// [`UNSCHEDULED_GRACE_SECS`]. Scheduling takes milliseconds, and the
    /// spawn's conditional update keeps a boot another server is still
    /// scheduling from being sent twice.
    async fn sweep_unscheduled(&self, now: i64) -> Result<u64> {
        let stale = now - secs(UNSCHEDULED_GRACE_SECS);
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM instances WHERE vm_state = 'building' AND task_state = 'scheduling' \
             AND pending_request IS NULL AND deleted_at IS NULL AND updated_at < ?",
        )
        .bind(stale)
        .fetch_all(&self.db.pool)
        .await?;
        let mut n = 0;
        for id in ids {
            if let Some(inst) = self.load(&id).await? {
                tracing::warn!(instance = %id, "scheduling a boot its server never scheduled");
                self.schedule_and_spawn(inst, None).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// How long a committed boot may wait for its first scheduling before the
/// sweep takes it over.
const UNSCHEDULED_GRACE_SECS: u64 = 60;
