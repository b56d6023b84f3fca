//! Google Cloud Marketplace: the Pub/Sub push body whose `message.data` is the base64 of
//! `{eventId, eventType, entitlement: {id, updateTime, newPlan?}}`, and the Procurement
//! API's entitlement resource, which says whose entitlement it is (`account`), for which
//! product and plan, and in what state.
//!
//! The tenant is the last segment of the entitlement's `account` name
//! (`providers/PROVIDER/accounts/ACCOUNT_ID`); the event id is the message's `eventId`.
//! Entitlements run without an end date here: Google renews them on its own and says when
//! one ends (`ENTITLEMENT_CANCELLED`).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Serialize;
use serde_json::Value;

use super::{
    At, Context, FieldError, Mapped, MappedOutcome, Marketplace, NotificationError, Problem,
    ResourceError, Unmappable, event, named, no_sku,
};
use crate::clock::Timestamp;
use crate::entitlement::{EventKind, OPEN_ENDED};
use crate::ids::{EventId, SkuId, TenantId};

/// The entitlement event types of Google Cloud Marketplace's Pub/Sub messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum EventType {
    /// A customer chose a plan; the provider approves or rejects.
    #[serde(rename = "ENTITLEMENT_CREATION_REQUESTED")]
    CreationRequested,
    /// The chosen plan is active.
    #[serde(rename = "ENTITLEMENT_ACTIVE")]
    Active,
    /// A customer chose another plan; the provider approves or rejects.
    #[serde(rename = "ENTITLEMENT_PLAN_CHANGE_REQUESTED")]
    PlanChangeRequested,
    /// The plan change took effect.
    #[serde(rename = "ENTITLEMENT_PLAN_CHANGED")]
    PlanChanged,
    /// The plan change was cancelled (not approved, or the customer went back).
    #[serde(rename = "ENTITLEMENT_PLAN_CHANGE_CANCELLED")]
    PlanChangeCancelled,
    /// The customer cancelled; the plan ends with the billing cycle.
    #[serde(rename = "ENTITLEMENT_PENDING_CANCELLATION")]
    PendingCancellation,
    /// A pending cancellation was taken back.
    #[serde(rename = "ENTITLEMENT_CANCELLATION_REVERTED")]
    CancellationReverted,
    /// The plan is being cancelled.
    #[serde(rename = "ENTITLEMENT_CANCELLING")]
    Cancelling,
    /// The plan was cancelled.
    #[serde(rename = "ENTITLEMENT_CANCELLED")]
    Cancelled,
    /// The entitlement's record was deleted.
    #[serde(rename = "ENTITLEMENT_DELETED")]
    Deleted,
    /// A private offer was accepted.
    #[serde(rename = "ENTITLEMENT_OFFER_ACCEPTED")]
    OfferAccepted,
    /// A private offer's term ended.
    #[serde(rename = "ENTITLEMENT_OFFER_ENDED")]
    OfferEnded,
    /// The entitlement was suspended.
    #[serde(rename = "ENTITLEMENT_SUSPENDED")]
    Suspended,
    /// A suspended entitlement was reinstated.
    #[serde(rename = "ENTITLEMENT_REINSTATED")]
    Reinstated,
    /// The entitlement was renewed.
    #[serde(rename = "ENTITLEMENT_RENEWED")]
    Renewed,
}

impl EventType {
    /// Every event type the adapter maps.
    pub const ALL: [EventType; 15] = [
        EventType::CreationRequested,
        EventType::Active,
        EventType::PlanChangeRequested,
        EventType::PlanChanged,
        EventType::PlanChangeCancelled,
        EventType::PendingCancellation,
        EventType::CancellationReverted,
        EventType::Cancelling,
        EventType::Cancelled,
        EventType::Deleted,
        EventType::OfferAccepted,
        EventType::OfferEnded,
        EventType::Suspended,
        EventType::Reinstated,
        EventType::Renewed,
    ];

