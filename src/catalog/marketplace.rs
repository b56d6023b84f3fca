//! Where a SKU is listed: the marketplace identifiers that sell it (a GCP product and plan,
//! an AWS product code and dimension, an Azure offer and plan), the index that finds the SKU
//! for a notification's identifiers, and the rule that no identifier sells two SKUs.
//!
//! A SKU needs no listing to be found: by default a marketplace plan (GCP plan, AWS
//! dimension, Azure plan id) names the SKU whose `plan_id` equals it. A listing is for the
//! identifiers that do not match a `plan_id`, and it wins over the default.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Sku;
use super::input::Parsed;
use crate::ids::ListingId;
use crate::spans::DocPath;

/// The marketplace listings of one SKU (the `marketplace:` section of a SKU file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Listings {
    /// Google Cloud Marketplace: the `product` (its external name) and `plan` of the
    /// Procurement API's entitlement resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpListing>,
    /// AWS Marketplace: the product code, and the dimension of a contract (a subscription
    /// product has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsListing>,
    /// Azure Marketplace: the SaaS offer and its plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureListing>,
}

/// A Google Cloud Marketplace product and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GcpListing {
    /// The product, as the entitlement resource's `productExternalName` (or `product`).
    pub product: ListingId,
    /// The plan, as the entitlement resource's `plan`.
    pub plan: ListingId,
}

/// An AWS Marketplace product code and, for a contract, its dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AwsListing {
    /// The product code (`product-code` in notifications, `ProductCode` in entitlements).
    pub product_code: ListingId,
    /// The contract dimension (`Dimension` in GetEntitlements); absent for a subscription
    /// product, which has no entitlement records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<ListingId>,
}

/// An Azure Marketplace SaaS offer and plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AzureListing {
    /// The offer id (`offerId`).
    pub offer: ListingId,
    /// The plan id (`planId`).
    pub plan: ListingId,
}

/// Which marketplace a listing belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Market {
    Gcp,
    Aws,
    Azure,
}

/// One listing's identity: the marketplace and the identifiers that must not repeat.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    market: Market,
    product: String,
    plan: Option<String>,
}

impl Key {
    fn new(market: Market, product: &str, plan: Option<&str>) -> Self {
        Key {
            market,
            product: product.to_owned(),
            plan: plan.map(str::to_owned),
        }
    }
}

/// The listings a SKU declares, with the document path of the field to point at.
fn keys(sku: &Sku) -> Vec<(Key, DocPath, String)> {
    let mut out = Vec::new();
    let Some(l) = &sku.marketplace else {
        return out;
    };
    let at = DocPath::root().key("marketplace");
    if let Some(g) = &l.gcp {
        out.push((
            Key::new(Market::Gcp, g.product.as_str(), Some(g.plan.as_str())),
            at.key("gcp").key("plan"),
            format!("GCP product `{}` plan `{}`", g.product, g.plan),
        ));
    }
    if let Some(a) = &l.aws {
        let dimension = a.dimension.as_ref().map(ListingId::as_str);
        let (field, what) = match dimension {
            Some(d) => (
                "dimension",
                format!("AWS product code `{}` dimension `{d}`", a.product_code),
            ),
            None => (
                "product_code",
                format!("AWS product code `{}`", a.product_code),
            ),
        };
        out.push((
            Key::new(Market::Aws, a.product_code.as_str(), dimension),
            at.key("aws").key(field),
            what,
        ));
    }
    if let Some(z) = &l.azure {
        out.push((
            Key::new(Market::Azure, z.offer.as_str(), Some(z.plan.as_str())),
            at.key("azure").key("plan"),
            format!("Azure offer `{}` plan `{}`", z.offer, z.plan),
        ));
    }
    out
}

/// A marketplace identifier claimed by a second SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The file (index) of the second claim.
    pub file: usize,
    /// The field of the second claim.
    pub at: DocPath,
    /// The file (index) of the first claim.
    pub first_file: usize,
    /// The field of the first claim.
    pub first_at: DocPath,
    /// What is claimed twice, e.g. ``GCP product `p` plan `pro` ``.
    pub what: String,
    /// The SKU that claimed it first.
    pub first_sku: String,
    /// The SKU that claims it again.
    pub sku: String,
}

/// Every identifier that maps to two SKUs: a listing two SKUs declare, or a `plan_id` two
/// SKUs share (the default mapping of a marketplace plan would be ambiguous).
pub fn duplicates(skus: &[Parsed<Sku>]) -> Vec<Duplicate> {
    let mut out = Vec::new();
    let mut listed: HashMap<Key, (usize, DocPath, &str)> = HashMap::new();
    let mut plans: HashMap<&str, (usize, &str)> = HashMap::new();
    for s in skus {
        let sku = s.doc.sku_id.as_str();
        for (key, at, what) in keys(&s.doc) {
            match listed.get(&key) {
                Some((first_file, first_at, first_sku)) if *first_sku != sku => {
                    out.push(Duplicate {
                        file: s.file,
                        at,
                        first_file: *first_file,
                        first_at: first_at.clone(),
                        what,
                        first_sku: (*first_sku).to_owned(),
                        sku: sku.to_owned(),
                    });
                }
                Some(_) => {}
                None => {
                    listed.insert(key, (s.file, at, sku));
                }
            }
        }
        let plan = s.doc.plan_id.as_str();
        match plans.get(plan) {
            Some((first_file, first_sku)) if *first_sku != sku => {
                let at = DocPath::root().key("plan_id");
                out.push(Duplicate {
                    file: s.file,
                    at: at.clone(),
                    first_file: *first_file,
                    first_at: at,
                    what: format!(
                        "plan id `{plan}` (a marketplace plan maps to the SKU with that `plan_id`)"
                    ),
                    first_sku: (*first_sku).to_owned(),
                    sku: sku.to_owned(),
                });
            }
            Some(_) => {}
            None => {
                plans.insert(plan, (s.file, sku));
            }
        }
    }
    out
}

