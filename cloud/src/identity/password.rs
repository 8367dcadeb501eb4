//! argon2id hashing in PHC form, on a bounded pool of hashing threads.
//!
//! Every hash and verification costs `argon2_memory_kib` of memory and a
//! core for tens of milliseconds. Run on tokio's blocking pool (up to 512
//! threads), a login storm allocated that memory hundreds of times at once:
//! 64 concurrent logins took the server from 21 MB to 5.6 GB, and glibc kept
//! most of it afterwards. Here a fixed set of threads (one per core by
//! default) each own one reusable memory block; work beyond them waits in a
//! bounded queue, and past that the caller is told the server is busy
//! ([`IdentityError::Busy`], a 503 with `Retry-After`) instead of piling up.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use super::error::{IdentityError, Result};
use super::IdentityConfig;
use crate::secret::Secret;

enum Job {
    Hash {
        password: Secret,
        reply: oneshot::Sender<Result<String>>,
    },
    Verify {
        password: Secret,
        hash: String,
        reply: oneshot::Sender<bool>,
    },
}

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// A real hash of a random password, verified against when the user
    /// does not exist so timing does not reveal that.
    dummy: Arc<String>,
    /// The pool's queue; the threads end when the last clone is dropped.
    jobs: SyncSender<Job>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    pub fn new(cfg: &IdentityConfig) -> Result<Hasher> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| IdentityError::Internal(format!("argon2 parameters: {e}")))?;
        let threads = match cfg.password_hash_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (jobs, rx) = sync_channel(cfg.password_hash_queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx, &params))
                .map_err(|e| IdentityError::Internal(format!("argon2 thread: {e}")))?;
        }
        let dummy = hash_with(&params, &super::random_token(24), &mut Vec::new())?;
        Ok(Hasher {
            params,
            dummy: Arc::new(dummy),
            jobs,
        })
    }

    fn submit(&self, job: Job) -> Result<()> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                tracing::warn!("password hashing queue full: refusing with 503");
                Err(IdentityError::Busy)
            }
            Err(TrySendError::Disconnected(_)) => Err(IdentityError::Internal(
                "the password hashing threads have stopped".into(),
            )),
        }
    }

    pub async fn hash(&self, password: &Secret) -> Result<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash {
            password: password.clone(),
            reply,
        })?;
        answer
            .await
            .map_err(|_| IdentityError::Internal("a password hashing thread died".into()))?
    }

    /// Verifies against `hash`, or against a dummy when there is none.
    /// `Err(Busy)` when the queue is full: the caller must not treat that as
    /// a wrong password (no lockout count).
    pub async fn verify(&self, password: &Secret, hash: Option<&str>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.as_str().to_string(), str::to_string);
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify {
            password: password.clone(),
            hash,
            reply,
        })?;
        Ok(answer.await.unwrap_or(false) && known)
    }
}

/// One hashing thread: takes jobs until the pool is dropped, reusing one
/// memory block for all of them.
fn worker(rx: &Mutex<Receiver<Job>>, params: &Params) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match job {
            Ok(Job::Hash { password, reply }) => {
                let _ = reply.send(hash_with(params, password.expose(), &mut memory));
            }
            Ok(Job::Verify {
                password,
                hash,
                reply,
            }) => {
                let _ = reply.send(verify_with(password.expose(), &hash, &mut memory));
            }
            Err(_) => return,
        }
    }
}

fn argon_err(e: impl std::fmt::Display) -> IdentityError {
    IdentityError::Internal(format!("argon2: {e}"))
}

/// `memory` grown to what `params` needs (and kept for the next call).
fn blocks<'a>(memory: &'a mut Vec<Block>, params: &Params) -> &'a mut [Block] {
    let n = params.block_count();
    if memory.len() < n {
        memory.resize(n, Block::default());
    }
    &mut memory[..n]
}

/// An argon2id PHC string for `password` with a fresh salt.
fn hash_with(params: &Params, password: &str, memory: &mut Vec<Block>) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(argon_err)?;
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt_raw,
            &mut out,
            blocks(memory, params),
        )
        .map_err(argon_err)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(argon_err)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(argon_err)?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a stored PHC string. Parameters come from the
/// string, so hashes made with older settings keep verifying.
fn verify_with(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let mut check = || -> std::result::Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(phc)?;
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let mut salt_buf = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_buf)?;
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params.clone()).hash_password_into_with_memory(
            password.as_bytes(),
            salt_raw,
            &mut out,
            blocks(memory, &params),
        )?;
        // Output's equality is constant-time.
        Ok(Output::new(&out)? == expected)
    };
    check().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    fn cfg(threads: usize, queue: usize) -> IdentityConfig {
        IdentityConfig {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            password_hash_threads: threads,
            password_hash_queue: queue,
            ..IdentityConfig::default()
        }
    }

    #[test]
    fn hashes_match_the_reference_implementation() {
        let params = Params::new(1024, 2, 1, None).expect("params");
        let mut memory = Vec::new();
        let phc = hash_with(&params, "correct horse", &mut memory).expect("hash");
        let parsed = PasswordHash::new(&phc).expect("parse");
        let salt = parsed.salt.expect("salt");
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse", salt)
            .expect("reference")
            .to_string();
        assert_eq!(phc, reference);
        assert!(verify_with("correct horse", &phc, &mut memory));
        assert!(!verify_with("wrong horse", &phc, &mut memory));
        assert!(!verify_with(
            "correct horse",
            "not a phc string",
            &mut memory
        ));
        // A hash made elsewhere (other parameters) verifies with the same memory.
        let other = Argon2::default()
            .hash_password(b"pw", &SaltString::generate(&mut OsRng))
            .expect("other")
            .to_string();
        assert!(verify_with("pw", &other, &mut memory));
    }

    #[tokio::test]
    async fn pool_hashes_verifies_and_knows_unknown_users() {
        let h = Hasher::new(&cfg(2, 16)).expect("hasher");
        let pw = Secret::new("s3cret-pass".to_string());
        let phc = h.hash(&pw).await.expect("hash");
        assert!(h.verify(&pw, Some(&phc)).await.expect("verify"));
        assert!(!h
            .verify(&Secret::new("nope".to_string()), Some(&phc))
            .await
            .expect("verify"));
        // No stored hash: the dummy is checked (same cost), and it never matches.
        assert!(!h.verify(&pw, None).await.expect("verify"));
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_and_the_pool_recovers() {
        // One thread, a queue of one: of many requests at once, some must be
        // refused as Busy, none lost, and the pool serves again afterwards.
        let h = Hasher::new(&IdentityConfig {
            argon2_memory_kib: 8 * 1024,
            argon2_iterations: 3,
            ..cfg(1, 1)
        })
        .expect("hasher");
        let pw = Secret::new("s3cret-pass".to_string());
        let phc = h.hash(&pw).await.expect("hash");
        let mut calls = Vec::new();
        for _ in 0..16 {
            let h = h.clone();
            let pw = pw.clone();
            let phc = phc.clone();
            calls.push(tokio::spawn(async move { h.verify(&pw, Some(&phc)).await }));
        }
        let (mut ok, mut busy) = (0, 0);
        for c in calls {
            match c.await.expect("join") {
                Ok(true) => ok += 1,
                Err(IdentityError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
        assert_eq!(ok + busy, 16);
        assert!(h.verify(&pw, Some(&phc)).await.expect("after the storm"));
    }
}
