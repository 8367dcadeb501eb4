//! The quota panels' strings (see `crate::i18n`).

pub(super) static TABLE: &[(&str, &str, &str)] = &[
    // A quota's name, also where an over-quota error names it (`fill`).
    ("quota.name.instances", "Instances", "인스턴스"),
    ("quota.name.cores", "vCPUs", "vCPU"),
    ("quota.name.ram", "RAM (MiB)", "RAM(MiB)"),
    ("quota.name.key_pairs", "Key Pairs", "키 페어"),
    (
        "quota.name.metadata_items",
        "Metadata Items",
        "메타데이터 항목",
    ),
    ("quota.name.image_count_total", "Images", "이미지"),
    (
        "quota.name.image_size_total",
        "Image Storage",
        "이미지 저장 용량",
    ),
    (
        "quota.form.image_size_total",
        "Image Storage (MiB)",
        "이미지 저장 용량(MiB)",
    ),
    // The services a quota view is grouped by.
    ("quota.section.compute", "Compute", "컴퓨트"),
    ("quota.section.image", "Images", "이미지"),
    ("quota.section.network", "Networks", "네트워크"),
    ("quota.section.volume", "Volumes", "볼륨"),
    ("quota.section.other", "Other", "기타"),
    ("quota.col.quota", "Quota", "쿼터"),
    ("quota.col.limit", "Limit", "한도"),
    ("quota.col.in_use", "In use", "사용 중"),
    ("quota.col.reserved", "Reserved", "예약됨"),
    ("quota.col.source", "Source", "적용 기준"),
    ("quota.col.configured", "Configured value", "설정 파일 값"),
    ("quota.unlimited", "Unlimited", "무제한"),
    ("quota.infinite_sign", "∞", "∞"),
    (
        "quota.unlimited_hint",
        "Enter -1 or leave a field empty for no limit. Image storage is in MiB.",
        "한도를 두지 않으려면 -1을 입력하거나 칸을 비워 두세요. 이미지 저장 용량은 MiB 단위입니다.",
    ),
    ("quota.default_marker", "Default", "기본값"),
    ("quota.own_marker", "Project's own", "프로젝트 전용"),
    ("quota.reset", "Reset to default", "기본값으로 되돌리기"),
    (
        "quota.reset_all",
        "Reset all to defaults",
        "모두 기본값으로 되돌리기",
    ),
    ("quota.per_user", "Counted per user", "사용자별로 계산"),
    ("quota.per_instance", "Per instance", "인스턴스별 한도"),
    // Admin › System › Defaults.
    (
        "quota.defaults.subtitle",
        "The limits of every project that has no limit of its own.",
        "자체 한도가 없는 모든 프로젝트에 적용되는 한도입니다.",
    ),
    ("quota.defaults.update", "Update Defaults", "기본값 수정"),
    (
        "quota.defaults.saved",
        "The defaults are updated.",
        "기본값을 수정했습니다.",
    ),
    ("quota.overridden", "Changed by an admin", "관리자가 변경함"),
    (
        "quota.from_config",
        "From the configuration",
        "설정 파일 값",
    ),
    (
        "quota.use_configured",
        "Use the configured value",
        "설정 파일 값 사용",
    ),
    // Identity › Projects › Quotas.
    (
        "quota.project.subtitle",
        "This project's limits beside what it uses. A limit marked Default follows the defaults.",
        "이 프로젝트의 한도와 현재 사용량입니다. 기본값으로 표시된 한도는 기본 쿼터를 따릅니다.",
    ),
    (
        "quota.project.saved",
        "The quotas are saved.",
        "쿼터를 저장했습니다.",
    ),
    (
        "quota.err.not_number",
        "{resource}: enter a whole number, or -1 (or nothing) for no limit.",
        "{resource}: 정수를 입력하세요. 한도를 두지 않으려면 -1을 입력하거나 비워 두세요.",
    ),
    (
        "quota.err.too_large",
        "{resource}: the number is too large.",
        "{resource}: 숫자가 너무 큽니다.",
    ),
    (
        "quota.err.unknown",
        "Unknown quota {resource}.",
        "알 수 없는 쿼터입니다: {resource}",
    ),
    // Project › Overview.
    ("quota.overview.title", "Limit Summary", "한도 요약"),
    (
        "quota.overview.no_project",
        "Choose a project to see its limits.",
        "한도를 보려면 프로젝트를 선택하세요.",
    ),
    (
        "quota.used_of",
        "Used {used} of {limit}",
        "{limit} 중 {used} 사용",
    ),
    (
        "quota.used_unlimited",
        "Used {used} (no limit)",
        "{used} 사용 (무제한)",
    ),
];
