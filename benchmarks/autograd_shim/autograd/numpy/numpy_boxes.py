from riesz.core import Tracer as ArrayBox  # noqa: F401
