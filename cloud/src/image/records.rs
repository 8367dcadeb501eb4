//! Image records: create, show, list, update, delete, tags, (de)activation.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

use super::*;
use crate::db::now_micros;
use crate::page::{clamp_limit, like_contains};
use crate::{Page, SortDir};

/// A value bound into a dynamically built query.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
    Null,
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
            Arg::Null => q.bind(None::<String>),
        };
    }
    q
}

/// Sort expressions never yield NULL, so keyset paging compares plainly and
/// both engines order the same way.
fn sort_expr(key: ImageSortKey) -> &'static str {
    match key {
        ImageSortKey::Name => "COALESCE(i.name, '')",
        ImageSortKey::Owner => "COALESCE(i.owner, '')",
        ImageSortKey::DiskFormat => "COALESCE(i.disk_format, '')",
        ImageSortKey::ContainerFormat => "COALESCE(i.container_format, '')",
        ImageSortKey::Size => "COALESCE(i.size, -1)",
        ImageSortKey::Status => "i.status",
        ImageSortKey::Id => "i.id",
        ImageSortKey::CreatedAt => "i.created_at",
        ImageSortKey::UpdatedAt => "i.updated_at",
        ImageSortKey::Visibility => "i.visibility",
        ImageSortKey::MinDisk => "i.min_disk",
        ImageSortKey::MinRam => "i.min_ram",
    }
}

fn is_int_key(key: ImageSortKey) -> bool {
    matches!(
        key,
        ImageSortKey::Size
            | ImageSortKey::CreatedAt
            | ImageSortKey::UpdatedAt
            | ImageSortKey::MinDisk
            | ImageSortKey::MinRam
    )
}

