with

purchases as (
    select * from {{ ref('fct_purchases') }}
),

first_purchase as (
    select customer_id, min(purchase_date) as first_purchase_date
    from purchases
    group by customer_id
),

daily as (
    select
        purchases.purchase_date as sale_date,
        sum(purchases.total_amount) as revenue,
        count(*) as orders,
        sum(purchases.quantity) as units,
        count(distinct purchases.customer_id) as unique_customers,
        count(distinct case
            when first_purchase.first_purchase_date = purchases.purchase_date then purchases.customer_id
        end) as new_customers
    from purchases
    inner join first_purchase
        on purchases.customer_id = first_purchase.customer_id
    group by purchases.purchase_date
),

final as (
    select
        sale_date,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(orders as bigint) as orders,
        cast(units as bigint) as units,
        cast(unique_customers as bigint) as unique_customers,
        cast(new_customers as bigint) as new_customers,
        cast(unique_customers - new_customers as bigint) as returning_customers,
        cast(revenue / orders as decimal(18, 2)) as average_order_value
    from daily
)

select * from final
