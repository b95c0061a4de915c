//! Manifests: documents in the Kubernetes docs' shapes parse into their
//! typed objects; each kind of bad manifest is refused with its own error.

use k8s_bridge::manifest::{parse, ManifestError, Object};

#[test]
fn documentation_shaped_yaml_parses_into_each_kind() {
    let objects = parse(include_str!("data/docs-shapes.yaml")).unwrap();
    let kinds: Vec<String> = objects.iter().map(Object::describe).collect();
    assert_eq!(
        kinds,
        [
            "Namespace/shop",
            "Deployment/frontend",
            "Pod/cache",
            "ResourceQuota/compute",
            "PriorityClass/high-priority"
        ]
    );
    let Object::Deployment(d) = &objects[1] else {
        panic!("{:?}", objects[1])
    };
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(3));
    let Object::PriorityClass(pc) = &objects[4] else {
        panic!()
    };
    assert_eq!(pc.value, 1_000_000);
}

#[test]
fn json_object_and_list_parse() {
    let one = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}"#;
    assert_eq!(parse(one).unwrap().len(), 1);
    let list = r#"{"apiVersion":"v1","kind":"List","items":[
        {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}},
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},
         "spec":{"containers":[{"name":"c","image":"busybox"}]}}]}"#;
    let objects = parse(list).unwrap();
    assert_eq!(objects[1].describe(), "Pod/p");
}

#[test]
fn empty_documents_are_skipped() {
    let text = "---\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\n";
    assert_eq!(parse(text).unwrap().len(), 1);
}

#[test]
fn each_refusal_has_its_error() {
    assert!(matches!(parse("a: [1,"), Err(ManifestError::Yaml(_))));
    assert!(matches!(parse("{ nope"), Err(ManifestError::Json(_))));
    assert!(matches!(
        parse("just: a map\n"),
        Err(ManifestError::NoKind { document: 1 })
    ));
    let unsupported = "apiVersion: v1\nkind: Namespace\nmetadata: { name: a }\n---\napiVersion: batch/v1\nkind: Job\nmetadata: { name: j }\n";
    match parse(unsupported) {
        Err(ManifestError::Unsupported {
            document,
            api_version,
            kind,
        }) => assert_eq!(
            (document, api_version.as_str(), kind.as_str()),
            (2, "batch/v1", "Job")
        ),
        other => panic!("{other:?}"),
    }
    // The right kind with the wrong apiVersion is unsupported too.
    assert!(matches!(
        parse("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: { name: d }\n"),
        Err(ManifestError::Unsupported { .. })
    ));
    assert!(matches!(
        parse("apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\nspec: { replicas: many }\n"),
        Err(ManifestError::Invalid { document: 1, .. })
    ));
    assert!(matches!(
        parse("apiVersion: v1\nkind: Namespace\nmetadata: {}\n"),
        Err(ManifestError::NoName { .. })
    ));
}
