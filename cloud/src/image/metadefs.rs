//! Glance's metadata definitions catalog (metadefs): namespaces, which hold
//! objects, property definitions and tags, and their associations with
//! resource types (`OS::Glance::Image`, `OS::Nova::Flavor`, …).
//!
//! Policy as Glance's defaults: admins manage the catalog; a reader sees
//! public namespaces and its own project's private ones, with what is in
//! them. A namespace the caller cannot see is "not found", one it sees but
//! may not change is 403. A protected namespace, and everything in it,
//! cannot be deleted. Property definitions and object properties are JSON
//! schemas (Glance's `PropertyType`), checked here and stored as JSON text.

use serde_json::{Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::*;
use crate::db::{is_unique_violation, now_micros};
use crate::policy::metadef as md;

// ------------------------------------------------------------------ model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceVisibility {
    Public,
    Private,
}

impl NamespaceVisibility {
    pub fn parse(s: &str) -> Option<NamespaceVisibility> {
        match s {
            "public" => Some(NamespaceVisibility::Public),
            "private" => Some(NamespaceVisibility::Private),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            NamespaceVisibility::Public => "public",
            NamespaceVisibility::Private => "private",
        }
    }
}

/// A namespace's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: NamespaceVisibility,
    pub protected: bool,
    pub owner: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

type DateTime = chrono::DateTime<chrono::Utc>;

/// A namespace with what it holds (what `GET …/namespaces/{ns}` shows; a
/// list carries the resource type associations only).
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceDetail {
    pub namespace: Namespace,
    pub resource_type_associations: Vec<ResourceTypeAssociation>,
    /// Property definitions by name (names carry the resource type's prefix
    /// when one was asked for).
    pub properties: Vec<PropertyDef>,
    pub objects: Vec<MetadefObject>,
    pub tags: Vec<MetadefTag>,
}

/// A property definition: its name and its JSON schema (Glance's
/// `PropertyType`: `type`, `title`, `description`, `enum`, …; no `name`).
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDef {
    pub name: String,
    pub schema: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadefObject {
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    /// Property name → its schema (as [`PropertyDef::schema`]).
    pub properties: Map<String, Value>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadefTag {
    pub name: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub name: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceTypeAssociation {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAssociation {
    pub name: String,
    pub prefix: Option<String>,
    pub properties_target: Option<String>,
}

/// An object to create, or an object's new state (every field is replaced,
/// as Glance's PUT does).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewObject {
    pub name: String,
    pub description: Option<String>,
    pub required: Vec<String>,
    pub properties: Map<String, Value>,
}

/// A namespace to create, optionally with its contents (one transaction:
/// a refused part leaves no namespace).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNamespace {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    /// Glance's default: private.
    pub visibility: Option<NamespaceVisibility>,
    pub protected: Option<bool>,
    /// Default: the caller's project.
    pub owner: Option<String>,
    pub resource_type_associations: Vec<NewAssociation>,
    pub properties: Vec<PropertyDef>,
    pub objects: Vec<NewObject>,
    pub tags: Vec<String>,
}

/// A namespace's new state: Glance's PUT replaces every field (absent ones
/// fall back to the create defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamespaceUpdate {
    pub namespace: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<NamespaceVisibility>,
    pub protected: Option<bool>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    Asc,
    #[default]
    Desc,
}

/// `GET /v2/metadefs/namespaces` filters and paging.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NamespaceFilter {
    pub visibility: Option<NamespaceVisibility>,
    /// Namespaces associated with any of these resource types.
    pub resource_types: Option<Vec<String>>,
    /// The namespace after which the page starts.
    pub marker: Option<String>,
    pub limit: Option<i64>,
    /// `created_at` (default), `updated_at`, `namespace`, `display_name`,
    /// `visibility` or `owner`.
    pub sort_key: Option<String>,
    pub sort_dir: SortDir,
}

/// `GET …/tags` paging.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagFilter {
    pub marker: Option<String>,
    pub limit: Option<i64>,
    /// `created_at` (default), `updated_at` or `name`.
    pub sort_key: Option<String>,
    pub sort_dir: SortDir,
}

/// Glance's `limit_param_default` and `api_limit_max`.
pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 1000;

const NAME_MAX: usize = 80;
const DESCRIPTION_MAX: usize = 500;
const OWNER_MAX: usize = 255;
/// What the JSON columns hold (`metadef_*.json_schema`, `required`).
const SCHEMA_MAX: usize = 8192;
const OBJECT_DESCRIPTION_MAX: usize = 2048;
const REQUIRED_MAX: usize = 2048;

// ------------------------------------------------------------ messages

fn namespace_not_found(name: &str) -> ImageError {
    ImageError::MetadefNotFound(crate::msg!(
        "error.metadef.namespace_not_found",
        "Metadata definition namespace={namespace} was not found.",
        namespace = name,
    ))
}

fn object_not_found(ns: &str, name: &str) -> ImageError {
    ImageError::MetadefNotFound(crate::msg!(
        "error.metadef.object_not_found",
        "The metadata definition object with name={name} was not found in namespace={namespace}.",
        name = name,
        namespace = ns,
    ))
}

fn property_not_found(ns: &str, name: &str) -> ImageError {
    ImageError::MetadefNotFound(crate::msg!(
        "error.metadef.property_not_found",
        "The metadata definition property with name={name} was not found in namespace={namespace}.",
        name = name,
        namespace = ns,
    ))
}

fn tag_not_found(ns: &str, name: &str) -> ImageError {
    ImageError::MetadefNotFound(crate::msg!(
        "error.metadef.tag_not_found",
        "The metadata definition tag with name={name} was not found in namespace={namespace}.",
        name = name,
        namespace = ns,
    ))
}

fn association_not_found(ns: &str, name: &str) -> ImageError {
    ImageError::MetadefNotFound(crate::msg!(
        "error.metadef.association_not_found",
        "The metadata definition resource-type association of resource-type={name} to namespace={namespace}, was not found.",
        name = name,
        namespace = ns,
    ))
}

