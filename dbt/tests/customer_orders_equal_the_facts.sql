-- Business rule: every order is counted once in its customer's lifetime totals.
select customers.customer_id
from {{ ref('dim_customers') }} as customers
left join (
    select customer_id, count(*) as orders, sum(total_amount) as spent
    from {{ ref('fct_purchases') }}
    group by customer_id
) as facts
    on customers.customer_id = facts.customer_id
where customers.total_orders != coalesce(facts.orders, 0)
    or customers.total_spent != coalesce(facts.spent, 0)
