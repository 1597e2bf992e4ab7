//! Petty's own small gradient-boosted trees: a regressor (squared error) and a softmax
//! classifier, with per-feature explanations and a versioned text form.
//!
//! Training bins every feature once into at most [`BoostParams::max_bins`] quantile bins, then
//! grows each tree level by level from per-bin sums of gradients and hessians (Newton steps with
//! an L2 penalty, as XGBoost and LightGBM do). Nothing is random, so the same rows always give
//! the same model. Each node keeps the value the model would give had it stopped there, so a
//! prediction is explained by walking its path and crediting each split's feature with the
//! change it made (Saabas' tree-path contributions): the model's base value plus the
//! contributions is exactly the prediction.
//!
//! A softmax model grows one tree per class per round on the class's log-odds; a regression
//! model one tree per round.

use std::fmt::Write as _;

/// The first line of a booster's text.
const HEADER: &str = "petty-boost 1";

/// Why a booster could not be trained or read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoostError {
    #[error("line {line}: {message}")]
    Format { line: usize, message: String },
    #[error("cannot train: {0}")]
    Training(String),
}

fn bad(line: usize, message: impl Into<String>) -> BoostError {
    BoostError::Format { line, message: message.into() }
}

/// How a booster is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostParams {
    /// Boosting rounds (one tree per round, or one per class per round).
    pub rounds: usize,
    /// Shrinkage of every tree's values.
    pub learning_rate: f64,
    pub max_depth: usize,
    /// The fewest training rows in a leaf.
    pub min_leaf: usize,
    /// L2 penalty on leaf values.
    pub lambda: f64,
    /// Bins per feature, 2–255.
    pub max_bins: usize,
    /// The smallest gain worth a split.
    pub min_gain: f64,
}

impl Default for BoostParams {
    fn default() -> BoostParams {
        // Shallow trees, many rounds: the life log's effects are mostly additive. On the
        // simulated people depth 2 beat depth 3 and 4 for both energy and mood (petty-sim's
        // `lifelog_eval`).
        BoostParams {
            rounds: 240,
            learning_rate: 0.1,
            max_depth: 2,
            min_leaf: 8,
            lambda: 1.0,
            max_bins: 32,
            min_gain: 1e-6,
        }
    }
}

/// What a booster predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    Regression,
    /// A classifier over this many classes.
    Softmax(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Node {
    /// Rows with `x[feature] < threshold` go left. `value` is what the tree would answer here.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
        value: f64,
    },
    Leaf {
        value: f64,
    },
}

