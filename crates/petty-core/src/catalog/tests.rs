//! The parser against the contract's worked examples, one example per rule, odd strings, and
//! the labelled set in `labelled.txt`.

use super::*;

/// Filters from the labelled format: `key=value` pairs separated by `;`, lists by `,`, bounds as
/// `price.lt=500`; `limit` and `status` default to 10 and available, `status=any` is null.
fn expected(spec: &str) -> Result<Filters, String> {
    let mut f = Filters::default();
    for pair in spec.split(';').map(str::trim).filter(|p| !p.is_empty() && *p != "-") {
        let (key, value) = pair.split_once('=').ok_or(format!("no '=' in {pair:?}"))?;
        let (key, value) = (key.trim(), value.trim());
        let list = || value.split(',').map(|v| v.trim().to_owned()).collect::<Vec<_>>();
        let num = || value.parse::<f64>().map_err(|e| format!("{pair}: {e}"));
        let bound = |b: &mut Bounds, which: &str, v: f64| match which {
            "gt" => b.gt = Some(v),
            "gte" => b.gte = Some(v),
            "lt" => b.lt = Some(v),
            _ => b.lte = Some(v),
        };
        match key.split_once('.') {
            Some(("age", which)) => bound(&mut f.age_years, which, num()?),
            Some(("price", which)) => bound(&mut f.price, which, num()?),
            Some(("weight", which)) => bound(&mut f.weight_kg, which, num()?),
            Some(_) => return Err(format!("unknown key {key}")),
            None => match key {
                "species" => f.species = list(),
                "exclude_species" => f.exclude_species = list(),
                "breeds" => f.breeds = list(),
                "exclude_breeds" => f.exclude_breeds = list(),
                "colors" => f.colors = list(),
                "exclude_colors" => f.exclude_colors = list(),
                "currency" => f.currency = Some(value.to_owned()),
                "sex" => f.sex = Some(value.to_owned()),
                "name" => f.name = Some(value.to_owned()),
                "sizes" => {
                    f.sizes = list()
                        .iter()
                        .map(|s| match s.as_str() {
                            "small" => Ok(Size::Small),
                            "medium" => Ok(Size::Medium),
                            "large" => Ok(Size::Large),
                            "xlarge" => Ok(Size::Xlarge),
                            _ => Err(format!("size {s}")),
                        })
                        .collect::<Result<_, _>>()?
                }
                "sort" => {
                    f.sort_by = Some(match value {
                        "price_asc" => SortBy::PriceAsc,
                        "price_desc" => SortBy::PriceDesc,
                        "age_asc" => SortBy::AgeAsc,
                        "age_desc" => SortBy::AgeDesc,
                        "name" => SortBy::Name,
                        "newest" => SortBy::Newest,
                        _ => return Err(format!("sort {value}")),
                    })
                }
                "limit" => f.limit = value.parse().map_err(|e| format!("{pair}: {e}"))?,
                "status" => {
                    f.status = match value {
                        "any" => None,
                        "available" => Some(Status::Available),
                        "pending" => Some(Status::Pending),
                        "sold" => Some(Status::Sold),
                        "adopted" => Some(Status::Adopted),
                        _ => return Err(format!("status {value}")),
                    }
                }
                _ => return Err(format!("unknown key {key}")),
            },
        }
    }
    Ok(f)
}

#[track_caller]
fn check(query: &str, spec: &str) {
    let want = expected(spec).unwrap_or_else(|e| panic!("bad spec for {query:?}: {e}"));
    let got = parse(query);
    assert_eq!(got, want, "{query:?}\n items: {}", parser::debug_items(query));
}

#[test]
fn the_contract_worked_examples() {
    check("dogs under 2 years old", "species=dog; age.lt=2");
    check("cheapest cat", "species=cat; sort=price_asc; limit=1");
    check("golden retrievers under $500", "species=dog; breeds=golden retriever; price.lt=500; currency=USD");
    check("expensive dogs", "species=dog; sort=price_desc");
    check("list 3 cheapest pets", "sort=price_asc; limit=3");
    check("cats that are not black", "species=cat; exclude_colors=black");
    check("pets between 1 and 3 years old", "age.gte=1; age.lt=4");
    check("show me catfish", "species=fish; breeds=catfish");
    check("Tell me about Buddy", "name=Buddy");
    check("hello", "-");
}

