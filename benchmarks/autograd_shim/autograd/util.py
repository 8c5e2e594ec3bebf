from .test_util import check_equivalent  # noqa: F401
