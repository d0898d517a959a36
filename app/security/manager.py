"""Our FAB security manager: JSON errors for JWT and the login API, no user enumeration."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import jwt
from flask import current_app, g, has_request_context, request
from flask_appbuilder.api import expose
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager as FabSecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role
from flask_appbuilder.utils.limit import Limit
from flask_jwt_extended import JWTManager
from flask_jwt_extended import view_decorators as jwt_view_decorators
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.api_errors import ApiErrorsMixin, error_response
from app.security import views as security_views
from app.security.audit_hooks import AuditedLoginMixin
from app.security.permission_cache import DEFAULT_TTL_S, Pair, PermissionCache, UserSnapshot


def _auth_rate_limit() -> str:
    return current_app.config.get("AUTH_RATE_LIMIT", "10 per 20 second")


def _auth_not_limited() -> bool:
    return not current_app.config.get("AUTH_RATE_LIMITED", False)


def _rate_limit_key() -> str:
    return current_app.config.get("RATELIMIT_KEY_FUNC", get_remote_address)()


# Every rate limit of the application counts POSTs (the login page and the login API; see
# RadioSecurityApi and register_views; tests/security check it): a read skips Flask-Limiter's
# per-request resolution of limits (issue 16: about a tenth of a do-nothing request).
LIMITED_METHODS = frozenset({"POST"})


def _not_rate_limited_method() -> bool:
    return request.method not in LIMITED_METHODS


# flask_jwt_extended keeps the verified token and its user in `g`.
JWT_USER = "_jwt_extended_jwt_user"
_JWT_KEYS = ("_jwt_extended_jwt", "_jwt_extended_jwt_header", JWT_USER, "_jwt_extended_jwt_location")


def forget_previous_token() -> None:
    """A request starts with no verified token. Each request has its own `g` in a server; a test that
    holds one app context open across requests shares it, and a token verified for an earlier request
    must not sign in the next one (`_request_user` trusts what `g` holds)."""
    for key in _JWT_KEYS:
        g.pop(key, None)


def _check_writes_only(app, limiter) -> None:
    """Flask-Limiter's per-request check runs only for the methods a limit of ours counts.

    The request filter above already exempts every other request, but only after Flask-Limiter has
    resolved the endpoint's limits and meta limits (about 0.1 ms of every read, issue 16). The check
    it registered as a before_request function is wrapped so a read returns before any of that; a POST
    takes the same path as before."""
    check = limiter._check_request_limit
    funcs = app.before_request_funcs.setdefault(None, [])
    for i, func in enumerate(funcs):
        if func == check:

            def check_request_limit() -> None:
                if request.method in LIMITED_METHODS:
                    check()

            funcs[i] = check_request_limit
            return
    # not registered: Flask-Limiter is disabled (RATELIMIT_ENABLED false, as in most tests)


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

    @expose("/login", methods=["POST"])
    def login(self):
        """FAB's login, after checking the body's shape: FAB read `provider` without checking it was
        sent (a 500, found by the API fuzz test)."""
        body = request.get_json(silent=True)
        if isinstance(body, dict) and not isinstance(body.get("provider"), str):
            return error_response(
                400,
                "BAD_REQUEST",
                'Send "username", "password" and "provider": "db" to sign in.',
                {"fields": {"provider": ["Required: db."]}},
            )
        return super().login()


class SecurityManager(AuditedLoginMixin, FabSecurityManager):
    security_api = RadioSecurityApi
    # FAB's "User's Statistics" chart loads Google Charts from the internet (blank offline) and
    # shows nothing a site needs: it is not registered.
    userstatschartview = None
    # Users and roles in words: names, "Active", and what a role may do from the role matrix.
    userdbmodelview = security_views.UserDBModelView
    rolemodelview = security_views.RoleModelView

    def add_permissions_view(self, base_permissions, view_menu):
        """Create the permissions a view declares; grant nothing and delete nothing here.

        FAB's version also grants each one to Admin and deletes those the view does not list. Both
        are wrong here: several views share one permission name (CapacityAdmin, Batch, Order ...),
        a menu entry may carry a resource's name (Genealogy, Planner) and the role matrix grants
        acts no view declares (can_read on BatchMaterial), so FAB tried to delete the others' (a
        "Refused to delete permission view" warning each, dozens per `flask rp sync-perms`); and
        it handed Admin, for the moment until the matrix took them back (an audit row on every
        run), acts Admin must never hold (a QP's release, QC review). Who holds what is the role
        matrix's business alone (app.security.sync), and it drops what nothing declares."""
        view_menu_db = self.add_view_menu(view_menu)
        held = {pv.permission.name for pv in self.find_permissions_view_menu(view_menu_db) if pv.permission}
        for name in sorted(set(base_permissions or ()) - held):
            self.add_permission_view_menu(name, view_menu)

    def declared_permissions(self) -> set[tuple[str, str]]:
        """(permission, resource) pairs something of this application declares: a registered view,
        the role matrix or a menu entry."""
        from app.security.roles import COMMON, MATRIX

        declared = {
            (permission, view.class_permission_name)
            for view in self.appbuilder.baseviews
            if getattr(view, "class_permission_name", None)
            for permission in getattr(view, "base_permissions", None) or ()
        }
        for grants in (COMMON, *MATRIX.values()):
            declared |= {(p, resource) for resource, names in grants.items() for p in names}
        for category in self.appbuilder.menu.get_list() if self.appbuilder.menu else ():
            declared |= {("menu_access", item.name) for item in (category, *(category.childs or ()))}
        return declared

    # --- permissions from the per-process cache (issue 16) ------------------------------------
    # FAB's has_access path sends about six statements per request; with the cache an API request
    # sends one (the user with its roles and groups), plus the permissions version every ~2 s.
    # Every BaseApi / ModelView / BaseView goes through these methods, so no view needs its own code.

    @property
    def permission_cache(self) -> PermissionCache:
        cache = self.__dict__.get("_rp_permission_cache")
        if cache is None:
            cache = self.__dict__["_rp_permission_cache"] = PermissionCache()
        return cache

    def _generation(self):
        ttl = float(current_app.config.get("RP_PERMISSIONS_VERSION_TTL_S", DEFAULT_TTL_S))
        return self.permission_cache.generation(self.session, ttl)

    def _load_role_permissions(self, role_ids: list[int]) -> dict[int, frozenset[Pair]]:
        pv, perm, vm = self.permissionview_model, self.permission_model, self.viewmenu_model
        rows = self.session.execute(
            select(assoc_permissionview_role.c.role_id, perm.name, vm.name)
            .select_from(assoc_permissionview_role)
            .join(pv, pv.id == assoc_permissionview_role.c.permission_view_id)
            .join(perm, perm.id == pv.permission_id)
            .join(vm, vm.id == pv.view_menu_id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
        )
        by_role: dict[int, set[Pair]] = {}
        for role_id, permission_name, view_name in rows:
            by_role.setdefault(role_id, set()).add((permission_name, view_name))
        return {role_id: frozenset(pairs) for role_id, pairs in by_role.items()}

    def _load_public_permissions(self) -> frozenset[Pair]:
        role = self.get_public_role()
        if role is None:
            return frozenset()
        if role.name in self.builtin_roles:
            return frozenset(self.get_role_permissions(role))
        return self._load_role_permissions([role.id]).get(role.id, frozenset())

    def cached_role_permissions(self, roles) -> frozenset[Pair]:
        """The permission set of database roles (builtin roles are matched by FAB's patterns)."""
        ids = [role.id for role in roles if role is not None and role.name not in self.builtin_roles]
        if not ids:
            return frozenset()
        return self.permission_cache.for_roles(self._generation(), ids, self._load_role_permissions)

    def public_permissions(self) -> frozenset[Pair]:
        return self.permission_cache.public(self._generation(), self._load_public_permissions)

    def is_item_public(self, permission_name, view_name) -> bool:
        return (permission_name, view_name) in self.public_permissions()

    def has_access(self, permission_name: str, view_name: str) -> bool:
        """FAB's check, with the signed-in page user's permission set looked up once per request: a
        page asks once per menu entry and action (about 60 times), each time through the login
        proxies, the user's roles and the cache's version check. The memo belongs to the request
        (kept in its WSGI environ: tests that share one app context across requests share `g`). An
        API call's bearer token is read at the first check (`_request_user`). API keys, builtin roles
        and anonymous visitors take FAB's path."""
        if has_request_context() and not getattr(g, "_api_key_user", False):
            user = self._request_user()
            if user is None:
                return super().has_access(permission_name, view_name)
            memo = request.environ.get("rp.access")
            if memo is None or memo[0] is not user:
                pairs = None
                active = bool(user and user.is_active)
                if active:
                    roles = self.get_user_roles(user)
                    if not any(role.name in self.builtin_roles for role in roles):
                        pairs = self.cached_role_permissions(roles)
                memo = request.environ["rp.access"] = (user, active, pairs)
            if not memo[1]:
                return False
            if memo[2] is not None:
                return (permission_name, view_name) in memo[2]
        return super().has_access(permission_name, view_name)

    def _request_user(self):
        """The request's signed-in user for `has_access`: the page session's user; else the bearer
        token's user of an API call. FAB's `protect` asks `has_access` first, gets False for a token
        not yet read, then verifies the token and asks again: here the token is verified at the first
        question, as `protect` would do next (a bad or expired token is refused by the same
        exception), so an API call takes one permission check instead of two (issue 16). Pages never
        read a bearer token. None: anonymous (FAB's path decides: public permissions)."""
        if current_user.is_authenticated:
            return self._get_safe_user(g.user)
        loaded = g.get(JWT_USER)  # this request's (forget_previous_token clears a shared `g`)
        if (
            loaded is None
            and request.path.startswith("/api/")
            and request.headers.get("Authorization", "").startswith("Bearer ")
        ):
            jwt_view_decorators.verify_jwt_in_request()
            loaded = g.get(JWT_USER)
        return loaded["loaded_user"] if loaded else None

    def _has_view_access(self, user: object, permission_name: str, view_name: str) -> bool:
        if not getattr(user, "is_authenticated", False):
            return self.is_item_public(permission_name, view_name)
        roles = self.get_user_roles(user)
        if any(
            role.name in self.builtin_roles
            and self._has_access_builtin_roles(role, permission_name, view_name)
            for role in roles
        ):
            return True
        return (permission_name, view_name) in self.cached_role_permissions(roles)

    def get_user_permissions(self, user) -> set[Pair]:
        if user is None or not user.is_authenticated:
            return set(self.public_permissions())
        roles = self.get_user_roles(user)
        result = set(self.cached_role_permissions(roles))
        for role in roles:
            if role.name in self.builtin_roles:
                result.update(self.get_role_permissions(role))
        return result

    def _get_user_permission_view_menus(self, user, permission_name, view_menus_name):
        """Menu entries (FAB asks once per page for 'menu_access'), from the cached set."""
        if user is None or not getattr(user, "is_authenticated", False):
            granted: frozenset[Pair] = self.public_permissions()
            roles: list = []
        else:
            roles = self.get_user_roles(user)
            granted = self.cached_role_permissions(roles)
        result = {view for perm, view in granted if perm == permission_name}
        result.update(
            name
            for role in roles
            if role.name in self.builtin_roles
            for name in view_menus_name or ()
            if self._has_access_builtin_roles(role, permission_name, name)
        )
        return result

    def load_user(self, pk):
        """The user of a session or token, from this process's cache when its permissions version is
        current (no SQL); an inactive or unknown user is never cached and gets None (401 / sign in)."""
        try:
            user_id = int(pk)
        except (TypeError, ValueError):
            return None
        cache, gen = self.permission_cache, self._generation()
        snapshot = cache.user(gen, user_id)
        if snapshot is not None:
            return snapshot.copy(self.user_model, self.role_model)
        user = self.get_user_by_id(user_id)
        if user is None or not user.is_active:
            return None
        if not user.groups:  # group memberships (unused here) are read from the database each time
            cache.keep_user(gen, user_id, UserSnapshot.of(user))
        return user

    def _get_safe_user(self, user):
        """FAB re-reads a detached user from the database before each check (once per menu entry on a
        page); a copy from the cache is current for this permissions version: use it as it is."""
        if getattr(user, "rp_cached_copy", False):
            return user
        return super()._get_safe_user(user)

    def get_user_by_id(self, pk):
        """The user with roles and groups in one statement (the JWT and session user loads)."""
        user_model = self.user_model
        return self.session.get(
            user_model,
            pk,
            options=[
                joinedload(user_model.roles),
                joinedload(user_model.groups).joinedload(self.group_model.roles),
            ],
        )

    def create_limiter(self, app):
        """FAB's limiter; requests with a method no limit of ours applies to skip its checks."""
        limiter = super().create_limiter(app)
        limiter.request_filter(_not_rate_limited_method)
        _check_writes_only(app, limiter)
        return limiter

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
        _remember_verified_tokens(jwt_manager)
        app.before_request(forget_previous_token)

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


VERIFIED_TOKENS_MAX = 4096


def _remember_verified_tokens(jwt_manager: JWTManager) -> None:
    """Verify a bearer token's signature once per process, not on every request (issue 16: PyJWT
    decoded each token four times a request, about a third of a do-nothing request's time).

    Keyed by the whole token text (and the CSRF value), so a hit is the very token that verified;
    its expiry and not-before are checked again on every use, and an expired token goes through the
    full decode (which raises the expired-token error). Revocation and freshness checks run after
    this, on every request, as before."""
    decode = jwt_manager._decode_jwt_from_config
    verified: dict[tuple[str, str | None, bool], dict] = {}

    def cached(encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False) -> dict:
        key = (encoded_token, csrf_value, allow_expired)
        claims = verified.get(key)
        now = time.time()
        if (
            claims is not None
            and (allow_expired or claims.get("exp", now + 1) > now)
            and claims.get("nbf", 0) <= now
        ):
            return dict(claims)
        claims = decode(encoded_token, csrf_value, allow_expired)
        if len(verified) >= VERIFIED_TOKENS_MAX:
            verified.clear()
        verified[key] = dict(claims)
        return claims

    jwt_manager._decode_jwt_from_config = cached  # type: ignore[method-assign]
    if jwt_view_decorators.get_unverified_jwt_headers is not _unverified_header:
        jwt_view_decorators.get_unverified_jwt_headers = _unverified_header


_HEADERS: dict[str, dict] = {}


def _unverified_header(encoded_token: str) -> dict:
    """A token's header (flask_jwt_extended reads it again after every decode): a pure function of the
    token text, remembered per process (bounded). It is asked only for a token that just verified."""
    header = _HEADERS.get(encoded_token)
    if header is None:
        header = jwt.get_unverified_header(encoded_token)
        if len(_HEADERS) >= VERIFIED_TOKENS_MAX:
            _HEADERS.clear()
        _HEADERS[encoded_token] = header
    return dict(header)
