//! TAXII 2.1 at `/taxii2/`: discovery, one API root (`/taxii2/api/`), its
//! collections, objects (GET and POST), manifests, versions and status
//! resources, in the media type `application/taxii+json;version=2.1` with
//! TAXII error objects. What a collection holds and who may read or add
//! is the app's ([`nigehban_app::taxii`], the one policy); this module
//! speaks HTTP.
//!
//! Authentication: an API token (`Authorization: Bearer ...`) or a platform
//! user's name and password (HTTP Basic, checked as a sign-in is). Without
//! credentials, only the public (TLP:CLEAR) collection answers, and only
//! when the server's `taxii_public` setting allows it.
//!
//! TAXII is not in the OpenAPI document (its media type and error objects
//! are TAXII's); the authorisation matrix covers its routes explicitly.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use nigehban_app::model::Timestamp;
use nigehban_app::taxii::{STIX_MEDIA_TYPE, TaxiiCollection, TaxiiFilter, TaxiiPage, VersionMatch};
use nigehban_app::{AppError, Caller};
use serde_json::{Value, json};

use crate::ServerState;
use crate::auth::remote_addr;

/// The TAXII 2.1 media type: what every TAXII answer is, and what requests must accept.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// The largest body of a POST of objects.
pub const MAX_TAXII_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Where the API root is.
const API_ROOT: &str = "/taxii2/api/";

/// Every TAXII route (method, path): the authorisation matrix has a column for each.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/taxii2/"),
    ("GET", "/taxii2/api/"),
    ("GET", "/taxii2/api/collections/"),
    ("GET", "/taxii2/api/collections/{collection}/"),
    ("GET", "/taxii2/api/collections/{collection}/objects/"),
    ("POST", "/taxii2/api/collections/{collection}/objects/"),
    (
        "GET",
        "/taxii2/api/collections/{collection}/objects/{object}/",
    ),
    (
        "GET",
        "/taxii2/api/collections/{collection}/objects/{object}/versions/",
    ),
    ("GET", "/taxii2/api/collections/{collection}/manifest/"),
    ("GET", "/taxii2/api/status/{status}/"),
];

/// The TAXII routes.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/api/", get(api_root))
        .route("/taxii2/api/collections/", get(collections))
        .route("/taxii2/api/collections/{collection}/", get(collection))
        .route(
            "/taxii2/api/collections/{collection}/objects/",
            get(objects).post(add_objects),
        )
        .route(
            "/taxii2/api/collections/{collection}/objects/{object}/",
            get(object),
        )
        .route(
            "/taxii2/api/collections/{collection}/objects/{object}/versions/",
            get(versions),
        )
        .route(
            "/taxii2/api/collections/{collection}/manifest/",
            get(manifest),
        )
        .route("/taxii2/api/status/{status}/", get(status))
        .layer(DefaultBodyLimit::max(MAX_TAXII_BODY_BYTES))
}

/// A TAXII error object as an answer.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            title,
            description: description.into(),
        }
    }

    fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }
}

impl From<AppError> for TaxiiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound { kind, id } => Self::new(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{kind} {id} not found"),
            ),
            AppError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "Forbidden", message),
            AppError::Unauthenticated(message) => {
                Self::new(StatusCode::UNAUTHORIZED, "Unauthorized", message)
            }
            AppError::Throttled { retry_after } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                format!("too many failed sign-ins; try again after {retry_after}"),
            ),
            AppError::Invalid(message) => Self::bad_request(message),
            AppError::Conflict(message) => Self::new(StatusCode::CONFLICT, "Conflict", message),
            AppError::Unavailable(error) => {
                tracing::warn!(%error, "TAXII request: storage unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service unavailable",
                    "storage cannot be reached now; try again later",
                )
            }
            other => {
                tracing::error!(error = %other, "TAXII request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the request failed on the server; the error is in its log",
                )
            }
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        let mut response = (self.status, taxii_headers(), body.to_string()).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Nigehban TAXII\", Bearer"),
            );
        }
        response
    }
}

