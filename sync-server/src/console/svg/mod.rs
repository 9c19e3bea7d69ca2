//! Server-drawn SVG: the grid map with its case markers ([`map`]) and the bar charts of the
//! evaluation ([`chart`]).
//!
//! Why SVG drawn by the server and not a browser charting or map library: the console must
//! work on a fresh machine with no internet and no front-end build, the figures must be the
//! server's own (never recomputed in a browser), and a page of the console is one HTML
//! answer that a test can read. Everything here is a pure function from data to
//! [`maud::Markup`], so it is unit-tested without a server, and every text that reaches the
//! SVG goes through maud's escaping.

pub mod chart;
pub mod day_grid;
pub mod map;
pub mod projection;

use std::fmt::Write as _;

use maud::Render;

/// A length or coordinate in SVG user units (pixels of the drawing), written with one
/// decimal.
///
/// Why one decimal: a tenth of a pixel is below what a screen shows, and a map of a street's
/// grid has a few thousand vertices and markers, whose full `f64` digits would triple the
/// page's size for nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Px(pub f64);

impl Render for Px {
    fn render_to(&self, buffer: &mut String) {
        push_px(buffer, self.0);
    }
}

/// Appends `value` with one decimal, dropping a trailing `.0` (and writing `-0.0` as `0`).
/// Anything that is not a finite number a drawing could use is written as `0`.
pub(crate) fn push_px(buffer: &mut String, value: f64) {
    let tenths = (value * 10.0).round();
    // Far beyond any drawing's size: a broken input, not a coordinate.
    if !tenths.is_finite() || tenths.abs() > 1e15 {
        buffer.push('0');
        return;
    }
    let tenths = tenths as i64;
    let (whole, fraction) = (tenths / 10, (tenths % 10).abs());
    if tenths < 0 && whole == 0 {
        buffer.push('-');
    }
    if fraction == 0 {
        let _ = write!(buffer, "{whole}");
    } else {
        let _ = write!(buffer, "{whole}.{fraction}");
    }
}

/// Estimated width of a text in pixels at `font` size: a CJK character is a full em, an
/// ASCII one about six tenths. Estimated because the server cannot measure the browser's
/// font; the estimate only sizes label columns and decides where to cut.
pub(crate) fn text_width(text: &str, font: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.6 * font } else { font })
        .sum()
}

/// `text` cut to fit `width` pixels at `font` size, with `…` when cut.
pub(crate) fn fit_text(text: &str, width: f64, font: f64) -> std::borrow::Cow<'_, str> {
    if text_width(text, font) <= width {
        return text.into();
    }
    let mut used = font; // the ellipsis
    let mut cut = String::new();
    for c in text.chars() {
        used += if c.is_ascii() { 0.6 * font } else { font };
        if used > width {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    cut.into()
}

/// Tags that HTML writes without an end tag but SVG does not know as such.
///
/// Why it matters: inline in an HTML page, an SVG element is only closed by `/>` or an end
/// tag; maud's `tag;` writes `<tag>` with neither, and the HTML parser then nests the rest
/// of the drawing inside it, where nothing shows. Every element here is written `tag {}`,
/// and the tests check it with [`assert_closed`].
#[cfg(test)]
pub(crate) const SVG_LEAVES: [&str; 5] = ["circle", "rect", "image", "line", "path"];

/// Panics unless every element of [`SVG_LEAVES`] in `svg` has its end tag.
#[cfg(test)]
pub(crate) fn assert_closed(svg: &str) {
    for tag in SVG_LEAVES {
        let opened = svg.matches(&format!("<{tag} ")).count();
        let closed = svg.matches(&format!("</{tag}>")).count();
        assert_eq!(opened, closed, "<{tag}> without its end tag");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn px(value: f64) -> String {
        let mut s = String::new();
        push_px(&mut s, value);
        s
    }

    #[test]
    fn px_has_one_decimal_and_no_trailing_zero() {
        assert_eq!(px(12.34), "12.3");
        assert_eq!(px(12.0), "12");
        assert_eq!(px(-0.04), "0");
        assert_eq!(px(-0.26), "-0.3");
        assert_eq!(px(-3.25), "-3.3");
        assert_eq!(px(0.96), "1");
        assert_eq!(px(f64::NAN), "0");
        assert_eq!(maud::html! { (Px(7.75)) }.into_string(), "7.8");
    }
}
