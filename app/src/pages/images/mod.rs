//! Images (Glance): Project → Compute → Images, Admin → Images, and an
//! image's detail page. One table component serves both lists; the row
//! actions, edit dialog and delete confirmation are shared too.

pub mod admin;
pub mod detail;
mod forms;
pub mod project;
pub mod upload;

pub use forms::*;

use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::components::*;
use crate::i18n::{t, use_lang, Lang};
use crate::{act_err, act_ok};

#[cfg(feature = "ssr")]
use crate::server;

/// An image as the dashboard shows it (list rows and the detail page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    pub id: String,
    pub name: String,
    pub owner: String,
    /// The owning project's name when the caller may know it, else its id.
    pub owner_name: String,
    pub visibility: String,
    pub status: String,
    pub disk_format: String,
    pub container_format: String,
    pub min_disk: i64,
    pub min_ram: i64,
    pub protected: bool,
    pub hidden: bool,
    pub size: Option<i64>,
    pub virtual_size: Option<i64>,
    pub checksum: String,
    pub os_hash_algo: String,
    pub os_hash_value: String,
    pub created: String,
    pub updated: String,
    pub tags: Vec<String>,
    pub properties: Vec<(String, String)>,
    /// What the caller may do with it, as the image service says.
    pub can: ImageCaps,
}

/// The image service's `ImageCapabilities`, as the browser receives them:
/// the dashboard shows an action only when its flag is set and never
/// decides policy itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageCaps {
    pub edit: bool,
    pub delete: bool,
    pub upload: bool,
    pub download: bool,
    pub publicize: bool,
    pub share: bool,
    pub see_members: bool,
    pub answer_share: bool,
    pub deactivate: bool,
    pub reactivate: bool,
}

impl ImageInfo {
    /// The name, or the id for an unnamed image.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            self.id.clone()
        } else {
            self.name.clone()
        }
    }

    fn is_snapshot(&self) -> bool {
        self.properties
            .iter()
            .any(|(k, v)| k == "image_type" && v == "snapshot")
    }
}

/// One page of a list, one row per image.
pub type ImagePage = PageOf<ImageInfo>;

// ------------------------------------------------------------ server side

#[cfg(feature = "ssr")]
pub(super) mod convert {
    use std::collections::HashMap;

    use super::{ImageCaps, ImageInfo};
    use crate::server::Auth;

    pub fn caps(c: cloud::image::ImageCapabilities) -> ImageCaps {
        ImageCaps {
            edit: c.edit,
            delete: c.delete,
            upload: c.upload,
            download: c.download,
            publicize: c.publicize,
            share: c.share,
            see_members: c.see_members,
            answer_share: c.answer_share,
            deactivate: c.deactivate,
            reactivate: c.reactivate,
        }
    }

    /// The image with what the caller may do with it.
    pub fn info(
        im: cloud::image::Image,
        names: &HashMap<String, String>,
        a: &Auth,
        service: &cloud::image::ImageService,
    ) -> ImageInfo {
        let can = caps(service.capabilities(&a.ctx, &im));
        let owner = im.owner.clone().unwrap_or_default();
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S").to_string();
        ImageInfo {
            id: im.id,
            name: im.name.unwrap_or_default(),
            owner_name: names.get(&owner).cloned().unwrap_or_else(|| owner.clone()),
            owner,
            visibility: im.visibility.as_str().to_string(),
            status: im.status.as_str().to_string(),
            disk_format: im
                .disk_format
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
            container_format: im
                .container_format
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
            min_disk: im.min_disk,
            min_ram: im.min_ram,
            protected: im.protected,
            hidden: im.os_hidden,
            size: im.size,
            virtual_size: im.virtual_size,
            checksum: im.checksum.unwrap_or_default(),
            os_hash_algo: im.os_hash_algo.unwrap_or_default(),
            os_hash_value: im.os_hash_value.unwrap_or_default(),
            created: time(im.created_at),
            updated: time(im.updated_at),
            tags: im.tags,
            properties: im.properties.into_iter().collect(),
            can,
        }
    }

    /// Names of the projects behind `ids` that the caller may read, in one
    /// lookup; an unreadable or failed one shows as its id.
    pub async fn project_names(a: &Auth, ids: &[String]) -> HashMap<String, String> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        match a.identity.project_names(&a.ctx, &ids).await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!(error = %e, "project names for the images panel");
                HashMap::new()
            }
        }
    }

    /// A whole number of GiB or MiB from a form field (empty is 0).
    pub async fn parse_min(
        a: &Auth,
        v: &str,
        label_key: &'static str,
    ) -> Result<i64, crate::error::AppError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(0);
        }
        match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(n),
            _ => {
                let label = crate::i18n::t(a.lang().await, label_key);
                Err(a.msg("images.err_number", label))
            }
        }
    }
}

