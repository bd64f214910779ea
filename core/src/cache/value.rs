//! What the cache stores: generic, so the client decides (the answer plus the metadata of the
//! call that produced it).

/// A value the response cache can hold in process and ship to the shared tier.
pub trait CacheValue: Clone + Send + Sync + 'static {
    /// Approximate heap size in bytes; the cache keeps the sum within `max_bytes`.
    fn weight_bytes(&self) -> u32;

    /// The value's encoding for the shared tier (serde_json is fine).
    fn to_bytes(&self) -> Vec<u8>;

    /// Decodes [`CacheValue::to_bytes`]; `None` for bytes it cannot read (another version's
    /// encoding, corruption), which the cache treats as a miss.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}
