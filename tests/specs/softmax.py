from riesz import nn

from .case import Case

SPECS = {
    "logsumexp": [Case(nn.logsumexp, [(3, 4)]),
                  Case(lambda x: nn.logsumexp(x, axis=0, keepdims=True), [(3, 4)]),
                  Case(lambda x: nn.logsumexp(x, axis=(0, 2)), [(2, 3, 4)]),
                  Case(lambda x: nn.logsumexp(x, axis=None), [(2, 3)])],
    "log_softmax": [Case(nn.log_softmax, [(3, 4)]),
                    Case(lambda x: nn.log_softmax(x, axis=0) ** 2, [(3, 4)]),
                    Case(lambda x: nn.log_softmax(x, axis=(1, 2)), [(2, 3, 2)])],
    "softmax": [Case(nn.softmax, [(3, 4)]),
                Case(lambda x: nn.softmax(x, axis=1) ** 2, [(2, 3, 4)]),
                Case(lambda x: nn.softmax(2 * x, axis=None), [(2, 3)])],
}
