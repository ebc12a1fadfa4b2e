//! `template.yaml` and the nested stacks it names (`infra/stacks/*.yaml`), read as one deployment,
//! against the route table: one function per route and no others, public routes (and only those)
//! outside the JWT authorizer, every function built by cargo-lambda, the table's keys and
//! protections, and table permissions that match what each route does; and the nested stacks
//! themselves: each one named once by the root, which passes exactly the parameters it declares.
//!
//! Most tests read [`template()`]: the root's resources and every nested stack's in one template,
//! with a nested stack's parameters replaced by what the root passes for them and each template's
//! Globals applied to its functions (see [`Stacks::merged`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_yaml::value::TaggedValue;
use serde_yaml::{Mapping, Value};

use crate::repo_root;
use mas_http::route_table;

/// Routes whose functions need no table access at all (signing one session out is Cognito's
/// RevokeToken alone).
const ROUTES_WITHOUT_TABLE: [(&str, &str); 3] =
    [("GET", "/health"), ("GET", "/openapi.json"), ("POST", "/v1/auth/sign-out")];

/// Routes that are not GETs but change nothing in the table (they compute from the body; an
/// uploaded PDF is checked, not stored; on AWS sessions are Cognito's, so a refresh reads the
/// member and a sign-out touches no item; an invitation preview reads the link), so they get
/// read access at most and write no audit record.
const NON_GET_ROUTES_THAT_ONLY_READ: [(&str, &str); 6] = [
    ("POST", "/v1/screening/assess"),
    // A POST so that the booking's id and confirmation number stay out of URLs and logs.
    ("POST", "/v1/payments/deposit-status"),
    // Likewise an online gift-card purchase's id.
    ("POST", "/v1/gift-cards/purchase-status"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/sign-out"),
    ("POST", "/v1/auth/invitations/preview"),
];

/// Public GET routes that take a token of a per-address limit (a write to the limiter's item)
/// before they read: a certificate's page, PDF and credential, found by an unguessable number;
/// a document's check by hash (its POST twin, by upload, takes one too, so it is not a read).
const GET_ROUTES_THAT_TAKE_FROM_A_RATE_LIMIT: [(&str, &str); 4] = [
    ("GET", "/v1/documents/verify"),
    ("GET", "/v1/public/{tenant_slug}/certificates/{number}"),
    ("GET", "/v1/public/{tenant_slug}/certificates/{number}/pdf"),
    ("GET", "/v1/public/{tenant_slug}/certificates/{number}/credential"),
];

/// GET routes that read health data, or hand out a client's financial documents (receipts),
/// and so append their own record to the audit log.
const GET_ROUTES_THAT_AUDIT_THEIR_READ: [(&str, &str); 14] = [
    // A cohort's roster: its students' names and emails; its gradebook: their results too.
    ("GET", "/v1/cohorts/{id}/enrolments"),
    ("GET", "/v1/cohorts/{id}/gradebook"),
    // Its practical logbook (models named), and the clinic's certificates (students' names).
    ("GET", "/v1/cohorts/{id}/logbook"),
    ("GET", "/v1/certificates"),
    ("GET", "/v1/clients/{id}/export"),
    ("GET", "/v1/appointments"),
    ("GET", "/v1/appointments/{id}"),
    ("GET", "/v1/clients/{id}/medical"),
    ("GET", "/v1/documents/{id}"),
    ("GET", "/v1/documents/{id}/pdf"),
    ("GET", "/v1/sales/{id}/receipts"),
    ("GET", "/v1/gift-cards/{id}"),
    ("GET", "/v1/packages/{id}"),
    ("GET", "/v1/clients/{id}/loyalty"),
];

#[test]
fn every_route_has_exactly_one_function_and_the_template_serves_no_other_route() {
    let template = template();
    let routes = route_table();
    let expected: BTreeSet<(String, String)> =
        routes.iter().map(|route| (route.method.to_owned(), route.path.clone())).collect();
    assert_eq!(expected.len(), routes.len(), "the route table lists a route twice");

    let mut served: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    let mut routes_per_function: BTreeMap<&str, usize> = BTreeMap::new();
    for route in api_routes(&template) {
        served.entry((route.method.clone(), route.path.clone())).or_default().push(route.function);
        *routes_per_function.entry(route.function).or_default() += 1;
    }
    let actual: BTreeSet<(String, String)> = served.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    let shared_routes: Vec<_> = served.iter().filter(|(_, functions)| functions.len() > 1).collect();
    let multi_route_functions: Vec<_> = routes_per_function.iter().filter(|(_, n)| **n > 1).collect();

    assert!(
        missing.is_empty() && extra.is_empty() && shared_routes.is_empty() && multi_route_functions.is_empty(),
        "routes with no function in template.yaml or its nested stacks: {missing:?}\n\
         template routes missing from the route table: {extra:?}\n\
         routes served by more than one function: {shared_routes:?}\n\
         functions serving more than one route: {multi_route_functions:?}"
    );
}

#[test]
fn public_routes_and_only_those_opt_out_of_the_jwt_authorizer() {
    let template = template();
    let expected: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .filter(|route| route.public)
        .map(|route| (route.method.to_owned(), route.path))
        .collect();
    let routes = api_routes(&template);
    // API Gateway takes a route without AuthorizationType as NONE: such a route is public too.
    let actual: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|route| route.authorization.unwrap_or("NONE") == "NONE")
        .map(|route| (route.method.clone(), route.path.clone()))
        .collect();
    assert_eq!(actual, expected, "routes with `AuthorizationType: NONE` differ from the public routes");

    let unclear: Vec<_> = routes
        .iter()
        .filter(|route| !matches!(route.authorization, Some("NONE" | "JWT")))
        .map(|route| (route.route, route.authorization))
        .collect();
    assert!(unclear.is_empty(), "every route says `AuthorizationType: JWT` or `NONE`: {unclear:?}");
    let public_with_authorizer: Vec<_> = routes
        .iter()
        .filter(|route| route.authorization == Some("NONE") && !route.authorizer_id.is_null())
        .map(|route| route.route)
        .collect();
    assert!(public_with_authorizer.is_empty(), "public routes name no authorizer: {public_with_authorizer:?}");
}

