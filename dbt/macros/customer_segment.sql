{#- The segment of a customer with `orders` orders; thresholds are project vars, documented on dim_customers. -#}
{% macro customer_segment(orders) -%}
    case
        when {{ orders }} = 0 then 'No Purchases'
        when {{ orders }} = 1 then 'One-time'
        when {{ orders }} < {{ var('frequent_min_orders') }} then 'Regular'
        else 'Frequent'
    end
{%- endmacro %}
