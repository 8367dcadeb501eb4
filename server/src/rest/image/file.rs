//! `PUT|GET /image/v2/images/{id}/file`: image data, streamed both ways.
//! Mounted outside the server's body limit (see `rest::streaming_routes`).

use std::io;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cloud::image::{ByteRange, ImageError};
use futures_util::TryStreamExt;

use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ApiResult};
use crate::AppState;

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// The declared length of an octet-stream body; other content types are
/// refused (415).
fn data_request(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    match content_type(headers) {
        Some(t) if t == "application/octet-stream" => {}
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Invalid content type {}: image data must be sent as application/octet-stream.",
                    other.unwrap_or_else(|| "(none)".into())
                ),
            ))
        }
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(None),
        Some(v) => Ok(Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Invalid Content-Length header."))?,
        )),
    }
}

/// Upload: the body streams into the service, which hashes, inspects and
/// stores it as it arrives. 204 when the image is active.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let declared_len = data_request(&headers)?;
    let stream = body.into_data_stream().map_err(io::Error::other);
    state
        .image
        .upload(&caller.ctx, &id, stream, declared_len)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT …/stage`: the same stream, left `uploading` for an import. 204.
pub async fn stage(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let declared_len = data_request(&headers)?;
    let stream = body.into_data_stream().map_err(io::Error::other);
    state
        .image
        .stage(&caller.ctx, &id, stream, declared_len)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `Range: bytes=a-b`, `bytes=a-`, `bytes=-n`. A header that is not one
/// byte range (another unit, several ranges, a malformed or backwards
/// range) is ignored and the whole image is sent, as RFC 9110 allows.
fn parse_range(headers: &HeaderMap) -> Option<ByteRange> {
    let v = headers.get(header::RANGE)?.to_str().ok()?.trim();
    let spec = v.strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.is_empty(), b.is_empty()) {
        (true, true) => None,
        (true, false) => Some(ByteRange::Suffix(num(b)?)),
        (false, true) => Some(ByteRange::From {
            start: num(a)?,
            end: None,
        }),
        (false, false) => {
            let (start, end) = (num(a)?, num(b)?);
            (end >= start).then_some(ByteRange::From {
                start,
                end: Some(end),
            })
        }
    }
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Download: the whole image (200, with `Content-MD5`) or one range (206);
/// 204 when the image has no data; 416 for a range past the end. A compute
/// node building an instance presents an `X-Image-Download-Grant` instead
/// of a token (see `cloud::image::grants`).
pub async fn download(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let range = parse_range(&headers);
    let grant = headers
        .get("x-image-download-grant")
        .and_then(|v| v.to_str().ok());
    let result = match grant {
        Some(grant) => state.image.download_granted(grant, &id, range).await,
        None => state.image.download(&caller?.ctx, &id, range).await,
    };
    let dl = match result {
        Ok(dl) => dl,
        Err(ImageError::NoData(_)) => return Ok(StatusCode::NO_CONTENT.into_response()),
        Err(ImageError::RangeNotSatisfiable { size }) => {
            let mut res = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("The requested range is not satisfiable for an image of {size} bytes."),
            )
            .into_response();
            res.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return Ok(res);
        }
        Err(e) => return Err(e.into()),
    };
    let status = if dl.partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut res = Response::new(Body::from_stream(dl.stream));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(dl.len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if dl.partial {
        let end = (dl.start + dl.len).saturating_sub(1);
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {}-{end}/{}", dl.start, dl.size)),
        );
    } else if let Some(md5) = &dl.image.checksum {
        h.insert("content-md5", header_value(md5));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str) -> Option<ByteRange> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, header_value(v));
        parse_range(&h)
    }

    #[test]
    fn ranges() {
        assert_eq!(
            range("bytes=0-9"),
            Some(ByteRange::From {
                start: 0,
                end: Some(9)
            })
        );
        assert_eq!(
            range("bytes=5-"),
            Some(ByteRange::From {
                start: 5,
                end: None
            })
        );
        assert_eq!(range("bytes=-3"), Some(ByteRange::Suffix(3)));
        for ignored in [
            "bytes=9-5",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=-",
            "bytes=a-b",
            "bytes=+1-2",
        ] {
            assert_eq!(range(ignored), None, "{ignored}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::rest::arbitrary::hostile_string;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the header, a range is either ignored or well formed.
        #[test]
        fn any_range_header_is_ignored_or_well_formed(
            spec in prop_oneof![
                hostile_string(),
                "bytes=[0-9 ,-]{0,24}",
                "bytes=[0-9]{0,25}-[0-9]{0,25}",
            ]
        ) {
            let Ok(v) = HeaderValue::from_str(&spec) else { return Ok(()) };
            let mut h = HeaderMap::new();
            h.insert(header::RANGE, v);
            if let Some(ByteRange::From { start, end: Some(end) }) = parse_range(&h) {
                prop_assert!(end >= start);
            }
        }
    }
}
