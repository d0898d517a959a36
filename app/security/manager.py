"""Our FAB security manager: JSON errors for JWT and the login API, no user enumeration."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, g, has_request_context, request
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.utils.limit import Limit
from flask_jwt_extended import JWTManager
from flask_limiter.util import get_remote_address

from app.core.api_errors import ApiErrorsMixin, error_response
from app.security.audit_hooks import AuditedLoginMixin


def _auth_rate_limit() -> str:
    return current_app.config.get("AUTH_RATE_LIMIT", "10 per 20 second")


def _auth_not_limited() -> bool:
    return not current_app.config.get("AUTH_RATE_LIMITED", False)


def _rate_limit_key() -> str:
    return current_app.config.get("RATELIMIT_KEY_FUNC", get_remote_address)()


def _login_failed(response) -> bool:
    """Only failed sign-ins count towards AUTH_RATE_LIMIT: colleagues signing in one after another
    from one address (a shared lab PC, a hospital NAT) are not locked out; a password guesser is.
    Once the limit is reached every attempt is refused, a right password too."""
    if response.status_code == 200:
        return not request.path.startswith("/api/")  # the login page shown again: the form failed
    if response.status_code == 302:
        return urlparse(response.headers.get("Location", "")).path.startswith("/login")
    return True


class RadioSecurityApi(ApiErrorsMixin, SecurityApi):
    """FAB's /api/v1/security/login and /refresh, answering errors in our shape.

    A wrong password and an unknown user get the same 401 (FAB balances the timing too).
    FAB rate-limits only the login page; the API login gets the same AUTH_RATE_LIMIT here, or a
    password could be guessed through the API without limit. Both count failed sign-ins only.
    """

    def __init__(self) -> None:
        self.limits = [
            Limit(
                _auth_rate_limit,
                key_func=_rate_limit_key,
                methods=("POST",),
                exempt_when=_auth_not_limited,
                deduct_when=_login_failed,
            )
        ]
        super().__init__()

    def response_401(self):
        return error_response(401, "INVALID_CREDENTIALS", "The username or password is not correct.")


class SecurityManager(AuditedLoginMixin, FabSecurityManager):
    security_api = RadioSecurityApi

    def _has_view_access(self, user: object, permission_name: str, view_name: str) -> bool:
        """FAB asks the database once per check (about 25 times for one page's menu); we load the
        user's permission set once per request. Role changes apply from the user's next request."""
        if not has_request_context():
            return super()._has_view_access(user, permission_name, view_name)
        cache = g.setdefault("_rp_permissions", {})
        key = getattr(user, "id", None)
        granted = cache.get(key)
        if granted is None:
            granted = self._permission_set(user)
            cache[key] = granted
        return (permission_name, view_name) in granted

    def _permission_set(self, user: object) -> frozenset[tuple[str, str]]:
        try:
            by_role = self.get_user_roles_permissions(user)
        except AttributeError:  # a user without roles has no permissions
            return frozenset()
        return frozenset(pv for perms in by_role.values() for pv in perms)

    @property
    def is_auth_limited(self) -> bool:
        return False  # FAB's own login-page limit counts every POST; register_views adds ours

    def register_views(self) -> None:
        super().register_views()
        if current_app.config.get("FAB_ADD_SECURITY_VIEWS", True):
            self.limiter.limit(
                _auth_rate_limit,
                key_func=_rate_limit_key,
                methods=["POST"],
                exempt_when=_auth_not_limited,
                deduct_when=_login_failed,
            )(self.auth_view.blueprint)

    def create_jwt_manager(self, app) -> JWTManager:
        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.unauthorized_loader
        def _missing(reason: str):
            return error_response(401)

        @jwt_manager.invalid_token_loader
        def _invalid(reason: str):
            return error_response(401, "TOKEN_INVALID", "Your access token is not valid. Sign in again.")

        @jwt_manager.expired_token_loader
        def _expired(header, payload):
            return error_response(401, "TOKEN_EXPIRED", "Your session has expired. Sign in again.")

        @jwt_manager.revoked_token_loader
        def _revoked(header, payload):
            return error_response(401, "TOKEN_REVOKED", "Your access token was revoked. Sign in again.")

        @jwt_manager.needs_fresh_token_loader
        def _stale(header, payload):
            return error_response(401, "TOKEN_NOT_FRESH", "Sign in again to do this.")

        return jwt_manager
