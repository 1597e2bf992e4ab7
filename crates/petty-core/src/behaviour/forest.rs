//! The behaviour classifier: a small random forest.
//!
//! Each tree is grown (CART: binary splits at midpoints, Gini impurity) on a class-balanced
//! bootstrap sample and a random subset of the features, straight into Petty's flat form
//! ([`Forest`]), whose leaves hold the class shares of the training rows that reached them.
//! Training is deterministic: the same rows and seed give the same forest, and so the same
//! version, on every machine (class counts are kept in label order and ties go to the first
//! feature, then the lowest threshold; linfa-trees, used before, summed its counts in hash-map
//! order and gave a different forest on every run). Prediction walks the flat trees only (no
//! allocation) and averages the leaves' shares, so the output is a probability per
//! [`Behaviour`].
//!
//! A forest is kept as versioned, line-based text ([`Forest::to_text`]); its version names the
//! format and a hash of the content, so every labelled episode says exactly which model made it.

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::confidence::{Confidence, ConfidenceCurve};
use super::features::{FEATURE_COUNT, FEATURE_NAMES};
use super::{BEHAVIOUR_COUNT, Behaviour};

/// The first line of a forest's text.
const HEADER: &str = "petty-forest 1";

/// Why a forest could not be trained or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("line {line}: {message}")]
    Format { line: usize, message: String },
    #[error("training failed: {0}")]
    Training(String),
}

fn bad(line: usize, message: impl Into<String>) -> ModelError {
    ModelError::Format { line, message: message.into() }
}

/// How a forest is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    /// Number of trees.
    pub trees: usize,
    pub max_depth: usize,
    /// The fewest training rows in a leaf.
    pub min_leaf: usize,
    /// Share of the features each tree may use (random subspace), 0 to 1.
    pub feature_fraction: f64,
    /// At most this many rows of one label per tree (the commonest labels are subsampled).
    pub class_cap: usize,
    /// At least this many rows of one label per tree, drawn with replacement (rare labels are
    /// oversampled), but never more than three times the rows there are.
    pub class_floor: usize,
}

impl Default for TrainParams {
    fn default() -> TrainParams {
        TrainParams { trees: 20, max_depth: 8, min_leaf: 10, feature_fraction: 0.7, class_cap: 3000, class_floor: 300 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    Split { feature: usize, threshold: f64, left: usize, right: usize, gain: f64 },
    Leaf(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    nodes: Vec<Node>,
    leaves: Vec<[f64; BEHAVIOUR_COUNT]>,
}

impl Tree {
    fn leaf(&self, x: &[f64; FEATURE_COUNT]) -> &[f64; BEHAVIOUR_COUNT] {
        let mut i = 0;
        // Children always come after their parent (checked when read), so this ends.
        loop {
            match self.nodes.get(i) {
                Some(Node::Split { feature, threshold, left, right, .. }) => {
                    i = if x[*feature] < *threshold { *left } else { *right };
                }
                Some(Node::Leaf(l)) => return self.leaves.get(*l).unwrap_or(&UNIFORM),
                None => return &UNIFORM,
            }
        }
    }

    fn leaf_index(&self, x: &[f64; FEATURE_COUNT]) -> Option<usize> {
        let mut i = 0;
        loop {
            match self.nodes.get(i)? {
                Node::Split { feature, threshold, left, right, .. } => {
                    i = if x[*feature] < *threshold { *left } else { *right };
                }
                Node::Leaf(l) => return Some(*l),
            }
        }
    }
}

const UNIFORM: [f64; BEHAVIOUR_COUNT] = [1.0 / BEHAVIOUR_COUNT as f64; BEHAVIOUR_COUNT];

/// A trained behaviour classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    version: String,
    trees: Vec<Tree>,
    /// What its vote shares mean, measured on dogs it never saw, per [`Rate`] (indexed by
    /// it). Absent in models trained before issue 19, whose shares are then shown as they are
    /// (never as a number); a rate without curves of its own uses the minute's.
    confidence: [Option<Confidence>; Rate::ALL.len()],
}

/// Collars with at least this many readings a minute (one every 12 s or faster) read their
/// confidence off the model's dense curves, when it has them...
pub const DENSE_READINGS_PER_MINUTE: f64 = 5.0;
/// ...and collars with fewer than this (one every 2.5 minutes or less often), off its sparse
/// curves.
pub const SPARSE_READINGS_PER_MINUTE: f64 = 0.4;

/// The reporting rates a model's confidence curves are measured for: a share means more in a
/// fuller epoch, and in a day of sparse epochs the smoothing has fewer neighbours to lean on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// About a reading a minute: most collars.
    Minute,
    /// A reading every few seconds.
    Dense,
    /// A reading every few minutes.
    Sparse,
}

impl Rate {
    pub const ALL: [Rate; 3] = [Rate::Minute, Rate::Dense, Rate::Sparse];

