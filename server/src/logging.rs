//! The log, on stderr: one line per request (method, path, status, latency) from tower-http's
//! `TraceLayer` ([`requests`]), and the server's own events (storage errors, sweeps) from
//! `tracing`. Plain lines by default (`GET /v1/oauth/token/ 200 0.412 ms`), JSON lines with
//! `--log-format json` ([`init`]). A request is logged by its method and path only: never its
//! query string, headers or body, where tokens, secrets and flow state travel.

use axum::body::Body;
use axum::http::{Request, Response};
use std::fmt;
use std::time::Duration;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::{Event, Level, Span, Subscriber};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, filter::Targets};

/// How log lines are written (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One plain line per event: `GET /path 200 0.412 ms`, or the event's message.
    #[default]
    Plain,
    /// One JSON object per line: timestamp, level, the event's fields and, for a request, its
    /// span (`method`, `path`).
    Json,
}

/// The target of the per-request events, which plain lines lead with their request's method
/// and path.
const REQUEST_TARGET: &str = "authenticator_server::request";

/// Installs the log on stderr, in `format`, for this crate's events at `INFO` and above (not
/// the libraries': sqlx's statements, hyper's connections). Does nothing when a log is already
/// installed (a test running several servers).
pub fn init(format: LogFormat) {
    let ours = Targets::new().with_target("authenticator_server", Level::INFO);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Plain => layer.event_format(Plain).fmt_fields(values()).with_filter(ours).boxed(),
        LogFormat::Json => layer
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .with_filter(ours)
            .boxed(),
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The request log's layer: [`requests`].
pub type RequestLog = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request<Body>) -> Span,
    (),
    fn(&Response<Body>, Duration, &Span),
    (),
    (),
    (),
>;

/// The layer logging every request once it is answered: a span per request holding its method
/// and path (without the query string), then one event with the status and the latency. No
/// event on the request's arrival, its body or a failure: one line per request.
pub fn requests() -> RequestLog {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<Body>) -> Span)
        .on_request(())
        .on_response(answered as fn(&Response<Body>, Duration, &Span))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// The span of one request: its method and path, never its query string or headers.
fn request_span(request: &Request<Body>) -> Span {
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
}

/// The request's line: its status and latency (in ms, to the microsecond).
fn answered(response: &Response<Body>, latency: Duration, _span: &Span) {
    let latency_ms = (latency.as_secs_f64() * 1e6).round() / 1e3;
    tracing::info!(target: REQUEST_TARGET, status = response.status().as_u16(), latency_ms);
}

/// Plain fields: each value alone, a `*_ms` one with its unit, separated by spaces.
fn values() -> impl for<'w> FormatFields<'w> + 'static {
    tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        if field.name().ends_with("_ms") {
            write!(writer, "{value:?} ms")
        } else {
            write!(writer, "{value:?}")
        }
    })
    .delimited(" ")
}

/// Plain lines: no timestamp, level or target (as the server logged before), a request's
/// method and path before its status.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if event.metadata().target() == REQUEST_TARGET
            && let Some(span) = ctx.event_scope().and_then(|mut scope| scope.next())
            && let Some(fields) = span.extensions().get::<FormattedFields<N>>()
        {
            write!(writer, "{fields} ")?;
        }
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
