//! OpenAPI schemas for the domain's words (roles, sectors, tenant kinds),
//! generated from the model's own lists so the document cannot drift from the code.

use std::borrow::Cow;

use nigehban_app::model::{Role, Sector};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

fn word_enum(description: &str, words: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .enum_values(Some(words))
        .into()
}

/// The OpenAPI schema of [`Role`]: one of the role words.
pub struct RoleSchema;

impl PartialSchema for RoleSchema {
    fn schema() -> RefOr<Schema> {
        word_enum(
            "The role a user or API token acts in within its tenant",
            Role::ALL.iter().map(|role| role.as_str()),
        )
    }
}

impl ToSchema for RoleSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

/// The OpenAPI schema of [`Sector`]: one of the sector words.
pub struct SectorSchema;

impl PartialSchema for SectorSchema {
    fn schema() -> RefOr<Schema> {
        word_enum(
            "The sector a sectoral CERT serves (`provincial` for a provincial CERT)",
            Sector::ALL.iter().map(|sector| sector.as_str()),
        )
    }
}

impl ToSchema for SectorSchema {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Sector")
    }
}
