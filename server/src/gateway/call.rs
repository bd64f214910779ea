//! What every gateway request does before the engine sees it: authenticate the app key,
//! read its options and the body within the limit, decode it, find the app's client, and check that the
//! model is one the app may use. Nothing is forwarded upstream until all of that passes.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use switchyard::{CallOptions, Client};

use super::{GatewayError, MAX_BODY_BYTES, options};
use crate::api::extract::decode;
use crate::api::principal::AppCaller;
use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller's app client, and the call's options.
pub struct Call {
    pub client: Client,
    pub options: CallOptions,
}

impl Call {
    pub async fn open(
        state: &AppState,
        caller: Result<AppCaller, ApiError>,
    ) -> Result<Call, GatewayError> {
        let caller = caller?;
        let client = state.gateway.get(state, &caller.key).await?;
        Ok(Call {
            client,
            options: CallOptions::default(),
        })
    }

    /// The call with the options its `x-switchyard-options` header carries.
    pub fn with_options(self, headers: &HeaderMap) -> Result<Call, GatewayError> {
        Ok(Call {
            options: options::from_headers(headers)?,
            ..self
        })
    }

    /// Refuses a model outside the app's resolved config: unknown, another tenant's and
    /// not allowed are one answer, so none reveals that the model exists.
    pub fn check_model(&self, model: &str) -> Result<(), GatewayError> {
        if self.client.config().models.contains_key(model) {
            Ok(())
        } else {
            Err(GatewayError::ModelNotFound(model.to_owned()))
        }
    }
}

/// The body decoded as `T`, read no further than [`MAX_BODY_BYTES`].
pub async fn json_body<T: DeserializeOwned>(body: Body) -> Result<T, GatewayError> {
    let bytes: Bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(GatewayError::TooLarge);
        }
        Err(e) => return Err(ApiError::bad("", format!("cannot read the body: {e}")).into()),
    };
    if bytes.is_empty() {
        return Err(ApiError::bad("", "the request needs a JSON body").into());
    }
    Ok(decode(&bytes)?)
}