impl Node {
    fn value(&self) -> f64 {
        match self {
            Node::Split { value, .. } | Node::Leaf { value } => *value,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Tree {
    /// For softmax models, the class the tree adds to.
    class: usize,
    /// Pre-order: every child comes after its parent.
    nodes: Vec<Node>,
}

impl Tree {
    fn predict(&self, x: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match self.nodes.get(i) {
                Some(Node::Split { feature, threshold, left, right, .. }) => {
                    i = if x.get(*feature).is_some_and(|v| v < threshold) { *left } else { *right };
                }
                Some(Node::Leaf { value }) => return *value,
                None => return 0.0,
            }
        }
    }

    /// Adds each split's change to its feature's entry; returns the root's value.
    fn contribute(&self, x: &[f64], out: &mut [f64]) -> f64 {
        let Some(root) = self.nodes.first() else { return 0.0 };
        let mut node = *root;
        while let Node::Split { feature, threshold, left, right, value } = node {
            let next = if x.get(feature).is_some_and(|v| *v < threshold) { left } else { right };
            let Some(child) = self.nodes.get(next) else { break };
            if let Some(o) = out.get_mut(feature) {
                *o += child.value() - value;
            }
            node = *child;
        }
        root.value()
    }
}

/// A trained booster.
#[derive(Debug, Clone, PartialEq)]
pub struct Booster {
    objective: Objective,
    n_features: usize,
    /// One per output (one for regression, one per class).
    base: Vec<f64>,
    trees: Vec<Tree>,
}

/// The features binned once for training.
struct Binned {
    n_features: usize,
    /// Row-major bin indices.
    bins: Vec<u8>,
    /// Per feature, the cut points: bin `b` holds values in `[cuts[b-1], cuts[b])`.
    cuts: Vec<Vec<f64>>,
}

impl Binned {
    fn new<R: AsRef<[f64]>>(rows: &[R], n_features: usize, max_bins: usize) -> Binned {
        let max_bins = max_bins.clamp(2, 255);
        let mut cuts = Vec::with_capacity(n_features);
        for j in 0..n_features {
            let mut values: Vec<f64> = rows.iter().map(|r| r.as_ref()[j]).filter(|v| v.is_finite()).collect();
            values.sort_by(f64::total_cmp);
            let n = values.len();
            let mut uniques: Vec<(f64, usize)> = Vec::new();
            for v in values {
                match uniques.last_mut() {
                    Some((u, c)) if *u == v => *c += 1,
                    _ => uniques.push((v, 1)),
                }
            }
            let mut c = Vec::new();
            if uniques.len() <= max_bins {
                c.extend(uniques.windows(2).map(|w| (w[0].0 + w[1].0) / 2.0));
            } else {
                let step = n as f64 / max_bins as f64;
                let (mut cum, mut target) = (0usize, step);
                for w in uniques.windows(2) {
                    cum += w[0].1;
                    if cum as f64 >= target {
                        c.push((w[0].0 + w[1].0) / 2.0);
                        while target <= cum as f64 {
                            target += step;
                        }
                    }
                }
            }
            cuts.push(c);
        }
        let mut bins = Vec::with_capacity(rows.len() * n_features);
        for r in rows {
            for (j, c) in cuts.iter().enumerate() {
                let v = r.as_ref()[j];
                bins.push(c.partition_point(|cut| *cut <= v) as u8);
            }
        }
        Binned { n_features, bins, cuts }
    }

    fn bin(&self, row: usize, feature: usize) -> usize {
        usize::from(self.bins[row * self.n_features + feature])
    }
}

/// Per-bin sums.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    n: usize,
}

impl Sums {
    fn add(&mut self, g: f64, h: f64) {
        self.g += g;
        self.h += h;
        self.n += 1;
    }

    fn minus(self, o: Sums) -> Sums {
        Sums { g: self.g - o.g, h: self.h - o.h, n: self.n - o.n }
    }

    fn score(&self, lambda: f64) -> f64 {
        self.g * self.g / (self.h + lambda)
    }

    fn value(&self, lambda: f64, rate: f64) -> f64 {
        -self.g / (self.h + lambda) * rate
    }
}

/// Grows one tree on `rows` (indices into the binned data) with gradients `g` and hessians
/// `h`; adds each leaf's value to `delta` of the rows reaching it.
struct Grower<'a> {
    data: &'a Binned,
    g: &'a [f64],
    h: &'a [f64],
    params: &'a BoostParams,
    nodes: Vec<Node>,
}

