//! Exports of the back office, written row by row so that a response streams in constant
//! memory whatever the number of cases: CSV for spreadsheets, GeoJSON for maps and GIS,
//! NDJSON of the change feed for other systems.
//!
//! Why CSV starts with a byte-order mark: Excel, which the street's offices open exports
//! with, reads a CSV without one in the system's legacy code page and shows Chinese text
//! as mojibake; with the UTF-8 BOM it reads UTF-8. Other CSV readers skip it.

use serde_json::{Value, json};
use wangge_core::SourceChannel;

use crate::office::period;
use crate::office::queue::CaseRow;

/// The UTF-8 byte-order mark.
pub const BOM: &str = "\u{feff}";

/// The CSV header line (with the BOM and a CRLF, as RFC 4180 writes lines).
pub fn csv_header() -> String {
    format!(
        "{BOM}id,case_number,status,channel,channel_name,checklist_item,category,grid,workstation,\
         block,description,reporter,reported_at,response_due,resolution_due,responded_at,\
         resolved_at,closed_at,holders,overdue,escalated,lat,lon,located_by\r\n"
    )
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with
/// quotes doubled. A field a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first)
/// is prefixed with an apostrophe: descriptions come from the public.
pub fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn time(ms: Option<i64>) -> String {
    ms.map(period::iso).unwrap_or_default()
}

/// One case as a CSV line (times in China time, ISO 8601).
pub fn csv_line(r: &CaseRow) -> String {
    let channel_name = SourceChannel::parse(&r.channel)
        .map(|c| c.name_zh())
        .unwrap_or("");
    let opt = |v: &Option<String>| csv_field(v.as_deref().unwrap_or(""));
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let fields = [
        csv_field(&r.id),
        opt(&r.case_number),
        csv_field(r.status.as_str()),
        csv_field(&r.channel),
        csv_field(channel_name),
        csv_field(&r.checklist_item),
        csv_field(&r.category),
        opt(&r.grid),
        opt(&r.workstation),
        opt(&r.block),
        csv_field(&r.description),
        csv_field(&r.reporter),
        time(Some(r.reported_at)),
        time(r.response_due),
        time(r.resolution_due),
        time(r.responded_at),
        time(r.resolved_at),
        time(r.closed_at),
        csv_field(&r.holders.join(";")),
        r.overdue.to_string(),
        r.escalated.to_string(),
        num(r.lat),
        num(r.lon),
        opt(&r.located_by),
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// The opening of a GeoJSON FeatureCollection; features follow, comma-separated, then
/// [`GEOJSON_END`].
pub const GEOJSON_START: &str = "{\"type\":\"FeatureCollection\",\"features\":[\n";
/// The end of a FeatureCollection.
pub const GEOJSON_END: &str = "\n]}\n";

/// A case as a GeoJSON point feature with its row as properties; `None` for a case with
/// no position at all (no fix, no grid).
pub fn case_feature(r: &CaseRow) -> Option<Value> {
    let (lat, lon) = (r.lat?, r.lon?);
    let mut properties = serde_json::to_value(r).ok()?;
    if let Some(map) = properties.as_object_mut() {
        map.remove("lat");
        map.remove("lon");
    }
    Some(json!({
        "type": "Feature",
        "id": r.id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("暴露垃圾"), "暴露垃圾");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-3"), "'-3");
        assert!(csv_header().starts_with('\u{feff}'));
    }
}

/// One line of the change feed: a document that changed after the client's cursor, as
/// the back office sees it now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Its place in the feed: pass the last one seen as `after` to continue.
    pub seq: u64,
    /// `case` or `zero_report`.
    pub kind: String,
    /// The document id (a case id, or `zr:<workstation>:<day>`).
    pub id: String,
    /// The case as listed, for a case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseRow>,
    /// The day's filing, for a zero report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_report: Option<crate::office::board::FilingRow>,
}
