"""Purchases: one event per order line."""

from retail.contracts.base import Column, Contract, Rule

MAX_AMOUNT = 10**10  # total_amount is decimal(12,2): below ten billion

PURCHASES = Contract(
    entity="purchases",
    topic="purchases",
    key="customer_id",
    event_time="purchase_date",
    identity=("order_id",),
    description="A customer bought a quantity of one product.",
    columns=(
        Column("order_id", "string"),
        Column("customer_id", "string", description="the generated customer who bought"),
        Column("product_id", "string"),
        Column("quantity", "int", description="units bought, positive"),
        Column("price", "decimal(10,2)", description="unit price, non-negative"),
        Column("purchase_date", "timestamp", description="when the order was placed, UTC"),
    ),
    rules=(
        Rule("nonpositive_quantity", "quantity <= 0", "at least one unit is bought"),
        Rule("negative_price", "price < 0", "a price may be zero (a gift), never negative"),
        Rule(
            "amount_out_of_range",
            f"try_multiply(CAST(quantity AS DECIMAL(20,0)), price) >= {MAX_AMOUNT}",
            "quantity × price fits the silver amount, decimal(12,2)",
        ),
    ),
)
