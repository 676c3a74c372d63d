with

customers as (
    select * from {{ ref('stg_silver__customers') }}
),

purchases as (
    select * from {{ ref('stg_silver__purchases') }}
),

orders_per_customer as (
    select
        customer_id,
        count(*) as total_orders,
        sum(total_amount) as total_spent,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at
    from purchases
    group by customer_id
),

final as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.email,
        customers.email_domain,
        customers.country,
        customers.signed_up_at,
        cast(coalesce(orders.total_orders, 0) as bigint) as total_orders,
        cast(coalesce(orders.total_spent, 0) as decimal(18, 2)) as total_spent,
        cast(orders.total_spent / orders.total_orders as decimal(18, 2)) as average_order_value,
        cast(orders.first_purchased_at as date) as first_purchase_date,
        cast(orders.last_purchased_at as date) as last_purchase_date,
        {{ customer_segment('coalesce(orders.total_orders, 0)') }} as segment
    from customers
    left join orders_per_customer as orders
        on customers.customer_id = orders.customer_id
)

select * from final
