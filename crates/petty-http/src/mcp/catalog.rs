//! The catalog's tools: search by filters and words, ask in a sentence, read one listing, add
//! one. Each calls the REST handler of the same thing (see `mcp.rs`).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, schemars, tool, tool_router};
use serde::Deserialize;

use super::{PettyMcp, body_of, uuid_arg};
use crate::api::catalog;
use crate::extract::{ApiJson, ApiPath, ApiQuery};

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchCatalogArgs {
    /// Words that must each start a word of the name, breed or description.
    pub q: Option<String>,
    /// A species, or several separated by commas (dog, cat, bird, fish, rabbit, ...).
    pub species: Option<String>,
    /// A breed, or several separated by commas ("labrador" finds Labrador mixes too).
    pub breed: Option<String>,
    /// Colours the listing must all hold, comma-separated.
    pub color: Option<String>,
    /// Colours it must hold none of, comma-separated.
    pub exclude_color: Option<String>,
    /// male or female.
    pub sex: Option<String>,
    /// small, medium, large or xlarge (comma-separated for several).
    pub size: Option<String>,
    /// available (default), pending, sold, adopted or any.
    pub status: Option<String>,
    /// Youngest age in years.
    pub min_age: Option<f64>,
    /// Oldest age in years.
    pub max_age: Option<f64>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    pub good_with_children: Option<bool>,
    pub good_with_dogs: Option<bool>,
    pub good_with_cats: Option<bool>,
    pub house_trained: Option<bool>,
    /// price_asc, price_desc, age_asc, age_desc, name or newest.
    pub sort: Option<String>,
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Listings per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct AskCatalogArgs {
    /// What the person is looking for, in their words, up to 500 characters ("3 cheapest cats
    /// that are not black").
    pub query: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct ListingArgs {
    /// The listing's id (a UUID, from search_catalog or ask_catalog).
    pub listing_id: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
pub(crate) struct AddListingArgs {
    /// 1–100 characters.
    pub name: String,
    /// dog, cat, bird, fish, rabbit, hamster, guinea pig, turtle, lizard, frog, snake, ferret,
    /// horse, mouse, rat, chinchilla or other.
    pub species: String,
    /// As you would say it ("Labrador mix"); default Mixed.
    pub breed: Option<String>,
    /// 0–600.
    pub age_months: Option<i64>,
    /// 0–1,000,000 with at most two decimals.
    pub price: Option<f64>,
    /// A three-letter ISO code (default USD).
    pub currency: Option<String>,
    pub color: Option<String>,
    /// male or female.
    pub sex: Option<String>,
    /// small, medium, large or xlarge.
    pub size: Option<String>,
    /// available (default), pending, sold or adopted.
    pub status: Option<String>,
    pub location: Option<String>,
    /// Up to 5,000 characters.
    pub description: Option<String>,
}

#[tool_router(router = catalog_tools, vis = "pub(super)")]
impl PettyMcp {
    #[tool(
        description = "Search the household's pet catalog by filters and words; available pets unless status says otherwise.",
        annotations(read_only_hint = true)
    )]
    async fn search_catalog(
        &self,
        Parameters(a): Parameters<SearchCatalogArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let query = catalog::CatalogQuery {
                page: a.page,
                page_size: a.page_size,
                q: a.q,
                species: a.species,
                breed: a.breed,
                color: a.color,
                exclude_color: a.exclude_color,
                sex: a.sex,
                size: a.size,
                status: a.status,
                min_age: a.min_age,
                max_age: a.max_age,
                min_price: a.min_price,
                max_price: a.max_price,
                good_with_children: a.good_with_children,
                good_with_dogs: a.good_with_dogs,
                good_with_cats: a.good_with_cats,
                house_trained: a.house_trained,
                special_needs: None,
                sort: a.sort,
            };
            body_of(catalog::list_listings(self.state(), caller.current(), ApiQuery(query)).await).await
        })
        .await
    }

    #[tool(
        description = "Ask the household's pet catalog in plain words (\"golden retrievers under $500\"): the pets found and the filters the sentence was understood as.",
        annotations(read_only_hint = true)
    )]
    async fn ask_catalog(
        &self,
        Parameters(args): Parameters<AskCatalogArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let body = catalog::QueryIn { query: args.query };
            body_of(catalog::query_catalog(self.state(), caller.current(), ApiJson(body)).await).await
        })
        .await
    }

    #[tool(description = "One listing of the household's catalog.", annotations(read_only_hint = true))]
    async fn get_listing(
        &self,
        Parameters(args): Parameters<ListingArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let id = uuid_arg("listing_id", &args.listing_id)?;
            body_of(catalog::get_listing(self.state(), caller.current(), ApiPath(id)).await).await
        })
        .await
    }

    #[tool(description = "Add a pet to the household's catalog (needs a key of write scope).")]
    async fn add_listing(
        &self,
        Parameters(a): Parameters<AddListingArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        self.run(&context, |caller| async move {
            let body = catalog::ListingIn {
                name: a.name,
                species: a.species,
                breed: a.breed,
                age_months: a.age_months,
                size: a.size,
                sex: a.sex,
                color: a.color,
                coat: None,
                good_with_children: None,
                good_with_dogs: None,
                good_with_cats: None,
                house_trained: None,
                special_needs: None,
                weight_kg: None,
                price: a.price,
                currency: a.currency,
                status: a.status,
                location: a.location,
                photo_url: None,
                photos: None,
                description: a.description,
            };
            body_of(catalog::create_listing(self.state(), caller.current(), ApiJson(body)).await).await
        })
        .await
    }
}