#[server(endpoint = "list_images")]
pub async fn list_images(
    tab: String,
    q: String,
    sort: String,
    dir: String,
    page: i64,
) -> Result<ImagePage, AppError> {
    use cloud::image::{ImageFilter, ImageSortKey, MemberStatusFilter, VisibilityFilter};
    let (a, image) = server::auth_image().await?;
    let q = q.trim();
    let key = match sort.as_str() {
        "created" => ImageSortKey::CreatedAt,
        other => ImageSortKey::parse(other).unwrap_or(ImageSortKey::Name),
    };
    let mut f = ImageFilter {
        query: (!q.is_empty()).then(|| q.to_string()),
        sort: vec![(key, cloud::SortDir::parse(&dir))],
        limit: Some(PAGE_SIZE),
        offset: Some(cloud::page::page_offset(page, PAGE_SIZE)),
        ..Default::default()
    };
    match tab.as_str() {
        "admin" => {
            let all = &cloud::policy::image::LIST_ALL_IMAGES;
            if !cloud::policy::allows(&a.ctx, all, &cloud::policy::Target::none()) {
                return Err(a.msg("images.admin_only", "").with_kind("forbidden"));
            }
            f.admin_all = Some(true);
        }
        "shared" | "pending" => {
            f.visibility = Some(VisibilityFilter::Shared);
            f.admin_all = Some(false);
            f.member_status = Some(if tab == "shared" {
                MemberStatusFilter::Accepted
            } else {
                MemberStatusFilter::Pending
            });
        }
        "public" => f.visibility = Some(VisibilityFilter::Public),
        "community" => f.visibility = Some(VisibilityFilter::Community),
        _ => {
            f.owner = Some(a.ctx.project_id().unwrap_or_default().to_string());
            f.admin_all = Some(false);
        }
    }
    let p = image.list_images(&a.ctx, &f).await?;
    let owners: Vec<String> = p.items.iter().filter_map(|i| i.owner.clone()).collect();
    let names = convert::project_names(&a, &owners).await;
    Ok(PageOf {
        total: p.total,
        items: p
            .items
            .into_iter()
            .map(|i| convert::info(i, &names, &a, &image))
            .collect(),
    })
}

#[server(endpoint = "delete_image")]
pub async fn delete_image(id: String) -> Result<(), AppError> {
    let (a, image) = server::auth_image().await?;
    image.delete_image(&a.ctx, &id).await?;
    Ok(())
}

/// Admin: deactivate (`active = false`) or reactivate an image.
#[server(endpoint = "set_image_active")]
pub async fn set_image_active(id: String, active: bool) -> Result<(), AppError> {
    let (a, image) = server::auth_image().await?;
    let res = if active {
        image.reactivate_image(&a.ctx, &id).await
    } else {
        image.deactivate_image(&a.ctx, &id).await
    };
    res.map_err(AppError::from)?;
    Ok(())
}

/// `key=value` lines; a line without `=` (or with an empty key) is
/// returned as the error.
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                let k = k.trim().to_string();
                out.retain(|(o, _)| *o != k);
                out.push((k, v.trim().to_string()));
            }
            _ => return Err(line.to_string()),
        }
    }
    Ok(out)
}

// ----------------------------------------------------------- formatting

/// Bytes in binary units: "512 B", "8.0 MiB", "1.5 GiB".
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The disk format a file name suggests (Horizon's guess); raw otherwise.
pub fn guess_disk_format(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "qcow2" | "qcow" => "qcow2",
        "iso" => "iso",
        "vmdk" => "vmdk",
        "vhd" => "vhd",
        "vhdx" => "vhdx",
        "vdi" => "vdi",
        _ => "raw",
    }
}

/// The disk formats the create dialog offers.
pub const DISK_FORMATS: [(&str, &str); 10] = [
    ("raw", "Raw"),
    ("qcow2", "QCOW2 – QEMU Emulator"),
    ("iso", "ISO – Optical Disk Image"),
    ("vmdk", "VMDK – Virtual Machine Disk"),
    ("vhd", "VHD – Virtual Hard Disk"),
    ("vhdx", "VHDX – Large Virtual Hard Disk"),
    ("vdi", "VDI – Virtual Disk Image"),
    ("ami", "AMI – Amazon Machine Image"),
    ("ari", "ARI – Amazon Ramdisk Image"),
    ("aki", "AKI – Amazon Kernel Image"),
];

