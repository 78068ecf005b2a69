//! What a request gets: `/metrics` (the series, [`super::series`]) or `/status` (JSON),
//! given the newest status.

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use vipd_api::Status;

use super::{series, Snapshot};

/// The response to one request.
pub fn answer(req: &Request<Incoming>, snapshot: &Snapshot) -> Response<Full<Bytes>> {
    // Take the snapshot out before rendering: `borrow` holds the channel's lock, which
    // the daemon's loop needs to publish the next one.
    let status: Option<Arc<Status>> = snapshot.borrow().clone();
    route(req.method(), req.uri().path(), status.as_deref())
}

/// What `method path` gets, given the newest status.
pub fn route(method: &Method, path: &str, status: Option<&Status>) -> Response<Full<Bytes>> {
    let page = match path {
        "/metrics" => Page::Metrics,
        "/status" => Page::Status,
        _ => {
            return text(
                StatusCode::NOT_FOUND,
                "not found: try /metrics or /status\n",
            )
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    let Some(status) = status else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "vipd has not published its status yet\n",
        );
    };
    match page {
        Page::Metrics => body(StatusCode::OK, series::CONTENT_TYPE, series::render(status)),
        Page::Status => match serde_json::to_string(status) {
            Ok(json) => body(StatusCode::OK, "application/json", json + "\n"),
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot encode the status: {e}\n"),
            ),
        },
    }
}

enum Page {
    Metrics,
    Status,
}

fn text(code: StatusCode, message: &str) -> Response<Full<Bytes>> {
    body(code, "text/plain; charset=utf-8", message.to_owned())
}

fn body(code: StatusCode, content_type: &str, text: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = code;
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use http_body_util::BodyExt;

    pub(in crate::metrics) fn status() -> Status {
        Status {
            v: 1,
            host: "h1".into(),
            pid: 7,
            uptime_s: 1.0,
            instances: Vec::new(),
            interfaces: Vec::new(),
            checks: Vec::new(),
            peers: Vec::new(),
            announced: Vec::new(),
        }
    }

    async fn text(r: Response<Full<Bytes>>) -> (StatusCode, String, String) {
        let code = r.status();
        let ct = r
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = r.into_body().collect().await.expect("body").to_bytes();
        (code, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn routes() {
        let s = status();
        let (code, ct, body) = text(route(&Method::GET, "/metrics", Some(&s))).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(ct, "text/plain; version=0.0.4; charset=utf-8");
        assert!(body.contains("vipd_build_info"), "{body}");
        let (code, ct, body) = text(route(&Method::GET, "/status", Some(&s))).await;
        assert_eq!((code, ct.as_str()), (StatusCode::OK, "application/json"));
        let back: Status = serde_json::from_str(&body).expect("the API's Status");
        assert_eq!(back, s);
        let (code, ..) = text(route(&Method::GET, "/", Some(&s))).await;
        assert_eq!(code, StatusCode::NOT_FOUND);
        let (code, ..) = text(route(&Method::POST, "/status", Some(&s))).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
        let (code, ..) = text(route(&Method::GET, "/metrics", None)).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    }
}
