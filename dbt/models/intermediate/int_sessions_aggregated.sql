with

events as (
    select * from {{ ref('stg_silver__clickstream') }}
),

sessions as (
    select
        session_id,
        min(customer_id) as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events,
        count(distinct page_path) as pages_seen,
        bool_or(event_type = 'page_view' and product_id is not null) as viewed_product,
        bool_or(event_type = 'add_to_cart') as reached_cart,
        bool_or(event_type = 'purchase') as converted
    from events
    group by session_id
),

final as (
    select
        session_id,
        customer_id,
        started_at,
        ended_at,
        cast(date_diff('second', started_at, ended_at) as bigint) as session_seconds,
        events,
        pages_seen,
        viewed_product,
        reached_cart,
        converted,
        case
            when converted then 'converted'
            when reached_cart then 'cart'
            when viewed_product then 'product_view'
            else 'browse'
        end as funnel_stage
    from sessions
)

select * from final
