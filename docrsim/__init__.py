"""docrsim: a local simulator and test double of the DigitalOcean Container Registry."""

__version__ = "0.1.0"

__all__ = ["Simulator", "__version__"]


def __getattr__(name):
    # Imported on first use, so `import docrsim` stays light for the CLI and the plugin.
    if name == "Simulator":
        from docrsim.simulator import Simulator

        return Simulator
    raise AttributeError(name)