    /// The rate of a collar sending `readings_per_minute`.
    pub fn of(readings_per_minute: f64) -> Rate {
        if readings_per_minute >= DENSE_READINGS_PER_MINUTE {
            Rate::Dense
        } else if readings_per_minute < SPARSE_READINGS_PER_MINUTE {
            Rate::Sparse
        } else {
            Rate::Minute
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// How a model file's lines of these curves begin.
    fn prefix(self) -> &'static str {
        match self {
            Rate::Minute => "confidence ",
            Rate::Dense => "confidence-dense ",
            Rate::Sparse => "confidence-sparse ",
        }
    }
}

/// A small deterministic generator (SplitMix64), so a seed gives the same forest everywhere.
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

impl Forest {
    /// `forest-1.<hash>`: the format and a hash of the content.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The measured probability that `label`, given with this vote share, is right (the share
    /// itself for a model without confidence curves), for a collar reporting about once a
    /// minute.
    pub fn confidence(&self, label: Behaviour, share: f64) -> f64 {
        self.confidence_at(label, share, Rate::Minute)
    }

    /// The same for a collar reporting at `rate`: the rate's own curves when the model has
    /// them, else the minute's.
    pub fn confidence_at(&self, label: Behaviour, share: f64, rate: Rate) -> f64 {
        let curves = self.confidence[rate.index()].as_ref().or(self.confidence[Rate::Minute.index()].as_ref());
        curves.map_or(share, |c| c.probability(label, share))
    }

    /// Its confidence curves for collars reporting about once a minute, if it has them.
    pub fn confidence_curves(&self) -> Option<&Confidence> {
        self.confidence_curves_at(Rate::Minute)
    }

    /// Its own confidence curves for collars reporting at `rate`, if it has them.
    pub fn confidence_curves_at(&self, rate: Rate) -> Option<&Confidence> {
        self.confidence[rate.index()].as_ref()
    }

    /// The same forest with `curves` as what its vote shares mean at every rate (a new
    /// version): no rate keeps curves of its own.
    pub fn with_confidence(mut self, curves: Option<Confidence>) -> Forest {
        self.confidence = Default::default();
        self.confidence[Rate::Minute.index()] = curves;
        self.version = version_of(&self.body());
        self
    }

    /// The same forest with `curves` for collars reporting at `rate` (a new version; the
    /// minute's curves are [`Forest::with_confidence`]'s).
    pub fn with_confidence_at(mut self, rate: Rate, curves: Option<Confidence>) -> Forest {
        self.confidence[rate.index()] = curves;
        self.version = version_of(&self.body());
        self
    }

    /// The probability of each behaviour (indexed by [`Behaviour::index`]; they sum to 1).
    pub fn predict(&self, x: &[f64; FEATURE_COUNT]) -> [f64; BEHAVIOUR_COUNT] {
        let mut p = [0.0; BEHAVIOUR_COUNT];
        if self.trees.is_empty() {
            return UNIFORM;
        }
        for t in &self.trees {
            for (a, b) in p.iter_mut().zip(t.leaf(x)) {
                *a += b;
            }
        }
        let sum: f64 = p.iter().sum();
        if sum > 0.0 {
            p.iter_mut().for_each(|v| *v /= sum);
            p
        } else {
            UNIFORM
        }
    }

    /// How much each feature decided, summed over every split (impurity decrease weighted by
    /// the share of training rows reaching the split), normalised to sum to 1.
    pub fn importances(&self) -> [f64; FEATURE_COUNT] {
        let mut imp = [0.0; FEATURE_COUNT];
        for t in &self.trees {
            for n in &t.nodes {
                if let Node::Split { feature, gain, .. } = n {
                    imp[*feature] += gain;
                }
            }
        }
        let sum: f64 = imp.iter().sum();
        if sum > 0.0 {
            imp.iter_mut().for_each(|v| *v /= sum);
        }
        imp
    }

    /// Feature indices, most important first.
    pub fn ranked_features(&self) -> [usize; FEATURE_COUNT] {
        let imp = self.importances();
        let mut idx: [usize; FEATURE_COUNT] = std::array::from_fn(|i| i);
        idx.sort_by(|a, b| imp[*b].total_cmp(&imp[*a]).then(a.cmp(b)));
        idx
    }

