//! What a vote share means: the model's share of votes for an episode's label, mapped to how
//! often that label given with that share was right on dogs the model never saw (isotonic
//! regression per label, fitted when the model is trained and kept with it). The dashboard's
//! "likely" and "unsure" read this measured probability, not the raw share.

use super::{BEHAVIOUR_COUNT, Behaviour};

/// A label needs this many judged epochs for a curve of its own; rarer labels use the curve of
/// all labels together.
pub const OWN_CURVE_MIN: usize = 200;

/// What a model's vote shares mean: a curve per label (where there was enough to measure one)
/// and one for all labels together.
#[derive(Debug, Clone, PartialEq)]
pub struct Confidence {
    pub pooled: ConfidenceCurve,
    pub by_label: [Option<ConfidenceCurve>; BEHAVIOUR_COUNT],
}

impl Confidence {
    /// Fits the curves to `(label given, its vote share, was right)`; `None` without any.
    pub fn fit(judged: &[(Behaviour, f64, bool)]) -> Option<Confidence> {
        let all: Vec<(f64, bool)> = judged.iter().map(|(_, s, r)| (*s, *r)).collect();
        let pooled = ConfidenceCurve::fit(&all)?;
        let by_label = std::array::from_fn(|i| {
            let own: Vec<(f64, bool)> =
                judged.iter().filter(|(b, _, _)| b.index() == i).map(|(_, s, r)| (*s, *r)).collect();
            if own.len() >= OWN_CURVE_MIN { ConfidenceCurve::fit(&own) } else { None }
        });
        Some(Confidence { pooled, by_label })
    }

    /// The measured probability that `label`, given with this vote share, is right.
    pub fn probability(&self, label: Behaviour, share: f64) -> f64 {
        self.by_label[label.index()].as_ref().unwrap_or(&self.pooled).probability(share)
    }
}

/// A non-decreasing map from vote share to the measured probability of being right: knots
/// `(share, probability)` with increasing shares, interpolated linearly between them and flat
/// beyond the ends.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfidenceCurve {
    knots: Vec<(f64, f64)>,
}

/// The most knots a curve keeps (the pairs are pooled into this many bins before fitting).
pub const MAX_KNOTS: usize = 40;

impl ConfidenceCurve {
    /// Fits the curve to `(vote share, was right)` pairs by pool-adjacent-violators over
    /// [`MAX_KNOTS`] bins of equal count. `None` without pairs.
    pub fn fit(pairs: &[(f64, bool)]) -> Option<ConfidenceCurve> {
        let mut sorted: Vec<(f64, f64)> = pairs
            .iter()
            .filter(|(s, _)| s.is_finite())
            .map(|(s, r)| (s.clamp(0.0, 1.0), f64::from(u8::from(*r))))
            .collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Bins of equal count: (lowest share, highest share, rights, count).
        // Equal shares stay in one bin, so a share has one probability.
        let per_bin = sorted.len().div_ceil(MAX_KNOTS);
        let mut bins: Vec<(f64, f64, f64, f64)> = Vec::new();
        let mut start = 0;
        while start < sorted.len() {
            let mut end = (start + per_bin).min(sorted.len());
            while end < sorted.len() && sorted[end].0 == sorted[end - 1].0 {
                end += 1;
            }
            let c = &sorted[start..end];
            bins.push((c[0].0, c[c.len() - 1].0, c.iter().map(|p| p.1).sum(), c.len() as f64));
            start = end;
        }
        // Pool adjacent violators: merge a block into the one before while it is less right.
        let mut pooled: Vec<(f64, f64, f64, f64)> = Vec::new();
        for b in bins {
            pooled.push(b);
            while pooled.len() > 1 {
                let (last, before) = (pooled[pooled.len() - 1], pooled[pooled.len() - 2]);
                if before.2 / before.3 <= last.2 / last.3 {
                    break;
                }
                pooled.pop();
                if let Some(b) = pooled.last_mut() {
                    *b = (before.0, last.1, before.2 + last.2, before.3 + last.3);
                }
            }
        }
        // Each block is flat from its lowest share to its highest; between blocks, a line.
        let mut knots: Vec<(f64, f64)> = Vec::with_capacity(2 * pooled.len());
        for (lo, hi, right, n) in pooled {
            for share in [lo, hi] {
                if knots.last().is_none_or(|k| share > k.0) {
                    knots.push((share, right / n));
                }
            }
        }
        Some(ConfidenceCurve { knots })
    }

