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

    /// The form kept in process, made from the caller's value. By default a clone; a value
    /// made of many small allocations can pack itself into few, which keeps a full cache
    /// cheap to evict from (each eviction frees what the form holds, long since cold).
    fn stored(&self) -> Self {
        self.clone()
    }
}
