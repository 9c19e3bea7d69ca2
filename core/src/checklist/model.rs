//! The entries of a task checklist: domains, categories and items.

use serde::{Deserialize, Serialize};

use super::limit::TimeLimit;

/// One of the checklist's top-level fields of work. Xietu Street has three: community
/// environment (社区环境治理), community services (社区综合服务) and community governance
/// (社区综合治理).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Domain {
    /// Stable id, e.g. `"A"`.
    pub id: String,
    /// Chinese name, e.g. 社区环境治理.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// A kind of matter (类别), e.g. 市容环卫 city appearance and sanitation. Xietu Street counts
/// 17; other streets have other lists, so the number is not fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Category {
    /// Stable id, e.g. `"A01"`.
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Id of the [`Domain`] it belongs to.
    pub domain: String,
}

/// One task of the checklist: what the matter is, who handles it, and how fast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// Stable id, e.g. `"A01-003"` (category id, then a number). Cases refer to items by this
    /// id, so it must never be reused for a different matter.
    pub id: String,
    /// Id of the [`Domain`].
    pub domain: String,
    /// Id of the [`Category`]; the category belongs to the same domain.
    pub category: String,
    /// Chinese title, as the officer picks it on the phone.
    pub title_zh: String,
    /// English translation of the title.
    pub title_en: String,
    /// The unit that handles it (责任单位), e.g. 城管中队, 联合执法队, 市政科, 物业公司.
    pub responsible_unit: String,
    /// Whether the grid team or the residential workstation may handle it on the spot
    /// (现场处置) rather than dispatch it.
    pub on_spot: bool,
    /// Time allowed to respond: clarify the situation, or be on site.
    pub response_limit: TimeLimit,
    /// Time allowed to resolve it; never shorter than the response limit.
    pub resolution_limit: TimeLimit,
    /// Whether the case must be submitted to the district platform (提交区级平台).
    pub escalate_to_district: bool,
    /// A special case to be handled at once (随报随处理), ahead of the queue.
    pub urgent: bool,
}
