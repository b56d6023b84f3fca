//! AWS Marketplace SaaS: the SNS `Notification` envelope whose `Message` is the JSON of
//! `{action, customer-identifier, product-code, offer-identifier?, isFreeTrialTermPresent?}`
//! from the `aws-mp-subscription-notification` and `aws-mp-entitlement-notification` topics,
//! and the Entitlement Service's GetEntitlements records, which carry a contract's
//! dimension (→ SKU), quantity and expiration date.
//!
//! The tenant is the `customer-identifier`; the event id is the SNS `MessageId`. A
//! subscription product has no entitlement records: its product code must be listed on a
//! SKU, and it runs without an end date until AWS says it ended (`unsubscribe-success`).

use serde::Serialize;
use serde_json::Value;

use super::{
    At, Context, FieldError, Mapped, MappedOutcome, Marketplace, NotificationError, Problem,
    ResourceError, Unmappable, UnmappableReason, event, named, no_sku,
};
use crate::clock::Timestamp;
use crate::entitlement::{EventKind, OPEN_ENDED};
use crate::ids::{EventId, SkuId, TenantId};

/// The `action` of an AWS Marketplace SaaS notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The customer subscribed; provision access.
    SubscribeSuccess,
    /// The subscription failed; do not provision.
    SubscribeFail,
    /// The customer is unsubscribing; about an hour remains to report usage.
    UnsubscribePending,
    /// The customer unsubscribed; revoke access.
    UnsubscribeSuccess,
    /// A contract was created, upgraded, renewed or expired; read GetEntitlements.
    EntitlementUpdated,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 5] = [
        Action::SubscribeSuccess,
        Action::SubscribeFail,
        Action::UnsubscribePending,
        Action::UnsubscribeSuccess,
        Action::EntitlementUpdated,
    ];

    /// The name AWS sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::SubscribeSuccess => "subscribe-success",
            Action::SubscribeFail => "subscribe-fail",
            Action::UnsubscribePending => "unsubscribe-pending",
            Action::UnsubscribeSuccess => "unsubscribe-success",
            Action::EntitlementUpdated => "entitlement-updated",
        }
    }
}

/// An SNS delivery of an AWS Marketplace SaaS notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// SNS `MessageId`: the event id.
    pub message_id: EventId,
    /// SNS `TopicArn`.
    pub topic_arn: Option<String>,
    /// SNS `Timestamp`.
    pub timestamp: Option<Timestamp>,
    /// `action`.
    pub action: Action,
    /// `customer-identifier`: the tenant.
    pub customer: TenantId,
    /// `product-code`.
    pub product_code: String,
    /// `offer-identifier`, on subscribe notifications for offers that carry one.
    pub offer: Option<String>,
    /// `isFreeTrialTermPresent`.
    pub free_trial: Option<bool>,
}

/// Reads an SNS notification (HTTP/S delivery, or an SQS message body).
pub fn parse(raw: &Value) -> Result<Notification, FieldError> {
    let root = At::root(raw);
    root.object()?;
    let type_at = root.get("Type");
    let kind = type_at.str()?;
    if kind != "Notification" {
        let hint = if kind == "SubscriptionConfirmation" {
            "is an SNS subscription confirmation, not a notification: confirm it by visiting its `SubscribeURL`"
        } else {
            "is not `Notification`"
        };
        return Err(type_at.invalid(kind, hint));
    }
    let message_id = root.get("MessageId").id::<EventId>()?;
    let message_at = root.get("Message");
    let body = message_at.json_text(message_at.str()?)?;
    let m = At::nested(&body, "Message");
    m.object()?;
    let action = named(
        &m.get("action"),
        "action",
        &Action::ALL.map(|a| (a, a.as_str())),
    )?;
    // Early documentation spelled the keys `CustomerIdentifier` and `ProductCode`.
    let customer = first_present(&m, "customer-identifier", "CustomerIdentifier");
    let product = first_present(&m, "product-code", "ProductCode");
    let free_trial = match m.get("isFreeTrialTermPresent").value() {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
        Some(v) => {
            return Err(m
                .get("isFreeTrialTermPresent")
                .invalid(&v.to_string(), "is neither true nor false"));
        }
    };
    Ok(Notification {
        message_id,
        topic_arn: root.get("TopicArn").opt_str()?.map(str::to_owned),
        timestamp: root.get("Timestamp").opt_time()?,
        action,
        customer: customer.id::<TenantId>()?,
        product_code: product.str()?.to_owned(),
        offer: m.get("offer-identifier").opt_str()?.map(str::to_owned),
        free_trial,
    })
}

