//! An image's page: every field, tags and properties, download, edit,
//! delete, and its members (the owner shares it; a member project accepts
//! or rejects it).

use leptos::prelude::*;

use crate::error::AppError;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub project_id: String,
    pub project_name: String,
    pub status: String,
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDetail {
    /// With what the caller may do (`image.can`).
    pub image: ImageInfo,
    /// Every member, when the caller may see them all (`can.see_members`).
    pub members: Vec<MemberInfo>,
    /// The caller's project's answer when the image is shared with it and
    /// it may answer (`can.answer_share`).
    pub my_status: Option<String>,
}

#[server(endpoint = "image_detail")]
pub async fn get_image_detail(id: String) -> Result<ImageDetail, AppError> {
    let (a, image) = server::auth_image().await?;
    let im = image.get_image(&a.ctx, &id).await?;
    let can = image.capabilities(&a.ctx, &im);
    let mut members = Vec::new();
    let mut my_status = None;
    if can.see_members || can.answer_share {
        // The service lists every member for those who may see them all,
        // and only the caller's own record otherwise.
        for m in image.list_members(&a.ctx, &im.id).await? {
            if can.answer_share && a.ctx.project_id() == Some(m.member_id.as_str()) {
                my_status = Some(m.status.as_str().to_string());
            }
            if can.see_members {
                members.push(m);
            }
        }
    }
    let ids: Vec<String> = members
        .iter()
        .map(|m| m.member_id.clone())
        .chain(im.owner.clone())
        .collect();
    let names = convert::project_names(&a, &ids).await;
    let members = members
        .into_iter()
        .map(|m| MemberInfo {
            project_name: names
                .get(&m.member_id)
                .cloned()
                .unwrap_or_else(|| m.member_id.clone()),
            project_id: m.member_id,
            status: m.status.as_str().to_string(),
            updated: m.updated_at.format("%Y-%m-%d %H:%M").to_string(),
        })
        .collect();
    Ok(ImageDetail {
        image: convert::info(im, &names, &a, &image),
        members,
        my_status,
    })
}

#[server(endpoint = "add_image_member")]
pub async fn add_image_member(image_id: String, member: String) -> Result<(), AppError> {
    let (a, image) = server::auth_image().await?;
    image.add_member(&a.ctx, &image_id, member.trim()).await?;
    Ok(())
}

#[server(endpoint = "remove_image_member")]
pub async fn remove_image_member(image_id: String, member: String) -> Result<(), AppError> {
    let (a, image) = server::auth_image().await?;
    image.remove_member(&a.ctx, &image_id, &member).await?;
    Ok(())
}

/// The caller's project accepts or rejects an image shared with it.
#[server(endpoint = "answer_image_share")]
pub async fn answer_image_share(image_id: String, accept: bool) -> Result<(), AppError> {
    use cloud::image::MemberStatus;
    let (a, image) = server::auth_image().await?;
    let Some(project) = a.ctx.project_id().map(str::to_string) else {
        return Err(a.msg("images.no_project", ""));
    };
    let status = if accept {
        MemberStatus::Accepted
    } else {
        MemberStatus::Rejected
    };
    image
        .update_member(&a.ctx, &image_id, &project, status)
        .await?;
    Ok(())
}

#[component]
pub fn ProjectImageDetailPage() -> impl IntoView {
    view! { <ImageDetailPage base="/project/images"/> }
}

#[component]
pub fn AdminImageDetailPage() -> impl IntoView {
    view! { <ImageDetailPage base="/admin/images"/> }
}

