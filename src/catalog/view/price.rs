//! Prices as people read them, the plans in price order, and what moving from one price to
//! another costs.

use serde::Serialize;

use crate::catalog::{Catalog, Price, Sku, Term};

/// The symbol written before an amount, or the code and a space when there is none.
fn currency_prefix(currency: &str) -> String {
    match currency {
        "USD" => "$".to_owned(),
        "EUR" => "€".to_owned(),
        "GBP" => "£".to_owned(),
        "JPY" => "¥".to_owned(),
        other => format!("{other} "),
    }
}

/// An amount in minor units as text with thousands separators, e.g. `$2,999.00` or
/// `-$10.50`.
pub fn format_money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!(
        "{sign}{}{grouped}.{:02}",
        currency_prefix(currency),
        abs % 100
    )
}

/// A price as shown in tables, e.g. `$2,999.00/mo`.
pub fn format_price(price: &Price) -> String {
    format!(
        "{}/{}",
        format_money(price.cents(), &price.currency),
        price.period.short()
    )
}

/// A SKU's price per year of its term, in minor units, so annual and monthly plans sort
/// together.
fn yearly_cents(sku: &Sku) -> i128 {
    i128::from(sku.price.cents()) * 365 / i128::from(sku.price.period.days().max(1))
}

/// Every SKU, cheapest first (by price per year, then id): the plan ladder.
pub fn plans_by_price(catalog: &Catalog) -> Vec<&Sku> {
    let mut skus: Vec<&Sku> = catalog.skus().iter().collect();
    skus.sort_by(|a, b| {
        yearly_cents(a)
            .cmp(&yearly_cents(b))
            .then_with(|| a.sku_id.as_str().cmp(b.sku_id.as_str()))
    });
    skus
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d` > 0).
fn div_round(n: i64, d: i64) -> i64 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

fn months(term: Term) -> i64 {
    match term {
        Term::Monthly => 1,
        Term::Quarterly => 3,
        Term::Annual => 12,
    }
}

/// What moving from one price to another costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceChange {
    /// The old price.
    pub from: Price,
    /// The new price.
    pub to: Price,
    /// `from`, formatted.
    pub from_label: String,
    /// `to`, formatted.
    pub to_label: String,
    /// The difference in minor units per `period`; `None` across currencies.
    pub delta_cents: Option<i64>,
    /// The difference, formatted with its sign, e.g. `+$270.00/mo`.
    pub delta_label: Option<String>,
    /// The difference relative to the old price, in per cent; `None` from a free plan.
    pub percent: Option<f64>,
    /// The period the difference is expressed in; monthly when the two periods differ.
    pub period: Term,
}

/// Compares two prices. Prices billed over different periods are compared per month.
pub fn price_change(from: &Price, to: &Price) -> PriceChange {
    let (a, b, period) = if from.period == to.period {
        (from.cents(), to.cents(), from.period)
    } else {
        (
            div_round(from.cents(), months(from.period)),
            div_round(to.cents(), months(to.period)),
            Term::Monthly,
        )
    };
    let same_currency = from.currency == to.currency;
    // The exact difference per month, rounded once: the difference of two rounded monthly
    // prices could be a cent off.
    let (mf, mt) = (months(from.period), months(to.period));
    let exact = if from.period == to.period {
        b - a
    } else {
        div_round(to.cents() * mf - from.cents() * mt, mf * mt)
    };
    let delta = same_currency.then_some(exact);
    #[allow(clippy::cast_precision_loss)] // prices are far below 2^52 cents
    let percent = delta.filter(|_| a != 0).map(|d| {
        let p = d as f64 * 100.0 / a as f64;
        (p * 10.0).round() / 10.0
    });
    PriceChange {
        from_label: format_price(from),
        to_label: format_price(to),
        delta_label: delta.map(|d| {
            let sign = if d >= 0 { "+" } else { "" };
            format!("{sign}{}/{}", format_money(d, &to.currency), period.short())
        }),
        delta_cents: delta,
        percent,
        period,
        from: from.clone(),
        to: to.clone(),
    }
}
