//! The documented shape of each example's trace, checked by the tests and
//! the tour. Each check returns every difference it found, in words.

use crate::{Span, Trace};

/// Attribute every user span carries.
const USER_ID: &str = "user.id";

/// The in-process examples: root `main` with `GetUser(1)` then `GetUser(100)`,
/// each with `GetInfo`, `GetDetail`, `GetScores` (9 spans), all of
/// `service`, every user span with the right `user.id`.
pub fn inprocess(trace: &Trace, service: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if trace.spans.len() != 9 {
        problems.push(format!("expected 9 spans, found {}", trace.spans.len()));
    }
    for span in &trace.spans {
        if span.service_name != service {
            problems.push(format!(
                "span {} has service `{}`, expected `{service}`",
                span.name, span.service_name
            ));
        }
    }
    let Some(root) = trace.root() else {
        problems.push("no root span".to_owned());
        return Err(problems);
    };
    if root.name != "main" || root.parent_span_id.is_some() {
        problems.push(format!(
            "root span is `{}`, expected `main` with no parent",
            root.name
        ));
    }
    let users = trace.children(root);
    let names: Vec<&str> = users.iter().map(|s| s.name.as_str()).collect();
    if names != ["GetUser", "GetUser"] {
        problems.push(format!(
            "`main` has children {names:?}, expected [\"GetUser\", \"GetUser\"]"
        ));
    }
    for (user, id) in users.iter().zip([1, 100]) {
        check_user_id(user, id, &mut problems);
        let parts = trace.children(user);
        let mut part_names: Vec<&str> = parts.iter().map(|s| s.name.as_str()).collect();
        part_names.sort_unstable();
        if part_names != ["GetDetail", "GetInfo", "GetScores"] {
            problems.push(format!(
                "GetUser({id}) has children {part_names:?}, expected GetInfo, GetDetail, GetScores"
            ));
        }
        for part in parts {
            check_user_id(part, id, &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_user_id(span: &Span, id: i64, problems: &mut Vec<String>) {
    if span.attr_i64(USER_ID) != Some(id) {
        problems.push(format!(
            "span {} has {USER_ID} {:?}, expected {id}",
            span.name,
            span.attributes.get(USER_ID)
        ));
    }
}

/// The in-process examples' stdout: exactly the two users as JSON, `{}`
/// (user 1 does not exist) then user 100.
pub fn inprocess_output(stdout: &str) -> Result<(), Vec<String>> {
    let values: Vec<serde_json::Value> = match serde_json::Deserializer::from_str(stdout)
        .into_iter()
        .collect::<Result<_, _>>()
    {
        Ok(values) => values,
        Err(error) => {
            return Err(vec![format!(
                "stdout is not a sequence of JSON values: {error}"
            )]);
        }
    };
    let expected = [
        serde_json::json!({}),
        serde_json::json!({"id":100,"name":"john","gender":1,"site":"https://goframe.org",
                           "email":"john@goframe.org","math":100,"english":60,"chinese":50}),
    ];
    if values == expected {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout holds {values:?}, expected {{}} then user 100"
        )])
    }
}
