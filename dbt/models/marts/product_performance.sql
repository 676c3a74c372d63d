with

events as (
    select * from {{ ref('stg_silver__clickstream') }}
),

purchases as (
    select * from {{ ref('fct_purchases') }}
),

funnel as (
    select
        product_id,
        count(*) filter (where event_type = 'page_view') as views,
        count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_type = 'purchase') as checkouts
    from events
    where product_id is not null
    group by product_id
),

sales as (
    select
        product_id,
        count(*) as orders,
        sum(quantity) as units_sold,
        sum(total_amount) as revenue
    from purchases
    group by product_id
),

final as (
    select
        coalesce(funnel.product_id, sales.product_id) as product_id,
        cast(coalesce(funnel.views, 0) as bigint) as views,
        cast(coalesce(funnel.add_to_carts, 0) as bigint) as add_to_carts,
        cast(coalesce(funnel.checkouts, 0) as bigint) as checkouts,
        cast(coalesce(sales.orders, 0) as bigint) as orders,
        cast(coalesce(sales.units_sold, 0) as bigint) as units_sold,
        cast(coalesce(sales.revenue, 0) as decimal(18, 2)) as revenue,
        cast(funnel.add_to_carts / nullif(funnel.views, 0) as double) as view_to_cart_rate,
        cast(funnel.checkouts / nullif(funnel.add_to_carts, 0) as double) as cart_to_purchase_rate
    from funnel
    full outer join sales
        on funnel.product_id = sales.product_id
)

select * from final