fn visibility_label(lang: Lang, v: &str) -> &'static str {
    match v {
        "public" => t(lang, "images.vis.public"),
        "shared" => t(lang, "images.vis.shared"),
        "community" => t(lang, "images.vis.community"),
        _ => t(lang, "images.vis.private"),
    }
}

/// An image status as a coloured label.
#[component]
pub fn StatusPill(#[prop(into)] status: String) -> impl IntoView {
    let lang = use_lang();
    let (tone, text) = match status.as_str() {
        "active" => (Tone::Green, t(lang, "images.st.active")),
        "queued" => (Tone::Amber, t(lang, "images.st.queued")),
        "saving" => (Tone::Amber, t(lang, "images.st.saving")),
        "killed" => (Tone::Red, t(lang, "images.st.killed")),
        "deactivated" => (Tone::Grey, t(lang, "images.st.deactivated")),
        _ => (Tone::Grey, t(lang, "images.st.deleted")),
    };
    view! { <span data-status=status.clone()><Pill tone=tone text=text/></span> }
}

fn yes_no(lang: Lang, v: bool) -> &'static str {
    if v {
        t(lang, "yes")
    } else {
        t(lang, "no")
    }
}

// ------------------------------------------------------- shared actions

/// The row actions every image view shares: edit, delete (with its
/// confirmation), deactivate / reactivate.
#[derive(Clone, Copy)]
pub struct ImageActions {
    pub update: ServerAction<UpdateImage>,
    pub delete: ServerAction<DeleteImage>,
    pub activate: ServerAction<SetImageActive>,
    pub editing: RwSignal<Option<ImageInfo>>,
    pub deleting: RwSignal<Option<ImageInfo>>,
}

pub fn use_image_actions() -> ImageActions {
    let acts = ImageActions {
        update: ServerAction::new(),
        delete: ServerAction::new(),
        activate: ServerAction::new(),
        editing: RwSignal::new(None),
        deleting: RwSignal::new(None),
    };
    Effect::new(move |_| {
        if act_ok!(acts.update) {
            acts.editing.set(None)
        }
    });
    Effect::new(move |_| {
        if act_ok!(acts.delete) {
            acts.deleting.set(None)
        }
    });
    acts
}

impl ImageActions {
    /// Changes that keep the image (tracked).
    pub fn changed(&self) -> usize {
        self.update.version().get() + self.activate.version().get()
    }
    pub fn edit(&self, im: ImageInfo) {
        self.update.clear();
        self.editing.set(Some(im));
    }
    pub fn ask_delete(&self, im: ImageInfo) {
        self.delete.clear();
        self.deleting.set(Some(im));
    }
    pub fn set_active(&self, id: String, active: bool) {
        self.activate.clear();
        self.activate.dispatch(SetImageActive { id, active });
    }
}

/// The edit dialog and the delete confirmation of [`ImageActions`].
#[component]
pub fn ImageDialogs(acts: ImageActions) -> impl IntoView {
    let lang = use_lang();
    view! {
        {move || acts.editing.get().map(|im| view! {
            <EditImageDialog image=im action=acts.update on_close=Callback::new(move |_| acts.editing.set(None))/>
        })}
        {move || acts.deleting.get().map(|im| {
            let id = im.id.clone();
            view! {
                <Confirm title=t(lang, "images.delete") message=format!("{} {}", t(lang, "images.delete_q").replace("{name}", &im.label()), t(lang, "confirm.irreversible"))
                    confirm_label=t(lang, "delete")
                    on_confirm=Callback::new(move |_| { acts.delete.dispatch(DeleteImage { id: id.clone() }); })
                    on_close=Callback::new(move |_| acts.deleting.set(None))
                    pending=acts.delete.pending() error=act_err!(acts.delete)/>
            }
        })}
    }
}