fn taxii_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    )]
}

/// A TAXII answer with its media type and, when given, the date-added headers.
fn answer(body: &Value, page: Option<&TaxiiPage>) -> Response {
    let mut response = (StatusCode::OK, taxii_headers(), body.to_string()).into_response();
    if let Some(page) = page {
        for (name, at) in [
            ("x-taxii-date-added-first", page.date_added_first()),
            ("x-taxii-date-added-last", page.date_added_last()),
        ] {
            if let Some(value) = at.and_then(|at| HeaderValue::from_str(&at.to_rfc3339()).ok()) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

/// Whether an `Accept` header admits the TAXII 2.1 media type.
fn accepts_taxii(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return true;
    };
    let Ok(accept) = accept.to_str() else {
        return false;
    };
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<String> = parts
            .map(|p| p.replace(' ', "").to_ascii_lowercase())
            .collect();
        let version_ok = params
            .iter()
            .filter(|p| p.starts_with("version="))
            .all(|p| p == "version=2.1");
        match media.as_str() {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version_ok,
            _ => false,
        }
    })
}

/// Who calls: an authenticated caller, or nobody (public access).
pub struct TaxiiCaller {
    caller: Option<Caller>,
    public: bool,
}

impl FromRequestParts<ServerState> for TaxiiCaller {
    type Rejection = TaxiiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, TaxiiError> {
        if parts.method == Method::GET && !accepts_taxii(&parts.headers) {
            return Err(TaxiiError::new(
                StatusCode::NOT_ACCEPTABLE,
                "Not acceptable",
                format!(
                    "this server answers in {TAXII_MEDIA_TYPE}; the Accept header does not admit it"
                ),
            ));
        }
        let public = state.options.taxii_public;
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self {
                caller: None,
                public,
            });
        };
        let malformed = || {
            TaxiiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "the Authorization header must be `Bearer <API token>` or `Basic <base64 of user:password>`",
            )
        };
        let text = value.to_str().map_err(|_| malformed())?;
        let (scheme, credentials) = text.trim().split_once(' ').ok_or_else(malformed)?;
        let remote = remote_addr(parts);
        let caller = if scheme.eq_ignore_ascii_case("bearer") {
            state
                .app
                .tokens()
                .authenticate(credentials.trim(), remote)
                .await?
        } else if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(malformed)?;
            let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
            state
                .app
                .auth()
                .password_caller(username, password, remote)
                .await?
        } else {
            return Err(malformed());
        };
        Ok(Self {
            caller: Some(caller),
            public,
        })
    }
}

impl TaxiiCaller {
    fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// Discovery and the API root: for anyone authenticated, and for everyone when public access is on.
    fn check_may_discover(&self) -> Result<(), TaxiiError> {
        if self.caller.is_none() && !self.public {
            return Err(AppError::Unauthenticated(
                "authentication required: send an API token as `Authorization: Bearer <token>` or a platform user's name and password as HTTP Basic",
            )
            .into());
        }
        Ok(())
    }
}

/// `GET /taxii2/`: the discovery resource.
async fn discovery(who: TaxiiCaller) -> Result<Response, TaxiiError> {
    who.check_may_discover()?;
    Ok(answer(
        &json!({
            "title": "Nigehban TAXII 2.1",
            "description": "Threat intelligence shared on the national CERT platform, under TLP 2.0",
            "default": API_ROOT,
            "api_roots": [API_ROOT],
        }),
        None,
    ))
}

/// `GET /taxii2/api/`: the API root.
async fn api_root(who: TaxiiCaller) -> Result<Response, TaxiiError> {
    who.check_may_discover()?;
    Ok(answer(
        &json!({
            "title": "Nigehban",
            "description": "One collection per sharing scope: your tenant's own, and the shared collections per TLP label",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": MAX_TAXII_BODY_BYTES,
        }),
        None,
    ))
}

