"""The quantity rule: the seeds' tables verbatim, DESIGN.md's order, missing stock, properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profiles.rules import MissingStock, Mode, Rule, Source, StockSnapshot, compute


def stock(n: int) -> StockSnapshot:
    return StockSnapshot(levels={1: n})


# Amazon by Codisto, "Examples of Inventory Rules" (seed 001), row for row.
CODISTO_TABLE = [
    (10, Mode.PRODUCT, None, 10),  # Inventory Level
    (10, Mode.FIXED, 5, 5),  # Fixed Quantity 5
    (10, Mode.BUFFER, 2, 8),  # Quantity Buffer 2
    (10, Mode.CAP, 7, 7),  # Max Quantity 7
    (10, Mode.CAP, 15, 10),  # Max Quantity 15
]

# Salestio, "Not more than qty value" (seed 000).
SALESTIO_TABLE = [
    (20, Mode.CAP, 10, 10),
    (5, Mode.CAP, 10, 5),
]


@pytest.mark.parametrize(("shopify", "mode", "n", "amazon"), CODISTO_TABLE + SALESTIO_TABLE)
def test_seed_tables_give_the_documented_result(shopify, mode, n, amazon):
    assert compute(stock(shopify), Rule(mode=mode, quantity=n)).quantity == amazon


def test_single_stock_is_always_one_whatever_shopify_holds():
    assert compute(stock(0), Rule(mode=Mode.SINGLE)).quantity == 1
    assert compute(StockSnapshot(tracked=False), Rule(mode=Mode.SINGLE)).quantity == 1


@pytest.mark.parametrize(
    ("shopify", "rule", "amazon"),
    [
        (10, Rule(percentage=50), 5),
        (3, Rule(percentage=50), 1),  # rounded down
        (1, Rule(percentage=50), 0),
        (1, Rule(percentage=50, keep_one=True), 1),  # a positive stock never rounds to 0
        (0, Rule(percentage=50, keep_one=True), 0),
        (2, Rule(threshold=2), 0),  # at the threshold: 0
        (3, Rule(threshold=2), 3),
        # Documented order: buffer → percentage → threshold → cap.
        (20, Rule(mode=Mode.BUFFER, quantity=4, percentage=50), 8),
        (20, Rule(mode=Mode.BUFFER, quantity=4, percentage=50, max_quantity=5), 5),
        (7, Rule(mode=Mode.BUFFER, quantity=3, threshold=4), 0),
        (100, Rule(mode=Mode.CAP, quantity=30, max_quantity=20), 20),
        (40, Rule(percentage=25, threshold=5, max_quantity=8), 8),
    ],
)
def test_combined_options_follow_the_documented_order(shopify, rule, amazon):
    assert compute(stock(shopify), rule).quantity == amazon


def test_trace_tells_each_step_in_order():
    result = compute(stock(20), Rule(mode=Mode.BUFFER, quantity=4, percentage=50, max_quantity=5))
    assert result.trace == (
        "Shopify available over all 1 active location(s) = 20",
        "Quantity buffer 4: keep 4 for Shopify = 16",
        "50 % of 16, rounded down = 8",
        "Not more than 5 = 5",
        "Amazon gets 5",
    )


def test_stock_sums_all_active_locations_or_only_the_chosen_ones():
    snapshot = StockSnapshot(levels={1: 4, 2: 6, 3: 5})
    assert compute(snapshot, Rule()).quantity == 15
    assert compute(snapshot, Rule(location_ids=frozenset({2}))).quantity == 6
    assert compute(snapshot, Rule(location_ids=frozenset({1, 3}))).quantity == 9


def test_an_oversold_location_counts_as_zero_not_negative():
    result = compute(StockSnapshot(levels={1: -3, 2: 5}), Rule())
    assert result.quantity == 5
    assert "1 oversold location(s) counted as 0" in result.trace


def test_buffer_larger_than_stock_sends_zero_never_negative():
    assert compute(stock(1), Rule(mode=Mode.BUFFER, quantity=5)).quantity == 0


def test_metafield_source_parses_the_string_value():
    rule = Rule(source=Source.METAFIELD, metafield_key="custom.amazon_qty")
    snapshot = StockSnapshot(metafields={"custom.amazon_qty": " 12 "})
    assert compute(snapshot, rule).quantity == 12


@pytest.mark.parametrize(
    ("snapshot", "reason"),
    [
        (StockSnapshot(tracked=False), "does not track inventory"),
        (StockSnapshot(exists=False), "no longer exists"),
        (StockSnapshot(levels={}), "not stocked at any active location"),
    ],
)
def test_missing_stock_keeps_amazon_as_it_is_by_default(snapshot, reason):
    result = compute(snapshot, Rule())
    assert result.quantity is None
    assert result.stock_missing
    assert reason in result.trace[0]


@pytest.mark.parametrize("raw", [None, "", "  ", "abc", "4.5"])
def test_an_empty_or_non_integer_metafield_is_missing_stock(raw):
    rule = Rule(source=Source.METAFIELD, metafield_key="custom.amazon_qty")
    metafields = {} if raw is None else {"custom.amazon_qty": raw}
    result = compute(StockSnapshot(metafields=metafields), rule)
    assert result.quantity is None and result.stock_missing


def test_missing_stock_policies_send_zero_or_a_fixed_number():
    untracked = StockSnapshot(tracked=False)
    assert compute(untracked, Rule(missing_stock=MissingStock.ZERO)).quantity == 0
    fixed = Rule(missing_stock=MissingStock.FIXED, missing_quantity=3)
    assert compute(untracked, fixed).quantity == 3


def test_reserved_order_quantity_is_taken_off_and_shown_in_the_trace():
    result = compute(StockSnapshot(levels={1: 5}, reserved=2), Rule())
    assert result.quantity == 3
    assert any("sold on Amazon" in step for step in result.trace)


levels = st.dictionaries(st.integers(1, 5), st.integers(-50, 10_000), max_size=5)
dynamic_rules = st.builds(
    Rule,
    mode=st.sampled_from([Mode.PRODUCT, Mode.CAP, Mode.BUFFER]),
    quantity=st.integers(0, 1000),
    percentage=st.none() | st.integers(1, 100),
    keep_one=st.booleans(),
    threshold=st.none() | st.integers(0, 50),
    max_quantity=st.none() | st.integers(0, 1000),
    missing_stock=st.sampled_from(list(MissingStock)),
    missing_quantity=st.integers(0, 100),
)
any_rules = dynamic_rules | st.builds(
    Rule, mode=st.sampled_from([Mode.SINGLE, Mode.FIXED]), quantity=st.integers(0, 1000)
)
snapshots = st.builds(
    StockSnapshot,
    levels=levels,
    tracked=st.booleans(),
    exists=st.booleans(),
    reserved=st.integers(0, 20),
)


@given(snapshot=snapshots, rule=any_rules)
def test_property_result_is_an_integer_at_least_zero_or_keep(snapshot, rule):
    result = compute(snapshot, rule)
    if result.quantity is None:
        assert result.stock_missing and rule.missing_stock == MissingStock.KEEP
    else:
        assert isinstance(result.quantity, int) and result.quantity >= 0


@given(snapshot=snapshots, rule=dynamic_rules)
def test_property_cap_is_never_exceeded(snapshot, rule):
    result = compute(snapshot, rule)
    if result.quantity is not None and not result.stock_missing:
        caps = [
            c
            for c in (rule.quantity if rule.mode == Mode.CAP else None, rule.max_quantity)
            if c is not None
        ]
        assert all(result.quantity <= cap for cap in caps)


@given(snapshot=snapshots, rule=dynamic_rules)
def test_property_dynamic_modes_never_exceed_the_source(snapshot, rule):
    result = compute(snapshot, rule)
    if not result.stock_missing:
        assert result.quantity <= max(result.source_quantity, 0)