/// A visibility select; public only when the service says the caller may
/// publicize (or when it already is).
#[component]
pub fn VisibilitySelect(#[prop(into)] selected: String, publicize: bool) -> impl IntoView {
    let lang = use_lang();
    let mut options = vec!["private", "shared", "community"];
    if publicize || selected == "public" {
        options.push("public");
    }
    view! {
        <div class="mb-4">
            <label for="f-visibility" class=LABEL>{t(lang, "images.visibility")}</label>
            <select id="f-visibility" name="visibility" class=INPUT>
                {options.into_iter().map(|v| {
                    let sel = v == selected;
                    view! { <option value=v selected=sel>{visibility_label(lang, v)}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// A labelled checkbox.
#[component]
pub fn CheckField(
    #[prop(into)] label: String,
    name: &'static str,
    #[prop(optional)] checked: bool,
) -> impl IntoView {
    view! {
        <label class="mb-4 flex items-center gap-2 text-sm font-medium text-slate-700">
            <input type="checkbox" name=name value="on" checked=checked
                class="h-4 w-4 rounded border-slate-300 text-sky-600 focus:ring-sky-500"/>
            {label}
        </label>
    }
}

/// Minimum disk (GiB) and RAM (MiB), side by side.
#[component]
pub fn MinFields(#[prop(optional)] disk: i64, #[prop(optional)] ram: i64) -> impl IntoView {
    let lang = use_lang();
    view! {
        <div class="grid grid-cols-2 gap-4">
            <Field label=t(lang, "images.min_disk") name="min_disk" kind="number" value=disk.to_string()/>
            <Field label=t(lang, "images.min_ram") name="min_ram" kind="number" value=ram.to_string()/>
        </div>
    }
}

#[component]
fn EditImageDialog(
    image: ImageInfo,
    action: ServerAction<UpdateImage>,
    on_close: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let props = image
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n");
    view! {
        <Modal title=format!("{} — {}", t(lang, "images.edit"), image.label()) on_close=on_close>
            <ErrorBox error=act_err!(action)/>
            <ActionForm action=action>
                <input type="hidden" name="id" value=image.id.clone()/>
                <Field label=t(lang, "name") name="name" value=image.name.clone()/>
                <VisibilitySelect selected=image.visibility.clone() publicize=image.can.publicize/>
                <MinFields disk=image.min_disk ram=image.min_ram/>
                <CheckField label=t(lang, "images.protected") name="protected" checked=image.protected/>
                <Field label=t(lang, "images.tags") name="tags" value=image.tags.join(", ") hint=t(lang, "images.tags_hint")/>
                <div class="mb-4">
                    <label for="f-properties" class=LABEL>{t(lang, "images.properties")}</label>
                    <textarea id="f-properties" name="properties" rows="5" class=format!("{INPUT} font-mono")>{props}</textarea>
                    <p class="mt-1 text-xs text-slate-500">{t(lang, "images.properties_hint")}</p>
                </div>
                <FormActions submit_label=t(lang, "save") pending=action.pending() on_cancel=on_close/>
            </ActionForm>
        </Modal>
    }
}

/// Deactivate or reactivate, when the service offers either: `(active
/// after the change, label)`.
pub fn activation_toggle(lang: Lang, can: ImageCaps) -> Option<(bool, &'static str)> {
    if can.deactivate {
        Some((false, t(lang, "images.deactivate")))
    } else if can.reactivate {
        Some((true, t(lang, "images.reactivate")))
    } else {
        None
    }
}

/// While `busy` holds (an image is `saving`: an upload runs, or was just
/// cut off and the server is putting it back to `queued`), `refetch` every
/// two seconds. Effects run only in the browser.
pub fn poll_while(busy: impl Fn() -> bool + 'static, refetch: impl Fn() + Clone + 'static) {
    Effect::new(move |_| {
        if busy() {
            let refetch = refetch.clone();
            set_timeout(refetch, std::time::Duration::from_secs(2));
        }
    });
}

// ---------------------------------------------------------------- table

/// Which panel a table serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Project,
    Admin,
}

/// The images table with its filter box and pager, sorted, filtered and
/// paged on the server. `refresh` changes when an image was created or
/// uploaded.
#[component]
pub fn ImageTable(
    base: &'static str,
    mode: Mode,
    params: Memo<ListParams>,
    acts: ImageActions,
    #[prop(into)] refresh: Signal<usize>,
) -> impl IntoView {
    let lang = use_lang();
    let data = Resource::new(
        move || {
            (
                params.get(),
                refresh.get() + acts.changed() + acts.delete.version().get(),
            )
        },
        move |(p, _)| {
            let tab = match mode {
                Mode::Admin => "admin".to_string(),
                Mode::Project => p.tab,
            };
            list_images(tab, p.q, p.sort, p.dir, p.page)
        },
    );
    poll_while(
        move || {
            data.with(|d| matches!(d, Some(Ok(p)) if p.items.iter().any(|i| i.status == "saving")))
        },
        move || data.refetch(),
    );
    let head = move || {
        view! {
            <SortHeader label=t(lang, "name") key="name" base=base params=params/>
            <Th label=t(lang, "images.type")/>
            <SortHeader label=t(lang, "status") key="status" base=base params=params/>
            <SortHeader label=t(lang, "images.visibility") key="visibility" base=base params=params/>
            <Th label=t(lang, "images.protected")/>
            <SortHeader label=t(lang, "images.disk_format") key="disk_format" base=base params=params/>
            <SortHeader label=t(lang, "images.size") key="size" base=base params=params/>
            <SortHeader label=t(lang, "images.owner") key="owner" base=base params=params/>
            <ThActions/>
        }
        .into_any()
    };
    let row =
        move |im: ImageInfo| view! { <ImageRow im=im base=base mode=mode acts=acts/> }.into_any();
    view! {
        <ErrorBox error=act_err!(acts.activate)/>
        <div class="mb-3"><FilterBox base=base params=params/></div>
        <PagedTable data=data base=base params=params
            empty_title=t(lang, "images.empty") empty_hint=t(lang, "images.empty_hint")
            head=head row=row/>
    }
}

#[component]
fn ImageRow(im: ImageInfo, base: &'static str, mode: Mode, acts: ImageActions) -> impl IntoView {
    let lang = use_lang();
    let href = format!("{base}/{}", im.id);
    let kind = if im.is_snapshot() {
        t(lang, "images.snapshot")
    } else {
        t(lang, "images.image")
    };
    let toggle = (mode == Mode::Admin)
        .then(|| activation_toggle(lang, im.can))
        .flatten()
        .map(|(active, label)| {
            let id = im.id.clone();
            view! { <button type="button" class=BTN_LINK on:click=move |_| acts.set_active(id.clone(), active)>{label}</button> }
        });
    let (edit, delete) = (im.can.edit, im.can.delete);
    let (im1, im2) = (im.clone(), im.clone());
    view! {
        <tr class="hover:bg-slate-50" data-image=im.name.clone() data-id=im.id.clone()>
            <td class=format!("{TD} min-w-48 font-medium text-slate-900")>
                <a href=href class="hover:text-sky-700 hover:underline">{im.label()}</a>
            </td>
            <td class=TD>{kind}</td>
            <td class=TD><StatusPill status=im.status.clone()/></td>
            <td class=TD>{visibility_label(lang, &im.visibility)}</td>
            <td class=TD>{yes_no(lang, im.protected)}</td>
            <td class=format!("{TD} uppercase")>{im.disk_format.clone()}</td>
            <td class=format!("{TD} whitespace-nowrap tabular-nums")>{im.size.map(human_size).unwrap_or_default()}</td>
            <td class=format!("{TD} text-slate-500")>{im.owner_name.clone()}</td>
            <td class=format!("{TD} space-x-3 whitespace-nowrap text-right")>
                {toggle}
                {edit.then(|| view! {
                    <button type="button" class=BTN_LINK on:click=move |_| acts.edit(im1.clone())>{t(lang, "edit")}</button>
                })}
                {delete.then(|| view! {
                    <button type="button" class=BTN_LINK_DANGER on:click=move |_| acts.ask_delete(im2.clone())>{t(lang, "delete")}</button>
                })}
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(8 * 1024 * 1024), "8.0 MiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
        assert_eq!(human_size(i64::MAX), "8192.0 PiB");
    }

    #[test]
    fn disk_format_from_extension() {
        assert_eq!(guess_disk_format("cirros-0.6.2-x86_64-disk.QCOW2"), "qcow2");
        assert_eq!(guess_disk_format("debian.iso"), "iso");
        assert_eq!(guess_disk_format("w.vmdk"), "vmdk");
        assert_eq!(guess_disk_format("w.vhd"), "vhd");
        assert_eq!(guess_disk_format("w.vhdx"), "vhdx");
        assert_eq!(guess_disk_format("w.vdi"), "vdi");
        assert_eq!(guess_disk_format("disk.img"), "raw");
        assert_eq!(guess_disk_format("noext"), "raw");
    }

    #[test]
    fn property_lines() {
        assert_eq!(
            parse_properties("os_distro=debian\n\n hw_disk_bus = virtio \nos_distro=ubuntu"),
            Ok(vec![
                ("hw_disk_bus".into(), "virtio".into()),
                ("os_distro".into(), "ubuntu".into())
            ])
        );
        assert_eq!(
            parse_properties("a=b=c"),
            Ok(vec![("a".into(), "b=c".into())])
        );
        assert_eq!(parse_properties("novalue"), Err("novalue".into()));
        assert_eq!(parse_properties("=x"), Err("=x".into()));
    }
}
