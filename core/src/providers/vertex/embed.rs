//! Text embeddings on Vertex AI through `:predict`: one `instances` entry per text, the
//! vectors and token counts back from `predictions[].embeddings`.

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::types::{Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, Extra};

pub fn predict_body(request: &EmbeddingRequest) -> Result<Value> {
    let texts = request.input.texts().ok_or_else(|| {
        Error::bad_request(
            "input",
            "Vertex AI embeds text only; token input is not supported",
        )
    })?;
    if request.encoding_format.as_deref() == Some("base64") {
        return Err(Error::bad_request(
            "encoding_format",
            "Vertex AI returns float embeddings only",
        ));
    }
    let instances: Vec<Value> = texts.into_iter().map(|t| json!({"content": t})).collect();
    let mut body = json!({"instances": instances});
    if let Some(dimensions) = request.dimensions {
        body["parameters"] = json!({"outputDimensionality": dimensions});
    }
    Ok(body)
}

pub fn response(answer: &Value, model: &str) -> Result<EmbeddingResponse> {
    let unreadable = || Error::malformed(200, "a predict answer without embeddings");
    let predictions = answer
        .get("predictions")
        .and_then(Value::as_array)
        .ok_or_else(unreadable)?;
    let mut data = Vec::with_capacity(predictions.len());
    let mut tokens = 0;
    for (i, prediction) in predictions.iter().enumerate() {
        let values = prediction
            .pointer("/embeddings/values")
            .and_then(Value::as_array)
            .ok_or_else(unreadable)?
            .iter()
            .map(|x| x.as_f64().map(|f| f as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(unreadable)?;
        tokens += prediction
            .pointer("/embeddings/statistics/token_count")
            .and_then(Value::as_f64)
            .map_or(0, |n| n as u64);
        data.push(Embedding::new(u32::try_from(i).unwrap_or(u32::MAX), values));
    }
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: model.to_owned(),
        usage: EmbeddingUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
        extra: Extra::new(),
    })
}
