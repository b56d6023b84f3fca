//! Azure (Microsoft commercial marketplace) SaaS: the fulfillment API v2 webhook body —
//! `id`, `activityId`, `subscriptionId`, `offerId`, `planId`, `quantity`, `timeStamp`,
//! `action`, `status` and a `subscription` snapshot (beneficiary, purchaser, term, status).
//! The body names the plan and offer itself, so nothing is looked up.
//!
//! The tenant is the `subscriptionId`: one SaaS subscription is one purchase, while the
//! beneficiary's Entra tenant may hold several subscriptions. The event id is the webhook's
//! `id` (the operation id; `activityId` is documented as not for use).

use serde::Serialize;
use serde_json::Value;

use super::{
    At, Context, FieldError, Mapped, MappedOutcome, Marketplace, NotificationError, Unmappable,
    UnmappableReason, event, named, no_sku,
};
use crate::clock::Timestamp;
use crate::entitlement::EventKind;
use crate::ids::{EventId, TenantId};

/// The `action` of a fulfillment webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Action {
    /// The subscription was purchased.
    Subscribe,
    /// The customer moves to another plan (`planId` is the new one).
    ChangePlan,
    /// The customer changes the number of seats.
    ChangeQuantity,
    /// The subscription renewed for another term.
    Renew,
    /// The subscription was suspended (e.g. payment failed).
    Suspend,
    /// The subscription was cancelled.
    Unsubscribe,
    /// A suspended subscription was reinstated.
    Reinstate,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 7] = [
        Action::Subscribe,
        Action::ChangePlan,
        Action::ChangeQuantity,
        Action::Renew,
        Action::Suspend,
        Action::Unsubscribe,
        Action::Reinstate,
    ];

    /// The name Azure sends.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Subscribe => "Subscribe",
            Action::ChangePlan => "ChangePlan",
            Action::ChangeQuantity => "ChangeQuantity",
            Action::Renew => "Renew",
            Action::Suspend => "Suspend",
            Action::Unsubscribe => "Unsubscribe",
            Action::Reinstate => "Reinstate",
        }
    }

    fn kind(self) -> EventKind {
        match self {
            Action::Subscribe => EventKind::Activated,
            Action::ChangePlan => EventKind::PlanChanged,
            Action::ChangeQuantity => EventKind::Synced,
            Action::Renew => EventKind::Renewed,
            Action::Suspend => EventKind::Suspended,
            Action::Unsubscribe => EventKind::Cancelled,
            Action::Reinstate => EventKind::Reinstated,
        }
    }
}

/// The operation `status` a webhook reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OperationStatus {
    /// Not started yet.
    NotStarted,
    /// Under way: the change applies unless the publisher rejects it.
    InProgress,
    /// Done.
    Succeeded,
    /// Failed: nothing changed.
    Failed,
    /// Conflicted with another operation: nothing changed.
    Conflict,
}

impl OperationStatus {
    const ALL: [(OperationStatus, &'static str); 6] = [
        (OperationStatus::NotStarted, "NotStarted"),
        (OperationStatus::InProgress, "InProgress"),
        (OperationStatus::Succeeded, "Succeeded"),
        // Earlier documentation spelled it `Success`.
        (OperationStatus::Succeeded, "Success"),
        (OperationStatus::Failed, "Failed"),
        (OperationStatus::Conflict, "Conflict"),
    ];

    fn applies(self) -> bool {
        !matches!(self, OperationStatus::Failed | OperationStatus::Conflict)
    }
}

/// A fulfillment webhook call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// `id`: the operation id, the event id.
    pub id: EventId,
    /// `subscriptionId`: the tenant.
    pub subscription_id: TenantId,
    /// `action`.
    pub action: Action,
    /// `status`.
    pub status: OperationStatus,
    /// `offerId` (or the snapshot's).
    pub offer_id: Option<String>,
    /// `planId`: the plan after the operation (or the snapshot's).
    pub plan_id: Option<String>,
    /// `quantity`: seats after the operation (or the snapshot's).
    pub quantity: Option<u64>,
    /// `timeStamp`.
    pub timestamp: Option<Timestamp>,
    /// `subscription.term.endDate`.
    pub term_end: Option<Timestamp>,
    /// `subscription.saasSubscriptionStatus`.
    pub subscription_status: Option<String>,
    /// `subscription.planId`: the plan the subscription is on as the webhook is sent (on a
    /// failed plan change, the plan it stayed on).
    pub subscription_plan_id: Option<String>,
    /// `subscription.quantity`: the seats the subscription holds as the webhook is sent.
    pub subscription_quantity: Option<u64>,
}

