from riesz.misc.optimizers import *  # noqa: F401,F403
