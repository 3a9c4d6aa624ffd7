"""The image generators by short name (``simulacra image fit --model NAME``)."""

from __future__ import annotations

from simulacra.images.base import ImageGenerator
from simulacra.images.diffusion import ImageDiffusion
from simulacra.images.vae import ImageVAE

#: Short name -> generator class; the first is the default.
GENERATORS: dict[str, type[ImageGenerator]] = {"diffusion": ImageDiffusion, "vae": ImageVAE}


def make_generator(name: str = "diffusion", **params: object) -> ImageGenerator:
    """A generator by short name, with parameters (and the runtime setting ``device``, not saved).

    Examples
    --------
    >>> make_generator("vae", steps=10).steps
    10
    """
    from simulacra.errors import InputError

    if name not in GENERATORS:
        raise InputError(f"Unknown image model {name!r}; available: {', '.join(GENERATORS)}.")
    cls = GENERATORS[name]
    unknown = sorted(set(params) - set(cls.PARAMS) - set(cls.RUNTIME))
    if unknown:
        raise InputError(f"The {name} image model has no parameter {', '.join(unknown)}; it takes {', '.join(cls.PARAMS)}.")
    return cls(**params)  # type: ignore[arg-type]
