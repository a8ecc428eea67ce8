"""Fixtures for the simulated Amazon: seeded sellers, a real AmazonClient over live HTTP, and a
contract check that validates every sandbox answer against Amazon's official models."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.amazon.models import SandboxSettings
from sandbox.amazon.seed import seed_seller
from sandbox.amazon.specs import validate_operation_response
from sync.clients.amazon import AmazonClient, clear_token_cache
from sync.clients.amazon_data import AmazonConfig

AMAZON_PREFIX = "/sandbox/amazon"
US = "ATVPDKIKX0DER"


class AmazonContract:
    """Records every HTTP exchange with the Amazon sandbox and validates it against the specs."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[str, str, httpx.Response]] = []

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        url = urlsplit(str(request.url))
        if request.headers.get("host") != url.netloc:
            return  # a mangled Host header never reaches the sandbox's views (Django answers 400)
        if url.path.startswith(AMAZON_PREFIX + "/"):
            self.exchanges.append((request.method, url.path[len(AMAZON_PREFIX) :], response))

    def check(self) -> int:
        """Validate all recorded answers; returns how many were checked against a model."""
        checked = 0
        for method, path, response in self.exchanges:
            if path.startswith("/documents/"):
                continue  # raw document bytes: the tests check them against the JSON schemas
            if not response.is_closed:
                response.read()
            data = json.loads(response.content) if response.content else None
            if path == "/auth/o2/token":
                expected = (
                    {"access_token", "refresh_token", "token_type", "expires_in"}
                    if response.status_code == 200
                    else {"error", "error_description"}
                )
                assert set(data) == expected, data
                continue
            validate_operation_response(method, path, response.status_code, data)
            if response.status_code < 300 or response.status_code in (400, 404):
                # Amazon sends the usage plan on 20x, 400 and 404 answers.
                assert float(response.headers["x-amzn-RateLimit-Limit"]) > 0
            checked += 1
        return checked


@pytest.fixture
def amazon_contract(monkeypatch) -> AmazonContract:
    """Every httpx exchange with /sandbox/amazon/ is validated when the test ends."""
    contract = AmazonContract()
    original_send = httpx.Client.send

    def send(self, request, *args, **kwargs):
        response = original_send(self, request, *args, **kwargs)
        contract.record(request, response)
        return response

    monkeypatch.setattr(httpx.Client, "send", send)
    yield contract
    contract.check()


@pytest.fixture
def amazon_knobs(transactional_db) -> Callable[..., SandboxSettings]:
    """Set fault knobs: ``amazon_knobs(apply_delay_seconds=0.5)``."""

    def set_knobs(**values) -> SandboxSettings:
        knobs = SandboxSettings.load()
        for name, value in values.items():
            setattr(knobs, name, value)
        knobs.save()
        return knobs

    return set_knobs


@pytest.fixture
def amazon_seller(transactional_db) -> Callable[..., dict]:
    """Seed a seller: ``amazon_seller([("SKU-1", 10, "DEFAULT"), ("FBA-1", 4, "AMAZON_NA")])``."""

    def make(listings=(("SKU-1", 10, "DEFAULT"),), **kwargs) -> dict:
        return seed_seller(listings=listings, **kwargs)

    return make


@pytest.fixture
def amazon_config(live_server) -> Callable[[dict], AmazonConfig]:
    """Build the AmazonConfig pointing at the live sandbox for seeded credentials."""

    def make(credentials: dict, **overrides) -> AmazonConfig:
        values = {
            "seller_id": credentials["seller_id"],
            "marketplace_id": credentials["marketplace_ids"][0],
            "refresh_token": credentials["refresh_token"],
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "endpoint": f"{live_server.url}{AMAZON_PREFIX}",
            "token_url": f"{live_server.url}{AMAZON_PREFIX}/auth/o2/token",
        }
        values.update(overrides)
        return AmazonConfig(**values)

    return make


@pytest.fixture
def amazon_client(amazon_contract, amazon_config) -> Callable[..., AmazonClient]:
    """A real AmazonClient for seeded credentials, talking HTTP to the live sandbox."""
    clients: list[AmazonClient] = []
    clear_token_cache()

    def make(credentials: dict, **overrides) -> AmazonClient:
        client = AmazonClient(amazon_config(credentials, **overrides), timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    clear_token_cache()