impl Grower<'_> {
    fn grow(&mut self, rows: &mut [usize], depth: usize, delta: &mut [f64]) -> usize {
        let mut total = Sums::default();
        for &r in rows.iter() {
            total.add(self.g[r], self.h[r]);
        }
        let (lambda, rate) = (self.params.lambda, self.params.learning_rate);
        let value = total.value(lambda, rate);
        let at = self.nodes.len();
        let split = if depth < self.params.max_depth && rows.len() >= 2 * self.params.min_leaf.max(1) {
            self.best_split(rows, total)
        } else {
            None
        };
        let Some((feature, bin)) = split else {
            self.nodes.push(Node::Leaf { value });
            for &r in rows.iter() {
                delta[r] += value;
            }
            return at;
        };
        let threshold = self.data.cuts[feature][bin];
        // Rows in bins 0..=bin go left (their values are below the cut).
        let mut split_at = 0;
        for i in 0..rows.len() {
            if self.data.bin(rows[i], feature) <= bin {
                rows.swap(i, split_at);
                split_at += 1;
            }
        }
        self.nodes.push(Node::Split { feature, threshold, left: at + 1, right: 0, value });
        let (left_rows, right_rows) = rows.split_at_mut(split_at);
        self.grow(left_rows, depth + 1, delta);
        let right = self.grow(right_rows, depth + 1, delta);
        if let Some(Node::Split { right: r, .. }) = self.nodes.get_mut(at) {
            *r = right;
        }
        at
    }

    /// The best (feature, last bin of the left side), if any split gains enough.
    fn best_split(&self, rows: &[usize], total: Sums) -> Option<(usize, usize)> {
        let lambda = self.params.lambda;
        let parent = total.score(lambda);
        let mut best: Option<(f64, usize, usize)> = None;
        let mut hist = [Sums::default(); 256];
        for j in 0..self.data.n_features {
            let n_cuts = self.data.cuts[j].len();
            if n_cuts == 0 {
                continue;
            }
            hist[..=n_cuts].fill(Sums::default());
            for &r in rows {
                hist[self.data.bin(r, j)].add(self.g[r], self.h[r]);
            }
            let mut left = Sums::default();
            for (b, sums) in hist[..n_cuts].iter().enumerate() {
                left.g += sums.g;
                left.h += sums.h;
                left.n += sums.n;
                let right = total.minus(left);
                if left.n < self.params.min_leaf || right.n < self.params.min_leaf {
                    continue;
                }
                let gain = left.score(lambda) + right.score(lambda) - parent;
                if gain > self.params.min_gain && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, j, b));
                }
            }
        }
        best.map(|(_, j, b)| (j, b))
    }
}