    /// The name Google sends.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CreationRequested => "ENTITLEMENT_CREATION_REQUESTED",
            EventType::Active => "ENTITLEMENT_ACTIVE",
            EventType::PlanChangeRequested => "ENTITLEMENT_PLAN_CHANGE_REQUESTED",
            EventType::PlanChanged => "ENTITLEMENT_PLAN_CHANGED",
            EventType::PlanChangeCancelled => "ENTITLEMENT_PLAN_CHANGE_CANCELLED",
            EventType::PendingCancellation => "ENTITLEMENT_PENDING_CANCELLATION",
            EventType::CancellationReverted => "ENTITLEMENT_CANCELLATION_REVERTED",
            EventType::Cancelling => "ENTITLEMENT_CANCELLING",
            EventType::Cancelled => "ENTITLEMENT_CANCELLED",
            EventType::Deleted => "ENTITLEMENT_DELETED",
            EventType::OfferAccepted => "ENTITLEMENT_OFFER_ACCEPTED",
            EventType::OfferEnded => "ENTITLEMENT_OFFER_ENDED",
            EventType::Suspended => "ENTITLEMENT_SUSPENDED",
            EventType::Reinstated => "ENTITLEMENT_REINSTATED",
            EventType::Renewed => "ENTITLEMENT_RENEWED",
        }
    }
}

/// A Pub/Sub push delivery of a Cloud Marketplace entitlement message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Pub/Sub's `messageId`.
    pub message_id: String,
    /// Pub/Sub's `publishTime`.
    pub publish_time: Option<Timestamp>,
    /// The push subscription, `projects/P/subscriptions/S`.
    pub subscription: Option<String>,
    /// The marketplace's `eventId`.
    pub event_id: EventId,
    /// The `eventType`.
    pub event_type: EventType,
    /// `entitlement.id`.
    pub entitlement_id: String,
    /// `entitlement.updateTime`.
    pub update_time: Option<Timestamp>,
    /// `entitlement.newPlan`, on plan changes.
    pub new_plan: Option<String>,
}

fn base64() -> GeneralPurpose {
    GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Reads a Pub/Sub push body.
pub fn parse(raw: &Value) -> Result<Notification, FieldError> {
    let root = At::root(raw);
    root.object()?;
    let message = root.get("message");
    message.object()?;
    let message_id = match message.get("messageId").opt_str()? {
        Some(id) => id,
        None => message
            .get("message_id")
            .str()
            .map_err(|_| message.get("messageId").error(Problem::Missing))?,
    };
    let publish_time = match message.get("publishTime").opt_time()? {
        Some(t) => Some(t),
        None => message.get("publish_time").opt_time()?,
    };
    let subscription = root.get("subscription").opt_str()?.map(str::to_owned);
    let data_at = message.get("data");
    let encoded = data_at.str()?;
    let bytes = base64().decode(encoded.trim()).map_err(|e| {
        data_at.error(Problem::Base64 {
            reason: e.to_string(),
        })
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        data_at.error(Problem::Json {
            reason: "the decoded bytes are not UTF-8 text".into(),
        })
    })?;
    let payload = data_at.json_text(&text)?;
    let data = At::nested(&payload, "message.data");
    data.object()?;
    let event_id = data.get("eventId").id::<EventId>()?;
    let event_type = named(
        &data.get("eventType"),
        "eventType",
        &EventType::ALL.map(|t| (t, t.as_str())),
    )?;
    let ent = data.get("entitlement");
    ent.object()?;
    Ok(Notification {
        message_id: message_id.to_owned(),
        publish_time,
        subscription,
        event_id,
        event_type,
        entitlement_id: ent.get("id").str()?.to_owned(),
        update_time: ent.get("updateTime").opt_time()?,
        new_plan: ent.get("newPlan").opt_str()?.map(str::to_owned),
    })
}

/// The parts of a Procurement API entitlement resource the adapter reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// `providers/PROVIDER/entitlements/ID`.
    pub name: String,
    /// `providers/PROVIDER/accounts/ACCOUNT_ID`.
    pub account: String,
    /// `productExternalName`, else the deprecated `product`.
    pub product: Option<String>,
    /// `plan`.
    pub plan: Option<String>,
    /// `newPendingPlan`.
    pub new_pending_plan: Option<String>,
    /// `state`, e.g. `ENTITLEMENT_ACTIVE`.
    pub state: Option<String>,
    /// `updateTime`.
    pub update_time: Option<Timestamp>,
}

