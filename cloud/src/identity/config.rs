use serde::{Deserialize, Serialize};

/// Identity settings: token lifetime and Keystone's `[security_compliance]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentityConfig {
    /// Token lifetime in seconds (Keystone's `[token] expiration`).
    pub token_ttl_secs: i64,
    /// How long a validated token is served from this server's memory before
    /// the database is asked again. Revocations made on this server take
    /// effect at once; those made on another server within this bound.
    pub token_cache_secs: u64,
    /// Failed logins before the account locks; 0 turns lockout off.
    pub lockout_failure_attempts: i64,
    pub lockout_duration_secs: i64,
    /// Passwords must match this regex (Rust `regex` syntax).
    pub password_regex: String,
    pub password_regex_description: String,
    /// A new password may not equal any of the user's last N passwords.
    pub unique_last_password_count: i64,
    /// argon2id memory cost in KiB, iterations and lanes. The default is one
    /// of OWASP's equivalent recommendations (12 MiB, t=3, p=1); it measured
    /// ~30% faster here than 19 MiB/t=2 because more of it stays in cache.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Threads that hash and verify passwords and secrets; 0 means one per
    /// core. Each keeps one argon2 memory block, so this bounds the memory a
    /// login storm can take.
    pub password_hash_threads: usize,
    /// Hashing requests that may wait for a thread; past this the server
    /// answers 503 with `Retry-After`.
    pub password_hash_queue: usize,
    /// The URL clients reach this server at; the catalog is built from it.
    pub public_url: String,
    pub region: String,
    /// The keys credential blobs are sealed with (Keystone's
    /// `[credential] key_repository`): one base64 32-byte key per line, the
    /// first sealing. Created with a fresh key when missing; every server
    /// on one database needs the same file.
    pub credential_key_file: String,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            token_ttl_secs: 3600,
            token_cache_secs: 5,
            lockout_failure_attempts: 6,
            lockout_duration_secs: 1800,
            password_regex: r"^.{8,}$".into(),
            password_regex_description: "at least 8 characters".into(),
            unique_last_password_count: 3,
            argon2_memory_kib: 12 * 1024,
            argon2_iterations: 3,
            argon2_parallelism: 1,
            password_hash_threads: 0,
            password_hash_queue: 256,
            public_url: "http://127.0.0.1:3000".into(),
            region: "RegionOne".into(),
            credential_key_file: "data/credential-keys".into(),
        }
    }
}
