-- Business rule: each day's revenue, orders and units in the summary equal the sums over the purchase facts.
with

facts as (
    select purchase_date, sum(total_amount) as revenue, count(*) as orders, sum(quantity) as units
    from {{ ref('fct_purchases') }}
    group by purchase_date
)

select *
from {{ ref('daily_sales_summary') }} as summary
full outer join facts
    on summary.sale_date = facts.purchase_date
where summary.revenue is distinct from facts.revenue
    or summary.orders is distinct from facts.orders
    or summary.units is distinct from facts.units
