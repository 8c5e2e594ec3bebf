from riesz.misc.fixed_points import fixed_point  # noqa: F401
