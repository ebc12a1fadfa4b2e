//! The cold-start baseline: the smallest `lambda_http` function, answering every request with
//! 200 `{"ok":true}`. `scripts/coldstart` runs it beside the real functions, built with the same
//! profile in the same run, so their init and response times read as ratios to this one.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"ok":true}"#))
            .map_err(Error::from)
    }))
    .await
}
