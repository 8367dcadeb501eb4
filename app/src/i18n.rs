//! Every UI string in English and Korean: `t(lang, key)`. The common
//! strings, identity and images live here; each later area keeps its own
//! table in `i18n/` (one file per area, so panels grow without colliding).

use std::collections::HashMap;
use std::sync::LazyLock;

use leptos::prelude::*;

mod compute;
mod compute_admin;
mod network;
mod quota;

/// Every table; a key is unique across all of them.
static TABLES: &[&[(&str, &str, &str)]] = &[
    TABLE,
    compute::TABLE,
    compute_admin::TABLE,
    network::TABLE,
    quota::TABLE,
];

/// Every entry of every table.
fn entries() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// Key → (English, Korean), built on first use: a page of a thousand
/// rows looks up thousands of keys.
static INDEX: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| entries().map(|(k, en, ko)| (*k, (*en, *ko))).collect());

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub fn parse(s: &str) -> Lang {
        if s.starts_with("ko") {
            Lang::Ko
        } else {
            Lang::En
        }
    }
    /// The language a browser asks for: the supported one (ko, en) with
    /// the highest `q` in an `Accept-Language` header, the first listed on
    /// a tie; English when it names neither.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let lang = match tag.split('-').next().unwrap_or_default() {
                "ko" => Lang::Ko,
                "en" => Lang::En,
                _ => continue,
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map(|v| v.trim().parse::<f32>().unwrap_or(0.0))
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }
}

/// A UTC time the server wrote as `YYYY-MM-DD HH:MM[:SS]`, the way readers
/// of `lang` write dates: `Dec 2, 2026 15:04` and `2026. 12. 2. 15:04`
/// (as browsers' `en-US` and `ko-KR` locales do, on a 24-hour clock).
/// Anything else is shown as it is.
pub fn date_time(lang: Lang, s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts = (|| {
        let (date, time) = s.split_once(' ')?;
        let mut d = date.splitn(3, '-');
        let year: u32 = d.next()?.parse().ok()?;
        let month: usize = d.next()?.parse().ok()?;
        let day: u32 = d.next()?.parse().ok()?;
        let name = MONTHS.get(month.checked_sub(1)?)?;
        Some((year, month, name, day, time))
    })();
    match parts {
        Some((y, _, name, d, time)) if lang == Lang::En => format!("{name} {d}, {y} {time}"),
        Some((y, m, _, d, time)) => format!("{y}. {m}. {d}. {time}"),
        None => s.to_string(),
    }
}

/// A count with its thousands grouped, as both languages write it
/// (`10,000`; Korean groups by thousands in digits too).
pub fn number(_lang: Lang, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The page's language (fixed for a page load; changing it reloads).
pub fn use_lang() -> Lang {
    use_context::<Lang>().unwrap_or_default()
}

/// The text for `key` in `lang`; an unknown key shows itself.
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    lookup(lang, key).unwrap_or(key)
}

/// The text for a key that came from elsewhere (a service error's message
/// key), if the table has it.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    INDEX.get(key).map(|(en, ko)| match lang {
        Lang::En => *en,
        Lang::Ko => *ko,
    })
}