impl Entitlement {
    /// Reads an entitlement resource as `providers.entitlements.get` returns it.
    pub fn from_json(raw: &Value) -> Result<Entitlement, FieldError> {
        let at = At::root(raw);
        at.object()?;
        let name = at.get("name").str()?;
        if !name.contains("/entitlements/") {
            return Err(at.get("name").invalid(
                name,
                "is not an entitlement name (providers/P/entitlements/ID)",
            ));
        }
        let product = match at.get("productExternalName").opt_str()? {
            Some(p) => Some(p),
            None => at.get("product").opt_str()?,
        };
        Ok(Entitlement {
            name: name.to_owned(),
            account: at.get("account").str()?.to_owned(),
            product: product.map(str::to_owned),
            plan: at.get("plan").opt_str()?.map(str::to_owned),
            new_pending_plan: at.get("newPendingPlan").opt_str()?.map(str::to_owned),
            state: at.get("state").opt_str()?.map(str::to_owned),
            update_time: at.get("updateTime").opt_time()?,
        })
    }

    /// The entitlement id: the last segment of its name.
    pub fn id(&self) -> &str {
        last_segment(&self.name)
    }

    /// The tenant: the last segment of the account name.
    pub fn tenant(&self) -> Result<TenantId, FieldError> {
        let id = last_segment(&self.account);
        TenantId::new(id).map_err(|e| FieldError {
            field: "account".into(),
            problem: Problem::Invalid {
                value: self.account.clone(),
                reason: format!("does not end in a valid tenant id: {}", e.rule),
            },
        })
    }

    fn state_is(&self, state: &str) -> bool {
        self.state.as_deref() == Some(state)
    }
}

fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Maps a notification, reading its entitlement resource.
pub fn map(n: &Notification, ctx: &Context<'_>) -> Result<Mapped, NotificationError> {
    let resource = ctx
        .resources
        .gcp_entitlement(&n.entitlement_id, n.update_time)?;
    let tenant = resource
        .tenant()
        .map_err(|error| ResourceError::Malformed {
            source_name: format!("GCP entitlement `{}`", resource.name),
            error,
        })?;
    let product = resource.product.as_deref().unwrap_or_default();
    // What a notification without the plan it needs lacks: a plan change asks for the new
    // one, every other notification for the entitlement's own.
    let missing = match n.event_type {
        EventType::PlanChangeRequested => {
            "no new plan (neither the notification's `newPlan` nor the resource's \
             `newPendingPlan`)"
        }
        _ => "no plan",
    };
    let sku = |plan: Option<&str>| -> Result<SkuId, Unmappable> {
        let Some(plan) = plan else {
            return Err(Unmappable {
                reason: super::UnmappableReason::UnknownPlan,
                message: format!("GCP entitlement `{}` names {missing}", resource.name),
            });
        };
        ctx.listings
            .gcp(product, plan)
            .map(|f| f.sku.sku_id.clone())
            .ok_or_else(|| {
                no_sku(
                    &format!("GCP product `{product}` plan `{plan}`"),
                    Some(plan),
                )
            })
    };
    let plan = resource.plan.as_deref();
    let new_plan = n
        .new_plan
        .as_deref()
        .or(resource.new_pending_plan.as_deref());
    let (kind, plan_of_event) = match n.event_type {
        EventType::CreationRequested => (EventKind::Requested, plan),
        EventType::OfferAccepted => match resource.new_pending_plan.as_deref() {
            Some(p) if Some(p) != plan => (EventKind::Requested, Some(p)),
            _ if resource.state_is("ENTITLEMENT_ACTIVATION_REQUESTED") => {
                (EventKind::Requested, plan)
            }
            _ => (EventKind::Synced, plan),
        },
        EventType::Active => (EventKind::Activated, plan),
        EventType::PlanChangeRequested => (EventKind::Requested, new_plan),
        EventType::PlanChanged => (EventKind::PlanChanged, n.new_plan.as_deref().or(plan)),
        EventType::PlanChangeCancelled => (EventKind::Withdrawn, None),
        EventType::PendingCancellation | EventType::Cancelling => {
            (EventKind::CancellationPending, None)
        }
        EventType::CancellationReverted => (EventKind::CancellationReverted, None),
        EventType::Cancelled => (EventKind::Cancelled, None),
        EventType::Deleted
            if resource.state.is_none()
                || resource.state_is("ENTITLEMENT_ACTIVATION_REQUESTED") =>
        {
            (EventKind::Withdrawn, None)
        }
        EventType::Deleted => (EventKind::Cancelled, None),
        EventType::OfferEnded if resource.state_is(CANCELLED) => (EventKind::Cancelled, None),
        EventType::OfferEnded => (EventKind::Synced, plan),
        EventType::Suspended => (EventKind::Suspended, None),
        EventType::Reinstated => (EventKind::Reinstated, None),
        EventType::Renewed => (EventKind::Renewed, None),
    };
    let needs_sku = matches!(
        kind,
        EventKind::Requested | EventKind::Activated | EventKind::PlanChanged | EventKind::Synced
    );
    let new = || {
        let mut e = event(kind, Marketplace::Gcp, &n.event_id, &tenant);
        e.changed_at = n.update_time;
        e
    };
    let outcome = if let Some(note) = contradicted(n, &resource, kind) {
        MappedOutcome::Unchanged(note)
    } else if needs_sku {
        match sku(plan_of_event) {
            Ok(id) => {
                let mut e = new();
                e.sku_id = Some(id);
                // A GCP entitlement has no end of its own (Google ends it): neither has
                // a purchase awaiting approval, so its approval does not set a SKU term
                // that a late ENTITLEMENT_ACTIVE would find run out.
                if matches!(
                    kind,
                    EventKind::Requested | EventKind::Activated | EventKind::Synced
                ) {
                    e.expiry = Some(OPEN_ENDED);
                }
                MappedOutcome::Event(e)
            }
            Err(u) => MappedOutcome::Unmappable(u),
        }
    } else {
        MappedOutcome::Event(new())
    };
    Ok(Mapped {
        marketplace: Marketplace::Gcp,
        notification: n.event_type.as_str().to_owned(),
        event_id: n.event_id.clone(),
        tenant_id: tenant,
        outcome,
    })
}

/// Why the entitlement resource contradicts a notification, when it does: it says the
/// entitlement is cancelled while the notification would grant, keep or change it. Google
/// delivers through Pub/Sub in no order and asks providers to act on the entitlement's
/// current state, so such a notification is late: it must not bring a cancelled
/// entitlement back.
fn contradicted(n: &Notification, resource: &Entitlement, kind: EventKind) -> Option<String> {
    let ends = matches!(kind, EventKind::Cancelled | EventKind::Withdrawn);
    if ends || !resource.state_is(CANCELLED) {
        return None;
    }
    let at = resource
        .update_time
        .map_or_else(String::new, |t| format!(" as of {t}"));
    Some(format!(
        "{} for GCP entitlement `{}`: the entitlement resource is `{CANCELLED}`{at}; a late \
         notification changes nothing",
        n.event_type.as_str(),
        n.entitlement_id
    ))
}

