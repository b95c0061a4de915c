//! The Kubernetes API in front of the bridge, called in process: the
//! bridge takes the API's writes as inputs (a `MockDriver` stands for the
//! master: no pod is placed), and every answer is checked as kubectl
//! reads it: discovery, create / get / list (and Tables), strict field
//! validation, strategic merge and merge patches, the scale subresource,
//! watches from a resourceVersion, deletes, and `Status` errors with
//! Kubernetes's codes and reasons.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use corral::MockDriver;
use corral::WithInputs;
use futures::StreamExt;
use k8s_bridge::api::{router, Api};
use k8s_bridge::catalog::Publisher;
use k8s_bridge::{parse, Bridge, BridgeConfig, Input};
use serde_json::{json, Value};
use tower::ServiceExt;

/// The API over a bridge whose inputs a task feeds to its handler.
fn start(manifests: &str) -> Router {
    let (publisher, catalog) = Publisher::new();
    let mut bridge = Bridge::new(BridgeConfig::default());
    assert!(bridge.preload(parse(manifests).unwrap()).is_empty());
    let mut bridge = bridge.with_catalog(publisher);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Input>(16);
    tokio::spawn(async move {
        let mut driver = MockDriver::new();
        driver.expect_kill().returning(|_, _| Ok(()));
        driver.expect_update_roles().returning(|_| Ok(()));
        while let Some(input) = receiver.recv().await {
            bridge.input(&driver, input).await;
        }
    });
    router(Api::new(sender, catalog))
}

async fn call(
    api: &Router,
    method: Method,
    uri: &str,
    content_type: &str,
    body: Value,
) -> (StatusCode, Value) {
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body)
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, value)
}

async fn get(api: &Router, uri: &str) -> (StatusCode, Value) {
    call(api, Method::GET, uri, "application/json", Value::Null).await
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: { name: web }\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: default }\n";

fn deployment(replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "nginx", "namespace": "web", "labels": { "app": "nginx" } },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": "nginx" } },
            "template": {
                "metadata": { "labels": { "app": "nginx" } },
                "spec": { "containers": [{ "name": "nginx", "image": "nginx:1.27",
                    "resources": { "requests": { "cpu": "500m", "memory": "64Mi" } } }] },
            },
        },
    })
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn discovery_answers_what_kubectl_asks() {
    let api = start(NS);
    let (code, core) = get(&api, "/api/v1").await;
    assert_eq!(code, StatusCode::OK);
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert_eq!(pods["namespaced"], json!(true));
    assert_eq!(pods["kind"], "Pod");
    let (_, apps) = get(&api, "/apis/apps/v1").await;
    assert!(apps["resources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == "deployments/scale"));
    let (_, groups) = get(&api, "/apis").await;
    assert_eq!(groups["kind"], "APIGroupList");
    let (_, index) = get(&api, "/openapi/v3").await;
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, doc) = get(&api, &url).await;
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
    assert!(patch["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "fieldValidation"));
    let (code, status) = get(&api, "/openapi/v2").await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );
    let (_, version) = get(&api, "/version").await;
    assert_eq!(version["major"], "1");
}

#[tokio::test]
async fn create_get_list_and_the_errors_kubectl_prints() {
    let api = start(NS);
    let (code, created) = call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/web/deployments?fieldValidation=Strict",
        "application/json",
        deployment(2),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert!(created["metadata"]["uid"].is_string());
    assert_eq!(created["metadata"]["generation"], json!(1));
    assert_eq!(created["status"]["replicas"], json!(2));
    let (code, again) = call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/web/deployments",
        "application/json",
        deployment(2),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(again["reason"], "AlreadyExists");
    assert_eq!(
        again["message"],
        "deployments.apps \"nginx\" already exists"
    );

    let (_, pods) = get(
        &api,
        "/api/v1/namespaces/web/pods?labelSelector=app%3Dnginx",
    )
    .await;
    assert_eq!(names(&pods), ["nginx-1", "nginx-2"]);
    assert_eq!(pods["items"][0]["status"]["phase"], "Pending");
    assert_eq!(
        pods["items"][0]["metadata"]["ownerReferences"][0]["kind"],
        "Deployment"
    );
    let (_, none) = get(&api, "/api/v1/pods?labelSelector=app%3Ddb").await;
    assert!(names(&none).is_empty());
    let (_, one) = get(&api, "/api/v1/pods?fieldSelector=metadata.name%3Dnginx-2").await;
    assert_eq!(names(&one), ["nginx-2"]);

    let table_request = Request::builder()
        .uri("/api/v1/namespaces/web/pods")
        .header(
            "accept",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Body::empty())
        .unwrap();
    let response = api.clone().oneshot(table_request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let table: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["columnDefinitions"][2]["name"], "Status");
    assert_eq!(table["rows"][0]["cells"][2], "Pending");

    let (code, missing) = get(&api, "/api/v1/namespaces/web/pods/nope").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(missing["kind"], "Status");
    assert_eq!(missing["message"], "pods \"nope\" not found");
    assert_eq!(
        missing["details"],
        json!({ "name": "nope", "kind": "pods" })
    );
    let (code, no_ns) = call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/db/deployments",
        "application/json",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "x" },
            "spec": { "selector": {}, "template": { "spec": { "containers": [{ "name": "a" }] } } },
        }),
    )
    .await;
    assert_eq!(
        (code, no_ns["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("namespaces \"db\" not found"))
    );
    let (code, _) = get(&api, "/api/v1/namespaces/web/widgets").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, forbidden) = call(
        &api,
        Method::DELETE,
        "/api/v1/namespaces/default",
        "application/json",
        Value::Null,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{forbidden}");
    assert_eq!(
        forbidden["message"],
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );
}