fn softmax(margins: &[f64]) -> Vec<f64> {
    let max = margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = margins.iter().map(|m| (m - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

impl Booster {
    /// A booster that answers 0 for everything.
    fn empty(n_features: usize) -> Booster {
        Booster { objective: Objective::Regression, n_features, base: vec![0.0], trees: Vec::new() }
    }

    /// A regressor of `y` on `rows` (each `n_features` long).
    pub fn fit_regression<R: AsRef<[f64]>>(
        rows: &[R],
        y: &[f64],
        n_features: usize,
        params: &BoostParams,
    ) -> Result<Booster, BoostError> {
        check_rows(rows, y.len(), n_features)?;
        if y.iter().any(|v| !v.is_finite()) {
            return Err(BoostError::Training("a label is not a finite number".to_owned()));
        }
        let data = Binned::new(rows, n_features, params.max_bins);
        let base = y.iter().sum::<f64>() / y.len() as f64;
        let mut f = vec![base; y.len()];
        let h = vec![1.0; y.len()];
        let mut trees = Vec::with_capacity(params.rounds);
        let mut g = vec![0.0; y.len()];
        let mut delta = vec![0.0; y.len()];
        let mut order: Vec<usize> = (0..y.len()).collect();
        for _ in 0..params.rounds {
            for i in 0..y.len() {
                g[i] = f[i] - y[i];
            }
            delta.fill(0.0);
            order.sort_unstable();
            let mut grower = Grower { data: &data, g: &g, h: &h, params, nodes: Vec::new() };
            grower.grow(&mut order, 0, &mut delta);
            for (fi, d) in f.iter_mut().zip(&delta) {
                *fi += d;
            }
            trees.push(Tree { class: 0, nodes: grower.nodes });
        }
        Ok(Booster { objective: Objective::Regression, n_features, base: vec![base], trees })
    }

    /// A classifier of `labels` (each below `classes`) on `rows`.
    pub fn fit_softmax<R: AsRef<[f64]>>(
        rows: &[R],
        labels: &[usize],
        classes: usize,
        n_features: usize,
        params: &BoostParams,
    ) -> Result<Booster, BoostError> {
        check_rows(rows, labels.len(), n_features)?;
        if classes < 2 || labels.iter().any(|l| *l >= classes) {
            return Err(BoostError::Training("labels must be below the class count (at least 2)".to_owned()));
        }
        let n = labels.len();
        let data = Binned::new(rows, n_features, params.max_bins);
        let mut counts = vec![0usize; classes];
        for l in labels {
            counts[*l] += 1;
        }
        let base: Vec<f64> = counts.iter().map(|c| ((*c as f64 + 1.0) / (n + classes) as f64).ln()).collect();
        let mut margins: Vec<Vec<f64>> = vec![base.clone(); n];
        let mut trees = Vec::with_capacity(params.rounds * classes);
        let (mut g, mut h) = (vec![0.0; n], vec![0.0; n]);
        let mut deltas = vec![vec![0.0; n]; classes];
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..params.rounds {
            let probs: Vec<Vec<f64>> = margins.iter().map(|m| softmax(m)).collect();
            for (k, delta) in deltas.iter_mut().enumerate() {
                for i in 0..n {
                    let p = probs[i][k];
                    g[i] = p - if labels[i] == k { 1.0 } else { 0.0 };
                    h[i] = (p * (1.0 - p)).max(1e-6);
                }
                delta.fill(0.0);
                order.sort_unstable();
                let mut grower = Grower { data: &data, g: &g, h: &h, params, nodes: Vec::new() };
                grower.grow(&mut order, 0, delta);
                trees.push(Tree { class: k, nodes: grower.nodes });
            }
            for (i, m) in margins.iter_mut().enumerate() {
                for (k, mk) in m.iter_mut().enumerate() {
                    *mk += deltas[k][i];
                }
            }
        }
        Ok(Booster { objective: Objective::Softmax(classes), n_features, base, trees })
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    fn outputs(&self) -> usize {
        match self.objective {
            Objective::Regression => 1,
            Objective::Softmax(k) => k,
        }
    }

    /// The raw score of each output (the regression value, or each class's log-odds).
    pub fn margins(&self, x: &[f64]) -> Vec<f64> {
        let mut m = self.base.clone();
        for t in &self.trees {
            if let Some(v) = m.get_mut(t.class) {
                *v += t.predict(x);
            }
        }
        m
    }

    /// A regressor's prediction (a classifier's first margin).
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.margins(x).first().copied().unwrap_or(0.0)
    }

    /// A classifier's class probabilities (they sum to 1).
    pub fn probabilities(&self, x: &[f64]) -> Vec<f64> {
        softmax(&self.margins(x))
    }

    /// Output `output`'s base value (the same for every row) and each feature's contribution
    /// to the row's margin; base + Σ contributions = the margin.
    pub fn contributions(&self, x: &[f64], output: usize) -> (f64, Vec<f64>) {
        let mut out = vec![0.0; self.n_features];
        let mut base = self.base.get(output).copied().unwrap_or(0.0);
        for t in self.trees.iter().filter(|t| t.class == output) {
            base += t.contribute(x, &mut out);
        }
        (base, out)
    }

    /// The booster as versioned text; [`Booster::from_text`] reads it back exactly.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{HEADER}");
        match self.objective {
            Objective::Regression => s.push_str("objective regression\n"),
            Objective::Softmax(k) => {
                let _ = writeln!(s, "objective softmax {k}");
            }
        }
        let _ = writeln!(s, "features {}", self.n_features);
        let base: Vec<String> = self.base.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(s, "base {}", base.join(" "));
        let _ = writeln!(s, "trees {}", self.trees.len());
        for t in &self.trees {
            let _ = writeln!(s, "tree {} {}", t.class, t.nodes.len());
            for n in &t.nodes {
                match n {
                    Node::Split { feature, threshold, left, right, value } => {
                        let _ = writeln!(s, "s {feature} {threshold} {left} {right} {value}");
                    }
                    Node::Leaf { value } => {
                        let _ = writeln!(s, "l {value}");
                    }
                }
            }
        }
        s.push_str("end\n");
        s
    }

    /// Reads [`Booster::to_text`]'s text. Anything malformed is an error naming the line, never
    /// a panic; `first_line` numbers the lines when the text is part of a larger one.
    pub fn from_text(text: &str, first_line: usize) -> Result<Booster, BoostError> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + first_line, l.trim_end()));
        let mut next = |what: &str| lines.next().ok_or_else(|| bad(0, format!("the text ends before {what}")));
        let (n, line) = next("the header")?;
        if line != HEADER {
            return Err(bad(n, format!("expected `{HEADER}`")));
        }
        let (n, line) = next("the objective")?;
        let objective = match line.strip_prefix("objective ") {
            Some("regression") => Objective::Regression,
            Some(rest) => match rest.strip_prefix("softmax ").and_then(|k| k.parse::<usize>().ok()) {
                Some(k) if (2..=64).contains(&k) => Objective::Softmax(k),
                _ => return Err(bad(n, "expected `objective regression` or `objective softmax K`")),
            },
            None => return Err(bad(n, "expected `objective ...`")),
        };
        let (n, line) = next("the feature count")?;
        let n_features = line
            .strip_prefix("features ")
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|c| (1..=10_000).contains(c))
            .ok_or_else(|| bad(n, "expected `features N`"))?;
        let (n, line) = next("the base")?;
        let base: Vec<f64> = line
            .strip_prefix("base ")
            .map(|b| b.split(' ').map(|v| v.parse::<f64>().ok().filter(|v| v.is_finite())).collect())
            .and_then(|v: Option<Vec<f64>>| v)
            .ok_or_else(|| bad(n, "expected `base` and finite numbers"))?;
        let outputs = match objective {
            Objective::Regression => 1,
            Objective::Softmax(k) => k,
        };
        if base.len() != outputs {
            return Err(bad(n, "one base value per output"));
        }
        let (n, line) = next("the tree count")?;
        let count = line
            .strip_prefix("trees ")
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|c| *c <= 100_000)
            .ok_or_else(|| bad(n, "expected `trees N`"))?;
        let mut trees = Vec::with_capacity(count);
        for _ in 0..count {
            let (n, line) = next("a tree")?;
            let mut parts = line.split(' ');
            let ok = parts.next() == Some("tree");
            let class = parts.next().and_then(|c| c.parse::<usize>().ok());
            let size = parts.next().and_then(|c| c.parse::<usize>().ok());
            let (Some(class), Some(size)) = (class, size) else {
                return Err(bad(n, "expected `tree CLASS NODES`"));
            };
            if !ok || parts.next().is_some() || class >= outputs || size == 0 || size > 100_000 {
                return Err(bad(n, "expected `tree CLASS NODES` with a known class and a plausible size"));
            }
            let mut nodes = Vec::with_capacity(size);
            for i in 0..size {
                let (n, line) = next("a node")?;
                nodes.push(parse_node(n, line, i, size, n_features)?);
            }
            trees.push(Tree { class, nodes });
        }
        let (n, line) = next("`end`")?;
        if line != "end" {
            return Err(bad(n, "expected `end`"));
        }
        if let Some((n, _)) = lines.find(|(_, l)| !l.trim().is_empty()) {
            return Err(bad(n, "unexpected text after `end`"));
        }
        let booster = Booster { objective, n_features, base, trees };
        debug_assert_eq!(booster.outputs(), outputs);
        Ok(booster)
    }
}