#[component]
fn ImageDetailPage(base: &'static str) -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let id = Memo::new(move |_| params.get().get("id").unwrap_or_default());
    let acts = use_image_actions();
    let add = ServerAction::<AddImageMember>::new();
    let remove = ServerAction::<RemoveImageMember>::new();
    let answer = ServerAction::<AnswerImageShare>::new();
    let data = Resource::new(
        move || {
            (
                id.get(),
                acts.changed()
                    + add.version().get()
                    + remove.version().get()
                    + answer.version().get(),
            )
        },
        |(id, _)| get_image_detail(id),
    );
    poll_while(
        move || data.with(|d| matches!(d, Some(Ok(d)) if d.image.status == "saving")),
        move || data.refetch(),
    );
    let navigate = use_navigate();
    Effect::new(move |_| {
        if act_ok!(acts.delete) {
            navigate(base, Default::default());
        }
    });
    view! {
        <div class="mb-2"><BackLink href=base label=t(lang, "images.title")/></div>
        <Transition fallback=loading_row>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorBox error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Ok(d) => view! { <Detail d=d acts=acts add=add remove=remove answer=answer/> }.into_any(),
                }
            })}
        </Transition>
        <ImageDialogs acts=acts/>
    }
}

/// One "label: value" line of the overview.
#[component]
fn Item(#[prop(into)] label: String, field: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="grid grid-cols-3 gap-4 px-4 py-2.5">
            <dt class="text-sm font-medium text-slate-500">{label}</dt>
            <dd class="col-span-2 min-w-0 break-all text-sm text-slate-900" data-field=field>{children()}</dd>
        </div>
    }
}

