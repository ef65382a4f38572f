"""The OAuth2 authorization server (client credentials) built on Authlib.

``POST /oauth/token`` issues bearer tokens; ``POST /oauth/revoke`` revokes them
(RFC 7009). Clients authenticate with HTTP Basic or with form fields. Errors here keep
OAuth's own shape, ``{"error", "error_description"}`` (RFC 6749 §5.2), because OAuth
client libraries expect it; every other endpoint uses Jifen's envelope.

Authlib sees clients through ``OAuthClient``, an adapter over our ``ApiClient`` that
checks the hashed secret in constant time and grants the client's full scope when a
token request names none (Authlib's SQLAlchemy mixin would grant an empty one).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Blueprint, Flask

from . import secrets, services
from .model import ALL_SCOPES, ApiClient

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class OAuthClient(ClientMixin):
    def __init__(self, client: ApiClient):
        self.client = client

    def get_client_id(self) -> str:
        return self.client.id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        held = self.client.scopes
        if not scope:
            return " ".join(held)
        requested = scope.split()
        if any(s not in held for s in requested):
            return None  # Authlib answers invalid_scope
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.matches(client_secret, self.client.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class _Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None):
        return _HeldToken(token_string)

    def revoke_token(self, token: _HeldToken, request) -> None:
        services.revoke_access_token(token.value, request.client.get_client_id())


class _HeldToken:
    """A presented token. Revocation is scoped to the presenting client in the service,
    so a client can never revoke another's token; unknown tokens are ignored (RFC 7009)."""

    def __init__(self, value: str):
        self.value = value

    def check_client(self, client: OAuthClient) -> bool:
        return True


def _query_client(client_id: str) -> OAuthClient | None:
    client = services.find_client(client_id)
    return OAuthClient(client) if client is not None else None


def _save_token(token: dict, request) -> None:
    services.save_access_token(
        request.client.client, token["access_token"], token["scope"], token["expires_in"]
    )


def init_oauth(app: Flask, *, token_ttl_seconds: int) -> None:
    app.config.setdefault("OAUTH2_SCOPES_SUPPORTED", list(ALL_SCOPES))
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"client_credentials": token_ttl_seconds})
    app.config.setdefault(
        "OAUTH2_ACCESS_TOKEN_GENERATOR", "jifen.platform.auth.oauth.generate_access_token"
    )
    server = AuthorizationServer(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(_ClientCredentials)
    server.register_endpoint(_Revocation)

    blueprint = Blueprint("oauth", __name__)

    @blueprint.post("/oauth/token")
    def issue_token():
        return server.create_token_response()

    @blueprint.post("/oauth/revoke")
    def revoke_token():
        return server.create_endpoint_response(_Revocation.ENDPOINT_NAME)

    app.register_blueprint(blueprint)


def generate_access_token(*_args, **_kwargs) -> str:
    return secrets.new_secret("at")
