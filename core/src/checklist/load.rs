//! Reading and validating a checklist file.
//!
//! The file is read as generic JSON and each field is taken out by hand rather than through
//! `#[derive(Deserialize)]`: serde's own messages give a line and column but not *which item*
//! is wrong, and the people who maintain the checklist need "`resolution_limit` of item #12
//! (A01-003)". Unknown fields are ignored, so that a newer checklist with extra fields still
//! loads in an older app; a misspelt required field is still caught, as a missing field.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::{ChecklistError, Position};
use super::limit::TimeLimit;
use super::list::Checklist;
use super::model::{Category, ChecklistItem, Domain};

/// Parses and validates checklist JSON; see [`Checklist::from_json`].
pub(super) fn parse(text: &str) -> Result<Checklist, ChecklistError> {
    let root: Value =
        serde_json::from_str(text).map_err(|source| ChecklistError::NotJson { source })?;

    let mut domains = Vec::new();
    let mut domain_ids = HashMap::new();
    for (i, value) in section(&root, "domains")?.iter().enumerate() {
        let entry = Entry::new("domain", i, value)?;
        let id = entry.id()?;
        check_unique(&mut domain_ids, &entry, &id)?;
        domains.push(Domain {
            id,
            name_zh: entry.text("name_zh")?,
            name_en: entry.text("name_en")?,
        });
    }
    let known_domains = || {
        domains
            .iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };

    let mut categories = Vec::new();
    let mut category_ids = HashMap::new();
    for (i, value) in section(&root, "categories")?.iter().enumerate() {
        let entry = Entry::new("category", i, value)?;
        let id = entry.id()?;
        check_unique(&mut category_ids, &entry, &id)?;
        let name_zh = entry.text("name_zh")?;
        let name_en = entry.text("name_en")?;
        let domain = entry.text("domain")?;
        if !domain_ids.contains_key(&domain) {
            return Err(ChecklistError::UnknownDomain {
                at: entry.at,
                domain,
                known: known_domains(),
            });
        }
        categories.push(Category {
            id,
            name_zh,
            name_en,
            domain,
        });
    }

    let raw_items = section(&root, "items")?;
    if raw_items.is_empty() {
        return Err(ChecklistError::NoItems);
    }
    let mut items = Vec::with_capacity(raw_items.len());
    let mut item_ids = HashMap::new();
    for (i, value) in raw_items.iter().enumerate() {
        let entry = Entry::new("item", i, value)?;
        let id = entry.id()?;
        check_unique(&mut item_ids, &entry, &id)?;
        let domain = entry.text("domain")?;
        if !domain_ids.contains_key(&domain) {
            return Err(ChecklistError::UnknownDomain {
                at: entry.at,
                domain,
                known: known_domains(),
            });
        }
        let category = entry.text("category")?;
        let Some(category_domain) = categories
            .iter()
            .find(|c| c.id == category)
            .map(|c| &c.domain)
        else {
            return Err(ChecklistError::UnknownCategory {
                at: entry.at,
                category,
            });
        };
        if *category_domain != domain {
            return Err(ChecklistError::DomainMismatch {
                at: entry.at.clone(),
                category,
                category_domain: category_domain.clone(),
                item_domain: domain,
            });
        }
        let title_zh = entry.text("title_zh")?;
        let title_en = entry.text("title_en")?;
        let responsible_unit = entry.text("responsible_unit")?;
        let on_spot = entry.flag("on_spot")?;
        let response_limit = entry.limit("response_limit")?;
        let resolution_limit = entry.limit("resolution_limit")?;
        if resolution_limit.nominal_minutes() < response_limit.nominal_minutes() {
            return Err(ChecklistError::ResolutionBeforeResponse {
                at: entry.at,
                response: response_limit.to_string(),
                resolution: resolution_limit.to_string(),
            });
        }
        let escalate_to_district = entry.flag("escalate_to_district")?;
        let urgent = entry.flag("urgent")?;
        items.push(ChecklistItem {
            id,
            domain,
            category,
            title_zh,
            title_en,
            responsible_unit,
            on_spot,
            response_limit,
            resolution_limit,
            escalate_to_district,
            urgent,
        });
    }

    Ok(Checklist::from_validated(domains, categories, items))
}

/// The top-level array `name`.
fn section<'a>(root: &'a Value, name: &'static str) -> Result<&'a Vec<Value>, ChecklistError> {
    root.get(name)
        .and_then(Value::as_array)
        .ok_or(ChecklistError::MissingSection { section: name })
}

