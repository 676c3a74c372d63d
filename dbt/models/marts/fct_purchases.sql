with

purchases as (
    select * from {{ ref('stg_silver__purchases') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select
        purchases.order_id,
        purchases.customer_id,
        purchases.product_id,
        purchases.quantity,
        purchases.unit_price,
        purchases.total_amount,
        purchases.purchased_at,
        cast(purchases.purchased_at as date) as purchase_date,
        cast(year(purchases.purchased_at) as integer) as purchase_year,
        cast(month(purchases.purchased_at) as integer) as purchase_month,
        cast(day(purchases.purchased_at) as integer) as purchase_day,
        cast(hour(purchases.purchased_at) as integer) as purchase_hour,
        customers.country as customer_country,
        customers.email_domain as customer_email_domain,
        customers.signed_up_at as customer_signed_up_at,
        customers.segment as customer_segment,
        purchases.is_late
    from purchases
    inner join customers
        on purchases.customer_id = customers.customer_id
)

select * from final