#[test]
fn every_route_is_on_the_one_http_api_and_every_protected_route_checks_cognito_jwts() {
    let template = template();
    // SAM's APIs always carry an OpenAPI body, and API Gateway does not combine a body with the
    // AWS::ApiGatewayV2::Route resources of the nested stacks (an update of the body may delete
    // them); a SAM HttpApi event without one of them lands on an implicit API with no authorizer.
    for sam_api in ["AWS::Serverless::HttpApi", "AWS::Serverless::Api"] {
        let found = resources_of_type(&template, sam_api);
        assert!(found.is_empty(), "routes are ApiGatewayV2 resources, not a {sam_api}: {found:?}");
    }
    let sam_events: Vec<_> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, function)| {
            function["Properties"]["Events"].as_mapping().is_some_and(|events| {
                events.values().any(|event| matches!(event["Type"].as_str(), Some("HttpApi" | "Api")))
            })
        })
        .map(|(id, _)| id)
        .collect();
    assert!(sam_events.is_empty(), "functions with SAM HttpApi/Api events: {sam_events:?}");

    let apis = resources_of_type(&template, "AWS::ApiGatewayV2::Api");
    assert_eq!(apis.len(), 1, "expected one AWS::ApiGatewayV2::Api, found {apis:?}");
    let (api_id, api) = apis[0];
    assert_eq!(api["Properties"]["ProtocolType"].as_str(), Some("HTTP"), "{api_id} is an HTTP API");
    for body in ["Body", "BodyS3Location"] {
        assert!(api["Properties"][body].is_null(), "{api_id} has a {body}: its routes are Route resources");
    }

    let stages = resources_of_type(&template, "AWS::ApiGatewayV2::Stage");
    assert_eq!(stages.len(), 1, "one stage: {stages:?}");
    let stage = &stages[0].1["Properties"];
    assert!(mentions(&stage["ApiId"], api_id));
    assert_eq!(stage["StageName"].as_str(), Some("$default"));
    // Without it, routes added by a nested stack would wait for a deployment nobody makes.
    assert_eq!(stage["AutoDeploy"].as_bool(), Some(true), "the stage deploys every change");

    let authorizers = resources_of_type(&template, "AWS::ApiGatewayV2::Authorizer");
    assert_eq!(authorizers.len(), 1, "expected one authorizer, found {authorizers:?}");
    let (authorizer_id, authorizer) = authorizers[0];
    let authorizer = &authorizer["Properties"];
    assert!(mentions(&authorizer["ApiId"], api_id), "{authorizer_id} is on {api_id}");
    assert_eq!(authorizer["AuthorizerType"].as_str(), Some("JWT"));
    assert_eq!(authorizer["IdentitySource"], serde_yaml::from_str::<Value>("[$request.header.Authorization]").unwrap());
    let jwt = &authorizer["JwtConfiguration"];
    let (pool_id, _) = resources_of_type(&template, "AWS::Cognito::UserPool")[0];
    let issuer = intrinsic_text(&jwt["Issuer"]).expect("the JWT authorizer has an issuer");
    assert!(
        issuer.starts_with("https://cognito-idp.${AWS::Region}.amazonaws.com/") && mentions(&jwt["Issuer"], pool_id),
        "issuer {issuer} is not the stack's Cognito user pool"
    );
    let (client_id, _) = resources_of_type(&template, "AWS::Cognito::UserPoolClient")[0];
    let audience = jwt["Audience"].as_sequence().expect("the JWT authorizer has an audience list");
    assert!(
        !audience.is_empty() && audience.iter().all(|a| mentions(a, client_id)),
        "the JWT authorizer's audience is the app client: {audience:?}"
    );

    let mut problems = Vec::new();
    for route in api_routes(&template) {
        let integration = &route.integration["Properties"];
        if !mentions(route.api_id, api_id) || !mentions(&integration["ApiId"], api_id) {
            problems.push(format!("{} or its integration is not on {api_id}", route.route));
        }
        if integration["IntegrationType"].as_str() != Some("AWS_PROXY")
            || integration["PayloadFormatVersion"].as_str() != Some("2.0")
        {
            problems.push(format!("{}: not a Lambda proxy integration with payload format 2.0", route.route));
        }
        if route.authorization == Some("JWT") && !mentions(route.authorizer_id, authorizer_id) {
            problems.push(format!("{} is JWT but its AuthorizerId is not {authorizer_id}", route.route));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_api_may_invoke_each_route_function_for_its_own_route_only() {
    let template = template();
    let (api_id, _) = resources_of_type(&template, "AWS::ApiGatewayV2::Api")[0];
    let permissions = resources_of_type(&template, "AWS::Lambda::Permission");
    let mut problems = Vec::new();
    for route in api_routes(&template) {
        let own: Vec<&Value> = permissions
            .iter()
            .map(|(_, permission)| &permission["Properties"])
            .filter(|permission| mentions(&permission["FunctionName"], route.function))
            .collect();
        // Path parameters are wildcards in the source ARN, as SAM writes them.
        let path = route
            .path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "*" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        let expected = format!(
            "arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api_id}}}/*/{}{path}",
            route.method
        );
        match own.as_slice() {
            [permission] => {
                let source = intrinsic_text(&permission["SourceArn"]);
                if permission["Action"].as_str() != Some("lambda:InvokeFunction")
                    || permission["Principal"].as_str() != Some("apigateway.amazonaws.com")
                    || source != Some(expected.as_str())
                {
                    problems.push(format!(
                        "{}: expected API Gateway to invoke it for {expected}, found {permission:?}",
                        route.function
                    ));
                }
            }
            _ => problems.push(format!("{}: {} invoke permissions, expected one", route.function, own.len())),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_a_named_binary() {
    let template = template();
    let functions = resources_of_type(&template, "AWS::Serverless::Function");
    assert!(!functions.is_empty(), "the templates declare no functions");
    let wrong: Vec<_> = functions
        .iter()
        .filter(|(_, function)| {
            let metadata = &function["Metadata"];
            metadata["BuildMethod"].as_str() != Some("rust-cargolambda")
                || metadata["BuildProperties"]["Binary"].as_str().is_none_or(str::is_empty)
        })
        .map(|(id, _)| *id)
        .collect();
    assert!(
        wrong.is_empty(),
        "functions without `Metadata: {{ BuildMethod: rust-cargolambda, BuildProperties: {{ Binary: … }} }}`: {wrong:?}"
    );
}

#[test]
fn functions_run_a_bootstrap_binary_on_provided_al2023_arm64_built_from_the_workspace_root() {
    let template = template();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        // With its template's Globals applied, and CodeUri taken from its template's folder.
        let property = |name: &str| &function["Properties"][name];
        assert_eq!(property("Runtime").as_str(), Some("provided.al2023"), "{id}: Runtime");
        assert_eq!(property("Handler").as_str(), Some("bootstrap"), "{id}: Handler");
        assert_eq!(
            property("Architectures"),
            &serde_yaml::from_str::<Value>("[arm64]").unwrap(),
            "{id}: Architectures"
        );
        assert_eq!(property("CodeUri").as_str(), Some("."), "{id}: CodeUri is not the workspace (Cargo.toml) root");
    }
    assert!(repo_root().join("Cargo.toml").is_file());
}

#[test]
fn the_table_has_single_table_keys_gsi1_ttl_point_in_time_recovery_and_on_demand_billing() {
    let template = template();
    let (_, table) = the_table(&template);
    let properties = &table["Properties"];

    let attribute_types: BTreeMap<&str, &str> = properties["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|definition| {
            (definition["AttributeName"].as_str().unwrap(), definition["AttributeType"].as_str().unwrap())
        })
        .collect();
    for key in ["PK", "SK", "GSI1PK", "GSI1SK"] {
        assert_eq!(attribute_types.get(key), Some(&"S"), "{key} is a string attribute");
    }
    assert_eq!(key_schema(&properties["KeySchema"]), [("PK", "HASH"), ("SK", "RANGE")]);

    let indexes = properties["GlobalSecondaryIndexes"].as_sequence().expect("GlobalSecondaryIndexes");
    let gsi1 = indexes.iter().find(|index| index["IndexName"].as_str() == Some("GSI1")).expect("an index named GSI1");
    assert_eq!(key_schema(&gsi1["KeySchema"]), [("GSI1PK", "HASH"), ("GSI1SK", "RANGE")]);
    assert_eq!(gsi1["Projection"]["ProjectionType"].as_str(), Some("ALL"));

    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(properties["TimeToLiveSpecification"]["AttributeName"].as_str(), Some("ttl"));
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    assert_eq!(properties["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    assert_eq!(table["DeletionPolicy"].as_str(), Some("Retain"));
    assert_eq!(table["UpdateReplacePolicy"].as_str(), Some("Retain"));
}

#[test]
fn every_route_except_health_and_openapi_has_a_policy_on_the_table_and_those_two_have_none() {
    let template = template();
    let (table_id, _) = the_table(&template);
    let mut problems = Vec::new();
    for event in api_routes(&template) {
        let access = table_access(&template, &template["Resources"][event.function], table_id);
        let needs_table = !ROUTES_WITHOUT_TABLE.contains(&(event.method.as_str(), event.path.as_str()));
        if needs_table && !access.references_table {
            problems.push(format!("{} {} ({}) has no policy on the table", event.method, event.path, event.function));
        }
        if !needs_table && (access.references_table || !access.actions.is_empty()) {
            problems.push(format!(
                "{} {} ({}) needs no table access: {access:?}",
                event.method, event.path, event.function
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn reading_routes_cannot_write_and_mutating_routes_can_append_to_the_audit_log_but_not_rewrite_it() {
    let template = template();
    let (table_id, _) = the_table(&template);
    let mut problems = Vec::new();
    for event in api_routes(&template) {
        let access = table_access(&template, &template["Resources"][event.function], table_id);
        let route = format!("{} {} ({})", event.method, event.path, event.function);
        let writes = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]
            .into_iter()
            .filter(|action| access.allows(action))
            .collect::<Vec<_>>();
        let audited_read = GET_ROUTES_THAT_AUDIT_THEIR_READ.contains(&(event.method.as_str(), event.path.as_str()));
        let rate_limited =
            GET_ROUTES_THAT_TAKE_FROM_A_RATE_LIMIT.contains(&(event.method.as_str(), event.path.as_str()));
        let only_reads = (event.method == "GET" && !audited_read && !rate_limited)
            || NON_GET_ROUTES_THAT_ONLY_READ.contains(&(event.method.as_str(), event.path.as_str()));
        if only_reads && !writes.is_empty() {
            problems.push(format!("{route} only reads but may {writes:?}"));
        }
        if !only_reads && !access.allows("PutItem") {
            problems.push(format!("{route} mutates, so it writes the audit log, but may not PutItem"));
        }
        if (access.allows("UpdateItem") || access.allows("DeleteItem")) && !access.audit_log_append_only {
            problems.push(format!("{route} may update or delete items but is not denied that on audit-log keys"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn routes_that_read_clinical_data_may_append_each_read_to_the_audit_log_and_write_nothing_else() {
    let template = template();
    let (table_id, _) = the_table(&template);
    for (method, path) in GET_ROUTES_THAT_AUDIT_THEIR_READ.into_iter().filter(|(_, p)| !p.ends_with("/export")) {
        let event = api_routes(&template).into_iter().find(|e| e.method == method && e.path == path).unwrap();
        let access = table_access(&template, &template["Resources"][event.function], table_id);
        assert!(access.allows("PutItem"), "{method} {path} records its read");
        assert!(!access.puts_anywhere, "{method} {path} may put only audit records: {access:?}");
        for write in ["UpdateItem", "DeleteItem", "BatchWriteItem"] {
            assert!(!access.allows(write), "{method} {path} may {write}");
        }
    }
}

#[test]
fn the_render_worker_is_its_own_binary_fed_by_a_queue_that_redrives_to_a_dead_letter_queue() {
    let template = template();
    let workers: Vec<(&str, &Value)> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some("render"))
        .collect();
    assert_eq!(workers.len(), 1, "one function runs the render binary");
    let (id, worker) = workers[0];
    assert!(
        worker["Properties"]["Events"].as_mapping().unwrap().values().all(|e| e["Type"].as_str() == Some("SQS")),
        "{id}: SQS only"
    );
    let event = worker["Properties"]["Events"].as_mapping().unwrap().values().next().unwrap();
    let queue_id = match &event["Properties"]["Queue"] {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            tagged.value.as_str().unwrap().split('.').next().unwrap().to_owned()
        }
        other => panic!("the queue is not a !GetAtt: {other:?}"),
    };
    let failures = &event["Properties"]["FunctionResponseTypes"];
    assert!(
        failures.as_sequence().is_some_and(|t| t.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures"))),
        "partial batch responses"
    );
    let queue = &template["Resources"][queue_id.as_str()];
    assert_eq!(queue["Type"].as_str(), Some("AWS::SQS::Queue"));
    let timeout = worker["Properties"]["Timeout"].as_u64().unwrap_or(10);
    assert!(
        queue["Properties"]["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout,
        "visibility timeout ≥ 6 × function timeout"
    );
    let redrive = &queue["Properties"]["RedrivePolicy"];
    assert!(redrive["maxReceiveCount"].as_u64().is_some_and(|n| (1..=10).contains(&n)));
    assert!(mentions(&redrive["deadLetterTargetArn"], "RenderDeadLetterQueue"));
    for api in api_routes(&template) {
        assert_ne!(
            template["Resources"][api.function]["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some("render"),
            "{}: an API route runs the renderer",
            api.function
        );
    }
}

#[test]
fn the_documents_bucket_is_private_encrypted_kept_and_only_the_render_worker_may_write_to_it() {
    let template = template();
    let buckets = resources_of_type(&template, "AWS::S3::Bucket");
    let ids: Vec<&str> = buckets.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, ["DocumentsBucket", "SiteBucket", "AppBucket"], "buckets: documents, tenant sites, back office");
    let (bucket_id, bucket) = buckets[0];
    let properties = &bucket["Properties"];
    let block = &properties["PublicAccessBlockConfiguration"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    assert!(
        properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            .as_sequence()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(properties["VersioningConfiguration"]["Status"].as_str(), Some("Enabled"));
    assert_eq!(bucket["DeletionPolicy"].as_str(), Some("Retain"));
    // Seven years of write-once PDFs; nobody can shorten it on prod.
    assert_eq!(properties["ObjectLockEnabled"].as_bool(), Some(true));
    let lock = &properties["ObjectLockConfiguration"];
    assert_eq!(lock["ObjectLockEnabled"].as_str(), Some("Enabled"));
    let retention = &lock["Rule"]["DefaultRetention"];
    assert_eq!(retention["Years"].as_u64(), Some(7));
    let mode = serde_yaml::to_string(&retention["Mode"]).unwrap();
    assert!(mode.contains("IsProd") && mode.contains("COMPLIANCE"), "COMPLIANCE on prod: {mode}");
    assert!(!mode.contains("BypassGovernanceRetention"));

    let mut writers = Vec::new();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let text = serde_yaml::to_string(&function["Properties"]["Policies"]).unwrap();
        let managed: Vec<String> = match &function["Properties"]["Policies"] {
            Value::Sequence(items) => items
                .iter()
                .filter_map(ref_target)
                .map(|target| serde_yaml::to_string(&template["Resources"][target]).unwrap())
                .collect(),
            _ => Vec::new(),
        };
        let all = std::iter::once(text).chain(managed).collect::<String>();
        if (all.contains("s3:PutObject\n") || all.contains("s3:PutObject\"") || all.contains("s3:*"))
            && all.contains(bucket_id)
        {
            writers.push(id);
        }
        assert!(!all.contains("s3:*") && !all.contains("s3:Delete*"), "{id} has a wildcard on S3");
        assert!(!all.contains("BypassGovernanceRetention"), "{id} may shorten retention");
        assert!(!all.contains("ObjectLockConfiguration"), "{id} may change the bucket's lock");
    }
    assert_eq!(writers, ["RenderFunction"], "only the render worker writes PDFs (bucket {bucket_id})");
}

/// Per-object retention: who may set or extend a PDF's lock, and who may delete a PDF (each
/// version, refused by S3 while locked).
#[test]
fn only_the_render_worker_and_signing_set_pdf_retention_and_only_erasure_and_the_sweep_delete_pdfs() {
    let template = template();
    let mut retainers = BTreeSet::new();
    let mut deleters = BTreeSet::new();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let actions = actions_on(&template, function, "DocumentsBucket", "s3:");
        if actions.contains("s3:PutObjectRetention") {
            retainers.insert(id);
        }
        if actions.contains("s3:DeleteObjectVersion") || actions.contains("s3:DeleteObject") {
            deleters.insert(id);
            assert!(!actions.contains("s3:DeleteObject"), "{id}: a delete without a version only hides a PDF");
        }
    }
    assert_eq!(retainers, BTreeSet::from(["EsignSignFunction", "RenderFunction"]));
    assert_eq!(deleters, BTreeSet::from(["EraseClientFunction", "ReminderSweepFunction"]));
    // The locks the renderer sets are in the bucket's mode: COMPLIANCE on prod.
    let render = &template["Resources"]["RenderFunction"];
    let mode = serde_yaml::to_string(&render["Properties"]["Environment"]["Variables"]["DOCUMENTS_LOCK_MODE"]).unwrap();
    assert!(mode.contains("IsProd") && mode.contains("COMPLIANCE") && mode.contains("GOVERNANCE"), "{mode}");
}

#[test]
fn only_the_e_sign_and_portal_functions_receive_the_link_secret() {
    let template = template();
    let mut holders: Vec<String> = Vec::new();
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        if !function["Properties"]["Environment"]["Variables"]["MAS_LINK_SECRET_ARN"].is_null() {
            holders.push(id.to_owned());
        }
    }
    for (file, variables) in global_variables() {
        assert!(variables["MAS_LINK_SECRET_ARN"].is_null(), "not in the Globals of {file}");
    }
    let expected: Vec<String> = api_routes(&template)
        .into_iter()
        // E-sign links, and portal sessions (signed with the same secret under another purpose).
        // And waitlist offer links (signed under their own purpose).
        .filter(|e| {
            e.path.starts_with("/v1/esign/")
                || e.path.ends_with("/esign")
                || e.path.contains("/portal/")
                || e.path.ends_with("/waitlist/offer")
                // And review links (signed under their own purpose).
                || e.path == "/v1/public/{tenant_slug}/reviews"
                // And student sessions (signed under their own purpose; the link request only
                // stores a token's hash and emails it).
                || (e.path.starts_with("/v1/learn/") || e.path.ends_with("/learn/session"))
        })
        .map(|e| e.function.to_owned())
        // The notifications worker puts signing links in requests and reminders, and signs
        // unsubscribe links, which the unsubscribe routes check.
        .chain([
            "NotificationsFunction".to_owned(),
            "UnsubscribeFunction".to_owned(),
            "UnsubscribePageFunction".to_owned(),
        ])
        .collect();
    let (mut holders, mut expected) = (holders, expected);
    holders.sort();
    expected.sort();
    assert_eq!(holders, expected);
}

#[test]
fn no_function_holds_a_secret_in_its_environment_and_each_may_read_only_the_secrets_it_is_given() {
    // A value in `Environment` (even from a dynamic reference) shows in the console and in
    // GetFunctionConfiguration; an ARN does not, and IAM decides who may read it.
    const SECRETS: [&str; 5] = [
        "MAS_LINK_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_CONNECT_WEBHOOK_SECRET",
        "TWILIO_AUTH_TOKEN",
    ];
    let template = template();
    for file in stacks().files() {
        let text = std::fs::read_to_string(repo_root().join(&file.path)).unwrap();
        assert!(
            !text.contains("resolve:secretsmanager"),
            "{}: a dynamic reference puts the value in the configuration",
            file.path.display()
        );
    }
    // Which secrets each managed policy lets a function read.
    let readable = |policy: &Value| -> BTreeSet<String> {
        let Some(id) = ref_target(policy) else { return BTreeSet::new() };
        let statements = &template["Resources"][id]["Properties"]["PolicyDocument"]["Statement"];
        let mut secrets = BTreeSet::new();
        for statement in statements.as_sequence().into_iter().flatten() {
            let actions = &statement["Action"];
            let reads = actions.as_str() == Some("secretsmanager:GetSecretValue")
                || actions
                    .as_sequence()
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("secretsmanager:GetSecretValue")));
            if !reads {
                continue;
            }
            let resources = match &statement["Resource"] {
                Value::Sequence(list) => list.clone(),
                other => vec![other.clone()],
            };
            secrets.extend(resources.iter().filter_map(ref_target).map(str::to_owned));
        }
        secrets
    };
    let mut checked = 0;
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let variables = &function["Properties"]["Environment"]["Variables"];
        let mut given = BTreeSet::new();
        for name in SECRETS {
            assert!(variables[name].is_null(), "{id}: {name} is a plain environment variable");
            if let Some(secret) = ref_target(&variables[format!("{name}_ARN").as_str()]) {
                assert_eq!(
                    template["Resources"][secret]["Type"].as_str(),
                    Some("AWS::SecretsManager::Secret"),
                    "{id}: {name}_ARN names {secret}, which is not a secret"
                );
                given.insert(secret.to_owned());
            }
        }
        let policies = function["Properties"]["Policies"].as_sequence().cloned().unwrap_or_default();
        let may_read: BTreeSet<String> = policies.iter().flat_map(readable).collect();
        assert!(given.is_subset(&may_read), "{id}: given {given:?} but may read only {may_read:?}");
        // A policy may grant a pair (both Stripe secrets) where a function uses one, never more.
        for secret in &may_read {
            let family = |s: &str| s.starts_with("Stripe");
            assert!(
                given.contains(secret) || given.iter().any(|g| family(g) && family(secret)),
                "{id} may read {secret}, which it is not given"
            );
        }
        checked += usize::from(!given.is_empty());
    }
    assert!(checked >= 10, "expected the link, Stripe and Twilio holders, found {checked}");
}

#[test]
fn only_the_medical_booking_sale_and_partner_secret_routes_may_use_the_clinical_key_which_is_rotated_and_retained() {
    let template = template();
    let keys = resources_of_type(&template, "AWS::KMS::Key");
    assert_eq!(keys.len(), 1, "expected the one clinical data key, found {}", keys.len());
    let (key_id, key) = keys[0];
    assert_eq!(key["Properties"]["EnableKeyRotation"].as_bool(), Some(true), "{key_id} rotates");
    assert_eq!(key["DeletionPolicy"].as_str(), Some("Retain"), "{key_id} outlives the stack");
    assert_eq!(key["UpdateReplacePolicy"].as_str(), Some("Retain"));

    let mut users = BTreeMap::new();
    for event in api_routes(&template) {
        let actions = kms_actions(&template, &template["Resources"][event.function], key_id);
        if !actions.is_empty() {
            users.insert((event.method.clone(), event.path.clone()), actions);
        }
    }
    let decrypt = BTreeSet::from(["kms:Decrypt".to_owned()]);
    let make_and_decrypt = BTreeSet::from(["kms:Decrypt".to_owned(), "kms:GenerateDataKey".to_owned()]);
    let expected = BTreeMap::from([
        (("GET".to_owned(), "/v1/clients/{id}/medical".to_owned()), decrypt.clone()),
        // The client's export decrypts their questionnaires; erasure needs no key at all.
        (("GET".to_owned(), "/v1/clients/{id}/export".to_owned()), decrypt.clone()),
        (("PUT".to_owned(), "/v1/clients/{id}/medical".to_owned()), make_and_decrypt.clone()),
        // Booking screens against the client's questionnaire and records answers given with it.
        (("POST".to_owned(), "/v1/appointments".to_owned()), make_and_decrypt.clone()),
        (("POST".to_owned(), "/v1/public/{tenant_slug}/appointments".to_owned()), make_and_decrypt.clone()),
        // A sale that sells a gift card seals its code for the recipient's email.
        (("POST".to_owned(), "/v1/sales".to_owned()), make_and_decrypt.clone()),
        // So does the webhook that issues a gift card bought online.
        (("POST".to_owned(), "/webhooks/stripe".to_owned()), make_and_decrypt.clone()),
        // A partner endpoint's signing secret is sealed with the tenant's key when it is made or
        // rolled, and opened to sign a ping or a replay.
        (("POST".to_owned(), "/v1/webhook-endpoints".to_owned()), make_and_decrypt.clone()),
        (("POST".to_owned(), "/v1/webhook-endpoints/{id}/roll-secret".to_owned()), make_and_decrypt),
        (("POST".to_owned(), "/v1/webhook-endpoints/{id}/ping".to_owned()), decrypt.clone()),
        // Revoking a certificate signs the clinic's status list again with its credential key,
        // sealed under the clinic's data key.
        (("POST".to_owned(), "/v1/certificates/{number}/revoke".to_owned()), decrypt.clone()),
        (("POST".to_owned(), "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay".to_owned()), decrypt),
    ]);
    assert_eq!(users, expected, "routes allowed to use {key_id}, and what for");
}

/// The `kms:` actions a function's policies allow on the KMS key `key_id`.
fn kms_actions(template: &Value, function: &Value, key_id: &str) -> BTreeSet<String> {
    actions_on(template, function, key_id, "kms:")
}

/// The actions of one service (`prefix`, such as `kms:`) a function's policies (inline, or
/// managed policies of this template) allow on resource `resource_id`.
fn actions_on(template: &Value, function: &Value, resource_id: &str, prefix: &str) -> BTreeSet<String> {
    let policies = match &function["Properties"]["Policies"] {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    let mut actions = BTreeSet::new();
    for policy in policies {
        let document = match ref_target(policy) {
            Some(target) => &template["Resources"][target]["Properties"]["PolicyDocument"],
            None => policy,
        };
        let statements = match &document["Statement"] {
            Value::Sequence(items) => items.iter().collect(),
            single => vec![single],
        };
        for statement in statements {
            if statement["Effect"].as_str() != Some("Allow") || !mentions(&statement["Resource"], resource_id) {
                continue;
            }
            let granted: Vec<&str> = match &statement["Action"] {
                Value::String(action) => vec![action.as_str()],
                Value::Sequence(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            actions.extend(granted.into_iter().filter(|a| a.starts_with(prefix)).map(str::to_owned));
        }
    }
    actions
}

/// Routes that move money: they call Stripe, so only their functions get its secrets.
const MONEY_ROUTES: [(&str, &str); 21] = [
    // A place on a course bought on the clinic's site: its hosted payment page.
    ("POST", "/v1/public/{tenant_slug}/courses/{course_id}/cohorts/{cohort_id}/enrol"),
    // Memberships: the sign-up page (a subscription checkout), and pausing, resuming and
    // cancelling the subscription (by the clinic, or by the client in the portal).
    ("POST", "/v1/clients/{id}/memberships"),
    ("POST", "/v1/memberships/{id}/actions"),
    ("POST", "/v1/portal/memberships/{id}/cancel"),
    // Card readers at the desk (Stripe Terminal) and the card payments taken on them or on a
    // client's saved card.
    ("POST", "/v1/card-readers"),
    ("DELETE", "/v1/card-readers/{id}"),
    ("POST", "/v1/desk-payments"),
    ("POST", "/v1/desk-payments/{id}/cancel"),
    ("POST", "/v1/payments/deposit-intent"),
    // A gift card bought on the clinic's site: its intent.
    ("POST", "/v1/gift-cards/purchase"),
    // Makes the intent of a payment link the client pays in the portal, and stops its page.
    ("POST", "/v1/portal/balances/{link_id}/intent"),
    // Makes (and re-reads) the clinic's connected account and its onboarding link at Stripe.
    ("POST", "/v1/payments/connect"),
    // The till checks a card payment with the gateway, and refunds cards through it.
    ("POST", "/v1/sales"),
    ("POST", "/v1/sales/{id}/void"),
    ("POST", "/v1/sales/{id}/refund"),
    ("POST", "/v1/payments/finalize"),
    ("POST", "/v1/payments/{id}/refund"),
    // Cancelling or a no-show refunds the deposit less the policy's fee (staff, and clients in the portal).
    ("PATCH", "/v1/appointments/{id}"),
    ("PATCH", "/v1/portal/appointments/{id}"),
    ("POST", "/webhooks/stripe"),
    ("POST", "/webhooks/stripe/connect"),
];

/// Routes that announce what they did as domain events (brand and catalog changes announce
/// `site.changed`, which republishes the clinic's site).
const PUBLISHING_ROUTES: [(&str, &str); 46] = [
    // An enrolment confirmed at once (at the desk, or a free course on the site):
    // academy.enrolment_confirmed.
    ("POST", "/v1/cohorts/{id}/enrolments"),
    // A sign-off that meets a student's last requirement: academy.enrolment_completed.
    ("POST", "/v1/cohorts/{id}/enrolments/{enrolment_id}/logbook"),
    ("POST", "/v1/public/{tenant_slug}/courses/{course_id}/cohorts/{cohort_id}/enrol"),
    // The student's last lesson completed or last quiz passed: academy.coursework_done.
    ("POST", "/v1/learn/cohorts/{cohort_id}/lessons/{module}/{lesson}/complete"),
    ("POST", "/v1/learn/cohorts/{cohort_id}/quizzes/{quiz_id}/attempts/{number}/submit"),
    // Reviews: what the site shows changed (site.changed republishes it).
    ("POST", "/v1/reviews/{id}/publish"),
    ("POST", "/v1/reviews/{id}/reject"),
    ("PUT", "/v1/reviews/{id}/reply"),
    // A delivery or an adjustment may take a level across its reorder level (`stock.low`).
    ("POST", "/v1/products/{id}/receive"),
    ("POST", "/v1/products/{id}/adjust"),
    // A membership ended by the clinic or the client (membership.ended).
    ("POST", "/v1/memberships/{id}/actions"),
    ("POST", "/v1/portal/memberships/{id}/cancel"),
    // Waitlist: a new client (client.created), an offer given back (waitlist.released), an offer
    // accepted (booking.confirmed).
    ("POST", "/v1/public/{tenant_slug}/waitlist"),
    ("POST", "/v1/public/{tenant_slug}/waitlist/offer"),
    ("DELETE", "/v1/waitlist/{id}"),
    ("DELETE", "/v1/portal/waitlist/{id}"),
    // A desk card payment succeeded (a saved card at once; a reader's when a cancel finds it paid).
    ("POST", "/v1/desk-payments"),
    ("POST", "/v1/desk-payments/{id}/cancel"),
    // A connected account made or changed: payments.account_updated.
    ("POST", "/v1/payments/connect"),
    ("POST", "/webhooks/stripe/connect"),
    ("POST", "/v1/sales"),
    ("POST", "/v1/sales/{id}/void"),
    ("POST", "/v1/sales/{id}/refund"),
    ("POST", "/v1/appointments"),
    ("POST", "/v1/auth/verify-email"),
    ("POST", "/v1/brand/domain/verify"),
    ("POST", "/v1/public/{tenant_slug}/appointments"),
    ("POST", "/v1/clients"),
    ("PATCH", "/v1/portal/appointments/{id}"),
    ("PUT", "/v1/brand"),
    ("POST", "/v1/locations"),
    ("PUT", "/v1/locations/{id}"),
    ("DELETE", "/v1/locations/{id}"),
    ("POST", "/v1/services"),
    ("PUT", "/v1/services/{id}"),
    ("DELETE", "/v1/services/{id}"),
    ("POST", "/v1/practitioners"),
    ("PUT", "/v1/practitioners/{id}"),
    ("DELETE", "/v1/practitioners/{id}"),
    ("POST", "/v1/documents/generate"),
    ("POST", "/v1/documents/{id}/esign"),
    ("POST", "/v1/esign/{token}/sign"),
    ("POST", "/v1/payments/finalize"),
    ("POST", "/v1/payments/{id}/refund"),
    ("PATCH", "/v1/appointments/{id}"),
    ("POST", "/webhooks/stripe"),
];

fn routes(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect()
}

#[test]
fn only_the_routes_that_move_money_get_the_stripe_secrets_and_those_come_from_no_echo_parameters_by_way_of_secrets_manager()
 {
    let template = template();
    for (file, variables) in global_variables() {
        for name in ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "MAS_PAYMENTS"] {
            assert!(variables[name].is_null(), "{name} is not in the Globals of {file}");
        }
    }
    let mut with_secrets = BTreeSet::new();
    for event in api_routes(&template) {
        let variables = &template["Resources"][event.function]["Properties"]["Environment"]["Variables"];
        if variables["STRIPE_SECRET_KEY_ARN"].is_null() && variables["STRIPE_WEBHOOK_SECRET_ARN"].is_null() {
            continue;
        }
        with_secrets.insert((event.method.clone(), event.path.clone()));
        assert_eq!(variables["MAS_PAYMENTS"].as_str(), Some("stripe"), "{}", event.function);
        for name in ["STRIPE_SECRET_KEY_ARN", "STRIPE_WEBHOOK_SECRET_ARN"] {
            let secret =
                ref_target(&variables[name]).unwrap_or_else(|| panic!("{}: {name} is not a !Ref", event.function));
            let secret_string = &template["Resources"][secret]["Properties"]["SecretString"];
            let parameter = ref_target(secret_string).unwrap_or_else(|| panic!("{secret}: its value is not a !Ref"));
            let declared = &template["Parameters"][parameter];
            assert_eq!(declared["NoEcho"].as_bool(), Some(true), "{parameter} must be NoEcho");
            assert!(declared["Default"].is_null(), "{parameter} must have no default: secrets come at deploy time");
        }
    }
    assert_eq!(with_secrets, routes(&MONEY_ROUTES));
    // The Connect endpoint's secret goes to its webhook alone, from a NoEcho parameter.
    let mut connect_holders = BTreeSet::new();
    for event in api_routes(&template) {
        let variables = &template["Resources"][event.function]["Properties"]["Environment"]["Variables"];
        let Some(secret) = ref_target(&variables["STRIPE_CONNECT_WEBHOOK_SECRET_ARN"]) else { continue };
        connect_holders.insert((event.method.clone(), event.path.clone()));
        let parameter = ref_target(&template["Resources"][secret]["Properties"]["SecretString"]).unwrap();
        assert_eq!(parameter, "StripeConnectWebhookSecret");
        assert_eq!(template["Parameters"][parameter]["NoEcho"].as_bool(), Some(true));
        assert!(template["Parameters"][parameter]["Default"].is_null());
    }
    assert_eq!(connect_holders, routes(&[("POST", "/webhooks/stripe/connect")]));
    for file in stacks().files() {
        let text = std::fs::read_to_string(repo_root().join(&file.path)).unwrap();
        for prefix in ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"] {
            let literal = text
                .match_indices(prefix)
                .any(|(at, _)| text[at + prefix.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric()));
            assert!(!literal, "{} holds what looks like a Stripe secret ({prefix}…)", file.path.display());
        }
    }
}

#[test]
fn the_routes_that_answer_card_intents_to_browsers_and_only_those_get_the_publishable_key_from_its_parameter() {
    let template = template();
    for (file, variables) in global_variables() {
        assert!(
            variables["STRIPE_PUBLISHABLE_KEY"].is_null(),
            "STRIPE_PUBLISHABLE_KEY is not in the Globals of {file}"
        );
    }
    let parameter = &template["Parameters"]["StripePublishableKey"];
    assert!(parameter["Default"].is_null(), "the publishable key is given at deploy time, with the secret key");
    assert!(parameter["NoEcho"].is_null(), "a publishable key is public: it is sent to every visitor who pays");
    let mut holders = BTreeSet::new();
    for event in api_routes(&template) {
        let variables = &template["Resources"][event.function]["Properties"]["Environment"]["Variables"];
        let key = &variables["STRIPE_PUBLISHABLE_KEY"];
        if key.is_null() {
            continue;
        }
        assert_eq!(ref_target(key), Some("StripePublishableKey"), "{}: the parameter, as given", event.function);
        assert_eq!(
            variables["MAS_PAYMENTS"].as_str(),
            Some("stripe"),
            "{}: the key goes with the Stripe gateway",
            event.function
        );
        holders.insert((event.method.clone(), event.path.clone()));
    }
    assert_eq!(
        holders,
        routes(&[
            ("POST", "/v1/payments/deposit-intent"),
            ("POST", "/v1/portal/balances/{link_id}/intent"),
            ("POST", "/v1/gift-cards/purchase")
        ])
    );
}

#[test]
fn the_functions_that_make_charges_get_the_platforms_application_fee_from_its_parameter() {
    let template = template();
    let parameter = &template["Parameters"]["ApplicationFeeBps"];
    assert_eq!((parameter["MinValue"].as_u64(), parameter["MaxValue"].as_u64()), (Some(0), Some(10_000)));
    let fee = |function: &Value| function["Properties"]["Environment"]["Variables"]["MAS_APPLICATION_FEE_BPS"].clone();
    let mut holders = BTreeSet::new();
    for event in api_routes(&template) {
        let variable = fee(&template["Resources"][event.function]);
        if variable.is_null() {
            continue;
        }
        assert_eq!(ref_target(&variable), Some("ApplicationFeeBps"), "{}", event.function);
        holders.insert((event.method.clone(), event.path.clone()));
    }
    // Deposits, balances, links paid in the portal, the desk's card payments and gift cards bought
    // on the site; fees and
    // payment links' pages are charged by the notifications worker.
    let charging = [
        ("POST", "/v1/payments/deposit-intent"),
        ("POST", "/v1/payments/finalize"),
        ("POST", "/v1/portal/balances/{link_id}/intent"),
        ("POST", "/v1/gift-cards/purchase"),
        ("POST", "/v1/desk-payments"),
        // A membership's monthly charges go to the clinic's account less the platform's fee.
        ("POST", "/v1/clients/{id}/memberships"),
        // A place on a course, paid on its hosted page.
        ("POST", "/v1/public/{tenant_slug}/courses/{course_id}/cohorts/{cohort_id}/enrol"),
    ];
    assert_eq!(holders, routes(&charging));
    let (id, worker) = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some("notifications"))
        .expect("the notifications worker");
    assert_eq!(ref_target(&fee(worker)), Some("ApplicationFeeBps"), "{id}");
}

#[test]
fn routes_that_announce_domain_events_and_only_those_may_put_them_on_the_bus() {
    let template = template();
    let buses = resources_of_type(&template, "AWS::Events::EventBus");
    assert_eq!(buses.len(), 1, "one event bus");
    let bus = buses[0].0;
    for (id, function) in resources_of_type(&template, "AWS::Serverless::Function") {
        let variable = &function["Properties"]["Environment"]["Variables"]["EVENT_BUS_NAME"];
        assert_eq!(ref_target(variable), Some(bus), "{id}: EVENT_BUS_NAME");
    }
    let publishers: BTreeSet<(String, String)> = api_routes(&template)
        .into_iter()
        .filter(|event| may_put_events(&template, &template["Resources"][event.function], bus))
        .map(|event| (event.method, event.path))
        .collect();
    assert_eq!(publishers, routes(&PUBLISHING_ROUTES));
}

#[test]
fn the_stripe_webhook_runs_its_own_binary_and_parks_failing_events_in_a_dead_letter_queue() {
    let template = template();
    let events = api_routes(&template);
    let webhook = events.iter().find(|e| e.path == "/webhooks/stripe").expect("a webhook function").function;
    let connect = events.iter().find(|e| e.path == "/webhooks/stripe/connect").expect("a Connect webhook").function;
    for event in &events {
        let binary = template["Resources"][event.function]["Metadata"]["BuildProperties"]["Binary"].as_str();
        let expected = if event.function == webhook || event.function == connect {
            "stripe_webhook"
        } else if event.path.starts_with("/webhooks/twilio") {
            "twilio_webhook"
        } else if template["Resources"][event.function]["Properties"]["Environment"]["Variables"]["MAS_PAYMENTS"]
            .as_str()
            == Some("stripe")
        {
            // Only the routes that move money link Stripe.
            "api_payments"
        } else {
            "api"
        };
        assert_eq!(binary, Some(expected), "{}", event.function);
    }
    let function = &template["Resources"][webhook]["Properties"];
    assert_eq!(function["DeadLetterQueue"]["Type"].as_str(), Some("SQS"));
    let connect_function = &template["Resources"][connect]["Properties"];
    assert_eq!(connect_function["DeadLetterQueue"], function["DeadLetterQueue"], "one dead-letter queue for both");
    let queues = resources_of_type(&template, "AWS::SQS::Queue");
    let (dlq, _) = *queues
        .iter()
        .find(|(id, _)| mentions(&function["DeadLetterQueue"]["TargetArn"], id))
        .expect("the DLQ is a queue here");
    assert!(function["EventInvokeConfig"]["MaximumRetryAttempts"].as_u64().is_some_and(|n| n <= 2));
    // Parked events reach the same queue through the bus.
    let rules = resources_of_type(&template, "AWS::Events::Rule");
    let parked = rules.iter().find(|(_, rule)| {
        let pattern = &rule["Properties"]["EventPattern"];
        pattern["detail-type"]
            .as_sequence()
            .is_some_and(|kinds| kinds.iter().any(|k| k.as_str() == Some("stripe.webhook_parked")))
            && pattern["source"].as_sequence().is_some_and(|sources| sources.iter().any(|s| s.as_str() == Some("mas")))
    });
    let (rule_id, rule) = parked.expect("a rule for stripe.webhook_parked");
    assert!(
        rule["Properties"]["Targets"].as_sequence().unwrap().iter().any(|t| mentions(&t["Arn"], dlq)),
        "{rule_id} targets {dlq}"
    );
    let policies = resources_of_type(&template, "AWS::SQS::QueuePolicy");
    assert!(
        policies
            .iter()
            .any(|(_, p)| mentions(&p["Properties"]["Queues"], dlq)
                && mentions(&p["Properties"]["PolicyDocument"], rule_id)),
        "the bus may send to {dlq} for {rule_id} only"
    );
}

#[test]
fn each_route_function_runs_the_binary_that_mounts_the_route_group_holding_its_route() {
    use mas_http::{Core, Money, StripeWebhook, TwilioWebhook, route_table_of};
    let template = template();
    let groups = [
        ("api", route_table_of::<Core>()),
        ("api_payments", route_table_of::<Money>()),
        ("stripe_webhook", route_table_of::<StripeWebhook>()),
        ("twilio_webhook", route_table_of::<TwilioWebhook>()),
    ];
    // The groups split the table: every route in exactly one.
    let mut grouped: Vec<_> = groups.iter().flat_map(|(_, routes)| routes.iter().cloned()).collect();
    grouped.sort();
    assert_eq!(grouped, route_table(), "the route groups hold each route of the table once");
    for event in api_routes(&template) {
        let binary = template["Resources"][event.function]["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no Binary", event.function));
        let (_, routes) = groups
            .iter()
            .find(|(name, _)| *name == binary)
            .unwrap_or_else(|| panic!("{}: {binary} serves no route group", event.function));
        assert!(
            routes.iter().any(|route| route.method == event.method && route.path == event.path),
            "{}: {} {} is not in the route group {binary} mounts",
            event.function,
            event.method,
            event.path
        );
    }
}

/// Whether a function's policies allow `events:PutEvents` on the bus `bus`.
fn may_put_events(template: &Value, function: &Value, bus: &str) -> bool {
    let policies = match &function["Properties"]["Policies"] {
        Value::Sequence(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        single => vec![single],
    };
    policies.into_iter().any(|policy| {
        let document = match ref_target(policy) {
            Some(target) => &template["Resources"][target]["Properties"]["PolicyDocument"],
            None => policy,
        };
        let statements = match &document["Statement"] {
            Value::Sequence(items) => items.iter().collect(),
            single => vec![single],
        };
        statements.into_iter().any(|statement| {
            let actions = match &statement["Action"] {
                Value::String(action) => vec![action.as_str()],
                Value::Sequence(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            statement["Effect"].as_str() == Some("Allow")
                && actions.contains(&"events:PutEvents")
                && mentions(&statement["Resource"], bus)
        })
    })
}

// ---- reading the templates: the root and its nested stacks --------------------------------------

/// The folder of the nested templates, relative to the repository root.
const NESTED_STACKS_DIR: &str = "infra/stacks";

/// One template file.
struct TemplateFile {
    /// Relative to the repository root.
    path: PathBuf,
    template: Value,
}

impl TemplateFile {
    fn read(path: &Path) -> TemplateFile {
        let full = repo_root().join(path);
        let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()));
        let template = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", full.display()));
        TemplateFile { path: path.to_owned(), template }
    }

    /// The folder paths in this template are relative to (CodeUri, Location), from the repository root.
    fn folder(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new(""))
    }
}

/// `template.yaml` and the nested stacks it names: `AWS::Serverless::Application` resources whose
/// `Location` is a local template (what `sam build` and `sam package` follow).
struct Stacks {
    root: TemplateFile,
    /// The logical id of each nested stack in the root, and its template.
    nested: Vec<(String, TemplateFile)>,
}

fn stacks() -> Stacks {
    let root = TemplateFile::read(Path::new("template.yaml"));
    let nested = resources_of_type(&root.template, "AWS::Serverless::Application")
        .into_iter()
        .map(|(id, application)| {
            let location = application["Properties"]["Location"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: Location is not a path to a template in this repository"));
            let path = normalize(&root.folder().join(location))
                .unwrap_or_else(|| panic!("{id}: Location {location} is outside the repository"));
            assert!(repo_root().join(&path).is_file(), "{id}: Location {location} is not a file");
            (id.to_owned(), TemplateFile::read(&path))
        })
        .collect();
    Stacks { root, nested }
}

impl Stacks {
    fn files(&self) -> impl Iterator<Item = &TemplateFile> {
        std::iter::once(&self.root).chain(self.nested.iter().map(|(_, file)| file))
    }

    /// The parameters the root passes to its nested stack `id`.
    fn arguments(&self, id: &str) -> &Mapping {
        static EMPTY: std::sync::OnceLock<Mapping> = std::sync::OnceLock::new();
        self.root.template["Resources"][id]["Properties"]["Parameters"]
            .as_mapping()
            .unwrap_or_else(|| EMPTY.get_or_init(Mapping::new))
    }

    /// A nested template with every use of a parameter the root passes replaced by the root's
    /// value for it: what CloudFormation evaluates, in the root's terms.
    fn resolved(&self, id: &str, file: &TemplateFile) -> Value {
        let declared = file.template["Parameters"].as_mapping().cloned().unwrap_or_default();
        let arguments: BTreeMap<&str, &Value> = self
            .arguments(id)
            .iter()
            .filter(|(name, _)| declared.contains_key(*name))
            .map(|(name, value)| (name.as_str().expect("parameter names are strings"), value))
            .collect();
        substitute(&file.template, &arguments)
    }

    /// Every stack's resources in one template, as the tests read the deployment: the root's
    /// `Parameters` and `Outputs`; the root's resources and each nested stack's with its
    /// parameters resolved (see [`Stacks::resolved`]); each function with its own template's
    /// Globals applied as SAM applies them, and its CodeUri taken relative to the repository root.
    /// No logical id may be in two templates (the tests find resources by id).
    fn merged(&self) -> Value {
        let mut resources = Mapping::new();
        let mut origin: BTreeMap<String, PathBuf> = BTreeMap::new();
        let templates = std::iter::once((self.root.template.clone(), &self.root))
            .chain(self.nested.iter().map(|(id, file)| (self.resolved(id, file), file)));
        for (template, file) in templates {
            let globals = &template["Globals"]["Function"];
            for (id, resource) in template["Resources"].as_mapping().expect("a template has Resources") {
                let name = id.as_str().expect("logical ids are strings").to_owned();
                if let Some(first) = origin.insert(name.clone(), file.path.clone()) {
                    panic!("{name} is in both {} and {}", first.display(), file.path.display());
                }
                let mut resource = resource.clone();
                if resource["Type"].as_str() == Some("AWS::Serverless::Function") {
                    let mut properties = with_globals(globals, &resource["Properties"]);
                    if let Some(code) = properties.get("CodeUri").and_then(Value::as_str) {
                        let code = normalize(&file.folder().join(code))
                            .unwrap_or_else(|| panic!("{name}: CodeUri {code} is outside the repository"));
                        let code = if code.as_os_str().is_empty() { ".".into() } else { code.display().to_string() };
                        properties["CodeUri"] = Value::String(code);
                    }
                    resource["Properties"] = properties;
                }
                resources.insert(id.clone(), resource);
            }
        }
        let mut merged = Mapping::new();
        merged.insert("Parameters".into(), self.root.template["Parameters"].clone());
        merged.insert("Resources".into(), Value::Mapping(resources));
        merged.insert("Outputs".into(), self.root.template["Outputs"].clone());
        Value::Mapping(merged)
    }
}

/// The deployment as one template ([`Stacks::merged`]).
fn template() -> Value {
    stacks().merged()
}

/// The `Environment.Variables` of the function Globals of every template, by file.
fn global_variables() -> Vec<(String, Value)> {
    stacks()
        .files()
        .map(|file| {
            let variables = file.template["Globals"]["Function"]["Environment"]["Variables"].clone();
            (file.path.display().to_string(), variables)
        })
        .collect()
}

/// `path` with `.` and `..` taken away (lexically), or None when it leaves the repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// A function's properties with its template's `Globals.Function` applied as SAM applies them:
/// maps merge (the function's own entries win), lists add up, anything else the function sets
/// replaces the global value.
fn with_globals(globals: &Value, own: &Value) -> Value {
    match (globals, own) {
        (Value::Mapping(globals), Value::Mapping(own)) => {
            let mut merged = globals.clone();
            for (key, value) in own {
                let value = match globals.get(key) {
                    Some(global) => with_globals(global, value),
                    None => value.clone(),
                };
                merged.insert(key.clone(), value);
            }
            Value::Mapping(merged)
        }
        (Value::Sequence(globals), Value::Sequence(own)) => {
            Value::Sequence(globals.iter().chain(own).cloned().collect())
        }
        (_, Value::Null) => globals.clone(),
        (_, own) => own.clone(),
    }
}

/// `value` with `!Ref P` replaced by `arguments[P]`, and `${P}` in `!Sub` texts by that value
/// written as a `!Sub` variable (`${Id}`, `${Id.Attribute}`) or text.
fn substitute(value: &Value, arguments: &BTreeMap<&str, &Value>) -> Value {
    let argument = |target: &Value| target.as_str().and_then(|name| arguments.get(name)).map(|v| (*v).clone());
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => argument(&tagged.value).unwrap_or_else(|| value.clone()),
        Value::Tagged(tagged) if tagged.tag == "Sub" => Value::Tagged(Box::new(TaggedValue {
            tag: tagged.tag.clone(),
            value: substitute_sub(&tagged.value, arguments),
        })),
        Value::Tagged(tagged) => Value::Tagged(Box::new(TaggedValue {
            tag: tagged.tag.clone(),
            value: substitute(&tagged.value, arguments),
        })),
        Value::Mapping(mapping) if mapping.len() == 1 && mapping.contains_key("Ref") => {
            argument(&mapping["Ref"]).unwrap_or_else(|| value.clone())
        }
        Value::Mapping(mapping) if mapping.len() == 1 && mapping.contains_key("Fn::Sub") => {
            let mut replaced = Mapping::new();
            replaced.insert("Fn::Sub".into(), substitute_sub(&mapping["Fn::Sub"], arguments));
            Value::Mapping(replaced)
        }
        Value::Mapping(mapping) => {
            Value::Mapping(mapping.iter().map(|(key, inner)| (key.clone(), substitute(inner, arguments))).collect())
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(|item| substitute(item, arguments)).collect()),
        other => other.clone(),
    }
}

/// The argument of a `!Sub` (a text, or a text and its own variables) with parameters replaced.
fn substitute_sub(sub: &Value, arguments: &BTreeMap<&str, &Value>) -> Value {
    let (text, variables) = match sub {
        Value::Sequence(parts) => (parts.first().and_then(Value::as_str), parts.get(1)),
        other => (other.as_str(), None),
    };
    let text = text.expect("a !Sub has a text");
    let own = |name: &str| variables.and_then(Value::as_mapping).is_some_and(|v| v.contains_key(name));
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').map(|i| at + i).expect("an unclosed ${ in a !Sub");
        let name = &rest[at + 2..end];
        match arguments.get(name) {
            Some(argument) if !own(name) => out.push_str(&sub_variable(argument)),
            _ => out.push_str(&rest[at..=end]),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    match variables {
        Some(variables) => Value::Sequence(vec![Value::String(out), substitute(variables, arguments)]),
        None => Value::String(out),
    }
}

/// A parameter's value as it reads inside a `!Sub` text.
fn sub_variable(argument: &Value) -> String {
    if let Some(target) = ref_target(argument) {
        return format!("${{{target}}}");
    }
    match argument {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(dotted) => format!("${{{dotted}}}"),
            Value::Sequence(parts) => format!(
                "${{{}}}",
                parts.iter().map(|p| p.as_str().expect("GetAtt parts are strings")).collect::<Vec<_>>().join(".")
            ),
            other => panic!("cannot write !GetAtt {other:?} into a !Sub"),
        },
        Value::Tagged(tagged) if tagged.tag == "Sub" && tagged.value.is_string() => {
            tagged.value.as_str().unwrap().to_owned()
        }
        other => panic!("cannot write {other:?} into a !Sub"),
    }
}

fn resources(template: &Value) -> &Mapping {
    template["Resources"].as_mapping().expect("the template has Resources")
}

fn resources_of_type<'t>(template: &'t Value, resource_type: &str) -> Vec<(&'t str, &'t Value)> {
    resources(template)
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(resource_type))
        .map(|(id, resource)| (id.as_str().expect("logical ids are strings"), resource))
        .collect()
}

fn the_table(template: &Value) -> (&str, &Value) {
    let tables = resources_of_type(template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "expected the single table, found {}", tables.len());
    tables[0]
}

fn key_schema(schema: &Value) -> Vec<(&str, &str)> {
    schema
        .as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|key| (key["AttributeName"].as_str().unwrap(), key["KeyType"].as_str().unwrap()))
        .collect()
}

/// One route of the HTTP API: an `AWS::ApiGatewayV2::Route`, the integration it targets and the
/// function that integration invokes.
struct ApiRoute<'t> {
    route: &'t str,
    function: &'t str,
    method: String,
    path: String,
    /// `AuthorizationType` as written (API Gateway's default is `NONE`).
    authorization: Option<&'t str>,
    authorizer_id: &'t Value,
    api_id: &'t Value,
    integration: &'t Value,
}

/// Every route, panicking on one that does not lead to exactly one function of the template.
fn api_routes(template: &Value) -> Vec<ApiRoute<'_>> {
    let functions = resources_of_type(template, "AWS::Serverless::Function");
    let mut routes = Vec::new();
    for (route, resource) in resources_of_type(template, "AWS::ApiGatewayV2::Route") {
        let properties = &resource["Properties"];
        let key = properties["RouteKey"].as_str().unwrap_or_else(|| panic!("{route}: RouteKey is not a text"));
        // `$default` is the catch-all route, which no route of the table matches.
        let (method, path) = key.split_once(' ').unwrap_or(("ANY", key));
        let integration_id = intrinsic_text(&properties["Target"])
            .and_then(|target| target.strip_prefix("integrations/${"))
            .and_then(|target| target.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{route}: Target is not !Sub \"integrations/${{SomeIntegration}}\""));
        let integration = &template["Resources"][integration_id];
        assert_eq!(
            integration["Type"].as_str(),
            Some("AWS::ApiGatewayV2::Integration"),
            "{route}: its target {integration_id} is not an integration of the same templates"
        );
        let invoked: Vec<&str> = functions
            .iter()
            .filter(|(id, _)| mentions(&integration["Properties"]["IntegrationUri"], id))
            .map(|(id, _)| *id)
            .collect();
        let &[function] = invoked.as_slice() else {
            panic!("{route}: {integration_id} invokes {invoked:?}, not one function of the templates");
        };
        routes.push(ApiRoute {
            route,
            function,
            method: method.to_owned(),
            path: path.to_owned(),
            authorization: properties["AuthorizationType"].as_str(),
            authorizer_id: &properties["AuthorizerId"],
            api_id: &properties["ApiId"],
            integration,
        });
    }
    routes
}

/// The logical id in `!Ref Id` or `{ Ref: Id }`.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        Value::Mapping(mapping) if mapping.len() == 1 => mapping.get("Ref").and_then(Value::as_str),
        _ => None,
    }
}

/// The text of a plain string or of a `!Sub` / `Fn::Sub` template.
fn intrinsic_text(value: &Value) -> Option<&str> {
    match value {
        Value::String(text) => Some(text),
        Value::Tagged(tagged) if tagged.tag == "Sub" => sub_template(&tagged.value),
        Value::Mapping(mapping) => mapping.get("Fn::Sub").and_then(sub_template),
        _ => None,
    }
}

fn sub_template(value: &Value) -> Option<&str> {
    match value {
        Value::Sequence(parts) => parts.first().and_then(Value::as_str),
        other => other.as_str(),
    }
}

/// Whether `value` refers to resource `id` through Ref, GetAtt or Sub, at any depth.
fn mentions(value: &Value, id: &str) -> bool {
    let names = |target: &Value| match target {
        Value::String(text) => text == id || text.starts_with(&format!("{id}.")),
        Value::Sequence(parts) => parts.first().and_then(Value::as_str) == Some(id),
        _ => false,
    };
    let sub_names = |target: &Value| {
        sub_template(target)
            .is_some_and(|text| text.contains(&format!("${{{id}}}")) || text.contains(&format!("${{{id}.")))
    };
    match value {
        Value::Tagged(tagged) => {
            let direct = if tagged.tag == "Ref" || tagged.tag == "GetAtt" {
                names(&tagged.value)
            } else if tagged.tag == "Sub" {
                sub_names(&tagged.value)
            } else {
                false
            };
            direct || mentions(&tagged.value, id)
        }
        Value::Mapping(mapping) => mapping.iter().any(|(key, inner)| {
            let direct = match key.as_str() {
                Some("Ref" | "Fn::GetAtt") => names(inner),
                Some("Fn::Sub") => sub_names(inner),
                _ => false,
            };
            direct || mentions(inner, id)
        }),
        Value::Sequence(items) => items.iter().any(|item| mentions(item, id)),
        _ => false,
    }
}

// ---- what a function may do to the table --------------------------------------------------------

#[derive(Debug, Default)]
struct TableAccess {
    /// Some Allow statement (or SAM policy template) names the table.
    references_table: bool,
    /// `dynamodb:` actions allowed on the table, without the prefix; may hold wildcards.
    actions: BTreeSet<String>,
    /// A Deny of UpdateItem and DeleteItem on audit-log partitions (`dynamodb:LeadingKeys`).
    audit_log_append_only: bool,
    /// Some Allow of PutItem is not limited to audit-log partitions.
    puts_anywhere: bool,
}

impl TableAccess {
    fn allows(&self, action: &str) -> bool {
        self.actions.iter().any(|granted| match granted.strip_suffix('*') {
            Some(prefix) => action.starts_with(prefix),
            None => granted == action,
        })
    }
}

/// What a function's `Policies` let it do to the table: inline statements, managed policies in
/// the template (`!Ref SomePolicy`) and SAM's DynamoDB policy templates.
fn table_access(template: &Value, function: &Value, table_id: &str) -> TableAccess {
    let mut access = TableAccess::default();
    let policies = match &function["Properties"]["Policies"] {
        Value::Null => Vec::new(),
        Value::Sequence(items) => items.iter().collect(),
        single => vec![single],
    };
    for policy in policies {
        if let Some(target) = ref_target(policy) {
            let resource = &template["Resources"][target];
            if resource["Type"].as_str() == Some("AWS::IAM::ManagedPolicy") {
                add_policy_document(&resource["Properties"]["PolicyDocument"], table_id, &mut access);
            }
        } else if policy.get("Statement").is_some() {
            add_policy_document(policy, table_id, &mut access);
        } else if let Some(templates) = policy.as_mapping() {
            for (name, arguments) in templates {
                let actions: &[&str] = match name.as_str() {
                    Some("DynamoDBReadPolicy") => &["GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"],
                    Some("DynamoDBWritePolicy") => &["PutItem", "UpdateItem", "BatchWriteItem"],
                    Some("DynamoDBCrudPolicy") => &[
                        "GetItem",
                        "DeleteItem",
                        "PutItem",
                        "Scan",
                        "Query",
                        "UpdateItem",
                        "BatchWriteItem",
                        "BatchGetItem",
                        "DescribeTable",
                        "ConditionCheckItem",
                    ],
                    _ => continue,
                };
                if mentions(arguments, table_id) {
                    access.references_table = true;
                    access.actions.extend(actions.iter().map(|action| action.to_string()));
                }
            }
        }
        // Anything else (an AWS managed policy by name or ARN) is not about our table.
    }
    access
}

fn add_policy_document(document: &Value, table_id: &str, access: &mut TableAccess) {
    let statements = match &document["Statement"] {
        Value::Sequence(items) => items.iter().collect(),
        single => vec![single],
    };
    for statement in statements {
        if !mentions(&statement["Resource"], table_id) {
            continue;
        }
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(action) => vec![action.as_str()],
            Value::Sequence(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let dynamodb: Vec<&str> = actions.iter().filter_map(|action| action.strip_prefix("dynamodb:")).collect();
        match statement["Effect"].as_str() {
            Some("Allow") => {
                access.references_table = true;
                access.actions.extend(dynamodb.iter().map(|action| action.to_string()));
                let only_audit_keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .is_some_and(|patterns| {
                        patterns
                            .iter()
                            .all(|p| p.as_str().is_some_and(|p| p.starts_with("TENANT#") && p.contains("#AUDIT#")))
                    });
                if dynamodb.iter().any(|a| *a == "PutItem" || *a == "*") && !only_audit_keys {
                    access.puts_anywhere = true;
                }
            }
            Some("Deny") => {
                let leading_keys = statement["Condition"]
                    .as_mapping()
                    .into_iter()
                    .flat_map(|operators| operators.values())
                    .filter_map(|condition| condition.get("dynamodb:LeadingKeys"))
                    .collect::<Vec<_>>();
                let on_audit_keys = leading_keys.iter().any(|keys| {
                    let patterns = match keys {
                        Value::Sequence(items) => items.iter().filter_map(Value::as_str).collect(),
                        other => other.as_str().into_iter().collect::<Vec<_>>(),
                    };
                    patterns.iter().any(|pattern| pattern.starts_with("TENANT#") && pattern.contains("#AUDIT#"))
                });
                if on_audit_keys && dynamodb.contains(&"UpdateItem") && dynamodb.contains(&"DeleteItem") {
                    access.audit_log_append_only = true;
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_site_bucket_is_private_and_read_only_by_the_distribution_through_origin_access_control() {
    let template = template();
    let bucket = &template["Resources"]["SiteBucket"];
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    let policy = &template["Resources"]["SiteBucketPolicy"]["Properties"];
    assert_eq!(ref_target(&policy["Bucket"]), Some("SiteBucket"));
    let allows: Vec<&Value> = policy["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    assert_eq!(allows.len(), 1, "one Allow: CloudFront reading objects");
    let allow = allows[0];
    assert_eq!(allow["Principal"]["Service"].as_str(), Some("cloudfront.amazonaws.com"));
    assert_eq!(allow["Action"].as_str(), Some("s3:GetObject"));
    let source = &allow["Condition"]["StringEquals"]["AWS:SourceArn"];
    assert!(
        intrinsic_text(source).is_some_and(|t| t.contains("distribution/${SiteDistribution}")),
        "only this distribution: {source:?}"
    );

    let config = &template["Resources"]["SiteDistribution"]["Properties"]["DistributionConfig"];
    let origins = config["Origins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1);
    assert!(mentions(&origins[0]["OriginAccessControlId"], "SiteOriginAccessControl"), "origin access control");
    assert!(mentions(&origins[0]["DomainName"], "SiteBucket"));
    let oac = &template["Resources"]["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"];
    assert_eq!(oac["SigningBehavior"].as_str(), Some("always"));
    assert_eq!(config["DefaultCacheBehavior"]["ViewerProtocolPolicy"].as_str(), Some("redirect-to-https"));
    let functions = config["DefaultCacheBehavior"]["FunctionAssociations"].as_sequence().unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0]["EventType"].as_str(), Some("viewer-request"));
    assert!(mentions(&functions[0]["FunctionARN"], "SiteRouterFunction"));
}

#[test]
fn the_site_router_function_is_infra_site_router_js_verbatim_on_cloudfront_js_2_reading_the_host_store() {
    let template = template();
    let function = &template["Resources"]["SiteRouterFunction"]["Properties"];
    assert_eq!(function["FunctionConfig"]["Runtime"].as_str(), Some("cloudfront-js-2.0"));
    let stores = function["FunctionConfig"]["KeyValueStoreAssociations"].as_sequence().unwrap();
    assert!(mentions(&stores[0]["KeyValueStoreARN"], "SiteHosts"));
    let code = intrinsic_text(&function["FunctionCode"]).expect("FunctionCode is a !Sub");
    let file = std::fs::read_to_string(repo_root().join("infra/site-router.js")).unwrap();
    assert_eq!(code.trim_end(), file.trim_end(), "template.yaml's FunctionCode differs from infra/site-router.js");
    assert!(code.len() < 10 * 1024, "CloudFront Functions are at most 10 KB");
}

#[test]
fn the_site_publisher_is_its_own_binary_on_a_queue_fed_by_the_publish_route_and_site_changed_events() {
    let template = template();
    let publishers: Vec<(&str, &Value)> = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| f["Metadata"]["BuildProperties"]["Binary"].as_str() == Some("site_publish"))
        .collect();
    assert_eq!(publishers.len(), 1, "one function runs the site_publish binary");
    let (id, worker) = publishers[0];
    let event = worker["Properties"]["Events"].as_mapping().unwrap().values().next().unwrap();
    assert_eq!(event["Type"].as_str(), Some("SQS"), "{id}");
    assert!(mentions(&event["Properties"]["Queue"], "SitePublishQueue"));
    let failures = &event["Properties"]["FunctionResponseTypes"];
    assert!(failures.as_sequence().is_some_and(|t| t.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures"))));
    let queue = &template["Resources"]["SitePublishQueue"]["Properties"];
    let timeout = worker["Properties"]["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
    assert!(mentions(&queue["RedrivePolicy"]["deadLetterTargetArn"], "SitePublishDeadLetterQueue"));
    let text = serde_yaml::to_string(&worker["Properties"]["Policies"]).unwrap();
    assert!(
        text.contains("cloudfront:CreateInvalidation") && text.contains("SiteDistribution"),
        "invalidates its distribution"
    );
    assert!(text.contains("s3:PutObject") && text.contains("SiteBucket.Arn}/sites/*"), "writes only under sites/");
    let variables = &worker["Properties"]["Environment"]["Variables"];
    assert_eq!(ref_target(&variables["SITE_BUCKET"]), Some("SiteBucket"));
    assert_eq!(ref_target(&variables["SITE_DISTRIBUTION_ID"]), Some("SiteDistribution"));
    let rule = &template["Resources"]["SiteChangedRule"]["Properties"];
    assert_eq!(rule["EventPattern"]["detail-type"][0].as_str(), Some(mas_usecases::site::SITE_CHANGED));
    assert!(mentions(&rule["Targets"][0]["Arn"], "SitePublishQueue"));
    let route = api_routes(&template)
        .into_iter()
        .find(|e| e.method == "POST" && e.path == "/v1/site/publish")
        .expect("the publish route");
    let policies = serde_yaml::to_string(&template["Resources"][route.function]["Properties"]["Policies"]).unwrap();
    assert!(policies.contains("SitePublishQueueSend"), "the publish route may queue a publish");
}

#[test]
fn the_receipt_rule_routes_a_sales_events_to_the_render_queue_whose_worker_may_announce_the_receipt() {
    let template = template();
    let rule = &template["Resources"]["ReceiptRule"]["Properties"];
    let kinds: Vec<&str> =
        rule["EventPattern"]["detail-type"].as_sequence().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(kinds, mas_usecases::receipts::RENDERED_ON.to_vec());
    assert!(mentions(&rule["Targets"][0]["Arn"], "RenderQueue"));
    for kind in mas_usecases::receipts::RENDERED_ON {
        assert_eq!(mas_usecases::routing::route(kind), Some(mas_ports::QueueName::Render), "{kind} locally too");
    }
    let policy = &template["Resources"]["RenderQueuePolicy"]["Properties"];
    assert!(mentions(&policy["Queues"], "RenderQueue") && mentions(&policy["PolicyDocument"], "ReceiptRule"));
    let render = serde_yaml::to_string(&template["Resources"]["RenderFunction"]["Properties"]["Policies"]).unwrap();
    assert!(render.contains("EventsPublish"), "the render worker announces receipt.issued");
}

#[test]
fn the_certificate_rule_routes_a_completed_enrolment_to_the_render_queue_whose_worker_may_seal_and_sign() {
    let template = template();
    let rule = &template["Resources"]["CertificateRule"]["Properties"];
    let kinds: Vec<&str> =
        rule["EventPattern"]["detail-type"].as_sequence().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(kinds, mas_usecases::certificates::ISSUED_ON.to_vec());
    assert!(mentions(&rule["Targets"][0]["Arn"], "RenderQueue"));
    for kind in mas_usecases::certificates::ISSUED_ON {
        assert_eq!(mas_usecases::routing::route(kind), Some(mas_ports::QueueName::Render), "{kind} locally too");
    }
    let policy = &template["Resources"]["RenderQueuePolicy"]["Properties"];
    assert!(mentions(&policy["PolicyDocument"], "CertificateRule"), "the bus may send the rule's events");
    let render = &template["Resources"]["RenderFunction"];
    let policies = serde_yaml::to_string(&render["Properties"]["Policies"]).unwrap();
    assert!(policies.contains("ClinicalKeyWrite"), "the worker makes (once) and opens the clinic's data key");
    assert!(
        !render["Properties"]["Environment"]["Variables"]["MAS_SITE_API_BASE"].is_null(),
        "a credential names the API's public routes"
    );
}

#[test]
fn the_notify_rule_routes_exactly_the_subscribed_kinds_to_a_queue_with_a_dead_letter_queue_and_a_sweep_schedule() {
    let template = template();
    let rule = &template["Resources"]["NotifyRule"]["Properties"];
    let mut kinds: Vec<String> = rule["EventPattern"]["detail-type"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    let mut subscribed: Vec<String> =
        mas_usecases::notifications::plan::SUBSCRIBED.iter().map(|k| k.to_string()).collect();
    subscribed.sort();
    assert_eq!(kinds, subscribed);
    assert!(mentions(&rule["Targets"][0]["Arn"], "NotifyQueue"));
    let queue = &template["Resources"]["NotifyQueue"]["Properties"];
    assert!(mentions(&queue["RedrivePolicy"]["deadLetterTargetArn"], "NotifyDeadLetterQueue"));
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(5));
    let worker = &template["Resources"]["NotificationsFunction"];
    assert_eq!(worker["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("notifications"));
    let source = &worker["Properties"]["Events"]["Queue"]["Properties"];
    assert_eq!(source["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
    let sweep = &template["Resources"]["ReminderSweepFunction"];
    assert_eq!(sweep["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("reminder_sweep"));
    assert_eq!(
        sweep["Properties"]["Events"]["Every5Minutes"]["Properties"]["ScheduleExpression"].as_str(),
        Some("rate(5 minutes)")
    );
}

#[test]
fn the_partner_webhooks_rule_routes_exactly_the_subscribable_kinds_to_a_queue_with_a_dead_letter_queue_and_a_minutely_sweep()
 {
    let template = template();
    let rule = &template["Resources"]["PartnerWebhooksRule"]["Properties"];
    let mut kinds: Vec<&str> =
        rule["EventPattern"]["detail-type"].as_sequence().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    kinds.sort();
    let mut subscribable = mas_domain::partner::EVENT_KINDS.to_vec();
    subscribable.sort();
    assert_eq!(kinds, subscribable);
    assert!(mentions(&rule["Targets"][0]["Arn"], "PartnerWebhooksQueue"));
    let queue = &template["Resources"]["PartnerWebhooksQueue"]["Properties"];
    assert!(mentions(&queue["RedrivePolicy"]["deadLetterTargetArn"], "PartnerWebhooksDeadLetterQueue"));
    let worker = &template["Resources"]["PartnerWebhooksFunction"];
    assert_eq!(worker["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("partner_webhooks"));
    let timeout = worker["Properties"]["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout, "visibility is six times the timeout");
    let events = &worker["Properties"]["Events"];
    assert_eq!(events["Queue"]["Properties"]["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
    assert_eq!(events["EveryMinute"]["Properties"]["ScheduleExpression"].as_str(), Some("rate(1 minute)"));
    let policies = resources_of_type(&template, "AWS::SQS::QueuePolicy");
    assert!(policies.iter().any(|(_, p)| mentions(&p["Properties"]["Queues"], "PartnerWebhooksQueue")
        && mentions(&p["Properties"]["PolicyDocument"], "PartnerWebhooksRule")));
    // The worker writes the table and opens secrets; it publishes nothing and sends to no queue.
    assert!(!may_put_events(&template, worker, "EventBus"));
    assert_eq!(kms_actions(&template, worker, "ClinicalDataKey"), BTreeSet::from(["kms:Decrypt".to_owned()]));
}

#[test]
fn the_insight_rule_routes_exactly_the_projected_kinds_to_a_queue_with_a_dead_letter_queue_and_a_worker_that_only_writes_the_table()
 {
    let template = template();
    let rule = &template["Resources"]["InsightRule"]["Properties"];
    let mut kinds: Vec<&str> =
        rule["EventPattern"]["detail-type"].as_sequence().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    kinds.sort();
    let mut projected = mas_domain::insight::PROJECTED_KINDS.to_vec();
    projected.sort();
    assert_eq!(kinds, projected);
    assert!(mentions(&rule["Targets"][0]["Arn"], "InsightQueue"));
    let queue = &template["Resources"]["InsightQueue"]["Properties"];
    assert!(mentions(&queue["RedrivePolicy"]["deadLetterTargetArn"], "InsightDeadLetterQueue"));
    let worker = &template["Resources"]["InsightFunction"];
    assert_eq!(worker["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("insight"));
    let timeout = worker["Properties"]["Timeout"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout, "visibility is six times the timeout");
    let events = &worker["Properties"]["Events"];
    assert_eq!(events["Queue"]["Properties"]["FunctionResponseTypes"][0].as_str(), Some("ReportBatchItemFailures"));
    let policies = resources_of_type(&template, "AWS::SQS::QueuePolicy");
    assert!(policies.iter().any(|(_, p)| mentions(&p["Properties"]["Queues"], "InsightQueue")
        && mentions(&p["Properties"]["PolicyDocument"], "InsightRule")));
    // Rollups only: it publishes nothing and opens no clinical key.
    assert!(!may_put_events(&template, worker, "EventBus"));
    assert!(kms_actions(&template, worker, "ClinicalDataKey").is_empty());
    let (table_id, _) = the_table(&template);
    assert!(table_access(&template, worker, table_id).allows("PutItem"));
}

// ---- staff identity: the Cognito user pool, its trigger, and who may manage its users -----------

#[test]
fn the_user_pool_names_users_by_member_id_keeps_tenant_and_member_immutable_and_runs_the_pre_token_binary_as_its_v1_trigger()
 {
    let template = template();
    let pools = resources_of_type(&template, "AWS::Cognito::UserPool");
    assert_eq!(pools.len(), 1, "one staff user pool");
    let (pool_id, pool) = pools[0];
    let properties = &pool["Properties"];
    // The username is the member id: an email may belong to members of two clinics.
    assert!(properties["UsernameAttributes"].is_null() && properties["AliasAttributes"].is_null());
    let schema = properties["Schema"].as_sequence().expect("a schema");
    for name in ["tenant_id", "member_id"] {
        let attribute = schema.iter().find(|a| a["Name"].as_str() == Some(name)).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(attribute["Mutable"].as_bool(), Some(false), "custom:{name} is set once, by the API");
    }
    assert_eq!(properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"].as_bool(), Some(true));
    // Two-step sign-in is ours (ops::auth): a Cognito challenge would stop USER_PASSWORD_AUTH.
    assert_eq!(properties["MfaConfiguration"].as_str(), Some("OFF"));
    // Cognito must accept every password the domain does (10 characters, no classes).
    let policy = &properties["Policies"]["PasswordPolicy"];
    assert_eq!(policy["MinimumLength"].as_u64(), Some(mas_domain::auth::Password::MIN_CHARS as u64));
    for class in ["RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"] {
        assert_eq!(policy[class].as_bool(), Some(false), "{class}");
    }

    let trigger = &properties["LambdaConfig"]["PreTokenGenerationConfig"];
    assert_eq!(trigger["LambdaVersion"].as_str(), Some("V1_0"), "the answer's shape (mas_functions::pre_token)");
    let function_id = resources_of_type(&template, "AWS::Serverless::Function")
        .into_iter()
        .find(|(id, _)| mentions(&trigger["LambdaArn"], id))
        .map(|(id, _)| id)
        .expect("the trigger is one of our functions");
    let function = &template["Resources"][function_id];
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("pre_token"));
    let (table_id, _) = the_table(&template);
    let access = table_access(&template, function, table_id);
    assert!(access.allows("GetItem") && !access.allows("PutItem"), "the trigger only reads members: {access:?}");
    assert!(function["Properties"]["Events"].is_null(), "Cognito invokes the trigger, nothing else");

    let permissions: Vec<&Value> = resources_of_type(&template, "AWS::Lambda::Permission")
        .into_iter()
        .map(|(_, permission)| &permission["Properties"])
        .filter(|p| mentions(&p["FunctionName"], function_id))
        .collect();
    assert_eq!(permissions.len(), 1, "one permission lets Cognito invoke the trigger");
    assert_eq!(permissions[0]["Principal"].as_str(), Some("cognito-idp.amazonaws.com"));
    assert!(mentions(&permissions[0]["SourceArn"], pool_id), "only this pool may invoke it");
}

#[test]
fn the_app_client_signs_in_by_password_without_a_secret_with_fifteen_minute_tokens_that_can_be_revoked() {
    let template = template();
    let clients = resources_of_type(&template, "AWS::Cognito::UserPoolClient");
    assert_eq!(clients.len(), 1, "one app client");
    let client = &clients[0].1["Properties"];
    let flows: BTreeSet<&str> =
        client["ExplicitAuthFlows"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(flows, BTreeSet::from(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]));
    assert_eq!(client["GenerateSecret"].as_bool(), Some(false));
    assert_eq!(client["EnableTokenRevocation"].as_bool(), Some(true));
    assert_eq!((client["IdTokenValidity"].as_u64(), client["AccessTokenValidity"].as_u64()), (Some(15), Some(15)));
    assert_eq!(client["RefreshTokenValidity"].as_u64(), Some(30));
    assert_eq!(client["TokenValidityUnits"]["IdToken"].as_str(), Some("minutes"));
    assert_eq!(client["TokenValidityUnits"]["RefreshToken"].as_str(), Some("days"));
    let writable = serde_yaml::to_string(&client["WriteAttributes"]).unwrap();
    assert!(!writable.contains("custom:"), "users may not write their tenant or member: {writable}");
}

/// Routes whose functions manage staff users, and the Cognito admin actions each needs.
const STAFF_USER_ROUTES: [(&str, &str, &[&str]); 7] = [
    // Sign-up sets the first owner's password; accepting an invitation and confirming a reset
    // set one too (making the user if the pool never saw them) and end earlier sessions.
    ("POST", "/v1/tenants", &["AdminCreateUser", "AdminSetUserPassword", "AdminUserGlobalSignOut"]),
    ("POST", "/v1/auth/invitations/accept", &["AdminCreateUser", "AdminSetUserPassword", "AdminUserGlobalSignOut"]),
    ("POST", "/v1/auth/password-reset/confirm", &["AdminCreateUser", "AdminSetUserPassword", "AdminUserGlobalSignOut"]),
    ("POST", "/v1/team", &["AdminCreateUser"]),
    ("POST", "/v1/team/{id}/invitation", &["AdminCreateUser"]),
    ("DELETE", "/v1/team/{id}", &["AdminDeleteUser"]),
    ("POST", "/v1/auth/sign-out-everywhere", &["AdminUserGlobalSignOut"]),
];

/// Routes that reach Cognito with the app client only (InitiateAuth, RevokeToken: no IAM).
const APP_CLIENT_ROUTES: [(&str, &str); 3] =
    [("POST", "/v1/auth/sign-in"), ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/sign-out")];

#[test]
fn only_the_routes_that_manage_staff_users_may_call_cognito_admin_actions_and_each_only_those_it_needs_on_the_pool() {
    let template = template();
    let (pool_id, _) = resources_of_type(&template, "AWS::Cognito::UserPool")[0];
    let mut granted = BTreeMap::new();
    let mut configured = BTreeSet::new();
    for event in api_routes(&template) {
        let function = &template["Resources"][event.function];
        let actions = actions_on(&template, function, pool_id, "cognito-idp:");
        if !actions.is_empty() {
            granted.insert((event.method.clone(), event.path.clone()), actions);
        }
        let variables = &function["Properties"]["Environment"]["Variables"];
        if !variables["COGNITO_USER_POOL_ID"].is_null() {
            assert!(mentions(&variables["COGNITO_USER_POOL_ID"], pool_id), "{}", event.function);
            assert!(!variables["COGNITO_CLIENT_ID"].is_null(), "{}: the client goes with the pool", event.function);
            configured.insert((event.method.clone(), event.path.clone()));
        }
        // No function may act on users anywhere else (a wildcard, another pool).
        let text = serde_yaml::to_string(&function["Properties"]["Policies"]).unwrap();
        assert!(!text.contains("cognito-idp:*"), "{}", event.function);
    }
    let expected: BTreeMap<(String, String), BTreeSet<String>> = STAFF_USER_ROUTES
        .iter()
        .map(|(method, path, actions)| {
            let actions = actions.iter().map(|a| format!("cognito-idp:{a}")).collect();
            ((method.to_string(), path.to_string()), actions)
        })
        .collect();
    assert_eq!(granted, expected, "Cognito admin actions by route");
    let needing_the_pool: BTreeSet<(String, String)> = expected.into_keys().chain(routes(&APP_CLIENT_ROUTES)).collect();
    assert_eq!(configured, needing_the_pool, "routes given COGNITO_USER_POOL_ID and COGNITO_CLIENT_ID");
    for (file, variables) in global_variables() {
        assert!(variables["COGNITO_USER_POOL_ID"].is_null(), "not in the Globals of {file}");
    }
}

#[test]
fn the_routes_that_email_staff_links_may_send_mail_and_know_where_the_back_office_is() {
    let template = template();
    let (distribution_id, _) = resources_of_type(&template, "AWS::CloudFront::Distribution")
        .into_iter()
        .find(|(_, d)| d["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]["FunctionAssociations"].is_null())
        .expect("the back office's distribution runs no site router");
    for (method, path) in [
        ("POST", "/v1/team"),
        ("POST", "/v1/team/{id}/invitation"),
        ("POST", "/v1/auth/password-reset"),
        ("POST", "/v1/tenants"),
        ("POST", "/v1/auth/verify-email/resend"),
    ] {
        let event = api_routes(&template).into_iter().find(|e| e.method == method && e.path == path).unwrap();
        let function = &template["Resources"][event.function]["Properties"];
        let app_url = &function["Environment"]["Variables"]["MAS_APP_URL"];
        assert!(mentions(app_url, distribution_id), "{method} {path}: MAS_APP_URL is the back office's distribution");
        assert!(intrinsic_text(app_url).is_some_and(|url| url.ends_with("/app/")), "{method} {path}");
        let policies = serde_yaml::to_string(&function["Policies"]).unwrap();
        assert!(policies.contains("ses:SendRawEmail"), "{method} {path} sends the email itself");
    }
    let config = &template["Resources"][distribution_id]["Properties"]["DistributionConfig"];
    let (bucket_id, bucket) = resources_of_type(&template, "AWS::S3::Bucket")
        .into_iter()
        .find(|(id, _)| mentions(&config["Origins"], id))
        .expect("the back office's files are in a bucket of this stack");
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for setting in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[setting].as_bool(), Some(true), "{bucket_id}: {setting}");
    }
    let fallbacks = config["CustomErrorResponses"].as_sequence().expect("the single-page app's fallback");
    assert!(fallbacks.iter().all(|f| f["ResponsePagePath"].as_str() == Some("/app/index.html")));
    assert!(template["Outputs"]["AppUrl"]["Value"] != Value::Null);
}

#[test]
fn site_pages_get_the_same_security_headers_from_cloudfront_as_from_the_local_host() {
    let template = template();
    let policy = &resources(&template)["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"];
    let config = &policy["SecurityHeadersConfig"];
    let api = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}";
    let ours: std::collections::HashMap<&str, String> = mas_site::security_headers(api).into_iter().collect();
    let csp = intrinsic_text(&config["ContentSecurityPolicy"]["ContentSecurityPolicy"]).expect("a CSP text");
    assert_eq!(csp, ours["content-security-policy"]);
    let hsts = &config["StrictTransportSecurity"];
    let hsts_text = format!(
        "max-age={}{}",
        hsts["AccessControlMaxAgeSec"].as_u64().unwrap(),
        if hsts["IncludeSubdomains"].as_bool() == Some(true) { "; includeSubDomains" } else { "" }
    );
    assert_eq!(hsts_text, ours["strict-transport-security"]);
    assert_eq!(config["FrameOptions"]["FrameOption"].as_str(), Some(ours["x-frame-options"].as_str()));
    assert_eq!(config["ReferrerPolicy"]["ReferrerPolicy"].as_str(), Some(ours["referrer-policy"].as_str()));
    assert!(config["ContentTypeOptions"]["Override"].as_bool() == Some(true));
    let distribution = &resources(&template)["SiteDistribution"]["Properties"]["DistributionConfig"];
    assert!(mentions(&distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"], "SiteSecurityHeaders"));
}

// ---- the nested stacks: named by the root, given what they declare ------------------------------

#[test]
fn every_nested_stack_is_a_sam_template_in_infra_stacks_and_the_root_names_each_once() {
    let stacks = stacks();
    assert!(!stacks.nested.is_empty(), "template.yaml names no nested stacks");
    let other = resources_of_type(&stacks.root.template, "AWS::CloudFormation::Stack");
    assert!(
        other.is_empty(),
        "nested stacks are AWS::Serverless::Application resources (these tests read them): {other:?}"
    );
    let mut named = BTreeSet::new();
    for (id, file) in &stacks.nested {
        let path = file.path.display();
        assert_eq!(file.folder(), Path::new(NESTED_STACKS_DIR), "{id}: {path} is not in {NESTED_STACKS_DIR}/");
        assert!(named.insert(file.path.clone()), "{id}: {path} is named twice");
        assert_eq!(file.template["Transform"].as_str(), Some("AWS::Serverless-2016-10-31"), "{path} is a SAM template");
        for kind in ["AWS::Serverless::Application", "AWS::CloudFormation::Stack"] {
            let deeper = resources_of_type(&file.template, kind);
            assert!(deeper.is_empty(), "{path}: one level of nesting (what these tests read), found {deeper:?}");
        }
    }
    let folder = repo_root().join(NESTED_STACKS_DIR);
    let on_disk: BTreeSet<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("reading {}: {e}", folder.display()))
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_str().is_some_and(|name| name.ends_with(".yaml") || name.ends_with(".yml")))
        .map(|name| Path::new(NESTED_STACKS_DIR).join(name))
        .collect();
    assert_eq!(named, on_disk, "templates the root names (left) and templates in {NESTED_STACKS_DIR}/ (right)");
}

#[test]
fn the_root_passes_each_nested_stack_exactly_the_parameters_it_declares_and_secrets_stay_no_echo() {
    let stacks = stacks();
    let root = &stacks.root.template;
    let root_names: BTreeSet<&str> = [&root["Parameters"], &root["Resources"]]
        .into_iter()
        .filter_map(Value::as_mapping)
        .flat_map(|mapping| mapping.keys().filter_map(Value::as_str))
        .collect();
    for (id, file) in &stacks.nested {
        let path = file.path.display();
        let parameters = file.template["Parameters"].as_mapping().cloned().unwrap_or_default();
        let declared: BTreeSet<&str> = parameters.keys().filter_map(Value::as_str).collect();
        let arguments = stacks.arguments(id);
        let passed: BTreeSet<&str> = arguments.keys().filter_map(Value::as_str).collect();
        assert_eq!(passed, declared, "{id}: parameters the root passes (left) and {path} declares (right)");
        for (name, parameter) in &parameters {
            let name = name.as_str().unwrap();
            assert!(
                parameter["Default"].is_null(),
                "{path}: {name} has a default, which could hide a missing argument"
            );
            let argument = &arguments[name];
            let unknown: Vec<String> = referenced_names(argument)
                .into_iter()
                .filter(|target| !root_names.contains(target.as_str()) && !target.starts_with("AWS::"))
                .collect();
            assert!(unknown.is_empty(), "{id}: {name} is passed {unknown:?}, which template.yaml does not have");
            // A nested stack shows its parameters like any stack: a secret must stay hidden there too.
            let secret =
                referenced_names(argument).iter().any(|source| root["Parameters"][source.as_str()]["NoEcho"] == true);
            if secret {
                assert_eq!(parameter["NoEcho"].as_bool(), Some(true), "{path}: {name} carries a NoEcho parameter");
            }
        }
    }
}

#[test]
fn every_template_refers_only_to_its_own_parameters_and_resources() {
    // What makes reading the nested stacks as one template (Stacks::merged) sound: a name in a
    // nested template means its own parameter or resource, never one of another template.
    for file in stacks().files() {
        let template = &file.template;
        let known: BTreeSet<&str> = [&template["Parameters"], &template["Resources"]]
            .into_iter()
            .filter_map(Value::as_mapping)
            .flat_map(|mapping| mapping.keys().filter_map(Value::as_str))
            .collect();
        let used: BTreeSet<String> = ["Globals", "Resources", "Outputs"]
            .into_iter()
            .flat_map(|section| referenced_names(&template[section]))
            .collect();
        let unknown: Vec<&String> =
            used.iter().filter(|name| !known.contains(name.as_str()) && !name.starts_with("AWS::")).collect();
        assert!(unknown.is_empty(), "{} refers to what it does not declare: {unknown:?}", file.path.display());
    }
}

#[test]
fn every_nested_stack_repeats_the_root_globals_with_the_roots_values() {
    let stacks = stacks();
    let comparable = |globals: &Value, folder: &Path| {
        let mut globals = globals.clone();
        // CodeUri is relative to each template's folder: compare where it points.
        let code = globals["Function"]["CodeUri"].as_str().map(|code| normalize(&folder.join(code)));
        globals["Function"]["CodeUri"] = Value::String(format!("{code:?}"));
        globals
    };
    let root = comparable(&stacks.root.template["Globals"], stacks.root.folder());
    assert!(!root["Function"]["Environment"]["Variables"].is_null(), "the root has function Globals");
    for (id, file) in &stacks.nested {
        let nested = comparable(&stacks.resolved(id, file)["Globals"], file.folder());
        assert_eq!(nested, root, "{}: Globals (with the root's values for its parameters)", file.path.display());
    }
}

/// The logical ids and parameters a value names through Ref, GetAtt or Sub, at any depth.
fn referenced_names(value: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    collect_names(value, &mut names);
    names
}

fn collect_names(value: &Value, names: &mut BTreeSet<String>) {
    let target = |target: &Value, names: &mut BTreeSet<String>| match target {
        Value::String(text) => {
            names.insert(text.split('.').next().unwrap_or(text).to_owned());
        }
        Value::Sequence(parts) => names.extend(parts.first().and_then(Value::as_str).map(str::to_owned)),
        _ => {}
    };
    let sub = |argument: &Value, names: &mut BTreeSet<String>| {
        let own = match argument {
            Value::Sequence(parts) => parts.get(1).and_then(Value::as_mapping).cloned().unwrap_or_default(),
            _ => Mapping::new(),
        };
        let mut rest = sub_template(argument).unwrap_or_default();
        while let Some(at) = rest.find("${") {
            let end = rest[at..].find('}').map_or(rest.len(), |i| at + i);
            let variable = &rest[at + 2..end];
            let name = variable.split('.').next().unwrap_or(variable);
            if !variable.starts_with('!') && !own.contains_key(name) {
                names.insert(name.to_owned());
            }
            rest = &rest[(end + 1).min(rest.len())..];
        }
    };
    match value {
        Value::Tagged(tagged) => {
            match tagged.tag.to_string().trim_start_matches('!') {
                "Ref" | "GetAtt" => target(&tagged.value, names),
                "Sub" => sub(&tagged.value, names),
                _ => {}
            }
            collect_names(&tagged.value, names);
        }
        Value::Mapping(mapping) => {
            for (key, inner) in mapping {
                match key.as_str() {
                    Some("Ref" | "Fn::GetAtt") => target(inner, names),
                    Some("Fn::Sub") => sub(inner, names),
                    _ => {}
                }
                collect_names(inner, names);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| collect_names(item, names)),
        _ => {}
    }
}
