"""Admin of Selling Lists and Listings (Django's autodiscovery imports this package)."""

from .confirmations import rule_change_url
from .listings import ListingAdmin
from .lists import SellingListAdmin

__all__ = ["ListingAdmin", "SellingListAdmin", "rule_change_url"]