    /// The model compiled into Petty (`models/behaviour-forest.txt`, made by `petty train`).
    pub fn builtin() -> &'static Forest {
        static BUILTIN: OnceLock<Forest> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // A unit test proves the committed file reads; an empty forest (uniform answers)
            // is the fallback should it ever not.
            Forest::from_text(include_str!("../../models/behaviour-forest.txt")).unwrap_or_else(|_| Forest {
                version: "forest-1.empty".to_owned(),
                trees: Vec::new(),
                confidence: Default::default(),
            })
        })
    }

    /// Trains a forest on labelled epoch features. The same rows, parameters and seed give the
    /// same forest.
    pub fn train(
        rows: &[([f64; FEATURE_COUNT], Behaviour)],
        params: &TrainParams,
        seed: u64,
    ) -> Result<Forest, ModelError> {
        if rows.is_empty() {
            return Err(ModelError::Training("no training rows".to_owned()));
        }
        if params.trees == 0 || params.max_depth == 0 {
            return Err(ModelError::Training("trees and max_depth must be at least 1".to_owned()));
        }
        if rows.iter().any(|(x, _)| x.iter().any(|v| !v.is_finite())) {
            return Err(ModelError::Training("every feature must be a finite number".to_owned()));
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); BEHAVIOUR_COUNT];
        for (i, (_, b)) in rows.iter().enumerate() {
            by_class[b.index()].push(i);
        }
        let mut rng = SplitMix(seed ^ 0x5EED_F0E5_7000_0001);
        let n_features =
            ((FEATURE_COUNT as f64 * params.feature_fraction.clamp(0.1, 1.0)).ceil() as usize).clamp(1, FEATURE_COUNT);
        let mut trees = Vec::with_capacity(params.trees);
        for _ in 0..params.trees {
            // The features this tree may use.
            let mut features: Vec<usize> = (0..FEATURE_COUNT).collect();
            for i in 0..n_features {
                let j = i + rng.below(FEATURE_COUNT - i);
                features.swap(i, j);
            }
            features.truncate(n_features);
            features.sort_unstable();

            // A class-balanced bootstrap sample.
            let mut sample = Vec::new();
            for members in by_class.iter().filter(|m| !m.is_empty()) {
                let k = members.len().min(params.class_cap).max(params.class_floor.min(3 * members.len()));
                sample.extend((0..k).map(|_| members[rng.below(members.len())]));
            }

            let mut tree = Tree { nodes: Vec::new(), leaves: Vec::new() };
            let mut reaching = sample.clone();
            grow(rows, &mut reaching, &features, params, 0, &mut tree);
            fill_leaves(&mut tree, rows, &sample);
            trees.push(tree);
        }
        let mut forest = Forest { version: String::new(), trees, confidence: Default::default() };
        // The version is the hash of the text, so a forest read back has the same one.
        forest.version = version_of(&forest.body());
        Ok(forest)
    }

    /// The forest as versioned text; [`Forest::from_text`] reads it back.
    pub fn to_text(&self) -> String {
        let body = self.body();
        format!("{HEADER}\n# version {}\n{body}", version_of(&body))
    }

    fn body(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "features {}", FEATURE_NAMES.join(" "));
        let labels: Vec<&str> = Behaviour::ALL.iter().map(|b| b.as_str()).collect();
        let _ = writeln!(s, "labels {}", labels.join(" "));
        let _ = writeln!(s, "trees {}", self.trees.len());
        for t in &self.trees {
            let _ = writeln!(s, "tree {} {}", t.nodes.len(), t.leaves.len());
            for n in &t.nodes {
                match n {
                    Node::Split { feature, threshold, left, right, gain } => {
                        let _ = writeln!(s, "s {feature} {threshold} {left} {right} {}", round(*gain, 6));
                    }
                    Node::Leaf(l) => {
                        let _ = write!(s, "l {l}");
                        for (c, p) in t.leaves.get(*l).unwrap_or(&UNIFORM).iter().enumerate() {
                            if *p > 0.0 {
                                let _ = write!(s, " {c}:{p}");
                            }
                        }
                        s.push('\n');
                    }
                }
            }
        }
        for rate in Rate::ALL {
            let Some(c) = &self.confidence[rate.index()] else { continue };
            // One line for all labels together, then one per label that has its own curve.
            let mut line = |name: &str, curve: &ConfidenceCurve| {
                let _ = write!(s, "{}{name}", rate.prefix());
                for (share, p) in curve.knots() {
                    // Shortest text that reads back to the same number: knots stay distinct.
                    let _ = write!(s, " {share}:{p}");
                }
                s.push('\n');
            };
            line("*", &c.pooled);
            for b in Behaviour::ALL {
                if let Some(curve) = &c.by_label[b.index()] {
                    line(b.as_str(), curve);
                }
            }
        }
        s.push_str("end\n");
        s
    }

    /// Reads a forest written by [`Forest::to_text`]. Anything malformed (wrong header, other
    /// features or labels, bad numbers, children that do not follow their parent, missing or
    /// extra lines) is an error naming the line.
    pub fn from_text(text: &str) -> Result<Forest, ModelError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
        let mut next = |what: &str| lines.next().ok_or_else(|| bad(0, format!("the text ends before {what}")));
        let (n, header) = next("the header")?;
        if header != HEADER {
            return Err(bad(n, format!("expected `{HEADER}`")));
        }
        let (mut n, mut line) = next("the features")?;
        if line.starts_with('#') {
            (n, line) = next("the features")?;
        }
        let body_start = text.find("\nfeatures ").map(|i| i + 1).ok_or_else(|| bad(n, "no features line"))?;
        let names: Vec<&str> = line.strip_prefix("features ").unwrap_or("").split(' ').collect();
        if names != FEATURE_NAMES {
            return Err(bad(n, "the model was trained on other features"));
        }
        let (n, line) = next("the labels")?;
        let labels: Vec<&str> = line.strip_prefix("labels ").unwrap_or("").split(' ').collect();
        if labels.len() != BEHAVIOUR_COUNT || labels.iter().zip(Behaviour::ALL).any(|(a, b)| *a != b.as_str()) {
            return Err(bad(n, "the model knows other labels"));
        }
        let (n, line) = next("the tree count")?;
        let count: usize =
            line.strip_prefix("trees ").and_then(|c| c.parse().ok()).ok_or_else(|| bad(n, "expected `trees N`"))?;
        if count > 10_000 {
            return Err(bad(n, "too many trees"));
        }
        let mut trees = Vec::with_capacity(count);
        for _ in 0..count {
            let (n, line) = next("a tree")?;
            let mut parts = line.split(' ');
            let (tag, nodes, leaves) = (parts.next(), parts.next(), parts.next());
            let sizes = nodes.zip(leaves).and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
            let Some((n_nodes, n_leaves)) = sizes.filter(|_| tag == Some("tree") && parts.next().is_none()) else {
                return Err(bad(n, "expected `tree NODES LEAVES`"));
            };
            if n_nodes == 0 || n_nodes > 1_000_000 || n_leaves > n_nodes {
                return Err(bad(n, "implausible tree size"));
            }
            let mut tree = Tree { nodes: Vec::with_capacity(n_nodes), leaves: vec![[0.0; BEHAVIOUR_COUNT]; n_leaves] };
            let mut seen = vec![false; n_leaves];
            for i in 0..n_nodes {
                let (n, line) = next("a node")?;
                tree.nodes.push(parse_node(n, line, i, n_nodes, &mut tree.leaves, &mut seen)?);
            }
            if seen.iter().any(|s| !s) {
                return Err(bad(n, "a leaf is never used"));
            }
            trees.push(tree);
        }
        let (mut n, mut line) = next("`end`")?;
        let mut confidence: [Option<Confidence>; Rate::ALL.len()] = Default::default();
        for rate in Rate::ALL {
            let mut pooled = None;
            let mut by_label: [Option<ConfidenceCurve>; BEHAVIOUR_COUNT] = Default::default();
            while let Some(rest) = line.strip_prefix(rate.prefix()) {
                let (name, knots) = rest.split_once(' ').ok_or_else(|| bad(n, "expected `confidence LABEL KNOTS`"))?;
                let parsed: Option<Vec<(f64, f64)>> = knots
                    .split(' ')
                    .map(|k| {
                        let (s, p) = k.split_once(':')?;
                        Some((s.parse().ok()?, p.parse().ok()?))
                    })
                    .collect();
                let knots = parsed.ok_or_else(|| bad(n, "expected `confidence LABEL SHARE:PROBABILITY ...`"))?;
                let curve = ConfidenceCurve::from_knots(knots).map_err(|e| bad(n, e))?;
                let slot = match name {
                    "*" if pooled.is_none() => &mut pooled,
                    "*" => return Err(bad(n, "a second curve for all labels")),
                    label => {
                        let b: Behaviour = label.parse().map_err(|_| bad(n, "a curve for an unknown label"))?;
                        let slot = &mut by_label[b.index()];
                        if slot.is_some() {
                            return Err(bad(n, "a second curve for one label"));
                        }
                        slot
                    }
                };
                *slot = Some(curve);
                (n, line) = next("`end`")?;
            }
            confidence[rate.index()] = match pooled {
                Some(pooled) => Some(Confidence { pooled, by_label }),
                None if by_label.iter().any(Option::is_some) => {
                    return Err(bad(n, "label curves without the curve for all"));
                }
                None => None,
            };
        }
        if confidence[Rate::Minute.index()].is_none() && confidence.iter().any(Option::is_some) {
            return Err(bad(n, "curves for one rate without the minute's"));
        }
        if line != "end" {
            return Err(bad(n, "expected `end`"));
        }
        if let Some((n, _)) = lines.find(|(_, l)| !l.trim().is_empty()) {
            return Err(bad(n, "unexpected text after `end`"));
        }
        let body = text.get(body_start..).unwrap_or("");
        Ok(Forest { version: version_of(body), trees, confidence })
    }
}

