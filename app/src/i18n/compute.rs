//! The compute panels' strings (see `crate::i18n`).

pub(super) static TABLE: &[(&str, &str, &str)] = &[
    ("nav.instances", "Instances", "인스턴스"),
    ("nav.key_pairs", "Key Pairs", "키 페어"),
    ("nav.flavors", "Flavors", "Flavor"),
    ("nav.hypervisors", "Hypervisors", "하이퍼바이저"),
    ("nav.system", "System", "시스템"),
    ("nav.system_info", "System Information", "시스템 정보"),
    ("nav.defaults", "Defaults", "기본값"),
    ("nav.quotas", "Quotas", "쿼터"),
];
