//! Role checks shared by the services (secure RBAC: admin ⊃ member ⊃ reader).
//! Each service maps [`Denied`] into its own error enum.

use crate::RequestContext;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

pub fn require_admin(ctx: &RequestContext, action: &str) -> Result<(), Denied> {
    if ctx.is_admin() {
        Ok(())
    } else {
        Err(Denied(format!(
            "You are not authorized to perform the requested action: {action}."
        )))
    }
}

/// Admin, or the user acting on itself.
pub fn require_admin_or_self(
    ctx: &RequestContext,
    user_id: &str,
    action: &str,
) -> Result<(), Denied> {
    if ctx.is_admin() || ctx.user_id == user_id {
        Ok(())
    } else {
        require_admin(ctx, action)
    }
}
