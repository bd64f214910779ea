//! The request rules the handlers enforce, as JSON Schema for the OpenAPI document
//! (`#[schema(schema_with = …)]` on request fields), so that a client generated from
//! `/openapi.json` cannot send a schema-valid request refused for its shape.
//! `tests/openapi_contract.rs` holds every refused shape against these schemas.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};

use crate::store::MAX_NAME_CHARS;

/// `store::check_name`: not blank, at most [`MAX_NAME_CHARS`] characters, no control
/// characters (C0, DEL, C1).
pub const NAME_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";

/// The shortest password accepted (`users::new_password_hash`).
pub const MIN_PASSWORD_CHARS: usize = 12;

pub fn name() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_NAME_CHARS))
        .pattern(Some(NAME_PATTERN))
        .into()
}

pub fn password() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(MIN_PASSWORD_CHARS))
        .into()
}

/// An expiry in Unix milliseconds: in the future when sent (a past one is refused).
pub fn expiry_ms() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
            utoipa::openapi::schema::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .description(Some("Unix milliseconds, in the future"))
        .into()
}

/// A call-log mode (`switchyard::config::CallLogMode`): `off`, `errors`, `all`, or
/// `{"sample": RATE}` with RATE in [0, 1].
pub fn call_log_mode() -> RefOr<Schema> {
    let named = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["off", "errors", "all"]));
    let sample = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "sample",
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(0.0))
                .maximum(Some(1.0)),
        )
        .required("sample")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    OneOfBuilder::new().item(named).item(sample).into()
}

/// Per model alias, a call-log mode.
pub fn call_log_modes() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(call_log_mode()))
        .into()
}
