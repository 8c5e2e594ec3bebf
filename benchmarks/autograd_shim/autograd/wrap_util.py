def unary_to_nary(unary_operator):
    """autograd's decorator: an operator of f and x made one of f and its argnum-th argument."""
    def nary_operator(fun, argnum=0, *nary_op_args, **nary_op_kwargs):
        def nary_f(*args, **kwargs):
            def unary_f(x):
                return fun(*args[:argnum], x, *args[argnum + 1:], **kwargs)
            return unary_operator(unary_f, args[argnum], *nary_op_args, **nary_op_kwargs)
        return nary_f
    return nary_operator
