"""Analytics: the admin dashboard's read model (:mod:`.dashboard`)."""
