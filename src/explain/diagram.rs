//! The governor's state machine as an SVG drawing: served by `tai serve` for its demo page,
//! and standalone enough for any page or report that embeds it.
//!
//! The arrows are the transitions between distinct states that the engine can produce under
//! the catalog ([`possible_transitions`]), so the drawing never shows a move the governor
//! cannot make. Each state and arrow carries an id (`state-stable`,
//! `edge-stable-intervening`) and a class, so the page can highlight the current state and
//! animate the last transition with CSS alone.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::catalog::Catalog;
use crate::diagnostics::escape_markup as escape;
use crate::governor::{GovernorState, possible_transitions};
use crate::receipts::EventType;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 280.0;
const NODE_W: f64 = 136.0;
const NODE_H: f64 = 48.0;

/// Where each state sits.
fn position(state: GovernorState) -> (f64, f64) {
    match state {
        GovernorState::Boot => (80.0, 140.0),
        GovernorState::Stable => (322.0, 140.0),
        GovernorState::Intervening => (620.0, 52.0),
        GovernorState::Refusing => (620.0, 228.0),
    }
}

/// What a person reads on the state.
fn caption(state: GovernorState) -> &'static str {
    match state {
        GovernorState::Boot => "waits for a signal",
        GovernorState::Stable => "calls pass the gates",
        GovernorState::Intervening => "an action is in flight",
        GovernorState::Refusing => "refuses all work",
    }
}

/// What a person reads on the arrow; the event types are in its tooltip.
fn label(from: GovernorState, to: GovernorState) -> &'static str {
    use GovernorState::{Boot, Intervening, Refusing, Stable};
    match (from, to) {
        (Boot, Stable) => "signal, entitled",
        (Boot, Refusing) => "signal, not entitled (gate 1 fails)",
        (Stable, Intervening) => "action overran or failed",
        (Intervening, Stable) => "action complete",
        (Intervening, Refusing) => "action failed",
        (Refusing, Stable) => "entitlement active again",
        _ => "",
    }
}

/// How far an arrow bows from the straight line, to the left of its direction; a pair of
/// opposite arrows bow apart.
fn bow(from: GovernorState, to: GovernorState, has_reverse: bool) -> f64 {
    use GovernorState::{Boot, Refusing};
    match (from, to) {
        (Boot, Refusing) => -46.0,
        _ if has_reverse => 20.0,
        _ => 0.0,
    }
}

/// The point where the segment from the centre `c` towards `toward` leaves the node's box.
fn boundary(c: (f64, f64), toward: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (toward.0 - c.0, toward.1 - c.1);
    let tx = if dx == 0.0 {
        f64::INFINITY
    } else {
        (NODE_W / 2.0 + 4.0) / dx.abs()
    };
    let ty = if dy == 0.0 {
        f64::INFINITY
    } else {
        (NODE_H / 2.0 + 4.0) / dy.abs()
    };
    let t = tx.min(ty).min(1.0);
    (c.0 + dx * t, c.1 + dy * t)
}

/// The drawing for `catalog`.
pub fn governor_svg(catalog: &Catalog) -> String {
    let mut edges: BTreeMap<(GovernorState, GovernorState), Vec<EventType>> = BTreeMap::new();
    for t in possible_transitions(catalog) {
        if t.from != t.to {
            edges.entry((t.from, t.to)).or_default().push(t.event);
        }
    }
    let mut svg = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="governor" role="img" aria-labelledby="governor-title">
<title id="governor-title">The governor's states and the transitions between them</title>
<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>
<marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead hot"/></marker>
</defs>
"##
    );
    for (&(from, to), events) in &edges {
        let has_reverse = edges.contains_key(&(to, from));
        let (a, b) = (position(from), position(to));
        let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let len = (b.0 - a.0).hypot(b.1 - a.1).max(1.0);
        // The left normal of the direction a → b.
        let (nx, ny) = ((b.1 - a.1) / len, -(b.0 - a.0) / len);
        let k = bow(from, to, has_reverse);
        let ctrl = (mx + nx * k * 2.0, my + ny * k * 2.0);
        let (p0, p1) = (boundary(a, ctrl), boundary(b, ctrl));
        // The curve's midpoint, where the label goes.
        let mid = (
            0.25 * p0.0 + 0.5 * ctrl.0 + 0.25 * p1.0,
            0.25 * p0.1 + 0.5 * ctrl.1 + 0.25 * p1.1,
        );
        let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
        let _ = writeln!(
            svg,
            r#"<g class="edge" id="edge-{f}-{t}" data-from="{f}" data-to="{t}"><title>{f} → {t}: {tip}</title><path d="M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}" marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{lbl}</text></g>"#,
            p0.0,
            p0.1,
            ctrl.0,
            ctrl.1,
            p1.0,
            p1.1,
            mid.0,
            mid.1 + if k < 0.0 { 16.0 } else { -7.0 },
            f = from,
            t = to,
            tip = escape(&names.join(", ")),
            lbl = escape(label(from, to)),
        );
    }
    for state in GovernorState::ALL {
        let (x, y) = position(state);
        let _ = writeln!(
            svg,
            r#"<g class="state" id="state-{s}" data-state="{s}"><rect x="{:.1}" y="{:.1}" width="{NODE_W}" height="{NODE_H}" rx="12"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="name">{s}</text><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="caption">{c}</text></g>"#,
            x - NODE_W / 2.0,
            y - NODE_H / 2.0,
            y - 3.0,
            y + 13.0,
            s = state,
            c = caption(state),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{builtin, load};

    #[test]
    fn every_state_and_every_state_change_is_drawn() {
        let catalog = load::build(&builtin::sources()).unwrap();
        let svg = governor_svg(&catalog);
        for s in GovernorState::ALL {
            assert!(svg.contains(&format!(r#"id="state-{s}""#)), "{s}");
        }
        for (f, t) in [
            ("boot", "stable"),
            ("boot", "refusing"),
            ("stable", "intervening"),
            ("intervening", "stable"),
            ("intervening", "refusing"),
            ("refusing", "stable"),
        ] {
            assert!(svg.contains(&format!(r#"id="edge-{f}-{t}""#)), "{f} → {t}");
        }
        assert_eq!(svg.matches(r#"class="edge""#).count(), 6);
        assert!(svg.contains("action_timeout"));
    }
}