#[component]
fn Detail(
    d: ImageDetail,
    acts: ImageActions,
    add: ServerAction<AddImageMember>,
    remove: ServerAction<RemoveImageMember>,
    answer: ServerAction<AnswerImageShare>,
) -> impl IntoView {
    let lang = use_lang();
    let im = d.image.clone();
    let description = im
        .properties
        .iter()
        .find(|(k, _)| k == "description")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    let size = |s: Option<i64>| {
        s.map(|b| format!("{} ({b} bytes)", human_size(b)))
            .unwrap_or_else(|| "—".to_string())
    };
    let toggle = activation_toggle(lang, im.can).map(|(active, label)| {
            let id = im.id.clone();
            view! { <button type="button" class=BTN_SECONDARY on:click=move |_| acts.set_active(id.clone(), active)>{label}</button> }
        });
    let (im1, im2) = (im.clone(), im.clone());
    let actions = view! {
        {im.can.download.then(|| view! {
            <a href=format!("/portal/images/{}/file", im.id) download="" class=BTN_SECONDARY data-testid="download">{t(lang, "images.download")}</a>
        })}
        {toggle}
        {im.can.edit.then(|| view! {
            <button type="button" class=BTN_SECONDARY on:click=move |_| acts.edit(im1.clone())>{t(lang, "edit")}</button>
        })}
        {im.can.delete.then(|| view! {
            <button type="button" class=BTN_DANGER on:click=move |_| acts.ask_delete(im2.clone())>{t(lang, "delete")}</button>
        })}
    };
    let tags = if im.tags.is_empty() {
        view! { <p class="text-sm text-slate-400">{t(lang, "images.no_tags")}</p> }.into_any()
    } else {
        view! {
            <div class="flex flex-wrap gap-1.5">
                {im.tags.iter().map(|tag| view! { <Pill tone=Tone::Blue text=tag.clone()/> }).collect_view()}
            </div>
        }
        .into_any()
    };
    let props = if im.properties.is_empty() {
        view! { <p class="px-4 py-3 text-sm text-slate-400">{t(lang, "images.no_properties")}</p> }
            .into_any()
    } else {
        view! {
            <dl class="divide-y divide-slate-100">
                {im.properties.iter().map(|(k, v)| view! {
                    <div class="grid grid-cols-2 gap-3 px-4 py-2 text-sm" data-property=k.clone()>
                        <dt class="break-all font-mono text-xs text-slate-500">{k.clone()}</dt>
                        <dd class="break-all text-slate-900">{v.clone()}</dd>
                    </div>
                }).collect_view()}
            </dl>
        }
        .into_any()
    };
    let members_card = im.can.share.then(|| view! { <Members image_id=im.id.clone() members=d.members.clone() add=add remove=remove/> });
    let my_share = d.my_status.clone().map(|status| {
        let (id1, id2) = (im.id.clone(), im.id.clone());
        let accepted = status == "accepted";
        let rejected = status == "rejected";
        view! {
            <div class="mb-6 flex flex-wrap items-center justify-between gap-3 rounded-lg border border-sky-200 bg-sky-50 px-4 py-3" data-testid="my-share">
                <p class="text-sm text-sky-900">
                    {t(lang, "images.shared_with_you")}" "
                    <MemberPill status=status.clone()/>
                </p>
                <div class="flex gap-2">
                    {(!accepted).then(|| view! {
                        <button type="button" class=BTN_PRIMARY disabled=move || answer.pending().get()
                            on:click=move |_| { answer.dispatch(AnswerImageShare { image_id: id1.clone(), accept: true }); }>{t(lang, "images.accept")}</button>
                    })}
                    {(!rejected).then(|| view! {
                        <button type="button" class=BTN_SECONDARY disabled=move || answer.pending().get()
                            on:click=move |_| { answer.dispatch(AnswerImageShare { image_id: id2.clone(), accept: false }); }>{t(lang, "images.reject")}</button>
                    })}
                </div>
            </div>
        }
    });
    let owner = if im.owner_name != im.owner {
        format!("{} ({})", im.owner_name, im.owner)
    } else {
        im.owner.clone()
    };
    let hash_algo = if im.os_hash_algo.is_empty() {
        "—".to_string()
    } else {
        im.os_hash_algo.clone()
    };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_string()
        } else {
            s.to_string()
        }
    };
    view! {
        <Title text=format!("{} · Gureum", im.label())/>
        <PageHeader title=im.label() subtitle=description.clone().unwrap_or_default()>{actions}</PageHeader>
        <ErrorBox error=act_err!(acts.activate)/>
        <ErrorBox error=act_err!(answer)/>
        {my_share}
        <div class="grid gap-6 xl:grid-cols-3">
            <div class=format!("{CARD} xl:col-span-2")>
                <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "images.overview")}</h2>
                <dl class="divide-y divide-slate-100">
                    <Item label=t(lang, "id") field="id"><span class="font-mono text-xs">{im.id.clone()}</span></Item>
                    <Item label=t(lang, "name") field="name">{or_dash(&im.name)}</Item>
                    <Item label=t(lang, "status") field="status"><StatusPill status=im.status.clone()/></Item>
                    <Item label=t(lang, "images.owner") field="owner">{owner}</Item>
                    <Item label=t(lang, "images.visibility") field="visibility">{visibility_label(lang, &im.visibility)}</Item>
                    <Item label=t(lang, "images.protected") field="protected">{yes_no(lang, im.protected)}</Item>
                    <Item label=t(lang, "images.hidden") field="hidden">{yes_no(lang, im.hidden)}</Item>
                    <Item label=t(lang, "images.disk_format") field="disk_format"><span class="uppercase">{or_dash(&im.disk_format)}</span></Item>
                    <Item label=t(lang, "images.container_format") field="container_format"><span class="uppercase">{or_dash(&im.container_format)}</span></Item>
                    <Item label=t(lang, "images.size") field="size">{size(im.size)}</Item>
                    <Item label=t(lang, "images.virtual_size") field="virtual_size">{size(im.virtual_size)}</Item>
                    <Item label=t(lang, "images.min_disk") field="min_disk">{im.min_disk.to_string()}</Item>
                    <Item label=t(lang, "images.min_ram") field="min_ram">{im.min_ram.to_string()}</Item>
                    <Item label=t(lang, "images.checksum") field="checksum"><span class="font-mono text-xs">{or_dash(&im.checksum)}</span></Item>
                    <Item label=t(lang, "images.hash_algo") field="os_hash_algo">{hash_algo}</Item>
                    <Item label=t(lang, "images.hash_value") field="os_hash_value"><span class="font-mono text-xs leading-5">{or_dash(&im.os_hash_value)}</span></Item>
                    <Item label=t(lang, "created") field="created">{format!("{} UTC", crate::i18n::date_time(lang, &im.created))}</Item>
                    <Item label=t(lang, "images.updated") field="updated">{format!("{} UTC", crate::i18n::date_time(lang, &im.updated))}</Item>
                </dl>
            </div>
            <div class="space-y-6">
                <div class=CARD>
                    <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "images.tags")}</h2>
                    <div class="px-4 py-3" data-testid="tags">{tags}</div>
                </div>
                <div class=CARD>
                    <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "images.properties")}</h2>
                    {props}
                </div>
            </div>
        </div>
        {members_card}
    }
}