/// How a SKU was found for a marketplace's identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// A listing in the SKU's `marketplace:` section.
    Listing,
    /// The default: the SKU's `plan_id` equals the marketplace plan.
    PlanId,
}

/// The SKU found for a marketplace's identifiers.
#[derive(Debug, Clone, Copy)]
pub struct Found<'c> {
    /// The SKU.
    pub sku: &'c Sku,
    /// Whether a listing or the default matched.
    pub by: MatchedBy,
}

/// Finds the SKU a marketplace notification is about: first the listings SKUs declare, then
/// the SKU whose `plan_id` equals the marketplace plan.
#[derive(Debug, Clone)]
pub struct ListingIndex<'c> {
    listed: HashMap<Key, &'c Sku>,
    by_plan: HashMap<&'c str, &'c Sku>,
}

impl<'c> ListingIndex<'c> {
    /// Indexes `skus` (in order: on a duplicate the first wins, as validation reports).
    pub fn new(skus: &'c [Sku]) -> Self {
        let mut listed = HashMap::new();
        let mut by_plan = HashMap::new();
        for sku in skus {
            for (key, _, _) in keys(sku) {
                listed.entry(key).or_insert(sku);
            }
            by_plan.entry(sku.plan_id.as_str()).or_insert(sku);
        }
        ListingIndex { listed, by_plan }
    }

    fn find(&self, key: Key, plan: Option<&str>) -> Option<Found<'c>> {
        if let Some(&sku) = self.listed.get(&key) {
            return Some(Found {
                sku,
                by: MatchedBy::Listing,
            });
        }
        plan.and_then(|p| self.by_plan.get(p)).map(|&sku| Found {
            sku,
            by: MatchedBy::PlanId,
        })
    }

    /// The SKU of a GCP product's plan.
    pub fn gcp(&self, product: &str, plan: &str) -> Option<Found<'c>> {
        self.find(Key::new(Market::Gcp, product, Some(plan)), Some(plan))
    }

    /// The SKU of an AWS product code's dimension, or of the product itself (no dimension:
    /// a subscription product, matched by listing only).
    pub fn aws(&self, product_code: &str, dimension: Option<&str>) -> Option<Found<'c>> {
        self.find(Key::new(Market::Aws, product_code, dimension), dimension)
    }

    /// The SKU of an Azure offer's plan.
    pub fn azure(&self, offer: &str, plan: &str) -> Option<Found<'c>> {
        self.find(Key::new(Market::Azure, offer, Some(plan)), Some(plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Price, Term};
    use crate::ids::{PackId, PlanId, SkuId};

    fn sku(id: &str, plan: &str, listings: Option<Listings>) -> Sku {
        Sku {
            sku_id: SkuId::new(id).unwrap(),
            plan_id: PlanId::new(plan).unwrap(),
            title: id.into(),
            price: Price {
                amount: 1.0,
                currency: "USD".into(),
                period: Term::Monthly,
            },
            enabled_packs: vec![PackId::new("p").unwrap()],
            iam_roles: vec![],
            term: Term::Monthly,
            recommended_for: None,
            marketplace: listings,
        }
    }

    fn id(s: &str) -> ListingId {
        ListingId::new(s).unwrap()
    }

    fn gcp(product: &str, plan: &str) -> Option<Listings> {
        Some(Listings {
            gcp: Some(GcpListing {
                product: id(product),
                plan: id(plan),
            }),
            ..Listings::default()
        })
    }

    #[test]
    fn listings_win_over_the_default_plan_id() {
        let skus = vec![
            sku("base", "base-tier", None),
            sku("pro", "pro-tier", gcp("prod.example.com", "base-tier")),
            sku(
                "aws-sub",
                "aws-sub",
                Some(Listings {
                    aws: Some(AwsListing {
                        product_code: id("abc123"),
                        dimension: None,
                    }),
                    ..Listings::default()
                }),
            ),
        ];
        let index = ListingIndex::new(&skus);
        let found = index.gcp("prod.example.com", "base-tier").unwrap();
        assert_eq!(
            (found.sku.sku_id.as_str(), found.by),
            ("pro", MatchedBy::Listing)
        );
        let other = index.gcp("other.example.com", "base-tier").unwrap();
        assert_eq!(
            (other.sku.sku_id.as_str(), other.by),
            ("base", MatchedBy::PlanId)
        );
        assert!(index.azure("offer", "nope").is_none());
        assert_eq!(
            index.aws("abc123", None).unwrap().sku.sku_id.as_str(),
            "aws-sub"
        );
        assert!(index.aws("zzz", None).is_none(), "no dimension, no default");
        assert_eq!(
            index.aws("zzz", Some("pro-tier")).unwrap().by,
            MatchedBy::PlanId
        );
    }

    #[test]
    fn an_identifier_claimed_twice_is_reported_at_the_second_claim() {
        let parsed: Vec<Parsed<Sku>> = [
            sku("a", "a", gcp("p", "x")),
            sku("b", "b", gcp("p", "x")),
            sku("c", "a", gcp("p", "y")),
        ]
        .into_iter()
        .enumerate()
        .map(|(file, doc)| Parsed { file, doc })
        .collect();
        let d = duplicates(&parsed);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!((d[0].file, d[0].first_file, d[0].sku.as_str()), (1, 0, "b"));
        assert_eq!(d[0].at.to_string(), "marketplace.gcp.plan");
        assert!(d[0].what.contains("GCP product `p` plan `x`"));
        assert_eq!((d[1].file, d[1].at.to_string()), (2, "plan_id".to_owned()));
    }
}
