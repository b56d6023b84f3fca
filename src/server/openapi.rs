//! The OpenAPI document of the JSON API, served at `GET /openapi.json`.
//!
//! aide builds it from the route declarations in [`super::http`]: each extractor says what it
//! reads from a request and which errors it can answer with, each handler's return type (or
//! the route's annotation, for handlers that build their body by hand) says what success
//! looks like, and every schema comes from the schemars derive on the type that is actually
//! serialized. The document is serialized once, when the routes are assembled, and served as
//! those bytes.
//!
//! Responses are described with schemars' serialize contract (an `Option` field is present
//! and may be null) and request bodies and query strings with its deserialize contract (an
//! `Option` or defaulted field may be left out), since that is what each side of the wire
//! sees.

use std::sync::{Arc, OnceLock};

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::generate::{self, GenContext};
use aide::openapi::{
    Header, MediaType, OpenApi, Operation, Parameter, ParameterData, ParameterSchemaOrContent,
    PathStyle, ReferenceOr, RequestBody, Response as Documented, SchemaObject, SecurityScheme,
    StatusCode as Status,
};
use aide::operation::{ParamLocation, add_parameters, parameters_from_schema};
use aide::transform::{TransformOpenApi, TransformOperation};
use aide::util::iter_operations_mut;
use aide::{OperationInput, OperationOutput};
use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::catalog::view::{PackSummary, SkuSummary};
use crate::governor::ReasonCode;
use crate::ids::TenantId;

use super::error::{ApiError, Body, ErrorCode, NoOutcome};
use super::extract::{
    Admin, Caller, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, JsonBody, PathParam, QueryParams,
    TenantScope, TenantSeq,
};

/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";

/// The serialized document, shared with the route that serves it: it is filled in once every
/// route is declared, that one included.
#[derive(Debug, Clone, Default)]
struct Document(Arc<OnceLock<Bytes>>);

impl Document {
    /// Keeps `api` as the document to serve; only the first call counts.
    fn publish(&self, api: &OpenApi) {
        match serde_json::to_vec(api) {
            Ok(bytes) => {
                let _ = self.0.set(Bytes::from(bytes));
            }
            // Then each request for the document is answered as an internal error.
            Err(e) => tracing::error!(error = %e, "cannot serialize the OpenAPI document"),
        }
    }

    /// The answer to `GET /openapi.json`.
    async fn serve(self) -> Result<DocumentBytes, ApiError> {
        let bytes = self.0.get().cloned().ok_or_else(|| {
            ApiError::internal(&"the OpenAPI document was requested before it was built")
        })?;
        Ok(DocumentBytes(bytes))
    }
}

/// The document as served: already-serialized JSON.
#[derive(Debug)]
struct DocumentBytes(Bytes);

impl IntoResponse for DocumentBytes {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

impl OperationOutput for DocumentBytes {
    type Inner = Map<String, Value>;