fn version_of(body: &str) -> String {
    // Line endings do not change the model.
    let normalised: String = body.lines().map(|l| format!("{}\n", l.trim_end())).collect();
    format!("forest-1.{:08x}", fnv1a(&normalised) >> 32)
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn parse_node(
    n: usize,
    line: &str,
    i: usize,
    n_nodes: usize,
    leaves: &mut [[f64; BEHAVIOUR_COUNT]],
    seen: &mut [bool],
) -> Result<Node, ModelError> {
    let mut parts = line.split(' ');
    match parts.next() {
        Some("s") => {
            let mut field = |what: &str| parts.next().ok_or_else(|| bad(n, format!("a split needs {what}")));
            let feature: usize = field("a feature")?.parse().map_err(|_| bad(n, "bad feature index"))?;
            let threshold: f64 = field("a threshold")?.parse().map_err(|_| bad(n, "bad threshold"))?;
            let left: usize = field("a left child")?.parse().map_err(|_| bad(n, "bad left child"))?;
            let right: usize = field("a right child")?.parse().map_err(|_| bad(n, "bad right child"))?;
            let gain: f64 = field("a gain")?.parse().map_err(|_| bad(n, "bad gain"))?;
            if parts.next().is_some() {
                return Err(bad(n, "too many fields"));
            }
            if feature >= FEATURE_COUNT || !threshold.is_finite() || !gain.is_finite() || gain < 0.0 {
                return Err(bad(n, "feature, threshold or gain out of range"));
            }
            if left <= i || right <= i || left >= n_nodes || right >= n_nodes {
                return Err(bad(n, "children must come after their parent, within the tree"));
            }
            Ok(Node::Split { feature, threshold, left, right, gain })
        }
        Some("l") => {
            let l: usize = parts.next().and_then(|l| l.parse().ok()).ok_or_else(|| bad(n, "bad leaf index"))?;
            if l >= leaves.len() || seen[l] {
                return Err(bad(n, "leaf index out of range or used twice"));
            }
            seen[l] = true;
            let mut probs = [0.0; BEHAVIOUR_COUNT];
            for part in parts {
                let (c, p) = part.split_once(':').ok_or_else(|| bad(n, "expected CLASS:SHARE"))?;
                let c: usize = c.parse().map_err(|_| bad(n, "bad class"))?;
                let p: f64 = p.parse().map_err(|_| bad(n, "bad share"))?;
                if c >= BEHAVIOUR_COUNT || !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                    return Err(bad(n, "class or share out of range"));
                }
                probs[c] = p;
            }
            let sum: f64 = probs.iter().sum();
            if !(0.99..=1.01).contains(&sum) {
                return Err(bad(n, "a leaf's shares must sum to 1"));
            }
            leaves[l] = probs;
            Ok(Node::Leaf(l))
        }
        _ => Err(bad(n, "expected a node (`s ...` or `l ...`)")),
    }
}

