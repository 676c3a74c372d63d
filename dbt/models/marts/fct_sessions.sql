with

sessions as (
    select * from {{ ref('int_sessions_aggregated') }}
),

final as (
    select
        session_id,
        customer_id,
        started_at,
        cast(started_at as date) as session_date,
        ended_at,
        session_seconds,
        cast(events as bigint) as events,
        cast(pages_seen as bigint) as pages_seen,
        viewed_product,
        reached_cart,
        converted,
        funnel_stage
    from sessions
)

select * from final