const CANCELLED: &str = "ENTITLEMENT_CANCELLED";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn push(payload: &Value) -> Value {
        let data = base64::engine::general_purpose::STANDARD.encode(payload.to_string());
        json!({
            "message": {
                "attributes": {},
                "data": data,
                "messageId": "2070443601311540",
                "message_id": "2070443601311540",
                "publishTime": "2026-01-02T10:00:00.000Z",
                "publish_time": "2026-01-02T10:00:00.000Z"
            },
            "subscription": "projects/acme-provider/subscriptions/codelab"
        })
    }

    fn active() -> Value {
        json!({
            "eventId": "CREATE_ENTITLEMENT-0001",
            "eventType": "ENTITLEMENT_ACTIVE",
            "entitlement": { "id": "ent-1", "updateTime": "2026-01-02T09:59:59.000Z" }
        })
    }

    #[test]
    fn reads_the_push_body_and_its_base64_payload() {
        let n = parse(&push(&active())).unwrap();
        assert_eq!(n.event_type, EventType::Active);
        assert_eq!(n.event_id.as_str(), "CREATE_ENTITLEMENT-0001");
        assert_eq!(n.entitlement_id, "ent-1");
        assert_eq!(n.message_id, "2070443601311540");
        assert_eq!(
            n.subscription.as_deref(),
            Some("projects/acme-provider/subscriptions/codelab")
        );
        assert!(n.update_time.is_some() && n.publish_time.is_some());
    }

    fn err(raw: &Value) -> FieldError {
        parse(raw).unwrap_err()
    }

    #[test]
    fn bad_input_names_the_field_and_the_problem() {
        let mut bad = push(&active());
        bad["message"]["data"] = json!("not*base64!");
        let e = err(&bad);
        assert_eq!(e.field, "message.data");
        assert!(matches!(e.problem, Problem::Base64 { .. }), "{e}");

        let mut bad = push(&active());
        bad["message"]["data"] =
            json!(base64::engine::general_purpose::STANDARD.encode("{not json"));
        assert!(matches!(err(&bad).problem, Problem::Json { .. }));

        let mut payload = active();
        payload["eventType"] = json!("ENTITLEMENT_EXPLODED");
        let e = err(&push(&payload));
        assert_eq!(e.field, "message.data.eventType");
        assert!(
            e.to_string()
                .contains("unknown eventType `ENTITLEMENT_EXPLODED`"),
            "{e}"
        );
        assert!(e.to_string().contains("ENTITLEMENT_ACTIVE"), "{e}");

        let mut payload = active();
        payload["entitlement"].as_object_mut().unwrap().remove("id");
        let e = err(&push(&payload));
        assert_eq!(
            (e.field.as_str(), &e.problem),
            ("message.data.entitlement.id", &Problem::Missing)
        );

        let mut bad = push(&active());
        bad["message"].as_object_mut().unwrap().remove("data");
        assert_eq!(err(&bad).field, "message.data");

        let e = err(&json!({"message": "hello"}));
        assert_eq!(e.field, "message");
        assert!(
            e.to_string().contains("expected an object, found a string"),
            "{e}"
        );

        let mut payload = active();
        payload["eventId"] = json!("has a space");
        assert!(matches!(
            err(&push(&payload)).problem,
            Problem::Invalid { .. }
        ));

        assert_eq!(err(&json!([1, 2])).field, "(the notification)");
    }

    #[test]
    fn reads_the_entitlement_resource_and_its_tenant() {
        let r = Entitlement::from_json(&json!({
            "name": "providers/acme/entitlements/ent-1",
            "account": "providers/acme/accounts/acct-7",
            "provider": "acme",
            "product": "rollback-guard",
            "productExternalName": "rollback-guard.endpoints.acme.cloud.goog",
            "plan": "base",
            "state": "ENTITLEMENT_ACTIVE",
            "updateTime": "2026-01-02T09:59:59Z"
        }))
        .unwrap();
        assert_eq!(r.id(), "ent-1");
        assert_eq!(r.tenant().unwrap().as_str(), "acct-7");
        assert_eq!(
            r.product.as_deref(),
            Some("rollback-guard.endpoints.acme.cloud.goog")
        );
        let bad = Entitlement {
            account: "providers/acme/accounts/..".into(),
            ..r
        };
        assert_eq!(bad.tenant().unwrap_err().field, "account");
        let e = Entitlement::from_json(&json!({"name": "x", "account": "a"})).unwrap_err();
        assert_eq!(e.field, "name");
    }
}
