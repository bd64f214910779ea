//! Per-deployment capacity gates, by stable identity, so the tokens and requests a
//! deployment has taken survive a config reload that keeps its capacity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::budget::CapacityGate;
use crate::config::Capacity;

/// The live gate of every deployment that declares a capacity.
///
/// A reload that keeps a deployment's `capacity` keeps its gate: the upstream counts what
/// it was sent, not what config version sent it, so a reload must not hand out a fresh
/// burst. A changed capacity gets a fresh gate (the old state is in the old rate's units);
/// a removed deployment's gate is dropped with the last route holding it.
#[derive(Debug, Default)]
pub(crate) struct CapacityRegistry {
    gates: Mutex<HashMap<String, Weak<CapacityGate>>>,
}

impl CapacityRegistry {
    /// The gate for `identity` under `capacity`; `None` when the capacity limits nothing.
    pub(crate) fn gate(
        &self,
        identity: &str,
        capacity: Option<Capacity>,
    ) -> Option<Arc<CapacityGate>> {
        let capacity = capacity?;
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = gates.get(identity).and_then(Weak::upgrade)
            && gate.capacity() == capacity
        {
            return Some(gate);
        }
        gates.retain(|_, weak| weak.strong_count() > 0);
        let gate = Arc::new(CapacityGate::new(capacity)?);
        gates.insert(identity.to_owned(), Arc::downgrade(&gate));
        Some(gate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpm(n: u32) -> Option<Capacity> {
        Some(Capacity {
            rpm: Some(n),
            tpm: None,
        })
    }

    #[test]
    fn same_capacity_keeps_the_gate_a_new_one_resets_it() {
        let registry = CapacityRegistry::default();
        let first = registry.gate("d", rpm(60)).unwrap();
        let kept = registry.gate("d", rpm(60)).unwrap();
        assert!(Arc::ptr_eq(&first, &kept));
        let changed = registry.gate("d", rpm(120)).unwrap();
        assert!(!Arc::ptr_eq(&first, &changed));
        assert!(registry.gate("d", None).is_none());
        assert!(
            registry
                .gate(
                    "e",
                    Some(Capacity {
                        rpm: None,
                        tpm: None
                    })
                )
                .is_none()
        );
    }

    #[test]
    fn gates_no_route_holds_are_dropped() {
        let registry = CapacityRegistry::default();
        drop(registry.gate("a", rpm(60)));
        let _b = registry.gate("b", rpm(60));
        let gates = registry.gates.lock().unwrap();
        assert_eq!(gates.len(), 1);
        assert!(gates.contains_key("b"));
    }
}
