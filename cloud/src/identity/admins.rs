//! The cloud always keeps an administrator. A change that takes the admin
//! role away from its last holder — disabling or deleting the user, its
//! group, the project, domain or grant that carries the role — is refused
//! with [`IdentityError::LastAdmin`]: afterwards nobody could administer
//! the cloud (or undo the change) through the API.

use sqlx::Row;

use super::error::{IdentityError, Result};
use super::IdentityService;
use crate::db::WriteTx;

/// Enabled users in enabled domains who hold `admin` (or a role implying
/// it), directly or through a group, on the system, an enabled domain or an
/// enabled project.
const ADMIN_COUNT_SQL: &str = "\
SELECT COUNT(*) AS n FROM users u JOIN domains d ON d.id = u.domain_id \
WHERE u.enabled = 1 AND d.enabled = 1 AND EXISTS ( \
  SELECT 1 FROM role_assignments ra \
  WHERE ra.role_id IN ( \
      SELECT id FROM roles WHERE name = 'admin' AND domain_id = '' \
      UNION SELECT ir.prior_role_id FROM implied_roles ir \
        JOIN roles r ON r.id = ir.implied_role_id WHERE r.name = 'admin' AND r.domain_id = '') \
    AND ((ra.actor_type = 'user' AND ra.actor_id = u.id) \
      OR (ra.actor_type = 'group' AND ra.actor_id IN \
          (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = u.id))) \
    AND (ra.target_type = 'system' \
      OR (ra.target_type = 'domain' AND ra.target_id IN (SELECT id FROM domains WHERE enabled = 1)) \
      OR (ra.target_type = 'project' AND ra.target_id IN (SELECT id FROM projects WHERE enabled = 1))))";

/// A write transaction for a change that may remove an administrator,
/// with the number of administrators before it.
pub(crate) struct AdminChange {
    pub tx: WriteTx,
    before: i64,
}

impl IdentityService {
    /// Begins a change that may take the admin role from someone. Every
    /// such change first locks the `admin` role's row, so two of them (two
    /// admins disabling each other) run one after the other and the second
    /// sees the first's result.
    pub(crate) async fn begin_admin_change(&self) -> Result<AdminChange> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            &self
                .db
                .for_update("SELECT id FROM roles WHERE name = 'admin' AND domain_id = ''"),
        )
        .fetch_optional(&mut *tx)
        .await?;
        let before = admin_count(&mut tx).await?;
        Ok(AdminChange { tx, before })
    }

    /// Commits the change unless it took the last administrator away (a
    /// cloud that had none, before bootstrap, is not held to this).
    pub(crate) async fn commit_admin_change(&self, change: AdminChange) -> Result<()> {
        let AdminChange { mut tx, before } = change;
        if before > 0 && admin_count(&mut tx).await? == 0 {
            return Err(IdentityError::LastAdmin);
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn admin_count(tx: &mut WriteTx) -> Result<i64> {
    Ok(sqlx::query(ADMIN_COUNT_SQL)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?)
}