/// A regressor of how far the target lies from one of its inputs (a person's usual level):
/// `predict(x) = level(x) + booster(x)`, where `level(x)` is input `feature` unless it is the
/// `missing` value, then the training mean. Trees cannot reach past the values they were
/// trained on; the level can, so a person whose usual mood is lower than anyone's in training
/// is still predicted around their own mood.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchored {
    booster: Booster,
    /// The input the target is measured from (`None`: the training mean, a plain regressor).
    feature: Option<usize>,
    missing: f64,
    /// The training mean, the level when the feature is missing.
    fallback: f64,
}

impl Anchored {
    pub fn fit<R: AsRef<[f64]>>(
        rows: &[R],
        y: &[f64],
        n_features: usize,
        feature: Option<usize>,
        missing: f64,
        params: &BoostParams,
    ) -> Result<Anchored, BoostError> {
        check_rows(rows, y.len(), n_features)?;
        if feature.is_some_and(|f| f >= n_features) {
            return Err(BoostError::Training("the anchor feature is out of range".to_owned()));
        }
        let fallback = y.iter().sum::<f64>() / y.len() as f64;
        let mut a = Anchored { booster: Booster::empty(n_features), feature, missing, fallback };
        let deviations: Vec<f64> = rows.iter().zip(y).map(|(r, v)| v - a.level(r.as_ref())).collect();
        a.booster = Booster::fit_regression(rows, &deviations, n_features, params)?;
        Ok(a)
    }

