"""factory-boy factories for every model of the app (the sandbox has its own seed helpers)."""

import factory
from django.contrib.auth import get_user_model

from accounts.models import (
    AmazonAccount,
    InventoryLevel,
    Location,
    Marketplace,
    MetafieldValue,
    Product,
    ShopifyStore,
    Variant,
)
from profiles.models import GlobalProfile
from selling_lists.models import Listing, SellingList


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True
    password = factory.django.Password("correct horse battery")


class AdminUserFactory(UserFactory):
    username = "admin"
    is_superuser = True


def us_marketplace() -> Marketplace:
    return Marketplace.objects.get(pk="ATVPDKIKX0DER")


class AmazonAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AmazonAccount
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Amazon US {n}")
    seller_id = factory.Sequence(lambda n: f"A{n:013d}")
    region = "NA"
    lwa_client_id = factory.Sequence(lambda n: f"amzn1.application-oa2-client.{n:032x}")
    lwa_client_secret = "lwa-secret"
    refresh_token = factory.Sequence(lambda n: f"Atzr|refresh-{n}")
    # Tests never reach Amazon: a stray call fails at once on a closed loopback port.
    endpoint = "http://127.0.0.1:9/no-amazon-in-tests"
    token_url = "http://127.0.0.1:9/no-amazon-in-tests/auth/o2/token"

    @factory.post_generation
    def marketplaces(self, create, extracted, **kwargs):
        if create:
            self.marketplaces.set(extracted or [us_marketplace()])


class ShopifyStoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopifyStore

    name = factory.Sequence(lambda n: f"Shop {n}")
    shop_domain = factory.Sequence(lambda n: f"shop-{n}.myshopify.com")
    access_token = factory.Sequence(lambda n: f"shpat_{n:032x}")
    webhook_secret = "webhook-secret"
    base_url = "http://127.0.0.1:9/no-shopify-in-tests"  # tests never reach Shopify


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    store = factory.SubFactory(ShopifyStoreFactory)
    shopify_id = factory.Sequence(lambda n: 70_000_000_000 + n)
    name = factory.Sequence(lambda n: f"Warehouse {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    store = factory.SubFactory(ShopifyStoreFactory)
    shopify_id = factory.Sequence(lambda n: 8_000_000_000_000 + n)
    title = factory.Sequence(lambda n: f"Yoga pants {n}")


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    store = factory.SelfAttribute("product.store")
    product_title = factory.SelfAttribute("product.title")
    # Shopify ids exceed 2**53; the mirror must keep them exactly.
    shopify_id = factory.Sequence(lambda n: 2**53 + 1000 + n)
    title = factory.Sequence(lambda n: f"Size {n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    inventory_item_id = factory.Sequence(lambda n: 2**53 + 500_000 + n)


class InventoryLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InventoryLevel

    variant = factory.SubFactory(VariantFactory)
    location = factory.SubFactory(LocationFactory, store=factory.SelfAttribute("..variant.store"))
    available = 10


class MetafieldValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetafieldValue

    variant = factory.SubFactory(VariantFactory)
    namespace = "custom"
    key = "amazon_qty"
    value = "5"


class GlobalProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GlobalProfile

    name = factory.Sequence(lambda n: f"Profile {n}")
    mode = "product"


class SellingListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellingList

    name = factory.Sequence(lambda n: f"Selling List {n}")
    amazon_account = factory.SubFactory(AmazonAccountFactory)
    marketplace = factory.LazyFunction(us_marketplace)
    shopify_store = factory.SubFactory(ShopifyStoreFactory)
    profile = factory.SubFactory(GlobalProfileFactory)


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    selling_list = factory.SubFactory(SellingListFactory)
    variant = factory.SubFactory(
        VariantFactory, product__store=factory.SelfAttribute("...selling_list.shopify_store")
    )
    sku = factory.LazyAttribute(lambda o: o.variant.sku if o.variant else "SKU-GONE")
    asin = factory.Sequence(lambda n: f"B0{n:08d}")


def stocked_listing(available: int | list[int] = 10, **kwargs) -> Listing:
    """A listing whose variant has `available` at one location per number given."""
    listing = ListingFactory(**kwargs)
    for quantity in available if isinstance(available, list) else [available]:
        InventoryLevelFactory(variant=listing.variant, available=quantity)
    return listing
