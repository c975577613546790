"""allora-ref: the executable reference specification of the Allora whitepaper v2024.8.14."""

from allora_ref.params import Params, load_profile

__version__ = "0.1.0"
__all__ = ["Params", "load_profile", "__version__"]