#[test]
fn upstream_keys_come_from_the_filters() {
    assert_eq!(parse("cheapest cat").type_filter(), Some("cat"));
    let f = parse("golden retrievers under $500");
    assert_eq!(f.type_filter(), Some("dog"));
    assert_eq!((f.min_price(), f.max_price()), (None, Some(500.0)));
    let f = parse("cats and dogs $100 to $300");
    assert_eq!(f.type_filter(), None);
    assert_eq!((f.min_price(), f.max_price()), (Some(100.0), Some(300.0)));
}

#[test]
fn normalisation() {
    check("dogs $200-$500", "species=dog; price.gte=200; price.lte=500; currency=USD");
    check("cats 2–5 years", "species=cat; age.gte=2; age.lt=6");
    check("a 2-year-old dog", "species=dog; age.gte=2; age.lt=3");
    check("dogs under 1,200", "species=dog; price.lt=1200");
    check("dogs under 1.5k", "species=dog; price.lt=1500");
    check("3yo cat", "species=cat; age.gte=3; age.lt=4");
    check("6mo kitten", "species=cat; age.gte=0.5; age.lt=0.5833");
    check("dogs under 20lbs", "species=dog; weight.lt=9.07");
    check("tri-color cats", "species=cat; colors=tricolor");
    check("3 y/o dogs", "species=dog; age.gte=3; age.lt=4");
    check("dogs that aren't black", "species=dog; exclude_colors=black");
    check("“Max”", "name=Max");
    check("ＤＯＧＳ", "species=dog");
}

#[test]
fn singular_forms_and_longest_phrases() {
    check("show me catfish", "species=fish; breeds=catfish");
    check("french bulldogs", "species=dog; breeds=french bulldog");
    check("golden retriever", "species=dog; breeds=golden retriever");
    check("golden cats", "species=cat; colors=golden");
    check("huskies", "species=dog; breeds=siberian husky");
    check("finches", "species=bird; breeds=finch");
    check("guinea pigs", "species=guinea pig");
    check("mice", "species=mouse");
}

#[test]
fn typos_and_the_words_never_corrected() {
    check("chihuahau", "species=dog; breeds=chihuahua");
    check("goldne retreivers", "species=dog; breeds=golden retriever");
    check("whit cats", "species=cat; colors=white");
    check("cats while I wait", "species=cat");
    check("a dog for the house", "species=dog");
    check("cats in my price range", "species=cat");
    check("a good fellow", "-");
    check("cheapset dog", "species=dog; sort=price_asc; limit=1");
}

#[test]
fn numbers_in_words() {
    check("two hundred fifty dollars", "price.lte=250; currency=USD");
    check("cats under twenty-five dollars", "species=cat; price.lt=25; currency=USD");
    check("dogs under a year", "species=dog; age.lt=1");
    check("a couple of years old", "age.gte=2; age.lt=3");
    check("younger than a few years", "age.lt=3");
    check("a dozen cats", "species=cat; limit=12");
    check("under half a year", "age.lt=0.5");
    check("under a year and a half", "age.lt=1.5");
}

#[test]
fn units_and_comparisons() {
    check("up to 3 years", "age.lt=4");
    check("about 500", "price.gte=400; price.lte=600");
    check("around 2 years", "age.gte=1.6; age.lte=2.4");
    check("under 2 years", "age.lt=2");
    check("over 5", "age.gt=5");
    check("over 50", "price.gt=50");
    check("price under 20", "price.lt=20");
    check("3 years or older", "age.gte=3");
    check("$300 or less", "price.lte=300; currency=USD");
    check("5+ years", "age.gte=5");
    check("€200 and up", "price.gte=200; currency=EUR");
    check("free kittens", "species=cat; age.lt=1; price.lte=0");
    check("under 10 pounds", "weight.lt=4.54");
    check("under 8 weeks", "age.lt=0.1533");
    check("aged 3", "age.gte=3; age.lt=4");
    check("from 2 to 4 years", "age.gte=2; age.lt=5");
    check("from 100", "price.gte=100");
    check("over 2 and under 5 years", "age.gt=2; age.lt=5");
    check("under 5 and under 3 years", "age.lt=3");
    check("budget of 400", "price.lte=400");
}

#[test]
fn age_size_sex_and_status_words() {
    check("puppies", "species=dog; age.lt=1");
    check("senior cats", "species=cat; age.gte=8");
    check("adult dogs", "species=dog; age.gte=3; age.lt=8");
    check("old dogs", "species=dog; age.gte=8");
    check("dogs older than 2", "species=dog; age.gt=2");
    check("big female dogs", "species=dog; sizes=large; sex=female");
    check("extra large dogs", "species=dog; sizes=xlarge");
    check("cats on hold", "species=cat; status=pending");
    check("dogs including sold", "species=dog; status=any");
}