impl ImageService {
    pub async fn create_image(&self, ctx: &RequestContext, new: NewImage) -> Result<Image> {
        enforce(ctx, &rules::ADD_IMAGE, &Target::owned_by(ctx.project_id()))?;
        // An admin may create an image for another project (or for none);
        // its count goes to that project.
        let owner: Option<String> = match &new.owner {
            Some(asked) => {
                check_new_owner(ctx, asked.as_deref(), true)?;
                asked.clone()
            }
            None => Some(ctx.project_id().unwrap_or_default().to_string()),
        };
        let visibility = new.visibility.unwrap_or(Visibility::Shared);
        if visibility == Visibility::Public
            && !allows(ctx, &rules::PUBLICIZE_IMAGE, &Target::none())
        {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.publicize_admin_only",
                "Only administrators can publish public images."
            )));
        }
        let id = match &new.id {
            Some(id) => uuid::Uuid::parse_str(id)
                .map(|u| u.hyphenated().to_string())
                .map_err(|_| {
                    ImageError::Validation(crate::msg!(
                        "error.image.id_not_uuid",
                        "The image id {id} is not a UUID.",
                        id = id,
                    ))
                })?,
            None => uuid::Uuid::new_v4().hyphenated().to_string(),
        };
        let name = validate_name(new.name)?;
        let min_disk = validate_min("min_disk", new.min_disk.unwrap_or(0))?;
        let min_ram = validate_min("min_ram", new.min_ram.unwrap_or(0))?;
        let tags = validate_tags(&new.tags)?;
        for (k, v) in &new.properties {
            validate_property(k, v)?;
        }
        if new.properties.len() > MAX_PROPERTIES {
            return Err(too_many_properties());
        }
        let now = now_micros();
        // The count is checked and taken in the insert's transaction, under
        // the quota row's lock: concurrent creates cannot pass the limit.
        let mut tx = self.db.begin_write().await?;
        if let Some(owner) = &owner {
            self.quota
                .consume(&mut tx, owner, &[(Resource::IMAGE_COUNT_TOTAL, 1)])
                .await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO images (id, name, owner, visibility, status, disk_format, container_format, \
             min_disk, min_ram, protected, os_hidden, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(name.as_deref())
        .bind(owner.as_deref())
        .bind(visibility.as_str())
        .bind(new.disk_format.map(|f| f.as_str()))
        .bind(new.container_format.map(|f| f.as_str()))
        .bind(min_disk)
        .bind(min_ram)
        .bind(i64::from(new.protected.unwrap_or(false)))
        .bind(i64::from(new.os_hidden.unwrap_or(false)))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if is_unique_violation(&e) {
                return Err(ImageError::Conflict(crate::msg!(
                    "error.image.duplicate_id",
                    "An image with identifier {id} already exists.",
                    id = id,
                )));
            }
            return Err(ImageError::from(e));
        }
        for t in &tags {
            sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES (?, ?)")
                .bind(id.as_str())
                .bind(t.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for (k, v) in &new.properties {
            sqlx::query("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)")
                .bind(id.as_str())
                .bind(k.as_str())
                .bind(v.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.image_by_id(&id).await
    }

    /// The image as `ctx` may see it.
    pub async fn get_image(&self, ctx: &RequestContext, id: &str) -> Result<Image> {
        let image = self.image_by_id(id).await?;
        let membership = self.membership(ctx, &image).await?;
        if allows(ctx, &rules::GET_IMAGE, &image_target(&image, membership)) {
            Ok(image)
        } else {
            Err(ImageError::NotFound(id.to_string()))
        }
    }

    /// The image if `ctx` may change it: not visible → 404, visible but not
    /// ours → 403.
    pub(super) async fn image_for_change(
        &self,
        ctx: &RequestContext,
        id: &str,
        rule: &Rule,
    ) -> Result<Image> {
        let image = self.get_image(ctx, id).await?;
        enforce(ctx, rule, &Target::owned_by(image.owner.as_deref()))?;
        Ok(image)
    }

    pub(super) async fn membership(
        &self,
        ctx: &RequestContext,
        image: &Image,
    ) -> Result<Option<MemberStatus>> {
        let Some(project) = ctx.project_id() else {
            return Ok(None);
        };
        if image.visibility != Visibility::Shared {
            return Ok(None);
        }
        let row = sqlx::query("SELECT status FROM image_members WHERE image_id = ? AND member = ?")
            .bind(image.id.as_str())
            .bind(project)
            .fetch_optional(&self.db.pool)
            .await?;
        Ok(match row {
            Some(r) => MemberStatus::parse(&r.try_get::<String, _>("status")?),
            None => None,
        })
    }

    /// An image with its tags and properties, regardless of who asks.
    pub(super) async fn image_by_id(&self, id: &str) -> Result<Image> {
        let id = parse_image_id(id)?;
        let row = sqlx::query(&format!("SELECT {IMAGE_COLS} FROM images WHERE id = ?"))
            .bind(id.as_str())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| ImageError::NotFound(id.clone()))?;
        let mut images = vec![image_row(&row)?];
        self.fill_tags_and_properties(&mut images).await?;
        images.pop().ok_or_else(|| ImageError::NotFound(id))
    }

    /// Tags and properties for a page of images in two queries.
    async fn fill_tags_and_properties(&self, images: &mut [Image]) -> Result<()> {
        if images.is_empty() {
            return Ok(());
        }
        let marks = vec!["?"; images.len()].join(", ");
        let index: HashMap<String, usize> = images
            .iter()
            .enumerate()
            .map(|(i, im)| (im.id.clone(), i))
            .collect();
        let sql = format!(
            "SELECT image_id, tag FROM image_tags WHERE image_id IN ({marks}) ORDER BY tag"
        );
        let mut tags = sqlx::query(&sql);
        for im in images.iter() {
            tags = tags.bind(im.id.as_str());
        }
        for r in tags.fetch_all(&self.db.pool).await? {
            let id: String = r.try_get("image_id")?;
            if let Some(&i) = index.get(&id) {
                images[i].tags.push(r.try_get("tag")?);
            }
        }
        let sql = format!(
            "SELECT image_id, name, value FROM image_properties WHERE image_id IN ({marks})"
        );
        let mut props = sqlx::query(&sql);
        for im in images.iter() {
            props = props.bind(im.id.as_str());
        }
        for r in props.fetch_all(&self.db.pool).await? {
            let id: String = r.try_get("image_id")?;
            if let Some(&i) = index.get(&id) {
                images[i]
                    .properties
                    .insert(r.try_get("name")?, r.try_get("value")?);
            }
        }
        Ok(())
    }

    /// Images `ctx` may see, filtered, sorted and paged in SQL.
    pub async fn list_images(&self, ctx: &RequestContext, f: &ImageFilter) -> Result<Page<Image>> {
        let mut conds: Vec<String> = Vec::new();
        let mut args: Vec<Arg> = Vec::new();
        let project = ctx.project_id().map(str::to_string);
        let see_all =
            allows(ctx, &rules::LIST_ALL_IMAGES, &Target::none()) && f.admin_all != Some(false);
        let member_cond = |status: Option<MemberStatusFilter>, args: &mut Vec<Arg>| -> String {
            args.push(Arg::Text(project.clone().unwrap_or_default()));
            match status.unwrap_or(MemberStatusFilter::Accepted) {
                MemberStatusFilter::All => "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ?)".to_string(),
                s => {
                    let st = match s {
                        MemberStatusFilter::Pending => "pending",
                        MemberStatusFilter::Rejected => "rejected",
                        _ => "accepted",
                    };
                    format!("EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = i.id AND m.member = ? AND m.status = '{st}')")
                }
            }
        };
        let owner_arg = Arg::Text(project.clone().unwrap_or_default());
        match (f.visibility, see_all) {
            (Some(VisibilityFilter::All), true) => {}
            // As Glance: community images are listed only on request, even
            // for admins (unless their own project owns them).
            (None, true) => {
                args.push(owner_arg);
                conds.push("(i.visibility <> 'community' OR i.owner = ?)".into());
            }
            (None, false) | (Some(VisibilityFilter::All), false) => {
                let m = member_cond(f.member_status, &mut args);
                args.push(owner_arg);
                let community = if f.visibility == Some(VisibilityFilter::All) {
                    " OR i.visibility = 'community'"
                } else {
                    ""
                };
                conds.push(format!(
                    "(i.visibility = 'public' OR (i.visibility = 'shared' AND {m}) OR i.owner = ?{community})"
                ));
            }
            (Some(VisibilityFilter::Public), _) => conds.push("i.visibility = 'public'".into()),
            (Some(VisibilityFilter::Community), _) => {
                conds.push("i.visibility = 'community'".into())
            }
            (Some(VisibilityFilter::Private), true) => {
                conds.push("i.visibility = 'private'".into())
            }
            (Some(VisibilityFilter::Private), false) => {
                args.push(owner_arg);
                conds.push("i.visibility = 'private' AND i.owner = ?".into());
            }
            (Some(VisibilityFilter::Shared), all) => {
                conds.push("i.visibility = 'shared'".into());
                if f.member_status.is_some() {
                    // Shared with the caller's project, in that status.
                    let m = member_cond(f.member_status, &mut args);
                    conds.push(m);
                } else if !all {
                    let m = member_cond(None, &mut args);
                    args.push(owner_arg);
                    conds.push(format!("({m} OR i.owner = ?)"));
                }
            }
        }
        if let Some(o) = &f.owner {
            conds.push("i.owner = ?".into());
            args.push(Arg::Text(o.clone()));
        }
        if let Some(ids) = &f.ids {
            if ids.is_empty() {
                conds.push("1 = 0".into());
            } else {
                conds.push(format!("i.id IN ({})", vec!["?"; ids.len()].join(", ")));
                args.extend(ids.iter().map(|id| Arg::Text(id.clone())));
            }
        }
        if let Some(n) = &f.name {
            conds.push("i.name = ?".into());
            args.push(Arg::Text(n.clone()));
        }
        if let Some(q) = f.query.as_deref().filter(|q| !q.trim().is_empty()) {
            crate::page::check_search(q).map_err(ImageError::Validation)?;
            conds.push("(i.name LIKE ? ESCAPE '!' OR i.id LIKE ? ESCAPE '!')".into());
            let pat = like_contains(q.trim());
            args.push(Arg::Text(pat.clone()));
            args.push(Arg::Text(pat));
        }
        if let Some(s) = f.status {
            conds.push("i.status = ?".into());
            args.push(Arg::Text(s.as_str().into()));
        }
        if let Some(d) = f.disk_format {
            conds.push("i.disk_format = ?".into());
            args.push(Arg::Text(d.as_str().into()));
        }
        if let Some(c) = f.container_format {
            conds.push("i.container_format = ?".into());
            args.push(Arg::Text(c.as_str().into()));
        }
        for t in &f.tags {
            conds.push(
                "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.tag = ?)".into(),
            );
            args.push(Arg::Text(t.clone()));
        }
        for (k, v) in &f.properties {
            conds.push("EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = i.id AND p.name = ? AND p.value = ?)".into());
            args.push(Arg::Text(k.clone()));
            args.push(Arg::Text(v.clone()));
        }
        if let Some(p) = f.protected {
            conds.push("i.protected = ?".into());
            args.push(Arg::Int(i64::from(p)));
        }
        conds.push("i.os_hidden = ?".into());
        args.push(Arg::Int(i64::from(f.os_hidden.unwrap_or(false))));
        if let Some(s) = f.size_min {
            conds.push("i.size >= ?".into());
            args.push(Arg::Int(s));
        }
        if let Some(s) = f.size_max {
            conds.push("i.size <= ?".into());
            args.push(Arg::Int(s));
        }

        let mut sort: Vec<(ImageSortKey, SortDir)> = if f.sort.is_empty() {
            vec![(ImageSortKey::CreatedAt, SortDir::Desc)]
        } else {
            f.sort.clone()
        };
        if !sort.iter().any(|(k, _)| *k == ImageSortKey::Id) {
            let dir = sort.last().map(|s| s.1).unwrap_or_default();
            sort.push((ImageSortKey::Id, dir));
        }

        let where_sql = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM images i{where_sql}");
        let total: i64 = bind_all(sqlx::query(&count_sql), &args)
            .fetch_one(&self.db.pool)
            .await?
            .try_get("n")?;

        // Keyset paging after the marker: rows that sort strictly after it.
        let mut page_conds = conds.clone();
        let mut page_args = args.clone();
        if let Some(marker) = &f.marker {
            let exprs: Vec<String> = sort
                .iter()
                .enumerate()
                .map(|(i, (k, _))| format!("{} AS k{i}", sort_expr(*k)))
                .collect();
            let sql = format!("SELECT {} FROM images i WHERE i.id = ?", exprs.join(", "));
            let marker_not_found = || {
                ImageError::Validation(crate::msg!(
                    "error.image.marker_not_found",
                    "The marker {marker} could not be found.",
                    marker = marker,
                ))
            };
            let marker_id = parse_image_id(marker).map_err(|_| marker_not_found())?;
            // Only an image the caller may see can be a marker (Glance: 400),
            // so paging tells nothing about other projects' private images.
            match self.get_image(ctx, &marker_id).await {
                Err(ImageError::NotFound(_)) => return Err(marker_not_found()),
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            let row = sqlx::query(&sql)
                .bind(marker_id.as_str())
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(marker_not_found)?;
            let mut values = Vec::new();
            for (i, (k, _)) in sort.iter().enumerate() {
                let col = format!("k{i}");
                values.push(if is_int_key(*k) {
                    Arg::Int(row.try_get::<i64, _>(col.as_str())?)
                } else {
                    Arg::Text(row.try_get::<String, _>(col.as_str())?)
                });
            }
            let mut ors = Vec::new();
            for i in 0..sort.len() {
                let mut ands = Vec::new();
                for (j, (k, _)) in sort.iter().enumerate().take(i) {
                    ands.push(format!("{} = ?", sort_expr(*k)));
                    page_args.push(values[j].clone());
                }
                let (k, dir) = sort[i];
                let op = if dir == SortDir::Asc { ">" } else { "<" };
                ands.push(format!("{} {op} ?", sort_expr(k)));
                page_args.push(values[i].clone());
                ors.push(format!("({})", ands.join(" AND ")));
            }
            page_conds.push(format!("({})", ors.join(" OR ")));
        }
        let where_sql = if page_conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", page_conds.join(" AND "))
        };
        let order = sort
            .iter()
            .map(|(k, d)| format!("{} {}", sort_expr(*k), d.sql()))
            .collect::<Vec<_>>()
            .join(", ");
        let limit = clamp_limit(f.limit);
        let offset = f.offset.unwrap_or(0).max(0);
        let cols = IMAGE_COLS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM images i{where_sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        );
        let rows = bind_all(sqlx::query(&sql), &page_args)
            .fetch_all(&self.db.pool)
            .await?;
        let mut items = rows.iter().map(image_row).collect::<Result<Vec<_>>>()?;
        self.fill_tags_and_properties(&mut items).await?;
        Ok(Page { items, total })
    }

    pub async fn update_image(
        &self,
        ctx: &RequestContext,
        id: &str,
        u: ImageUpdate,
    ) -> Result<Image> {
        let image = self.image_for_change(ctx, id, &rules::MODIFY_IMAGE).await?;
        let new_owner = match &u.owner {
            Some(asked) if asked.as_deref() != image.owner.as_deref() => {
                check_new_owner(ctx, asked.as_deref(), false)?;
                Some(asked.clone())
            }
            _ => None,
        };
        if u.visibility == Some(Visibility::Public)
            && image.visibility != Visibility::Public
            && !allows(ctx, &rules::PUBLICIZE_IMAGE, &Target::none())
        {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.publicize_admin_only",
                "Only administrators can publish public images."
            )));
        }
        if (u.disk_format.is_some_and(|d| Some(d) != image.disk_format)
            || u.container_format
                .is_some_and(|c| Some(c) != image.container_format))
            && image.status != ImageStatus::Queued
        {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.formats_locked",
                "The disk and container formats can only be changed while the image is queued."
            )));
        }
        let name = match u.name.clone() {
            Some(n) => Some(validate_name(n)?),
            None => None,
        };
        let tags = match &u.tags {
            Some(t) => Some(validate_tags(t)?),
            None => None,
        };
        for (k, v) in &u.set_properties {
            validate_property(k, v)?;
        }
        for k in &u.remove_properties {
            if !image.properties.contains_key(k) {
                return Err(ImageError::Conflict(crate::msg!(
                    "error.image.no_such_property",
                    "Property {property} does not exist.",
                    property = k,
                )));
            }
        }
        let mut props: BTreeMap<String, String> = image.properties.clone();
        for k in &u.remove_properties {
            props.remove(k);
        }
        props.extend(u.set_properties.clone());
        if props.len() > MAX_PROPERTIES {
            return Err(too_many_properties());
        }
        let min_disk = u
            .min_disk
            .map(|v| validate_min("min_disk", v))
            .transpose()?;
        let min_ram = u.min_ram.map(|v| validate_min("min_ram", v)).transpose()?;

        let mut tx = self.db.begin_write().await?;
        let mut sets = vec!["updated_at = ?".to_string()];
        let mut args = vec![Arg::Int(now_micros())];
        if let Some(to) = &new_owner {
            self.move_owner(&mut tx, &image.id, to.as_deref()).await?;
            sets.push("owner = ?".into());
            args.push(match to {
                Some(o) => Arg::Text(o.clone()),
                None => Arg::Null,
            });
        }
        match name {
            Some(Some(n)) => {
                sets.push("name = ?".into());
                args.push(Arg::Text(n));
            }
            Some(None) => sets.push("name = NULL".into()),
            None => {}
        }
        if let Some(v) = u.visibility {
            sets.push("visibility = ?".into());
            args.push(Arg::Text(v.as_str().into()));
        }
        if let Some(d) = u.disk_format {
            sets.push("disk_format = ?".into());
            args.push(Arg::Text(d.as_str().into()));
        }
        if let Some(c) = u.container_format {
            sets.push("container_format = ?".into());
            args.push(Arg::Text(c.as_str().into()));
        }
        if let Some(v) = min_disk {
            sets.push("min_disk = ?".into());
            args.push(Arg::Int(v));
        }
        if let Some(v) = min_ram {
            sets.push("min_ram = ?".into());
            args.push(Arg::Int(v));
        }
        if let Some(v) = u.protected {
            sets.push("protected = ?".into());
            args.push(Arg::Int(i64::from(v)));
        }
        if let Some(v) = u.os_hidden {
            sets.push("os_hidden = ?".into());
            args.push(Arg::Int(i64::from(v)));
        }
        args.push(Arg::Text(image.id.clone()));
        let sql = format!("UPDATE images SET {} WHERE id = ?", sets.join(", "));
        bind_all(sqlx::query(&sql), &args).execute(&mut *tx).await?;
        if let Some(tags) = tags {
            sqlx::query("DELETE FROM image_tags WHERE image_id = ?")
                .bind(image.id.as_str())
                .execute(&mut *tx)
                .await?;
            for t in &tags {
                sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES (?, ?)")
                    .bind(image.id.as_str())
                    .bind(t.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for k in &u.remove_properties {
            sqlx::query("DELETE FROM image_properties WHERE image_id = ? AND name = ?")
                .bind(image.id.as_str())
                .bind(k.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for (k, v) in &u.set_properties {
            sqlx::query("DELETE FROM image_properties WHERE image_id = ? AND name = ?")
                .bind(image.id.as_str())
                .bind(k.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)")
                .bind(image.id.as_str())
                .bind(k.as_str())
                .bind(v.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.image_by_id(&image.id).await
    }

    /// Hands the image's count and stored bytes from its owner to `to`
    /// in `tx` (the row locked first, so an upload cannot finish meanwhile).
    /// An image receiving data is refused: its bytes are held under the old
    /// owner.
    async fn move_owner(
        &self,
        tx: &mut crate::db::WriteTx,
        id: &str,
        to: Option<&str>,
    ) -> Result<()> {
        let sql = self
            .db
            .for_update("SELECT owner, size, status FROM images WHERE id = ?");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut **tx).await? else {
            return Err(ImageError::NotFound(id.to_string()));
        };
        let from: Option<String> = row.try_get("owner")?;
        let size: Option<i64> = row.try_get("size")?;
        let status: String = row.try_get("status")?;
        if status == ImageStatus::Saving.as_str() {
            return Err(ImageError::Conflict(crate::msg!(
                "error.image.owner_change_saving",
                "The owner of image {id} cannot change while its data is uploading.",
                id = id,
            )));
        }
        let items = [
            (Resource::IMAGE_COUNT_TOTAL, 1),
            (Resource::IMAGE_SIZE_TOTAL, size.unwrap_or(0).max(0)),
        ];
        self.quota.transfer(tx, from.as_deref(), to, &items).await?;
        Ok(())
    }

    pub async fn delete_image(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        let image = self.image_for_change(ctx, id, &rules::DELETE_IMAGE).await?;
        if image.protected {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.protected",
                "Image {id} is protected and cannot be deleted.",
                id = image.id,
            )));
        }
        self.delete_record(&image.id).await?;
        if let Err(e) = self.store.delete(&image.id).await {
            // The record is gone either way; a leftover file is logged.
            tracing::error!(image = %image.id, error = %e, "could not remove image data");
        }
        Ok(())
    }

    /// Deletes the row and gives its count and bytes back to the owner's
    /// quota, in one transaction. The row goes before the data: an upload
    /// finishing meanwhile finds no row and removes its own data.
    pub(super) async fn delete_record(&self, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        // Locked, so an upload activating meanwhile cannot change the size
        // being given back.
        let sql = self
            .db
            .for_update("SELECT owner, size FROM images WHERE id = ?");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(());
        };
        let owner: Option<String> = row.try_get("owner")?;
        let size: Option<i64> = row.try_get("size")?;
        sqlx::query("DELETE FROM images WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(owner) = owner {
            self.quota
                .give_back(
                    &mut tx,
                    &owner,
                    &[
                        (Resource::IMAGE_COUNT_TOTAL, 1),
                        (Resource::IMAGE_SIZE_TOTAL, size.unwrap_or(0).max(0)),
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Admin only: an active image's data can no longer be downloaded (or
    /// booted) by non-admins.
    pub async fn deactivate_image(&self, ctx: &RequestContext, id: &str) -> Result<Image> {
        self.set_active(ctx, id, false).await
    }

    pub async fn reactivate_image(&self, ctx: &RequestContext, id: &str) -> Result<Image> {
        self.set_active(ctx, id, true).await
    }

    async fn set_active(&self, ctx: &RequestContext, id: &str, active: bool) -> Result<Image> {
        let image = self.get_image(ctx, id).await?;
        let rule = if active {
            &rules::REACTIVATE
        } else {
            &rules::DEACTIVATE
        };
        enforce(ctx, rule, &Target::owned_by(image.owner.as_deref()))?;
        let (from, to) = if active {
            (ImageStatus::Deactivated, ImageStatus::Active)
        } else {
            (ImageStatus::Active, ImageStatus::Deactivated)
        };
        if image.status == to {
            return Ok(image);
        }
        if image.status != from {
            return Err(ImageError::Forbidden(if active {
                crate::msg!(
                    "error.image.reactivate_status",
                    "Not allowed to reactivate an image in status '{status}'.",
                    status = image.status,
                )
            } else {
                crate::msg!(
                    "error.image.deactivate_status",
                    "Not allowed to deactivate an image in status '{status}'.",
                    status = image.status,
                )
            }));
        }
        sqlx::query("UPDATE images SET status = ?, updated_at = ? WHERE id = ? AND status = ?")
            .bind(to.as_str())
            .bind(now_micros())
            .bind(image.id.as_str())
            .bind(from.as_str())
            .execute(&self.db.pool)
            .await?;
        self.image_by_id(&image.id).await
    }

    pub async fn add_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<()> {
        let image = self.image_for_change(ctx, id, &rules::MODIFY_IMAGE).await?;
        validate_tag(tag)?;
        if image.tags.iter().any(|t| t == tag) {
            return Ok(());
        }
        if image.tags.len() >= MAX_TAGS {
            return Err(too_many_tags());
        }
        let res = sqlx::query("INSERT INTO image_tags (image_id, tag) VALUES (?, ?)")
            .bind(image.id.as_str())
            .bind(tag)
            .execute(&self.db.pool)
            .await;
        match res {
            Err(e) if !is_unique_violation(&e) => return Err(ImageError::from(e)),
            _ => {}
        }
        self.touch(&image.id).await
    }

    pub async fn remove_tag(&self, ctx: &RequestContext, id: &str, tag: &str) -> Result<()> {
        let image = self.image_for_change(ctx, id, &rules::MODIFY_IMAGE).await?;
        let n = sqlx::query("DELETE FROM image_tags WHERE image_id = ? AND tag = ?")
            .bind(image.id.as_str())
            .bind(tag)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(ImageError::MemberNotFound(crate::msg!(
                "error.image.tag_not_found",
                "Tag {tag} not found on image {id}.",
                tag = tag,
                id = image.id,
            )));
        }
        self.touch(&image.id).await
    }

    async fn touch(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE images SET updated_at = ? WHERE id = ?")
            .bind(now_micros())
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// A project's image count and stored bytes against its limits.
    pub async fn usage(&self, ctx: &RequestContext, project_id: &str) -> Result<ImageUsage> {
        enforce(ctx, &rules::GET_USAGE, &Target::project(project_id))?;
        let images = self
            .quota
            .standing(project_id, Resource::IMAGE_COUNT_TOTAL)
            .await?;
        let bytes = self
            .quota
            .standing(project_id, Resource::IMAGE_SIZE_TOTAL)
            .await?;
        Ok(ImageUsage {
            images: images.in_use,
            // Bytes of uploads in flight count: they are held.
            bytes: bytes.in_use.saturating_add(bytes.reserved),
            max_images: images.limit,
            max_bytes: bytes.limit,
        })
    }

    /// Would a file of `size` bytes be accepted as a new image of the
    /// caller's project now? The same typed error the upload would give
    /// (the largest image accepted, the project's byte quota), for a form
    /// to refuse before creating anything. Advisory: the upload itself
    /// reserves for real.
    pub async fn check_upload_fits(&self, ctx: &RequestContext, size: i64) -> Result<()> {
        let Some(project) = ctx.project_id().map(str::to_string) else {
            return Err(ImageError::Forbidden(crate::msg!(
                "error.image.upload_needs_project",
                "Uploading an image needs a project-scoped token."
            )));
        };
        enforce(ctx, &rules::UPLOAD_IMAGE, &Target::project(&project))?;
        if size < 0 {
            return Err(ImageError::Validation(crate::msg!(
                "error.image.negative_size",
                "The image size must be 0 or more."
            )));
        }
        check_max_image_size(&self.cfg, u64::try_from(size).unwrap_or(0))?;
        self.quota
            .check(&project, Resource::IMAGE_COUNT_TOTAL, 1)
            .await?;
        self.quota
            .check(&project, Resource::IMAGE_SIZE_TOTAL, size)
            .await?;
        Ok(())
    }
}

/// Glance's `image_size_cap`: a fixed limit, not a quota.
pub(super) fn check_max_image_size(cfg: &ImageConfig, bytes: u64) -> Result<()> {
    let max = u64::try_from(cfg.max_image_size).unwrap_or(u64::MAX);
    if bytes > max {
        return Err(ImageError::LimitExceeded(crate::msg!(
            "error.image.too_large",
            "The image is larger than the largest image accepted ({max} bytes).",
            max = max,
        )));
    }
    Ok(())
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.message().contains("UNIQUE")
                || d.message().contains("Duplicate")
        }
        _ => false,
    }
}
