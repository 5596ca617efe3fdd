//! Helpers shared by both backends: column encodings and audit drafts.

use std::str::FromStr;

use nigehban_model::{
    AuditAction, AuditDraft, AuditEntryId, InstanceId, JsonText, Role, Sector, TenantId, TenantKind,
};
use serde::Serialize;

use crate::{AuditContext, StoreError, StoreResult};

/// A tenant kind as columns: `kind`, `sector`, `critical_infrastructure`.
pub(crate) fn kind_columns(kind: &TenantKind) -> (&'static str, Option<&'static str>, bool) {
    match kind {
        TenantKind::National => ("national", None, false),
        TenantKind::Sectoral { sector } => ("sectoral", Some(sector.as_str()), false),
        TenantKind::Organisation {
            critical_infrastructure,
        } => ("organisation", None, *critical_infrastructure),
    }
}

/// A tenant kind read back from its columns.
pub(crate) fn kind_from_columns(
    kind: &str,
    sector: Option<&str>,
    critical_infrastructure: bool,
) -> StoreResult<TenantKind> {
    match kind {
        "national" => Ok(TenantKind::National),
        "sectoral" => {
            let sector = sector.ok_or_else(|| {
                StoreError::corrupt("tenant kind", "sectoral tenant without a sector")
            })?;
            Ok(TenantKind::Sectoral {
                sector: Sector::from_str(sector).map_err(|e| StoreError::corrupt("sector", e))?,
            })
        }
        "organisation" => Ok(TenantKind::Organisation {
            critical_infrastructure,
        }),
        other => Err(StoreError::corrupt("tenant kind", other)),
    }
}

/// A role read back from its column.
pub(crate) fn parse_role(text: &str) -> StoreResult<Role> {
    Role::from_str(text).map_err(|e| StoreError::corrupt("role", e))
}

/// A value parsed from a text column, or a [`StoreError::Corrupt`].
pub(crate) fn parse_text<T: FromStr>(what: &'static str, text: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    T::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// An integer column as `u32`, or a [`StoreError::Corrupt`].
pub(crate) fn to_u32(what: &'static str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::corrupt(what, value))
}

/// An audit `seq` column as `u64`, or a [`StoreError::Corrupt`].
pub(crate) fn to_seq(value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::corrupt("audit seq", value))
}

/// A `u64` as a database integer.
pub(crate) fn to_i64(value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::corrupt("integer", value))
}

/// The audit draft for a change of one record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn change_draft<T: Serialize>(
    instance: InstanceId,
    ctx: &AuditContext,
    tenant: TenantId,
    action: AuditAction,
    record_kind: &str,
    record_id: String,
    before: Option<&T>,
    after: Option<&T>,
) -> StoreResult<AuditDraft> {
    let json = |value: Option<&T>| -> StoreResult<Option<JsonText>> {
        value
            .map(|v| JsonText::of(v).map_err(|e| StoreError::corrupt("audit record", e)))
            .transpose()
    };
    Ok(AuditDraft {
        id: AuditEntryId::new(),
        instance,
        tenant,
        at: ctx.at,
        actor: ctx.actor,
        action,
        record_kind: record_kind.to_owned(),
        record_id,
        before: json(before)?,
        after: json(after)?,
        remote_addr: ctx.remote_addr.clone(),
    })
}