/// The least impurity a split must take away to be made.
const MIN_IMPURITY_DECREASE: f64 = 1e-5;

/// Neighbouring values closer than this are one value (no split between them).
const SAME_VALUE: f64 = 1e-5;

/// Gini impurity of class counts totalling `n`.
fn gini(counts: &[f64; BEHAVIOUR_COUNT], n: f64) -> f64 {
    if n <= 0.0 { 0.0 } else { 1.0 - counts.iter().map(|c| (c / n) * (c / n)).sum::<f64>() }
}

/// Grows the node of `reaching` (indexes into `rows`, the bootstrap rows that reach it) at
/// `depth`, and its subtree, into `tree` in pre-order (children after their parent).
fn grow(
    rows: &[([f64; FEATURE_COUNT], Behaviour)],
    reaching: &mut [usize],
    features: &[usize],
    params: &TrainParams,
    depth: usize,
    tree: &mut Tree,
) {
    let mut counts = [0.0; BEHAVIOUR_COUNT];
    for &i in reaching.iter() {
        counts[rows[i].1.index()] += 1.0;
    }
    let n = reaching.len();
    let min_leaf = params.min_leaf.max(1);
    let impurity = gini(&counts, n as f64);
    let split = if depth >= params.max_depth || n < 2 * min_leaf || impurity <= 0.0 {
        None
    } else {
        best_split(rows, reaching, features, &counts, min_leaf)
    };
    let Some((feature, threshold, score)) = split.filter(|s| impurity - s.2 >= MIN_IMPURITY_DECREASE) else {
        // The commonest class (the first of equals); `fill_leaves` gives the shares.
        let top = (0..BEHAVIOUR_COUNT).fold(0, |best, c| if counts[c] > counts[best] { c } else { best });
        let mut one_hot = [0.0; BEHAVIOUR_COUNT];
        one_hot[top] = 1.0;
        tree.leaves.push(one_hot);
        tree.nodes.push(Node::Leaf(tree.leaves.len() - 1));
        return;
    };
    // Left of the threshold first, each side in its previous order.
    reaching.sort_by_key(|&i| rows[i].0[feature] >= threshold);
    let left_len = reaching.iter().take_while(|&&i| rows[i].0[feature] < threshold).count();
    let at = tree.nodes.len();
    tree.nodes.push(Node::Split { feature, threshold, left: at + 1, right: 0, gain: impurity - score });
    let (left, right) = reaching.split_at_mut(left_len);
    grow(rows, left, features, params, depth + 1, tree);
    let right_at = tree.nodes.len();
    if let Some(Node::Split { right, .. }) = tree.nodes.get_mut(at) {
        *right = right_at;
    }
    grow(rows, right, features, params, depth + 1, tree);
}