    fn operation_response(ctx: &mut GenContext, op: &mut Operation) -> Option<Documented> {
        let mut response = axum::Json::<Map<String, Value>>::operation_response(ctx, op)?;
        response.description = "This document: OpenAPI 3.1, JSON.".into();
        Some(response)
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        op: &mut Operation,
    ) -> Vec<(Option<Status>, Documented)> {
        success::<Self>(ctx, op)
    }
}

/// The routes `declare` makes, plus `GET /openapi.json` serving the document that describes
/// them all.
pub(super) fn assemble<S>(declare: impl FnOnce() -> ApiRouter<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let document = Document::default();
    let served = document.clone();
    let mut api = begin();
    let router = declare()
        .api_route(
            "/openapi.json",
            get_with(
                move || served.clone().serve(),
                |op| op.id("openapi").summary("This document"),
            ),
        )
        .finish_api_with(&mut api, describe);
    document.publish(&api);
    router
}

/// Prepares this thread's aide context for a new document: schemas are gathered into
/// `#/components/schemas` and describe what the server sends.
fn begin() -> OpenApi {
    generate::extract_schemas(true);
    generate::in_context(|ctx| {
        ctx.schema = SchemaSettings::draft07()
            .with(|s| {
                s.inline_subschemas = false;
                s.definitions_path = "#/components/schemas/".into();
                s.contract = Contract::Serialize;
            })
            .into_generator();
    });
    OpenApi::default()
}

/// The document's own parts: its info, the bearer scheme, the errors any route may answer
/// with, and the error shape as the answer to any status an operation does not list.
fn describe(mut api: TransformOpenApi<'_>) -> TransformOpenApi<'_> {
    // Every route runs under the request timeout, and any may fail on the server's side.
    generate::in_context(|ctx| {
        let paths = api.inner_mut().paths.iter_mut();
        for item in paths.flat_map(|p| p.paths.values_mut()) {
            if let ReferenceOr::Item(item) = item {
                for (method, op) in iter_operations_mut(item) {
                    add_errors(ctx, op, &[ErrorCode::Internal, ErrorCode::Timeout]);
                    // A browser's session cookie may write only from this server's page.
                    if method != "get" && !op.security.is_empty() {
                        add_errors(ctx, op, &[ErrorCode::CrossOrigin]);
                    }
                }
            }
        }
    });
    api.title("tai")
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "The JSON API of `tai serve`: catalog browsing, the marketplace webhook, and \
             per-tenant state, tools, calls, signals, action resolutions and receipts. Every \
             error has the shape `{\"error\": {\"code\", \"message\"}}`; a recorded refusal \
             adds its outcome's fields beside `error`.",
        )
        .security_scheme(
            BEARER,
            SecurityScheme::Http {
                scheme: "bearer".into(),
                bearer_format: None,
                description: Some(
                    "The admin token (every tenant, entitlement events) or one tenant's token \
                     (that tenant only; any token may browse the catalog)."
                        .into(),
                ),
                extensions: Default::default(),
            },
        )
        .default_response_with::<ApiError, _>(|r| {
            r.description("Any other failure, in the error shape (e.g. 405 `method_not_allowed`).")
        })
}

// ---------------------------------------------------------------------------------------
// Route annotations, for what a handler's signature cannot say.

/// The success response is `T` as JSON: for handlers that answer with a hand-built
/// `Response`, and for replacing an inferred schema that says less than `T`.
pub(super) fn ok<T: JsonSchema>(mut op: TransformOperation<'_>) -> TransformOperation<'_> {
    if let Some(responses) = &mut op.inner_mut().responses {
        responses.responses.shift_remove(&Status::Code(200));
    }
    op.response::<200, axum::Json<T>>()
}

/// A call asked to run in the background answers `202 Accepted` once its action started,
/// with where to follow it (the `Location` header names its later receipts).
pub(super) fn started(op: TransformOperation<'_>) -> TransformOperation<'_> {
    op.response_with::<202, axum::Json<super::background::StartedCall>, _>(|r| {
        r.description(
            "The call asked to run in the background (`\"background\": true`) passed its gates \
             and its action started; `Location` is where its outcome will be.",
        )
    })
}

/// The request body is `T`, whatever the handler parses it into.
pub(super) fn body<T: JsonSchema>(mut op: TransformOperation<'_>) -> TransformOperation<'_> {
    generate::in_context(|ctx| set_request_body::<T>(ctx, op.inner_mut()));
    op
}

/// The route's path parameter `name` is a `T`.
pub(super) fn path<T: JsonSchema>(
    name: &'static str,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |mut op| {
        generate::in_context(|ctx| add_path_parameter::<T>(ctx, op.inner_mut(), name));
        op
    }
}

/// The handler itself may answer with these errors.
pub(super) fn errors(
    codes: &'static [ErrorCode],
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |mut op| {
        generate::in_context(|ctx| add_errors(ctx, op.inner_mut(), codes));
        op
    }
}

/// A refusal the engine records for `reason`, answered as the error shape with the outcome
/// `T` beside it.
pub(super) fn refusal<T: JsonSchema>(
    reason: ReasonCode,
    description: &'static str,
) -> impl FnOnce(TransformOperation<'_>) -> TransformOperation<'_> {
    move |mut op| {
        generate::in_context(|ctx| {
            let schema = ctx.schema.subschema_for::<Body<'static, T>>();
            let status = ErrorCode::Refused(reason).status().as_u16();
            add_error(op.inner_mut(), status, description, schema);
        });
        op
    }
}

// ---------------------------------------------------------------------------------------
// Bodies that are only a list or a constant: the handlers build exactly these.

/// The server is up.
#[derive(Serialize, JsonSchema)]
pub(super) struct Health {
    /// Always `ok`.
    #[schemars(extend("const" = "ok"))]
    pub status: &'static str,
}

/// Every pack in the catalog, sorted by id.
#[derive(Serialize, JsonSchema)]
pub(super) struct PackList<'a> {
    pub packs: Vec<PackSummary<'a>>,
}

/// Every SKU in the catalog, sorted by id.
#[derive(Serialize, JsonSchema)]
pub(super) struct SkuList<'a> {
    pub skus: Vec<SkuSummary<'a>>,
}

/// A stream of server-sent events, one per receipt.
#[derive(Debug)]
pub(super) struct EventStream;

impl OperationOutput for EventStream {
    type Inner = String;

    fn operation_response(_: &mut GenContext, _: &mut Operation) -> Option<Documented> {
        let schema = json_schema!({
            "type": "string",
            "description": "Events `event: receipt`, `id: <seq>`, `data: <a Receipt as JSON>` \
                            (see `#/components/schemas/Receipt`); a `Last-Event-ID` header \
                            resumes after that seq. Idle streams carry a keep-alive comment.",
        });
        Some(Documented {
            description: "The stored receipts from `from_seq`, then each new one once durable, \
                          in seq order."
                .into(),
            content: content("text/event-stream", schema),
            ..Documented::default()
        })
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        op: &mut Operation,
    ) -> Vec<(Option<Status>, Documented)> {
        success::<Self>(ctx, op)
    }
}

// ---------------------------------------------------------------------------------------
// What the extractors and the error type contribute.

impl OperationOutput for ApiError {
    type Inner = ();

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Documented> {
        let schema = ctx.schema.subschema_for::<Body<'static, NoOutcome>>();
        Some(json_response(String::new(), schema))
    }
}

impl OperationInput for Caller {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        require_bearer(op);
        add_errors(ctx, op, &[ErrorCode::Unauthenticated]);
    }
}

impl OperationInput for Admin {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        require_bearer(op);
        add_errors(ctx, op, &[ErrorCode::Unauthenticated, ErrorCode::AdminOnly]);
    }
}

