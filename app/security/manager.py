"""Our FAB security manager: JSON errors for JWT and the login API, no user enumeration."""

from __future__ import annotations

from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_jwt_extended import JWTManager

from app.api.errors import ApiErrorsMixin, error_response
from app.security.audit_hooks import AuditedLoginMixin


class RadioSecurityApi(ApiErrorsMixin, SecurityApi):
    """FAB's /api/v1/security/login and /refresh, answering errors in our shape.

    A wrong password and an unknown user get the same 401 (FAB balances the timing too).
    """

    def response_401(self):
        return error_response(401, "INVALID_CREDENTIALS", "The username or password is not correct.")


class SecurityManager(AuditedLoginMixin, FabSecurityManager):
    security_api = RadioSecurityApi

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
