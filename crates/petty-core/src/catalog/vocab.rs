//! The catalog's vocabulary: species, breeds and colours with their aliases, the keyword phrases
//! of the query parser, and the common English words that typo tolerance must never "correct".
//!
//! Every phrase is lower case, words separated by one space, singular where a plural would be
//! singularised (the parser keeps a vocabulary word as typed and singularises the rest).

use super::{Size, SortBy, Status};

/// What a phrase means to the parser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Meaning {
    Species(&'static str),
    /// A breed and its species (`None` for mixed).
    Breed(&'static str, Option<&'static str>),
    Color(&'static str),
    /// pet, animal, anything: a noun with no species.
    PetWord,
    /// An age group: lower and upper bound in years (gte, lt), with the species it implies.
    AgeGroup(Option<f64>, Option<f64>, Option<&'static str>),
    Size(Size),
    Sex(&'static str),
    Status(Status),
    AnyStatus,
    /// A sort word; `true` for a superlative.
    Sort(SortBy, bool),
    /// "sorted by price": sorts wherever it stands.
    SortedBy(SortBy),
    /// "by price": sorts only at the end or before "low to high" / "high to low".
    ByPrice,
    LowToHigh,
    HighToLow,
    Cmp(Cmp, Dim),
    /// A comparison written after its number ("or less", "and up").
    PostCmp(Cmp, Dim),
    Between,
    To,
    From,
    About,
    Free,
    And,
    Or,
    Comma,
    Not,
    PriceWord,
    AgeWord,
    Top,
    /// list, show (me), give me, find (me); `true` when it also introduces a name.
    ListVerb(bool),
    All,
    NameTrigger,
    /// "about": a name trigger, or "approximately" before a number.
    AboutOrName,
    Old,
    Filler,
}

/// A comparison's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// The dimension a comparison word implies, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dim {
    Any,
    Price,
    Age,
}

pub(crate) const SPECIES: &[(&str, &[&str])] = &[
    ("dog", &["dog", "dogs", "doggy", "doggie", "canine", "puppy", "pup"]),
    ("cat", &["cat", "cats", "kitty", "kitten", "feline"]),
    ("bird", &["bird", "birdie"]),
    ("fish", &["fish", "fishes"]),
    ("rabbit", &["rabbit", "bunny"]),
    ("hamster", &["hamster"]),
    ("guinea pig", &["guinea pig", "cavy"]),
    ("turtle", &["turtle", "tortoise"]),
    ("lizard", &["lizard"]),
    ("frog", &["frog"]),
    ("snake", &["snake"]),
    ("ferret", &["ferret"]),
    ("horse", &["horse", "pony"]),
    ("mouse", &["mouse", "mice"]),
    ("rat", &["rat"]),
    ("chinchilla", &["chinchilla"]),
];

/// Breeds: canonical name, species, aliases (the canonical name included).
pub(crate) const BREEDS: &[(&str, Option<&str>, &[&str])] = &[
    ("labrador retriever", Some("dog"), &["labrador retriever", "labrador", "lab"]),
    ("golden retriever", Some("dog"), &["golden retriever"]),
    ("german shepherd", Some("dog"), &["german shepherd", "german shepherd dog", "gsd", "alsatian", "german shepard"]),
    ("french bulldog", Some("dog"), &["french bulldog", "frenchie", "frenchies"]),
    ("bulldog", Some("dog"), &["bulldog", "english bulldog"]),
    ("poodle", Some("dog"), &["poodle", "standard poodle", "miniature poodle", "toy poodle", "mini poodle"]),
    ("beagle", Some("dog"), &["beagle"]),
    ("rottweiler", Some("dog"), &["rottweiler", "rottie", "rotties"]),
    ("dachshund", Some("dog"), &["dachshund", "doxie", "doxies", "wiener dog", "sausage dog"]),
    ("yorkshire terrier", Some("dog"), &["yorkshire terrier", "yorkie", "yorkies"]),
    ("boxer", Some("dog"), &["boxer"]),
    ("siberian husky", Some("dog"), &["siberian husky", "husky"]),
    ("pembroke welsh corgi", Some("dog"), &["pembroke welsh corgi", "corgi"]),
    ("australian shepherd", Some("dog"), &["australian shepherd", "aussie", "aussies"]),
    ("great dane", Some("dog"), &["great dane"]),
    ("doberman pinscher", Some("dog"), &["doberman pinscher", "doberman", "dobermann"]),
    ("shih tzu", Some("dog"), &["shih tzu"]),
    ("chihuahua", Some("dog"), &["chihuahua"]),
    ("pomeranian", Some("dog"), &["pomeranian"]),
    ("maltese", Some("dog"), &["maltese"]),
    ("border collie", Some("dog"), &["border collie"]),
    ("cavalier king charles spaniel", Some("dog"), &["cavalier king charles spaniel", "cavalier"]),
    ("cocker spaniel", Some("dog"), &["cocker spaniel"]),
    ("boston terrier", Some("dog"), &["boston terrier"]),
    ("shiba inu", Some("dog"), &["shiba inu", "shiba"]),
    ("bernese mountain dog", Some("dog"), &["bernese mountain dog", "bernese"]),
    ("pug", Some("dog"), &["pug"]),
    ("havanese", Some("dog"), &["havanese"]),
    ("jack russell terrier", Some("dog"), &["jack russell terrier", "jack russell"]),
    ("american pit bull terrier", Some("dog"), &["american pit bull terrier", "pit bull", "pitbull"]),
    ("bichon frise", Some("dog"), &["bichon frise", "bichon"]),
    ("miniature schnauzer", Some("dog"), &["miniature schnauzer", "schnauzer"]),
    ("cane corso", Some("dog"), &["cane corso"]),
    ("great pyrenees", Some("dog"), &["great pyrenees"]),
    ("domestic shorthair", Some("cat"), &["domestic shorthair", "dsh"]),
    ("domestic longhair", Some("cat"), &["domestic longhair", "dlh"]),
    ("persian", Some("cat"), &["persian"]),
    ("siamese", Some("cat"), &["siamese"]),
    ("maine coon", Some("cat"), &["maine coon"]),
    ("ragdoll", Some("cat"), &["ragdoll"]),
    ("bengal", Some("cat"), &["bengal"]),
    ("sphynx", Some("cat"), &["sphynx", "sphinx"]),
    ("british shorthair", Some("cat"), &["british shorthair"]),
    ("scottish fold", Some("cat"), &["scottish fold"]),
    ("abyssinian", Some("cat"), &["abyssinian"]),
    ("russian blue", Some("cat"), &["russian blue"]),
    ("birman", Some("cat"), &["birman"]),
    ("norwegian forest cat", Some("cat"), &["norwegian forest cat", "norwegian forest"]),
    ("budgerigar", Some("bird"), &["budgerigar", "budgie", "parakeet"]),
    ("canary", Some("bird"), &["canary"]),
    ("cockatiel", Some("bird"), &["cockatiel"]),
    ("lovebird", Some("bird"), &["lovebird"]),
    ("african grey", Some("bird"), &["african grey"]),
    ("macaw", Some("bird"), &["macaw"]),
    ("cockatoo", Some("bird"), &["cockatoo"]),
    ("finch", Some("bird"), &["finch"]),
    ("conure", Some("bird"), &["conure"]),
    ("goldfish", Some("fish"), &["goldfish"]),
    ("betta", Some("fish"), &["betta", "siamese fighting fish"]),
    ("guppy", Some("fish"), &["guppy"]),
    ("clownfish", Some("fish"), &["clownfish", "clown fish"]),
    ("angelfish", Some("fish"), &["angelfish"]),
    ("koi", Some("fish"), &["koi"]),
    ("tetra", Some("fish"), &["tetra"]),
    ("molly", Some("fish"), &["molly"]),
    ("catfish", Some("fish"), &["catfish"]),
    ("holland lop", Some("rabbit"), &["holland lop"]),
    ("netherland dwarf", Some("rabbit"), &["netherland dwarf"]),
    ("lionhead", Some("rabbit"), &["lionhead"]),
    ("mini rex", Some("rabbit"), &["mini rex"]),
    ("flemish giant", Some("rabbit"), &["flemish giant"]),
    ("syrian hamster", Some("hamster"), &["syrian hamster"]),
    ("dwarf hamster", Some("hamster"), &["dwarf hamster"]),
    ("leopard gecko", Some("lizard"), &["leopard gecko"]),
    ("bearded dragon", Some("lizard"), &["bearded dragon"]),
    ("ball python", Some("snake"), &["ball python"]),
    ("corn snake", Some("snake"), &["corn snake"]),
    ("mixed", None, &["mixed", "mix", "mixed breed", "mutt"]),
];

pub(crate) const COLORS: &[(&str, &[&str])] = &[
    ("black", &["black"]),
    ("white", &["white"]),
    ("brown", &["brown", "chocolate", "liver"]),
    ("golden", &["golden", "gold"]),
    ("cream", &["cream", "beige"]),
    ("gray", &["gray", "grey", "silver"]),
    ("orange", &["orange", "ginger"]),
    ("red", &["red"]),
    ("yellow", &["yellow"]),
    ("tan", &["tan"]),
    ("fawn", &["fawn"]),
    ("brindle", &["brindle"]),
    ("merle", &["merle"]),
    ("tricolor", &["tricolor", "tri color"]),
    ("spotted", &["spotted"]),
    ("striped", &["striped"]),
    ("calico", &["calico"]),
    ("tortoiseshell", &["tortoiseshell", "tortie"]),
    ("blue", &["blue"]),
];

/// Keyword phrases and what they mean. Breeds, species and colours come from the tables above.
pub(crate) fn keywords() -> Vec<(&'static str, Meaning)> {
    use Cmp::*;
    use Meaning as M;
    let mut k: Vec<(&'static str, Meaning)> = vec![
        ("pet", M::PetWord),
        ("pets", M::PetWord),
        ("animal", M::PetWord),
        ("anything", M::PetWord),
        ("ones", M::PetWord),
        ("arrival", M::PetWord),
        ("arrivals", M::PetWord),
        ("one", M::Filler),
        // Age groups.
        ("baby", M::AgeGroup(None, Some(1.0), None)),
        ("puppy", M::AgeGroup(None, Some(1.0), Some("dog"))),
        ("puppies", M::AgeGroup(None, Some(1.0), Some("dog"))),
        ("pup", M::AgeGroup(None, Some(1.0), Some("dog"))),
        ("kitten", M::AgeGroup(None, Some(1.0), Some("cat"))),
        ("kitty", M::AgeGroup(None, Some(1.0), Some("cat"))),
        ("young", M::AgeGroup(None, Some(3.0), None)),
        ("junior", M::AgeGroup(None, Some(3.0), None)),
        ("adult", M::AgeGroup(Some(3.0), Some(8.0), None)),
        ("senior", M::AgeGroup(Some(8.0), None, None)),
        ("elderly", M::AgeGroup(Some(8.0), None, None)),
        ("older", M::AgeGroup(Some(8.0), None, None)),
        ("old", M::Old),
        // Sizes.
        ("small", M::Size(Size::Small)),
        ("tiny", M::Size(Size::Small)),
        ("little", M::Size(Size::Small)),
        ("mini", M::Size(Size::Small)),
        ("medium", M::Size(Size::Medium)),
        ("mid sized", M::Size(Size::Medium)),
        ("large", M::Size(Size::Large)),
        ("big", M::Size(Size::Large)),
        ("giant", M::Size(Size::Xlarge)),
        ("huge", M::Size(Size::Xlarge)),
        ("extra large", M::Size(Size::Xlarge)),
        ("xlarge", M::Size(Size::Xlarge)),
        // Sex.
        ("male", M::Sex("male")),
        ("boy", M::Sex("male")),
        ("female", M::Sex("female")),
        ("girl", M::Sex("female")),
        // Status.
        ("available", M::Status(Status::Available)),
        ("sold", M::Status(Status::Sold)),
        ("adopted", M::Status(Status::Adopted)),
        ("pending", M::Status(Status::Pending)),
        ("on hold", M::Status(Status::Pending)),
        ("reserved", M::Status(Status::Pending)),
        ("including sold", M::AnyStatus),
        ("including adopted", M::AnyStatus),
        ("any status", M::AnyStatus),
        ("all statuses", M::AnyStatus),
        ("all status", M::AnyStatus),
        // Sorting.
        ("cheapest", M::Sort(SortBy::PriceAsc, true)),
        ("cheap", M::Sort(SortBy::PriceAsc, false)),
        ("cheaper", M::Sort(SortBy::PriceAsc, false)),
        ("least expensive", M::Sort(SortBy::PriceAsc, true)),
        ("lowest price", M::Sort(SortBy::PriceAsc, true)),
        ("lowest priced", M::Sort(SortBy::PriceAsc, true)),
        ("most affordable", M::Sort(SortBy::PriceAsc, true)),
        ("affordable", M::Sort(SortBy::PriceAsc, false)),
        ("inexpensive", M::Sort(SortBy::PriceAsc, false)),
        ("low to high", M::LowToHigh),
        ("lowest to highest", M::LowToHigh),
        ("most expensive", M::Sort(SortBy::PriceDesc, true)),
        ("expensive", M::Sort(SortBy::PriceDesc, false)),
        ("priciest", M::Sort(SortBy::PriceDesc, true)),
        ("pricey", M::Sort(SortBy::PriceDesc, false)),
        ("costly", M::Sort(SortBy::PriceDesc, false)),
        ("costlier", M::Sort(SortBy::PriceDesc, false)),
        ("highest price", M::Sort(SortBy::PriceDesc, true)),
        ("highest priced", M::Sort(SortBy::PriceDesc, true)),
        ("high to low", M::HighToLow),
        ("highest to lowest", M::HighToLow),
        ("youngest", M::Sort(SortBy::AgeAsc, true)),
        ("youngest first", M::Sort(SortBy::AgeAsc, false)),
        ("oldest", M::Sort(SortBy::AgeDesc, true)),
        ("oldest first", M::Sort(SortBy::AgeDesc, false)),
        ("alphabetical", M::Sort(SortBy::Name, false)),
        ("alphabetically", M::Sort(SortBy::Name, false)),
        ("a to z", M::Sort(SortBy::Name, false)),
        ("newest", M::Sort(SortBy::Newest, true)),
        ("latest", M::Sort(SortBy::Newest, true)),
        ("newest first", M::Sort(SortBy::Newest, false)),
        ("recently added", M::Sort(SortBy::Newest, false)),
        ("new arrival", M::Sort(SortBy::Newest, false)),
        ("new arrivals", M::Sort(SortBy::Newest, false)),
        ("by price", M::ByPrice),
        // Comparisons.
        ("under", M::Cmp(Lt, Dim::Any)),
        ("below", M::Cmp(Lt, Dim::Any)),
        ("less than", M::Cmp(Lt, Dim::Any)),
        ("younger than", M::Cmp(Lt, Dim::Age)),
        ("cheaper than", M::Cmp(Lt, Dim::Price)),
        ("lower than", M::Cmp(Lt, Dim::Any)),
        ("<", M::Cmp(Lt, Dim::Any)),
        ("up to", M::Cmp(Lte, Dim::Any)),
        ("at most", M::Cmp(Lte, Dim::Any)),
        ("no more than", M::Cmp(Lte, Dim::Any)),
        ("not more than", M::Cmp(Lte, Dim::Any)),
        ("max", M::Cmp(Lte, Dim::Any)),
        ("maximum", M::Cmp(Lte, Dim::Any)),
        ("no older than", M::Cmp(Lte, Dim::Age)),
        ("not older than", M::Cmp(Lte, Dim::Age)),
        ("within", M::Cmp(Lte, Dim::Any)),
        ("budget", M::Cmp(Lte, Dim::Price)),
        ("budget of", M::Cmp(Lte, Dim::Price)),
        ("budget is", M::Cmp(Lte, Dim::Price)),
        ("<=", M::Cmp(Lte, Dim::Any)),
        ("over", M::Cmp(Gt, Dim::Any)),
        ("above", M::Cmp(Gt, Dim::Any)),
        ("more than", M::Cmp(Gt, Dim::Any)),
        ("older than", M::Cmp(Gt, Dim::Age)),
        ("more expensive than", M::Cmp(Gt, Dim::Price)),
        ("pricier than", M::Cmp(Gt, Dim::Price)),
        ("greater than", M::Cmp(Gt, Dim::Any)),
        (">", M::Cmp(Gt, Dim::Any)),
        ("at least", M::Cmp(Gte, Dim::Any)),
        ("min", M::Cmp(Gte, Dim::Any)),
        ("minimum", M::Cmp(Gte, Dim::Any)),
        ("starting at", M::Cmp(Gte, Dim::Any)),
        (">=", M::Cmp(Gte, Dim::Any)),
        ("or less", M::PostCmp(Lte, Dim::Any)),
        ("or under", M::PostCmp(Lte, Dim::Any)),
        ("and under", M::PostCmp(Lte, Dim::Any)),
        ("or younger", M::PostCmp(Lte, Dim::Age)),
        ("or more", M::PostCmp(Gte, Dim::Any)),
        ("and up", M::PostCmp(Gte, Dim::Any)),
        ("and above", M::PostCmp(Gte, Dim::Any)),
        ("or older", M::PostCmp(Gte, Dim::Age)),
        ("+", M::PostCmp(Gte, Dim::Any)),
        ("between", M::Between),
        ("to", M::To),
        ("from", M::From),
        ("about", M::AboutOrName),
        ("around", M::About),
        ("approximately", M::About),
        ("roughly", M::About),
        ("~", M::About),
        ("free", M::Free),
        ("and", M::And),
        ("or", M::Or),
        ("nor", M::Or),
        (",", M::Comma),
        // Negation.
        ("not", M::Not),
        ("no", M::Not),
        ("non", M::Not),
        ("never", M::Not),
        ("neither", M::Not),
        ("except", M::Not),
        ("excluding", M::Not),
        ("without", M::Not),
        ("other than", M::Not),
        ("anything but", M::Not),
        ("but not", M::Not),
        // Context.
        ("price", M::PriceWord),
        ("priced", M::PriceWord),
        ("cost", M::PriceWord),
        ("costing", M::PriceWord),
        ("spend", M::PriceWord),
        ("pay", M::PriceWord),
        ("age", M::AgeWord),
        ("aged", M::AgeWord),
        // Limits.
        ("top", M::Top),
        ("first", M::Top),
        ("list", M::ListVerb(false)),
        ("show", M::ListVerb(false)),
        ("show me", M::ListVerb(true)),
        ("give me", M::ListVerb(false)),
        ("find", M::ListVerb(true)),
        ("find me", M::ListVerb(true)),
        ("all", M::All),
        ("every", M::All),
        ("everything", M::All),
        // Names.
        ("named", M::NameTrigger),
        ("called", M::NameTrigger),
        ("meet", M::NameTrigger),
        ("tell me about", M::NameTrigger),
        // Ignored words that must be kept as typed.
        ("the", M::Filler),
        ("a", M::Filler),
        ("an", M::Filler),
        ("any", M::Filler),
        ("me", M::Filler),
        ("for sale", M::Filler),
        ("please", M::Filler),
        ("breed", M::Filler),
        ("statuses", M::Filler),
        ("is", M::Filler),
        ("this", M::Filler),
        ("less", M::Filler),
        ("yes", M::Filler),
    ];
    for (phrase, _) in SORTED_BY {
        k.push((phrase, M::SortedBy(sorted_by(phrase))));
    }
    k
}

const SORTED_BY: &[(&str, ())] = &[
    ("sorted by price", ()),
    ("ordered by price", ()),
    ("sort by price", ()),
    ("order by price", ()),
    ("sorted by age", ()),
    ("ordered by age", ()),
    ("sort by age", ()),
    ("order by age", ()),
    ("sorted by name", ()),
    ("ordered by name", ()),
    ("sort by name", ()),
    ("order by name", ()),
];

fn sorted_by(phrase: &str) -> SortBy {
    if phrase.ends_with("price") {
        SortBy::PriceAsc
    } else if phrase.ends_with("age") {
        SortBy::AgeAsc
    } else {
        SortBy::Name
    }
}

/// Units written after a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unit {
    Currency(&'static str),
    /// Years per unit, and whether the unit is whole years or months (for whole-period bounds).
    Age(f64, bool),
    /// Kilograms per unit.
    Weight(f64),
}

pub(crate) const UNITS: &[(&str, Unit)] = &[
    ("dollar", Unit::Currency("USD")),
    ("dollars", Unit::Currency("USD")),
    ("usd", Unit::Currency("USD")),
    ("buck", Unit::Currency("USD")),
    ("bucks", Unit::Currency("USD")),
    ("euro", Unit::Currency("EUR")),
    ("euros", Unit::Currency("EUR")),
    ("eur", Unit::Currency("EUR")),
    ("gbp", Unit::Currency("GBP")),
    ("quid", Unit::Currency("GBP")),
    ("y o", Unit::Age(1.0, true)),
    ("year", Unit::Age(1.0, true)),
    ("years", Unit::Age(1.0, true)),
    ("yr", Unit::Age(1.0, true)),
    ("yrs", Unit::Age(1.0, true)),
    ("y", Unit::Age(1.0, true)),
    ("yo", Unit::Age(1.0, true)),
    ("month", Unit::Age(1.0 / 12.0, true)),
    ("months", Unit::Age(1.0 / 12.0, true)),
    ("mo", Unit::Age(1.0 / 12.0, true)),
    ("mos", Unit::Age(1.0 / 12.0, true)),
    ("mth", Unit::Age(1.0 / 12.0, true)),
    ("mths", Unit::Age(1.0 / 12.0, true)),
    ("week", Unit::Age(7.0 / 365.25, false)),
    ("weeks", Unit::Age(7.0 / 365.25, false)),
    ("wk", Unit::Age(7.0 / 365.25, false)),
    ("wks", Unit::Age(7.0 / 365.25, false)),
    ("day", Unit::Age(1.0 / 365.25, false)),
    ("days", Unit::Age(1.0 / 365.25, false)),
    ("kg", Unit::Weight(1.0)),
    ("kgs", Unit::Weight(1.0)),
    ("kilo", Unit::Weight(1.0)),
    ("kilos", Unit::Weight(1.0)),
    ("kilogram", Unit::Weight(1.0)),
    ("kilograms", Unit::Weight(1.0)),
    ("lb", Unit::Weight(0.453_592_37)),
    ("lbs", Unit::Weight(0.453_592_37)),
    ("pound", Unit::Weight(0.453_592_37)),
    ("pounds", Unit::Weight(0.453_592_37)),
];

/// Number words and their values; `hundred` and `thousand` multiply.
pub(crate) const NUMBER_WORDS: &[(&str, u32)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

/// Ordinary English words that are never corrected into vocabulary: the words within typo
/// distance of a species, breed, colour, age-group or superlative word (while → white, house →
/// horse, range → orange, fellow → yellow, last → least, live → liver, ...) and the words most
/// often typed around them in a query.
pub(crate) const COMMON_WORDS: &str = "\
while house range fellow hello bellow mellow yellowish whale whine write quite white \
block slack blank clack back black blackish crown grown drown blown frown brow brows \
dream creak cheap cram being merge mere merry river lover diver giver lever live lived \
lives liven olden holden folded finger linger singer sliver solver \
hose worse horde morse norse hoarse moose louse mousy muse shake snack stake sake spake \
snare sneak rabbi wizard hurtle mitten bitten kitted witty ditty bitty poppy funny sunny \
runny jolly golly holly dolly folly polly terra beta better pinch inch fitch filch crowd \
last lease feast beast yeast leash east least boxes boxed poker dusky husk hussy main mine \
mane maize marine fries prise frisk rise torso grant giants riant mixer mined mired fixed \
clowns eagle noodle doodle bagel budge airman persia version define signor coldest boldest \
slowest lower later lately order bolder boarder broader locker rocker docker cooker cocked \
treat greet groat winner dixie bread bred stripped bridle potted spotter slotted florist \
trench germane herman dragoon leonard wagon colour color colon colder holder folder solder youngster youngsters \
about above after again against all almost also always among another answer anyone \
anything around ask asked away baby bad because been before behind being below best \
between big bit both bring but buy by call came can cannot care carry case certain change \
child children choose city clean close come could country cute day did different do does \
doing done down during each early easy either else end enough even ever every example \
family far feel few find fine first follow food for found friend friendly from full fun \
gave get give given go going good got great group grow had half hand happy hard has have \
having he head hear heard help her here high him his hold home hope how however idea if \
important in into is it its just keep kind knew know large later learn leave left less \
let life light like likely line little long look looking lot love made make many may \
maybe mean might more most mother move much must my name near need never new next nice \
night now number of off often old on once only open or other our out over own page part \
people perhaps place play point possible pretty problem put question quick quickly quiet \
rather real really right room run said same saw say school see seem seen set several \
shall she should show side since small so some someone something sometimes soon sound \
still such sure take tell than thank thanks that the their them then there these they \
thing think this those though thought three through time today together too took toward \
try turn under until upon us use used very want wanted was watch water way we week well \
went were what when where which who whole why will wish with within without word work \
world would year yet you young your yours young looking seeking search searching sale \
buying adopt adoption adopting hoping healthy trained playful gentle calm active lovely \
sweet quiet loving smart shelter store stores breeder breeders apartment garden yard \
please kids kid owner owners companion companions something cheapish which whose ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_list_holds_the_contract_examples() {
        for word in ["while", "house", "range", "fellow"] {
            assert!(COMMON_WORDS.split_whitespace().any(|w| w == word), "{word}");
        }
    }
}