fn collection_json(collection: &TaxiiCollection) -> Value {
    let mut value = json!({
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "can_read": collection.can_read,
        "can_write": collection.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    });
    if let (Some(alias), Some(map)) = (&collection.alias, value.as_object_mut()) {
        map.insert("alias".into(), alias.clone().into());
    }
    value
}

/// `GET .../collections/`.
async fn collections(
    State(state): State<ServerState>,
    who: TaxiiCaller,
) -> Result<Response, TaxiiError> {
    let list = state
        .app
        .taxii()
        .collections(who.caller(), who.public)
        .await?;
    let list: Vec<Value> = list.iter().map(collection_json).collect();
    let body = if list.is_empty() {
        json!({})
    } else {
        json!({ "collections": list })
    };
    Ok(answer(&body, None))
}

/// `GET .../collections/{id}/`.
async fn collection(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let collection = state
        .app
        .taxii()
        .collection(who.caller(), &id, who.public)
        .await?;
    Ok(answer(&collection_json(&collection), None))
}

/// The filters of a listing, read from the query string; unknown parameters are refused by name.
fn filter_of(query: Option<&str>) -> Result<TaxiiFilter, TaxiiError> {
    let mut filter = TaxiiFilter::default();
    let list = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "added_after" => {
                filter.added_after =
                    Some(Timestamp::parse_rfc3339(value.trim()).map_err(|_| {
                        TaxiiError::bad_request(format!(
                            "added_after: {value:?} is not an RFC 3339 timestamp"
                        ))
                    })?);
            }
            "limit" => {
                let limit: usize = value.trim().parse().map_err(|_| {
                    TaxiiError::bad_request(format!("limit: {value:?} is not a positive number"))
                })?;
                if limit == 0 {
                    return Err(TaxiiError::bad_request("limit: must be at least 1"));
                }
                filter.limit = Some(limit);
            }
            "next" => filter.next = Some(value.into_owned()),
            "match[id]" => filter.ids.extend(list(&value)),
            "match[type]" => filter.types.extend(list(&value)),
            "match[spec_version]" => filter.spec_versions.extend(list(&value)),
            "match[version]" => {
                for one in list(&value) {
                    filter.versions.push(VersionMatch::parse(&one)?);
                }
            }
            other => {
                return Err(TaxiiError::bad_request(format!(
                    "unknown query parameter {other:?}: this server knows added_after, limit, next, match[id], match[type], match[version] and match[spec_version]"
                )));
            }
        }
    }
    Ok(filter)
}

fn objects_json(page: &TaxiiPage) -> Result<Vec<Value>, TaxiiError> {
    page.objects
        .iter()
        .map(|object| {
            serde_json::from_str(&object.body).map_err(|e| {
                TaxiiError::from(AppError::Internal(format!(
                    "stored STIX object {} is not JSON: {e}",
                    object.id
                )))
            })
        })
        .collect()
}

/// An envelope (or versions / manifest list) with `more` and `next`.
fn paged(key: &str, items: Vec<Value>, page: &TaxiiPage) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("more".into(), page.more.into());
    if let Some(next) = &page.next {
        body.insert("next".into(), next.clone().into());
    }
    if !items.is_empty() {
        body.insert(key.into(), items.into());
    }
    Value::Object(body)
}

