with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

final as (
    select
        session_date,
        cast(count(*) as bigint) as sessions,
        cast(count(*) filter (where viewed_product) as bigint) as viewed_product,
        cast(count(*) filter (where reached_cart) as bigint) as reached_cart,
        cast(count(*) filter (where converted) as bigint) as converted,
        cast(avg(session_seconds) as double) as average_session_seconds,
        cast(count(*) filter (where converted) / count(*) as double) as conversion_rate
    from sessions
    group by session_date
)

select * from final
