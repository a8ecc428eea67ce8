"""The quantity rule: from a variant's stock snapshot and a rule to the quantity Amazon gets.

Pure: plain values in, a result with a step-by-step trace out; no ORM, no I/O.

Order of the dynamic modes (product, cap, buffer), as documented in docs/quantity-rule.md:
source S → minus reserved orders → buffer → percentage → out-of-stock threshold → cap → clamp to
an integer ≥ 0. The static modes (single, fixed) ignore stock.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Mode(StrEnum):
    PRODUCT = "product"
    SINGLE = "single"
    FIXED = "fixed"
    CAP = "cap"
    BUFFER = "buffer"


STATIC_MODES = frozenset({Mode.SINGLE, Mode.FIXED})
MODES_WITH_QUANTITY = frozenset({Mode.FIXED, Mode.CAP, Mode.BUFFER})


class Source(StrEnum):
    AVAILABLE = "available"
    METAFIELD = "metafield"


class MissingStock(StrEnum):
    KEEP = "keep"
    ZERO = "zero"
    FIXED = "fixed"


@dataclass(frozen=True)
class StockSnapshot:
    """What we know of one variant's stock.

    `levels` maps a location id to Shopify's `available` there (active locations only).
    `reserved` is the quantity of Amazon orders imported but not yet taken off in Shopify.
    """

    levels: Mapping[int, int] = field(default_factory=dict)
    tracked: bool = True
    metafields: Mapping[str, str] = field(default_factory=dict)  # "namespace.key" → raw value
    exists: bool = True
    reserved: int = 0


@dataclass(frozen=True)
class Rule:
    mode: Mode = Mode.PRODUCT
    quantity: int | None = None  # N of fixed, cap and buffer
    percentage: int | None = None  # 1–100; None = 100 %
    keep_one: bool = False  # a positive stock never rounds down to 0 by percentage
    threshold: int | None = None  # send 0 when the result is at or below this
    max_quantity: int | None = None  # an extra cap, combinable with every dynamic mode
    source: Source = Source.AVAILABLE
    metafield_key: str = ""  # "namespace.key" when source is metafield
    location_ids: frozenset[int] | None = None  # None: every active location
    missing_stock: MissingStock = MissingStock.KEEP
    missing_quantity: int = 0

    @property
    def is_static(self) -> bool:
        return self.mode in STATIC_MODES


@dataclass(frozen=True)
class Result:
    """`quantity` None means: leave Amazon as it is (stock missing, policy "keep")."""

    quantity: int | None
    trace: tuple[str, ...]
    stock_missing: bool = False
    source_quantity: int | None = None


class _Missing(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def compute(snapshot: StockSnapshot, rule: Rule) -> Result:
    """Return the quantity Amazon should show, and how it was reached."""
    if rule.mode == Mode.SINGLE:
        return Result(1, ("Single stock: always 1",))
    if rule.mode == Mode.FIXED:
        n = max(rule.quantity or 0, 0)
        return Result(n, (f"Fixed quantity: always {n}",))

    trace: list[str] = []
    try:
        stock = _source_quantity(snapshot, rule, trace)
    except _Missing as missing:
        return _missing_stock(rule, missing.reason)
    source_quantity = stock

    if snapshot.reserved:
        stock -= snapshot.reserved
        trace.append(
            f"Minus {snapshot.reserved} sold on Amazon, not yet taken off in Shopify = {stock}"
        )
    if rule.mode == Mode.BUFFER:
        n = rule.quantity or 0
        stock = max(stock - n, 0)
        trace.append(f"Quantity buffer {n}: keep {n} for Shopify = {stock}")
    if rule.percentage is not None and rule.percentage != 100:
        before = max(stock, 0)
        stock = before * rule.percentage // 100
        trace.append(f"{rule.percentage} % of {before}, rounded down = {stock}")
        if rule.keep_one and before > 0 and stock == 0:
            stock = 1
            trace.append("Positive stock never rounds down to 0 = 1")
    if rule.threshold is not None and stock <= rule.threshold:
        trace.append(f"At or below the out-of-stock threshold {rule.threshold}: send 0")
        stock = 0
    caps = [
        c
        for c in (rule.quantity if rule.mode == Mode.CAP else None, rule.max_quantity)
        if c is not None
    ]
    if caps:
        cap = min(caps)
        if stock > cap:
            trace.append(f"Not more than {cap} = {cap}")
            stock = cap
        else:
            trace.append(f"Not more than {cap}: {stock} is within it")
    if stock < 0:
        trace.append(f"Never below 0: {stock} → 0")
        stock = 0
    trace.append(f"Amazon gets {stock}")
    return Result(stock, tuple(trace), source_quantity=source_quantity)


def _source_quantity(snapshot: StockSnapshot, rule: Rule, trace: list[str]) -> int:
    if not snapshot.exists:
        raise _Missing("the Shopify variant no longer exists")
    if rule.source == Source.METAFIELD:
        raw = snapshot.metafields.get(rule.metafield_key)
        if raw is None or not raw.strip():
            raise _Missing(f"metafield {rule.metafield_key} is empty")
        try:
            value = int(raw.strip())
        except ValueError:
            raise _Missing(
                f"metafield {rule.metafield_key} is not a whole number: {raw!r}"
            ) from None
        trace.append(f"Metafield {rule.metafield_key} = {value}")
        if value < 0:
            trace.append("Negative stock counts as 0")
            value = 0
        return value

    if not snapshot.tracked:
        raise _Missing("Shopify does not track inventory for this variant")
    if not snapshot.levels:
        raise _Missing("the variant is not stocked at any active location")
    if rule.location_ids is None:
        chosen = dict(snapshot.levels)
        where = f"all {len(chosen)} active location(s)"
    else:
        chosen = {loc: q for loc, q in snapshot.levels.items() if loc in rule.location_ids}
        if not chosen:
            raise _Missing("the variant is not stocked at the chosen location(s)")
        where = f"{len(chosen)} chosen location(s)"
    negatives = sum(1 for q in chosen.values() if q < 0)
    total = sum(max(q, 0) for q in chosen.values())
    trace.append(f"Shopify available over {where} = {total}")
    if negatives:
        trace.append(f"{negatives} oversold location(s) counted as 0")
    return total


def _missing_stock(rule: Rule, reason: str) -> Result:
    if rule.missing_stock == MissingStock.ZERO:
        return Result(0, (f"Stock missing: {reason}", "Policy: send 0", "Amazon gets 0"), True)
    if rule.missing_stock == MissingStock.FIXED:
        n = max(rule.missing_quantity, 0)
        return Result(
            n, (f"Stock missing: {reason}", f"Policy: send {n}", f"Amazon gets {n}"), True
        )
    return Result(
        None, (f"Stock missing: {reason}", "Policy: keep Amazon's quantity as it is"), True
    )
