"""docrsim: a local simulator and test double of the DigitalOcean Container Registry."""

__version__ = "0.1.0"
