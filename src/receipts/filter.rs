//! Which receipts to show or export: by tenant, event type, seq range and time range.

use crate::clock::Timestamp;
use crate::ids::TenantId;

use super::{EventType, Receipt};

/// A conjunction of optional conditions; the default matches every receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptFilter {
    /// Only this tenant's receipts.
    pub tenant: Option<TenantId>,
    /// Only these event types (any of them); empty means all.
    pub event_types: Vec<EventType>,
    /// Only seqs at or after this one.
    pub from_seq: Option<u64>,
    /// Only seqs at or before this one.
    pub to_seq: Option<u64>,
    /// Only receipts at or after this time.
    pub since: Option<Timestamp>,
    /// Only receipts before this time.
    pub until: Option<Timestamp>,
}

impl ReceiptFilter {
    /// Whether `r` passes every condition.
    pub fn matches(&self, r: &Receipt) -> bool {
        let b = &r.body;
        self.tenant.as_ref().is_none_or(|t| *t == b.tenant_id)
            && (self.event_types.is_empty() || self.event_types.contains(&b.event_type))
            && self.from_seq.is_none_or(|s| r.seq >= s)
            && self.to_seq.is_none_or(|s| r.seq <= s)
            && self.since.is_none_or(|t| b.timestamp >= t)
            && self.until.is_none_or(|t| b.timestamp < t)
    }

    /// The receipts of `receipts` that match, in order.
    pub fn apply<'a>(&'a self, receipts: &'a [Receipt]) -> impl Iterator<Item = &'a Receipt> + 'a {
        receipts.iter().filter(|r| self.matches(r))
    }

    /// Whether the filter lets every receipt through.
    pub fn is_everything(&self) -> bool {
        *self == ReceiptFilter::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::sample_chain;

    #[test]
    fn conditions_combine() {
        let acme = TenantId::new("acme").unwrap();
        let receipts = sample_chain(&acme, 12);
        let seqs = |f: &ReceiptFilter| f.apply(&receipts).map(|r| r.seq).collect::<Vec<_>>();

        assert_eq!(seqs(&ReceiptFilter::default()).len(), 12);
        let refused = ReceiptFilter {
            event_types: vec![EventType::ActionRefused],
            ..ReceiptFilter::default()
        };
        assert_eq!(seqs(&refused), vec![2, 6, 10]);
        let window = ReceiptFilter {
            from_seq: Some(3),
            to_seq: Some(5),
            ..ReceiptFilter::default()
        };
        assert_eq!(seqs(&window), vec![3, 4, 5]);
        let time = ReceiptFilter {
            since: Some(receipts[4].body.timestamp),
            until: Some(receipts[6].body.timestamp),
            ..ReceiptFilter::default()
        };
        assert_eq!(seqs(&time), vec![4, 5]);
        let other = ReceiptFilter {
            tenant: Some(TenantId::new("beta").unwrap()),
            ..ReceiptFilter::default()
        };
        assert!(seqs(&other).is_empty());
    }
}