impl OperationInput for TenantScope {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        require_bearer(op);
        add_path_parameter::<TenantId>(ctx, op, "tenant");
        // The tenant's existence and its ledger are checked with the engine work of every
        // handler that takes a tenant.
        add_errors(
            ctx,
            op,
            &[
                ErrorCode::Unauthenticated,
                ErrorCode::InvalidPath,
                ErrorCode::InvalidTenantId,
                ErrorCode::Forbidden,
                ErrorCode::UnknownTenant,
                ErrorCode::LedgerBusy,
            ],
        );
    }
}

impl OperationInput for IdempotencyKey {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        let schema = ctx.schema.subschema_for::<crate::ids::IdempotencyKey>();
        let description = "A key for this call (1-255 printable ASCII characters without \
                           spaces): a retry of the same request with the same key is answered \
                           with the first outcome (with `repeat_of`, the seq of the receipt that \
                           decided it) and runs nothing, also after a restart; another request \
                           with it is refused (`idempotency_key_reused`).";
        let parameter = Parameter::Header {
            parameter_data: parameter_data(
                IDEMPOTENCY_KEY_HEADER,
                Some(description.to_owned()),
                false,
                schema,
            ),
            style: aide::openapi::HeaderStyle::Simple,
        };
        add_parameters(ctx, op, [parameter]);
        add_errors(ctx, op, &[ErrorCode::InvalidHeader]);
    }
}

