  )
) AS page
ORDER BY id DESC
LIMIT $8
