SELECT beat FROM errand_workers ORDER BY name
