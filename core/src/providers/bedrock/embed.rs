//! Embeddings on Bedrock through InvokeModel, in each model family's own body: Titan
//! (`amazon.titan-embed-*`, one text a call) and Cohere (`cohere.embed-*`, a batch a call).

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::types::{Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, Extra};

fn is_cohere(model: &str) -> bool {
    // Cross-region profiles prefix the id with a geography: `us.cohere.embed-v4:0`.
    model.split('.').any(|part| part == "cohere")
}

/// The InvokeModel bodies for `request`: one per text for Titan, one for Cohere.
pub fn invocations(request: &EmbeddingRequest, model: &str) -> Result<Vec<Value>> {
    let texts = request.input.texts().ok_or_else(|| {
        Error::bad_request(
            "input",
            "Bedrock embeds text only; token input is not supported",
        )
    })?;
    if request.encoding_format.as_deref() == Some("base64") {
        return Err(Error::bad_request(
            "encoding_format",
            "Bedrock returns float embeddings only",
        ));
    }
    if is_cohere(model) {
        let input_type = request
            .extra
            .get("input_type")
            .and_then(Value::as_str)
            .unwrap_or("search_document");
        return Ok(vec![json!({"texts": texts, "input_type": input_type})]);
    }
    Ok(texts
        .into_iter()
        .map(|text| {
            let mut body = json!({"inputText": text});
            if let Some(dimensions) = request.dimensions {
                body["dimensions"] = dimensions.into();
            }
            body
        })
        .collect())
}

/// One OpenAI response from the InvokeModel answers, in input order.
pub fn response(answers: Vec<Value>, model: &str) -> Result<EmbeddingResponse> {
    let unreadable = || Error::malformed(200, "an embeddings answer without vectors");
    let mut vectors: Vec<Vec<f32>> = Vec::new();
    let mut tokens = 0;
    for answer in answers {
        if let Some(one) = answer.get("embedding") {
            vectors.push(floats(one).ok_or_else(unreadable)?);
            tokens += answer
                .get("inputTextTokenCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            continue;
        }
        // Cohere: `embeddings` is a list of vectors, or `{"float": [...]}` by type.
        let many = answer
            .get("embeddings")
            .map(|e| e.get("float").unwrap_or(e))
            .and_then(Value::as_array)
            .ok_or_else(unreadable)?;
        for one in many {
            vectors.push(floats(one).ok_or_else(unreadable)?);
        }
    }
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data: vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| Embedding::new(u32::try_from(i).unwrap_or(u32::MAX), v))
            .collect(),
        model: model.to_owned(),
        // Titan counts its input tokens; Cohere on Bedrock reports none.
        usage: EmbeddingUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        },
        extra: Extra::new(),
    })
}

fn floats(value: &Value) -> Option<Vec<f32>> {
    value
        .as_array()?
        .iter()
        .map(|x| x.as_f64().map(|f| f as f32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titan_is_one_call_a_text_and_cohere_one_batch() {
        let request = EmbeddingRequest::new("e", vec!["a".to_owned(), "b".to_owned()]);
        let titan = invocations(&request, "amazon.titan-embed-text-v2:0").unwrap();
        assert_eq!(
            titan,
            vec![json!({"inputText": "a"}), json!({"inputText": "b"})]
        );
        let cohere = invocations(&request, "cohere.embed-english-v3").unwrap();
        assert_eq!(
            cohere,
            vec![json!({"texts": ["a", "b"], "input_type": "search_document"})]
        );
        let out = response(
            vec![
                json!({"embedding": [0.5, 0.5], "inputTextTokenCount": 2}),
                json!({"embedding": [1.0, 0.0], "inputTextTokenCount": 3}),
            ],
            "m",
        )
        .unwrap();
        assert_eq!(out.data[1].embedding, vec![1.0, 0.0]);
        assert_eq!(out.usage.prompt_tokens, 5);
        let cohere = response(vec![json!({"embeddings": {"float": [[0.1], [0.2]]}})], "m").unwrap();
        assert_eq!(cohere.data.len(), 2);
    }
}