static TABLE: &[(&str, &str, &str)] = &[
    // common
    ("loading", "Loading…", "불러오는 중…"),
    ("cancel", "Cancel", "취소"),
    ("close", "Close", "닫기"),
    ("save", "Save", "저장"),
    ("create", "Create", "생성"),
    ("delete", "Delete", "삭제"),
    ("edit", "Edit", "편집"),
    ("remove", "Remove", "제거"),
    ("enable", "Enable", "활성화"),
    ("disable", "Disable", "비활성화"),
    ("enabled", "Enabled", "활성"),
    ("disabled", "Disabled", "비활성"),
    ("yes", "Yes", "예"),
    ("no", "No", "아니요"),
    ("actions", "Actions", "작업"),
    ("name", "Name", "이름"),
    ("description", "Description", "설명"),
    ("id", "ID", "ID"),
    ("status", "Status", "상태"),
    ("email", "Email", "이메일"),
    ("created", "Created", "생성일"),
    ("filter", "Filter", "필터"),
    ("filter.placeholder", "Filter by name…", "이름으로 필터…"),
    ("pager.of", "of", "/ 전체"),
    ("pager.page", "page", "페이지"),
    ("pager.prev", "Previous", "이전"),
    ("pager.next", "Next", "다음"),
    (
        "notfound",
        "This page does not exist.",
        "페이지를 찾을 수 없습니다.",
    ),
    ("notfound.home", "Go to the dashboard", "대시보드로 이동"),
    (
        "confirm.irreversible",
        "This cannot be undone.",
        "이 작업은 되돌릴 수 없습니다.",
    ),
    (
        "no_match",
        "Nothing matches this filter",
        "필터와 일치하는 항목이 없습니다",
    ),
    (
        "no_match.hint",
        "Clear the filter or try another name.",
        "필터를 지우거나 다른 이름으로 검색하세요.",
    ),
    // login
    ("login.title", "Sign in", "로그인"),
    (
        "login.tagline",
        "Your cloud, in one binary",
        "하나의 바이너리로 구동하는 클라우드",
    ),
    ("login.domain", "Domain", "도메인"),
    ("login.username", "User name", "사용자 이름"),
    ("login.password", "Password", "비밀번호"),
    ("login.submit", "Sign in", "로그인"),
    ("login.signing_in", "Signing in…", "로그인 중…"),
    (
        "login.invalid",
        "Invalid credentials: check the domain, user name and password.",
        "인증 정보가 올바르지 않습니다. 도메인, 사용자 이름, 비밀번호를 확인하세요.",
    ),
    (
        "login.missing",
        "Enter your user name and password.",
        "사용자 이름과 비밀번호를 입력하세요.",
    ),
    (
        "login.locked",
        "This account is locked after too many failed sign-ins. Try again in {n} minute(s).",
        "로그인 실패가 너무 많아 계정이 잠겼습니다. {n}분 후에 다시 시도하세요.",
    ),
    (
        "login.pw_changed",
        "Your password was changed. Sign in with the new password.",
        "비밀번호가 변경되었습니다. 새 비밀번호로 로그인하세요.",
    ),
    (
        "login.logged_out",
        "You have signed out.",
        "로그아웃되었습니다.",
    ),
    // navigation
    ("nav.project_label", "Project", "프로젝트"),
    ("nav.no_project", "No project", "프로젝트 없음"),
    ("nav.project", "Project", "프로젝트"),
    ("nav.admin", "Admin", "관리"),
    ("nav.main", "Main", "주 메뉴"),
    ("nav.identity", "Identity", "ID 관리"),
    ("nav.settings", "Settings", "설정"),
    ("nav.user_settings", "User settings", "사용자 설정"),
    ("nav.overview", "Overview", "개요"),
    ("nav.projects", "Projects", "프로젝트"),
    ("nav.users", "Users", "사용자"),
    ("nav.groups", "Groups", "그룹"),
    ("nav.roles", "Roles", "역할"),
    (
        "nav.app_creds",
        "Application Credentials",
        "애플리케이션 자격 증명",
    ),
    ("nav.sign_out", "Sign out", "로그아웃"),
    ("nav.compute", "Compute", "컴퓨트"),
    ("nav.images", "Images", "이미지"),
    ("denied.title", "Not permitted", "권한이 없습니다"),
    (
        "denied.text",
        "This page is for administrators. Ask an administrator if you need access.",
        "이 페이지는 관리자 전용입니다. 접근이 필요하면 관리자에게 문의하세요.",
    ),
    (
        "denied.back",
        "Back to your project",
        "내 프로젝트로 돌아가기",
    ),
    // overview
    ("overview.project", "Project overview", "프로젝트 개요"),
    ("overview.admin", "Admin overview", "관리 개요"),
    ("overview.compute", "Compute", "컴퓨트"),
    ("overview.volumes", "Volumes", "볼륨"),
    ("overview.networks", "Networks", "네트워크"),
    (
        "overview.soon",
        "Coming in a later release",
        "이후 릴리스에서 제공",
    ),
    (
        "overview.later",
        "Compute, volumes and networks arrive in later releases.",
        "컴퓨트, 볼륨, 네트워크는 이후 릴리스에서 제공됩니다.",
    ),
    // settings
    ("settings.title", "User settings", "사용자 설정"),
    ("settings.language", "Language", "언어"),
    (
        "settings.bad_language",
        "Choose English or Korean.",
        "영어나 한국어 중에서 고르세요.",
    ),
    ("settings.password", "Change password", "비밀번호 변경"),
    (
        "settings.password_hint",
        "After the change you are signed out everywhere and sign in again.",
        "변경 후 모든 곳에서 로그아웃되며 다시 로그인해야 합니다.",
    ),
    ("settings.old_password", "Current password", "현재 비밀번호"),
    ("settings.new_password", "New password", "새 비밀번호"),
    (
        "settings.confirm_password",
        "Confirm new password",
        "새 비밀번호 확인",
    ),
    (
        "settings.change_password",
        "Change password",
        "비밀번호 변경",
    ),
    (
        "pw.mismatch",
        "The new password and its confirmation differ.",
        "새 비밀번호와 확인 값이 다릅니다.",
    ),
    (
        "pw.required",
        "Enter the current and the new password.",
        "현재 비밀번호와 새 비밀번호를 입력하세요.",
    ),
    (
        "pw.wrong_old",
        "The current password is not correct.",
        "현재 비밀번호가 올바르지 않습니다.",
    ),
    // projects
    ("projects.title", "Projects", "프로젝트"),
    (
        "projects.subtitle",
        "Projects own resources; users get roles on them.",
        "프로젝트는 리소스를 소유하며, 사용자는 프로젝트에 역할을 부여받습니다.",
    ),
    ("projects.create", "Create project", "프로젝트 생성"),
    ("projects.edit", "Edit project", "프로젝트 편집"),
    ("projects.delete", "Delete project", "프로젝트 삭제"),
    (
        "projects.delete_q",
        "Delete project “{name}”? Its role assignments go with it.",
        "프로젝트 “{name}”을(를) 삭제할까요? 역할 할당도 함께 삭제됩니다.",
    ),
    (
        "projects.empty",
        "No projects yet",
        "아직 프로젝트가 없습니다",
    ),
    (
        "projects.empty_hint",
        "Create a project, then add members to it.",
        "프로젝트를 생성한 다음 구성원을 추가하세요.",
    ),
    ("projects.members", "Members", "구성원"),
    ("members.title", "Members of", "구성원:"),
    (
        "members.subtitle",
        "Grant users roles on this project.",
        "이 프로젝트에서 사용자에게 역할을 부여합니다.",
    ),
    ("members.user", "User", "사용자"),
    ("members.role", "Role", "역할"),
    ("members.grant", "Grant role", "역할 부여"),
    ("members.revoke", "Revoke", "회수"),
    (
        "members.revoke_q",
        "Revoke role “{role}” from “{name}”?",
        "“{name}”에게서 역할 “{role}”을(를) 회수할까요?",
    ),
    ("members.empty", "No members yet", "아직 구성원이 없습니다"),
    (
        "members.empty_hint",
        "Enter a user name and pick a role to grant it.",
        "사용자 이름을 입력하고 역할을 선택해 부여하세요.",
    ),
    ("members.via_group", "via group", "그룹 경유"),
    (
        "members.user_hint",
        "The user's name in the Default domain",
        "Default 도메인의 사용자 이름",
    ),
    ("back", "Back", "뒤로"),
    // users
    ("users.title", "Users", "사용자"),
    (
        "users.subtitle",
        "People and services that sign in to this cloud.",
        "이 클라우드에 로그인하는 사람과 서비스입니다.",
    ),
    ("users.create", "Create user", "사용자 생성"),
    ("users.edit", "Edit user", "사용자 편집"),
    ("users.set_password", "Set password", "비밀번호 설정"),
    ("users.delete", "Delete user", "사용자 삭제"),
    (
        "users.delete_q",
        "Delete user “{name}”? Their role assignments, credentials and sessions end.",
        "사용자 “{name}”을(를) 삭제할까요? 역할 할당, 자격 증명, 세션이 모두 종료됩니다.",
    ),
    (
        "users.disable_q",
        "Disable user “{name}”? They are signed out at once.",
        "사용자 “{name}”을(를) 비활성화할까요? 즉시 로그아웃됩니다.",
    ),
    ("users.empty", "No users yet", "아직 사용자가 없습니다"),
    (
        "users.empty_hint",
        "Create a user, then grant it a role on a project.",
        "사용자를 생성한 다음 프로젝트에서 역할을 부여하세요.",
    ),
    ("users.password", "Password", "비밀번호"),
    ("users.confirm", "Confirm password", "비밀번호 확인"),
    ("users.project", "Primary project", "기본 프로젝트"),
    (
        "users.project_hint",
        "Optional: a project name; the user gets the role below on it.",
        "선택 사항: 프로젝트 이름. 아래 역할이 이 프로젝트에 부여됩니다.",
    ),
    (
        "users.role",
        "Role on the primary project",
        "기본 프로젝트 역할",
    ),
    // groups
    ("groups.title", "Groups", "그룹"),
    (
        "groups.subtitle",
        "Grant roles to many users at once.",
        "여러 사용자에게 한 번에 역할을 부여합니다.",
    ),
    ("groups.create", "Create group", "그룹 생성"),
    ("groups.edit", "Edit group", "그룹 편집"),
    ("groups.delete", "Delete group", "그룹 삭제"),
    (
        "groups.delete_q",
        "Delete group “{name}”? Its members keep their own roles.",
        "그룹 “{name}”을(를) 삭제할까요? 구성원의 개별 역할은 유지됩니다.",
    ),
    ("groups.empty", "No groups yet", "아직 그룹이 없습니다"),
    (
        "groups.empty_hint",
        "Create a group, then add users to it.",
        "그룹을 생성한 다음 사용자를 추가하세요.",
    ),
    ("groups.members", "Members", "구성원"),
    (
        "gm.subtitle",
        "Users in this group get the roles granted to the group.",
        "이 그룹의 사용자는 그룹에 부여된 역할을 받습니다.",
    ),
    ("gm.add", "Add user", "사용자 추가"),
    (
        "gm.remove_q",
        "Remove “{name}” from this group?",
        "“{name}”을(를) 이 그룹에서 제거할까요?",
    ),
    (
        "gm.empty",
        "This group has no members",
        "이 그룹에는 구성원이 없습니다",
    ),
    (
        "gm.empty_hint",
        "Enter a user name above to add it.",
        "위에 사용자 이름을 입력해 추가하세요.",
    ),
    // roles
    ("roles.title", "Roles", "역할"),
    (
        "roles.subtitle",
        "Roles are granted to users and groups on projects.",
        "역할은 프로젝트에서 사용자와 그룹에 부여됩니다.",
    ),
    ("roles.create", "Create role", "역할 생성"),
    ("roles.delete", "Delete role", "역할 삭제"),
    (
        "roles.delete_q",
        "Delete role “{name}”? Every assignment of it is removed.",
        "역할 “{name}”을(를) 삭제할까요? 이 역할의 모든 할당이 제거됩니다.",
    ),
    ("roles.empty", "No roles", "역할이 없습니다"),
    (
        "roles.empty_hint",
        "Create a role to grant it to users.",
        "역할을 생성해 사용자에게 부여하세요.",
    ),
    // application credentials
    (
        "ac.title",
        "Application Credentials",
        "애플리케이션 자격 증명",
    ),
    (
        "ac.subtitle",
        "Secrets for scripts and tools, acting as you on the current project.",
        "현재 프로젝트에서 사용자를 대신하는 스크립트와 도구용 비밀입니다.",
    ),
    (
        "ac.create",
        "Create application credential",
        "애플리케이션 자격 증명 생성",
    ),
    (
        "ac.delete",
        "Delete application credential",
        "애플리케이션 자격 증명 삭제",
    ),
    (
        "ac.delete_q",
        "Delete application credential “{name}”? Tools using it stop working.",
        "애플리케이션 자격 증명 “{name}”을(를) 삭제할까요? 이를 사용하는 도구가 동작하지 않습니다.",
    ),
    (
        "ac.empty",
        "No application credentials",
        "애플리케이션 자격 증명이 없습니다",
    ),
    (
        "ac.empty_hint",
        "Create one to let a script or tool use this cloud as you.",
        "스크립트나 도구가 사용자로서 이 클라우드를 사용하도록 하나를 생성하세요.",
    ),
    ("ac.project", "Project", "프로젝트"),
    ("ac.roles", "Roles", "역할"),
    ("ac.expires", "Expires", "만료"),
    ("ac.never", "Never", "없음"),
    (
        "ac.expires_hint",
        "Optional, as YYYY-MM-DD (UTC)",
        "선택 사항, YYYY-MM-DD (UTC)",
    ),
    (
        "ac.secret_title",
        "Save this secret now",
        "지금 이 비밀을 저장하세요",
    ),
    (
        "ac.secret_text",
        "This is the only time the secret is shown. Store it somewhere safe.",
        "비밀은 지금 한 번만 표시됩니다. 안전한 곳에 보관하세요.",
    ),
    ("ac.secret", "Secret", "비밀"),
    ("ac.done", "I have saved it", "저장했습니다"),
    (
        "pw.confirm_differs",
        "The password and its confirmation differ.",
        "비밀번호와 확인 값이 다릅니다.",
    ),
    (
        "err.no_user",
        "Could not find a user named “{name}” in the Default domain.",
        "Default 도메인에서 “{name}” 사용자를 찾을 수 없습니다.",
    ),
    (
        "err.no_project",
        "Could not find a project named “{name}” in the Default domain.",
        "Default 도메인에서 “{name}” 프로젝트를 찾을 수 없습니다.",
    ),
    (
        "err.switch",
        "You cannot switch to that project: it is disabled or you have no role on it.",
        "이 프로젝트로 전환할 수 없습니다. 비활성화되었거나 역할이 없습니다.",
    ),
    (
        "err.bad_date",
        "Enter the expiry as a date, YYYY-MM-DD.",
        "만료일을 YYYY-MM-DD 형식으로 입력하세요.",
    ),
    (
        "ac.no_project",
        "Switch to a project first: a credential acts on one project.",
        "먼저 프로젝트를 선택하세요. 자격 증명은 하나의 프로젝트에서 동작합니다.",
    ),
    // images
    ("images.title", "Images", "이미지"),
    ("images.subtitle", "Disk images to boot instances from: your project's own, and those shared with it or published.", "인스턴스를 부팅할 디스크 이미지입니다. 프로젝트 소유 이미지와 공유되거나 공개된 이미지를 봅니다."),
    ("images.admin_title", "Images", "이미지"),
    ("images.admin_subtitle", "Every project's images.", "모든 프로젝트의 이미지입니다."),
    ("images.admin_only", "Only administrators can list every project's images.", "모든 프로젝트의 이미지는 관리자만 볼 수 있습니다."),
    ("images.create", "Create image", "이미지 생성"),
    ("images.edit", "Edit image", "이미지 편집"),
    ("images.delete", "Delete image", "이미지 삭제"),
    ("images.delete_q", "Delete the image “{name}” and its data?", "이미지 “{name}”과(와) 그 데이터를 삭제하시겠습니까?"),
    ("images.tab.project", "Project", "프로젝트"),
    ("images.tab.shared", "Shared with me", "나와 공유됨"),
    ("images.tab.pending", "Awaiting answer", "응답 대기"),
    ("images.tab.public", "Public", "공개"),
    ("images.tab.community", "Community", "커뮤니티"),
    ("images.empty", "No images here", "이미지가 없습니다"),
    ("images.empty_hint", "Create an image by uploading a disk file, or look in another tab.", "디스크 파일을 업로드해 이미지를 만들거나 다른 탭을 확인하세요."),
    ("images.type", "Type", "유형"),
    ("images.image", "Image", "이미지"),
    ("images.snapshot", "Snapshot", "스냅샷"),
    ("images.visibility", "Visibility", "가시성"),
    ("images.protected", "Protected", "보호됨"),
    ("images.hidden", "Hidden", "숨김"),
    ("images.disk_format", "Disk format", "디스크 형식"),
    ("images.container_format", "Container format", "컨테이너 형식"),
    ("images.size", "Size", "크기"),
    ("images.virtual_size", "Virtual size", "가상 크기"),
    ("images.owner", "Owner", "소유자"),
    ("images.min_disk", "Minimum disk (GiB)", "최소 디스크 (GiB)"),
    ("images.min_ram", "Minimum RAM (MiB)", "최소 RAM (MiB)"),
    ("images.checksum", "Checksum (MD5)", "체크섬 (MD5)"),
    ("images.hash_algo", "Hash algorithm", "해시 알고리즘"),
    ("images.hash_value", "Hash value", "해시 값"),
    ("images.updated", "Updated", "수정일"),
    ("images.tags", "Tags", "태그"),
    ("images.tags_hint", "Separate tags with commas.", "태그는 쉼표로 구분합니다."),
    ("images.no_tags", "No tags.", "태그가 없습니다."),
    ("images.properties", "Properties", "속성"),
    ("images.properties_hint", "One key=value a line; a property left out is removed.", "한 줄에 key=value 하나씩 입력합니다. 빠진 속성은 삭제됩니다."),
    ("images.no_properties", "No properties.", "속성이 없습니다."),
    ("images.overview", "Overview", "개요"),
    ("images.vis.public", "Public", "공개"),
    ("images.vis.private", "Private", "비공개"),
    ("images.vis.shared", "Shared", "공유"),
    ("images.vis.community", "Community", "커뮤니티"),
    ("images.st.active", "Active", "활성"),
    ("images.st.queued", "Queued", "대기 중"),
    ("images.st.saving", "Saving", "저장 중"),
    ("images.st.killed", "Killed", "실패"),
    ("images.st.deactivated", "Deactivated", "비활성화됨"),
    ("images.st.deleted", "Deleted", "삭제됨"),
    ("images.deactivate", "Deactivate", "비활성화"),
    ("images.reactivate", "Reactivate", "다시 활성화"),
    ("images.download", "Download", "다운로드"),
    ("images.file", "Image file", "이미지 파일"),
    ("images.no_file", "Choose the image file to upload.", "업로드할 이미지 파일을 선택하세요."),
    ("images.progress", "Upload progress", "업로드 진행률"),
    ("images.done", "Done", "완료"),
    ("images.uploading", "Uploading…", "업로드 중…"),
    ("images.cancel_upload", "Cancel upload", "업로드 취소"),
    ("images.verifying", "All data sent; checking and storing the image…", "데이터를 모두 보냈습니다. 이미지를 확인하고 저장하는 중…"),
    ("images.uploaded", "Upload complete: the image is active.", "업로드 완료: 이미지가 활성 상태입니다."),
    ("images.upload_failed", "The upload failed", "업로드에 실패했습니다"),
    ("images.upload_broken", "The upload broke off (the connection was lost or the server refused the data).", "업로드가 중단되었습니다(연결이 끊겼거나 서버가 데이터를 거부했습니다)."),
    ("images.upload_cancelled", "The upload was cancelled.", "업로드가 취소되었습니다."),
    ("images.upload_too_large", "The image is larger than the server accepts.", "이미지가 서버가 허용하는 크기보다 큽니다."),
    ("images.left_queued", "The image record was created and is left queued, without data.", "이미지 레코드는 데이터 없이 대기 중 상태로 남아 있습니다."),
    ("images.delete_queued", "Delete the queued image", "대기 중인 이미지 삭제"),
    ("images.too_large", "The file ({size}) is larger than the largest image accepted ({max}).", "파일({size})이 허용되는 최대 이미지 크기({max})보다 큽니다."),
    ("images.over_quota", "The file would exceed the project's image storage limit ({used} of {max} in use).", "파일이 프로젝트의 이미지 저장 한도를 넘습니다(사용 중 {used} / {max})."),
    ("images.err_number", "{name} must be a whole number, 0 or more.", "{name}은(는) 0 이상의 정수여야 합니다."),
    ("images.err_format", "Unknown disk format “{name}”.", "알 수 없는 디스크 형식 “{name}”입니다."),
    ("images.err_property", "Each property is one key=value line; this line is not: {name}", "속성은 한 줄에 key=value 형식이어야 합니다. 올바르지 않은 줄: {name}"),
    ("images.no_project", "Switch to a project first.", "먼저 프로젝트를 선택하세요."),
    ("images.shared_with_you", "This image is shared with your project. Your answer:", "이 이미지는 프로젝트와 공유되었습니다. 응답 상태:"),
    ("images.accept", "Accept", "수락"),
    ("images.reject", "Reject", "거절"),
    ("images.members", "Members", "멤버"),
    ("images.project", "Project", "프로젝트"),
    ("images.member_project", "Share with project (ID)", "공유할 프로젝트 (ID)"),
    ("images.member_hint", "Project ID", "프로젝트 ID"),
    ("images.share", "Share", "공유"),
    ("images.no_members", "Not shared with any project yet", "아직 공유된 프로젝트가 없습니다"),
    ("images.no_members_hint", "Add a project by its ID; it then accepts or rejects the image.", "프로젝트 ID로 추가하면 해당 프로젝트가 이미지를 수락하거나 거절합니다."),
    ("images.m.pending", "Pending", "대기"),
    ("images.m.accepted", "Accepted", "수락됨"),
    ("images.m.rejected", "Rejected", "거절됨"),
    // errors: the message keys of the services' errors (`cloud::ServiceError::public`)
    ("error.session_ended", "Your session has ended. Please sign in again.", "세션이 종료되었습니다. 다시 로그인하세요."),
    ("error.internal", "An unexpected error prevented the server from fulfilling your request.", "예기치 않은 오류로 요청을 처리하지 못했습니다. 잠시 후 다시 시도하세요."),
    (
        "error.request_failed",
        "The request could not be completed: {detail}",
        "요청을 완료하지 못했습니다: {detail}",
    ),
    ("error.unavailable", "The service is temporarily unavailable. Please try again later.", "서비스를 일시적으로 사용할 수 없습니다. 잠시 후 다시 시도하세요."),
    ("error.bad_arguments", "The request could not be read: {detail}", "요청을 읽을 수 없습니다. ({detail})"),
    ("error.quota.over", "Quota exceeded for {resource}: {used} of {limit} in use, {requested} more requested.", "{resource} 할당량을 넘었습니다: 한도 {limit} 중 {used} 사용 중이며 {requested}만큼 더 요청했습니다."),
    ("error.busy", "The server is busy. Please try again in a moment.", "서버가 바쁩니다. 잠시 후 다시 시도하세요."),
    ("error.identity.last_admin", "This would leave the cloud without an administrator: at least one enabled user must keep the admin role.", "이렇게 하면 클라우드에 관리자가 남지 않습니다. 활성화된 사용자 한 명 이상이 admin 역할을 유지해야 합니다."),
    ("error.unauthenticated", "The request you have made requires authentication.", "인증이 필요합니다. 다시 로그인하세요."),
    ("error.identity.locked", "The account is locked for {minutes} more minute(s) after too many failed logins.", "로그인 실패가 너무 많아 계정이 {minutes}분 동안 잠겼습니다."),
    ("error.identity.not_found", "Could not find {object}: {id}.", "{object}을(를) 찾을 수 없습니다: {id}"),
    ("error.identity.duplicate", "A {object} named “{name}” already exists.", "이름이 “{name}”인 {object}이(가) 이미 있습니다."),
    ("error.identity.token_not_found", "The token is invalid, expired or revoked.", "토큰이 유효하지 않거나 만료되었거나 폐기되었습니다."),
    ("error.image.not_found", "No image found with ID {id}", "ID가 {id}인 이미지를 찾을 수 없습니다."),
    ("error.image.grant_refused", "The download grant is unknown, expired, or for another image.", "다운로드 허가가 없거나 만료되었거나 다른 이미지의 것입니다."),
    ("error.image.no_data", "The image {id} has no data.", "이미지 {id}에 데이터가 없습니다."),
    ("error.image.range", "The requested range is not satisfiable for an image of {size} bytes.", "요청한 범위가 이미지 크기({size}바이트)를 벗어납니다."),
    ("error.image.upload_interrupted", "The upload was interrupted: {detail}", "업로드가 중단되었습니다. ({detail})"),
    ("error.image.format.mismatch", "The image data is {found}, but its disk_format is {declared}.", "이미지 데이터는 {found} 형식인데 디스크 형식은 {declared}(으)로 지정되었습니다."),
    ("error.image.format.ambiguous", "The image data matches more than one format ({formats}); such images are refused.", "이미지 데이터가 여러 형식({formats})과 일치하여 거부되었습니다."),
    ("error.image.format.backing_file", "The {format} image has a backing file; images that refer to other files are refused.", "{format} 이미지에 백킹 파일이 있습니다. 다른 파일을 참조하는 이미지는 거부됩니다."),
    ("error.image.format.external_data_file", "The qcow2 image uses an external data file; images that refer to other files are refused.", "qcow2 이미지가 외부 데이터 파일을 사용합니다. 다른 파일을 참조하는 이미지는 거부됩니다."),
    ("error.image.format.refused_format", "The image data is in the {name} format, which is not accepted.", "이미지 데이터가 허용되지 않는 {name} 형식입니다."),
    // what an error is about (the `object` argument of a message)
    ("object.domain", "domain", "도메인"),
    ("object.project", "project", "프로젝트"),
    ("object.user", "user", "사용자"),
    ("object.group", "group", "그룹"),
    ("object.role", "role", "역할"),
    ("object.application_credential", "application credential", "애플리케이션 자격 증명"),
    ("object.service", "service", "서비스"),
    ("object.endpoint", "endpoint", "엔드포인트"),
    ("object.implied_role", "implied role", "함축 역할"),
    ("object.region", "region", "리전"),
    ("object.endpoint_group", "endpoint group", "엔드포인트 그룹"),
    ("object.policy", "policy", "정책"),
    ("object.credential", "credential", "자격 증명"),
    ("object.domain_config", "domain config", "도메인 설정"),
    // service messages (keyed at the call site with cloud::msg!)
    ("error.policy.denied", "You are not authorized to perform the requested action: {rule}.", "요청한 작업을 수행할 권한이 없습니다. ({rule})"),
    ("error.search.too_long", "The search text is {length} characters long; at most {max} are allowed.", "검색어가 {length}자입니다. 최대 {max}자까지 입력할 수 있습니다."),
    ("error.quota.unknown_resource", "Unknown quota resource {resource}.", "알 수 없는 할당량 리소스입니다: {resource}"),
    ("error.quota.invalid_limit", "The limit for {resource} must be -1 (unlimited) or more, not {limit}.", "{resource}의 한도는 -1(무제한) 이상이어야 합니다. 입력한 값: {limit}"),
    ("error.quota.invalid_amount", "A quota request must be 0 or more, not {amount} of {resource}.", "할당량 요청은 0 이상이어야 합니다. 요청한 {resource}: {amount}"),
    ("error.identity.appcred.only_for_self", "Application credentials can only be created for yourself.", "애플리케이션 자격 증명은 자기 자신의 것만 생성할 수 있습니다."),
    ("error.identity.appcred.no_nesting", "An application credential cannot create another application credential.", "애플리케이션 자격 증명으로는 다른 애플리케이션 자격 증명을 생성할 수 없습니다."),
    ("error.identity.appcred.needs_project", "Application credentials need a project-scoped token.", "애플리케이션 자격 증명을 생성하려면 프로젝트 범위의 토큰이 필요합니다."),
    ("error.identity.appcred.expiry_past", "The expiry must be in the future.", "만료 시각은 현재 이후여야 합니다."),
    ("error.identity.appcred.role_not_held", "You do not hold the role {role} on this project, so you cannot delegate it.", "이 프로젝트에서 {role} 역할을 가지고 있지 않으므로 위임할 수 없습니다."),
    ("error.identity.appcred.secret_too_long", "The secret must be at most {max} bytes.", "비밀은 {max}바이트 이하여야 합니다."),
    ("error.identity.appcred.id_or_name", "An application credential is given by id, or by name with its user.", "애플리케이션 자격 증명은 ID로 지정하거나, 이름과 사용자를 함께 지정해야 합니다."),
    ("error.identity.appcred_token_rescope", "A token created with an application credential cannot be rescoped.", "애플리케이션 자격 증명으로 발급된 토큰은 범위를 다시 지정할 수 없습니다."),
    // the writable catalog, policies, credentials, domain configuration
    ("error.identity.catalog.service_type", "The service type must be 1 to 255 characters.", "서비스 유형은 1자 이상 255자 이하여야 합니다."),
    ("error.identity.catalog.interface", "Invalid interface \"{interface}\": expecting public, internal or admin.", "잘못된 인터페이스 \"{interface}\"입니다. public, internal, admin 중 하나여야 합니다."),
    ("error.identity.catalog.url", "Invalid endpoint URL \"{url}\": expecting an absolute URL of at most 225 characters.", "잘못된 엔드포인트 URL \"{url}\"입니다. 225자 이하의 절대 URL이어야 합니다."),
    ("error.identity.catalog.missing_reference", "Cannot find the {object} {id} that the endpoint names.", "엔드포인트가 가리키는 {object} {id}을(를) 찾을 수 없습니다."),
    ("error.identity.catalog.registry_managed", "the {object} {id} is this server's own catalog entry, kept by its service registry; change public_url or region in the server's configuration instead", "{object} {id}은(는) 이 서버의 서비스 레지스트리가 관리하는 카탈로그 항목입니다. 서버 설정의 public_url 또는 region을 바꾸세요."),
    ("error.identity.region.id", "A region id must be 1 to 255 characters without control characters.", "리전 ID는 제어 문자 없이 1자 이상 255자 이하여야 합니다."),
    ("error.identity.region.description", "A region's description must be at most 255 characters.", "리전 설명은 255자 이하여야 합니다."),
    ("error.identity.region.duplicate", "Duplicate ID, {id}", "ID가 중복됩니다: {id}"),
    ("error.identity.region.circular", "The specified parent region {parent} would create a circular region hierarchy.", "상위 리전을 {parent}(으)로 지정하면 리전 계층이 순환하게 됩니다."),
    ("error.identity.region.has_endpoints", "Unable to delete region {id} because it or its child regions have associated endpoints.", "리전 {id} 또는 그 하위 리전에 엔드포인트가 있어 삭제할 수 없습니다."),
    ("error.identity.endpoint_group.filter", "Invalid endpoint group filter {filter}: filters name interface (public, internal or admin), service_id, region_id or enabled (a boolean).", "잘못된 엔드포인트 그룹 필터 {filter}입니다. 필터에는 interface(public, internal, admin), service_id, region_id, enabled(불리언)만 쓸 수 있습니다."),
    ("error.identity.policy.type", "A policy's type must be 1 to 255 characters without control characters.", "정책 유형은 제어 문자 없이 1자 이상 255자 이하여야 합니다."),
    ("error.identity.policy.blob_too_long", "A policy's blob must be at most {max} characters.", "정책 내용은 {max}자 이하여야 합니다."),
    ("error.identity.policy.extra_too_long", "A policy's other attributes must be at most 4096 characters of JSON.", "정책의 기타 속성은 JSON으로 4096자 이하여야 합니다."),
    ("error.identity.credential.type", "A credential's type must be 1 to 255 characters without control characters.", "자격 증명 유형은 제어 문자 없이 1자 이상 255자 이하여야 합니다."),
    ("error.identity.credential.blob_too_long", "A credential's blob must be at most {max} bytes.", "자격 증명 내용은 {max}바이트 이하여야 합니다."),
    ("error.identity.credential.ec2_blob", "An ec2 credential's blob must be JSON with an access key (\"access\").", "ec2 자격 증명 내용은 액세스 키(\"access\")가 있는 JSON이어야 합니다."),
    ("error.identity.credential.ec2_project", "An ec2 credential needs a project_id.", "ec2 자격 증명에는 project_id가 필요합니다."),
    ("error.identity.credential.no_such", "The credential names the {object} {id}, which does not exist.", "자격 증명이 가리키는 {object} {id}이(가) 없습니다."),
    ("error.identity.credential.duplicate", "a credential with the id {id} already exists", "ID가 {id}인 자격 증명이 이미 있습니다."),
    ("error.identity.domain_config.group", "Invalid domain specific configuration: group {group} is not supported for domain specific configurations.", "잘못된 도메인별 설정입니다. {group} 그룹은 도메인별 설정에서 지원하지 않습니다."),
    ("error.identity.domain_config.option", "Invalid domain specific configuration: option {option} in group {group} is not supported for domain specific configurations.", "잘못된 도메인별 설정입니다. {group} 그룹의 {option} 옵션은 도메인별 설정에서 지원하지 않습니다."),
    ("error.identity.domain_config.empty", "Invalid domain specific configuration: no options specified.", "잘못된 도메인별 설정입니다. 옵션이 없습니다."),
    ("error.identity.domain_config.group_value", "Invalid domain specific configuration: the value of group {group} should be an object of options.", "잘못된 도메인별 설정입니다. {group} 그룹의 값은 옵션 객체여야 합니다."),
    ("error.identity.domain_config.too_long", "Invalid domain specific configuration: the value of {option} is longer than 4096 characters of JSON.", "잘못된 도메인별 설정입니다. {option} 값이 JSON으로 4096자를 넘습니다."),
    ("error.identity.domain_config.update_scope", "Invalid domain specific configuration: an update of {what} must name that, and only that, in the config.", "잘못된 도메인별 설정입니다. {what}을(를) 바꿀 때는 설정에 그것만 지정해야 합니다."),
    ("error.identity.endpoint_group.filters_too_long", "The endpoint group's filters must be at most 4096 characters of JSON.", "엔드포인트 그룹 필터는 JSON으로 4096자 이하여야 합니다."),
    ("error.identity.revoke_own_tokens", "You may only revoke your own tokens.", "자신의 토큰만 폐기할 수 있습니다."),
    ("error.identity.name_empty", "The {object} name must not be empty.", "{object} 이름은 비워 둘 수 없습니다."),
    ("error.identity.name_too_long", "The {object} name must be at most {max} characters.", "{object} 이름은 {max}자 이하여야 합니다."),
    ("error.identity.name_control_char", "The {object} name must not contain control characters (found {code}).", "{object} 이름에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.identity.description_too_long", "The description must be at most 1024 characters.", "설명은 1024자 이하여야 합니다."),
    ("error.identity.description_control_char", "The description must not contain control characters (found {code}).", "설명에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.identity.domain_enabled", "Cannot delete a domain that is enabled, please disable it first.", "활성화된 도메인은 삭제할 수 없습니다. 먼저 비활성화하세요."),
    ("error.identity.unsupported_language", "Unsupported language {language}: choose en or ko.", "지원하지 않는 언어입니다: {language}. en 또는 ko를 선택하세요."),
    ("error.identity.builtin_role", "The built-in role {role} cannot be deleted.", "기본 제공 역할 {role}은(는) 삭제할 수 없습니다."),
    ("error.identity.role_cycle", "That implication would make a cycle of roles.", "이 역할 함축을 추가하면 역할이 순환하게 됩니다."),
    ("error.identity.password.too_long", "Password does not meet the requirements: at most 4096 bytes", "비밀번호가 요구 사항을 충족하지 않습니다. 비밀번호는 4096바이트 이하여야 합니다."),
    ("error.identity.password.regex", "Password does not meet the requirements: {description}", "비밀번호가 요구 사항을 충족하지 않습니다. ({description})"),
    ("error.identity.password.reused", "Password does not meet the requirements: it must differ from your last {count} passwords", "비밀번호가 요구 사항을 충족하지 않습니다. 최근에 사용한 비밀번호 {count}개와 달라야 합니다."),
    ("error.identity.parent_other_domain", "The parent project {parent} is in another domain.", "상위 프로젝트 {parent}은(는) 다른 도메인에 있습니다."),
    ("error.identity.project_too_deep", "Projects nest at most {depth} deep.", "프로젝트는 최대 {depth}단계까지만 중첩할 수 있습니다."),
    ("error.identity.no_parent", "There is no project or domain {parent} to be the parent.", "상위로 지정할 프로젝트나 도메인 {parent}이(가) 없습니다."),
    ("error.identity.project_has_children", "Cannot delete project {id}: it has child projects; delete them first.", "프로젝트 {id}에 하위 프로젝트가 있어 삭제할 수 없습니다. 하위 프로젝트를 먼저 삭제하세요."),
    ("error.identity.bad_tag", "Tag {tag} is not valid: tags have 1 to 255 characters and no '/' or ','.", "태그 “{tag}”이(가) 올바르지 않습니다. 태그는 1~255자이며 '/'나 ','를 포함할 수 없습니다."),
    ("error.identity.too_many_tags", "A project has at most {max} tags.", "프로젝트에는 태그를 최대 {max}개까지 달 수 있습니다."),
    ("error.identity.duplicate_tag", "Tag {tag} is given twice.", "태그 “{tag}”이(가) 두 번 주어졌습니다."),
    ("error.identity.extra_too_large", "Extra attributes take at most {max} bytes.", "추가 속성은 최대 {max}바이트까지입니다."),
    ("error.identity.project_move", "A project cannot move: its parent_id and domain_id cannot change.", "프로젝트는 옮길 수 없습니다. parent_id와 domain_id는 바꿀 수 없습니다."),
    ("error.identity.global_implies_domain_role", "A global role cannot imply a domain-specific role.", "전역 역할은 도메인 전용 역할을 함축할 수 없습니다."),
    ("error.identity.inherited_system", "Only a domain's or a project's roles can be inherited.", "도메인이나 프로젝트의 역할만 상속할 수 있습니다."),
    ("error.identity.trust_expired", "A trust cannot expire in the past.", "트러스트의 만료 시각은 과거일 수 없습니다."),
    ("error.identity.trust_uses", "remaining_uses must be a positive number, or absent for unlimited uses.", "remaining_uses는 양수여야 하며, 횟수 제한이 없으면 생략합니다."),
    ("error.identity.trust_no_roles", "A trust on a project delegates at least one role.", "프로젝트에 대한 트러스트는 역할을 하나 이상 위임해야 합니다."),
    ("error.identity.trust_role_not_held", "You cannot delegate role {role}: you do not hold it on project {project}.", "역할 {role}을(를) 위임할 수 없습니다. 프로젝트 {project}에서 그 역할을 갖고 있지 않습니다."),
    ("error.identity.trust_roles_need_project", "Roles can be delegated only on a project.", "역할은 프로젝트에 대해서만 위임할 수 있습니다."),
    ("error.identity.appcred_trust", "An application credential cannot use a trust.", "애플리케이션 자격 증명으로는 트러스트를 사용할 수 없습니다."),
    ("error.identity.trust_token_rescope", "A trust-scoped token cannot be rescoped.", "트러스트 범위 토큰은 범위를 다시 지정할 수 없습니다."),
    ("error.identity.access_rule_in_use", "Access rule {id} is still used by an application credential; delete that first.", "접근 규칙 {id}을(를) 아직 애플리케이션 자격 증명이 사용하고 있습니다. 그 자격 증명을 먼저 삭제하세요."),
    ("error.identity.bad_access_rule", "An access rule needs a service (up to 64 characters), a path starting with / (up to 255) and an HTTP method (GET, HEAD, POST, PUT, PATCH or DELETE).", "접근 규칙에는 서비스(최대 64자), /로 시작하는 경로(최대 255자), HTTP 메서드(GET, HEAD, POST, PUT, PATCH, DELETE)가 필요합니다."),
    ("error.identity.invalid_email", "{email} is not a valid email address.", "이메일 주소 “{email}”의 형식이 올바르지 않습니다."),
    // compute: servers and nodes (cloud/src/compute/servers.rs, nodes.rs, error.rs)
    ("error.compute.bad_metadata", "Metadata keys must be 1 to 255 characters and values at most 255.", "메타데이터 키는 1~255자, 값은 255자 이하여야 합니다."),
    ("error.compute.bad_status", "Invalid status value {status}", "상태 값 {status}이(가) 올바르지 않습니다."),
    ("error.compute.count_too_large", "At most {max} servers can be created at once.", "한 번에 만들 수 있는 서버는 최대 {max}개입니다."),
    ("error.compute.description_too_long", "The description is longer than 255 characters.", "설명이 255자를 넘습니다."),
    ("error.compute.flavor_disk_too_small", "Flavor's disk is too small for requested image.", "플레이버의 디스크가 요청한 이미지에 비해 작습니다."),
    ("error.compute.flavor_not_found", "Flavor {id} could not be found.", "플레이버 {id}을(를) 찾을 수 없습니다."),
    ("error.compute.flavor_ram_too_small", "Flavor's memory is too small for requested image.", "플레이버의 메모리가 요청한 이미지에 비해 작습니다."),
    ("error.compute.image_not_active", "Image {id} is not active.", "이미지 {id}이(가) 활성 상태가 아닙니다."),
    ("error.compute.image_not_found", "Image {id} could not be found.", "이미지 {id}을(를) 찾을 수 없습니다."),
    ("error.compute.invalid_state", "Cannot '{action}' instance {id} while it is in {attr} {state}", "인스턴스 {id}이(가) {attr} {state} 상태여서 '{action}'을(를) 할 수 없습니다."),
    ("error.compute.locked", "Instance {id} is locked", "인스턴스 {id}이(가) 잠겨 있습니다."),
    ("error.compute.metadata_not_found", "Metadata item was not found", "메타데이터 항목을 찾을 수 없습니다."),
    ("error.compute.name_required", "A server needs a name.", "서버 이름을 입력하세요."),
    ("error.compute.name_too_long", "The server name is longer than 255 characters.", "서버 이름이 255자를 넘습니다."),
    ("error.compute.network_not_found", "Network {id} could not be found.", "네트워크 {id}을(를) 찾을 수 없습니다."),
    ("error.compute.no_console", "Instance {id} has no console output yet.", "인스턴스 {id}의 콘솔 출력이 아직 없습니다."),
    ("error.compute.node_not_found", "Compute host {id} could not be found.", "컴퓨트 호스트 {id}을(를) 찾을 수 없습니다."),
    ("error.compute.node_unreachable", "The compute node {node} did not answer.", "컴퓨트 노드 {node}이(가) 응답하지 않았습니다."),
    ("error.compute.project_scope_required", "Creating a server needs a project-scoped token.", "서버를 만들려면 프로젝트 범위 토큰이 필요합니다."),
    ("error.compute.reason_too_long", "The disabled reason is longer than 255 characters.", "비활성화 사유가 255자를 넘습니다."),
    ("error.compute.server_not_found", "Instance {id} could not be found.", "인스턴스 {id}을(를) 찾을 수 없습니다."),
    ("error.compute.unknown_zone", "The requested availability zone is not available", "요청한 가용 영역을 사용할 수 없습니다."),
    ("error.compute.user_data_too_long", "User data too large. User data must be no larger than {max} bytes once base64 encoded.", "사용자 데이터가 너무 큽니다. base64로 인코딩한 크기가 {max}바이트 이하여야 합니다."),
    ("error.compute.user_data_not_base64", "User data needs to be valid base 64.", "사용자 데이터는 올바른 base64여야 합니다."),
    // compute: flavors and key pairs (cloud/src/compute/flavors.rs, keypairs.rs)
    ("error.compute.flavor_name_exists", "Flavor with name {name} already exists.", "이름이 {name}인 플레이버가 이미 있습니다."),
    ("error.compute.flavor_id_exists", "Flavor with ID {id} already exists.", "ID가 {id}인 플레이버가 이미 있습니다."),
    ("error.compute.field_below_minimum", "Invalid input for field/attribute {field}. Value: {value}. {value} is less than the minimum of {min}", "{field} 값이 올바르지 않습니다. 입력한 값 {value}은(는) 최솟값 {min}보다 작습니다."),
    ("error.compute.field_above_maximum", "Invalid input for field/attribute {field}. Value: {value}. {value} is greater than the maximum of {max}", "{field} 값이 올바르지 않습니다. 입력한 값 {value}은(는) 최댓값 {max}보다 큽니다."),
    ("error.compute.flavor_description_invalid", "Invalid input for field/attribute description: a flavor description is at most {max} printable characters.", "플레이버 설명은 출력 가능한 문자 {max}자 이하여야 합니다."),
    ("error.compute.extra_spec_key_invalid", "Invalid extra spec key '{key}': a key is 1 to 255 letters, digits, '-', '_', ':', '.' or spaces.", "추가 사양 키 '{key}'이(가) 올바르지 않습니다. 키는 영문자, 숫자, '-', '_', ':', '.', 공백으로 된 1~255자여야 합니다."),
    ("error.compute.extra_spec_value_invalid", "Invalid input for field/attribute {key}: an extra spec value is at most 255 printable characters.", "추가 사양 {key}의 값은 출력 가능한 문자 255자 이하여야 합니다."),
    ("error.compute.marker_not_found", "marker [{marker}] not found", "마커 {marker}을(를) 찾을 수 없습니다."),
    ("error.compute.flavor_name_invalid", "Invalid input for field/attribute name. Value: {name}. A flavor name is 1 to 255 printable characters and can not start or end with whitespace.", "플레이버 이름 “{name}”이(가) 올바르지 않습니다. 이름은 출력 가능한 문자 1~255자이며 공백으로 시작하거나 끝날 수 없습니다."),
    ("error.compute.flavor_id_invalid", "Invalid input for field/attribute id. Value: {id}. A flavor ID is 1 to 255 letters, digits, '.', '_', '-' or spaces, and can not start or end with a space.", "플레이버 ID “{id}”이(가) 올바르지 않습니다. ID는 영문자, 숫자, '.', '_', '-', 공백으로 된 1~255자이며 공백으로 시작하거나 끝날 수 없습니다."),
    ("error.compute.rxtx_factor_invalid", "Invalid input for field/attribute rxtx_factor. Value: {value}. The factor must be more than 0 and at most 3.40282e+38.", "rxtx_factor 값 {value}이(가) 올바르지 않습니다. 0보다 크고 3.40282e+38 이하여야 합니다."),
    ("error.compute.flavor_access_public", "Access list not available for public flavors.", "공개 플레이버에는 접근 목록이 없습니다."),
    ("error.compute.flavor_access_add_public", "Can not add access to a public flavor.", "공개 플레이버에는 접근 권한을 추가할 수 없습니다."),
    ("error.compute.flavor_access_exists", "Flavor access already exists for flavor {id} and project {project} combination.", "플레이버 {id}에 대한 프로젝트 {project}의 접근 권한이 이미 있습니다."),
    ("error.compute.flavor_access_not_found", "Flavor access not found for {id} / {project} combination.", "플레이버 {id}에 대한 프로젝트 {project}의 접근 권한이 없습니다."),
    ("error.compute.extra_spec_too_many", "Request body contains too many items.", "요청 본문에 항목이 너무 많습니다."),
    ("error.compute.extra_spec_uri_mismatch", "Request body and URI mismatch", "요청 본문의 키가 URI의 키와 다릅니다."),
    ("error.compute.extra_spec_not_found", "Flavor {id} has no extra specs with key {key}.", "플레이버 {id}에 키가 {key}인 추가 사양이 없습니다."),
    ("error.compute.project_id_invalid", "Project ID {project} is not a valid project.", "프로젝트 ID {project}은(는) 올바른 프로젝트가 아닙니다."),
    ("error.compute.keypair_invalid", "Keypair data is invalid: {reason}", "키 페어 데이터가 올바르지 않습니다: {reason}"),
    ("error.compute.keypair_not_found", "Keypair {name} not found for user {user_id}", "사용자 {user_id}의 키 페어 {name}을(를) 찾을 수 없습니다."),
    ("error.compute.keypair_exists", "Key pair '{name}' already exists.", "키 페어 '{name}'이(가) 이미 있습니다."),
    ("error.compute.keypair_name_invalid", "Invalid input for field/attribute name. Value: {name}. A key pair name is 1 to 255 letters, digits, spaces, '_', '-', '@' or '.'.", "키 페어 이름 “{name}”이(가) 올바르지 않습니다. 이름은 영문자, 숫자, 공백, '_', '-', '@', '.'으로 된 1~255자여야 합니다."),
    ("error.image.create_for_other_project", "You are not permitted to create images owned by another project.", "다른 프로젝트가 소유하는 이미지를 생성할 권한이 없습니다."),
    ("error.image.publicize_admin_only", "Only administrators can publish public images.", "공개(public) 이미지는 관리자만 게시할 수 있습니다."),
    ("error.image.id_not_uuid", "The image id {id} is not a UUID.", "이미지 ID {id}은(는) UUID가 아닙니다."),
    ("error.image.duplicate_id", "An image with identifier {id} already exists.", "식별자가 {id}인 이미지가 이미 있습니다."),
    ("error.image.name_too_long", "The image name must be at most 255 characters.", "이미지 이름은 255자 이하여야 합니다."),
    ("error.image.name_control_char", "The image name must not contain control characters (found {code}).", "이미지 이름에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.image.tag_length", "A tag must be 1 to 255 characters.", "태그는 1~255자여야 합니다."),
    ("error.image.tag_control_char", "The tag must not contain control characters (found {code}).", "태그에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.image.too_many_tags", "An image may have at most {max} tags.", "이미지 하나에 태그는 최대 {max}개까지 붙일 수 있습니다."),
    ("error.image.tag_not_found", "Tag {tag} not found on image {id}.", "이미지 {id}에 태그 {tag}이(가) 없습니다."),
    ("error.image.property_name_length", "A property name must be 1 to 255 characters.", "속성 이름은 1~255자여야 합니다."),
    ("error.image.property_name_control_char", "The property name must not contain control characters (found {code}).", "속성 이름에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.image.reserved_property", "Attribute '{key}' is reserved.", "'{key}' 속성은 예약되어 있어 사용할 수 없습니다."),
    ("error.image.property_value_too_long", "The value of property '{key}' must be at most {max} characters.", "'{key}' 속성의 값은 {max}자 이하여야 합니다."),
    ("error.image.property_value_control_char", "The value of property '{key}' must not contain control characters (found {code}).", "'{key}' 속성의 값에는 제어 문자를 넣을 수 없습니다. ({code} 발견)"),
    ("error.image.too_many_properties", "An image may have at most {max} properties.", "이미지 하나에 속성은 최대 {max}개까지 둘 수 있습니다."),
    ("error.image.no_such_property", "Property {property} does not exist.", "속성 {property}이(가) 없습니다."),
    ("error.image.negative_min", "{field} must be 0 or more.", "{field} 값은 0 이상이어야 합니다."),
    ("error.image.marker_not_found", "The marker {marker} could not be found.", "마커 {marker}을(를) 찾을 수 없습니다."),
    ("error.image.owner_change_saving", "The owner of image {id} cannot change while its data is uploading.", "데이터를 업로드하는 중에는 이미지 {id}의 소유자를 변경할 수 없습니다."),
    ("error.image.task_not_found", "Task with the given ID {id} was not found.", "ID가 {id}인 작업을 찾을 수 없습니다."),
    ("error.image.task_type", "Invalid type value: {task_type}", "잘못된 작업 유형입니다: {task_type}"),
    ("error.image.import_uri_scheme", "The given uri is not valid. Please specify a valid uri from the following list of supported uri ['http', 'https'].", "주어진 URI가 올바르지 않습니다. 지원되는 URI 목록 ['http', 'https'] 중 하나를 지정하십시오."),
    ("error.image.import_uri_filtered", "URI for import does not pass filtering: {uri}", "가져오기 URI가 필터를 통과하지 못했습니다: {uri}"),
    ("error.image.import_stores", "Multi backend is not supported at this site: stores cannot be named.", "이 사이트는 다중 백엔드를 지원하지 않으므로 저장소를 지정할 수 없습니다."),
    ("error.image.import_method", "Import method {method} is not valid; this site offers: {offered}.", "가져오기 방법 {method}은(는) 올바르지 않습니다. 이 사이트가 제공하는 방법: {offered}."),
    ("error.image.import_not_staged", "Image needs to be staged before 'glance-direct' method can be used (its status is {status}).", "'glance-direct' 방법을 사용하려면 먼저 이미지 데이터를 스테이징해야 합니다(현재 상태: {status})."),
    ("error.image.import_not_queued", "Image needs to be in 'queued' state to use 'web-download' method (its status is {status}).", "'web-download' 방법을 사용하려면 이미지가 'queued' 상태여야 합니다(현재 상태: {status})."),
    ("error.image.import_request_too_long", "The import request must be at most {max} characters.", "가져오기 요청은 최대 {max}자까지 가능합니다."),
    ("error.image.import_busy", "Image {id} is no longer waiting for its import.", "이미지 {id}은(는) 더 이상 가져오기를 기다리고 있지 않습니다."),
    ("error.image.owner_change_admin_only", "Owner can't be updated by non admin.", "소유자는 관리자만 변경할 수 있습니다."),
    ("error.image.formats_locked", "The disk and container formats can only be changed while the image is queued.", "디스크 형식과 컨테이너 형식은 이미지가 대기(queued) 상태일 때만 변경할 수 있습니다."),
    ("error.image.protected", "Image {id} is protected and cannot be deleted.", "이미지 {id}은(는) 보호되어 있어 삭제할 수 없습니다."),
    ("error.image.reactivate_status", "Not allowed to reactivate an image in status '{status}'.", "상태가 '{status}'인 이미지는 다시 활성화할 수 없습니다."),
    ("error.image.deactivate_status", "Not allowed to deactivate an image in status '{status}'.", "상태가 '{status}'인 이미지는 비활성화할 수 없습니다."),
    ("error.image.deactivated", "The requested image has been deactivated. Image data download is forbidden.", "요청한 이미지는 비활성화되었습니다. 이미지 데이터를 다운로드할 수 없습니다."),
    ("error.image.upload_needs_project", "Uploading an image needs a project-scoped token.", "이미지를 업로드하려면 프로젝트 범위의 토큰이 필요합니다."),
    ("error.image.negative_size", "The image size must be 0 or more.", "이미지 크기는 0 이상이어야 합니다."),
    ("error.image.too_large", "The image is larger than the largest image accepted ({max} bytes).", "이미지가 허용되는 최대 크기({max}바이트)보다 큽니다."),
    ("error.image.upload_not_queued", "Image status transition from {status} to saving is not allowed: data can only be uploaded to a queued image.", "이미지 상태를 {status}에서 saving으로 바꿀 수 없습니다. 데이터는 대기(queued) 상태인 이미지에만 업로드할 수 있습니다."),
    ("error.image.formats_unset", "Properties disk_format, container_format must be set prior to saving data.", "데이터를 저장하기 전에 disk_format과 container_format 속성을 설정해야 합니다."),
    ("error.image.upload_busy", "Image {id} is already receiving data.", "이미지 {id}은(는) 이미 데이터를 받는 중입니다."),
    ("error.image.upload_too_long", "The upload is longer than its declared {size} bytes.", "업로드한 데이터가 선언한 크기({size}바이트)보다 깁니다."),
    ("error.image.deleted_during_upload", "Image {id} was deleted while its data was uploading.", "데이터를 업로드하는 동안 이미지 {id}이(가) 삭제되었습니다."),
    ("error.image.members_need_shared", "Only shared images have members; image {id} is {visibility}.", "멤버는 공유(shared) 이미지에만 둘 수 있습니다. 이미지 {id}의 가시성은 {visibility}입니다."),
    ("error.image.member_id_length", "The member must be a project id of 1 to 64 characters.", "멤버는 1~64자의 프로젝트 ID여야 합니다."),
    ("error.image.too_many_members", "An image may have at most {max} members.", "이미지 하나에 멤버는 최대 {max}개까지 둘 수 있습니다."),
    ("error.image.already_member", "Project {member} is already a member of image {id}.", "프로젝트 {member}은(는) 이미 이미지 {id}의 멤버입니다."),
    ("error.image.member_answers", "Only the member project can accept or reject a shared image.", "공유된 이미지는 멤버 프로젝트만 수락하거나 거절할 수 있습니다."),
    ("error.image.not_a_member", "Project {member} is not a member of image {id}.", "프로젝트 {member}은(는) 이미지 {id}의 멤버가 아닙니다."),
    ("error.metadef.namespace_not_found", "Metadata definition namespace={namespace} was not found.", "메타데이터 정의 네임스페이스 {namespace}을(를) 찾을 수 없습니다."),
    ("error.metadef.object_not_found", "The metadata definition object with name={name} was not found in namespace={namespace}.", "네임스페이스 {namespace}에 메타데이터 정의 객체 {name}이(가) 없습니다."),
    ("error.metadef.property_not_found", "The metadata definition property with name={name} was not found in namespace={namespace}.", "네임스페이스 {namespace}에 메타데이터 정의 속성 {name}이(가) 없습니다."),
    ("error.metadef.tag_not_found", "The metadata definition tag with name={name} was not found in namespace={namespace}.", "네임스페이스 {namespace}에 메타데이터 정의 태그 {name}이(가) 없습니다."),
    ("error.metadef.association_not_found", "The metadata definition resource-type association of resource-type={name} to namespace={namespace}, was not found.", "네임스페이스 {namespace}에 리소스 유형 {name}이(가) 연결되어 있지 않습니다."),
    ("error.metadef.resource_type_not_found", "Failed to find resource type {name} to delete", "삭제할 리소스 유형 {name}을(를) 찾을 수 없습니다."),
    ("error.metadef.prefix_mismatch", "Property {name} does not start with the expected resource type association prefix of '{prefix}'.", "속성 {name}이(가) 리소스 유형 연결의 접두사 '{prefix}'(으)로 시작하지 않습니다."),
    ("error.metadef.duplicate", "A metadata definition {kind} with name={name} already exists in namespace={namespace}.", "네임스페이스 {namespace}에 이름이 {name}인 메타데이터 정의 {kind}이(가) 이미 있습니다."),
    ("error.metadef.duplicate_namespace", "The metadata definition namespace={namespace} already exists.", "메타데이터 정의 네임스페이스 {namespace}이(가) 이미 있습니다."),
    ("error.metadef.duplicate_association", "The metadata definition resource-type association of resource-type={name} to namespace={namespace}, already exists.", "네임스페이스 {namespace}에 리소스 유형 {name}이(가) 이미 연결되어 있습니다."),
    ("error.metadef.protected", "Metadata definition namespace {namespace} is protected and cannot be deleted, nor can anything in it.", "메타데이터 정의 네임스페이스 {namespace}은(는) 보호되어 있어 네임스페이스와 그 안의 항목을 삭제할 수 없습니다."),
    ("error.metadef.invalid", "Invalid {field}: {reason}.", "{field} 값이 올바르지 않습니다: {reason}."),
    ("error.metadef.too_large", "The {field} is larger than {max} bytes.", "{field}이(가) {max}바이트보다 큽니다."),
    ("error.image.format.truncated", "The {format} header is malformed: the image ends inside its header.", "이미지 헤더가 손상되었습니다. 헤더가 끝나기 전에 이미지가 끝납니다."),
    ("error.image.format.qcow2.version", "The qcow2 image is refused: its header version is {version}; only versions 2 and 3 are accepted.", "qcow2 이미지가 거부되었습니다. 헤더 버전이 {version}입니다. 버전 2와 3만 허용됩니다."),
    ("error.image.format.qcow2.cluster_bits", "The qcow2 header is malformed: cluster_bits is {cluster_bits}, outside 9 to 21.", "qcow2 헤더가 손상되었습니다. cluster_bits 값({cluster_bits})이 9~21 범위를 벗어납니다."),
    ("error.image.format.qcow2.incompatible_features", "The qcow2 image is refused: it sets incompatible feature bits unknown to this service ({bits}).", "qcow2 이미지가 거부되었습니다. 이 서비스가 알지 못하는 비호환 기능 비트({bits})가 설정되어 있습니다."),
    ("error.image.format.qcow2.header_length", "The qcow2 header is malformed: header_length {header_length} is not between 104 and the cluster size.", "qcow2 헤더가 손상되었습니다. header_length 값({header_length})이 104와 클러스터 크기 사이에 있지 않습니다."),
    ("error.image.format.qcow2.extension_crosses_cluster", "The qcow2 header is malformed: a header extension crosses the end of the first cluster.", "qcow2 헤더가 손상되었습니다. 헤더 확장이 첫 번째 클러스터의 끝을 넘어갑니다."),
    ("error.image.format.qcow2.extensions_too_long", "The qcow2 header is malformed: its header extensions continue past the first {kib} KiB.", "qcow2 헤더가 손상되었습니다. 헤더 확장이 처음 {kib} KiB 이후까지 이어집니다."),
    ("error.image.format.qcow2.extension_too_large", "The qcow2 header is malformed: a header extension is too large.", "qcow2 헤더가 손상되었습니다. 헤더 확장이 너무 큽니다."),
    ("error.image.format.vmdk.cowd", "The vmdk image is refused: it is in the legacy VMware 3 (COWD) sparse format.", "vmdk 이미지가 거부되었습니다. 예전 VMware 3(COWD) 희소 형식입니다."),
    ("error.image.format.vmdk.version", "The vmdk image is refused: its header version is {version}; only versions 1 to 3 are accepted.", "vmdk 이미지가 거부되었습니다. 헤더 버전이 {version}입니다. 버전 1~3만 허용됩니다."),
    ("error.image.format.vmdk.descriptor_offset", "The vmdk header is malformed: the embedded descriptor is not at sector 1, where qemu reads it.", "vmdk 헤더가 손상되었습니다. 내장 디스크립터가 qemu가 읽는 위치인 섹터 1에 있지 않습니다."),
    ("error.image.format.vmdk.capacity", "The vmdk header is malformed: the capacity is too large.", "vmdk 헤더가 손상되었습니다. 용량이 너무 큽니다."),
    ("error.image.format.vmdk.no_footer", "The vmdk header is malformed: the header says the real header is in a footer, but there is no valid footer.", "vmdk 헤더가 손상되었습니다. 헤더에는 실제 헤더가 푸터에 있다고 되어 있지만 올바른 푸터가 없습니다."),
    ("error.image.format.vmdk.descriptor_not_ascii", "The vmdk header is malformed: the embedded descriptor is not ASCII text.", "vmdk 헤더가 손상되었습니다. 내장 디스크립터가 ASCII 텍스트가 아닙니다."),
    ("error.image.format.vmdk.create_type_twice", "The vmdk header is malformed: the descriptor has more than one createType.", "vmdk 헤더가 손상되었습니다. 디스크립터에 createType이 두 개 이상 있습니다."),
    ("error.image.format.vmdk.descriptor_line", "The vmdk header is malformed: the descriptor has a line this service does not understand: \"{line}\".", "vmdk 헤더가 손상되었습니다. 디스크립터에 이 서비스가 이해할 수 없는 줄이 있습니다: \"{line}\""),
    ("error.image.format.vmdk.no_create_type", "The vmdk header is malformed: the descriptor has no createType.", "vmdk 헤더가 손상되었습니다. 디스크립터에 createType이 없습니다."),
    ("error.image.format.vmdk.no_extent", "The vmdk header is malformed: the descriptor lists no extent.", "vmdk 헤더가 손상되었습니다. 디스크립터에 익스텐트가 없습니다."),
    ("error.image.format.vmdk.zero_capacity", "The vmdk image has an extent outside the image file (a zero-capacity header that defers to the descriptor's extents); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(용량이 0이며 디스크립터의 익스텐트를 따르는 헤더). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.create_type", "The vmdk image has an extent outside the image file (createType \"{create_type}\"); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(createType \"{create_type}\"). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.extents", "The vmdk image has an extent outside the image file ({count} extents); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(익스텐트 {count}개). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.extent_type", "The vmdk image has an extent outside the image file (a {kind} extent); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다({kind} 익스텐트). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.extent_file", "The vmdk image has an extent outside the image file (extent file \"{file}\"); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(익스텐트 파일 \"{file}\"). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.descriptor_file_type", "The vmdk image has an extent outside the image file (a descriptor-only file, createType \"{create_type}\"); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(디스크립터만 있는 파일, createType \"{create_type}\"). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vmdk.descriptor_file", "The vmdk image has an extent outside the image file (a descriptor-only file); only monolithicSparse and streamOptimized vmdk are accepted.", "vmdk 이미지의 익스텐트가 이미지 파일 밖에 있습니다(디스크립터만 있는 파일). monolithicSparse와 streamOptimized vmdk만 허용됩니다."),
    ("error.image.format.vhd.checksum", "The vhd header is malformed: the footer checksum is wrong.", "vhd 헤더가 손상되었습니다. 푸터 체크섬이 올바르지 않습니다."),
    ("error.image.format.vhd.disk_type", "The vhd header is malformed: disk type {disk_type} is unknown.", "vhd 헤더가 손상되었습니다. 알 수 없는 디스크 유형({disk_type})입니다."),
    ("error.image.format.vhdx.region_signature", "The vhdx header is malformed: the region table signature is missing.", "vhdx 헤더가 손상되었습니다. 영역 테이블 서명이 없습니다."),
    ("error.image.format.vhdx.region_entries", "The vhdx header is malformed: the region table has {count} entries.", "vhdx 헤더가 손상되었습니다. 영역 테이블에 항목이 {count}개나 있습니다."),
    ("error.image.format.vhdx.metadata_regions", "The vhdx header is malformed: it has more than one metadata region.", "vhdx 헤더가 손상되었습니다. 메타데이터 영역이 두 개 이상입니다."),
    ("error.image.format.vhdx.no_metadata_region", "The vhdx header is malformed: it has no metadata region.", "vhdx 헤더가 손상되었습니다. 메타데이터 영역이 없습니다."),
    ("error.image.format.vhdx.metadata_signature", "The vhdx header is malformed: the metadata table signature is missing.", "vhdx 헤더가 손상되었습니다. 메타데이터 테이블 서명이 없습니다."),
    ("error.image.format.vhdx.metadata_entries", "The vhdx header is malformed: the metadata table has {count} entries.", "vhdx 헤더가 손상되었습니다. 메타데이터 테이블에 항목이 {count}개나 있습니다."),
    ("error.image.format.vhdx.metadata_item_twice", "The vhdx header is malformed: a metadata item appears twice.", "vhdx 헤더가 손상되었습니다. 같은 메타데이터 항목이 두 번 나옵니다."),
    ("error.image.format.vhdx.no_valid_header", "The vhdx header is malformed: neither header copy is valid.", "vhdx 헤더가 손상되었습니다. 두 헤더 사본이 모두 올바르지 않습니다."),
    ("error.image.format.vhdx.version", "The vhdx header is malformed: the header version is not 1.", "vhdx 헤더가 손상되었습니다. 헤더 버전이 1이 아닙니다."),
    ("error.image.format.vhdx.log", "The vhdx image is refused: its log holds changes that were never applied (replay it with `qemu-img check -r all` first).", "vhdx 이미지가 거부되었습니다. 로그에 아직 적용되지 않은 변경 사항이 있습니다. 먼저 `qemu-img check -r all`로 로그를 재생하세요."),
    ("error.image.format.vhdx.region_checksum", "The vhdx header is malformed: the region table checksum is wrong.", "vhdx 헤더가 손상되었습니다. 영역 테이블 체크섬이 올바르지 않습니다."),
    ("error.image.format.vhdx.metadata_region_small", "The vhdx header is malformed: the metadata region is too small.", "vhdx 헤더가 손상되었습니다. 메타데이터 영역이 너무 작습니다."),
    ("error.image.format.vhdx.metadata_beyond_end", "The vhdx header is malformed: the metadata lies beyond the end of the file.", "vhdx 헤더가 손상되었습니다. 메타데이터가 파일 끝을 넘어선 위치에 있습니다."),
    ("error.image.format.vhdx.metadata_item_missing", "The vhdx header is malformed: the {item} metadata item is missing.", "vhdx 헤더가 손상되었습니다. {item} 메타데이터 항목이 없습니다."),
    ("error.image.format.vhdx.metadata_item_misplaced", "The vhdx header is malformed: the {item} metadata item is out of place.", "vhdx 헤더가 손상되었습니다. {item} 메타데이터 항목의 위치가 올바르지 않습니다."),
    ("error.image.format.vdi.version", "The vdi image is refused: its header version is {major}.{minor}; only 1.1 is accepted.", "vdi 이미지가 거부되었습니다. 헤더 버전이 {major}.{minor}입니다. 1.1만 허용됩니다."),
    ("error.image.format.vdi.image_type", "The vdi header is malformed: image type {image_type} is unknown.", "vdi 헤더가 손상되었습니다. 알 수 없는 이미지 유형({image_type})입니다."),
    ("error.image.format.iso.no_primary", "The iso header is malformed: there is no primary volume descriptor.", "iso 헤더가 손상되었습니다. 기본 볼륨 디스크립터가 없습니다."),
    ("error.image.format.iso.block_size", "The iso header is malformed: the logical block size is 0.", "iso 헤더가 손상되었습니다. 논리 블록 크기가 0입니다."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_are_written_for_the_language() {
        assert_eq!(date_time(Lang::En, "2026-12-02 15:04"), "Dec 2, 2026 15:04");
        assert_eq!(
            date_time(Lang::Ko, "2026-12-02 15:04"),
            "2026. 12. 2. 15:04"
        );
        assert_eq!(
            date_time(Lang::Ko, "2026-01-09 08:00:59"),
            "2026. 1. 9. 08:00:59"
        );
        assert_eq!(date_time(Lang::En, "2026-13-02 15:04"), "2026-13-02 15:04");
        assert_eq!(date_time(Lang::Ko, "soon"), "soon");
        assert_eq!(number(Lang::En, 10_000), "10,000");
        assert_eq!(number(Lang::Ko, 1_234_567), "1,234,567");
        assert_eq!(number(Lang::En, 999), "999");
        assert_eq!(number(Lang::En, -1_000), "-1,000");
        assert_eq!(number(Lang::En, 0), "0");
    }

    #[test]
    fn the_browsers_language_is_read_with_its_weights() {
        for (header, want) in [
            ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", Lang::Ko),
            ("en-US,en;q=0.9,ko;q=0.8", Lang::En),
            ("fr-FR, ko;q=0.5, en;q=0.4", Lang::Ko),
            ("de, fr", Lang::En),
            ("en;q=0.2, KO;q=0.3", Lang::Ko),
            ("ko;q=0, en;q=0.1", Lang::En),
            ("ko;q=oops", Lang::En),
            ("", Lang::En),
            ("*", Lang::En),
        ] {
            assert_eq!(Lang::from_accept_language(header), want, "{header:?}");
        }
    }

    #[test]
    fn keys_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, en, ko) in entries() {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!en.is_empty() && !ko.is_empty(), "empty text for {k}");
        }
        assert_eq!(t(Lang::Ko, "login.title"), "로그인");
    }

    /// Every source file of the portal (`src/**/*.rs`), found by walking the
    /// directory: a new page is covered without being listed anywhere.
    fn portal_sources() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("directory entry").path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    out.push((path.display().to_string(), text));
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut out,
        );
        assert!(out.len() >= 15, "only {} source files found", out.len());
        out
    }

    /// Every `t(…, "key")` in the portal has an entry (else it would show the key).
    #[test]
    fn every_key_used_exists() {
        let mut checked = 0;
        for (file, src) in portal_sources() {
            if file.ends_with("i18n.rs") || file.contains("/i18n/") {
                continue;
            }
            for marker in ["t(lang, \"", "msg(\"", "portal(\"", "portal_named(\""] {
                for part in src.split(marker).skip(1) {
                    let key = &part[..part.find('"').unwrap_or(0)];
                    assert!(INDEX.contains_key(key), "{file}: missing i18n key {key:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} keys found");
    }

    /// Words shown as they are, in either language: the product's name,
    /// each language's own name, the formats' technical names and the
    /// default role's name (role names are data, shown as stored).
    const UNTRANSLATED: &[&str] = &[
        "Gureum", "English", "Bare", "OVF", "OVA", "AMI", "ARI", "AKI", "member",
    ];

    /// Text written straight into the views (`>"Save"<`, `placeholder="…"`,
    /// `title=`, `aria-label=`, `alt=`) instead of through `t(lang, …)`
    /// would show in English on a Korean page. Any literal with a word in
    /// it is refused, except [`UNTRANSLATED`] ones.
    #[test]
    fn no_view_shows_untranslated_text() {
        let mut found = Vec::new();
        for (file, src) in portal_sources() {
            if file.ends_with("i18n.rs") || file.contains("/i18n/") {
                continue;
            }
            let line_of = |at: usize| src[..at].lines().count().max(1);
            let mut literals: Vec<(usize, &str)> = Vec::new();
            // Text nodes: a literal between a tag's end and the next tag,
            // on one line or several.
            for (at, _) in src.match_indices('>') {
                let after = &src[at + 1..];
                let part = after.trim_start();
                if let Some(rest) = part.strip_prefix('"') {
                    if let Some(end) = rest.find('"') {
                        if rest[end + 1..].trim_start().starts_with('<') {
                            literals.push((at, &rest[..end]));
                        }
                    }
                }
            }
            for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
                for (at, _) in src.match_indices(attr) {
                    let part = &src[at + attr.len()..];
                    literals.push((at, &part[..part.find('"').unwrap_or(0)]));
                }
            }
            for (at, lit) in literals {
                let wordy = lit
                    .as_bytes()
                    .windows(2)
                    .any(|w| w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic());
                if wordy && !UNTRANSLATED.contains(&lit) {
                    found.push(format!("{file}:{}: {lit:?}", line_of(at)));
                }
            }
        }
        assert!(
            found.is_empty(),
            "untranslated text in views:\n{}",
            found.join("\n")
        );
    }

    /// Every message key a service error can carry (one value of each
    /// variant) has English and Korean text, and every `object` it names.
    #[cfg(feature = "ssr")]
    #[test]
    fn every_service_error_key_is_translated() {
        use cloud::ServiceError;
        fn boxed<E: ServiceError>(all: Vec<E>) -> Vec<Box<dyn ServiceError>> {
            all.into_iter()
                .map(|e| Box::new(e) as Box<dyn ServiceError>)
                .collect()
        }
        let sources = [
            boxed(cloud::identity::IdentityError::examples()),
            boxed(cloud::image::ImageError::examples()),
            boxed(cloud::quota::QuotaError::examples()),
            boxed(cloud::compute::ComputeError::examples()),
            boxed(cloud::network::NetworkError::examples()),
        ];
        // A new error with examples() belongs in the list above.
        let with_examples = cloud_sources()
            .iter()
            .map(|(_, src)| src.matches("pub fn examples()").count())
            .sum::<usize>();
        assert_eq!(
            with_examples,
            sources.len(),
            "an error in cloud/src has examples() that this test does not check"
        );
        let errors: Vec<Box<dyn ServiceError>> = sources.into_iter().flatten().collect();
        let mut keys = std::collections::BTreeSet::new();
        for e in &errors {
            let public = e.public();
            assert!(
                lookup(Lang::Ko, public.key).is_some(),
                "no text for {:?} (from {e:?})",
                public.key
            );
            // A Korean message fills in every argument it names.
            let args: Vec<(String, String)> = public
                .args
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect();
            let ko = crate::error::fill(Lang::Ko, t(Lang::Ko, public.key), &args);
            assert!(!ko.contains('{'), "{}: unfilled {ko}", public.key);
            if let Some(object) = public.get("object") {
                let key = format!("object.{}", object.replace(' ', "_"));
                assert!(lookup(Lang::Ko, &key).is_some(), "no text for {key}");
            }
            keys.insert(public.key);
        }
        for object in cloud::identity::ERROR_KINDS {
            let key = format!("object.{}", object.replace(' ', "_"));
            assert!(lookup(Lang::Ko, &key).is_some(), "no text for {key}");
        }
        assert!(keys.len() >= 25, "only {} keys", keys.len());
    }

    /// Every `.rs` file under `cloud/src`, with its path (walked, so a new
    /// file is covered without being listed).
    #[cfg(feature = "ssr")]
    fn cloud_sources() -> Vec<(std::path::PathBuf, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<(std::path::PathBuf, String)>) {
            let entries =
                std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let src = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    out.push((path, src));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cloud/src");
        let mut out = Vec::new();
        walk(&root, &mut out);
        out.sort();
        assert!(
            out.len() > 10,
            "only {} files under {}",
            out.len(),
            root.display()
        );
        out
    }

    /// One `msg!(key, template, name = value, …)` call in the cloud sources.
    #[cfg(feature = "ssr")]
    #[derive(Debug)]
    struct MsgCall {
        at: String,
        key: String,
        template: String,
        names: Vec<String>,
    }

    /// The `{name}`s of a template, without format specs (`{x:?}` is `x`);
    /// `{{` and `}}` are literal braces.
    #[cfg(feature = "ssr")]
    fn placeholders(template: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{', '}']) {
            let (brace, after) = (&rest[i..i + 1], &rest[i + 1..]);
            if after.starts_with(brace) {
                rest = &after[1..];
                continue;
            }
            if brace == "}" {
                return Err(format!("unmatched }} in {template:?}"));
            }
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed {{ in {template:?}"))?;
            let name = after[..end].split(':').next().unwrap_or_default().trim();
            out.push(name.to_string());
            rest = &after[end + 1..];
        }
        Ok(out)
    }

    /// Reads a `"…"` literal at the start of `s`: its value and the rest.
    #[cfg(feature = "ssr")]
    fn string_literal(s: &str) -> Option<(String, &str)> {
        let mut chars = s.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Some((value, &s[i + 2..])),
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    '\n' => {
                        // A line continuation: skip the next line's indent.
                        while chars.clone().next().is_some_and(|(_, c)| c.is_whitespace()) {
                            chars.next();
                        }
                    }
                    other => value.push(other),
                },
                c => value.push(c),
            }
        }
        None
    }

    /// The text of a macro call's arguments after its opening `(`, up to
    /// the matching `)`, split at top-level commas (strings, chars and
    /// brackets inside an argument are skipped over).
    #[cfg(feature = "ssr")]
    fn call_args(s: &str) -> Option<Vec<&str>> {
        let bytes = s.as_bytes();
        let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
        let mut out = Vec::new();
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let (_, rest) = string_literal(&s[i..])?;
                    i = s.len() - rest.len();
                    continue;
                }
                // A char literal ('x', '\n', '"'); a lifetime has no closing quote.
                b'\'' => {
                    let len = s[i + 1..].chars().next()?.len_utf8();
                    if bytes.get(i + 1) == Some(&b'\\') {
                        if let Some(close) = s[i + 2..].find('\'') {
                            i += close + 3;
                            continue;
                        }
                    } else if bytes.get(i + 1 + len) == Some(&b'\'') {
                        i += len + 2;
                        continue;
                    }
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth == 0 => {
                    out.push(&s[start..i]);
                    return Some(out);
                }
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        None
    }

    /// Every `msg!(…)` call in the cloud sources, parsed; a call that does
    /// not parse is a failure naming its file and line.
    #[cfg(feature = "ssr")]
    fn msg_calls() -> Vec<MsgCall> {
        let mut calls = Vec::new();
        for (path, src) in cloud_sources() {
            for (offset, _) in src.match_indices("msg!(") {
                let line_start = src[..offset].rfind('\n').map_or(0, |n| n + 1);
                let at = format!(
                    "{}:{}",
                    path.display(),
                    src[..offset].matches('\n').count() + 1
                );
                // Examples in doc comments are not call sites.
                if src[line_start..offset].trim_start().starts_with("//") {
                    continue;
                }
                let args = call_args(&src[offset + "msg!(".len()..])
                    .unwrap_or_else(|| panic!("{at}: cannot find the end of the msg! call"));
                let literal = |arg: Option<&&str>, what: &str| {
                    arg.and_then(|a| string_literal(a.trim()))
                        .filter(|(_, rest)| rest.trim().is_empty())
                        .map(|(value, _)| value)
                        .unwrap_or_else(|| panic!("{at}: the {what} is not a plain \"…\" literal"))
                };
                let key = literal(args.first(), "key");
                let template = literal(args.get(1), "English template");
                let mut names = Vec::new();
                for arg in args
                    .iter()
                    .skip(2)
                    .map(|a| a.trim())
                    .filter(|a| !a.is_empty())
                {
                    let name = arg
                        .split_once('=')
                        .filter(|(_, value)| !value.starts_with('='))
                        .map(|(name, _)| name.trim())
                        .filter(|name| {
                            !name.is_empty()
                                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        })
                        .unwrap_or_else(|| panic!("{at}: {arg:?} is not `name = value`"));
                    names.push(name.to_string());
                }
                calls.push(MsgCall {
                    at,
                    key,
                    template,
                    names,
                });
            }
        }
        calls
    }

    /// Every message keyed at a call site (`cloud::msg!`) has Korean text
    /// whose placeholders are all passed at that call, and the English
    /// template names only what is passed (no captured variables, which
    /// the Korean could not use).
    #[cfg(feature = "ssr")]
    #[test]
    fn every_keyed_service_message_is_translated() {
        let calls = msg_calls();
        let mut keys = std::collections::BTreeSet::new();
        for call in &calls {
            // Reserved for the macro's own tests in cloud/src/error.rs.
            if call.key.starts_with("error.test.") {
                continue;
            }
            let Some(ko) = lookup(Lang::Ko, &call.key) else {
                panic!("{}: no Korean text for {:?}", call.at, call.key);
            };
            assert!(
                !ko.trim().is_empty(),
                "{}: empty Korean for {}",
                call.at,
                call.key
            );
            let passed = |name: &String| call.names.contains(name);
            let ko_names = placeholders(ko).unwrap_or_else(|e| panic!("{}: {e}", call.key));
            if let Some(name) = ko_names.iter().find(|n| !passed(n)) {
                panic!(
                    "{}: the Korean text of {} uses {{{name}}}, which the call does not pass (it passes {:?})",
                    call.at, call.key, call.names
                );
            }
            let en_names =
                placeholders(&call.template).unwrap_or_else(|e| panic!("{}: {e}", call.at));
            if let Some(name) = en_names.iter().find(|n| !passed(n)) {
                panic!(
                    "{}: the English template uses {{{name}}}; pass it as `{name} = …`",
                    call.at
                );
            }
            keys.insert(call.key.as_str());
        }
        assert!(
            keys.len() >= 100,
            "only {} keyed messages found",
            keys.len()
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_msg_call_parser_reads_what_it_must() {
        assert_eq!(
            placeholders("{a} {b:?} {{not}} {c:>4}").as_deref(),
            Ok(&["a".to_string(), "b".into(), "c".into()][..])
        );
        assert!(placeholders("{a").is_err());
        let args =
            call_args("\"k\", \"t {x} \\\"q\\\", (y)\", x = f(a, [b, c]), y = '\"', z = ')') rest")
                .expect("parses");
        assert_eq!(
            args,
            [
                "\"k\"",
                " \"t {x} \\\"q\\\", (y)\"",
                " x = f(a, [b, c])",
                " y = '\"'",
                " z = ')'"
            ]
        );
        assert_eq!(
            string_literal("\"a \\\"b\\\" \\\n      c\", rest"),
            Some(("a \"b\" c".to_string(), ", rest"))
        );
        assert!(call_args("\"never closed").is_none());
    }
}
