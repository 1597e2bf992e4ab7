//! The deterministic query parser, in the contract's steps: normalise the text into tokens,
//! singularise and correct typos word by word, read numbers with their units, match phrases
//! longest first, then interpret the items left to right into [`Filters`].
//!
//! NFKC is approximated without a Unicode table: full-width forms and odd spaces and dashes are
//! folded, which covers what people type; anything else is kept and matches nothing.
//!
//! Where the contract is silent, the readings taken (each pinned in `labelled.txt`): a bare
//! price is a budget (`lte`); an age with no comparison spans to the next one in its own unit;
//! a negation reaches over unknown words; "neither" negates; "2 or 3 years" is a range; after
//! "named" or "called" a lower-case word is a name too.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::vocab::{self, Cmp, Dim, Meaning, Unit};
use super::{Filters, MAX_LIMIT};

/// The filters a query asks for. Never panics; unknown words are ignored.
pub fn parse(query: &str) -> Filters {
    let tokens = tokens(query);
    let items = items(&tokens);
    interpret(&items)
}

// ---------------------------------------------------------------------------------------------
// Step 1: normalisation.

#[derive(Debug, Clone)]
struct Token {
    /// Lower case, singularised and typo-corrected.
    text: String,
    /// Lower case as typed.
    typed: String,
    /// As typed, case kept.
    original: String,
    quoted: bool,
    /// The singular form even of a word known as typed ("sausage dogs" is a phrase).
    singular: String,
    /// Corrected by typo tolerance.
    corrected: bool,
}

impl Token {
    fn capitalised(&self) -> bool {
        self.original.chars().next().is_some_and(char::is_uppercase)
    }
}

fn fold(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(' '),
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => '"',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        c if c.is_whitespace() => ' ',
        c => c,
    }
}

fn is_amount_start(chars: &[char], at: usize) -> bool {
    let mut i = at;
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    if i < chars.len() && matches!(chars[i], '$' | '€' | '£') {
        i += 1;
    }
    i < chars.len() && chars[i].is_ascii_digit()
}

/// Raw tokens as typed (case kept), quoted strings whole.
fn raw_tokens(query: &str) -> Vec<(String, bool)> {
    let folded: String = query.chars().map(fold).collect();
    // n't → " not"; 's dropped; other apostrophes split words.
    let mut text = String::with_capacity(folded.len());
    let chars: Vec<char> = folded.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == 'n'
            && chars.get(i + 1) == Some(&'\'')
            && chars.get(i + 2).is_some_and(|t| t.eq_ignore_ascii_case(&'t'))
            && !chars.get(i + 3).is_some_and(|c| c.is_alphanumeric())
        {
            text.push_str(" not");
            i += 3;
            continue;
        }
        if c == '\''
            && chars.get(i + 1).is_some_and(|s| s.eq_ignore_ascii_case(&'s'))
            && !chars.get(i + 2).is_some_and(|c| c.is_alphanumeric())
        {
            i += 2;
            continue;
        }
        text.push(if c == '\'' { ' ' } else { c });
        i += 1;
    }

    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut i = 0;
    let mut last_was_amount = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            if let Some(end) = chars[i + 1..].iter().position(|&q| q == '"') {
                let inner: String = chars[i + 1..i + 1 + end].iter().collect();
                let inner = inner.trim().to_owned();
                if !inner.is_empty() {
                    out.push((inner, true));
                    last_was_amount = false;
                }
                i += end + 2;
            } else {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_digit() {
            let mut number = String::new();
            while i < chars.len() {
                let d = chars[i];
                let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if d.is_ascii_digit() {
                    number.push(d);
                } else if d == ',' && next_digit {
                } else if d == '.' && next_digit && !number.contains('.') {
                    number.push('.');
                } else {
                    break;
                }
                i += 1;
            }
            let mut value: f64 = number.parse().unwrap_or(0.0);
            if chars.get(i).is_some_and(|k| *k == 'k' || *k == 'K')
                && !chars.get(i + 1).is_some_and(|c| c.is_alphabetic())
            {
                value *= 1000.0;
                i += 1;
            }
            out.push((format_number(value), false));
            last_was_amount = true;
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            out.push((chars[start..i].iter().collect(), false));
            last_was_amount = false;
            continue;
        }
        match c {
            '$' | '€' | '£' | '~' | '+' | ',' => {
                out.push((c.to_string(), false));
                if c != '$' && c != '€' && c != '£' {
                    last_was_amount = false;
                }
                i += 1;
            }
            '<' | '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push((format!("{c}="), false));
                    i += 2;
                } else {
                    out.push((c.to_string(), false));
                    i += 1;
                }
                last_was_amount = false;
            }
            '-' => {
                if last_was_amount && is_amount_start(&chars, i + 1) {
                    out.push(("to".to_owned(), false));
                }
                last_was_amount = false;
                i += 1;
            }
            ' ' => i += 1,
            _ => {
                last_was_amount = false;
                i += 1;
            }
        }
    }
    out
}

fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 { format!("{}", value as i64) } else { format!("{value}") }
}

// ---------------------------------------------------------------------------------------------
// Steps 2 and 3: singular forms and typos.

struct Lexicon {
    phrases: HashMap<&'static str, Meaning>,
    units: HashMap<&'static str, Unit>,
    numbers: HashMap<&'static str, u32>,
    /// Every word the parser knows as typed.
    known: HashSet<&'static str>,
    common: HashSet<&'static str>,
    /// Words typo tolerance may correct into.
    targets: Vec<&'static str>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut phrases = HashMap::new();
        let mut targets: Vec<&'static str> = Vec::new();
        for (name, aliases) in vocab::SPECIES {
            for alias in *aliases {
                phrases.insert(*alias, Meaning::Species(name));
                targets.extend(alias.split(' '));
            }
        }
        for (name, species, aliases) in vocab::BREEDS {
            for alias in *aliases {
                phrases.insert(*alias, Meaning::Breed(name, *species));
                targets.extend(alias.split(' '));
            }
        }
        for (name, aliases) in vocab::COLORS {
            for alias in *aliases {
                phrases.insert(*alias, Meaning::Color(name));
                targets.extend(alias.split(' '));
            }
        }
        for (phrase, meaning) in vocab::keywords() {
            if matches!(meaning, Meaning::AgeGroup(..) | Meaning::Sort(_, true)) {
                targets.extend(phrase.split(' '));
            }
            phrases.insert(phrase, meaning);
        }
        targets.retain(|t| t.chars().count() >= 5);
        targets.sort_unstable();
        targets.dedup();
        let units: HashMap<_, _> = vocab::UNITS.iter().copied().collect();
        let mut numbers: HashMap<_, _> = vocab::NUMBER_WORDS.iter().copied().collect();
        numbers.insert("hundred", 100);
        numbers.insert("thousand", 1000);
        let mut known: HashSet<&'static str> = HashSet::new();
        for phrase in phrases.keys().chain(units.keys()).chain(numbers.keys()) {
            known.extend(phrase.split(' '));
        }
        known.extend(["couple", "few", "dozen", "half", "of", "by"]);
        let common = vocab::COMMON_WORDS.split_whitespace().collect();
        Lexicon { phrases, units, numbers, known, common, targets }
    })
}

/// The contract's singular form, preferring a form the parser knows.
fn singular(word: &str, known: &HashSet<&'static str>) -> String {
    let n = word.chars().count();
    let mut candidates: Vec<String> = Vec::new();
    if let Some(stem) = word.strip_suffix("ies") {
        candidates.push(format!("{stem}y"));
    }
    if ["ches", "shes", "sses", "xes"].iter().any(|s| word.ends_with(s)) {
        candidates.push(word[..word.len() - 2].to_owned());
    }
    if n > 3 && word.ends_with('s') && !word.ends_with("ss") {
        candidates.push(word[..word.len() - 1].to_owned());
    }
    candidates
        .iter()
        .find(|c| known.contains(c.as_str()))
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| word.to_owned())
}

