#![allow(clippy::unwrap_used)]
//! One real guest through the whole agent: libvirtd + QEMU, images served
//! over HTTP, a config drive, direct kernel boot, the power actions.
//!
//! Needs a running libvirtd, a kernel and an initramfs whose /init prints
//! `GUREUM-INIT-DONE` on ttyS0 and echoes the config drive's meta_data and
//! user_data (`scripts/real-guest.sh` provides them; `make test` runs it):
//!
//! ```text
//! GUREUM_TEST_KERNEL=/path/vmlinuz GUREUM_TEST_INITRD=/path/initrd.gz \
//!   [GUREUM_TEST_DOMAIN_TYPE=kvm] \
//!   cargo test -p gureum-agent --test real_qemu -- --nocapture
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agent::{Agent, AgentConfig, DomainType, Hypervisor};
use bus::memory::MemoryBus;
use bus::messages::{
    AgentEvent, ComputeAction, ComputeRequest, ConfigDrive, ImageRef, Outcome, PowerState,
    SpawnSpec,
};
use bus::{compute_queue, decode, encode, Bus, Consumer, CONDUCTOR_QUEUE};
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves the files of `dir` at `/<name>` (no auth: the agent then asks
/// without a token).
async fn file_server(dir: PathBuf) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            let dir = dir.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = s.read(&mut buf).await.unwrap();
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let name = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/');
                match std::fs::read(dir.join(name)) {
                    Ok(body) => {
                        let h = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = s.write_all(h.as_bytes()).await;
                        let _ = s.write_all(&body).await;
                    }
                    Err(_) => {
                        let _ = s
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                }
                let _ = s.shutdown().await;
            });
        }
    });
    base
}

fn image_ref(base: &str, dir: &std::path::Path, name: &str, fmt: &str) -> ImageRef {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    ImageRef {
        id: format!("real-{name}"),
        download_url: format!("{base}/{name}"),
        disk_format: fmt.into(),
        size: bytes.len() as u64,
        hash_algo: "sha512".into(),
        hash_value: hex::encode(sha2::Sha512::digest(&bytes)),
        download_grant: None,
    }
}

struct Conductor {
    bus: MemoryBus,
    node: String,
    events: Box<dyn Consumer>,
    n: u32,
}

impl Conductor {
    async fn send(&mut self, id: &str, action: ComputeAction) -> Outcome {
        self.n += 1;
        let req = ComputeRequest {
            request_id: format!("real-{}", self.n),
            instance_id: id.into(),
            action,
        };
        let started = Instant::now();
        self.bus
            .publish(&compute_queue(&self.node), encode(&req))
            .await
            .unwrap();
        loop {
            let d = tokio::time::timeout(Duration::from_secs(300), self.events.next())
                .await
                .unwrap()
                .unwrap();
            let ev: AgentEvent = decode(&d.body).unwrap();
            d.ack().await.unwrap();
            if let AgentEvent::Result(r) = ev {
                if r.request_id == req.request_id {
                    println!(
                        "{:?} -> {:?} in {:?}",
                        req.action,
                        r.outcome,
                        started.elapsed()
                    );
                    return r.outcome;
                }
            }
        }
    }

    async fn console(&self, id: &str) -> String {
        let req = ComputeRequest {
            request_id: "console".into(),
            instance_id: id.into(),
            action: ComputeAction::ConsoleLog { lines: None },
        };
        let reply = self
            .bus
            .call(
                &compute_queue(&self.node),
                encode(&req),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        let out: bus::messages::ConsoleOutput = decode(&reply).unwrap();
        out.output.unwrap_or_default()
    }

    async fn wait_console(&self, id: &str, marker: &str, occurrences: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let log = self.console(id).await;
            if log.matches(marker).count() >= occurrences {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "no {marker:?} on the console:\n{log}"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Removes the guest if the test fails half-way (a leftover would hold its
/// name and RAM).
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in [
            vec!["destroy", self.0.as_str()],
            vec!["undefine", self.0.as_str(), "--managed-save"],
        ] {
            let _ = std::process::Command::new("virsh")
                .args(["-q", "-c", "qemu:///system"])
                .args(args)
                .stderr(std::process::Stdio::null())
                .output();
        }
    }
}

fn done(s: PowerState) -> Outcome {
    Outcome::Done { power_state: s }
}

/// Required in `make test`, which runs `scripts/real-guest.sh` first (libvirtd
/// up, the guest built into ~/.cache/gureum/guest); it fails, never skips,
/// when libvirtd, QEMU or the guest are missing.
#[tokio::test]
async fn boots_a_real_guest() {
    let guest = std::env::var("GUREUM_TEST_GUEST_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/gureum/guest",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into())
        )
    });
    let kernel = PathBuf::from(
        std::env::var("GUREUM_TEST_KERNEL").unwrap_or_else(|_| format!("{guest}/vmlinuz")),
    );
    let initrd = PathBuf::from(
        std::env::var("GUREUM_TEST_INITRD").unwrap_or_else(|_| format!("{guest}/initrd.gz")),
    );
    assert!(
        kernel.is_file() && initrd.is_file(),
        "the real-guest test needs {} and {}: run scripts/real-guest.sh (make test does)",
        kernel.display(),
        initrd.display()
    );
    let files = tempfile::tempdir().unwrap();
    std::fs::copy(&kernel, files.path().join("vmlinuz")).unwrap();
    std::fs::copy(&initrd, files.path().join("initrd")).unwrap();
    std::fs::write(files.path().join("root.raw"), vec![0u8; 1 << 20]).unwrap();
    let base = file_server(files.path().to_owned()).await;