impl OperationInput for TenantSeq {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        TenantScope::operation_input(ctx, op);
        add_path_parameter::<u64>(ctx, op, "seq");
    }
}

impl OperationInput for PathParam {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        // The parameter's name and type are the route's: see [`path`].
        add_errors(ctx, op, &[ErrorCode::InvalidPath]);
    }
}

impl<T: JsonSchema> OperationInput for JsonBody<T> {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        set_request_body::<T>(ctx, op);
        add_errors(
            ctx,
            op,
            &[
                ErrorCode::InvalidJson,
                ErrorCode::InvalidBody,
                ErrorCode::BodyTooLarge,
            ],
        );
    }
}

impl<T: JsonSchema> OperationInput for QueryParams<T> {
    fn operation_input(ctx: &mut GenContext, op: &mut Operation) {
        let schema = request_generator().subschema_for::<T>();
        let params = parameters_from_schema(ctx, schema, ParamLocation::Query);
        add_parameters(ctx, op, params);
        add_errors(ctx, op, &[ErrorCode::InvalidQuery]);
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// `O`'s response, as the answer to a successful request.
fn success<O: OperationOutput>(
    ctx: &mut GenContext,
    op: &mut Operation,
) -> Vec<(Option<Status>, Documented)> {
    O::operation_response(ctx, op)
        .map(|r| (Some(Status::Code(200)), r))
        .into_iter()
        .collect()
}

fn schema_object(json_schema: Schema) -> SchemaObject {
    SchemaObject {
        json_schema,
        external_docs: None,
        example: None,
    }
}

/// `schema` as the only content, of type `media_type`.
fn content<C: FromIterator<(String, MediaType)>>(media_type: &str, schema: Schema) -> C {
    std::iter::once((
        media_type.to_owned(),
        MediaType {
            schema: Some(schema_object(schema)),
            ..MediaType::default()
        },
    ))
    .collect()
}

fn json_response(description: String, schema: Schema) -> Documented {
    Documented {
        description,
        content: content("application/json", schema),
        ..Documented::default()
    }
}

fn require_bearer(op: &mut Operation) {
    if !op.security.iter().any(|s| s.contains_key(BEARER)) {
        op.security
            .push([(BEARER.to_owned(), Vec::new())].into_iter().collect());
    }
}

/// Generates schemas as a request sees them (the deserialize contract), inline.
fn request_generator() -> SchemaGenerator {
    SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.contract = Contract::Deserialize;
        })
        .into_generator()
}

fn set_request_body<T: JsonSchema>(ctx: &mut GenContext, op: &mut Operation) {
    let inline = request_generator().subschema_for::<T>();
    // An empty body reads as `{}`, so the body may be left out when `{}` would do.
    let required = inline
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    let schema = named::<T>(ctx, inline);
    op.request_body = Some(ReferenceOr::Item(RequestBody {
        description: None,
        content: content("application/json", schema),
        required,
        extensions: Default::default(),
    }));
}

/// A reference to `schema` under `T`'s name in the components, when that name is free
/// there (or already holds the same schema); else `schema` itself.
fn named<T: JsonSchema>(ctx: &mut GenContext, schema: Schema) -> Schema {
    if T::inline_schema() {
        return schema;
    }
    let name = T::schema_name();
    let definitions = ctx.schema.definitions_mut();
    match definitions.get(name.as_ref()) {
        Some(existing) if existing != schema.as_value() => return schema,
        Some(_) => {}
        None => {
            definitions.insert(name.to_string(), schema.to_value());
        }
    }
    json_schema!({ "$ref": format!("#/components/schemas/{name}") })
}