#[test]
fn sorting_and_limits() {
    check("3 cheapest", "sort=price_asc; limit=3");
    check("the cheapest cat", "species=cat; sort=price_asc; limit=1");
    check("the cheapest cats", "species=cat; sort=price_asc");
    check("what's the most expensive pet?", "sort=price_desc; limit=1");
    check("the youngest", "sort=age_asc; limit=1");
    check("top 5 dogs", "species=dog; limit=5");
    check("all cats", "species=cat; limit=100");
    check("cats sorted by age", "species=cat; sort=age_asc");
    check("dogs by price", "species=dog; sort=price_asc");
    check("dogs by price high to low", "species=dog; sort=price_desc");
    check("dogs in my price range", "species=dog");
    check("2 dogs", "species=dog; limit=2");
    check("top 500 dogs", "species=dog; limit=100");
}

#[test]
fn negation() {
    check("not black or white", "exclude_colors=black,white");
    check("no cats, dogs or birds", "exclude_species=cat,dog,bird");
    check("dogs except labs", "species=dog; exclude_breeds=labrador retriever");
    check("anything but a cat", "exclude_species=cat");
    check("I don't want a cat", "exclude_species=cat");
}

#[test]
fn names() {
    check("Show me Max", "name=Max");
    check("find Luna", "name=Luna");
    check("a dog named rex", "species=dog; name=rex");
    check("show me dogs", "species=dog");
    check("meet Bella", "name=Bella");
}

#[test]
fn a_breed_adds_its_species() {
    check("golden retrievers", "species=dog; breeds=golden retriever");
    check("mutts", "breeds=mixed");
}

#[test]
fn filters_in_words_and_as_entries() {
    let f = parse("golden retrievers under $500");
    assert_eq!(f.to_string(), "dog · golden retriever · under 500 USD");
    assert_eq!(parse("hello").to_string(), "everything");
    assert_eq!(
        parse("3 cheapest black cats under 2 years").to_string(),
        "cat · black · age under 2 years · cheapest first · top 3"
    );
    assert_eq!(parse("sold dogs, not labs").to_string(), "dog · not labrador retriever · sold");
    let keys: Vec<_> = f.entries().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["species", "breeds", "price", "currency", "limit", "status"]);
    let any = parse("any status");
    assert_eq!(any.entries().last(), Some(&("status", FilterValue::Null)));
}