    /// The level the trees add to.
    pub fn level(&self, x: &[f64]) -> f64 {
        match self.feature.and_then(|f| x.get(f)) {
            Some(v) if *v != self.missing && v.is_finite() => *v,
            _ => self.fallback,
        }
    }

    pub fn predict(&self, x: &[f64]) -> f64 {
        self.level(x) + self.booster.predict(x)
    }

    /// The base value (the same for every row) and each feature's contribution; the anchor
    /// feature is credited with how far its level lies from the training mean. Base + Σ
    /// contributions = the prediction.
    pub fn contributions(&self, x: &[f64]) -> (f64, Vec<f64>) {
        let (base, mut c) = self.booster.contributions(x, 0);
        if let Some(slot) = self.feature.and_then(|f| c.get_mut(f)) {
            *slot += self.level(x) - self.fallback;
        }
        (self.fallback + base, c)
    }

    pub fn n_features(&self) -> usize {
        self.booster.n_features
    }

    /// The regressor as versioned text; [`Anchored::from_text`] reads it back exactly.
    pub fn to_text(&self) -> String {
        let feature = self.feature.map_or_else(|| "-".to_owned(), |f| f.to_string());
        format!("{ANCHORED_HEADER}\nanchor {feature} {} {}\n{}", self.missing, self.fallback, self.booster.to_text())
    }

    /// Reads [`Anchored::to_text`]'s text; `first_line` numbers its lines in a larger text.
    pub fn from_text(text: &str, first_line: usize) -> Result<Anchored, BoostError> {
        let mut lines = text.lines().map(str::trim_end);
        if lines.next() != Some(ANCHORED_HEADER) {
            return Err(bad(first_line, format!("expected `{ANCHORED_HEADER}`")));
        }
        let parts: Vec<&str> = lines.next().and_then(|l| l.strip_prefix("anchor ")).unwrap_or("").split(' ').collect();
        let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
        let parsed = match parts.as_slice() {
            ["-", missing, fallback] => number(missing).zip(number(fallback)).map(|(m, f)| (None, m, f)),
            [feature, missing, fallback] => feature
                .parse::<usize>()
                .ok()
                .zip(number(missing).zip(number(fallback)))
                .map(|(feature, (m, f))| (Some(feature), m, f)),
            _ => None,
        };
        let (feature, missing, fallback) =
            parsed.ok_or_else(|| bad(first_line + 1, "expected `anchor FEATURE|- MISSING FALLBACK`"))?;
        let start = text.find("\npetty-boost ").map(|i| i + 1).ok_or_else(|| bad(first_line + 2, "no booster"))?;
        let booster = Booster::from_text(&text[start..], first_line + 2)?;
        if feature.is_some_and(|f| f >= booster.n_features) {
            return Err(bad(first_line + 1, "the anchor feature is out of range"));
        }
        Ok(Anchored { booster, feature, missing, fallback })
    }
}

