//! Flavors (Nova's flavors, os-flavor-access and os-extra_specs): the sizes
//! instances are built with, who may use a private one, and free-form specs.
//!
//! Visibility is Nova's: admins see every flavor; anyone else sees public
//! flavors and the private ones their project was given access to, and a
//! private flavor it has no access to does not exist for it (404).

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::*;
use crate::db::{is_unique_violation, micros_to_time, now_micros};
use crate::policy::{compute as rules, enforce, Target};
use crate::RequestContext;

/// Nova's `CONF.api.max_limit`: the most items one page holds.
pub const MAX_PAGE: usize = 1000;
/// The flavors table's limits (VARCHAR sizes) and Nova's (`db.MAX_INT`).
const MAX_INT: u64 = 0x7FFF_FFFF;
const MAX_DESCRIPTION: usize = 1024;
/// Nova's SQL_SP_FLOAT_MAX.
const MAX_RXTX: f64 = 3.40282e38;

const FLAVOR_COLUMNS: &str = "f.id, f.name, f.description, f.vcpus, f.ram_mib, f.disk_gb, \
     f.ephemeral_gb, f.swap_mib, f.rxtx_factor, f.is_public, f.created_at";

/// A visibility condition on `f` for a caller that is not an admin: public,
/// or private with access for the caller's project (bind the project id).
const VISIBLE: &str = "(f.is_public = 1 OR EXISTS (SELECT 1 FROM flavor_projects fp \
     WHERE fp.flavor_id = f.id AND fp.project_id = ?))";

/// A value bound into a built query.
enum Arg {
    Text(String),
    Int(i64),
}

fn flavor_of(r: &AnyRow) -> Result<Flavor> {
    Ok(Flavor {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        vcpus: u32::try_from(r.try_get::<i64, _>("vcpus")?).unwrap_or(0),
        ram_mib: u64::try_from(r.try_get::<i64, _>("ram_mib")?).unwrap_or(0),
        disk_gb: u64::try_from(r.try_get::<i64, _>("disk_gb")?).unwrap_or(0),
        ephemeral_gb: u64::try_from(r.try_get::<i64, _>("ephemeral_gb")?).unwrap_or(0),
        swap_mib: u64::try_from(r.try_get::<i64, _>("swap_mib")?).unwrap_or(0),
        rxtx_factor: r.try_get("rxtx_factor")?,
        is_public: r.try_get::<i64, _>("is_public")? != 0,
        extra_specs: BTreeMap::new(),
        created_at: micros_to_time(r.try_get("created_at")?),
    })
}

fn flavor_exists_name(name: &str) -> ComputeError {
    ComputeError::Conflict(crate::msg!(
        "error.compute.flavor_name_exists",
        "Flavor with name {name} already exists.",
        name = name,
    ))
}

fn flavor_exists_id(id: &str) -> ComputeError {
    ComputeError::Conflict(crate::msg!(
        "error.compute.flavor_id_exists",
        "Flavor with ID {id} already exists.",
        id = id,
    ))
}

fn below_minimum(field: &str, value: u64, min: u64) -> ComputeError {
    ComputeError::Validation(crate::msg!(
        "error.compute.field_below_minimum",
        "Invalid input for field/attribute {field}. Value: {value}. {value} is less than the minimum of {min}",
        field = field,
        value = value,
        min = min,
    ))
}

fn above_maximum(field: &str, value: u64, max: u64) -> ComputeError {
    ComputeError::Validation(crate::msg!(
        "error.compute.field_above_maximum",
        "Invalid input for field/attribute {field}. Value: {value}. {value} is greater than the maximum of {max}",
        field = field,
        value = value,
        max = max,
    ))
}

/// Nova's `name` format: 1 to 255 printable characters, no leading or
/// trailing whitespace.
fn valid_flavor_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=255).contains(&n)
        && name.trim() == name
        && crate::text::control_char_in_name(name).is_none()
}