#[component]
fn MemberPill(#[prop(into)] status: String) -> impl IntoView {
    let lang = use_lang();
    match status.as_str() {
        "accepted" => view! { <Pill tone=Tone::Green text=t(lang, "images.m.accepted")/> },
        "rejected" => view! { <Pill tone=Tone::Red text=t(lang, "images.m.rejected")/> },
        _ => view! { <Pill tone=Tone::Amber text=t(lang, "images.m.pending")/> },
    }
}

/// The owner's view of the members: share with a project by id, remove.
#[component]
fn Members(
    image_id: String,
    members: Vec<MemberInfo>,
    add: ServerAction<AddImageMember>,
    remove: ServerAction<RemoveImageMember>,
) -> impl IntoView {
    let lang = use_lang();
    let rows = members
        .iter()
        .map(|m| {
            let (iid, pid) = (image_id.clone(), m.project_id.clone());
            let name = (m.project_name != m.project_id).then(|| m.project_name.clone());
            view! {
                <tr class="hover:bg-slate-50" data-member=m.project_id.clone()>
                    <td class=format!("{TD} font-medium text-slate-900")>{name}</td>
                    <td class=format!("{TD} font-mono text-xs text-slate-500")>{m.project_id.clone()}</td>
                    <td class=TD><MemberPill status=m.status.clone()/></td>
                    <td class=format!("{TD} text-slate-500")>{crate::i18n::date_time(lang, &m.updated)}</td>
                    <td class=format!("{TD} text-right")>
                        <button type="button" class=BTN_LINK_DANGER disabled=move || remove.pending().get()
                            on:click=move |_| { remove.clear(); remove.dispatch(RemoveImageMember { image_id: iid.clone(), member: pid.clone() }); }>{t(lang, "remove")}</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class=format!("{CARD} mt-6")>
            <h2 class="border-b border-slate-200 px-4 py-3 text-sm font-semibold text-slate-900">{t(lang, "images.members")}</h2>
            <div class="border-b border-slate-100 p-4">
                <ErrorBox error=act_err!(add)/>
                <ErrorBox error=act_err!(remove)/>
                <ActionForm action=add>
                    <input type="hidden" name="image_id" value=image_id.clone()/>
                    <div class="flex flex-wrap items-end gap-3">
                        <div class="min-w-72 flex-1">
                            <label for="m-project" class=LABEL>{t(lang, "images.member_project")}</label>
                            <input id="m-project" name="member" required class=format!("{INPUT} font-mono") autocomplete="off" placeholder=t(lang, "images.member_hint")/>
                        </div>
                        <button type="submit" class=BTN_PRIMARY disabled=move || add.pending().get()>{t(lang, "images.share")}</button>
                    </div>
                </ActionForm>
            </div>
            {if members.is_empty() {
                view! { <EmptyState title=t(lang, "images.no_members") hint=t(lang, "images.no_members_hint")/> }.into_any()
            } else {
                view! {
                    <table class="min-w-full divide-y divide-slate-200">
                        <thead class="bg-slate-50"><tr>
                            <Th label=t(lang, "images.project")/>
                            <Th label=t(lang, "id")/>
                            <Th label=t(lang, "status")/>
                            <Th label=t(lang, "images.updated")/>
                            <ThActions/>
                        </tr></thead>
                        <tbody class="divide-y divide-slate-100">{rows}</tbody>
                    </table>
                }.into_any()
            }}
        </div>
    }
}