    /// The measured probability of being right for a vote share.
    pub fn probability(&self, share: f64) -> f64 {
        let (Some(first), Some(last)) = (self.knots.first(), self.knots.last()) else { return share };
        if share <= first.0 {
            return first.1;
        }
        if share >= last.0 {
            return last.1;
        }
        let i = self.knots.partition_point(|k| k.0 <= share);
        let ((x0, y0), (x1, y1)) = (self.knots[i - 1], self.knots[i]);
        if x1 - x0 <= f64::EPSILON { y1 } else { y0 + (y1 - y0) * (share - x0) / (x1 - x0) }
    }

    /// The knots, in order of share.
    pub fn knots(&self) -> &[(f64, f64)] {
        &self.knots
    }

    /// A curve from knots as kept in a model file: shares strictly increasing, probabilities
    /// non-decreasing, all within 0 to 1, at least one and at most 1,000.
    pub fn from_knots(knots: Vec<(f64, f64)>) -> Result<ConfidenceCurve, &'static str> {
        if knots.is_empty() || knots.len() > 1000 {
            return Err("a confidence curve needs 1 to 1,000 knots");
        }
        let within = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if knots.iter().any(|(s, p)| !within(*s) || !within(*p)) {
            return Err("a confidence curve's shares and probabilities lie within 0 to 1");
        }
        if knots.windows(2).any(|w| w[1].0 <= w[0].0 || w[1].1 < w[0].1) {
            return Err("a confidence curve's shares increase and its probabilities never fall");
        }
        Ok(ConfidenceCurve { knots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_says_how_often_a_share_was_right_and_never_falls() {
        // Shares near 1 right 70% of the time, near 0.5 right 90% (an overconfident model
        // where it is sure, and a violation the fit must pool).
        let mut pairs = Vec::new();
        for i in 0..1000 {
            pairs.push((0.99, i % 10 < 7));
            pairs.push((0.5, i % 10 < 9));
            pairs.push((0.3, i % 10 < 2));
        }
        let curve = ConfidenceCurve::fit(&pairs).unwrap();
        let (low, mid, high) = (curve.probability(0.3), curve.probability(0.5), curve.probability(0.99));
        assert!((low - 0.2).abs() < 0.01, "{low}");
        // 0.5 and 0.99 pool: (900 + 700) / 2000.
        assert!((mid - 0.8).abs() < 0.01 && (high - 0.8).abs() < 0.01, "{mid} {high}");
        assert!(curve.knots().windows(2).all(|w| w[1].1 >= w[0].1));
        assert!(curve.probability(1.0) < 0.81, "a share of 1 is not 100 % sure: {}", curve.probability(1.0));
        assert_eq!(ConfidenceCurve::fit(&[]), None);
    }

    #[test]
    fn knots_from_a_file_are_checked() {
        assert!(ConfidenceCurve::from_knots(vec![(0.2, 0.1), (0.6, 0.5), (1.0, 0.9)]).is_ok());
        assert!(ConfidenceCurve::from_knots(vec![(0.2, 0.5), (0.6, 0.4)]).is_err(), "falls");
        assert!(ConfidenceCurve::from_knots(vec![(0.6, 0.5), (0.2, 0.6)]).is_err(), "shares out of order");
        assert!(ConfidenceCurve::from_knots(vec![(0.6, 1.5)]).is_err());
        assert!(ConfidenceCurve::from_knots(vec![]).is_err());
        let c = ConfidenceCurve::from_knots(vec![(0.5, 0.4), (0.9, 0.8)]).unwrap();
        assert!((c.probability(0.7) - 0.6).abs() < 1e-9 && c.probability(0.1) == 0.4 && c.probability(1.0) == 0.8);
    }
}