fn duplicate(kind: &str, name: &str, ns: &str) -> ImageError {
    ImageError::Conflict(crate::msg!(
        "error.metadef.duplicate",
        "A metadata definition {kind} with name={name} already exists in namespace={namespace}.",
        kind = kind,
        name = name,
        namespace = ns,
    ))
}

fn duplicate_namespace(name: &str) -> ImageError {
    ImageError::Conflict(crate::msg!(
        "error.metadef.duplicate_namespace",
        "The metadata definition namespace={namespace} already exists.",
        namespace = name,
    ))
}

fn protected(ns: &str) -> ImageError {
    ImageError::Forbidden(crate::msg!(
        "error.metadef.protected",
        "Metadata definition namespace {namespace} is protected and cannot be deleted, nor can anything in it.",
        namespace = ns,
    ))
}

fn invalid(field: &str, reason: &str) -> ImageError {
    ImageError::Validation(crate::msg!(
        "error.metadef.invalid",
        "Invalid {field}: {reason}.",
        field = field,
        reason = reason,
    ))
}

fn check_name(field: &str, value: &str, max: usize) -> Result<()> {
    if value.is_empty() {
        return Err(invalid(field, "it must not be empty"));
    }
    check_len(field, value, max)?;
    crate::text::check_name(value)
        .map_err(|code| invalid(field, &format!("it contains the control character {code}")))
}

fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(invalid(
            field,
            &format!("it is longer than {max} characters"),
        ));
    }
    Ok(())
}

fn check_opt(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(v) => {
            check_len(field, v, max)?;
            crate::text::check_text(v).map_err(|code| {
                invalid(field, &format!("it contains the control character {code}"))
            })
        }
        None => Ok(()),
    }
}

// ------------------------------------------------- property schemas

const PROPERTY_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// Checks a property schema as Glance's `property` JSON schema does (known
/// keys only, `title` and `type` required, each key of its JSON type) and
/// returns it without `name` (which the definition is keyed by).
pub fn check_property_schema(
    field: &str,
    schema: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let bad = |key: &str, what: &str| invalid(&format!("{field}.{key}"), what);
    let mut out = Map::new();
    for (k, v) in schema {
        let ok = match k.as_str() {
            "name" => match v.as_str() {
                Some(n) => n.chars().count() <= NAME_MAX,
                None => false,
            },
            "title" | "description" | "pattern" => v.is_string(),
            "type" => v.as_str().is_some_and(|t| PROPERTY_TYPES.contains(&t)),
            "operators" | "required" => {
                v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            }
            "minimum" | "maximum" => v.is_number(),
            "maxLength" | "minLength" | "maxItems" | "minItems" => v.as_u64().is_some(),
            "enum" => v.is_array(),
            "readonly" | "uniqueItems" | "additionalItems" | "confidential" => v.is_boolean(),
            "default" => true,
            "items" => v.as_object().is_some_and(|items| {
                items.iter().all(|(ik, iv)| match ik.as_str() {
                    "type" => iv.as_str().is_some_and(|t| PROPERTY_TYPES.contains(&t)),
                    "enum" => iv.is_array(),
                    _ => false,
                })
            }),
            _ => return Err(bad(k, "it is not a property schema keyword")),
        };
        if !ok {
            return Err(bad(k, "it has the wrong type or value"));
        }
        if k != "name" {
            out.insert(k.clone(), v.clone());
        }
    }
    for key in ["title", "type"] {
        if !out.contains_key(key) {
            return Err(bad(key, "it is required"));
        }
    }
    Ok(out)
}

fn check_property(def: &PropertyDef) -> Result<PropertyDef> {
    check_name("property name", &def.name, NAME_MAX)?;
    Ok(PropertyDef {
        name: def.name.clone(),
        schema: check_property_schema(&def.name, &def.schema)?,
    })
}

fn check_object(o: &NewObject) -> Result<NewObject> {
    check_name("object name", &o.name, NAME_MAX)?;
    check_opt("object description", &o.description, OBJECT_DESCRIPTION_MAX)?;
    let mut properties = Map::new();
    for (name, schema) in &o.properties {
        check_name("property name", name, NAME_MAX)?;
        let schema = schema
            .as_object()
            .ok_or_else(|| invalid(name, "a property schema must be an object"))?;
        properties.insert(
            name.clone(),
            Value::Object(check_property_schema(name, schema)?),
        );
    }
    Ok(NewObject {
        name: o.name.clone(),
        description: o.description.clone(),
        required: o.required.clone(),
        properties,
    })
}

fn json_text(field: &str, v: &Value, max: usize) -> Result<String> {
    let text = v.to_string();
    if text.len() > max {
        return Err(ImageError::LimitExceeded(crate::msg!(
            "error.metadef.too_large",
            "The {field} is larger than {max} bytes.",
            field = field,
            max = max,
        )));
    }
    Ok(text)
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| ImageError::Internal(format!("bad metadef JSON: {e}")))
}

fn check_association(a: &NewAssociation) -> Result<()> {
    check_name("resource type name", &a.name, NAME_MAX)?;
    check_opt("prefix", &a.prefix, NAME_MAX)?;
    check_opt("properties_target", &a.properties_target, NAME_MAX)
}

fn check_limit(limit: Option<i64>) -> Result<i64> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if l < 0 => Err(invalid("limit", "it must be 0 or more")),
        Some(l) => Ok(l.min(MAX_LIMIT)),
    }
}

// ------------------------------------------------------------ rows

/// A bound value of a query built piece by piece.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Arg {
        Arg::Int(i)
    }
}

fn bind_args<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s.as_str()),
            Arg::Int(i) => q.bind(*i),
        };
    }
    q
}

/// A namespace row with its internal id.
struct NsRow {
    id: String,
    ns: Namespace,
}

const NS_COLS: &str =
    "id, namespace, display_name, description, visibility, protected, owner, created_at, updated_at";

