//! A device's charts over the last 24 hours, as the device pages show them: an air monitor's
//! carbon monoxide, temperature and humidity, a collar's heart rate, activity and body
//! temperature. Each is drawn by `petty_app::charts` from the rollups (so a chart costs a few
//! dozen rows, not a day of readings) and embedded as an image, so that the charts' own ids
//! never meet the page's. A metric with nothing measured in the range is said in words: no
//! empty axis pretends to be a chart.

use base64::Engine as _;
use maud::{Markup, html};
use petty_app::charts::{self, ChartRequest};
use petty_core::chart::ChartKind;
use petty_core::readings::Metric;
use petty_http::AppState;
use petty_store::{Device, StoreError};

/// The span every device chart covers, the time up to now.
const LAST_DAY_MS: i64 = 86_400_000;

/// One chart to draw: the metric, as a line or bars, and what it is called in the sentence
/// that says it has no data ("No heart rate in the last 24 hours").
pub(crate) struct Plot {
    pub metric: Metric,
    pub kind: ChartKind,
    pub words: &'static str,
}

/// The section `section_id` of the device's charts, headed "The last 24 hours".
pub(crate) async fn last_day(
    state: &AppState,
    device: &Device,
    section_id: &str,
    plots: &[Plot],
) -> Result<Markup, StoreError> {
    let to = petty_store::to_ms(time::OffsetDateTime::now_utc());
    let from = to - LAST_DAY_MS;
    let mut drawn = Vec::with_capacity(plots.len());
    for plot in plots {
        let request = ChartRequest { metric: plot.metric, from_ms: from, to_ms: to, kind: plot.kind, title: None };
        let chart = charts::draw(&state.app, device, request).await?;
        let src = (chart.buckets > 0).then(|| {
            format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(chart.svg))
        });
        drawn.push((plot, src));
    }
    let heading = format!("{section_id}-title");
    Ok(html! {
        section.section.device-charts id=(section_id) aria-labelledby=(heading) {
            h2 id=(heading) { "The last 24 hours" }
            @for (plot, src) in &drawn {
                @match src {
                    Some(src) => {
                        figure.device-chart data-metric=(plot.metric.name()) {
                            img src=(src) alt={ (capitalised(plot.words)) " over the last 24 hours" } width="800" height="320";
                        }
                    }
                    None => {
                        p.chart-empty data-metric=(plot.metric.name()) {
                            "No " (plot.words) " in the last 24 hours: nothing to chart."
                        }
                    }
                }
            }
        }
    })
}

/// `heart rate` → `Heart rate`.
fn capitalised(words: &str) -> String {
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_starts_with_a_capital() {
        assert_eq!(capitalised("heart rate"), "Heart rate");
        assert_eq!(capitalised("éclair"), "Éclair");
        assert_eq!(capitalised(""), "");
    }
}
