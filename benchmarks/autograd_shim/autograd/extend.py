from riesz.extend import defjvp, defvjp, primitive  # noqa: F401
