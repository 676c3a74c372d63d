-- Rows that reached silver and rows quarantined (one row per reason) per entity and ingestion date (UTC).
{%- set entities = ['customers', 'purchases', 'clickstream'] %}

with

accepted as (
    {%- for entity in entities %}
    select cast(ingested_at as date) as ingest_date, '{{ entity }}' as entity
    from {{ source('silver', entity) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

{% if var('has_quarantine', false) %}
quarantine as (
    select entity, topic, "partition", "offset", reasons, ingested_at
    from {{ source('audit', 'quarantine') }}
),
{% else %}
quarantine as (
    select
        null::varchar as entity,
        null::varchar as topic,
        null::integer as "partition",
        null::bigint as "offset",
        null::varchar[] as reasons,
        null::timestamp as ingested_at
    where false
),
{% endif %}

{% if var('has_released', false) %}
released as (
    select entity, topic, "partition", "offset"
    from {{ source('audit', 'released') }}
),
{% else %}
released as (
    select null::varchar as entity, null::varchar as topic, null::integer as "partition", null::bigint as "offset"
    where false
),
{% endif %}

outstanding as (
    select quarantine.*
    from quarantine
    anti join released
        on quarantine.entity = released.entity
        and quarantine.topic = released.topic
        and quarantine."partition" = released."partition"
        and quarantine."offset" = released."offset"
),

rejected as (
    select cast(ingested_at as date) as ingest_date, entity, unnest(reasons) as reason
    from outstanding
),

final as (
    select ingest_date, entity, 'silver' as outcome, cast(null as varchar) as reason, count(*) as row_count
    from accepted
    group by all
    union all
    select ingest_date, entity, 'quarantined' as outcome, reason, count(*) as row_count
    from rejected
    group by all
)

select
    ingest_date,
    entity,
    outcome,
    reason,
    cast(row_count as bigint) as row_count
from final