#[tokio::test]
async fn strict_validation_refuses_unknown_fields() {
    let api = start(NS);
    let mut typo = deployment(1);
    typo["spec"]["replica"] = json!(3);
    let (code, refused) = call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/web/deployments?fieldValidation=Strict",
        "application/json",
        typo.clone(),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("unknown field \"spec.replica\""),
        "{refused}"
    );
    // Without Strict it is dropped, as Kubernetes drops it.
    let (code, _) = call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/web/deployments?fieldValidation=Ignore",
        "application/json",
        typo,
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
}

#[tokio::test]
async fn quota_admission_refuses_with_403_and_kubernetes_words() {
    let api = start(NS);
    let quota = json!({ "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": { "name": "compute", "namespace": "web" },
        "spec": { "hard": { "requests.cpu": "1" } } });
    let (code, _) = call(
        &api,
        Method::POST,
        "/api/v1/namespaces/web/resourcequotas",
        "application/json",
        quota,
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "big" },
        "spec": { "containers": [{ "name": "a", "resources": { "requests": { "cpu": "2" } } }] } });
    let (code, refused) = call(
        &api,
        Method::POST,
        "/api/v1/namespaces/web/pods",
        "application/json",
        pod,
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(refused["reason"], "Forbidden");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("pods \"big\" is forbidden: exceeded quota: compute"),
        "{refused}"
    );
}

#[tokio::test]
async fn patches_scale_and_watch_from_a_resource_version() {
    let api = start(NS);
    call(
        &api,
        Method::POST,
        "/apis/apps/v1/namespaces/web/deployments",
        "application/json",
        deployment(1),
    )
    .await;
    let (_, before) = get(&api, "/apis/apps/v1/namespaces/web/deployments/nginx").await;
    let rv = before["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();

    // What `kubectl scale` sends.
    let (code, scale) = call(
        &api,
        Method::PATCH,
        "/apis/apps/v1/namespaces/web/deployments/nginx/scale",
        "application/merge-patch+json",
        json!({ "spec": { "replicas": 3 } }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{scale}");
    assert_eq!(
        (scale["kind"].as_str(), &scale["spec"]["replicas"]),
        (Some("Scale"), &json!(3))
    );
    let (_, pods) = get(&api, "/api/v1/namespaces/web/pods").await;
    assert_eq!(names(&pods).len(), 3);

    // What `kubectl apply` sends for a changed label (strategic merge).
    let (code, patched) = call(
        &api,
        Method::PATCH,
        "/apis/apps/v1/namespaces/web/deployments/nginx",
        "application/strategic-merge-patch+json",
        json!({ "metadata": { "labels": { "tier": "front" } } }),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["metadata"]["labels"],
        json!({ "app": "nginx", "tier": "front" })
    );
    assert_eq!(patched["spec"]["replicas"], json!(3), "the scale is kept");
    assert_eq!(
        patched["metadata"]["generation"],
        json!(2),
        "scaled once, labels are not spec"
    );
    let (code, _) = call(
        &api,
        Method::PATCH,
        "/apis/apps/v1/namespaces/web/deployments/nginx",
        "application/json-patch+json",
        json!([]),
    )
    .await;
    assert_eq!(code, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // A watch from before the scale replays it: the Deployment, then the
    // new pods, each once, in resourceVersion order.
    let request = Request::builder()
        .uri(format!(
            "/apis/apps/v1/namespaces/web/deployments?watch=true&resourceVersion={rv}"
        ))
        .body(Body::empty())
        .unwrap();
    let response = api.clone().oneshot(request).await.unwrap();
    let mut stream = response.into_body().into_data_stream();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("a watch event")
            .unwrap()
            .unwrap();
        for line in String::from_utf8_lossy(&chunk).lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            seen.push((
                event["type"].as_str().unwrap().to_owned(),
                event["object"]["spec"]["replicas"].clone(),
                event["object"]["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            ));
        }
    }
    assert_eq!(seen[0].0, "MODIFIED");
    assert_eq!(seen[0].1, json!(3));
    assert!(
        seen[0].2 > rv.parse::<u64>().unwrap() && seen[1].2 > seen[0].2,
        "{seen:?}"
    );

    // Deleting a pod that is not placed forgets it at once; its
    // Deployment makes another.
    let (code, _) = call(
        &api,
        Method::DELETE,
        "/api/v1/namespaces/web/pods/nginx-1",
        "application/json",
        json!({ "gracePeriodSeconds": 5 }),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = get(&api, "/api/v1/namespaces/web/pods/nginx-1").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, pods) = get(&api, "/api/v1/namespaces/web/pods").await;
    assert_eq!(names(&pods), ["nginx-2", "nginx-3", "nginx-4"]);
}