/// Reads a webhook body.
pub fn parse(raw: &Value) -> Result<Notification, FieldError> {
    let root = At::root(raw);
    root.object()?;
    let action = named(
        &root.get("action"),
        "action",
        &Action::ALL.map(|a| (a, a.as_str())),
    )?;
    let status = named(&root.get("status"), "status", &OperationStatus::ALL)?;
    let sub = root.get("subscription");
    if sub.value().is_some() {
        sub.object()?;
    }
    let either = |key: &str| -> Result<Option<String>, FieldError> {
        Ok(match root.get(key).opt_str()? {
            Some(v) => Some(v.to_owned()),
            None => sub.get(key).opt_str()?.map(str::to_owned),
        })
    };
    let quantity = match root.get("quantity").opt_count()? {
        Some(q) => Some(q),
        None => sub.get("quantity").opt_count()?,
    };
    Ok(Notification {
        id: root.get("id").id::<EventId>()?,
        subscription_id: root.get("subscriptionId").id::<TenantId>()?,
        action,
        status,
        offer_id: either("offerId")?,
        plan_id: either("planId")?,
        quantity,
        timestamp: root.get("timeStamp").opt_time()?,
        term_end: sub.get("term").get("endDate").opt_time()?,
        subscription_status: sub
            .get("saasSubscriptionStatus")
            .opt_str()?
            .map(str::to_owned),
        subscription_plan_id: sub.get("planId").opt_str()?.map(str::to_owned),
        subscription_quantity: sub.get("quantity").opt_count()?,
    })
}

/// Maps a webhook call.
pub fn map(n: &Notification, ctx: &Context<'_>) -> Result<Mapped, NotificationError> {
    let outcome = if n.status.applies() {
        let kind = n.action.kind();
        let mut e = event(kind, Marketplace::Azure, &n.id, &n.subscription_id);
        // A term end the webhook already left behind is an old snapshot, not a new term.
        let term_end = n
            .term_end
            .filter(|end| n.timestamp.is_none_or(|t| *end > t));
        let needs_plan = matches!(
            n.action,
            Action::Subscribe | Action::ChangePlan | Action::ChangeQuantity
        );
        if matches!(n.action, Action::Subscribe | Action::Renew) {
            e.expiry = term_end;
        }
        if needs_plan {
            e.quantity = n.quantity;
            match sku(n, ctx) {
                Ok(id) => {
                    e.sku_id = Some(id);
                    MappedOutcome::Event(e)
                }
                Err(u) => MappedOutcome::Unmappable(u),
            }
        } else {
            MappedOutcome::Event(e)
        }
    } else if let Some(plan) = n
        .subscription_plan_id
        .as_deref()
        .filter(|_| matches!(n.action, Action::ChangePlan | Action::ChangeQuantity))
    {
        // A failed plan or seat change leaves the subscription as its snapshot says. Its
        // `InProgress` may have been applied already: the entitlement goes back to the
        // snapshot's plan and seats (and stays there when it never moved).
        let mut e = event(
            EventKind::Synced,
            Marketplace::Azure,
            &n.id,
            &n.subscription_id,
        );
        e.quantity = n.subscription_quantity;
        let offer = n.offer_id.as_deref().unwrap_or_default();
        match ctx.listings.azure(offer, plan) {
            Some(found) => {
                e.sku_id = Some(found.sku.sku_id.clone());
                MappedOutcome::Event(e)
            }
            None => MappedOutcome::Unmappable(no_sku(
                &format!(
                    "Azure offer `{offer}` plan `{plan}` (the subscription's, after a failed {})",
                    n.action.as_str()
                ),
                Some(plan),
            )),
        }
    } else {
        MappedOutcome::Unmappable(Unmappable {
            reason: UnmappableReason::NotCompleted,
            message: format!(
                "{} reports status `{:?}`: the operation did not complete, and nothing changes \
                 now; a change applied earlier on its `InProgress` stands (it is not undone)",
                n.action.as_str(),
                n.status
            ),
        })
    };
    Ok(Mapped {
        marketplace: Marketplace::Azure,
        notification: n.action.as_str().to_owned(),
        event_id: n.id.clone(),
        tenant_id: n.subscription_id.clone(),
        outcome,
    })
}

