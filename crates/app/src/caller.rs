//! Who is calling: the identity every service call takes.

use std::net::IpAddr;

use nigehban_model::{Actor, ActorKind, Role, SessionId, TenantId, TokenId, UserId};
use nigehban_store::AuditContext;

/// How the caller was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// A browser session.
    Session(SessionId),
    /// An API token.
    Token(TokenId),
    /// A user name and password sent with the request itself (TAXII's HTTP Basic).
    Password(UserId),
    /// The operator at the server's command line (`nigehban admin ...`), acting
    /// as administrator of the root tenant.
    Operator,
}

/// The authenticated identity a service call is made for.
///
/// Only this crate makes callers — from a session cookie
/// ([`crate::Authentication::session`]), a bearer token
/// ([`crate::ApiTokens::authenticate`]) or for the command-line operator
/// ([`crate::App::operator`]) — so no endpoint can invent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    user_id: Option<UserId>,
    tenant_id: TenantId,
    role: Role,
    via: Via,
    remote_addr: Option<IpAddr>,
    must_change_password: bool,
}

impl Caller {
    pub(crate) fn new(
        user_id: Option<UserId>,
        tenant_id: TenantId,
        role: Role,
        via: Via,
        remote_addr: Option<IpAddr>,
    ) -> Self {
        Self {
            user_id,
            tenant_id,
            role,
            via,
            remote_addr,
            must_change_password: false,
        }
    }

    /// The same caller, flagged as having to choose a new password first.
    pub(crate) fn needing_new_password(mut self, must_change_password: bool) -> Self {
        self.must_change_password = must_change_password;
        self
    }

    /// Whether the user signed in with a one-time or reset password and must
    /// choose a new one: until then every service call except
    /// `users().me`, `users().change_own_password` and `auth().logout` is
    /// [`crate::AppError::Forbidden`].
    pub fn must_change_password(&self) -> bool {
        self.must_change_password
    }

    /// The user acting (for a token, its owner); `None` for the operator or an operator-made token.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_id
    }

    /// The tenant the caller acts in.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// The role the caller acts in.
    pub fn role(&self) -> Role {
        self.role
    }

    /// How the caller was authenticated.
    pub fn via(&self) -> Via {
        self.via
    }

    /// The network address the request came from.
    pub fn remote_addr(&self) -> Option<IpAddr> {
        self.remote_addr
    }

    /// The same caller, seen from another address (e.g. behind a trusted proxy).
    pub fn with_remote_addr(mut self, remote_addr: Option<IpAddr>) -> Self {
        self.remote_addr = remote_addr;
        self
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        let (kind, token) = match self.via {
            Via::Session(_) | Via::Password(_) => (ActorKind::User, None),
            Via::Token(token) => (ActorKind::Token, Some(token)),
            Via::Operator => (ActorKind::Operator, None),
        };
        Actor {
            kind,
            user: self.user_id,
            token,
            tenant: Some(self.tenant_id),
        }
    }

    pub(crate) fn audit_context(&self) -> AuditContext {
        AuditContext::now(self.actor(), self.remote_addr.map(|ip| ip.to_string()))
    }
}
