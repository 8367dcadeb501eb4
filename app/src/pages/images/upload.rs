//! The browser's half of Create Image: the record is created by a server
//! function, then the `File` is sent with `XMLHttpRequest` (`PUT
//! /portal/images/{id}/file`). The browser streams the file from disk —
//! it is never read into memory — and `upload.onprogress` drives the
//! progress bar.
//!
//! This code only ever runs in the browser; on the server it compiles
//! (wasm-bindgen's imports are stubs there) but is never called.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{File, FormData, HtmlFormElement, ProgressEvent, XmlHttpRequest};

use super::{create_image, human_size};
use crate::error::AppError;
use crate::i18n::{t, Lang};

/// Where Create Image stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Idle,
    /// The server function creating the record is running.
    Creating,
    /// Bytes sent so far.
    Uploading {
        loaded: f64,
        total: f64,
    },
    /// Every byte is sent; the server is checking and storing the image.
    Verifying {
        total: f64,
    },
    Done {
        total: f64,
    },
    /// `image_id` is the record left `queued`, if one was created.
    Failed {
        message: AppError,
        image_id: Option<String>,
    },
}

impl Phase {
    pub fn busy(&self) -> bool {
        matches!(
            self,
            Phase::Creating | Phase::Uploading { .. } | Phase::Verifying { .. }
        )
    }
}

/// A running upload. Dropping it detaches its handlers and aborts the
/// request if it has not finished.
pub struct Upload {
    xhr: XmlHttpRequest,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Upload {
    pub fn abort(&self) {
        let _ = self.xhr.abort();
    }

    fn start(
        id: String,
        file: &File,
        lang: Lang,
        phase: RwSignal<Phase>,
        on_changed: Callback<()>,
    ) -> Result<Upload, JsValue> {
        let total = file.size();
        let xhr = XmlHttpRequest::new()?;
        xhr.open_with_async("PUT", &format!("/portal/images/{id}/file"), true)?;
        xhr.set_request_header("Content-Type", "application/octet-stream")?;
        let failed = move |message: AppError| {
            phase.set(Phase::Failed {
                message,
                image_id: Some(id.clone()),
            });
            on_changed.run(());
        };
        let progress = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            if let Ok(ev) = ev.dyn_into::<ProgressEvent>() {
                let total = if ev.length_computable() {
                    ev.total()
                } else {
                    total
                };
                phase.set(Phase::Uploading {
                    loaded: ev.loaded(),
                    total,
                });
            }
        });
        let sent =
            Closure::<dyn FnMut(JsValue)>::new(move |_| phase.set(Phase::Verifying { total }));
        let answered = {
            let xhr = xhr.clone();
            let failed = failed.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let status = xhr.status().unwrap_or(0);
                if (200..300).contains(&status) {
                    phase.set(Phase::Done { total });
                    on_changed.run(());
                } else {
                    let body = xhr.response_text().ok().flatten().unwrap_or_default();
                    failed(server_message(lang, status, &body));
                }
            })
        };
        let broken = {
            let failed = failed.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                failed(AppError::portal("images.upload_broken"))
            })
        };
        let aborted = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            failed(AppError::portal("images.upload_cancelled"))
        });
        let up = xhr.upload()?;
        up.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        up.set_onload(Some(sent.as_ref().unchecked_ref()));
        xhr.set_onload(Some(answered.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(broken.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(aborted.as_ref().unchecked_ref()));
        phase.set(Phase::Uploading { loaded: 0.0, total });
        xhr.send_with_opt_blob(Some(file))?;
        Ok(Upload {
            xhr,
            _handlers: vec![progress, sent, answered, broken, aborted],
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Ok(up) = self.xhr.upload() {
            up.set_onprogress(None);
            up.set_onload(None);
        }
        self.xhr.set_onload(None);
        self.xhr.set_onerror(None);
        self.xhr.set_onabort(None);
        if self.xhr.ready_state() != XmlHttpRequest::DONE {
            let _ = self.xhr.abort();
        }
    }
}

/// The server's answer (an [`AppError`] as JSON), else a message naming
/// the status (a proxy's refusal, say).
fn server_message(lang: Lang, status: u16, body: &str) -> AppError {
    match serde_json::from_str::<AppError>(body) {
        Ok(e) => e,
        Err(_) if status == 413 => AppError::portal("images.upload_too_large"),
        Err(_) => AppError::Other(format!(
            "{} (HTTP {status})",
            t(lang, "images.upload_failed")
        )),
    }
}

/// Handles the Create Image form: creates the record, then uploads the
/// chosen file. `keep` holds the running upload.
pub fn submit(
    ev: &leptos::ev::SubmitEvent,
    lang: Lang,
    phase: RwSignal<Phase>,
    keep: StoredValue<Option<Upload>, LocalStorage>,
    on_changed: Callback<()>,
) {
    let Some(form) = ev
        .target()
        .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
    else {
        return;
    };
    let Ok(data) = FormData::new_with_form(&form) else {
        return;
    };
    let text = |k: &str| data.get(k).as_string().unwrap_or_default();
    let Some(file) = data
        .get("file")
        .dyn_into::<File>()
        .ok()
        .filter(|f| !f.name().is_empty())
    else {
        phase.set(Phase::Failed {
            message: AppError::portal("images.no_file"),
            image_id: None,
        });
        return;
    };
    let call = create_image(
        text("name"),
        text("description"),
        text("disk_format"),
        text("min_disk"),
        text("min_ram"),
        text("visibility"),
        !text("protected").is_empty(),
        file.size() as i64,
    );
    phase.set(Phase::Creating);
    spawn_local(async move {
        match call.await {
            Ok(id) => {
                on_changed.run(());
                match Upload::start(id.clone(), &file, lang, phase, on_changed) {
                    Ok(u) => keep.set_value(Some(u)),
                    Err(e) => phase.set(Phase::Failed {
                        message: AppError::Other(format!(
                            "{}: {}",
                            t(lang, "images.upload_failed"),
                            e.as_string().unwrap_or_default()
                        )),
                        image_id: Some(id),
                    }),
                }
            }
            Err(e) => phase.set(Phase::Failed {
                message: e,
                image_id: None,
            }),
        }
    });
}

/// "3.0 MiB / 8.0 MiB".
pub fn progress_text(loaded: f64, total: f64) -> String {
    format!(
        "{} / {}",
        human_size(loaded as i64),
        human_size(total as i64)
    )
}