/// The split of `reaching` with the least weighted Gini impurity, each side keeping at least
/// `min_leaf` rows: `(feature, threshold, impurity)`. Thresholds lie midway between
/// neighbouring values; ties go to the first feature, then the lowest threshold.
fn best_split(
    rows: &[([f64; FEATURE_COUNT], Behaviour)],
    reaching: &[usize],
    features: &[usize],
    counts: &[f64; BEHAVIOUR_COUNT],
    min_leaf: usize,
) -> Option<(usize, f64, f64)> {
    let n = reaching.len();
    let mut best: Option<(usize, f64, f64)> = None;
    let mut order: Vec<(f64, usize, usize)> = Vec::with_capacity(n);
    for &feature in features {
        order.clear();
        order.extend(reaching.iter().map(|&i| (rows[i].0[feature], rows[i].1.index(), i)));
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        let (mut left, mut right) = ([0.0; BEHAVIOUR_COUNT], *counts);
        for k in 0..n - 1 {
            let (value, class, _) = order[k];
            left[class] += 1.0;
            right[class] -= 1.0;
            let next = order[k + 1].0;
            let (nl, nr) = (k + 1, n - k - 1);
            if next - value < SAME_VALUE || nl < min_leaf || nr < min_leaf {
                continue;
            }
            let score = (nl as f64 * gini(&left, nl as f64) + nr as f64 * gini(&right, nr as f64)) / n as f64;
            if best.is_none_or(|b| score < b.2) {
                best = Some((feature, (value + next) / 2.0, score));
            }
        }
    }
    best
}

