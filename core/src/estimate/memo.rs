//! Token counts of recently seen texts, without locks: a direct-mapped table of words,
//! each packing a 44-bit tag of the text's hash with its 20-bit count. A lookup is one
//! atomic load and a store one atomic store; a text that lands on a taken slot replaces
//! it. (A moka cache did this before: its insert alone cost more than tokenizing a
//! sentence, and every new user message paid for one.)

use std::sync::atomic::{AtomicU64, Ordering};

/// 16,384 slots, 128 KiB: the system prompts and conversation turns in flight at once.
const SLOTS: usize = 1 << 14;
const COUNT_BITS: u32 = 20;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

static TABLE: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];

/// Where `hash` lives and the word it is stored as. The slot takes the low bits and the
/// tag the high ones, so with the slot the hash is matched on 58 bits: a false match
/// needs two texts agreeing on those, about 1 in 3·10^17 per lookup.
fn slot_and_tag(hash: u128) -> (usize, u64) {
    let slot = (hash as usize) & (SLOTS - 1);
    let tag = ((hash >> 64) as u64) & !COUNT_MASK;
    (slot, tag)
}

/// The count stored for `hash`, if it is still there.
pub(super) fn get(hash: u128) -> Option<u64> {
    let (slot, tag) = slot_and_tag(hash);
    let word = TABLE[slot].load(Ordering::Relaxed);
    (word != 0 && word & !COUNT_MASK == tag).then_some(word & COUNT_MASK)
}

/// Remembers `count` for `hash`. Counts too big for the word are not kept (a text of a
/// million tokens costs far more to send than to count again).
pub(super) fn put(hash: u128, count: u64) {
    if count == 0 || count > COUNT_MASK {
        return;
    }
    let (slot, tag) = slot_and_tag(hash);
    TABLE[slot].store(tag | count, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_found_under_its_hash_only() {
        let hash = 0x1234_5678_9abc_def0_0fed_cba9_8765_4321_u128;
        put(hash, 42);
        assert_eq!(get(hash), Some(42));
        // Same slot, another tag: a miss, not someone else's count.
        assert_eq!(get(hash ^ (1u128 << 100)), None);
        // Another text on the same slot takes it over.
        put(hash ^ (1u128 << 100), 7);
        assert_eq!(get(hash ^ (1u128 << 100)), Some(7));
        assert_eq!(get(hash), None);
    }

    #[test]
    fn counts_that_do_not_fit_are_not_kept() {
        let hash = 0xdead_beef_u128 << 70 | 0x77;
        put(hash, COUNT_MASK + 1);
        assert_eq!(get(hash), None);
    }
}
