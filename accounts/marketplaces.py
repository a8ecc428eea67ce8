"""Amazon marketplaces: the real SP-API ids, their country and region (Amazon's endpoint table)."""

from typing import NamedTuple


class MarketplaceInfo(NamedTuple):
    id: str
    country_code: str
    country: str
    region: str


MARKETPLACES = [
    MarketplaceInfo("ATVPDKIKX0DER", "US", "United States", "NA"),
    MarketplaceInfo("A2EUQ1WTGCTBG2", "CA", "Canada", "NA"),
    MarketplaceInfo("A1AM78C64UM0Y8", "MX", "Mexico", "NA"),
    MarketplaceInfo("A2Q3Y263D00KWC", "BR", "Brazil", "NA"),
    MarketplaceInfo("A1F83G8C2ARO7P", "GB", "United Kingdom", "EU"),
    MarketplaceInfo("A1PA6795UKMFR9", "DE", "Germany", "EU"),
    MarketplaceInfo("A13V1IB3VIYZZH", "FR", "France", "EU"),
    MarketplaceInfo("APJ6JRA9NG5V4", "IT", "Italy", "EU"),
    MarketplaceInfo("A1RKKUPIHCS9HS", "ES", "Spain", "EU"),
    MarketplaceInfo("A1805IZSGTT6HS", "NL", "Netherlands", "EU"),
    MarketplaceInfo("A2NODRKZP88ZB9", "SE", "Sweden", "EU"),
    MarketplaceInfo("A1C3SOZRARQ6R3", "PL", "Poland", "EU"),
    MarketplaceInfo("AMEN7PMS3EDWL", "BE", "Belgium", "EU"),
    MarketplaceInfo("A33AVAJ2PDY3EV", "TR", "Turkey", "EU"),
    MarketplaceInfo("A2VIGQ35RCS4UG", "AE", "United Arab Emirates", "EU"),
    MarketplaceInfo("A17E79C6D8DWNP", "SA", "Saudi Arabia", "EU"),
    MarketplaceInfo("ARBP9OOSHTCHU", "EG", "Egypt", "EU"),
    MarketplaceInfo("A21TJRUUN4KGV", "IN", "India", "EU"),
    MarketplaceInfo("A28R8C7NBKEWEA", "IE", "Ireland", "EU"),
    MarketplaceInfo("A1VC38T7YXB528", "JP", "Japan", "FE"),
    MarketplaceInfo("A39IBJ37TRP1C6", "AU", "Australia", "FE"),
    MarketplaceInfo("A19VAU5U5O7RUS", "SG", "Singapore", "FE"),
]

REGION_ENDPOINTS = {
    "NA": "https://sellingpartnerapi-na.amazon.com",
    "EU": "https://sellingpartnerapi-eu.amazon.com",
    "FE": "https://sellingpartnerapi-fe.amazon.com",
}

# Hosts an account's endpoint override may name: the region's SP-API host and its sandbox
# (Amazon's static test endpoints). The override receives the access token, so nothing else.
REGION_OVERRIDE_HOSTS = {
    region: (host, f"sandbox.{host}")
    for region, host in (
        ("NA", "sellingpartnerapi-na.amazon.com"),
        ("EU", "sellingpartnerapi-eu.amazon.com"),
        ("FE", "sellingpartnerapi-fe.amazon.com"),
    )
}
# Login with Amazon's token host and path, the only place a refresh token may be sent.
LWA_TOKEN_HOST = "api.amazon.com"
LWA_TOKEN_PATH = "/auth/o2/token"
