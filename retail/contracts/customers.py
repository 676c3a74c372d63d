"""Customer sign-ups: one event per customer."""

from retail.contracts.base import Column, Contract, Rule

EMAIL_PATTERN = "^[^@ ]+@[^@ ]+[.][A-Za-z]{2,}$"  # no backslashes: it goes into a SQL string literal

CUSTOMERS = Contract(
    entity="customers",
    topic="customers",
    key="customer_id",
    event_time="signup_date",
    identity=("customer_id",),
    description="A customer signed up.",
    columns=(
        Column("customer_id", "string", description="stable customer identifier, e.g. C2a-0000042"),
        Column("name", "string"),
        Column("email", "string"),
        Column("country", "string", description="ISO 3166-1 alpha-2 code"),
        Column("signup_date", "timestamp", description="when the customer signed up, UTC"),
    ),
    rules=(Rule("invalid_email", f"NOT trim(email) RLIKE '{EMAIL_PATTERN}'", "an address with one @ and a domain"),),
)