/// Damerau–Levenshtein (optimal string alignment) distance, stopping early above `max`.
fn distance(a: &[char], b: &[char], max: usize) -> usize {
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The one vocabulary word within typo distance of `word`, if exactly one is nearest.
fn correct(word: &str, lexicon: &Lexicon) -> Option<&'static str> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 || chars.len() > 40 || !chars.iter().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    let mut tie = false;
    for target in &lexicon.targets {
        let t: Vec<char> = target.chars().collect();
        let allowed = if t.len() >= 8 { 2 } else { 1 };
        let d = distance(&chars, &t, allowed);
        if d > allowed {
            continue;
        }
        match best {
            Some((bd, _)) if d > bd => {}
            Some((bd, _)) if d == bd => tie = true,
            _ => {
                best = Some((d, target));
                tie = false;
            }
        }
    }
    if tie { None } else { best.map(|(_, t)| t) }
}

fn tokens(query: &str) -> Vec<Token> {
    let lexicon = lexicon();
    raw_tokens(query)
        .into_iter()
        .map(|(original, quoted)| {
            let typed = original.to_lowercase();
            if quoted {
                return Token {
                    text: typed.clone(),
                    singular: typed.clone(),
                    typed,
                    original,
                    quoted,
                    corrected: false,
                };
            }
            let mut text = typed.clone();
            let mut corrected = false;
            if !lexicon.known.contains(typed.as_str()) && typed.chars().all(char::is_alphabetic) {
                text = singular(&typed, &lexicon.known);
                if !lexicon.known.contains(text.as_str())
                    && !lexicon.common.contains(text.as_str())
                    && !lexicon.common.contains(typed.as_str())
                {
                    if let Some(fixed) = correct(&text, lexicon).or_else(|| correct(&typed, lexicon)) {
                        text = fixed.to_owned();
                        corrected = true;
                    }
                }
            }
            let singular =
                if typed.chars().all(char::is_alphabetic) { singular(&typed, &lexicon.known) } else { typed.clone() };
            Token { text, singular, typed, original, quoted, corrected }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Steps 4 and 5: numbers and units; phrases.

#[derive(Debug, Clone, Copy, PartialEq)]
struct Amount {
    /// As written, before unit conversion.
    value: f64,
    unit: Option<Unit>,
    /// A trailing `+`.
    plus: bool,
}

#[derive(Debug, Clone)]
enum Item {
    Amount(Amount),
    Word {
        meaning: Meaning,
        plural: bool,
        /// As typed, case kept, for names.
        original: String,
        capitalised: bool,
        /// Only a typo correction made it vocabulary.
        corrected: bool,
    },
    Unknown {
        original: String,
        capitalised: bool,
    },
    Quoted(String),
}

fn text_at(tokens: &[Token], i: usize) -> &str {
    tokens.get(i).filter(|t| !t.quoted).map_or("", |t| t.text.as_str())
}

/// The unit starting at `i`: (unit, tokens used, including an "old" after it).
fn unit_at(tokens: &[Token], i: usize) -> Option<(Unit, usize)> {
    let lexicon = lexicon();
    let (unit, mut used) = if text_at(tokens, i) == "y" && text_at(tokens, i + 1) == "o" {
        (lexicon.units.get("y o").copied()?, 2)
    } else {
        let t = text_at(tokens, i);
        let unit = lexicon.units.get(t).or_else(|| lexicon.units.get(tokens.get(i)?.typed.as_str()))?;
        (*unit, 1)
    };
    if matches!(unit, Unit::Age(..)) && text_at(tokens, i + used) == "old" {
        used += 1;
    }
    Some((unit, used))
}

/// A number written in digits or words at `i`: (value, tokens used).
fn number_at(tokens: &[Token], i: usize) -> Option<(f64, usize)> {
    let lexicon = lexicon();
    let first = text_at(tokens, i);
    if first.starts_with(|c: char| c.is_ascii_digit()) {
        let mut value: f64 = first.parse().ok()?;
        let mut used = 1;
        match text_at(tokens, i + 1) {
            "hundred" => {
                value *= 100.0;
                used += 1;
            }
            "thousand" => {
                value *= 1000.0;
                used += 1;
            }
            _ => {}
        }
        return Some((value, used));
    }
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut used = 0;
    let mut any = false;
    loop {
        let word = text_at(tokens, i + used);
        match word {
            "hundred" if any && current > 0 && current < 100 => current *= 100,
            "thousand" if any && (current > 0 || total > 0) && current < 1000 => {
                total += current.max(1) * 1000;
                current = 0;
            }
            "and"
                if any
                    && current % 100 == 0
                    && (current > 0 || total > 0)
                    && lexicon.numbers.get(text_at(tokens, i + used + 1)).is_some_and(|v| *v < 100) => {}
            _ => {
                let Some(&v) = lexicon.numbers.get(word) else { break };
                if v >= 100 {
                    break;
                }
                let v = u64::from(v);
                if !any {
                    current = v;
                } else if (v < 10 && current % 100 >= 20 && current % 10 == 0)
                    || (current % 100 == 0 && (current > 0 || total > 0))
                {
                    current += v;
                } else {
                    break;
                }
            }
        }
        any = true;
        used += 1;
    }
    any.then_some(((total + current) as f64, used))
}

fn is_hundred_or_unit(tokens: &[Token], i: usize) -> bool {
    matches!(text_at(tokens, i), "hundred" | "thousand") || unit_at(tokens, i).is_some()
}

/// The amount at `i` with its currency sign, number words, unit and "+": (amount, tokens used).
fn amount_at(tokens: &[Token], i: usize) -> Option<(Amount, usize)> {
    let mut j = i;
    let mut sign = None;
    match text_at(tokens, j) {
        "$" => sign = Some(Unit::Currency("USD")),
        "€" => sign = Some(Unit::Currency("EUR")),
        "£" => sign = Some(Unit::Currency("GBP")),
        _ => {}
    }
    if sign.is_some() {
        j += 1;
    }
    let (mut value, used) = match (text_at(tokens, j), text_at(tokens, j + 1)) {
        ("half", "a") | ("half", "an") if unit_at(tokens, j + 2).is_some() => (0.5, 2),
        ("a" | "an", "couple") => (2.0, if text_at(tokens, j + 2) == "of" { 3 } else { 2 }),
        ("a", "few") => (3.0, 2),
        ("a", "dozen") => (12.0, 2),
        ("a" | "an", "hundred") => (100.0, 2),
        ("a" | "an", "thousand") => (1000.0, 2),
        ("a" | "an", _) if is_hundred_or_unit(tokens, j + 1) => (1.0, 1),
        _ => number_at(tokens, j)?,
    };
    j += used;
    // "a year and a half", "two and a half years".
    let half =
        |k: usize| text_at(tokens, k) == "and" && text_at(tokens, k + 1) == "a" && text_at(tokens, k + 2) == "half";
    let mut unit = sign;
    let mut plus = false;
    if half(j) {
        value += 0.5;
        j += 3;
    }
    if text_at(tokens, j) == "+" && unit_at(tokens, j + 1).is_some() {
        plus = true;
        j += 1;
    }
    if sign.is_none() {
        if let Some((u, used)) = unit_at(tokens, j) {
            unit = Some(u);
            j += used;
            if half(j) {
                value += 0.5;
                j += 3;
                if text_at(tokens, j) == "old" {
                    j += 1;
                }
            }
        }
    }
    Some((Amount { value, unit, plus }, j - i))
}

fn plural(typed: &str) -> bool {
    typed == "mice" || (typed.ends_with('s') && !typed.ends_with("ss") && typed != "pyrenees")
}

fn items(tokens: &[Token]) -> Vec<Item> {
    let lexicon = lexicon();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        if token.quoted {
            out.push(Item::Quoted(token.original.clone()));
            i += 1;
            continue;
        }
        if let Some((amount, used)) = amount_at(tokens, i) {
            out.push(Item::Amount(amount));
            i += used.max(1);
            continue;
        }
        let mut matched = false;
        for len in (1..=4).rev() {
            if i + len > tokens.len() || tokens[i..i + len].iter().any(|t| t.quoted) {
                continue;
            }
            let words = &tokens[i..i + len];
            let phrase = words.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
            let found = lexicon.phrases.get(phrase.as_str()).or_else(|| {
                // A phrase ending in a word kept as typed: "sausage dogs", "wiener dogs".
                let (last, rest) = words.split_last()?;
                let mut phrase: Vec<&str> = rest.iter().map(|t| t.text.as_str()).collect();
                phrase.push(&last.singular);
                (len > 1).then(|| lexicon.phrases.get(phrase.join(" ").as_str())).flatten()
            });
            if let Some(meaning) = found {
                let last = &tokens[i + len - 1];
                out.push(Item::Word {
                    meaning: *meaning,
                    plural: plural(&last.typed),
                    original: tokens[i..i + len].iter().map(|t| t.original.as_str()).collect::<Vec<_>>().join(" "),
                    capitalised: token.capitalised(),
                    corrected: tokens[i..i + len].iter().any(|t| t.corrected),
                });
                i += len;
                matched = true;
                break;
            }
        }
        if !matched {
            out.push(Item::Unknown { original: token.original.clone(), capitalised: token.capitalised() });
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Steps 6 to 11: interpretation.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    Cmp(Cmp, Dim),
    Between,
    From,
    About,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Cmp(Cmp),
    About,
    Range(f64),
    Exact,
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

fn meaning_of(item: Option<&Item>) -> Option<Meaning> {
    match item {
        Some(Item::Word { meaning, .. }) => Some(*meaning),
        _ => None,
    }
}

fn amount(item: Option<&Item>) -> Option<Amount> {
    match item {
        Some(Item::Amount(a)) => Some(*a),
        _ => None,
    }
}

fn is_noun(m: Meaning) -> bool {
    matches!(m, Meaning::Species(_) | Meaning::Breed(..) | Meaning::PetWord | Meaning::AgeGroup(_, _, Some(_)))
}

#[derive(Default)]
struct State {
    filters: Filters,
    pending: Option<Pending>,
    negating: bool,
    name_next: Option<bool>,
    limit: Option<u32>,
    all: bool,
    superlatives: Vec<usize>,
    nouns: Vec<(usize, bool)>,
    price_context: Option<usize>,
    age_context: Option<usize>,
    sort_dimension_age: bool,
}

impl State {
    fn set_limit(&mut self, value: f64) {
        if self.limit.is_none() && value.is_finite() {
            self.limit = Some((value.max(1.0).min(f64::from(MAX_LIMIT))) as u32);
        }
    }

    fn apply(&mut self, items: &[Item], at: usize, a: Amount, comparison: Comparison, dim: Dim) {
        enum Kind {
            Price,
            Age(f64, bool),
            Weight(f64),
        }
        let near = |context: Option<usize>| context.is_some_and(|c| at >= c && at - c <= 3);
        let kind = match a.unit {
            Some(Unit::Currency(code)) => {
                self.filters.currency = Some(code.to_owned());
                Kind::Price
            }
            Some(Unit::Age(per, whole)) => Kind::Age(per, whole),
            Some(Unit::Weight(per)) => Kind::Weight(per),
            None => {
                let next_is_price = matches!(meaning_of(items.get(at + 1)), Some(Meaning::PriceWord));
                if dim == Dim::Price || near(self.price_context) || next_is_price {
                    Kind::Price
                } else if dim == Dim::Age || near(self.age_context) {
                    Kind::Age(1.0, true)
                } else if comparison == Comparison::Exact {
                    return;
                } else if a.value >= 30.0 {
                    Kind::Price
                } else {
                    Kind::Age(1.0, true)
                }
            }
        };
        let (bounds, per, places, whole) = match kind {
            Kind::Price => (&mut self.filters.price, 1.0, 2, false),
            Kind::Age(per, whole) => (&mut self.filters.age_years, per, 4, whole),
            Kind::Weight(per) => (&mut self.filters.weight_kg, per, 2, false),
        };
        let whole = whole && a.value.fract() == 0.0;
        let v = round(a.value * per, places);
        let next = round((a.value + 1.0) * per, places);
        match comparison {
            Comparison::Cmp(Cmp::Lt) => bounds.upper(v, false),
            Comparison::Cmp(Cmp::Lte) if whole => bounds.upper(next, false),
            Comparison::Cmp(Cmp::Lte) => bounds.upper(v, true),
            Comparison::Cmp(Cmp::Gt) => bounds.lower(v, false),
            Comparison::Cmp(Cmp::Gte) => bounds.lower(v, true),
            Comparison::About => {
                bounds.lower(round(a.value * per * 0.8, places), true);
                bounds.upper(round(a.value * per * 1.2, places), true);
            }
            Comparison::Range(from) => {
                bounds.lower(round(from * per, places), true);
                if whole {
                    bounds.upper(next, false);
                } else {
                    bounds.upper(v, true);
                }
            }
            // A bare price is a budget: "two hundred fifty dollars" → at most 250.
            Comparison::Exact if matches!(kind, Kind::Price) => bounds.upper(v, true),
            // An age with no comparison is that age until the next one in its own unit: "3 years
            // old" → [3, 4), "8 weeks old" → [8, 9) weeks, "1.5 years old" → [1.5, 2.5).
            Comparison::Exact => {
                if matches!(kind, Kind::Age(..)) {
                    bounds.lower(v, true);
                    bounds.upper(next, false);
                }
            }
        }
    }
}

fn interpret(items: &[Item]) -> Filters {
    let mut s = State::default();
    let mut j = 0;
    while j < items.len() {
        let name_next = s.name_next.take();
        match &items[j] {
            Item::Quoted(text) => {
                s.filters.name = Some(text.clone());
                s.negating = false;
            }
            Item::Unknown { original, capitalised } => {
                // Negation reaches over words it does not know ("I don't want a cat").
                if name_next == Some(true) || (name_next == Some(false) && *capitalised) {
                    s.filters.name = Some(original.clone());
                    s.negating = false;
                }
            }
            Item::Amount(a) => {
                j = amount_item(&mut s, items, j, *a);
                s.pending = None;
                s.negating = false;
                continue;
            }
            Item::Word { meaning, plural, original, capitalised, corrected } => {
                let meaning = *meaning;
                // "minimum price 100": a comparison reaches over the dimension it names.
                let followed_by_amount = amount(items.get(j + 1)).is_some()
                    || matches!(meaning_at(items, j + 1), Some(Meaning::PriceWord | Meaning::AgeWord))
                        && amount(items.get(j + 2)).is_some();
                // "Show me Max", "meet Bella": a capitalised word that is not vocabulary as typed.
                let nameable = *corrected
                    || matches!(meaning, Meaning::Cmp(..) | Meaning::AboutOrName | Meaning::About)
                        && !followed_by_amount;
                if (name_next == Some(true) || name_next.is_some() && *capitalised) && nameable {
                    s.filters.name = Some(original.clone());
                    j += 1;
                    continue;
                }
                word_item(&mut s, items, j, meaning, *plural, followed_by_amount, name_next);
            }
        }
        j += 1;
    }
    finish(s)
}

fn word_item(
    s: &mut State,
    items: &[Item],
    j: usize,
    meaning: Meaning,
    plural: bool,
    followed_by_amount: bool,
    name_next: Option<bool>,
) {
    let f = &mut s.filters;
    let negating = s.negating;
    let joiner = |k: usize| matches!(meaning_at(items, k), Some(Meaning::Or | Meaning::Comma));
    let mut keep_negating = false;
    match meaning {
        Meaning::Species(name) => {
            if negating {
                push_unique(&mut f.exclude_species, name);
                keep_negating = joiner(j + 1);
            } else {
                push_unique(&mut f.species, name);
                s.nouns.push((j, plural));
            }
        }
        Meaning::Breed(name, species) => {
            if negating {
                push_unique(&mut f.exclude_breeds, name);
                keep_negating = joiner(j + 1);
            } else {
                push_unique(&mut f.breeds, name);
                if let Some(species) = species {
                    push_unique(&mut f.species, species);
                }
                s.nouns.push((j, plural));
            }
        }
        Meaning::Color(name) => {
            if negating {
                push_unique(&mut f.exclude_colors, name);
                keep_negating = joiner(j + 1);
            } else {
                push_unique(&mut f.colors, name);
            }
        }
        Meaning::PetWord => s.nouns.push((j, plural)),
        Meaning::AgeGroup(lo, hi, species) => {
            if let Some(lo) = lo {
                f.age_years.lower(lo, true);
            }
            if let Some(hi) = hi {
                f.age_years.upper(hi, false);
            }
            if let Some(species) = species {
                if negating {
                    push_unique(&mut f.exclude_species, species);
                } else {
                    push_unique(&mut f.species, species);
                    s.nouns.push((j, plural));
                }
            }
        }
        Meaning::Old => f.age_years.lower(8.0, true),
        Meaning::Size(size) if !f.sizes.contains(&size) => f.sizes.push(size),
        Meaning::Sex(sex) => f.sex = Some(sex.to_owned()),
        Meaning::Status(status) => f.status = Some(status),
        Meaning::AnyStatus => f.status = None,
        Meaning::Sort(sort, superlative) => {
            f.sort_by = Some(sort);
            s.sort_dimension_age = false;
            if superlative {
                s.superlatives.push(j);
            }
        }
        Meaning::SortedBy(sort) => {
            f.sort_by = Some(sort);
            s.sort_dimension_age = sort == super::SortBy::AgeAsc;
        }
        Meaning::ByPrice => {
            let rest_is_empty = items[j + 1..].iter().all(|i| matches!(meaning_of(Some(i)), Some(Meaning::Filler)));
            if rest_is_empty || matches!(meaning_at(items, j + 1), Some(Meaning::LowToHigh | Meaning::HighToLow)) {
                f.sort_by = Some(super::SortBy::PriceAsc);
                s.sort_dimension_age = false;
            }
        }
        Meaning::LowToHigh => {
            f.sort_by = Some(if s.sort_dimension_age { super::SortBy::AgeAsc } else { super::SortBy::PriceAsc });
        }
        Meaning::HighToLow => {
            f.sort_by = Some(if s.sort_dimension_age { super::SortBy::AgeDesc } else { super::SortBy::PriceDesc });
        }
        Meaning::Cmp(cmp, dim) | Meaning::PostCmp(cmp, dim) if followed_by_amount => {
            // "over 2 and under 5": a postfix comparison before a number reads as a prefix one.
            let cmp = match (meaning, cmp) {
                (Meaning::PostCmp(..), Cmp::Lte) => Cmp::Lt,
                (Meaning::PostCmp(..), Cmp::Gte) => Cmp::Gt,
                _ => cmp,
            };
            s.pending = Some(Pending::Cmp(cmp, dim));
            if dim == Dim::Price {
                s.price_context = Some(j);
            }
            keep_negating = negating;
        }
        Meaning::Cmp(_, Dim::Price) => s.price_context = Some(j),
        Meaning::Between if followed_by_amount => s.pending = Some(Pending::Between),
        Meaning::From if followed_by_amount => s.pending = Some(Pending::From),
        Meaning::About | Meaning::AboutOrName if followed_by_amount => s.pending = Some(Pending::About),
        Meaning::AboutOrName => s.name_next = Some(false),
        Meaning::Free => f.price.upper(0.0, true),
        Meaning::Not => keep_negating = true,
        Meaning::Or | Meaning::Comma => keep_negating = negating,
        Meaning::PriceWord => s.price_context = Some(j),
        Meaning::AgeWord => s.age_context = Some(j),
        Meaning::Top => {
            if let Some(a) = amount(items.get(j + 1)).filter(|a| a.unit.is_none()) {
                s.set_limit(a.value);
            }
        }
        Meaning::ListVerb(names) => {
            if let Some(a) = amount(items.get(j + 1)).filter(|a| a.unit.is_none()) {
                s.set_limit(a.value);
            }
            if names {
                s.name_next = Some(false);
            }
        }
        Meaning::All => s.all = true,
        Meaning::NameTrigger => s.name_next = Some(true),
        Meaning::Filler => {
            keep_negating = negating;
            s.name_next = s.name_next.or(name_next);
        }
        _ => {}
    }
    s.negating = keep_negating;
}

fn meaning_at(items: &[Item], k: usize) -> Option<Meaning> {
    meaning_of(items.get(k))
}

/// An amount and what surrounds it; returns the index of the next item to read.
fn amount_item(s: &mut State, items: &[Item], j: usize, a: Amount) -> usize {
    // Ranges: "between A and B", "A to B", "from A to B", "A–B"; and "2 or 3 years" (Petty's).
    let b = amount(items.get(j + 2));
    let joined = match meaning_at(items, j + 1) {
        Some(Meaning::To) => true,
        Some(Meaning::And) => s.pending == Some(Pending::Between),
        Some(Meaning::Or) => s.pending.is_none() && b.is_some_and(|b| b.unit.is_some()),
        _ => false,
    };
    if let Some(b) = b.filter(|_| joined) {
        let dim = match s.pending {
            Some(Pending::Cmp(_, dim)) => dim,
            _ => Dim::Any,
        };
        // A unit after B applies to A; A's own unit is converted into B's ("6 months to 2 years").
        let b = Amount { unit: b.unit.or(a.unit), ..b };
        let from = match (a.unit, b.unit) {
            (Some(Unit::Age(pa, _)), Some(Unit::Age(pb, _))) => a.value * pa / pb,
            (Some(Unit::Weight(pa)), Some(Unit::Weight(pb))) => a.value * pa / pb,
            _ => a.value,
        };
        if let Some(Unit::Currency(code)) = a.unit {
            s.filters.currency = Some(code.to_owned());
        }
        s.apply(items, j, b, Comparison::Range(from), dim);
        return j + 3;
    }
    let mut next = j + 1;
    let comparison = if a.plus {
        Comparison::Cmp(Cmp::Gte)
    } else if let Some(Meaning::PostCmp(cmp, dim)) =
        meaning_at(items, j + 1).filter(|_| amount(items.get(j + 2)).is_none())
    {
        next = j + 2;
        s.apply(items, j, a, Comparison::Cmp(cmp), dim);
        return next;
    } else {
        match s.pending {
            Some(Pending::Cmp(cmp, _)) => Comparison::Cmp(cmp),
            Some(Pending::From) => Comparison::Cmp(Cmp::Gte),
            Some(Pending::About) => Comparison::About,
            Some(Pending::Between) | None => Comparison::Exact,
        }
    };
    let dim = match s.pending {
        Some(Pending::Cmp(_, dim)) => dim,
        _ => Dim::Any,
    };
    if comparison == Comparison::Exact && a.unit.is_none() {
        let before_noun = meaning_at(items, j + 1).is_some_and(is_noun)
            || matches!(meaning_at(items, j + 1), Some(Meaning::Sort(_, true)));
        // "top 3", "show me 3", and "cheapest 3" as "3 cheapest".
        let after_limit_word = matches!(
            meaning_at(items, j.wrapping_sub(1)),
            Some(Meaning::Top | Meaning::ListVerb(_) | Meaning::Sort(_, true))
        );
        let age_word = s.age_context.is_some_and(|c| j >= c && j - c <= 2);
        if (before_noun || after_limit_word) && !age_word {
            s.set_limit(a.value);
            return next;
        }
        let price_word = s.price_context.is_some_and(|c| j >= c && j - c <= 2)
            || matches!(meaning_at(items, j + 1), Some(Meaning::PriceWord));
        if !age_word && !price_word {
            return next;
        }
    }
    s.apply(items, j, a, comparison, dim);
    next
}

fn finish(s: State) -> Filters {
    let mut f = s.filters;
    f.limit = if let Some(limit) = s.limit {
        limit
    } else if s.all {
        MAX_LIMIT
    } else if let Some(&sup) = s.superlatives.last() {
        let after = s.nouns.iter().find(|(k, _)| *k > sup);
        let before = s.nouns.iter().rev().find(|(k, _)| *k < sup);
        match after.or(before) {
            Some((_, true)) => f.limit,
            _ => 1,
        }
    } else {
        f.limit
    };
    f
}

#[cfg(test)]
pub(super) fn debug_items(query: &str) -> String {
    format!("{:?}", items(&tokens(query)))
}