/// Nova's flavor id pattern `^(?! )[a-zA-Z0-9. _-]+(?<! )$`, 1 to 255.
fn valid_flavor_id(id: &str) -> bool {
    (1..=255).contains(&id.len())
        && !id.starts_with(' ')
        && !id.ends_with(' ')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ' ' | '_' | '-'))
}

fn check_description(d: &Option<String>) -> Result<()> {
    if let Some(d) = d {
        if d.chars().count() > MAX_DESCRIPTION || crate::text::control_char_in_name(d).is_some() {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.flavor_description_invalid",
                "Invalid input for field/attribute description: a flavor description is at most {max} printable characters.",
                max = MAX_DESCRIPTION,
            )));
        }
    }
    Ok(())
}

/// Nova's extra spec key pattern `^[a-zA-Z0-9-_:. ]{1,255}$`; values at
/// most 255 characters.
fn check_extra_spec(key: &str, value: &str) -> Result<()> {
    let key_ok = (1..=255).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | ' '));
    if !key_ok {
        return Err(ComputeError::Validation(crate::msg!(
            "error.compute.extra_spec_key_invalid",
            "Invalid input for field/attribute extra_specs. Additional properties are not allowed ('{key}' was unexpected): a key is 1 to 255 letters, digits, '-', '_', ':', '.' or spaces.",
            key = key,
        )));
    }
    if value.chars().count() > 255 || crate::text::control_char_in_name(value).is_some() {
        return Err(ComputeError::Validation(crate::msg!(
            "error.compute.extra_spec_value_invalid",
            "Invalid input for field/attribute {key}: an extra spec value is at most 255 printable characters.",
            key = key,
        )));
    }
    Ok(())
}