#[test]
fn odd_strings_never_panic() {
    let long = "cheapest ".repeat(2000);
    let digits = "9".repeat(400);
    let mut odd: Vec<String> = [
        "",
        " ",
        "$",
        "€",
        "£",
        "$$$",
        "-",
        "--",
        "$-$",
        "1-",
        "-1",
        "1k",
        "k",
        "1.",
        ".5",
        "1..2",
        "\"",
        "\"\"",
        "\" \"",
        "'",
        "n't",
        "'s",
        "~",
        "+",
        "<=",
        ">=",
        "<>",
        "a",
        "an",
        "a a a",
        "half",
        "half a",
        "a year and a",
        "and a half",
        "between",
        "between 1 and",
        "from to",
        "1 to",
        "to 2",
        "thousand thousand",
        "hundred",
        "a hundred thousand",
        "😀🐶",
        "ｄｏｇ",
        "İstanbul ǅ ß",
        "\u{0}",
        "\u{FEFF}",
        "名前 猫",
        "x".repeat(600).as_str(),
        "1e308",
        "99999999999999999999999999999",
        "0.000000001",
        "$0",
        "0 dogs",
        "-5 years",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    odd.push(long);
    odd.push(digits.clone());
    odd.push(format!("${digits}"));
    odd.push(format!("{digits}k"));
    // Every prefix of a busy query, so each rule meets an unfinished input.
    let busy = "Show me 2 \"Max\" golden retrievers, not black or white, between $200–$1,500 and \
                a year and a half old, 20lbs+, cheapest first, including sold";
    for (i, _) in busy.char_indices() {
        odd.push(busy[..i].to_owned());
    }
    for s in &odd {
        let f = parse(s);
        assert!((1..=MAX_LIMIT).contains(&f.limit), "{s:?}");
        let _ = f.to_string();
    }
}

/// Random strings of query-like pieces: every parse returns, within its limits.
#[test]
fn random_strings_never_panic() {
    let pieces = [
        "$",
        "€",
        "£",
        "-",
        "–",
        "1",
        "2,5",
        "1.5",
        "k",
        "yo",
        "y",
        "/",
        "o",
        "lbs",
        "\"",
        "'",
        "n't",
        "'s",
        "a",
        "half",
        "and",
        "or",
        "not",
        ",",
        "+",
        "<",
        ">=",
        "~",
        "between",
        "to",
        "from",
        "under",
        "about",
        "Max",
        "named",
        "show me",
        "top",
        "cheapest",
        "dogs",
        "golden",
        "retriever",
        "hundred",
        "thousand",
        "twenty",
        "five",
        "year",
        "months",
        "old",
        "free",
        "😀",
        "ß",
        "ǅ",
        "\u{0}",
        " ",
        "  ",
        "9999999999999999999999",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..5000 {
        let mut query = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 12) as usize;
        for k in 0..len {
            let pick = (state.rotate_left(k as u32 * 5) % pieces.len() as u64) as usize;
            query.push_str(pieces[pick]);
            if state.rotate_left(k as u32) & 1 == 0 {
                query.push(' ');
            }
        }
        let f = parse(&query);
        assert!((1..=MAX_LIMIT).contains(&f.limit), "{query:?}");
    }
}

#[test]
fn the_labelled_set_parses_exactly() {
    let text = include_str!("labelled.txt");
    let mut total = 0;
    let mut misses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (query, spec) = line.split_once(" => ").unwrap_or_else(|| panic!("line {}: no ' => '", n + 1));
        let want = expected(spec).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        total += 1;
        let got = parse(query);
        if got != want {
            misses.push(format!("line {}: {query:?}\n   want {want:?}\n   got  {got:?}", n + 1));
        }
    }
    let share = (total - misses.len()) as f64 / total as f64;
    println!("labelled set: {} of {total} exact ({:.1}%)", total - misses.len(), share * 100.0);
    for miss in &misses {
        println!("{miss}");
    }
    assert!(total >= 200, "only {total} labelled queries");
    assert!(share >= 0.95, "{} misses", misses.len());
}

/// Everyday words typed around a query stay what they are: none becomes a species, breed,
/// colour, age group or superlative by typo tolerance.
#[test]
fn everyday_words_are_never_corrected() {
    let words = "while house range fellow hello there where would could should about after again \
        along always another around because before being below better between bring cannot \
        choose clean close comes could doing early either enough every family first found \
        friend great group happy heard house known large later learn least leave light might \
        money month never often other place plate please point price quick quite really right \
        round short since small sound start still story table taken thank their these thing \
        think those three today under until using value watch water where which while white \
        whole whose world would write years young yours lives lived river lover liver order \
        older colder bolder boxes faster safer seven eight nine eleven twelve fifty sixty \
        trained friendly healthy gentle active playful loving loyal smart quiet calm shelter \
        store breeder apartment garden yard owner buying adopt adoption hoping looking search \
        searching seeking prefer preferably ideally maybe possibly perhaps local nearby delivery \
        shipping vaccinated neutered spayed chipped registered pedigree purebred papers \
        hypoallergenic shedding grooming training walking running swimming jumping cuddly fluffy \
        furry fuzzy smooth curly wiry short long coat fur hair tail ears eyes paws nose \
        last main live back east rise mine sake inch mere torso grant bridle winner dream \
        crown brown block black shake snack stake treat greet eagle noodle doodle airman \
        colder holder folder bigger smaller newer nicer happier sweeter calmer kinder better \
        ladies boys girls kids children someone something anyone anything nothing \
        minute hours weeks today tonight tomorrow weekend morning evening night \
        city town country state street road place places house houses flat home homes \
        happy sad angry tired ready early late soon now then next last final other others \
        please thanks thank sorry hello hey okay sure yes yeah nope maybe \
        youngsters honey buddy lucky sunny daisy bella charlie rocky shadow whiskers tweety nemo";
    let vocabulary = ["white", "brown", "black", "young", "older", "small", "large", "least", "liver"];
    let mut changed = Vec::new();
    for word in words.split_whitespace().filter(|w| !vocabulary.contains(w)) {
        let f = parse(word);
        let corrected = f.species.len() + f.breeds.len() + f.colors.len();
        if corrected > 0 || !f.age_years.is_empty() || f.sort_by.is_some() {
            changed.push(format!("{word} → {f}"));
        }
    }
    assert!(changed.is_empty(), "{changed:?}");
}
