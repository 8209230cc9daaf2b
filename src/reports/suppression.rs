//! Small-cell suppression for reports that reach beyond the staff holding the records
//! (consortium-wide reports, and analysts' reports of their own organisation): counts of 1–4
//! are shown as "<5", and where a published total would let a single hidden cell be worked out,
//! one more cell of its group is hidden too (secondary suppression). Hours and medians are
//! hidden with the count they are made of. Pure code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A published count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Cell {
    Count(i64),
    /// `"<5"` for counts of 1–4, `"suppressed"` for a cell hidden so that a small one cannot be
    /// recovered from a total.
    Hidden(HiddenReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum HiddenReason {
    #[serde(rename = "<5")]
    Small,
    #[serde(rename = "suppressed")]
    Complementary,
}

impl Cell {
    pub fn is_hidden(self) -> bool {
        matches!(self, Self::Hidden(_))
    }

    /// A measure (minutes, say) of the things counted in `of`, hidden whenever `of` is.
    pub fn with(value: i64, of: Cell) -> Self {
        if of.is_hidden() { of } else { Self::Count(value) }
    }
}

/// Published hours (a total, or a median): hidden whenever the count they are made of is, for
/// the same reason, since an hour figure of one session or one referral describes that one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Hours {
    Value(f64),
    /// `"<5"` or `"suppressed"`, as the count it goes with.
    Hidden(HiddenReason),
}

impl Hours {
    /// `value` shown as its count `of` is.
    pub fn with(value: f64, of: Cell) -> Self {
        match of {
            Cell::Hidden(reason) => Self::Hidden(reason),
            Cell::Count(_) => Self::Value(value),
        }
    }
}

/// A count on its way to publication: the true value and what will be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub value: i64,
    pub shown: Cell,
}

impl Tally {
    /// Published as counted (reports of one organisation to its own staff).
    pub fn exact(value: i64) -> Self {
        Self { value, shown: Cell::Count(value) }
    }

    /// Published with primary suppression.
    pub fn protected(value: i64) -> Self {
        let shown = if (1..=4).contains(&value) { Cell::Hidden(HiddenReason::Small) } else { Cell::Count(value) };
        Self { value, shown }
    }
}

impl Tally {
    /// A psychological count published outside the tier: zero is hidden with the counts of 1-4,
    /// or the first session of a month would show as a zero turning into "<5".
    pub fn of_tier(value: i64) -> Self {
        let shown = if value <= 4 { Cell::Hidden(HiddenReason::Small) } else { Cell::Count(value) };
        Self { value, shown }
    }
}

/// Secondary suppression over a group whose total is published: when exactly one cell is
/// hidden, the smallest other non-zero cell is hidden as well, so the hidden one cannot be
/// obtained by subtraction.
pub fn protect_group(cells: &mut [&mut Tally]) {
    let hidden = cells.iter().filter(|cell| cell.shown.is_hidden()).count();
    if hidden != 1 {
        return;
    }
    let partner =
        cells.iter_mut().filter(|cell| !cell.shown.is_hidden() && cell.value > 0).min_by_key(|cell| cell.value);
    if let Some(partner) = partner {
        partner.shown = Cell::Hidden(HiddenReason::Complementary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_one_to_four_are_hidden_but_zero_is_not() {
        assert_eq!(Tally::protected(0).shown, Cell::Count(0));
        assert_eq!(Tally::protected(3).shown, Cell::Hidden(HiddenReason::Small));
        assert_eq!(Tally::protected(5).shown, Cell::Count(5));
        assert_eq!(serde_json::to_string(&Tally::protected(2).shown).unwrap(), "\"<5\"");
    }

    #[test]
    fn outside_the_tier_zero_looks_like_a_small_count() {
        assert_eq!(Tally::of_tier(0).shown, Tally::of_tier(4).shown);
        assert_eq!(Tally::of_tier(5).shown, Cell::Count(5));
    }

    #[test]
    fn a_lone_hidden_cell_takes_the_smallest_other_cell_with_it() {
        let (mut a, mut b, mut c) = (Tally::protected(3), Tally::protected(12), Tally::protected(40));
        protect_group(&mut [&mut a, &mut b, &mut c]);
        assert!(a.shown.is_hidden() && b.shown.is_hidden());
        assert_eq!(c.shown, Cell::Count(40));
    }

    #[test]
    fn hours_hide_with_their_count_for_the_same_reason() {
        assert_eq!(Hours::with(2.5, Cell::Hidden(HiddenReason::Small)), Hours::Hidden(HiddenReason::Small));
        assert_eq!(
            Hours::with(9.0, Cell::Hidden(HiddenReason::Complementary)),
            Hours::Hidden(HiddenReason::Complementary)
        );
        assert_eq!(Hours::with(7.5, Cell::Count(6)), Hours::Value(7.5));
        assert_eq!(serde_json::to_string(&Hours::with(1.0, Tally::protected(1).shown)).unwrap(), "\"<5\"");
    }

    #[test]
    fn two_hidden_cells_need_no_more() {
        let (mut a, mut b, mut c) = (Tally::protected(3), Tally::protected(2), Tally::protected(40));
        protect_group(&mut [&mut a, &mut b, &mut c]);
        assert_eq!(c.shown, Cell::Count(40));
    }
}
