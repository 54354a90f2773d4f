"""The pure domain model of docrsim: no HTTP, no Flask."""