/// `GET .../objects/`.
async fn objects(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path(collection): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, TaxiiError> {
    let filter = filter_of(query.as_deref())?;
    let page = state
        .app
        .taxii()
        .objects(who.caller(), &collection, &filter, who.public)
        .await?;
    let items = objects_json(&page)?;
    Ok(answer(&paged("objects", items, &page), Some(&page)))
}

/// `GET .../objects/{id}/`.
async fn object(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path((collection, object)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, TaxiiError> {
    let filter = filter_of(query.as_deref())?;
    let page = state
        .app
        .taxii()
        .object(who.caller(), &collection, &object, &filter, who.public)
        .await?;
    let items = objects_json(&page)?;
    Ok(answer(&paged("objects", items, &page), Some(&page)))
}

/// `GET .../objects/{id}/versions/`.
async fn versions(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path((collection, object)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, TaxiiError> {
    let filter = filter_of(query.as_deref())?;
    let page = state
        .app
        .taxii()
        .object_versions(who.caller(), &collection, &object, &filter, who.public)
        .await?;
    let items = page
        .objects
        .iter()
        .map(|o| Value::from(o.version.clone()))
        .collect();
    Ok(answer(&paged("versions", items, &page), Some(&page)))
}

/// `GET .../manifest/`.
async fn manifest(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path(collection): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, TaxiiError> {
    let filter = filter_of(query.as_deref())?;
    let page = state
        .app
        .taxii()
        .objects(who.caller(), &collection, &filter, who.public)
        .await?;
    let items = page
        .objects
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "date_added": o.date_added.to_rfc3339(),
                "version": o.version,
                "media_type": STIX_MEDIA_TYPE,
            })
        })
        .collect();
    Ok(answer(&paged("objects", items, &page), Some(&page)))
}

/// Whether a request's `Content-Type` is a TAXII envelope.
fn is_taxii_content(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mut parts = v.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            media == "application/taxii+json"
                && parts
                    .map(|p| p.replace(' ', "").to_ascii_lowercase())
                    .filter(|p| p.starts_with("version="))
                    .all(|p| p == "version=2.1")
        })
}

/// `POST .../objects/`: imports an envelope's objects; answers the status resource (202).
async fn add_objects(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path(collection): Path<String>,
    request: Request,
) -> Result<Response, TaxiiError> {
    let Some(caller) = who.caller() else {
        return Err(AppError::Unauthenticated(
            "authentication required to add objects: send an API token or HTTP Basic credentials",
        )
        .into());
    };
    let caller = caller.clone();
    if !accepts_taxii(request.headers()) {
        return Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!(
                "this server answers in {TAXII_MEDIA_TYPE}; the Accept header does not admit it"
            ),
        ));
    }
    if !is_taxii_content(request.headers()) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("objects are posted as a TAXII envelope with Content-Type: {TAXII_MEDIA_TYPE}"),
        ));
    }
    let body = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                TaxiiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request too large",
                    format!("a POST of objects holds at most {MAX_TAXII_BODY_BYTES} bytes"),
                )
            } else {
                TaxiiError::bad_request("the request body could not be read")
            }
        })?;
    let status = state
        .app
        .taxii()
        .add_objects(&caller, &collection, &body)
        .await?;
    let mut response = answer(&status.to_json(), None);
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// `GET /taxii2/api/status/{id}/`.
async fn status(
    State(state): State<ServerState>,
    who: TaxiiCaller,
    Path(id): Path<String>,
) -> Result<Response, TaxiiError> {
    let Some(caller) = who.caller() else {
        return Err(AppError::Unauthenticated(
            "authentication required: send an API token or HTTP Basic credentials",
        )
        .into());
    };
    let status = state.app.taxii().status(caller, &id).await?;
    Ok(answer(&status.to_json(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_admits_taxii_and_wildcards_only() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
            accepts_taxii(&headers)
        };
        assert!(accepts_taxii(&HeaderMap::new()));
        assert!(with("application/taxii+json;version=2.1"));
        assert!(with("application/taxii+json"));
        assert!(with("text/html, */*"));
        assert!(!with("application/taxii+json;version=2.0"));
        assert!(!with("application/json"));
    }

    #[test]
    fn unknown_query_parameters_are_named() {
        let error = filter_of(Some("match%5Bcolour%5D=red")).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.description.contains("match[colour]"), "{error:?}");
        let filter = filter_of(Some("match[type]=indicator,malware&limit=2")).unwrap();
        assert_eq!(filter.types, vec!["indicator", "malware"]);
        assert_eq!(filter.limit, Some(2));
    }
}
