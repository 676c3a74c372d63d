with

source as (
    select * from {{ source('silver', 'purchases') }}
),

renamed as (
    select
        order_id,
        customer_id,
        product_id,
        cast(quantity as integer) as quantity,
        cast(price as decimal(10, 2)) as unit_price,
        cast(total_amount as decimal(12, 2)) as total_amount,
        cast(purchase_date as timestamp) as purchased_at,
        is_late,
        event_id
    from source
)

select * from renamed
