//! Monitoring Plugins threshold ranges (`10`, `10:`, `~:10`, `@10:20`). (Being written.)

/// A threshold range; `alerts(v)` is true when `v` should raise the state.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub inside: bool,
}