fn sku(n: &Notification, ctx: &Context<'_>) -> Result<crate::ids::SkuId, Unmappable> {
    let offer = n.offer_id.as_deref().unwrap_or_default();
    let Some(plan) = n.plan_id.as_deref() else {
        return Err(Unmappable {
            reason: UnmappableReason::UnknownPlan,
            message: format!("{} names no `planId`", n.action.as_str()),
        });
    };
    ctx.listings
        .azure(offer, plan)
        .map(|f| f.sku.sku_id.clone())
        .ok_or_else(|| no_sku(&format!("Azure offer `{offer}` plan `{plan}`"), Some(plan)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marketplace::Problem;
    use serde_json::json;

    fn change_plan() -> Value {
        json!({
            "id": "8fcf2a4e-46e3-4dc4-9a1b-2e0ab5d1c0f1",
            "activityId": "5d3a8b53-6a6c-4bc3-8d1e-3a0e3c3b1f77",
            "publisherId": "contoso",
            "offerId": "rollback-guard",
            "planId": "professional",
            "quantity": 10,
            "subscriptionId": "37f9dea2-4345-438f-b0bd-03d40d28c7e0",
            "timeStamp": "2026-01-10T18:48:58.4449937Z",
            "action": "ChangePlan",
            "status": "InProgress",
            "operationRequestSource": "Azure",
            "subscription": {
                "id": "37f9dea2-4345-438f-b0bd-03d40d28c7e0",
                "planId": "base",
                "term": {"startDate": "2026-01-01T00:00:00Z", "endDate": "2026-02-01T00:00:00Z", "termUnit": "P1M"},
                "saasSubscriptionStatus": "Subscribed"
            },
            "purchaseToken": null
        })
    }

    #[test]
    fn reads_the_webhook_body() {
        let n = parse(&change_plan()).unwrap();
        assert_eq!(n.action, Action::ChangePlan);
        assert_eq!(n.status, OperationStatus::InProgress);
        assert_eq!(
            n.plan_id.as_deref(),
            Some("professional"),
            "the top-level plan is the new one"
        );
        assert_eq!(n.quantity, Some(10));
        assert_eq!(
            n.subscription_id.as_str(),
            "37f9dea2-4345-438f-b0bd-03d40d28c7e0"
        );
        assert!(n.term_end.is_some());
        let mut older = change_plan();
        older["quantity"] = json!("25");
        older["status"] = json!("Success");
        let n = parse(&older).unwrap();
        assert_eq!(
            (n.quantity, n.status),
            (Some(25), OperationStatus::Succeeded)
        );
    }

    #[test]
    fn bad_input_names_the_field_and_the_problem() {
        let mut bad = change_plan();
        bad["action"] = json!("Transfer");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.field, "action");
        assert!(e.to_string().contains("unknown action `Transfer`"), "{e}");

        let mut bad = change_plan();
        bad.as_object_mut().unwrap().remove("subscriptionId");
        assert_eq!(
            parse(&bad).unwrap_err(),
            FieldError {
                field: "subscriptionId".into(),
                problem: Problem::Missing
            }
        );

        let mut bad = change_plan();
        bad["quantity"] = json!(-3);
        assert_eq!(parse(&bad).unwrap_err().field, "quantity");

        let mut bad = change_plan();
        bad["status"] = json!("Maybe");
        assert_eq!(parse(&bad).unwrap_err().field, "status");

        let mut bad = change_plan();
        bad["subscription"]["term"]["endDate"] = json!("next month");
        assert_eq!(parse(&bad).unwrap_err().field, "subscription.term.endDate");

        let mut bad = change_plan();
        bad["subscription"] = json!("s");
        assert_eq!(parse(&bad).unwrap_err().field, "subscription");
    }
}