/// Leaves get the class shares of the tree's training rows that reach them; splits get their
/// gain weighted by the share of rows that reach them.
fn fill_leaves(tree: &mut Tree, rows: &[([f64; FEATURE_COUNT], Behaviour)], sample: &[usize]) {
    let mut counts = vec![[0.0; BEHAVIOUR_COUNT]; tree.leaves.len()];
    let mut reach = vec![0usize; tree.nodes.len()];
    for &i in sample {
        let (x, b) = &rows[i];
        let mut at = 0;
        loop {
            reach[at] += 1;
            match tree.nodes[at] {
                Node::Split { feature, threshold, left, right, .. } => {
                    at = if x[feature] < threshold { left } else { right };
                }
                Node::Leaf(l) => {
                    counts[l][b.index()] += 1.0;
                    break;
                }
            }
        }
    }
    for (leaf, c) in tree.leaves.iter_mut().zip(&counts) {
        let n: f64 = c.iter().sum();
        if n > 0.0 {
            let mut shares = c.map(|v| round(v / n, 3));
            // Rounding must not lose the total.
            let sum: f64 = shares.iter().sum();
            if let Some(top) = shares.iter_mut().max_by(|a, b| a.total_cmp(b)) {
                *top = round(*top + 1.0 - sum, 3);
            }
            *leaf = shares;
        }
    }
    let total = sample.len().max(1) as f64;
    for (node, r) in tree.nodes.iter_mut().zip(&reach) {
        if let Node::Split { gain, .. } = node {
            *gain = round(*gain * *r as f64 / total, 6);
        }
    }
    debug_assert!(tree.leaf_index(&[0.0; FEATURE_COUNT]).is_some());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clear clusters and a third told apart by another feature.
    pub(crate) fn toy_rows() -> Vec<([f64; FEATURE_COUNT], Behaviour)> {
        let mut rng = SplitMix(3);
        let mut u = move || (rng.next() % 1000) as f64 / 1000.0;
        let mut rows = Vec::new();
        for i in 0..600 {
            let mut x = [0.0; FEATURE_COUNT];
            for v in &mut x {
                *v = u();
            }
            let b = match i % 3 {
                0 => {
                    x[5] = 2.0 + u();
                    Behaviour::Walking
                }
                1 => {
                    x[5] = 2.0 + u();
                    x[13] = 5.0 + u();
                    Behaviour::Scratching
                }
                _ => Behaviour::Resting,
            };
            rows.push((x, b));
        }
        rows
    }

    fn top(p: &[f64; BEHAVIOUR_COUNT]) -> Behaviour {
        let i = (0..BEHAVIOUR_COUNT).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap_or(0);
        Behaviour::ALL[i]
    }

    #[test]
    fn a_forest_learns_round_trips_and_is_deterministic() {
        let rows = toy_rows();
        let params = TrainParams { trees: 7, max_depth: 5, min_leaf: 3, ..TrainParams::default() };
        let forest = Forest::train(&rows, &params, 1).unwrap();
        let correct = rows.iter().filter(|(x, b)| top(&forest.predict(x)) == *b).count();
        assert!(correct as f64 / rows.len() as f64 > 0.95, "{correct}");
        let p = forest.predict(&rows[0].0);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);

        let imp = forest.importances();
        let ranked = forest.ranked_features();
        assert!(ranked[..2].contains(&5) && ranked[..2].contains(&13), "{imp:?}");

        let text = forest.to_text();
        let back = Forest::from_text(&text).unwrap();
        assert_eq!(back, forest);
        assert_eq!(back.version(), forest.version());
        assert!(forest.version().starts_with("forest-1."));
        assert_eq!(Forest::train(&rows, &params, 1).unwrap().to_text(), text);
        assert_ne!(Forest::train(&rows, &params, 2).unwrap().version(), forest.version());

        // What its shares mean travels with it, and is part of its version.
        let curve = |k: Vec<(f64, f64)>| ConfidenceCurve::from_knots(k).unwrap();
        let mut by_label: [Option<ConfidenceCurve>; BEHAVIOUR_COUNT] = Default::default();
        by_label[Behaviour::Walking.index()] = Some(curve(vec![(0.5, 0.6), (0.9, 0.95)]));
        let curves = Confidence { pooled: curve(vec![(0.4, 0.3), (0.9, 0.85)]), by_label };
        let measured = forest.clone().with_confidence(Some(curves));
        assert_ne!(measured.version(), forest.version());
        assert_eq!(measured.confidence(Behaviour::Resting, 1.0), 0.85);
        assert_eq!(measured.confidence(Behaviour::Walking, 1.0), 0.95);
        assert_eq!(forest.confidence(Behaviour::Resting, 0.97), 0.97, "a model without curves gives the share");
        let back = Forest::from_text(&measured.to_text()).unwrap();
        assert_eq!(back, measured);
        assert_eq!(back.version(), measured.version());
        let falling = measured.to_text().replace("confidence * 0.4:0.3 0.9:0.85", "confidence * 0.4:0.9 0.9:0.85");
        assert!(Forest::from_text(&falling).is_err());
        let garbled = measured.to_text().replace("confidence * 0.4:0.3", "confidence * 0.4-0.3");
        assert!(Forest::from_text(&garbled).is_err());
        let unknown = measured.to_text().replace("confidence walking", "confidence flying");
        assert!(Forest::from_text(&unknown).is_err());
        let twice = measured.to_text().replace("confidence walking", "confidence *");
        assert!(Forest::from_text(&twice).is_err());

        // Collars that report every few seconds get curves of their own; without them, the
        // minute's serve every rate.
        assert_eq!(measured.confidence_at(Behaviour::Resting, 1.0, Rate::Dense), 0.85);
        let dense = Confidence { pooled: curve(vec![(0.3, 0.6), (0.8, 0.97)]), by_label: Default::default() };
        let both = measured.clone().with_confidence_at(Rate::Dense, Some(dense));
        assert_ne!(both.version(), measured.version());
        assert_eq!(both.confidence_at(Behaviour::Resting, 1.0, Rate::Dense), 0.97);
        assert_eq!(both.confidence_at(Behaviour::Resting, 1.0, Rate::Minute), 0.85);
        assert_eq!(both.confidence(Behaviour::Walking, 1.0), 0.95);
        assert_eq!(both.confidence_at(Behaviour::Walking, 1.0, Rate::Sparse), 0.95, "the minute's, without its own");
        let rates = [60.0, 6.0, 1.0, 0.5, 0.2].map(Rate::of);
        assert_eq!(rates, [Rate::Dense, Rate::Dense, Rate::Minute, Rate::Minute, Rate::Sparse]);
        let text = both.to_text();
        assert!(text.contains("\nconfidence-dense * 0.3:0.6 0.8:0.97\nend\n"), "{text}");
        let back = Forest::from_text(&text).unwrap();
        assert_eq!((back.version(), &back), (both.version(), &both));
        // Another rate's curves without the minute's, or before them, are refused.
        let no_minute = text.lines().filter(|l| !l.starts_with("confidence ")).collect::<Vec<_>>().join("\n");
        assert!(Forest::from_text(&no_minute).is_err());
        let mut lines: Vec<&str> = text.lines().collect();
        let dense_at = lines.iter().position(|l| l.starts_with("confidence-dense")).unwrap();
        let moved = lines.remove(dense_at);
        lines.insert(lines.iter().position(|l| l.starts_with("confidence ")).unwrap(), moved);
        assert!(Forest::from_text(&lines.join("\n")).is_err());
    }

    /// The built-in model's version must be reproducible from its seed: on labels that overlap
    /// (where many splits score nearly alike, and a sum taken in another order picks another),
    /// two trainings give the same text.
    #[test]
    fn a_forest_trained_twice_on_overlapping_labels_is_the_same_forest() {
        let mut rng = SplitMix(11);
        let mut u = move || (rng.next() % 10_000) as f64 / 10_000.0;
        let rows: Vec<([f64; FEATURE_COUNT], Behaviour)> = (0..3000)
            .map(|i| {
                let b = Behaviour::ALL[i % BEHAVIOUR_COUNT];
                let mut x = [0.0; FEATURE_COUNT];
                for (f, v) in x.iter_mut().enumerate() {
                    // Each label a little shifted on every feature, under noise that swamps it.
                    *v = u() + 0.05 * ((b.index() * (f + 1)) % 7) as f64;
                }
                (x, b)
            })
            .collect();
        let params = TrainParams { trees: 4, max_depth: 8, min_leaf: 5, ..TrainParams::default() };
        let once = Forest::train(&rows, &params, 5).unwrap().to_text();
        for _ in 0..3 {
            assert_eq!(Forest::train(&rows, &params, 5).unwrap().to_text(), once);
        }
    }

    #[test]
    fn malformed_text_is_an_error_never_a_panic() {
        let rows = toy_rows();
        let params = TrainParams { trees: 2, max_depth: 3, ..TrainParams::default() };
        let text = Forest::train(&rows, &params, 1).unwrap().to_text();
        assert!(Forest::from_text("").is_err());
        assert!(Forest::from_text("petty-forest 2\n").is_err());
        // Every truncation, and every line dropped, is refused.
        for cut in (0..text.len()).step_by(7) {
            if let Some(prefix) = text.get(..cut) {
                assert!(Forest::from_text(prefix).is_err(), "cut at {cut}");
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        for skip in 0..lines.len() {
            if lines[skip].starts_with('#') {
                continue;
            }
            let t: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
            assert!(Forest::from_text(&t.join("\n")).is_err(), "line {skip} dropped");
        }
        // A child pointing backwards would loop.
        let looped: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with("s ") { "s 0 0.5 0 0 0.1".to_owned() } else { l.to_owned() })
            .collect();
        let looped = looped.join("\n");
        assert!(Forest::from_text(&looped).is_err());
        assert!(Forest::from_text(&text.replace("l 0", "l 0 3:NaN")).is_err());
        assert!(Forest::from_text(&format!("{text}more\n")).is_err());
    }

    #[test]
    fn the_builtin_model_reads() {
        let forest = Forest::builtin();
        assert!(forest.version().starts_with("forest-1."));
        assert_ne!(forest.version(), "forest-1.empty");
        assert!(!forest.trees.is_empty());
    }
}
