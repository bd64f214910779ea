//! Sign-in through a tenant's OpenID provider (`docs/identity.md`): the provider's
//! metadata and signing keys, fetched and cached per issuer; ID token validation.

pub mod discovery;
pub mod error;
pub mod id_token;
pub mod jwks;

pub use discovery::{Issuer, Metadata, ProviderCache};
pub use error::OidcError;
pub use jwks::Jwk;
