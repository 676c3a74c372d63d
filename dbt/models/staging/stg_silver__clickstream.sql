with

source as (
    select * from {{ source('silver', 'clickstream') }}
),

renamed as (
    select
        event_id,
        user_id as customer_id,
        session_id,
        page_url,
        page_path,
        event_type,
        product_id,
        cast("timestamp" as timestamp) as occurred_at
    from source
)

select * from renamed
