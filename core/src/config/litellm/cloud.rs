//! The LiteLLM import of the cloud providers: `bedrock/` (and `bedrock/converse/`) with
//! its `aws_*` parameters, `vertex_ai/` (Gemini and Claude) with its `vertex_*` ones.

use serde_json::{Map, Value};

use super::ImportKind;
use crate::config::{ProviderConfig, ProviderKind, Secret};

/// The `litellm_params` this file consumes.
pub(super) const PARAMS: &[&str] = &[
    "aws_region_name",
    "aws_profile_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
];

type Notes = Vec<(String, ImportKind, String)>;

/// The provider fields a Bedrock or Vertex deployment sets; part of the provider's
/// identity, so deployments in two regions get two providers.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CloudFields {
    region: Option<String>,
    profile: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    project: Option<String>,
    location: Option<String>,
    credentials: Option<String>,
}

/// The upstream model id: LiteLLM's `bedrock/converse/<id>` routes to Converse, which is
/// the only Bedrock API here, so the marker goes.
pub(super) fn upstream_model(kind: ProviderKind, upstream: &str) -> String {
    match kind {
        ProviderKind::Bedrock => upstream
            .strip_prefix("converse/")
            .unwrap_or(upstream)
            .to_owned(),
        _ => upstream.to_owned(),
    }
}

/// `os.environ/X` becomes `${X}`; a literal is kept, with a note when it is a secret.
fn value(
    params: &Map<String, Value>,
    name: &str,
    secret: bool,
    pp: &str,
    notes: &mut Notes,
) -> Option<String> {
    let raw = params.get(name)?.as_str()?;
    match raw.strip_prefix("os.environ/") {
        Some(var) => Some(format!("${{{var}}}")),
        None => {
            if secret {
                notes.push((
                    format!("{pp}.{name}"),
                    ImportKind::Approximated,
                    "a literal secret was copied; prefer an ${ENV_VAR} reference".into(),
                ));
            }
            Some(raw.to_owned())
        }
    }
}

impl CloudFields {
    pub(super) fn from_params(
        kind: ProviderKind,
        params: &Map<String, Value>,
        pp: &str,
        notes: &mut Notes,
    ) -> Self {
        let mut fields = CloudFields::default();
        let mut v = |name: &str, secret: bool| value(params, name, secret, pp, notes);
        match kind {
            ProviderKind::Bedrock => {
                fields.region = v("aws_region_name", false);
                fields.profile = v("aws_profile_name", false);
                fields.access_key_id = v("aws_access_key_id", true);
                fields.secret_access_key = v("aws_secret_access_key", true);
                fields.session_token = v("aws_session_token", true);
            }
            ProviderKind::Vertex => {
                fields.project = v("vertex_project", false);
                fields.location = v("vertex_location", false);
                fields.credentials = v("vertex_credentials", true);
                if fields.project.is_none() {
                    // LiteLLM falls back to VERTEXAI_PROJECT; so does the import.
                    fields.project = Some("${VERTEXAI_PROJECT}".to_owned());
                    notes.push((
                        format!("{pp}.vertex_project"),
                        ImportKind::Approximated,
                        "absent: project = ${VERTEXAI_PROJECT}, as LiteLLM reads it".into(),
                    ));
                }
            }
            _ => {
                for name in PARAMS.iter().filter(|n| params.contains_key(**n)) {
                    notes.push((
                        format!("{pp}.{name}"),
                        ImportKind::Dropped,
                        format!("'{name}' only applies to bedrock/ and vertex_ai/ models"),
                    ));
                }
            }
        }
        fields
    }

    pub(super) fn apply(&self, provider: &mut ProviderConfig) {
        provider.region = self.region.clone();
        provider.profile = self.profile.clone();
        provider.access_key_id = self.access_key_id.clone().map(Secret::new);
        provider.secret_access_key = self.secret_access_key.clone().map(Secret::new);
        provider.session_token = self.session_token.clone().map(Secret::new);
        provider.project = self.project.clone();
        provider.location = self.location.clone();
        provider.credentials = self.credentials.clone().map(Secret::new);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::ProviderKind;
    use crate::config::litellm::{ImportKind, import_litellm};

    #[test]
    fn bedrock_and_vertex_deployments_are_kept() {
        let yaml = r#"
model_list:
  - model_name: claude
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_region_name: us-west-2
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
      rpm: 60
  - model_name: nova
    litellm_params:
      model: bedrock/converse/us.amazon.nova-pro-v1:0
      aws_profile_name: prod
      aws_region_name: us-east-1
  - model_name: gemini
    litellm_params:
      model: vertex_ai/gemini-2.5-pro
      vertex_project: my-proj
      vertex_location: europe-west4
      vertex_credentials: os.environ/VERTEX_SA_JSON
  - model_name: claude-vertex
    litellm_params:
      model: vertex_ai/claude-sonnet-4@20250514
"#;
        let out = import_litellm(yaml).unwrap();
        let providers = &out.config.providers;
        let bedrock: Vec<_> = providers
            .values()
            .filter(|p| p.kind == ProviderKind::Bedrock)
            .collect();
        assert_eq!(bedrock.len(), 2, "two regions, two providers");
        let west = bedrock
            .iter()
            .find(|p| p.region.as_deref() == Some("us-west-2"))
            .unwrap();
        assert_eq!(
            west.access_key_id.as_ref().unwrap().env_var(),
            Some("AWS_ACCESS_KEY_ID")
        );
        assert!(west.api_key.is_none());
        let east = bedrock
            .iter()
            .find(|p| p.region.as_deref() == Some("us-east-1"))
            .unwrap();
        assert_eq!(east.profile.as_deref(), Some("prod"));
        assert_eq!(
            out.config.models["nova"].deployments[0].model,
            "us.amazon.nova-pro-v1:0"
        );
        let vertex: Vec<_> = providers
            .values()
            .filter(|p| p.kind == ProviderKind::Vertex)
            .collect();
        assert_eq!(vertex.len(), 2);
        let eu = vertex
            .iter()
            .find(|p| p.location.as_deref() == Some("europe-west4"))
            .unwrap();
        assert_eq!(eu.project.as_deref(), Some("my-proj"));
        assert_eq!(
            eu.credentials.as_ref().unwrap().env_var(),
            Some("VERTEX_SA_JSON")
        );
        assert_eq!(
            out.config.models["claude-vertex"].deployments[0].model,
            "claude-sonnet-4@20250514"
        );
        assert!(
            out.report
                .iter()
                .any(|n| n.kind == ImportKind::Approximated
                    && n.message.contains("VERTEXAI_PROJECT"))
        );
        assert!(
            !out.report
                .iter()
                .any(|n| n.kind == ImportKind::Dropped && n.path.contains("aws_")),
            "{:?}",
            out.report
        );
    }
}