fn ns_row(r: &AnyRow) -> Result<NsRow> {
    let visibility: String = r.try_get("visibility")?;
    Ok(NsRow {
        id: r.try_get("id")?,
        ns: Namespace {
            namespace: r.try_get("namespace")?,
            display_name: r.try_get("display_name")?,
            description: r.try_get("description")?,
            visibility: NamespaceVisibility::parse(&visibility)
                .ok_or_else(|| ImageError::Internal(format!("bad visibility {visibility}")))?,
            protected: r.try_get::<i64, _>("protected")? != 0,
            owner: r.try_get("owner")?,
            created_at: micros_to_time(r.try_get("created_at")?),
            updated_at: micros_to_time(r.try_get("updated_at")?),
        },
    })
}

fn object_row(r: &AnyRow) -> Result<MetadefObject> {
    let required: String = r.try_get("required")?;
    let schema: String = r.try_get("json_schema")?;
    Ok(MetadefObject {
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        required: serde_json::from_value(parse_json(&required)?).unwrap_or_default(),
        properties: match parse_json(&schema)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn property_row(r: &AnyRow) -> Result<PropertyDef> {
    let schema: String = r.try_get("json_schema")?;
    Ok(PropertyDef {
        name: r.try_get("name")?,
        schema: match parse_json(&schema)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    })
}

fn tag_row(r: &AnyRow) -> Result<MetadefTag> {
    Ok(MetadefTag {
        name: r.try_get("name")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn association_row(r: &AnyRow) -> Result<ResourceTypeAssociation> {
    Ok(ResourceTypeAssociation {
        name: r.try_get("resource_type")?,
        prefix: r.try_get("prefix")?,
        properties_target: r.try_get("properties_target")?,
        created_at: micros_to_time(r.try_get("created_at")?),
        updated_at: micros_to_time(r.try_get("updated_at")?),
    })
}

fn ns_target(ns: &Namespace) -> Target<'_> {
    Target {
        project_id: Some(&ns.owner),
        public: ns.visibility == NamespaceVisibility::Public,
        ..Default::default()
    }
}

/// The caller's own project, for the rules that apply before any namespace.
fn own_project(ctx: &RequestContext) -> Target<'_> {
    Target::owned_by(ctx.project_id())
}

/// Inserts the namespace's contents (in `tx`); conflicts name their kind.
async fn insert_object(
    tx: &mut crate::db::WriteTx,
    ns: &NsRow,
    o: &NewObject,
    now: i64,
) -> Result<()> {
    let required = json_text(
        "required list",
        &serde_json::json!(o.required),
        REQUIRED_MAX,
    )?;
    let schema = json_text(
        "object's properties",
        &Value::Object(o.properties.clone()),
        SCHEMA_MAX,
    )?;
    let res = sqlx::query(
        "INSERT INTO metadef_objects (namespace_id, name, description, required, json_schema, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ns.id.as_str())
    .bind(o.name.as_str())
    .bind(o.description.clone())
    .bind(required)
    .bind(schema)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(duplicate("object", &o.name, &ns.ns.namespace)),
        Err(e) => Err(ImageError::from(e)),
    }
}

async fn insert_property(
    tx: &mut crate::db::WriteTx,
    ns: &NsRow,
    p: &PropertyDef,
    now: i64,
) -> Result<()> {
    let schema = json_text(
        "property schema",
        &Value::Object(p.schema.clone()),
        SCHEMA_MAX,
    )?;
    let res = sqlx::query(
        "INSERT INTO metadef_properties (namespace_id, name, json_schema, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(ns.id.as_str())
    .bind(p.name.as_str())
    .bind(schema)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(duplicate("property", &p.name, &ns.ns.namespace)),
        Err(e) => Err(ImageError::from(e)),
    }
}

async fn insert_tag(tx: &mut crate::db::WriteTx, ns: &NsRow, name: &str, now: i64) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO metadef_tags (namespace_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
    )
    .bind(ns.id.as_str())
    .bind(name)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(duplicate("tag", name, &ns.ns.namespace)),
        Err(e) => Err(ImageError::from(e)),
    }
}

impl ImageService {
    async fn insert_association(
        &self,
        tx: &mut crate::db::WriteTx,
        ns: &NsRow,
        a: &NewAssociation,
        now: i64,
    ) -> Result<()> {
        // As Glance: a resource type named for the first time is created.
        sqlx::query(&format!(
            "{} INTO metadef_resource_types (name, protected, created_at, updated_at) VALUES (?, 0, ?, ?)",
            self.db.insert_ignore()
        ))
        .bind(a.name.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let res = sqlx::query(
            "INSERT INTO metadef_namespace_resource_types \
             (namespace_id, resource_type, properties_target, prefix, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ns.id.as_str())
        .bind(a.name.as_str())
        .bind(a.properties_target.clone())
        .bind(a.prefix.clone())
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(ImageError::Conflict(crate::msg!(
                "error.metadef.duplicate_association",
                "The metadata definition resource-type association of resource-type={name} to namespace={namespace}, already exists.",
                name = a.name,
                namespace = ns.ns.namespace,
            ))),
            Err(e) => Err(ImageError::from(e)),
        }
    }

    /// The namespace `name` if `ctx` may see it (else not found, telling
    /// nothing), after checking `rule` (a read rule: its refusal is also
    /// "not found").
    async fn visible_namespace(&self, ctx: &RequestContext, name: &str) -> Result<NsRow> {
        let row = sqlx::query(&format!(
            "SELECT {NS_COLS} FROM metadef_namespaces WHERE namespace = ?"
        ))
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| namespace_not_found(name))?;
        let ns = ns_row(&row)?;
        if !allows(ctx, &md::GET_NAMESPACE, &ns_target(&ns.ns)) {
            return Err(namespace_not_found(name));
        }
        Ok(ns)
    }

    /// A namespace the caller sees, checked against `rule` (a refusal is 403).
    async fn namespace_for(&self, ctx: &RequestContext, name: &str, rule: &Rule) -> Result<NsRow> {
        let ns = self.visible_namespace(ctx, name).await?;
        enforce(ctx, rule, &ns_target(&ns.ns))?;
        Ok(ns)
    }

    /// A namespace whose contents are about to be removed: refused while
    /// it is protected.
    async fn unprotected_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
        rule: &Rule,
    ) -> Result<NsRow> {
        let ns = self.namespace_for(ctx, name, rule).await?;
        if ns.ns.protected {
            return Err(protected(&ns.ns.namespace));
        }
        Ok(ns)
    }

    async fn touch_namespace(&self, tx: &mut crate::db::WriteTx, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE metadef_namespaces SET updated_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------- namespaces

    /// The namespaces `ctx` sees (admins: all; others: public ones and their
    /// project's), filtered and paged in SQL, each with its resource type
    /// associations.
    pub async fn list_namespaces(
        &self,
        ctx: &RequestContext,
        filter: &NamespaceFilter,
    ) -> Result<Vec<NamespaceDetail>> {
        enforce(ctx, &md::GET_NAMESPACES, &own_project(ctx))?;
        let limit = check_limit(filter.limit)?;
        let sort_col = match filter.sort_key.as_deref().unwrap_or("created_at") {
            "created_at" => "created_at",
            "updated_at" => "updated_at",
            "namespace" => "namespace",
            "display_name" => "COALESCE(display_name, '')",
            "visibility" => "visibility",
            "owner" => "owner",
            other => {
                return Err(invalid(
                    "sort_key",
                    &format!("{other} is not a namespace attribute"),
                ))
            }
        };
        let mut sql = format!("SELECT {NS_COLS} FROM metadef_namespaces WHERE 1 = 1");
        let mut args: Vec<Arg> = Vec::new();
        if !crate::policy::ADMIN.holds(ctx, &Target::none()) {
            match ctx.project_id() {
                Some(p) => {
                    sql.push_str(" AND (visibility = 'public' OR owner = ?)");
                    args.push(p.to_string().into());
                }
                None => sql.push_str(" AND visibility = 'public'"),
            }
        }
        if let Some(v) = filter.visibility {
            sql.push_str(" AND visibility = ?");
            args.push(v.as_str().to_string().into());
        }
        if let Some(types) = &filter.resource_types {
            if types.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(
                " AND id IN (SELECT namespace_id FROM metadef_namespace_resource_types WHERE resource_type IN ({}))",
                vec!["?"; types.len()].join(", ")
            ));
            args.extend(types.iter().map(|t| t.clone().into()));
        }
        let (cmp, dir) = match filter.sort_dir {
            SortDir::Asc => (">", "ASC"),
            SortDir::Desc => ("<", "DESC"),
        };
        if let Some(marker) = &filter.marker {
            let m = self.visible_namespace(ctx, marker).await.map_err(|_| {
                ImageError::Validation(crate::msg!(
                    "error.image.marker_not_found",
                    "The marker {marker} could not be found.",
                    marker = marker,
                ))
            })?;
            let key: Arg = match sort_col {
                "created_at" => m.ns.created_at.timestamp_micros().into(),
                "updated_at" => m.ns.updated_at.timestamp_micros().into(),
                "namespace" => m.ns.namespace.clone().into(),
                "visibility" => m.ns.visibility.as_str().to_string().into(),
                "owner" => m.ns.owner.clone().into(),
                _ => m.ns.display_name.clone().unwrap_or_default().into(),
            };
            sql.push_str(&format!(
                " AND ({sort_col} {cmp} ? OR ({sort_col} = ? AND id {cmp} ?))"
            ));
            args.push(key.clone());
            args.push(key);
            args.push(m.id.clone().into());
        }
        sql.push_str(&format!(
            " ORDER BY {sort_col} {dir}, id {dir} LIMIT {limit}"
        ));
        let rows = bind_args(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?;
        let namespaces: Vec<NsRow> = rows.iter().map(ns_row).collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(namespaces.len());
        for chunk in namespaces.chunks(500) {
            let sql = format!(
                "SELECT namespace_id, resource_type, properties_target, prefix, created_at, updated_at \
                 FROM metadef_namespace_resource_types WHERE namespace_id IN ({}) ORDER BY created_at, resource_type",
                vec!["?"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for ns in chunk {
                q = q.bind(ns.id.as_str());
            }
            let assoc = q.fetch_all(&self.db.pool).await?;
            for ns in chunk {
                let mut resource_type_associations = Vec::new();
                for r in &assoc {
                    if r.try_get::<String, _>("namespace_id")? == ns.id {
                        resource_type_associations.push(association_row(r)?);
                    }
                }
                out.push(NamespaceDetail {
                    namespace: ns.ns.clone(),
                    resource_type_associations,
                    properties: Vec::new(),
                    objects: Vec::new(),
                    tags: Vec::new(),
                });
            }
        }
        Ok(out)
    }

    /// A namespace with its contents. With `resource_type`, the property
    /// names (also in objects) carry that association's prefix.
    pub async fn get_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
        resource_type: Option<&str>,
    ) -> Result<NamespaceDetail> {
        let ns = self.visible_namespace(ctx, name).await?;
        let target = ns_target(&ns.ns);
        for rule in [
            &md::LIST_RESOURCE_TYPES,
            &md::GET_OBJECTS,
            &md::GET_PROPERTIES,
            &md::GET_TAGS,
        ] {
            enforce(ctx, rule, &target)?;
        }
        let mut detail = self.namespace_contents(&ns).await?;
        if let Some(rt) = resource_type {
            let prefix = detail
                .resource_type_associations
                .iter()
                .find(|a| a.name == rt)
                .and_then(|a| a.prefix.clone());
            if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
                for p in &mut detail.properties {
                    p.name = format!("{prefix}{}", p.name);
                }
                for o in &mut detail.objects {
                    o.properties = std::mem::take(&mut o.properties)
                        .into_iter()
                        .map(|(k, v)| (format!("{prefix}{k}"), v))
                        .collect();
                    for r in &mut o.required {
                        *r = format!("{prefix}{r}");
                    }
                }
            }
        }
        Ok(detail)
    }

    async fn namespace_contents(&self, ns: &NsRow) -> Result<NamespaceDetail> {
        let pool = &self.db.pool;
        let id = ns.id.as_str();
        let resource_type_associations = sqlx::query(
            "SELECT resource_type, properties_target, prefix, created_at, updated_at \
             FROM metadef_namespace_resource_types WHERE namespace_id = ? ORDER BY created_at, resource_type",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(association_row)
        .collect::<Result<_>>()?;
        let properties = sqlx::query(
            "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = ? ORDER BY name",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(property_row)
        .collect::<Result<_>>()?;
        let objects = sqlx::query(
            "SELECT name, description, required, json_schema, created_at, updated_at \
             FROM metadef_objects WHERE namespace_id = ? ORDER BY created_at DESC, name",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(object_row)
        .collect::<Result<_>>()?;
        let tags = sqlx::query(
            "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ? \
             ORDER BY created_at DESC, name",
        )
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(tag_row)
        .collect::<Result<_>>()?;
        Ok(NamespaceDetail {
            namespace: ns.ns.clone(),
            resource_type_associations,
            properties,
            objects,
            tags,
        })
    }

    /// Creates a namespace and whatever it is given to hold, in one
    /// transaction (admins only).
    pub async fn create_namespace(
        &self,
        ctx: &RequestContext,
        new: NewNamespace,
    ) -> Result<NamespaceDetail> {
        enforce(ctx, &md::ADD_NAMESPACE, &own_project(ctx))?;
        let target = own_project(ctx);
        if !new.resource_type_associations.is_empty() {
            enforce(ctx, &md::ADD_RESOURCE_TYPE_ASSOCIATION, &target)?;
        }
        if !new.objects.is_empty() {
            enforce(ctx, &md::ADD_OBJECT, &target)?;
        }
        if !new.properties.is_empty() {
            enforce(ctx, &md::ADD_PROPERTY, &target)?;
        }
        if !new.tags.is_empty() {
            enforce(ctx, &md::ADD_TAG, &target)?;
        }
        let ns = self.check_namespace_fields(
            ctx,
            NamespaceUpdate {
                namespace: new.namespace,
                display_name: new.display_name,
                description: new.description,
                visibility: new.visibility,
                protected: new.protected,
                owner: new.owner,
            },
        )?;
        let properties: Vec<PropertyDef> = new
            .properties
            .iter()
            .map(check_property)
            .collect::<Result<_>>()?;
        let objects: Vec<NewObject> = new
            .objects
            .iter()
            .map(check_object)
            .collect::<Result<_>>()?;
        for t in &new.tags {
            check_name("tag name", t, NAME_MAX)?;
        }
        for a in &new.resource_type_associations {
            check_association(a)?;
        }
        let now = now_micros();
        let row = NsRow {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            ns: Namespace {
                created_at: micros_to_time(now),
                updated_at: micros_to_time(now),
                ..ns
            },
        };
        let mut tx = self.db.begin_write().await?;
        let res = sqlx::query(&format!(
            "INSERT INTO metadef_namespaces ({NS_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(row.id.as_str())
        .bind(row.ns.namespace.as_str())
        .bind(row.ns.display_name.clone())
        .bind(row.ns.description.clone())
        .bind(row.ns.visibility.as_str())
        .bind(i64::from(row.ns.protected))
        .bind(row.ns.owner.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(duplicate_namespace(&row.ns.namespace))
            }
            Err(e) => return Err(ImageError::from(e)),
        }
        for a in &new.resource_type_associations {
            self.insert_association(&mut tx, &row, a, now).await?;
        }
        for o in &objects {
            insert_object(&mut tx, &row, o, now).await?;
        }
        for p in &properties {
            insert_property(&mut tx, &row, p, now).await?;
        }
        for t in &new.tags {
            insert_tag(&mut tx, &row, t, now).await?;
        }
        tx.commit().await?;
        self.namespace_contents(&row).await
    }

    /// The namespace fields after the defaults Glance applies on create and
    /// on its replace-everything update.
    fn check_namespace_fields(
        &self,
        ctx: &RequestContext,
        u: NamespaceUpdate,
    ) -> Result<Namespace> {
        check_name("namespace", &u.namespace, NAME_MAX)?;
        check_opt("display_name", &u.display_name, NAME_MAX)?;
        check_opt("description", &u.description, DESCRIPTION_MAX)?;
        let owner = match u.owner.or_else(|| ctx.project_id().map(str::to_string)) {
            Some(o) => o,
            None => return Err(invalid("owner", "a namespace needs an owner project")),
        };
        check_name("owner", &owner, OWNER_MAX)?;
        Ok(Namespace {
            namespace: u.namespace,
            display_name: u.display_name,
            description: u.description,
            visibility: u.visibility.unwrap_or(NamespaceVisibility::Private),
            protected: u.protected.unwrap_or(false),
            owner,
            created_at: micros_to_time(0),
            updated_at: micros_to_time(0),
        })
    }

    /// Replaces a namespace's fields (its contents stay), renaming it when
    /// `namespace` differs.
    pub async fn update_namespace(
        &self,
        ctx: &RequestContext,
        name: &str,
        update: NamespaceUpdate,
    ) -> Result<Namespace> {
        let ns = self.namespace_for(ctx, name, &md::MODIFY_NAMESPACE).await?;
        let new = self.check_namespace_fields(ctx, update)?;
        let now = now_micros();
        let res = sqlx::query(
            "UPDATE metadef_namespaces SET namespace = ?, display_name = ?, description = ?, \
             visibility = ?, protected = ?, owner = ?, updated_at = ? WHERE id = ?",
        )
        .bind(new.namespace.as_str())
        .bind(new.display_name.clone())
        .bind(new.description.clone())
        .bind(new.visibility.as_str())
        .bind(i64::from(new.protected))
        .bind(new.owner.as_str())
        .bind(now)
        .bind(ns.id.as_str())
        .execute(&self.db.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => return Err(namespace_not_found(name)),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(duplicate_namespace(&new.namespace)),
            Err(e) => return Err(ImageError::from(e)),
        }
        Ok(Namespace {
            created_at: ns.ns.created_at,
            updated_at: micros_to_time(now),
            ..new
        })
    }

    /// Deletes a namespace and everything in it; refused while protected.
    pub async fn delete_namespace(&self, ctx: &RequestContext, name: &str) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, name, &md::DELETE_NAMESPACE)
            .await?;
        let mut tx = self.db.begin_write().await?;
        for table in [
            "metadef_tags",
            "metadef_objects",
            "metadef_properties",
            "metadef_namespace_resource_types",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE namespace_id = ?"))
                .bind(ns.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let n = sqlx::query("DELETE FROM metadef_namespaces WHERE id = ? AND protected = 0")
            .bind(ns.id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(namespace_not_found(name));
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE …/namespaces/{ns}/objects|properties|tags`: empties one kind
    /// of content (refused while the namespace is protected).
    async fn delete_contents(
        &self,
        ctx: &RequestContext,
        name: &str,
        table: &str,
        extra: Option<&Rule>,
    ) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, name, &md::DELETE_NAMESPACE)
            .await?;
        if let Some(rule) = extra {
            enforce(ctx, rule, &ns_target(&ns.ns))?;
        }
        let mut tx = self.db.begin_write().await?;
        sqlx::query(&format!("DELETE FROM {table} WHERE namespace_id = ?"))
            .bind(ns.id.as_str())
            .execute(&mut *tx)
            .await?;
        self.touch_namespace(&mut tx, &ns.id, now_micros()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_namespace_objects(&self, ctx: &RequestContext, name: &str) -> Result<()> {
        self.delete_contents(ctx, name, "metadef_objects", None)
            .await
    }

    pub async fn delete_namespace_properties(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<()> {
        self.delete_contents(ctx, name, "metadef_properties", None)
            .await
    }

    pub async fn delete_namespace_tags(&self, ctx: &RequestContext, name: &str) -> Result<()> {
        self.delete_contents(ctx, name, "metadef_tags", Some(&md::DELETE_TAGS))
            .await
    }

    // ------------------------------------------------------------- objects

    pub async fn list_metadef_objects(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> Result<Vec<MetadefObject>> {
        let ns = self.namespace_for(ctx, namespace, &md::GET_OBJECTS).await?;
        sqlx::query(
            "SELECT name, description, required, json_schema, created_at, updated_at \
             FROM metadef_objects WHERE namespace_id = ? ORDER BY created_at DESC, name",
        )
        .bind(ns.id.as_str())
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(object_row)
        .collect()
    }

    async fn object_by_name(&self, ns: &NsRow, name: &str) -> Result<MetadefObject> {
        let row = sqlx::query(
            "SELECT name, description, required, json_schema, created_at, updated_at \
             FROM metadef_objects WHERE namespace_id = ? AND name = ?",
        )
        .bind(ns.id.as_str())
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| object_not_found(&ns.ns.namespace, name))?;
        object_row(&row)
    }

    pub async fn get_metadef_object(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<MetadefObject> {
        let ns = self.namespace_for(ctx, namespace, &md::GET_OBJECT).await?;
        self.object_by_name(&ns, name).await
    }

    pub async fn create_metadef_object(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        new: NewObject,
    ) -> Result<MetadefObject> {
        let ns = self.namespace_for(ctx, namespace, &md::ADD_OBJECT).await?;
        let o = check_object(&new)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        insert_object(&mut tx, &ns, &o, now).await?;
        self.touch_namespace(&mut tx, &ns.id, now).await?;
        tx.commit().await?;
        self.object_by_name(&ns, &o.name).await
    }

    /// Replaces an object (Glance's PUT: absent fields become empty),
    /// renaming it when `new.name` differs.
    pub async fn update_metadef_object(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        new: NewObject,
    ) -> Result<MetadefObject> {
        let ns = self
            .namespace_for(ctx, namespace, &md::MODIFY_OBJECT)
            .await?;
        let o = check_object(&new)?;
        let required = json_text(
            "required list",
            &serde_json::json!(o.required),
            REQUIRED_MAX,
        )?;
        let schema = json_text(
            "object's properties",
            &Value::Object(o.properties.clone()),
            SCHEMA_MAX,
        )?;
        let res = sqlx::query(
            "UPDATE metadef_objects SET name = ?, description = ?, required = ?, json_schema = ?, \
             updated_at = ? WHERE namespace_id = ? AND name = ?",
        )
        .bind(o.name.as_str())
        .bind(o.description.clone())
        .bind(required)
        .bind(schema)
        .bind(now_micros())
        .bind(ns.id.as_str())
        .bind(name)
        .execute(&self.db.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => {
                return Err(object_not_found(&ns.ns.namespace, name))
            }
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(duplicate("object", &o.name, &ns.ns.namespace))
            }
            Err(e) => return Err(ImageError::from(e)),
        }
        self.object_by_name(&ns, &o.name).await
    }

    pub async fn delete_metadef_object(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, namespace, &md::DELETE_OBJECT)
            .await?;
        let n = sqlx::query("DELETE FROM metadef_objects WHERE namespace_id = ? AND name = ?")
            .bind(ns.id.as_str())
            .bind(name)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(object_not_found(&ns.ns.namespace, name));
        }
        Ok(())
    }

    // ---------------------------------------------------------- properties

    pub async fn list_metadef_properties(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> Result<Vec<PropertyDef>> {
        let ns = self
            .namespace_for(ctx, namespace, &md::GET_PROPERTIES)
            .await?;
        sqlx::query(
            "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = ? ORDER BY name",
        )
        .bind(ns.id.as_str())
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(property_row)
        .collect()
    }

    async fn property_by_name(&self, ns: &NsRow, name: &str) -> Result<PropertyDef> {
        let row = sqlx::query(
            "SELECT name, json_schema FROM metadef_properties WHERE namespace_id = ? AND name = ?",
        )
        .bind(ns.id.as_str())
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| property_not_found(&ns.ns.namespace, name))?;
        property_row(&row)
    }

    /// A property definition. With `resource_type`, `name` carries that
    /// association's prefix (as Glance's `?resource_type=`), which is
    /// stripped to find it.
    pub async fn get_metadef_property(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        resource_type: Option<&str>,
    ) -> Result<PropertyDef> {
        let ns = self
            .namespace_for(ctx, namespace, &md::GET_PROPERTY)
            .await?;
        let mut lookup = name;
        if let Some(rt) = resource_type {
            enforce(ctx, &md::GET_RESOURCE_TYPE, &ns_target(&ns.ns))?;
            let row = sqlx::query(
                "SELECT resource_type, properties_target, prefix, created_at, updated_at \
                 FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type = ?",
            )
            .bind(ns.id.as_str())
            .bind(rt)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| association_not_found(&ns.ns.namespace, rt))?;
            let prefix = association_row(&row)?.prefix.unwrap_or_default();
            match name.strip_prefix(prefix.as_str()) {
                Some(rest) if !prefix.is_empty() => lookup = rest,
                _ => {
                    return Err(ImageError::MetadefNotFound(crate::msg!(
                        "error.metadef.prefix_mismatch",
                        "Property {name} does not start with the expected resource type association prefix of '{prefix}'.",
                        name = name,
                        prefix = prefix,
                    )))
                }
            }
        }
        self.property_by_name(&ns, lookup).await
    }

    pub async fn create_metadef_property(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        def: PropertyDef,
    ) -> Result<PropertyDef> {
        let ns = self
            .namespace_for(ctx, namespace, &md::ADD_PROPERTY)
            .await?;
        let p = check_property(&def)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        insert_property(&mut tx, &ns, &p, now).await?;
        self.touch_namespace(&mut tx, &ns.id, now).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Replaces a property definition, renaming it when `def.name` differs.
    pub async fn update_metadef_property(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        def: PropertyDef,
    ) -> Result<PropertyDef> {
        let ns = self
            .namespace_for(ctx, namespace, &md::MODIFY_PROPERTY)
            .await?;
        let p = check_property(&def)?;
        let schema = json_text(
            "property schema",
            &Value::Object(p.schema.clone()),
            SCHEMA_MAX,
        )?;
        let res = sqlx::query(
            "UPDATE metadef_properties SET name = ?, json_schema = ?, updated_at = ? \
             WHERE namespace_id = ? AND name = ?",
        )
        .bind(p.name.as_str())
        .bind(schema)
        .bind(now_micros())
        .bind(ns.id.as_str())
        .bind(name)
        .execute(&self.db.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => Err(property_not_found(&ns.ns.namespace, name)),
            Ok(_) => Ok(p),
            Err(e) if is_unique_violation(&e) => {
                Err(duplicate("property", &p.name, &ns.ns.namespace))
            }
            Err(e) => Err(ImageError::from(e)),
        }
    }

    pub async fn delete_metadef_property(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, namespace, &md::REMOVE_PROPERTY)
            .await?;
        let n = sqlx::query("DELETE FROM metadef_properties WHERE namespace_id = ? AND name = ?")
            .bind(ns.id.as_str())
            .bind(name)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(property_not_found(&ns.ns.namespace, name));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- tags

    pub async fn list_metadef_tags(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        filter: &TagFilter,
    ) -> Result<Vec<MetadefTag>> {
        let ns = self.namespace_for(ctx, namespace, &md::GET_TAGS).await?;
        let sort_col = match filter.sort_key.as_deref().unwrap_or("created_at") {
            "created_at" => "created_at",
            "updated_at" => "updated_at",
            "name" => "name",
            other => {
                return Err(invalid(
                    "sort_key",
                    &format!("{other} is not a tag attribute"),
                ))
            }
        };
        let limit = match filter.limit {
            Some(l) if l < 0 => return Err(invalid("limit", "it must be 0 or more")),
            Some(l) => l.min(MAX_LIMIT),
            None => MAX_LIMIT,
        };
        let (cmp, dir) = match filter.sort_dir {
            SortDir::Asc => (">", "ASC"),
            SortDir::Desc => ("<", "DESC"),
        };
        let mut sql = String::from(
            "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ?",
        );
        let mut args: Vec<Arg> = vec![ns.id.clone().into()];
        if let Some(marker) = &filter.marker {
            let m = self.tag_by_name(&ns, marker).await?;
            let key: Arg = match sort_col {
                "created_at" => m.created_at.timestamp_micros().into(),
                "updated_at" => m.updated_at.timestamp_micros().into(),
                _ => m.name.clone().into(),
            };
            sql.push_str(&format!(
                " AND ({sort_col} {cmp} ? OR ({sort_col} = ? AND name {cmp} ?))"
            ));
            args.push(key.clone());
            args.push(key);
            args.push(m.name.into());
        }
        sql.push_str(&format!(
            " ORDER BY {sort_col} {dir}, name {dir} LIMIT {limit}"
        ));
        bind_args(sqlx::query(&sql), &args)
            .fetch_all(&self.db.pool)
            .await?
            .iter()
            .map(tag_row)
            .collect()
    }

    async fn tag_by_name(&self, ns: &NsRow, name: &str) -> Result<MetadefTag> {
        let row = sqlx::query(
            "SELECT name, created_at, updated_at FROM metadef_tags WHERE namespace_id = ? AND name = ?",
        )
        .bind(ns.id.as_str())
        .bind(name)
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or_else(|| tag_not_found(&ns.ns.namespace, name))?;
        tag_row(&row)
    }

    pub async fn get_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<MetadefTag> {
        let ns = self.namespace_for(ctx, namespace, &md::GET_TAG).await?;
        self.tag_by_name(&ns, name).await
    }

    pub async fn create_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<MetadefTag> {
        let ns = self.visible_namespace(ctx, namespace).await?;
        check_name("tag name", name, NAME_MAX)?;
        enforce(ctx, &md::ADD_TAG, &ns_target(&ns.ns))?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        insert_tag(&mut tx, &ns, name, now).await?;
        self.touch_namespace(&mut tx, &ns.id, now).await?;
        tx.commit().await?;
        self.tag_by_name(&ns, name).await
    }

    /// Creates several tags at once, replacing the namespace's tags unless
    /// `append` (Glance's `X-Openstack-Append`). A name given twice, or
    /// (when appending) one already there, is a conflict and nothing changes.
    pub async fn create_metadef_tags(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        names: &[String],
        append: bool,
    ) -> Result<Vec<MetadefTag>> {
        let ns = self.namespace_for(ctx, namespace, &md::ADD_TAGS).await?;
        for n in names {
            check_name("tag name", n, NAME_MAX)?;
        }
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        if !append {
            sqlx::query("DELETE FROM metadef_tags WHERE namespace_id = ?")
                .bind(ns.id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for n in names {
            insert_tag(&mut tx, &ns, n, now).await?;
        }
        self.touch_namespace(&mut tx, &ns.id, now).await?;
        tx.commit().await?;
        Ok(names
            .iter()
            .map(|n| MetadefTag {
                name: n.clone(),
                created_at: micros_to_time(now),
                updated_at: micros_to_time(now),
            })
            .collect())
    }

    /// Renames a tag.
    pub async fn update_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
        new_name: &str,
    ) -> Result<MetadefTag> {
        let ns = self.namespace_for(ctx, namespace, &md::MODIFY_TAG).await?;
        check_name("tag name", new_name, NAME_MAX)?;
        let res = sqlx::query(
            "UPDATE metadef_tags SET name = ?, updated_at = ? WHERE namespace_id = ? AND name = ?",
        )
        .bind(new_name)
        .bind(now_micros())
        .bind(ns.id.as_str())
        .bind(name)
        .execute(&self.db.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => return Err(tag_not_found(&ns.ns.namespace, name)),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(duplicate("tag", new_name, &ns.ns.namespace))
            }
            Err(e) => return Err(ImageError::from(e)),
        }
        self.tag_by_name(&ns, new_name).await
    }

    pub async fn delete_metadef_tag(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, namespace, &md::DELETE_TAG)
            .await?;
        let n = sqlx::query("DELETE FROM metadef_tags WHERE namespace_id = ? AND name = ?")
            .bind(ns.id.as_str())
            .bind(name)
            .execute(&self.db.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(tag_not_found(&ns.ns.namespace, name));
        }
        Ok(())
    }

    // ------------------------------------------------------ resource types

    /// Every resource type (the seeded system types and those created by
    /// an association).
    pub async fn list_resource_types(&self, ctx: &RequestContext) -> Result<Vec<ResourceType>> {
        enforce(ctx, &md::LIST_RESOURCE_TYPES, &own_project(ctx))?;
        sqlx::query(
            "SELECT name, created_at, updated_at FROM metadef_resource_types ORDER BY created_at, name",
        )
        .fetch_all(&self.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ResourceType {
                name: r.try_get("name")?,
                created_at: micros_to_time(r.try_get("created_at")?),
                updated_at: micros_to_time(r.try_get("updated_at")?),
            })
        })
        .collect()
    }

    pub async fn list_resource_type_associations(
        &self,
        ctx: &RequestContext,
        namespace: &str,
    ) -> Result<Vec<ResourceTypeAssociation>> {
        let ns = self
            .namespace_for(ctx, namespace, &md::LIST_RESOURCE_TYPES)
            .await?;
        Ok(self
            .namespace_contents(&ns)
            .await?
            .resource_type_associations)
    }

    /// Associates a resource type (created if new) with a namespace.
    pub async fn create_resource_type_association(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        new: NewAssociation,
    ) -> Result<ResourceTypeAssociation> {
        let ns = self
            .namespace_for(ctx, namespace, &md::ADD_RESOURCE_TYPE_ASSOCIATION)
            .await?;
        check_association(&new)?;
        let now = now_micros();
        let mut tx = self.db.begin_write().await?;
        self.insert_association(&mut tx, &ns, &new, now).await?;
        self.touch_namespace(&mut tx, &ns.id, now).await?;
        tx.commit().await?;
        Ok(ResourceTypeAssociation {
            name: new.name,
            prefix: new.prefix,
            properties_target: new.properties_target,
            created_at: micros_to_time(now),
            updated_at: micros_to_time(now),
        })
    }

    pub async fn delete_resource_type_association(
        &self,
        ctx: &RequestContext,
        namespace: &str,
        name: &str,
    ) -> Result<()> {
        let ns = self
            .unprotected_namespace(ctx, namespace, &md::REMOVE_RESOURCE_TYPE_ASSOCIATION)
            .await?;
        let n = sqlx::query(
            "DELETE FROM metadef_namespace_resource_types WHERE namespace_id = ? AND resource_type = ?",
        )
        .bind(ns.id.as_str())
        .bind(name)
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(ImageError::MetadefNotFound(crate::msg!(
                "error.metadef.resource_type_not_found",
                "Failed to find resource type {name} to delete",
                name = name,
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServiceError;
    use serde_json::json;

    fn schema(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn property_schemas_follow_glance() {
        let ok = check_property_schema(
            "p",
            &schema(json!({"name": "p", "title": "P", "type": "string", "enum": ["a", "b"]})),
        )
        .expect("valid");
        assert!(!ok.contains_key("name"));
        assert_eq!(ok["enum"], json!(["a", "b"]));
        for bad in [
            json!({"title": "P"}),
            json!({"type": "string"}),
            json!({"title": "P", "type": "text"}),
            json!({"title": "P", "type": "string", "bogus": 1}),
            json!({"title": "P", "type": "string", "minLength": -1}),
            json!({"title": "P", "type": "array", "items": {"type": "string", "x": 1}}),
        ] {
            let e = check_property_schema("p", &schema(bad.clone())).expect_err("invalid");
            assert_eq!(e.kind(), crate::ErrorKind::BadRequest, "{bad}");
        }
    }
}
