//! The loaded, validated task checklist and its look-ups.

use std::collections::HashMap;

use super::error::ChecklistError;
use super::load;
use super::model::{Category, ChecklistItem, Domain};

/// The shipped demo checklist (`core/data/checklist.json`), modelled on Xietu Street's.
const DEMO_JSON: &str = include_str!("../../data/checklist.json");

/// A validated task checklist (任务清单): domains, categories and items, with every reference
/// resolved and every limit checked. Build it with [`Checklist::from_json`] or
/// [`Checklist::demo`].
#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    domains: Vec<Domain>,
    categories: Vec<Category>,
    items: Vec<ChecklistItem>,
    item_index: HashMap<String, usize>,
    category_index: HashMap<String, usize>,
}

impl Checklist {
    /// Builds the look-up tables. Only [`load`] calls this, after validation (ids are unique,
    /// references resolve).
    pub(super) fn from_validated(
        domains: Vec<Domain>,
        categories: Vec<Category>,
        items: Vec<ChecklistItem>,
    ) -> Self {
        let item_index = items
            .iter()
            .enumerate()
            .map(|(i, item)| (item.id.clone(), i))
            .collect();
        let category_index = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Self {
            domains,
            categories,
            items,
            item_index,
            category_index,
        }
    }

    /// Reads and validates a checklist file (see `core/data/checklist.json` for the shape).
    ///
    /// Every error names the entry (`item #12 (A01-003)`) and the field. A checklist may have
    /// any number of domains and categories: other streets have other lists.
    pub fn from_json(text: &str) -> Result<Self, ChecklistError> {
        load::parse(text)
    }

    /// The shipped demo checklist. It is compiled in, so an error is a bug in the shipped
    /// file (a test proves it loads); it is a `Result` so that no code path can panic.
    pub fn demo() -> Result<Self, ChecklistError> {
        Self::from_json(DEMO_JSON)
    }

    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&ChecklistItem> {
        self.item_index.get(id).map(|&i| &self.items[i])
    }

    /// All items, in file order.
    pub fn items(&self) -> &[ChecklistItem] {
        &self.items
    }

    /// All domains, in file order.
    pub fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// The domain with this id.
    pub fn domain(&self, id: &str) -> Option<&Domain> {
        self.domains.iter().find(|d| d.id == id)
    }

    /// All categories, in file order.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// The category with this id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.category_index.get(id).map(|&i| &self.categories[i])
    }

    /// The items of one category, in file order (none for an unknown category id).
    pub fn items_in_category<'a>(
        &'a self,
        category_id: &'a str,
    ) -> impl Iterator<Item = &'a ChecklistItem> + 'a {
        self.items.iter().filter(move |i| i.category == category_id)
    }

    /// The categories of one domain, in file order.
    pub fn categories_in_domain<'a>(
        &'a self,
        domain_id: &'a str,
    ) -> impl Iterator<Item = &'a Category> + 'a {
        self.categories
            .iter()
            .filter(move |c| c.domain == domain_id)
    }
}

#[cfg(test)]
mod tests {
    use super::super::limit::TimeLimit;
    use super::*;

    fn demo() -> Checklist {
        Checklist::demo().unwrap()
    }

