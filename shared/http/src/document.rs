//! What the OpenAPI document needs beyond each handler's own annotations, applied once the
//! routes are collected: the answers the shared extractors give on every route that uses them,
//! and flattened structs written as the one object they serialize to.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AdditionalProperties, Object, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};

/// Completes the document the routes produced.
pub(crate) fn complete(doc: &mut OpenApi) {
    flatten_records(doc);
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            add_extractor_answers(operation);
        }
    }
}

/// The statuses `extract.rs` answers before a handler runs, documented on every operation that
/// uses the extractor (read off the operation: its security, body and parameters). A handler's
/// own description of the same status is kept.
fn add_extractor_answers(operation: &mut Operation) {
    let mut answers: Vec<(&str, &str)> = Vec::new();
    // `Actor`: every operation that names the staff scheme (the only one) starts from it.
    if operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty()) {
        answers.push((
            "401",
            "`unauthenticated`: no bearer token, or one that is invalid, expired or ended (signed out \
             everywhere, a password reset, the member removed)",
        ));
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    // `PathParams`: an id that cannot parse cannot exist; a path that is not UTF-8 is unreadable.
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Path) {
        answers.push(("400", "`malformed_path`: the path cannot be read (percent-encoding that is not UTF-8)"));
        answers.push(("404", "`not_found`: no such entity (an id of the wrong shape names none)"));
    }
    // `QueryArgs`: a parameter that does not parse, or one that is not listed.
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Query) {
        answers.push(("422", "`invalid_field`: a query parameter does not parse; `details.field` names it"));
    }
    match operation.request_body.as_ref().map(media_types).unwrap_or_default() {
        Body::None => {}
        // `JsonBody`.
        Body::Json => {
            answers.push(("400", "`malformed_json`: the body is not JSON"));
            answers.push(("413", "`body_too_large`: the body is larger than the route accepts"));
            answers.push(("415", "`unsupported_media_type`: the body is not `application/json`"));
            answers.push(("422", "`invalid_field` (or a rule's own code): `details.field` names the field"));
        }
        // `RawBody`, `ImageBody`, a form.
        Body::Other => {
            answers.push(("413", "`body_too_large`: the body is larger than the route accepts"));
            answers.push(("415", "`unsupported_media_type`: the body is not of a media type listed here"));
        }
    }
    for (status, description) in answers {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
    }
}

#[derive(Default)]
enum Body {
    #[default]
    None,
    Json,
    Other,
}

fn media_types(body: &RequestBody) -> Body {
    if body.content.contains_key("application/json") { Body::Json } else { Body::Other }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let envelope = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build();
    ResponseBuilder::new().description(description).content("application/json", envelope).build().into()
}

/// `#[serde(flatten)]` serializes one object, but utoipa describes it as `allOf` the parts. With
/// a part that forbids unknown fields (an input type with `deny_unknown_fields`), that `allOf`
/// would refuse the record's own fields (`id`, `version`…). Each such component becomes the one
/// object it is: the parts' properties and required fields together, closed only if every part
/// is closed. A flattened tagged enum (a `oneOf` part) makes it one such object per variant.
fn flatten_records(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else { return };
    let before = components.schemas.clone();
    for schema in components.schemas.values_mut() {
        if let RefOr::T(all_of @ Schema::AllOf(_)) = schema
            && let Some(mut objects) = alternatives(all_of, &before)
        {
            *all_of = if objects.len() == 1 {
                Schema::Object(objects.remove(0))
            } else {
                let mut one_of = OneOfBuilder::new();
                for object in objects {
                    one_of = one_of.item(Schema::Object(object));
                }
                Schema::OneOf(one_of.build())
            };
        }
    }
}

/// The objects `schema` may be: one for an object, one per variant for a `oneOf` of objects,
/// and for an `allOf`, every combination of its parts' alternatives merged (through references
/// to components too); `None` when a part is not an object.
fn alternatives(schema: &Schema, components: &BTreeMap<String, RefOr<Schema>>) -> Option<Vec<Object>> {
    let resolve = |part: &RefOr<Schema>| match part {
        RefOr::T(schema) => alternatives(schema, components),
        RefOr::Ref(reference) => {
            let name = reference.ref_location.strip_prefix("#/components/schemas/")?;
            match components.get(name)? {
                RefOr::T(schema) => alternatives(schema, components),
                RefOr::Ref(_) => None,
            }
        }
    };
    match schema {
        Schema::Object(object) if object.schema_type == SchemaType::Type(Type::Object) => Some(vec![object.clone()]),
        Schema::OneOf(one_of) => {
            let mut all = Vec::new();
            for item in &one_of.items {
                all.extend(resolve(item)?);
            }
            Some(all)
        }
        Schema::AllOf(all_of) => {
            let mut combined = vec![(Object::with_type(Type::Object), true)];
            for part in &all_of.items {
                let choices = resolve(part)?;
                combined = combined
                    .iter()
                    .flat_map(|(merged, closed)| choices.iter().map(|choice| merge(merged, *closed, choice)))
                    .collect();
            }
            Some(
                combined
                    .into_iter()
                    .map(|(mut merged, closed)| {
                        merged.description = all_of.description.clone().or(merged.description);
                        if closed {
                            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
                        }
                        merged
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// `merged` with `part`'s properties and required fields added; closed while every part is.
fn merge(merged: &Object, closed: bool, part: &Object) -> (Object, bool) {
    let mut merged = merged.clone();
    let closed = closed && matches!(part.additional_properties.as_deref(), Some(AdditionalProperties::FreeForm(false)));
    merged.properties.extend(part.properties.clone());
    for name in &part.required {
        if !merged.required.contains(name) {
            merged.required.push(name.clone());
        }
    }
    merged.description = merged.description.or(part.description.clone());
    (merged, closed)
}