const ANCHORED_HEADER: &str = "petty-anchored 1";

fn check_rows<R: AsRef<[f64]>>(rows: &[R], labels: usize, n_features: usize) -> Result<(), BoostError> {
    if rows.is_empty() {
        return Err(BoostError::Training("no rows".to_owned()));
    }
    if rows.len() != labels {
        return Err(BoostError::Training("one label per row".to_owned()));
    }
    if n_features == 0 || rows.iter().any(|r| r.as_ref().len() != n_features) {
        return Err(BoostError::Training(format!("every row must have {n_features} features")));
    }
    Ok(())
}

fn parse_node(n: usize, line: &str, i: usize, size: usize, n_features: usize) -> Result<Node, BoostError> {
    let mut parts = line.split(' ');
    let tag = parts.next();
    let fields: Vec<&str> = parts.collect();
    let num = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    match (tag, fields.as_slice()) {
        (Some("s"), [feature, threshold, left, right, value]) => {
            let feature: usize = feature.parse().map_err(|_| bad(n, "bad feature index"))?;
            let threshold = num(threshold).ok_or_else(|| bad(n, "bad threshold"))?;
            let left: usize = left.parse().map_err(|_| bad(n, "bad left child"))?;
            let right: usize = right.parse().map_err(|_| bad(n, "bad right child"))?;
            let value = num(value).ok_or_else(|| bad(n, "bad value"))?;
            if feature >= n_features {
                return Err(bad(n, "feature index out of range"));
            }
            if left <= i || right <= i || left >= size || right >= size {
                return Err(bad(n, "children must come after their parent, within the tree"));
            }
            Ok(Node::Split { feature, threshold, left, right, value })
        }
        (Some("l"), [value]) => Ok(Node::Leaf { value: num(value).ok_or_else(|| bad(n, "bad value"))? }),
        _ => Err(bad(n, "expected a node (`s FEATURE THRESHOLD LEFT RIGHT VALUE` or `l VALUE`)")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator (SplitMix64) for test data.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        pub(crate) fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal (Box–Muller).
        pub(crate) fn normal(&mut self) -> f64 {
            let u1 = self.uniform().max(1e-12);
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    fn toy(n: usize, seed: u64) -> (Vec<[f64; 3]>, Vec<f64>) {
        let mut rng = Rng(seed);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let x = [rng.uniform() * 10.0, rng.uniform() * 10.0, rng.uniform()];
            y.push(2.0 * x[0] - if x[1] > 5.0 { 3.0 } else { 0.0 } + 0.1 * rng.normal());
            rows.push(x);
        }
        (rows, y)
    }

    #[test]
    fn a_regressor_learns_explains_and_round_trips() {
        let (rows, y) = toy(400, 1);
        let model = Booster::fit_regression(&rows, &y, 3, &BoostParams::default()).unwrap();
        let (test_rows, test_y) = toy(200, 2);
        let mae: f64 =
            test_rows.iter().zip(&test_y).map(|(x, y)| (model.predict(x) - y).abs()).sum::<f64>() / test_y.len() as f64;
        assert!(mae < 0.6, "mae {mae}");
        for x in &test_rows[..20] {
            let (base, contrib) = model.contributions(x, 0);
            assert!((base + contrib.iter().sum::<f64>() - model.predict(x)).abs() < 1e-9);
            // The third feature is noise: it decides next to nothing.
            assert!(contrib[2].abs() < 0.5, "{contrib:?}");
        }
        let text = model.to_text();
        let back = Booster::from_text(&text, 1).unwrap();
        assert_eq!(back, model);
        assert_eq!(Booster::fit_regression(&rows, &y, 3, &BoostParams::default()).unwrap(), model);
    }

    #[test]
    fn a_softmax_classifier_learns_three_classes() {
        let mut rng = Rng(7);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..600 {
            let x = [rng.uniform() * 3.0, rng.uniform()];
            labels.push((x[0] as usize).min(2));
            rows.push(x);
        }
        let params = BoostParams { rounds: 30, ..BoostParams::default() };
        let model = Booster::fit_softmax(&rows, &labels, 3, 2, &params).unwrap();
        let correct = rows
            .iter()
            .zip(&labels)
            .filter(|(x, l)| {
                let p = model.probabilities(x.as_slice());
                assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])) == Some(**l)
            })
            .count();
        assert!(correct > 580, "{correct}");
        let x = [2.5, 0.5];
        let (base, contrib) = model.contributions(&x, 2);
        assert!((base + contrib.iter().sum::<f64>() - model.margins(&x)[2]).abs() < 1e-9);
        assert_eq!(Booster::from_text(&model.to_text(), 1).unwrap(), model);
    }

    #[test]
    fn an_anchored_regressor_reaches_past_its_training_range() {
        // y = level + 2·x1: trained on levels 4–6, asked about a level of 1.
        let mut rng = Rng(11);
        let (mut rows, mut y) = (Vec::new(), Vec::new());
        for i in 0..400 {
            let level = if i % 10 == 0 { -999.0 } else { 4.0 + 2.0 * rng.uniform() };
            let x1 = rng.uniform();
            rows.push([level, x1]);
            y.push(if level < 0.0 { 5.0 } else { level } + 2.0 * x1 + 0.05 * rng.normal());
        }
        let model = Anchored::fit(&rows, &y, 2, Some(0), -999.0, &BoostParams::default()).unwrap();
        let x = [1.0, 0.5];
        assert!((model.predict(&x) - 2.0).abs() < 0.3, "{}", model.predict(&x));
        let plain = Booster::fit_regression(&rows, &y, 2, &BoostParams::default()).unwrap();
        assert!(plain.predict(&x) > 4.0, "trees alone stop at the lowest level they saw");
        let (base, c) = model.contributions(&x);
        assert!((base + c.iter().sum::<f64>() - model.predict(&x)).abs() < 1e-9);
        assert!(c[0] < -3.0, "{c:?}");
        assert_eq!(Anchored::from_text(&model.to_text(), 1).unwrap(), model);
        assert!(Anchored::from_text(&model.to_text().replace("anchor 0", "anchor 7"), 1).is_err());
    }

    #[test]
    fn malformed_text_is_an_error_never_a_panic() {
        let (rows, y) = toy(100, 3);
        let params = BoostParams { rounds: 3, ..BoostParams::default() };
        let text = Booster::fit_regression(&rows, &y, 3, &params).unwrap().to_text();
        for cut in (0..text.len()).step_by(5) {
            // Only the final newline missing is the same text.
            if let Some(prefix) = text.get(..cut).filter(|p| p.trim_end() != text.trim_end()) {
                assert!(Booster::from_text(prefix, 1).is_err(), "cut at {cut}");
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        for skip in 0..lines.len() {
            let t: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
            assert!(Booster::from_text(&t.join("\n"), 1).is_err(), "line {skip} dropped");
        }
        let looped = text.lines().map(|l| if l.starts_with("s ") { "s 0 1 0 0 0" } else { l }).collect::<Vec<_>>();
        assert!(Booster::from_text(&looped.join("\n"), 1).is_err());
        assert!(Booster::from_text(&text.replace("objective regression", "objective softmax 1"), 1).is_err());
        assert!(Booster::fit_regression(&rows, &y[..10], 3, &params).is_err());
        assert!(Booster::fit_softmax(&rows, &vec![5; rows.len()], 3, 3, &params).is_err());
    }
}