/// Records `id` as seen at this entry, or reports the earlier entry that has it.
fn check_unique(
    seen: &mut HashMap<String, usize>,
    entry: &Entry<'_>,
    id: &str,
) -> Result<(), ChecklistError> {
    if let Some(&first_index) = seen.get(id) {
        return Err(ChecklistError::DuplicateId {
            at: entry.at.clone(),
            id: id.to_owned(),
            kind: entry.at.kind,
            first_index,
        });
    }
    seen.insert(id.to_owned(), entry.at.index);
    Ok(())
}

/// A short rendering of a JSON value for messages, e.g. `"yes"` or `42`.
fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(40).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// One object of a list, with its position for error messages.
struct Entry<'a> {
    object: &'a Map<String, Value>,
    at: Position,
}

impl<'a> Entry<'a> {
    /// `index` is 0-based here and shown 1-based.
    fn new(kind: &'static str, index: usize, value: &'a Value) -> Result<Self, ChecklistError> {
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let at = Position {
            kind,
            index: index + 1,
            id,
        };
        match value.as_object() {
            Some(object) => Ok(Self { object, at }),
            None => Err(ChecklistError::NotAnObject { at }),
        }
    }

    /// The field's value; absent and `null` are both missing.
    fn field(&self, field: &'static str) -> Result<&'a Value, ChecklistError> {
        match self.object.get(field) {
            None | Some(Value::Null) => Err(ChecklistError::MissingField {
                at: self.at.clone(),
                field,
            }),
            Some(value) => Ok(value),
        }
    }

    fn wrong_type(
        &self,
        field: &'static str,
        expected: &'static str,
        found: &Value,
    ) -> ChecklistError {
        ChecklistError::WrongType {
            at: self.at.clone(),
            field,
            expected,
            found: describe(found),
        }
    }

    /// A non-empty string field, trimmed.
    fn text(&self, field: &'static str) -> Result<String, ChecklistError> {
        let value = self.field(field)?;
        let Some(text) = value.as_str() else {
            return Err(self.wrong_type(field, "a string", value));
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(ChecklistError::EmptyField {
                at: self.at.clone(),
                field,
            });
        }
        Ok(text.to_owned())
    }

    /// The `id` field: a non-empty string without inner whitespace.
    fn id(&self) -> Result<String, ChecklistError> {
        let id = self.text("id")?;
        if id.chars().any(char::is_whitespace) {
            return Err(ChecklistError::BadId {
                at: self.at.clone(),
                id,
            });
        }
        Ok(id)
    }

    /// A `true`/`false` field. Strings such as `"yes"` are refused rather than guessed.
    fn flag(&self, field: &'static str) -> Result<bool, ChecklistError> {
        let value = self.field(field)?;
        value
            .as_bool()
            .ok_or_else(|| self.wrong_type(field, "true or false", value))
    }

    /// A time-limit field: a compact string, not zero, not longer than a year.
    fn limit(&self, field: &'static str) -> Result<TimeLimit, ChecklistError> {
        let value = self.field(field)?;
        let Some(text) = value.as_str() else {
            return Err(self.wrong_type(
                field,
                "a time limit such as \"15m\", \"2h\", \"7d\" or \"5wd\"",
                value,
            ));
        };
        let limit: TimeLimit = text
            .parse()
            .map_err(|source| ChecklistError::BadTimeLimit {
                at: self.at.clone(),
                field,
                source,
            })?;
        if limit.count() == 0 {
            return Err(ChecklistError::ZeroTimeLimit {
                at: self.at.clone(),
                field,
            });
        }
        let max = limit.max_in_unit();
        if limit.count() > max.count() {
            return Err(ChecklistError::AbsurdTimeLimit {
                at: self.at.clone(),
                field,
                value: limit.to_string(),
                max: max.to_string(),
            });
        }
        Ok(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A small valid checklist: two domains, two categories, three items.
    fn base() -> Value {
        json!({
            "domains": [
                { "id": "A", "name_zh": "社区环境治理", "name_en": "Community environment" },
                { "id": "B", "name_zh": "社区综合服务", "name_en": "Community services" }
            ],
            "categories": [
                { "id": "A01", "name_zh": "市容环卫", "name_en": "Sanitation", "domain": "A" },
                { "id": "B01", "name_zh": "社会保障", "name_en": "Social security", "domain": "B" }
            ],
            "items": [
                item("A01-001", "A", "A01", "15m", "45m"),
                item("A01-002", "A", "A01", "2h", "7d"),
                item("B01-001", "B", "B01", "2wd", "10wd")
            ]
        })
    }

    fn item(id: &str, domain: &str, category: &str, response: &str, resolution: &str) -> Value {
        json!({
            "id": id, "domain": domain, "category": category,
            "title_zh": "暴露垃圾", "title_en": "Exposed garbage",
            "responsible_unit": "市容所", "on_spot": true,
            "response_limit": response, "resolution_limit": resolution,
            "escalate_to_district": false, "urgent": false
        })
    }

    fn load(value: &Value) -> Result<Checklist, ChecklistError> {
        parse(&value.to_string())
    }

    /// Loads `base()` with one field of item #2 (A01-002) changed.
    fn with_item2(field: &str, new: Value) -> ChecklistError {
        let mut v = base();
        v["items"][1][field] = new;
        load(&v).unwrap_err()
    }

    fn item2() -> Position {
        Position {
            kind: "item",
            index: 2,
            id: Some("A01-002".to_owned()),
        }
    }

    #[test]
    fn the_base_loads() {
        let list = load(&base()).unwrap();
        assert_eq!(list.items().len(), 3);
        assert_eq!(
            list.item("B01-001").unwrap().resolution_limit,
            TimeLimit::WorkingDays(10)
        );
        // Extra fields are ignored (forward compatibility).
        let mut v = base();
        v["items"][0]["added_in_a_later_version"] = json!(1);
        v["about"] = json!("test");
        assert!(load(&v).is_ok());
    }

    #[test]
    fn not_json() {
        let err = parse("{ \"domains\": [").unwrap_err();
        assert!(matches!(err, ChecklistError::NotJson { .. }), "{err:?}");
        assert!(err.to_string().contains("not valid JSON"));
        let err = parse("[1, 2]").unwrap_err();
        assert!(matches!(
            err,
            ChecklistError::MissingSection { section: "domains" }
        ));
        let mut v = base();
        v["items"] = json!({});
        assert!(matches!(
            load(&v).unwrap_err(),
            ChecklistError::MissingSection { section: "items" }
        ));
        v["items"] = json!([]);
        assert!(matches!(load(&v).unwrap_err(), ChecklistError::NoItems));
        v["items"] = json!(["A01-001"]);
        let err = load(&v).unwrap_err();
        assert!(matches!(err, ChecklistError::NotAnObject { .. }));
        assert!(err.to_string().contains("item #1 (no id)"), "{err}");
    }

    #[test]
    fn missing_fields_name_the_item_and_field() {
        for field in [
            "domain",
            "category",
            "title_zh",
            "title_en",
            "responsible_unit",
            "on_spot",
            "response_limit",
            "resolution_limit",
            "escalate_to_district",
            "urgent",
        ] {
            let mut v = base();
            v["items"][1].as_object_mut().unwrap().remove(field);
            let err = load(&v).unwrap_err();
            match &err {
                ChecklistError::MissingField { at, field: f } => {
                    assert_eq!(*at, item2());
                    assert_eq!(f, &field);
                }
                other => panic!("{field}: {other:?}"),
            }
            assert_eq!(
                err.to_string(),
                format!("item #2 (A01-002) has no `{field}`; add it")
            );
            // null is missing too
            assert!(matches!(
                with_item2(field, Value::Null),
                ChecklistError::MissingField { .. }
            ));
        }
        let mut v = base();
        v["items"][2].as_object_mut().unwrap().remove("id");
        let err = load(&v).unwrap_err();
        assert_eq!(err.to_string(), "item #3 (no id) has no `id`; add it");
        let mut v = base();
        v["categories"][0].as_object_mut().unwrap().remove("domain");
        let err = load(&v).unwrap_err();
        assert_eq!(err.to_string(), "category #1 (A01) has no `domain`; add it");
    }

    #[test]
    fn wrong_types_and_empty_text() {
        let err = with_item2("on_spot", json!("yes"));
        assert!(
            matches!(
                &err,
                ChecklistError::WrongType {
                    field: "on_spot",
                    expected: "true or false",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "`on_spot` of item #2 (A01-002) must be true or false, found \"yes\""
        );
        let err = with_item2("response_limit", json!(15));
        assert!(matches!(
            err,
            ChecklistError::WrongType {
                field: "response_limit",
                ..
            }
        ));
        let err = with_item2("title_en", json!("  "));
        assert!(matches!(
            err,
            ChecklistError::EmptyField {
                field: "title_en",
                ..
            }
        ));
        assert!(err.to_string().contains("item #2 (A01-002)"));
        let err = with_item2("id", json!("A01 002"));
        assert!(matches!(err, ChecklistError::BadId { .. }), "{err:?}");
    }

    #[test]
    fn unknown_domain_and_category() {
        let err = with_item2("domain", json!("Z"));
        match &err {
            ChecklistError::UnknownDomain { at, domain, known } => {
                assert_eq!(*at, item2());
                assert_eq!(domain, "Z");
                assert_eq!(known, "A, B");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .contains("`domain` of item #2 (A01-002) is 'Z'")
        );

        let err = with_item2("category", json!("A99"));
        assert!(
            matches!(&err, ChecklistError::UnknownCategory { at, category } if *at == item2() && category == "A99")
        );
        assert!(
            err.to_string()
                .contains("`category` of item #2 (A01-002) is 'A99'")
        );

        let err = with_item2("category", json!("B01"));
        assert!(
            matches!(err, ChecklistError::DomainMismatch { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("belongs to domain 'B'"));

        let mut v = base();
        v["categories"][1]["domain"] = json!("C");
        let err = load(&v).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`domain` of category #2 (B01) is 'C'"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids() {
        let err = with_item2("id", json!("A01-001"));
        match &err {
            ChecklistError::DuplicateId {
                at,
                id,
                first_index,
                ..
            } => {
                assert_eq!(at.index, 2);
                assert_eq!(id, "A01-001");
                assert_eq!(*first_index, 1);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "item #2 (A01-001) repeats the id 'A01-001' already used by item #1; give it a new id"
        );
        let mut v = base();
        v["categories"][1]["id"] = json!("A01");
        assert!(matches!(
            load(&v).unwrap_err(),
            ChecklistError::DuplicateId {
                kind: "category",
                ..
            }
        ));
        let mut v = base();
        v["domains"][1]["id"] = json!("A");
        assert!(matches!(
            load(&v).unwrap_err(),
            ChecklistError::DuplicateId { kind: "domain", .. }
        ));
    }

    #[test]
    fn bad_zero_and_absurd_limits() {
        let err = with_item2("resolution_limit", json!("7x"));
        assert!(
            matches!(&err, ChecklistError::BadTimeLimit { at, field: "resolution_limit", .. } if *at == item2())
        );
        assert_eq!(
            err.to_string(),
            "`resolution_limit` of item #2 (A01-002): '7x' is not a time limit; \
             write e.g. 15m, 2h, 7d or 5wd"
        );
        let err = with_item2("response_limit", json!("0m"));
        assert!(matches!(
            err,
            ChecklistError::ZeroTimeLimit {
                field: "response_limit",
                ..
            }
        ));
        assert!(err.to_string().contains("item #2 (A01-002) is zero"));
        let err = with_item2("resolution_limit", json!("7000d"));
        match &err {
            ChecklistError::AbsurdTimeLimit { value, max, .. } => {
                assert_eq!(value, "7000d");
                assert_eq!(max, "366d");
            }
            other => panic!("{other:?}"),
        }
        // The limits at the edge are accepted.
        let mut v = base();
        v["items"][1]["resolution_limit"] = json!("366d");
        assert!(load(&v).is_ok());
        v["items"][1]["resolution_limit"] = json!("250wd");
        assert!(load(&v).is_ok());
        v["items"][1]["resolution_limit"] = json!("251wd");
        assert!(matches!(
            load(&v).unwrap_err(),
            ChecklistError::AbsurdTimeLimit { .. }
        ));
    }

    #[test]
    fn resolution_shorter_than_response() {
        let err = with_item2("resolution_limit", json!("1h"));
        match &err {
            ChecklistError::ResolutionBeforeResponse {
                at,
                response,
                resolution,
            } => {
                assert_eq!(*at, item2());
                assert_eq!(response, "2h");
                assert_eq!(resolution, "1h");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("item #2 (A01-002) must be resolved within '1h'")
        );
        // Equal limits are allowed (a matter handled in one go).
        let mut v = base();
        v["items"][1]["resolution_limit"] = json!("2h");
        assert!(load(&v).is_ok());
        // Mixed units compare by length: 3wd is not shorter than 2d.
        v["items"][1]["response_limit"] = json!("2d");
        v["items"][1]["resolution_limit"] = json!("3wd");
        assert!(load(&v).is_ok());
        v["items"][1]["resolution_limit"] = json!("1wd");
        assert!(matches!(
            load(&v).unwrap_err(),
            ChecklistError::ResolutionBeforeResponse { .. }
        ));
    }

    #[test]
    fn the_category_count_is_free() {
        // Two categories here, seventeen in the demo: both load.
        let list = load(&base()).unwrap();
        assert_eq!(list.categories().len(), 2);
    }
}
