  )
  UNION ALL
  (
