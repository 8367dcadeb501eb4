//! Image members: sharing a `shared` image with other projects, who accept
//! or reject it.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::records::is_unique_violation;
use super::*;
use crate::db::now_micros;

fn member_row(r: &AnyRow) -> Result<ImageMember> {
    let status: String = r.try_get("status")?;
    Ok(ImageMember {
        image_id: r.try_get("image_id")?,
        member_id: r.try_get("member")?,
        status: MemberStatus::parse(&status)
            .ok_or_else(|| ImageError::Internal(format!("bad member status {status}")))?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

const MEMBER_COLS: &str = "image_id, member, status, created_at, updated_at";

fn require_shared(image: &Image) -> Result<()> {
    if image.visibility == Visibility::Shared {
        Ok(())
    } else {
        Err(ImageError::Forbidden(crate::msg!(
            "error.image.members_need_shared",
            "Only shared images have members; image {id} is {visibility}.",
            id = image.id,
            visibility = image.visibility,
        )))
    }
}

impl ImageService {
    /// The owner (and admins) see every member; a member project sees itself.
    pub async fn list_members(
        &self,
        ctx: &RequestContext,
        image_id: &str,
    ) -> Result<Vec<ImageMember>> {
        let image = self.get_image(ctx, image_id).await?;
        require_shared(&image)?;
        let rows = if allows(
            ctx,
            &rules::GET_MEMBERS,
            &Target::owned_by(image.owner.as_deref()),
        ) {
            sqlx::query(&format!(
                "SELECT {MEMBER_COLS} FROM image_members WHERE image_id = ? ORDER BY created_at, member"
            ))
            .bind(image.id.as_str())
            .fetch_all(&self.db.pool)
            .await?
        } else {
            sqlx::query(&format!(
                "SELECT {MEMBER_COLS} FROM image_members WHERE image_id = ? AND member = ?"
            ))
            .bind(image.id.as_str())
            .bind(ctx.project_id().unwrap_or_default())
            .fetch_all(&self.db.pool)
            .await?
        };
        rows.iter().map(member_row).collect()
    }

    pub async fn get_member(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member_id: &str,
    ) -> Result<ImageMember> {
        let image = self.get_image(ctx, image_id).await?;
        require_shared(&image)?;
        let target = Target {
            member_id: Some(member_id),
            ..Target::owned_by(image.owner.as_deref())
        };
        if !allows(ctx, &rules::GET_MEMBER, &target) {
            return Err(member_not_found(&image.id, member_id));
        }
        self.member_by_id(&image.id, member_id).await
    }

    async fn member_by_id(&self, image_id: &str, member_id: &str) -> Result<ImageMember> {
        let row = sqlx::query(&format!(
            "SELECT {MEMBER_COLS} FROM image_members WHERE image_id = ? AND member = ?"
        ))
        .bind(image_id)
        .bind(member_id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| member_not_found(image_id, member_id))?;
        member_row(&row)
    }

    /// The owner shares the image with `member_id`'s project (status
    /// `pending` until that project answers).
    pub async fn add_member(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member_id: &str,
    ) -> Result<ImageMember> {
        let image = self
            .image_for_change(ctx, image_id, &rules::ADD_MEMBER)
            .await?;
        require_shared(&image)?;
        let member_id = member_id.trim();
        if member_id.is_empty() || member_id.len() > 64 {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.member_id_length",
                "The member must be a project id of 1 to 64 characters."
            )));
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM image_members WHERE image_id = ?")
            .bind(image.id.as_str())
            .fetch_one(&self.db.pool)
            .await?
            .try_get("n")?;
        if count >= MAX_MEMBERS {
            return Err(ImageError::LimitExceeded(crate::msg!(
                "error.image.too_many_members",
                "An image may have at most {max} members.",
                max = MAX_MEMBERS,
            )));
        }
        let now = now_micros();
        let res = sqlx::query(
            "INSERT INTO image_members (image_id, member, status, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)",
        )
        .bind(image.id.as_str())
        .bind(member_id)
        .bind(now)
        .bind(now)
        .execute(&self.db.pool)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(ImageError::Conflict(crate::msg!(
                    "error.image.already_member",
                    "Project {member} is already a member of image {id}.",
                    member = member_id,
                    id = image.id,
                )))
            }
            Err(e) => return Err(ImageError::from(e)),
        }
        self.member_by_id(&image.id, member_id).await
    }

    /// The member project accepts, rejects or re-pends a shared image.
    pub async fn update_member(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member_id: &str,
        status: MemberStatus,
    ) -> Result<ImageMember> {
        let image = self.get_image(ctx, image_id).await?;
        require_shared(&image)?;
        let existing = self.member_by_id(&image.id, member_id).await;
        let target = Target {
            member_id: Some(member_id),
            ..Default::default()
        };
        if !allows(ctx, &rules::MODIFY_MEMBER, &target) {
            // The owner may read members but not answer for them.
            existing?;
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.member_answers",
                "Only the member project can accept or reject a shared image."
            )));
        }
        existing?;
        sqlx::query(
            "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member = ?",
        )
        .bind(status.as_str())
        .bind(now_micros())
        .bind(image.id.as_str())
        .bind(member_id)
        .execute(&self.db.pool)
        .await?;
        self.member_by_id(&image.id, member_id).await
    }

    pub async fn remove_member(
        &self,
        ctx: &RequestContext,
        image_id: &str,
        member_id: &str,
    ) -> Result<()> {
        let image = self
            .image_for_change(ctx, image_id, &rules::DELETE_MEMBER)
            .await?;
        require_shared(&image)?;
        let n = sqlx::query("DELETE FROM image_members WHERE image_id = ? AND member = ?")
            .bind(image.id.as_str())
            .bind(member_id)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(member_not_found(&image.id, member_id));
        }
        Ok(())
    }
}

pub(super) fn member_not_found(image_id: &str, member_id: &str) -> ImageError {
    ImageError::MemberNotFound(crate::msg!(
        "error.image.not_a_member",
        "Project {member} is not a member of image {id}.",
        member = member_id,
        id = image_id,
    ))
}
