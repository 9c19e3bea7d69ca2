//! The street's reference data as the app sees it: the task checklist with
//! its categories and domains, the grids, and the point → grid lookup.

use std::sync::{Arc, OnceLock};

use wangge_core as core_lib;
use wangge_core::GpsFix;
use wangge_core::checklist::TimeLimit as CoreLimit;
use wangge_core::checklist::{Category, Domain};
use wangge_core::grid::{GridLevel, GridMatch as CoreMatch, GridPath};

use crate::error::Result;

/// The reference data of one street: task checklist (任务清单), working-day
/// calendar and grids. Loaded once and shared, read-only, by every store and
/// thread; every method is cheap and safe to call from any thread.
#[derive(Debug, uniffi::Object)]
pub struct Catalog {
    pub(crate) inner: Arc<core_lib::Catalog>,
}

/// The demo street, parsed once per process.
static DEMO: OnceLock<Arc<core_lib::Catalog>> = OnceLock::new();

#[uniffi::export]
impl Catalog {
    /// The Xietu-like demo street shipped with the library: 224 checklist
    /// items in 17 categories and 3 domains, 4 grid blocks with their
    /// residential workstations and unit grids.
    #[uniffi::constructor]
    pub fn demo() -> Result<Arc<Self>> {
        let inner = match DEMO.get() {
            Some(inner) => inner.clone(),
            None => {
                let loaded = Arc::new(core_lib::Catalog::demo()?);
                DEMO.get_or_init(|| loaded).clone()
            }
        };
        Ok(Arc::new(Catalog { inner }))
    }

    /// Loads a street's reference data from the text of its three files:
    /// the checklist (JSON), the working-day calendar (JSON) and the grids
    /// (GeoJSON with a `"datum"` member). Throws `InvalidCatalog` naming the
    /// entry and the field to fix.
    #[uniffi::constructor]
    pub fn from_files(
        checklist_json: String,
        calendar_json: String,
        grids_geojson: String,
    ) -> Result<Arc<Self>> {
        let inner = core_lib::Catalog::from_files(&checklist_json, &calendar_json, &grids_geojson)?;
        Ok(Arc::new(Catalog {
            inner: Arc::new(inner),
        }))
    }

    /// Every checklist item, in the file's order (one list, for the picker).
    pub fn checklist_items(&self) -> Vec<ChecklistItem> {
        self.inner
            .checklist
            .items()
            .iter()
            .map(Into::into)
            .collect()
    }

    /// How many items the checklist has.
    pub fn checklist_item_count(&self) -> i32 {
        i32::try_from(self.inner.checklist.items().len()).unwrap_or(i32::MAX)
    }

    /// One checklist item by id, e.g. `A01-001`; `null` if there is none.
    pub fn checklist_item(&self, id: String) -> Option<ChecklistItem> {
        self.inner.checklist.item(&id).map(Into::into)
    }

    /// The items of one category, in the file's order.
    pub fn checklist_items_in_category(&self, category_id: String) -> Vec<ChecklistItem> {
        self.inner
            .checklist
            .items_in_category(&category_id)
            .map(Into::into)
            .collect()
    }

    /// The checklist's domains (社区环境治理, 社区综合服务, 社区综合治理 …).
    pub fn domains(&self) -> Vec<Domain> {
        self.inner.checklist.domains().to_vec()
    }

    /// The categories of matters (类别), e.g. 市容环卫.
    pub fn categories(&self) -> Vec<Category> {
        self.inner.checklist.categories().to_vec()
    }

    /// Every grid cell: blocks, residential workstations and unit grids.
    pub fn grids(&self) -> Vec<Grid> {
        self.inner.grids.cells().map(Into::into).collect()
    }

    /// The grid cells of one level, e.g. every residential workstation (the
    /// zero-report screens list these).
    pub fn grids_at(&self, level: GridLevel) -> Vec<Grid> {
        self.inner.grids.cells_at(level).map(Into::into).collect()
    }

    /// One grid cell by id; `null` if there is none.
    pub fn grid(&self, id: String) -> Option<Grid> {
        self.inner.grids.cell(&id).map(Into::into)
    }

    /// Which grid cell a GPS fix is in, honest about its accuracy: `Inside`
    /// when the whole accuracy circle lies in one cell, `Ambiguous` with the
    /// candidate cells (most likely first) when it crosses a boundary,
    /// `Outside` when no cell is near. Throws `InvalidGpsFix` for a fix
    /// that is not a position on Earth.
    pub fn lookup_grid(&self, fix: GpsFix) -> Result<GridMatch> {
        fix.validate()?;
        let found = self.inner.grids.lookup(fix.lat, fix.lon, fix.accuracy_m)?;
        Ok(self.grid_match(found))
    }
}

impl Catalog {
    fn place(&self, path: &GridPath) -> GridPlace {
        let cell = path.finest();
        GridPlace {
            cell: cell.to_owned(),
            name: self
                .inner
                .grids
                .cell(cell)
                .map(|c| c.name().to_owned())
                .unwrap_or_default(),
            level: path.level(),
            block: path.block.clone(),
            workstation: path.workstation.clone(),
            unit: path.unit.clone(),
        }
    }