    let state = tempfile::tempdir().unwrap();
    // TCG unless asked: nested KVM can fail guests that TCG runs fine.
    let kvm = std::env::var("GUREUM_TEST_DOMAIN_TYPE").is_ok_and(|t| t == "kvm");
    let cfg = AgentConfig {
        node: "real-node".into(),
        libvirt_uri: "qemu:///system".into(),
        domain_type: if kvm {
            DomainType::Kvm
        } else {
            DomainType::Qemu
        },
        state_dir: state.path().to_owned(),
        // A soft reboot's wait for a guest that ignores ACPI.
        stop_timeout_secs: 10,
        ..Default::default()
    };
    let bus = MemoryBus::new();
    let events = bus.consume(CONDUCTOR_QUEUE, 16).await.unwrap();
    let hv = Hypervisor::open(&cfg.libvirt_uri).await.unwrap();
    let agent = Agent::new(cfg, Arc::new(bus.clone()), hv.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        agent
            .run(async {
                let _ = stop_rx.await;
            })
            .await
    });
    let mut c = Conductor {
        bus,
        node: "real-node".into(),
        events,
        n: 0,
    };

    let id = uuid::Uuid::new_v4().to_string();
    let spec = SpawnSpec {
        name: "real guest".into(),
        domain_name: format!("instance-real-{}", &id[..8]),
        vcpus: 1,
        memory_mib: 256,
        root_gb: 1,
        image: image_ref(&base, files.path(), "root.raw", "raw"),
        kernel: Some(image_ref(&base, files.path(), "vmlinuz", "aki")),
        ramdisk: Some(image_ref(&base, files.path(), "initrd", "ari")),
        kernel_cmdline: Some("console=ttyS0 panic=-1".into()),
        interfaces: vec![],
        config_drive: ConfigDrive {
            meta_data: serde_json::json!({"uuid": id, "name": "real guest", "hostname": "real"}),
            user_data: Some(b"hello from user data".to_vec()),
        },
    };
    let _cleanup = Cleanup(spec.domain_name.clone());
    let t0 = Instant::now();
    assert_eq!(
        c.send(&id, ComputeAction::Spawn(Box::new(spec))).await,
        done(PowerState::Running)
    );
    let log = c.wait_console(&id, "GUREUM-INIT-DONE", 1).await;
    println!("booted in {:?}:\n{log}", t0.elapsed());
    assert!(log.contains(&format!("\"uuid\":\"{id}\"")), "{log}");
    assert!(log.contains("hello from user data"), "{log}");
    assert!(log.contains("vda"), "{log}");

    // Graceful: the guest's acpid powers it off (else forced at 30 s).
    let t = Instant::now();
    assert_eq!(
        c.send(&id, ComputeAction::Stop { timeout_secs: 30 }).await,
        done(PowerState::Shutdown)
    );
    let log = c.console(&id).await;
    let graceful = log.contains("GUREUM-ACPI-POWEROFF");
    println!("stop took {:?}, graceful: {graceful}", t.elapsed());
    println!("{}", &log[log.find("GUREUM-INIT-DONE").unwrap_or(0)..]);

    assert_eq!(
        c.send(&id, ComputeAction::Start).await,
        done(PowerState::Running)
    );
    c.wait_console(&id, "GUREUM-INIT-DONE", 2).await;
    assert_eq!(
        c.send(&id, ComputeAction::Reboot { hard: true }).await,
        done(PowerState::Running)
    );
    c.wait_console(&id, "GUREUM-INIT-DONE", 3).await;
    assert_eq!(
        c.send(&id, ComputeAction::Pause).await,
        done(PowerState::Paused)
    );
    assert_eq!(
        c.send(&id, ComputeAction::Unpause).await,
        done(PowerState::Running)
    );
    assert_eq!(
        c.send(&id, ComputeAction::Suspend).await,
        done(PowerState::Suspended)
    );
    assert_eq!(hv.state(&id).await.unwrap(), PowerState::Suspended);
    assert_eq!(
        c.send(&id, ComputeAction::Resume).await,
        done(PowerState::Running)
    );
    // Resumed, not rebooted: no fourth boot.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.console(&id).await.matches("GUREUM-INIT-DONE").count(), 3);
    // Soft: a clean shutdown and boot (or hard after 10 s): a fourth boot.
    let r = c.send(&id, ComputeAction::Reboot { hard: false }).await;
    assert_eq!(r, done(PowerState::Running));
    let log = c.wait_console(&id, "GUREUM-INIT-DONE", 4).await;
    println!(
        "ACPI power-offs seen by the guest: {}",
        log.matches("GUREUM-ACPI-POWEROFF").count()
    );

    assert_eq!(
        c.send(&id, ComputeAction::Delete).await,
        done(PowerState::Shutdown)
    );
    assert_eq!(hv.lookup(&id).await.unwrap(), None);
    assert!(!state.path().join("instances").join(&id).exists());
    let _ = stop_tx.send(());
    run.await.unwrap().unwrap();
}