impl ComputeService {
    /// Flavors as Nova lists them: ordered by id, `marker` the last id of
    /// the previous page (it must be a flavor the caller sees), at most
    /// [`MAX_PAGE`] (or `limit`) of them.
    pub async fn list_flavors(
        &self,
        ctx: &RequestContext,
        filter: &FlavorFilter,
    ) -> Result<Vec<Flavor>> {
        enforce(ctx, &rules::FLAVOR_READ, &Target::none())?;
        let admin = ctx.is_admin();
        let project = ctx.project_id().unwrap_or_default().to_string();
        let mut sql = format!("SELECT {FLAVOR_COLUMNS} FROM flavors f WHERE 1 = 1");
        let mut args: Vec<Arg> = Vec::new();
        match (admin, filter.is_public) {
            (true, None) => {}
            // Nova: `is_public=true` also shows the caller's private ones.
            (_, Some(true)) | (false, None) => {
                sql.push_str(&format!(" AND {VISIBLE}"));
                args.push(Arg::Text(project.clone()));
            }
            (true, Some(false)) => sql.push_str(" AND f.is_public = 0"),
            (false, Some(false)) => {
                sql.push_str(&format!(" AND f.is_public = 0 AND {VISIBLE}"));
                args.push(Arg::Text(project.clone()));
            }
        }
        if let Some(min) = filter.min_ram {
            sql.push_str(" AND f.ram_mib >= ?");
            args.push(Arg::Int(i64::try_from(min).unwrap_or(i64::MAX)));
        }
        if let Some(min) = filter.min_disk {
            sql.push_str(" AND f.disk_gb >= ?");
            args.push(Arg::Int(i64::try_from(min).unwrap_or(i64::MAX)));
        }
        if let Some(marker) = &filter.marker {
            if self.visible_flavor(ctx, marker).await?.is_none() {
                return Err(ComputeError::Validation(crate::msg!(
                    "error.compute.marker_not_found",
                    "marker [{marker}] not found",
                    marker = marker,
                )));
            }
            sql.push_str(" AND f.id > ?");
            args.push(Arg::Text(marker.clone()));
        }
        let limit = filter.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        sql.push_str(" ORDER BY f.id LIMIT ?");
        args.push(Arg::Int(i64::try_from(limit).unwrap_or(0)));
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = match a {
                Arg::Text(t) => q.bind(t.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        let rows = q.fetch_all(&self.db.pool).await?;
        let mut flavors = rows.iter().map(flavor_of).collect::<Result<Vec<_>>>()?;
        self.fill_extra_specs(&mut flavors).await?;
        Ok(flavors)
    }

    /// One flavor the caller may see (admins: any; others: public, or
    /// private with their project's access), else 404.
    pub async fn get_flavor(&self, ctx: &RequestContext, id: &str) -> Result<Flavor> {
        enforce(ctx, &rules::FLAVOR_READ, &Target::none())?;
        let mut flavor = self
            .visible_flavor(ctx, id)
            .await?
            .ok_or_else(|| ComputeError::not_found_flavor(id))?;
        flavor.extra_specs = self.extra_specs_of(&flavor.id).await?;
        Ok(flavor)
    }

    /// Admin: a new flavor, validated as Nova's schema does. The id is the
    /// caller's (or a UUID when none or `auto`); names and ids are unique.
    pub async fn create_flavor(&self, ctx: &RequestContext, new: NewFlavor) -> Result<Flavor> {
        enforce(ctx, &rules::FLAVOR_MANAGE, &Target::none())?;
        if !valid_flavor_name(&new.name) {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.flavor_name_invalid",
                "Invalid input for field/attribute name. Value: {name}. A flavor name is 1 to 255 printable characters and can not start or end with whitespace.",
                name = new.name,
            )));
        }
        let id = match new.id.as_deref() {
            None | Some("auto") => super::new_uuid(),
            Some(id) if valid_flavor_id(id) => id.to_string(),
            Some(id) => {
                return Err(ComputeError::Validation(crate::msg!(
                    "error.compute.flavor_id_invalid",
                    "Invalid input for field/attribute id. Value: {id}. A flavor ID is 1 to 255 letters, digits, '.', '_', '-' or spaces, and can not start or end with a space.",
                    id = id,
                )))
            }
        };
        for (field, value, min) in [
            ("vcpus", u64::from(new.vcpus), 1),
            ("ram", new.ram_mib, 1),
            ("disk", new.disk_gb, 0),
            ("OS-FLV-EXT-DATA:ephemeral", new.ephemeral_gb, 0),
            ("swap", new.swap_mib, 0),
        ] {
            if value < min {
                return Err(below_minimum(field, value, min));
            }
            if value > MAX_INT {
                return Err(above_maximum(field, value, MAX_INT));
            }
        }
        if !(new.rxtx_factor > 0.0 && new.rxtx_factor <= MAX_RXTX) {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.rxtx_factor_invalid",
                "Invalid input for field/attribute rxtx_factor. Value: {value}. The factor must be more than 0 and at most 3.40282e+38.",
                value = new.rxtx_factor,
            )));
        }
        check_description(&new.description)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        // Which key is taken decides the message, as Nova words it.
        let taken_id = sqlx::query("SELECT 1 AS x FROM flavors WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if taken_id.is_some() {
            return Err(flavor_exists_id(&id));
        }
        let taken_name = sqlx::query("SELECT 1 AS x FROM flavors WHERE name = ?")
            .bind(new.name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if taken_name.is_some() {
            return Err(flavor_exists_name(&new.name));
        }
        let inserted = sqlx::query(
            "INSERT INTO flavors (id, name, description, vcpus, ram_mib, disk_gb, ephemeral_gb, \
             swap_mib, rxtx_factor, is_public, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(new.name.as_str())
        .bind(new.description.as_deref())
        .bind(i64::from(new.vcpus))
        .bind(new.ram_mib as i64)
        .bind(new.disk_gb as i64)
        .bind(new.ephemeral_gb as i64)
        .bind(new.swap_mib as i64)
        .bind(new.rxtx_factor)
        .bind(i64::from(new.is_public))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another server's create of the same name won the race.
            Err(e) if is_unique_violation(&e) => return Err(flavor_exists_name(&new.name)),
            Err(e) => return Err(ComputeError::from(e)),
        }
        tx.commit().await?;
        Ok(Flavor {
            id,
            name: new.name,
            description: new.description,
            vcpus: new.vcpus,
            ram_mib: new.ram_mib,
            disk_gb: new.disk_gb,
            ephemeral_gb: new.ephemeral_gb,
            swap_mib: new.swap_mib,
            rxtx_factor: new.rxtx_factor,
            is_public: new.is_public,
            extra_specs: BTreeMap::new(),
            created_at: micros_to_time(now),
        })
    }

    /// Admin: a flavor's description (Nova 2.55), the one thing that changes.
    pub async fn update_flavor_description(
        &self,
        ctx: &RequestContext,
        id: &str,
        description: Option<String>,
    ) -> Result<Flavor> {
        enforce(ctx, &rules::FLAVOR_MANAGE, &Target::none())?;
        check_description(&description)?;
        let done = sqlx::query("UPDATE flavors SET description = ?, updated_at = ? WHERE id = ?")
            .bind(description.as_deref())
            .bind(now_micros())
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ComputeError::not_found_flavor(id));
        }
        self.get_flavor(ctx, id).await
    }

    /// Admin: removes a flavor with its access list and extra specs.
    /// Instances keep their copy of its sizes.
    pub async fn delete_flavor(&self, ctx: &RequestContext, id: &str) -> Result<()> {
        enforce(ctx, &rules::FLAVOR_MANAGE, &Target::none())?;
        let mut tx = self.db.begin_write().await?;
        for sql in [
            "DELETE FROM flavor_projects WHERE flavor_id = ?",
            "DELETE FROM flavor_extra_specs WHERE flavor_id = ?",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM flavors WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ComputeError::not_found_flavor(id));
        }
        tx.commit().await?;
        Ok(())
    }

    // ------------------------------------------------------- flavor access

    /// Admin: the projects a private flavor is open to (a public one has
    /// no list: 404, as Nova answers).
    pub async fn list_flavor_access(&self, ctx: &RequestContext, id: &str) -> Result<Vec<String>> {
        enforce(ctx, &rules::FLAVOR_ACCESS, &Target::none())?;
        let flavor = self.flavor_row(id).await?;
        if flavor.is_public {
            return Err(ComputeError::NotFound(crate::msg!(
                "error.compute.flavor_access_public",
                "Access list not available for public flavors."
            )));
        }
        self.access_of(id).await
    }

    /// Admin: opens a private flavor to `project_id`; answers the new list.
    pub async fn add_flavor_access(
        &self,
        ctx: &RequestContext,
        id: &str,
        project_id: &str,
    ) -> Result<Vec<String>> {
        enforce(ctx, &rules::FLAVOR_ACCESS, &Target::none())?;
        check_project_id(project_id)?;
        let flavor = self.flavor_row(id).await?;
        if flavor.is_public {
            return Err(ComputeError::Conflict(crate::msg!(
                "error.compute.flavor_access_add_public",
                "Can not add access to a public flavor."
            )));
        }
        let inserted =
            sqlx::query("INSERT INTO flavor_projects (flavor_id, project_id) VALUES (?, ?)")
                .bind(id)
                .bind(project_id)
                .execute(&self.db.pool)
                .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(ComputeError::Conflict(crate::msg!(
                "error.compute.flavor_access_exists",
                "Flavor access already exists for flavor {id} and project {project} combination.",
                id = id,
                project = project_id,
            )))
            }
            Err(e) => return Err(ComputeError::from(e)),
        }
        self.access_of(id).await
    }

    /// Admin: closes a private flavor to `project_id`; answers the new list.
    pub async fn remove_flavor_access(
        &self,
        ctx: &RequestContext,
        id: &str,
        project_id: &str,
    ) -> Result<Vec<String>> {
        enforce(ctx, &rules::FLAVOR_ACCESS, &Target::none())?;
        self.flavor_row(id).await?;
        let done =
            sqlx::query("DELETE FROM flavor_projects WHERE flavor_id = ? AND project_id = ?")
                .bind(id)
                .bind(project_id)
                .execute(&self.db.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(ComputeError::NotFound(crate::msg!(
                "error.compute.flavor_access_not_found",
                "Flavor access not found for {id} / {project} combination.",
                id = id,
                project = project_id,
            )));
        }
        self.access_of(id).await
    }

    // --------------------------------------------------------- extra specs

    /// A flavor's extra specs (whoever sees the flavor).
    pub async fn list_extra_specs(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<BTreeMap<String, String>> {
        Ok(self.get_flavor(ctx, id).await?.extra_specs)
    }

    pub async fn get_extra_spec(
        &self,
        ctx: &RequestContext,
        id: &str,
        key: &str,
    ) -> Result<String> {
        let specs = self.list_extra_specs(ctx, id).await?;
        specs
            .get(key)
            .cloned()
            .ok_or_else(|| no_extra_spec(id, key))
    }

    /// Admin: creates or replaces each of `specs` (others stay); answers
    /// what was set, as Nova echoes the request.
    pub async fn set_extra_specs(
        &self,
        ctx: &RequestContext,
        id: &str,
        specs: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        enforce(ctx, &rules::FLAVOR_EXTRA_SPECS_WRITE, &Target::none())?;
        for (k, v) in &specs {
            check_extra_spec(k, v)?;
        }
        let mut tx = self.db.begin_write().await?;
        let exists = sqlx::query(&self.db.for_update("SELECT id FROM flavors WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(ComputeError::not_found_flavor(id));
        }
        for (k, v) in &specs {
            sqlx::query("DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?")
                .bind(id)
                .bind(k.as_str())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO flavor_extra_specs (flavor_id, spec_key, spec_value) VALUES (?, ?, ?)",
            )
            .bind(id)
            .bind(k.as_str())
            .bind(v.as_str())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE flavors SET updated_at = ? WHERE id = ?")
            .bind(now_micros())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(specs)
    }

    /// Admin: `PUT …/os-extra_specs/{key}` with a body of that one key.
    pub async fn update_extra_spec(
        &self,
        ctx: &RequestContext,
        id: &str,
        key: &str,
        body: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        enforce(ctx, &rules::FLAVOR_EXTRA_SPECS_WRITE, &Target::none())?;
        if body.len() > 1 {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.extra_spec_too_many",
                "Request body contains too many items."
            )));
        }
        if !body.contains_key(key) {
            return Err(ComputeError::Validation(crate::msg!(
                "error.compute.extra_spec_uri_mismatch",
                "Request body and URI mismatch"
            )));
        }
        self.set_extra_specs(ctx, id, body).await
    }

    /// Admin: removes one extra spec.
    pub async fn delete_extra_spec(&self, ctx: &RequestContext, id: &str, key: &str) -> Result<()> {
        enforce(ctx, &rules::FLAVOR_EXTRA_SPECS_WRITE, &Target::none())?;
        self.flavor_row(id).await?;
        let done =
            sqlx::query("DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND spec_key = ?")
                .bind(id)
                .bind(key)
                .execute(&self.db.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(no_extra_spec(id, key));
        }
        Ok(())
    }

    // --------------------------------------------------------------- inner

    /// The flavor if the caller may see it (no policy check, no specs).
    async fn visible_flavor(&self, ctx: &RequestContext, id: &str) -> Result<Option<Flavor>> {
        let row = if ctx.is_admin() {
            sqlx::query(&format!(
                "SELECT {FLAVOR_COLUMNS} FROM flavors f WHERE f.id = ?"
            ))
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
        } else {
            sqlx::query(&format!(
                "SELECT {FLAVOR_COLUMNS} FROM flavors f WHERE f.id = ? AND {VISIBLE}"
            ))
            .bind(id)
            .bind(ctx.project_id().unwrap_or_default())
            .fetch_optional(&self.db.pool)
            .await?
        };
        row.as_ref().map(flavor_of).transpose()
    }

    /// The flavor whatever its visibility (admin paths, after policy).
    async fn flavor_row(&self, id: &str) -> Result<Flavor> {
        let row = sqlx::query(&format!(
            "SELECT {FLAVOR_COLUMNS} FROM flavors f WHERE f.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| ComputeError::not_found_flavor(id))?;
        flavor_of(&row)
    }

    async fn access_of(&self, id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT project_id FROM flavor_projects WHERE flavor_id = ? ORDER BY project_id",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| r.try_get("project_id").map_err(ComputeError::from))
            .collect()
    }

    async fn extra_specs_of(&self, id: &str) -> Result<BTreeMap<String, String>> {
        let rows =
            sqlx::query("SELECT spec_key, spec_value FROM flavor_extra_specs WHERE flavor_id = ?")
                .bind(id)
                .fetch_all(&self.db.pool)
                .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            out.insert(r.try_get("spec_key")?, r.try_get("spec_value")?);
        }
        Ok(out)
    }

    /// Every listed flavor's specs, in one query per 500 flavors.
    async fn fill_extra_specs(&self, flavors: &mut [Flavor]) -> Result<()> {
        for chunk in flavors.chunks_mut(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT flavor_id, spec_key, spec_value FROM flavor_extra_specs WHERE flavor_id IN ({marks})"
            );
            let mut q = sqlx::query(&sql);
            for f in chunk.iter() {
                q = q.bind(f.id.as_str());
            }
            let rows = q.fetch_all(&self.db.pool).await?;
            for r in rows {
                let fid: String = r.try_get("flavor_id")?;
                if let Some(f) = chunk.iter_mut().find(|f| f.id == fid) {
                    f.extra_specs
                        .insert(r.try_get("spec_key")?, r.try_get("spec_value")?);
                }
            }
        }
        Ok(())
    }
}