    fn grid_match(&self, found: CoreMatch) -> GridMatch {
        match found {
            CoreMatch::Inside(path) => GridMatch::Inside {
                place: self.place(&path),
            },
            CoreMatch::Ambiguous {
                containing,
                candidates,
            } => GridMatch::Ambiguous {
                containing: containing.as_ref().map(|p| self.place(p)),
                candidates: candidates.iter().map(|p| self.place(p)).collect(),
            },
            CoreMatch::Outside => GridMatch::Outside,
        }
    }
}

/// The unit of a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TimeUnit {
    /// Elapsed minutes.
    Minutes,
    /// Elapsed hours.
    Hours,
    /// Calendar days of 24 hours.
    CalendarDays,
    /// Working days by the official calendar, ending at midnight China
    /// Standard Time.
    WorkingDays,
}

/// How long a responsible unit has to respond to or to resolve a case
/// (限时办结), e.g. 15 minutes, 2 hours or 5 working days.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TimeLimit {
    /// The number of units.
    pub count: i32,
    /// The unit.
    pub unit: TimeUnit,
    /// The compact form used in the data files: `15m`, `2h`, `7d`, `5wd`.
    pub text: String,
}

impl From<CoreLimit> for TimeLimit {
    fn from(l: CoreLimit) -> Self {
        let unit = match l {
            CoreLimit::Minutes(_) => TimeUnit::Minutes,
            CoreLimit::Hours(_) => TimeUnit::Hours,
            CoreLimit::CalendarDays(_) => TimeUnit::CalendarDays,
            CoreLimit::WorkingDays(_) => TimeUnit::WorkingDays,
        };
        TimeLimit {
            count: crate::model::int(l.count()),
            unit,
            text: l.to_string(),
        }
    }
}

/// One task of the checklist: what the matter is, who handles it, and how fast.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistItem {
    /// Stable id, e.g. `A01-003`; cases refer to items by it.
    pub id: String,
    /// Id of the domain.
    pub domain: String,
    /// Id of the category.
    pub category: String,
    /// Chinese title, as the officer picks it.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// The unit that handles it (责任单位), e.g. 城管中队.
    pub responsible_unit: String,
    /// Whether the grid team or the workstation may handle it on the spot (现场处置).
    pub on_spot: bool,
    /// Time allowed to respond: clarify the situation, or be on site.
    pub response_limit: TimeLimit,
    /// Time allowed to resolve it.
    pub resolution_limit: TimeLimit,
    /// Whether the case must go to the district platform (提交区级平台).
    pub escalate_to_district: bool,
    /// A special case to be handled at once (随报随处理).
    pub urgent: bool,
}

impl From<&core_lib::checklist::ChecklistItem> for ChecklistItem {
    fn from(i: &core_lib::checklist::ChecklistItem) -> Self {
        ChecklistItem {
            id: i.id.clone(),
            domain: i.domain.clone(),
            category: i.category.clone(),
            title_zh: i.title_zh.clone(),
            title_en: i.title_en.clone(),
            responsible_unit: i.responsible_unit.clone(),
            on_spot: i.on_spot,
            response_limit: i.response_limit.into(),
            resolution_limit: i.resolution_limit.into(),
            escalate_to_district: i.escalate_to_district,
            urgent: i.urgent,
        }
    }
}

/// One grid cell.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Grid {
    /// Unique id.
    pub id: String,
    /// Display name, e.g. 日晖新城居民区工作站.
    pub name: String,
    /// Level.
    pub level: GridLevel,
    /// Id of the enclosing cell; `null` for a block.
    pub parent: Option<String>,
}

impl From<&core_lib::grid::GridCell> for Grid {
    fn from(c: &core_lib::grid::GridCell) -> Self {
        Grid {
            id: c.id().to_owned(),
            name: c.name().to_owned(),
            level: c.level(),
            parent: c.parent().map(str::to_owned),
        }
    }
}

/// A cell a GPS fix may be in, named with its ancestors.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridPlace {
    /// Id of the finest cell (what a case records as its grid).
    pub cell: String,
    /// Display name of that cell.
    pub name: String,
    /// Level of that cell.
    pub level: GridLevel,
    /// Id of the grid block.
    pub block: String,
    /// Id of the residential workstation, when the cell is one or lies in one.
    pub workstation: Option<String>,
    /// Id of the unit grid, when the cell is one.
    pub unit: Option<String>,
}

/// The answer to "which grid cell is this GPS fix in?".
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum GridMatch {
    /// The whole accuracy circle lies inside one cell: the fix is certainly there.
    Inside {
        /// That cell.
        place: GridPlace,
    },
    /// The accuracy circle reaches more than one cell, or past the edge of
    /// the grid: ask the officer to choose among the candidates (or let the
    /// centre decide).
    Ambiguous {
        /// The cell holding the centre of the fix, if any.
        containing: Option<GridPlace>,
        /// Every cell the circle reaches, most likely first.
        candidates: Vec<GridPlace>,
    },
    /// No cell is within the accuracy radius: the fix is outside the street.
    Outside,
}
