//! Answers to requests that hyper cannot read, in the API's JSON error shape.
//!
//! hyper answers a request it cannot parse itself, before any route or layer sees
//! it: `400` (not HTTP), `414` (a URI over 64 KiB) or `431` (a request line and
//! headers over [`super::MAX_REQUEST_HEAD_BYTES`], or more than 100 headers), each
//! with an empty body, and then
//! closes the connection. [`ShapedAnswers`] sits between hyper and the socket and
//! replaces exactly those answers with the same status as JSON
//! (`{"error":{"code":..,"message":..}}`) and `Connection: close`.
//!
//! It recognises them by their form, which no answer of the API has: written
//! while no answer of a route is being sent, a whole write that is nothing but a
//! `400`, `414` or `431` head with no headers other than `content-length: 0`,
//! `date` and `connection: close`. (Every error a route or layer answers is JSON
//! with a `content-type`, see [`crate::layers::json_errors`].)

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ConnectionStats;
use crate::error::ApiError;

/// A connection's socket that gives hyper's own error answers the API's shape.
#[derive(Debug)]
pub(super) struct ShapedAnswers<S> {
    inner: S,
    /// Answers of routes not yet written whole; hyper answers by itself only when none is.
    in_flight: Arc<AtomicUsize>,
    stats: Arc<ConnectionStats>,
    /// A replacement answer still to write, and how much of it is written.
    pending: Vec<u8>,
    written: usize,
}

impl<S> ShapedAnswers<S> {
    pub(super) fn new(inner: S, in_flight: Arc<AtomicUsize>, stats: Arc<ConnectionStats>) -> Self {
        Self {
            inner,
            in_flight,
            stats,
            pending: Vec::new(),
            written: 0,
        }
    }
}

impl<S: AsyncWrite + Unpin> ShapedAnswers<S> {
    /// Writes what is left of a replacement answer; ready once it is all written.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.written < self.pending.len() {
            let rest = self.pending.get(self.written..).unwrap_or_default();
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ShapedAnswers<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ShapedAnswers<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_pending(cx))?;
        if this.in_flight.load(Ordering::Acquire) == 0
            && let Some(status) = hyper_error_answer(buf)
        {
            let index = match status {
                StatusCode::BAD_REQUEST => 0,
                StatusCode::URI_TOO_LONG => 1,
                _ => 2,
            };
            if let Some(counter) = this.stats.unreadable.get(index) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            this.pending = closing_answer(&unreadable_error(status), None);
            this.written = 0;
            // hyper's bytes count as written: ours go out in their place.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The status of `written` when it is one of hyper's own error answers, whole.
fn hyper_error_answer(written: &[u8]) -> Option<StatusCode> {
    let text = std::str::from_utf8(written).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = match lines.next()? {
        "HTTP/1.1 400 Bad Request" | "HTTP/1.0 400 Bad Request" => StatusCode::BAD_REQUEST,
        "HTTP/1.1 414 URI Too Long" | "HTTP/1.0 414 URI Too Long" => StatusCode::URI_TOO_LONG,
        "HTTP/1.1 431 Request Header Fields Too Large"
        | "HTTP/1.0 431 Request Header Fields Too Large" => {
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        }
        _ => return None,
    };
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        let expected = match name.to_ascii_lowercase().as_str() {
            "content-length" => value == "0",
            "connection" => value.eq_ignore_ascii_case("close"),
            "date" => !value.is_empty(),
            _ => false,
        };
        if !expected {
            return None;
        }
    }
    Some(status)
}

/// The API error for a request hyper could not read.
fn unreadable_error(status: StatusCode) -> ApiError {
    match status {
        StatusCode::URI_TOO_LONG => ApiError::new(
            status,
            "uri_too_long",
            "the request's URI is longer than the server reads (64 KiB): send long queries in fewer or shorter parameters",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            "headers_too_large",
            "the request's line and headers are larger than the server reads (128 KiB in all, at most 100 headers)",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request is not readable HTTP/1.1",
        ),
    }
}

/// A whole HTTP/1.1 answer carrying `error` as JSON, after which the connection closes.
pub(super) fn closing_answer(error: &ApiError, retry_after_seconds: Option<u64>) -> Vec<u8> {
    let body = error.body_json();
    let status = error.status();
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    if let Some(seconds) = retry_after_seconds {
        answer.push_str(&format!("retry-after: {seconds}\r\n"));
    }
    answer.push_str("\r\n");
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_error_answers_are_recognised() {
        assert_eq!(
            hyper_error_answer(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n"
            ),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        assert_eq!(
            hyper_error_answer(b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\n\r\n"),
            Some(StatusCode::URI_TOO_LONG)
        );
        assert_eq!(
            hyper_error_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
            Some(StatusCode::BAD_REQUEST)
        );
        for not_hypers in [
            // The API's own answers: JSON, with a content type.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
            // Anything followed by more bytes, or not a whole head.
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert_eq!(
                hyper_error_answer(not_hypers),
                None,
                "{}",
                String::from_utf8_lossy(not_hypers)
            );
        }
    }

    #[test]
    fn a_closing_answer_is_whole_json() {
        let answer = closing_answer(&unreadable_error(StatusCode::URI_TOO_LONG), Some(3));
        let text = String::from_utf8(answer).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(head.contains("retry-after: 3"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "uri_too_long");
    }
}