fn no_extra_spec(id: &str, key: &str) -> ComputeError {
    ComputeError::NotFound(crate::msg!(
        "error.compute.extra_spec_not_found",
        "Flavor {id} has no extra specs with key {key}.",
        id = id,
        key = key,
    ))
}

/// Nova's `tenant`: 1 to 255 characters (the project table's ids are 64).
fn check_project_id(project_id: &str) -> Result<()> {
    if project_id.is_empty()
        || project_id.len() > 64
        || crate::text::control_char_in_name(project_id).is_some()
    {
        return Err(ComputeError::Validation(crate::msg!(
            "error.compute.project_id_invalid",
            "Project ID {project} is not a valid project.",
            project = project_id,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_follow_nova() {
        assert!(valid_flavor_name("m1.tiny"));
        assert!(valid_flavor_name("작은 플레이버"));
        assert!(!valid_flavor_name(""));
        assert!(!valid_flavor_name(" lead"));
        assert!(!valid_flavor_name("trail "));
        assert!(!valid_flavor_name("tab\there"));
        assert!(!valid_flavor_name(&"x".repeat(256)));
        assert!(valid_flavor_id("1"));
        assert!(valid_flavor_id("m1.tiny_a-b c"));
        assert!(!valid_flavor_id(" 1"));
        assert!(!valid_flavor_id("1 "));
        assert!(!valid_flavor_id("a/b"));
        assert!(!valid_flavor_id(""));
        assert!(check_extra_spec("hw:cpu_policy", "dedicated").is_ok());
        assert!(check_extra_spec("bad/key", "x").is_err());
        assert!(check_extra_spec("k", &"v".repeat(256)).is_err());
    }
}
