//! `PUT|DELETE /v2/images/{id}/tags/{tag}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::rest::auth::Caller;
use crate::rest::error::ApiResult;
use crate::AppState;

pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.image.add_tag(&caller.ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    state.image.remove_tag(&caller.ctx, &id, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
