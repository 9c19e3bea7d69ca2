//! The grid module's error type.
//!
//! Dataset errors name the feature by its position in the `features` array and, when it has one,
//! by its `id`, so whoever maintains the GeoJSON file can find the offending entry. Lookup errors
//! name the offending value.

use std::fmt;

use thiserror::Error;

use super::cell::GridLevel;

/// Where in a dataset a problem is: the feature's index in `features` and its `id`, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRef {
    /// Zero-based index of the feature in the collection's `features` array.
    pub index: usize,
    /// The feature's `id` property, when it has a usable one.
    pub id: Option<String>,
}

impl fmt::Display for FeatureRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "features[{}] (id {id:?})", self.index),
            None => write!(f, "features[{}] (no id)", self.index),
        }
    }
}

/// Everything that can go wrong when loading a grid dataset or looking up a GPS fix.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GridError {
    /// The text is not JSON at all.
    #[error("grid dataset is not valid JSON: {reason}; fix the file so that it parses as JSON")]
    InvalidJson {
        /// The JSON parser's message, with line and column.
        reason: String,
    },

    /// The text is JSON but not a GeoJSON FeatureCollection, or a feature is not valid GeoJSON.
    #[error("grid dataset is not a valid GeoJSON FeatureCollection: {reason}")]
    InvalidGeoJson {
        /// What is wrong, naming the member or feature.
        reason: String,
    },

    /// The collection does not say which datum its coordinates are in.
    #[error(
        "grid dataset has no top-level \"datum\" member; add \"datum\": \"GCJ-02\" (coordinates \
         traced on a Chinese web map) or \"datum\": \"WGS-84\" (GPS coordinates)"
    )]
    MissingDatum,

    /// The collection's `datum` member is not one this module knows.
    #[error(
        "grid dataset has \"datum\": {found}, which is not supported; use \"GCJ-02\" or \"WGS-84\""
    )]
    UnknownDatum {
        /// The `datum` member as found, in JSON notation.
        found: String,
    },

    /// The collection has no features.
    #[error("grid dataset has no features; it needs at least one grid block polygon")]
    EmptyDataset,

    /// A feature has no `id` property, or one that is not a non-empty string.
    #[error("{at}: missing or empty string property \"id\"; give every feature a unique string id")]
    MissingId {
        /// The feature.
        at: FeatureRef,
    },

    /// Two features have the same `id`.
    #[error("{at}: id is already used by features[{first_index}]; ids must be unique")]
    DuplicateId {
        /// The second feature with that id.
        at: FeatureRef,
        /// Index of the first feature with that id.
        first_index: usize,
    },

    /// A property is missing or of the wrong JSON type.
    #[error("{at}: property {property:?} {problem}")]
    BadProperty {
        /// The feature.
        at: FeatureRef,
        /// The property's name.
        property: &'static str,
        /// What is wrong with it and what to put there instead.
        problem: String,
    },

    /// A feature's `level` is not one of the three grid levels.
    #[error("{at}: unknown level {found:?}; use \"block\", \"workstation\" or \"unit\"")]
    UnknownLevel {
        /// The feature.
        at: FeatureRef,
        /// The level as found.
        found: String,
    },

    /// A workstation or unit has no `parent`.
    #[error("{at}: a {level} needs a \"parent\" property naming the {expected} that encloses it")]
    MissingParent {
        /// The feature.
        at: FeatureRef,
        /// The feature's level.
        level: GridLevel,
        /// The level its parent must have.
        expected: GridLevel,
    },

    /// A block has a `parent`, but blocks are the top level.
    #[error(
        "{at}: a block has no parent, but this one names {parent:?}; remove its \"parent\" \
         property or correct its level"
    )]
    UnexpectedParent {
        /// The feature.
        at: FeatureRef,
        /// The parent id as found.
        parent: String,
    },

    /// The `parent` names no feature of the dataset.
    #[error("{at}: parent {parent:?} is not the id of any feature in the dataset")]
    UnknownParent {
        /// The feature.
        at: FeatureRef,
        /// The parent id as found.
        parent: String,
    },

    /// The `parent` exists but is of the wrong level (e.g. a unit whose parent is a block).
    #[error(
        "{at}: parent {parent:?} is a {found}, but the parent of a {level} must be a {expected}"
    )]
    WrongParentLevel {
        /// The feature.
        at: FeatureRef,
        /// The feature's level.
        level: GridLevel,
        /// The parent id.
        parent: String,
        /// The parent's actual level.
        found: GridLevel,
        /// The level the parent must have.
        expected: GridLevel,
    },

    /// A feature has no geometry.
    #[error("{at}: has no geometry; every grid cell needs a Polygon or MultiPolygon")]
    MissingGeometry {
        /// The feature.
        at: FeatureRef,
    },

    /// A feature's geometry is not a Polygon or MultiPolygon.
    #[error("{at}: geometry is a {found}, but grid cells must be a Polygon or MultiPolygon")]
    NotPolygon {
        /// The feature.
        at: FeatureRef,
        /// The GeoJSON geometry type found.
        found: String,
    },

    /// A position is not a valid longitude/latitude pair.
    #[error(
        "{at}: position {position} is [{lon}, {lat}], which is not a valid [longitude, latitude] \
         (longitude must be finite and in -180..=180, latitude in -90..=90)"
    )]
    CoordinateOutOfRange {
        /// The feature.
        at: FeatureRef,
        /// Where in the geometry, e.g. `polygon 0, ring 1, position 7`.
        position: String,
        /// The longitude as found.
        lon: f64,
        /// The latitude as found.
        lat: f64,
    },

    /// A position has fewer than two numbers.
    #[error(
        "{at}: position {position} has {count} number(s); a position needs [longitude, latitude]"
    )]
    ShortPosition {
        /// The feature.
        at: FeatureRef,
        /// Where in the geometry.
        position: String,
        /// How many numbers it has.
        count: usize,
    },

    /// A polygon is not a valid simple polygon (too few points, self-intersection, ...).
    #[error("{at}: invalid polygon: {reason}; redraw the cell's outline")]
    InvalidPolygon {
        /// The feature.
        at: FeatureRef,
        /// What is wrong with it.
        reason: String,
    },

    /// A GPS fix's latitude or longitude is not a valid coordinate.
    #[error(
        "GPS fix ({lat}, {lon}) is not a valid WGS-84 position: latitude must be finite and in \
         -90..=90, longitude in -180..=180; pass the phone's fix in decimal degrees"
    )]
    InvalidFix {
        /// The latitude as given.
        lat: f64,
        /// The longitude as given.
        lon: f64,
    },

    /// A GPS fix's accuracy radius is negative or not a number.
    #[error(
        "GPS accuracy {accuracy_m} m is not a valid radius: it must be a finite number of metres, \
         zero or more"
    )]
    InvalidAccuracy {
        /// The accuracy as given, in metres.
        accuracy_m: f64,
    },
}
