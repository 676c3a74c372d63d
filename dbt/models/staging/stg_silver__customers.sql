with

source as (
    select * from {{ source('silver', 'customers') }}
),

renamed as (
    select
        customer_id,
        name as customer_name,
        email,
        email_domain,
        country,
        cast(signup_date as timestamp) as signed_up_at,
        event_id
    from source
)

select * from renamed