    fn by_title<'a>(list: &'a Checklist, title_zh: &str) -> &'a ChecklistItem {
        let found: Vec<_> = list
            .items()
            .iter()
            .filter(|i| i.title_zh.contains(title_zh))
            .collect();
        assert_eq!(found.len(), 1, "exactly one item titled like {title_zh}");
        found[0]
    }

    #[test]
    fn shipped_checklist_has_the_seeds_shape() {
        let list = demo();
        let domains: Vec<_> = list.domains().iter().map(|d| d.name_zh.as_str()).collect();
        assert_eq!(domains, ["社区环境治理", "社区综合服务", "社区综合治理"]);
        assert_eq!(list.categories().len(), 17);
        assert!(list.items().len() >= 45, "{} items", list.items().len());
        for name in ["市容环卫", "街面秩序", "社区事务", "社会保障"] {
            assert!(
                list.categories().iter().any(|c| c.name_zh == name),
                "category {name}"
            );
        }
        // Every domain and every category is used.
        for c in list.categories() {
            assert!(list.items_in_category(&c.id).next().is_some(), "{}", c.id);
        }
        for d in list.domains() {
            assert!(list.categories_in_domain(&d.id).next().is_some());
        }
        // Every English title is in English (no Chinese left untranslated).
        for item in list.items() {
            assert!(item.title_en.is_ascii(), "{}: {}", item.id, item.title_en);
        }
    }

    #[test]
    fn top_three_street_matters_are_15_minutes_and_45_minutes_on_the_spot() {
        let list = demo();
        for title in ["流动摊贩", "暴露垃圾", "占道无证经营"] {
            let item = by_title(&list, title);
            assert_eq!(item.response_limit, TimeLimit::Minutes(15), "{title}");
            assert_eq!(item.resolution_limit, TimeLimit::Minutes(45), "{title}");
            assert!(item.on_spot, "{title}");
            assert!(!item.escalate_to_district, "{title}");
        }
        let street = list
            .category(&by_title(&list, "流动摊贩").category)
            .unwrap();
        assert_eq!(street.name_zh, "街面秩序");
        let sanitation = list
            .category(&by_title(&list, "暴露垃圾").category)
            .unwrap();
        assert_eq!(sanitation.name_zh, "市容环卫");
    }

    #[test]
    fn illegal_construction_in_progress_goes_to_the_district() {
        let list = demo();
        let item = by_title(&list, "正在搭建的违法建筑");
        assert!(item.escalate_to_district);
        assert_eq!(item.response_limit, TimeLimit::Hours(2));
        assert_eq!(item.resolution_limit, TimeLimit::CalendarDays(7));
        assert_eq!(item.responsible_unit, "联合执法队");
        assert_eq!(list.item(&item.id), Some(item));
        assert_eq!(list.domain(&item.domain).unwrap().name_zh, "社区环境治理");
    }

    #[test]
    fn private_parking_locks_and_working_day_items_are_present() {
        let list = demo();
        let locks = by_title(&list, "私设地锁");
        assert_eq!(locks.responsible_unit, "市政科");
        assert!(
            list.items()
                .iter()
                .any(|i| i.resolution_limit == TimeLimit::WorkingDays(5))
        );
        assert!(
            list.items()
                .iter()
                .any(|i| i.resolution_limit == TimeLimit::WorkingDays(10))
        );
        let services = list
            .domains()
            .iter()
            .find(|d| d.name_zh == "社区综合服务")
            .unwrap();
        let wd_services = list
            .items()
            .iter()
            .filter(|i| i.domain == services.id)
            .filter(|i| matches!(i.resolution_limit, TimeLimit::WorkingDays(_)))
            .count();
        assert!(
            wd_services >= 5,
            "{wd_services} service items in working days"
        );
        assert!(list.items().iter().any(|i| i.urgent));
    }

    #[test]
    fn shipped_checklist_is_as_long_as_the_streets_and_well_formed() {
        let list = demo();
        // The seed's count: 224 items in the street's list.
        assert_eq!(list.items().len(), 224);
        let mut titles = std::collections::HashSet::new();
        for item in list.items() {
            // Ids are the category id and a 3-digit number.
            let (category, number) = item.id.split_once('-').unwrap_or((&item.id, ""));
            assert_eq!(category, item.category, "{}", item.id);
            assert!(
                number.len() == 3 && number.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                item.id
            );
            // One item per matter: no title twice.
            assert!(
                titles.insert(&item.title_zh),
                "{}: {}",
                item.id,
                item.title_zh
            );
        }
        // The street's biggest categories (the top three matters are in them) are the
        // checklist's biggest too.
        let count = |id: &str| list.items_in_category(id).count();
        for c in list.categories() {
            if c.id != "A01" && c.id != "A02" {
                assert!(count(&c.id) < count("A02"), "{} vs A02", c.id);
            }
        }
        assert!(count("A01") >= count("A02"));
    }

    #[test]
    fn look_ups_by_id() {
        let list = demo();
        let first = &list.items()[0];
        assert_eq!(list.item(&first.id), Some(first));
        assert_eq!(list.item("Z99-999"), None);
        assert_eq!(list.category("Z99"), None);
        assert_eq!(list.items_in_category("Z99").count(), 0);
        let total: usize = list
            .categories()
            .iter()
            .map(|c| list.items_in_category(&c.id).count())
            .sum();
        assert_eq!(total, list.items().len());
    }

    #[test]
    fn items_round_trip_through_serde() {
        let list = demo();
        let item = by_title(&list, "正在搭建的违法建筑");
        let json = serde_json::to_value(item).unwrap();
        assert_eq!(json["response_limit"], "2h");
        assert_eq!(json["resolution_limit"], "7d");
        let back: ChecklistItem = serde_json::from_value(json).unwrap();
        assert_eq!(&back, item);
    }
}
