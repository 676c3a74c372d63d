"""Valid retail events with realistic relations: customers sign up, browse in sessions and buy what they carted.

Everything is deterministic from the seed: the same seed gives the same events, byte for byte, in the same order.
The seed also names the dataset in every natural id (customer ``C2a-0000042`` of seed 42), so two datasets never
share an id: a re-send keeps its event's id, another run's event never takes it.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from faker import Faker

from retail.contracts import CLICKSTREAM, CONTRACTS, CUSTOMERS, PURCHASES

COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "PL")
COUNTRY_WEIGHTS = (30, 14, 12, 10, 7, 6, 5, 6, 5, 5)
# Purchases per customer: many never buy, a few buy often (the gold segments need all four kinds).
PURCHASE_COUNTS = (0, 1, 2, 3, 5, 8)
PURCHASE_COUNT_WEIGHTS = (25, 35, 15, 12, 8, 5)
CATALOG_SIZE = 60


def dataset_code(seed: int) -> str:
    """Returns the short name of the dataset a seed makes (its hexadecimal form), part of every natural id."""
    return f"{seed:x}" if seed >= 0 else f"n{-seed:x}"


def iso(ts: datetime) -> str:
    """Returns the ISO-8601 form of a timestamp as events carry it."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Event:
    """One valid event: its entity, the key that orders it in Kafka and its payload (JSON-ready values)."""

    entity: str
    key: str
    payload: dict[str, object]

    @property
    def event_id(self) -> str:
        """Returns the event's id as it travels in the payload."""
        return str(self.payload["event_id"])


@dataclass(frozen=True)
class Product:
    """One item of the generated catalogue."""

    product_id: str
    price: Decimal
    weight: float


def catalog(seed: int) -> tuple[Product, ...]:
    """Returns the product catalog: fixed prices and Zipf-like popularity, deterministic from the seed."""
    rng = random.Random(f"catalog:{seed}")
    return tuple(
        Product(
            f"P{i:04d}",
            Decimal(rng.choice((4.99, 9.99, 14.5, 19.99, 29.0, 49.95, 99.0, 249.0))).quantize(Decimal("0.01")),
            1.0 / i,
        )
        for i in range(1, CATALOG_SIZE + 1)
    )


class EventFactory:
    """Makes waves of valid events. Wave ``w`` holds ``customers_per_wave`` new customers, their sessions and
    purchases, one hour of event time after the previous wave."""

    def __init__(self, seed: int, customers_per_wave: int, start: datetime) -> None:
        self.seed = seed
        self.dataset = dataset_code(seed)
        self.customers_per_wave = customers_per_wave
        self.start = start
        self.products = catalog(seed)
        self._weights = [p.weight for p in self.products]
        self._fake = Faker()

    def wave(self, w: int) -> list[Event]:
        """Returns the valid events of wave ``w`` in event-time order per customer."""
        rng = random.Random(f"wave:{self.seed}:{w}")
        self._fake.seed_instance(self.seed * 1_000_003 + w)
        wave_start = self.start + timedelta(hours=w)
        events: list[Event] = []
        for i in range(self.customers_per_wave):
            n = w * self.customers_per_wave + i
            events.extend(self._customer_story(rng, n, wave_start + timedelta(seconds=rng.uniform(0, 3000))))
        return events

    def _customer_story(self, rng: random.Random, n: int, signup: datetime) -> list[Event]:
        customer_id = f"C{self.dataset}-{n:07d}"
        first, last = self._fake.first_name(), self._fake.last_name()
        domain = self._fake.free_email_domain()
        events = [
            self._event(
                CUSTOMERS.entity,
                customer_id,
                {
                    "customer_id": customer_id,
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}{n % 97}@{domain}".lower(),
                    "country": rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0],
                    "signup_date": iso(signup),
                },
            )
        ]
        clock = signup
        purchases = rng.choices(PURCHASE_COUNTS, PURCHASE_COUNT_WEIGHTS)[0]
        browses = rng.randint(0, 2)
        for s in range(purchases + browses):
            clock += timedelta(minutes=rng.uniform(1, 600))
            session_id = f"S{self.dataset}-{n:07d}-{s:02d}"
            product = rng.choices(self.products, self._weights)[0]
            buys = s < purchases
            session, clock = self._session(rng, customer_id, session_id, product, clock, buys)
            events.extend(session)
        return events

    def _session(
        self, rng: random.Random, customer_id: str, session_id: str, product: Product, clock: datetime, buys: bool
    ) -> tuple[list[Event], datetime]:
        """A funnel: landing views, browsing, the product page, then cart and purchase (always, when ``buys``)."""
        steps: list[tuple[str, str, str | None]] = [("page_view", "/", None)]
        for _ in range(rng.randint(0, 3)):
            steps.append((rng.choice(("page_view", "click", "scroll")), f"/category/{rng.randint(1, 8)}", None))
        steps.append(("page_view", f"/product/{product.product_id}", product.product_id))
        carts = buys or rng.random() < 0.3
        if carts:
            steps.append(("add_to_cart", f"/product/{product.product_id}", product.product_id))
        if buys:
            steps.append(("purchase", "/checkout/complete", product.product_id))
        events = []
        for event_type, url, product_id in steps:
            clock += timedelta(seconds=rng.uniform(2, 90))
            events.append(
                self._event(
                    CLICKSTREAM.entity,
                    customer_id,
                    {
                        "user_id": customer_id,
                        "session_id": session_id,
                        "page_url": f"https://shop.example.com{url}",
                        "event_type": event_type,
                        "product_id": product_id,
                        "timestamp": iso(clock),
                    },
                )
            )
        if buys:
            order_id = f"O{session_id[1:]}"
            events.append(
                self._event(
                    PURCHASES.entity,
                    customer_id,
                    {
                        "order_id": order_id,
                        "customer_id": customer_id,
                        "product_id": product.product_id,
                        "quantity": rng.choices((1, 2, 3, 4, 6), (60, 22, 10, 5, 3))[0],
                        "price": float(product.price),
                        "purchase_date": iso(clock),
                    },
                )
            )
        return events, clock

    @staticmethod
    def _event(entity: str, key: str, fields: dict[str, object]) -> Event:
        return Event(entity, key, {"event_id": CONTRACTS[entity].event_id_of(fields), **fields})


def waves(factory: EventFactory, shard: int = 0, shards: int = 1) -> Iterator[list[Event]]:
    """Yields wave after wave, without end: of shard ``shard`` of ``shards``, every ``shards``-th wave from
    ``shard`` on (the shards of one seed together make exactly the waves of the unsharded generator)."""
    for w in itertools.count(shard, shards):
        yield factory.wave(w)