fn add_path_parameter<T: JsonSchema>(ctx: &mut GenContext, op: &mut Operation, name: &str) {
    let schema = ctx.schema.subschema_for::<T>();
    let description = ctx
        .resolve_schema(&schema)
        .get("description")
        .and_then(Value::as_str)
        .map(String::from);
    let parameter = Parameter::Path {
        parameter_data: parameter_data(name, description, true, schema),
        style: PathStyle::Simple,
    };
    add_parameters(ctx, op, [parameter]);
}

/// A parameter's name, description and schema.
fn parameter_data(
    name: &str,
    description: Option<String>,
    required: bool,
    schema: Schema,
) -> ParameterData {
    ParameterData {
        name: name.to_owned(),
        description,
        required,
        deprecated: None,
        format: ParameterSchemaOrContent::Schema(schema_object(schema)),
        example: None,
        examples: Default::default(),
        explode: None,
        extensions: Default::default(),
    }
}

/// Lists `codes` under their statuses, in the error shape.
fn add_errors(ctx: &mut GenContext, op: &mut Operation, codes: &[ErrorCode]) {
    for code in codes {
        let schema = ctx.schema.subschema_for::<Body<'static, NoOutcome>>();
        let description = format!("`{}`", code.as_str());
        add_error(op, code.status().as_u16(), &description, schema);
        if code.status() == axum::http::StatusCode::UNAUTHORIZED {
            add_www_authenticate(op);
        }
    }
}

/// Adds an error to the response for `status`: its description lists every error that
/// status can carry, and its schema admits each of their shapes.
fn add_error(op: &mut Operation, status: u16, description: &str, schema: Schema) {
    let responses = op.responses.get_or_insert_with(Default::default);
    let entry = responses.responses.entry(Status::Code(status));
    let ReferenceOr::Item(response) =
        entry.or_insert_with(|| ReferenceOr::Item(json_response(String::new(), schema.clone())))
    else {
        return;
    };
    if response.description.is_empty() {
        response.description = description.to_owned();
    } else if !response.description.contains(description) {
        response.description = format!("{}, {description}", response.description);
    }
    let Some(existing) = response
        .content
        .get_mut("application/json")
        .and_then(|m| m.schema.as_mut())
    else {
        return;
    };
    let current = &mut existing.json_schema;
    if *current == schema {
        return;
    }
    let alternatives: Vec<Value> = match current.get("anyOf").and_then(Value::as_array) {
        Some(a) if a.contains(schema.as_value()) => return,
        Some(a) => a.iter().cloned().chain([schema.to_value()]).collect(),
        None => vec![current.as_value().clone(), schema.to_value()],
    };
    *current = json_schema!({ "anyOf": alternatives });
}

fn add_www_authenticate(op: &mut Operation) {
    let Some(ReferenceOr::Item(response)) = op
        .responses
        .as_mut()
        .and_then(|r| r.responses.get_mut(&Status::Code(401)))
    else {
        return;
    };
    response
        .headers
        .entry("WWW-Authenticate".into())
        .or_insert_with(|| {
            ReferenceOr::Item(Header {
                description: Some("`Bearer`".into()),
                style: Default::default(),
                required: true,
                deprecated: None,
                format: ParameterSchemaOrContent::Schema(schema_object(
                    json_schema!({ "type": "string", "const": "Bearer" }),
                )),
                example: None,
                examples: Default::default(),
                extensions: Default::default(),
            })
        });
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::server::http;

    #[test]
    fn aide_accepts_every_declaration() {
        let reported = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&reported);
        generate::on_error(move |e| sink.borrow_mut().push(e.to_string()));
        let _ = assemble(http::declare);
        assert_eq!(*reported.borrow(), Vec::<String>::new());
    }
}
