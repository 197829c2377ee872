"""Write-side services: the only modules that join the ORM, the live state and the engine."""
