SELECT beat FROM {schema}.workers ORDER BY name
