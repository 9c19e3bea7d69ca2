//! The query strings of the console's GET forms: read them ignoring blank fields, and
//! write the links that carry a list's filters to the cases behind a number.
//!
//! Why blank fields are dropped before parsing: a GET form sends every field, the ones
//! left at "any" as `name=` (`status=&block=XT-B1`). Read as they are, `status=` is not a
//! status (a `400`) and `holder=` a holder named "" (no rows); dropped, a form means what
//! its person chose and the same query parameters as `GET /v1/cases` keep their meaning.

use serde::de::DeserializeOwned;

use crate::console::session::encode_component;
use crate::error::ApiError;

/// The non-blank `(name, value)` pairs of a query string, decoded, in order.
pub fn pairs(raw: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    let all: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("bad_query", format!("{e}; fix the query string")))?;
    Ok(all
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect())
}

/// Whether the query string names any of `names`, blank or not (a form that sent the field
/// left at "any", or a link that chose a value).
pub fn names(raw: Option<&str>, names: &[&str]) -> Result<bool, ApiError> {
    let all: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request("bad_query", format!("{e}; fix the query string")))?;
    Ok(all.iter().any(|(k, _)| names.contains(&k.as_str())))
}

/// Reads a page's query parameters into `T` without its blank fields; a malformed or
/// unknown parameter is a `400 bad_query` naming it, as for the API.
pub fn parse<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    let kept = pairs(raw)?;
    let text = serde_urlencoded::to_string(&kept).map_err(ApiError::internal)?;
    serde_urlencoded::from_str(&text)
        .map_err(|e| ApiError::bad_request("bad_query", format!("{e}; fix the query string")))
}

/// A query string of `(name, value)` pairs, blank values left out: `a=1&b=%E5%9F%8E`.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&encode_component(value));
    }
    out
}

/// The link to every case of a list filter: the queue page "all cases", which reads the
/// same parameters as `GET /v1/cases`.
pub fn cases_link(pairs: &[(&str, &str)]) -> String {
    let q = query(pairs);
    if q.is_empty() {
        "/console/queues/all".to_owned()
    } else {
        format!("/console/queues/all?{q}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::office::ListParams;

    #[test]
    fn blank_fields_are_ignored_and_the_rest_read_as_the_api_reads_them() {
        let p: ListParams = parse(Some(
            "status=&open=true&block=XT-B1&overdue=true&category=&q=%E5%9E%83",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.status, None);
        assert_eq!(p.open, Some(true));
        assert!(p.overdue);
        assert_eq!(p.block.as_deref(), Some("XT-B1"));
        assert_eq!(p.category, None);
        assert_eq!(p.q.as_deref(), Some("垃"));
        let none: ListParams = parse(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(none.block, None);
    }

    #[test]
    fn bad_and_unknown_parameters_are_refused_by_name() {
        let bad = parse::<ListParams>(Some("open=perhaps")).err();
        assert_eq!(bad.map(|e| e.code), Some("bad_query"));
        let unknown = parse::<ListParams>(Some("colour=red")).err();
        assert!(unknown.is_some_and(|e| e.message.contains("colour")));
    }

    #[test]
    fn links_carry_the_filters_encoded() {
        assert_eq!(
            cases_link(&[
                ("channel", "hotline_12345"),
                ("unit", "城管中队"),
                ("block", "")
            ]),
            "/console/queues/all?channel=hotline_12345&unit=%E5%9F%8E%E7%AE%A1%E4%B8%AD%E9%98%9F"
        );
        assert_eq!(cases_link(&[]), "/console/queues/all");
        assert_eq!(query(&[("q", "a&b=c")]), "q=a%26b%3Dc");
    }
}