fn first_present<'a>(m: &At<'a>, key: &str, old: &str) -> At<'a> {
    let new = m.get(key);
    if new.value().is_none() && m.get(old).value().is_some() {
        m.get(old)
    } else {
        new
    }
}

/// One record of a GetEntitlements response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// `ProductCode`.
    pub product_code: String,
    /// `CustomerIdentifier`.
    pub customer: String,
    /// `Dimension`.
    pub dimension: Option<String>,
    /// `Value.IntegerValue` (units of the dimension), when given.
    pub quantity: Option<u64>,
    /// `ExpirationDate`.
    pub expiration: Option<Timestamp>,
}

/// A GetEntitlements answer: its records, and the query it answers when it says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `Entitlements`.
    pub records: Vec<Entitlement>,
    /// `ProductCode`, the request's: the product the answer is for.
    pub product_code: Option<String>,
    /// `Filter.CUSTOMER_IDENTIFIER`, the request's: the customers it answers for, those
    /// without a record included.
    pub customers: Vec<String>,
}

impl Answer {
    /// Reads a GetEntitlements response (`{"Entitlements": [...]}`), with the request's
    /// `ProductCode` and `Filter` beside it when given.
    pub fn from_response(raw: &Value) -> Result<Answer, FieldError> {
        let root = At::root(raw);
        root.object()?;
        let list_at = root.get("Entitlements");
        let items = array(&list_at)?.ok_or_else(|| list_at.error(Problem::Missing))?;
        let records = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = At::nested(item, &format!("Entitlements[{i}]"));
                at.object()?;
                let value = at.get("Value");
                Ok(Entitlement {
                    product_code: at.get("ProductCode").str()?.to_owned(),
                    customer: at.get("CustomerIdentifier").str()?.to_owned(),
                    dimension: at.get("Dimension").opt_str()?.map(str::to_owned),
                    quantity: value.get("IntegerValue").opt_count()?,
                    expiration: at.get("ExpirationDate").opt_time()?,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let filter = root.get("Filter");
        if filter.value().is_some() {
            filter.object()?;
        }
        let customers_at = filter.get("CUSTOMER_IDENTIFIER");
        let customers = array(&customers_at)?
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .map(|(i, c)| {
                At::nested(c, &format!("{}[{i}]", customers_at.path()))
                    .str()
                    .map(str::to_owned)
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        let product_at = root.get("ProductCode");
        let product_code = product_at.opt_str()?.map(str::to_owned);
        if product_code.is_none() && !customers.is_empty() {
            return Err(product_at.invalid(
                "(absent)",
                "must be given with `Filter`: the customers it names are a product's",
            ));
        }
        Ok(Answer {
            records,
            product_code,
            customers,
        })
    }
}

/// An optional JSON array.
fn array<'a>(at: &At<'a>) -> Result<Option<&'a Vec<Value>>, FieldError> {
    match at.value() {
        None => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(at.error(Problem::WrongType {
            expected: "an array",
            found: "another value",
        })),
    }
}

/// Maps a notification, reading GetEntitlements for subscriptions and contract updates.
pub fn map(n: &Notification, ctx: &Context<'_>) -> Result<Mapped, NotificationError> {
    let new = |kind| event(kind, Marketplace::Aws, &n.message_id, &n.customer);
    let records = || {
        ctx.resources
            .aws_entitlements(&n.product_code, n.customer.as_str())
    };
    let synced = |records: &[Entitlement]| match contract(&n.product_code, records, ctx) {
        Ok((sku, record)) => {
            let mut e = new(EventKind::Synced);
            e.sku_id = Some(sku);
            e.quantity = record.quantity;
            e.expiry = Some(record.expiration.unwrap_or(OPEN_ENDED));
            MappedOutcome::Event(e)
        }
        Err(u) => MappedOutcome::Unmappable(u),
    };
    let outcome = match n.action {
        Action::SubscribeSuccess => match records() {
            Ok(records) if !records.is_empty() => synced(&records),
            answer => match ctx.listings.aws(&n.product_code, None) {
                // A subscription product: AWS keeps no records for it.
                Some(found) => {
                    let mut e = new(EventKind::Activated);
                    e.sku_id = Some(found.sku.sku_id.clone());
                    e.expiry = Some(OPEN_ENDED);
                    MappedOutcome::Event(e)
                }
                None => {
                    answer?;
                    return Err(ResourceError::NotFound {
                        what: "AWS entitlement record for customer",
                        id: n.customer.to_string(),
                        hint: format!(
                            " of product `{}`: GetEntitlements answers none, and no SKU lists the \
                             product code alone (a subscription); a contract's subscribe-success \
                             needs its record, which AWS may add a moment later",
                            n.product_code
                        ),
                    }
                    .into());
                }
            },
        },
        Action::EntitlementUpdated => {
            let records = records()?;
            if records.is_empty() {
                // GetEntitlements answers that the customer has nothing left: the contract ended.
                MappedOutcome::Event(new(EventKind::Expired))
            } else {
                synced(&records)
            }
        }
        Action::SubscribeFail => MappedOutcome::Unmappable(Unmappable {
            reason: UnmappableReason::NotCompleted,
            message: format!(
                "subscribe-fail: AWS could not complete customer `{}`'s subscription to `{}`; nothing is granted",
                n.customer, n.product_code
            ),
        }),
        Action::UnsubscribePending => MappedOutcome::Event(new(EventKind::CancellationPending)),
        Action::UnsubscribeSuccess => MappedOutcome::Event(new(EventKind::Cancelled)),
    };
    Ok(Mapped {
        marketplace: Marketplace::Aws,
        notification: n.action.as_str().to_owned(),
        event_id: n.message_id.clone(),
        tenant_id: n.customer.clone(),
        outcome,
    })
}

/// The SKU of a contract: the one SKU its records' dimensions are listed under. Records of
/// dimensions no SKU lists (add-ons, usage) are not plans and are passed over.
fn contract<'r>(
    product_code: &str,
    records: &'r [Entitlement],
    ctx: &Context<'_>,
) -> Result<(SkuId, &'r Entitlement), Unmappable> {
    let mut found: Option<(SkuId, &Entitlement)> = None;
    for r in records {
        let Some(f) = ctx.listings.aws(product_code, r.dimension.as_deref()) else {
            continue;
        };
        match &found {
            Some((sku, _)) if *sku != f.sku.sku_id => {
                return Err(Unmappable {
                    reason: UnmappableReason::AmbiguousPlan,
                    message: format!(
                        "the contract's dimensions map to two SKUs, `{sku}` and `{}`; list only one dimension per customer as a plan",
                        f.sku.sku_id
                    ),
                });
            }
            Some(_) => {}
            None => found = Some((f.sku.sku_id.clone(), r)),
        }
    }
    found.ok_or_else(|| {
        let dims: Vec<String> = records
            .iter()
            .map(|r| format!("`{}`", r.dimension.as_deref().unwrap_or("(none)")))
            .collect();
        no_sku(
            &format!(
                "AWS product code `{product_code}` dimension {}",
                dims.join(" or ")
            ),
            records.first().and_then(|r| r.dimension.as_deref()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sns(message: &Value) -> Value {
        json!({
            "Type": "Notification",
            "MessageId": "63a3f6b6-d533-4a47-aef9-fcf5cf758c76",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:aws-mp-subscription-notification-abc",
            "Message": message.to_string(),
            "Timestamp": "2026-01-02T10:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        })
    }

    fn subscribe() -> Value {
        json!({
            "action": "subscribe-success",
            "customer-identifier": "X01EXAMPLEX",
            "product-code": "n0123EXAMPLEXXXXXXXXXXXX",
            "offer-identifier": "offer-abcexample123",
            "isFreeTrialTermPresent": "true"
        })
    }

    #[test]
    fn reads_the_sns_envelope_and_its_message() {
        let n = parse(&sns(&subscribe())).unwrap();
        assert_eq!(n.action, Action::SubscribeSuccess);
        assert_eq!(n.customer.as_str(), "X01EXAMPLEX");
        assert_eq!(
            n.message_id.as_str(),
            "63a3f6b6-d533-4a47-aef9-fcf5cf758c76"
        );
        assert_eq!(n.offer.as_deref(), Some("offer-abcexample123"));
        assert_eq!(n.free_trial, Some(true));
        let old = json!({"action": "unsubscribe-success", "CustomerIdentifier": "C1", "ProductCode": "p"});
        assert_eq!(parse(&sns(&old)).unwrap().customer.as_str(), "C1");
    }

    #[test]
    fn bad_input_names_the_field_and_the_problem() {
        let mut bad = sns(&subscribe());
        bad["Message"] = json!("{\"action\":");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.field, "Message");
        assert!(matches!(e.problem, Problem::Json { .. }));

        let mut m = subscribe();
        m["action"] = json!("subscribe-maybe");
        let e = parse(&sns(&m)).unwrap_err();
        assert_eq!(e.field, "Message.action");
        assert!(
            e.to_string().contains("unknown action `subscribe-maybe`"),
            "{e}"
        );

        let mut m = subscribe();
        m.as_object_mut().unwrap().remove("customer-identifier");
        assert_eq!(
            parse(&sns(&m)).unwrap_err().field,
            "Message.customer-identifier"
        );

        let mut m = subscribe();
        m["customer-identifier"] = json!("../etc");
        let e = parse(&sns(&m)).unwrap_err();
        assert!(e.to_string().contains("not a valid tenant id"), "{e}");

        let mut bad = sns(&subscribe());
        bad["Type"] = json!("SubscriptionConfirmation");
        assert!(
            parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("SubscribeURL")
        );

        let mut bad = sns(&subscribe());
        bad["Message"] = json!({"action": "subscribe-success"});
        assert_eq!(parse(&bad).unwrap_err().field, "Message");

        let mut m = subscribe();
        m["isFreeTrialTermPresent"] = json!("maybe");
        assert_eq!(
            parse(&sns(&m)).unwrap_err().field,
            "Message.isFreeTrialTermPresent"
        );
    }

    #[test]
    fn reads_get_entitlements_records() {
        let answer = Answer::from_response(&json!({
            "Entitlements": [{
                "ProductCode": "p", "Dimension": "pro", "CustomerIdentifier": "C1",
                "Value": {"IntegerValue": 10}, "ExpirationDate": 1798761600
            }],
            "NextToken": null
        }))
        .unwrap();
        let records = &answer.records;
        assert_eq!(records[0].quantity, Some(10));
        assert_eq!(
            records[0].expiration,
            Some(Timestamp::from_secs(1_798_761_600))
        );
        assert!(answer.customers.is_empty());
        // An expiry past the last time a receipt can write is refused where it is read,
        // saying so, not carried on as a garbled time.
        let e = Answer::from_response(&json!({
            "Entitlements": [{
                "ProductCode": "p", "Dimension": "pro", "CustomerIdentifier": "C1",
                "ExpirationDate": 1e20
            }]
        }))
        .unwrap_err();
        assert_eq!(e.field, "Entitlements[0].ExpirationDate");
        let text = e.to_string();
        assert!(text.contains("is past 9999-12-31T23:59:59.999Z"), "{text}");
        let e =
            Answer::from_response(&json!({"Entitlements": [{"ProductCode": "p"}]})).unwrap_err();
        assert_eq!(e.field, "Entitlements[0].CustomerIdentifier");
        let none = Answer::from_response(&json!({
            "ProductCode": "p", "Filter": {"CUSTOMER_IDENTIFIER": ["C1"]}, "Entitlements": []
        }))
        .unwrap();
        assert_eq!(
            (none.product_code.as_deref(), none.customers.as_slice()),
            (Some("p"), ["C1".to_owned()].as_slice())
        );
        let e = Answer::from_response(
            &json!({"Filter": {"CUSTOMER_IDENTIFIER": ["C1"]}, "Entitlements": []}),
        )
        .unwrap_err();
        assert_eq!(e.field, "ProductCode");
        let e = Answer::from_response(
            &json!({"ProductCode": "p", "Filter": {"CUSTOMER_IDENTIFIER": [7]}, "Entitlements": []}),
        )
        .unwrap_err();
        assert_eq!(e.field, "Filter.CUSTOMER_IDENTIFIER[0]");
    }
}
