//! `petty query "<text>"`: asks a household's catalog in plain words from the command line, as
//! `POST /api/v1/catalog/query` does, and prints how the sentence was understood (in words and
//! as the filters object) and the listings it found.

use anyhow::{Context, bail};
use clap::Args;
use petty_app::catalog::{self as uses, Source};
use petty_core::ids::HouseholdId;
use uuid::Uuid;

use crate::cli::CommonArgs;
use crate::config::Loaded;
use crate::server;

#[derive(Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// What you are looking for, e.g. "golden retrievers under $500".
    #[arg(value_name = "TEXT")]
    text: String,
    /// The household whose catalog to ask [default: the only one with a catalog].
    #[arg(long, value_name = "UUID")]
    household: Option<Uuid>,
    /// Print one JSON object (the filters, who understood them, and the listings) instead of text.
    #[arg(long)]
    json: bool,
}

/// `petty query`.
pub(crate) async fn run(loaded: Loaded, args: QueryArgs) -> anyhow::Result<()> {
    if args.text.chars().count() > 500 {
        bail!("the question may be at most 500 characters");
    }
    let store = server::open_store(&loaded).await?;
    let settings = petty_app::Settings { llm: loaded.config.llm_settings().map(|l| l.api), ..Default::default() };
    let app = petty_app::App::new(store.clone(), petty_bus::Bus::local(), settings, b"");
    let result = answer(&app, &args).await;
    store.close().await;
    result
}

async fn answer(app: &petty_app::App, args: &QueryArgs) -> anyhow::Result<()> {
    let household = match args.household {
        Some(id) => HouseholdId(id),
        None => {
            let all = app.store.catalog_households().await.context("could not read the catalogs")?;
            match all.as_slice() {
                [one] => *one,
                [] => {
                    bail!("no household has a catalog yet: add a listing on the Catalog page or POST /api/v1/catalog")
                }
                many => bail!(
                    "{} households have a catalog; name one with --household ({})",
                    many.len(),
                    many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            }
        }
    };
    let answer = uses::query(app, household, &args.text).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let filters = &answer.understood.filters;
    if args.json {
        let items: Vec<serde_json::Value> = answer
            .results
            .items()
            .map(|l| {
                serde_json::json!({"number": l.number, "id": l.id.to_string(), "name": l.content.name,
                    "species": l.content.species, "breed": l.content.breed, "age_months": l.content.age_months,
                    "price": l.content.price(), "currency": l.content.currency, "status": l.content.status.as_str()})
            })
            .collect();
        let out = serde_json::json!({
            "filters": uses::filters_json(filters),
            "description": filters.to_string(),
            "source": answer.understood.source.as_str(),
            "fallback": answer.understood.source == Source::Fallback,
            "total": answer.results.total,
            "items": items,
        });
        println!("{out}");
        return Ok(());
    }
    let who = match answer.understood.source {
        Source::Llm => "the language model",
        Source::Parser => "Petty's parser",
        Source::Fallback => "Petty's parser (the language model did not answer)",
    };
    println!("Understood by {who} as: {filters}");
    println!("Filters: {}", uses::filters_json(filters));
    let shown = answer.results.items().count();
    println!(
        "{} found{}",
        answer.results.total,
        if shown < answer.results.total { format!(", showing {shown}") } else { String::new() }
    );
    for l in answer.results.items() {
        let c = &l.content;
        let age = c.age_months.map_or_else(|| "age unknown".to_owned(), |m| format!("{m} months"));
        let price = c.price().map_or_else(|| "price on request".to_owned(), |p| format!("{p:.2} {}", c.currency));
        println!(
            "  #{:<5} {:<20} {} · {} · {} · {} · {}",
            l.number,
            c.name,
            c.species,
            c.breed,
            age,
            price,
            c.status.as_str()
        );
    }
    Ok(())
}
