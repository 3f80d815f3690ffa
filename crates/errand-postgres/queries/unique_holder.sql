SELECT id FROM {schema}.jobs WHERE unique_slot = $1
