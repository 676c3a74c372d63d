"""Website clickstream: one event per page interaction."""

from retail.contracts.base import Column, Contract, Rule

EVENT_TYPES = ("page_view", "click", "scroll", "add_to_cart", "purchase")
PRODUCT_EVENT_TYPES = ("add_to_cart", "purchase")

CLICKSTREAM = Contract(
    entity="clickstream",
    topic="clickstream",
    key="user_id",
    event_time="timestamp",
    identity=("session_id", "timestamp", "event_type"),  # one interaction of a session at an instant
    description="A visitor interacted with a page during a session.",
    columns=(
        Column("user_id", "string", description="the customer_id of the visitor"),
        Column("session_id", "string"),
        Column("page_url", "string"),
        Column("event_type", "string", description=f"one of {', '.join(EVENT_TYPES)}"),
        Column("product_id", "string", required=False, description="set for product pages and cart/purchase"),
        Column("timestamp", "timestamp", description="when it happened, UTC"),
    ),
    rules=(
        Rule("invalid_url", "page_url IS NOT NULL AND try_parse_url(page_url, 'PATH') IS NULL", "a parseable URL"),
        Rule("unknown_event_type", f"event_type NOT IN ({', '.join(repr(t) for t in EVENT_TYPES)})"),
        Rule(
            "product_id_required",
            f"event_type IN ({', '.join(repr(t) for t in PRODUCT_EVENT_TYPES)}) AND product_id IS NULL",
        ),
    ),
)
