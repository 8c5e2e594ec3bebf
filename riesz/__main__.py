"""``python -m riesz``: the seeds' worked examples, computed by riesz."""
import numpy as np

import riesz


def four_variables():
    # f(u, v) = (u + v)², u = (a + b)², v = (a − b)², a = (w + x + y + z)², b = (w + x − y − z)²
    def f(w, x, y, z):
        a, b = (w + x + y + z) ** 2, (w + x - y - z) ** 2
        u, v = (a + b) ** 2, (a - b) ** 2
        return (u + v) ** 2

    point = (-1.0, 0.0, -2.0, 1.0)
    value, grads = riesz.value_and_grad(f, argnums=(0, 1, 2, 3))(*point)
    print(f"f(w, x, y, z) at {point}: {value:g}")
    for name, g in zip("wxyz", grads):
        print(f"  ∂f/∂{name} = {g:g}")


def main():
    print("riesz: derivatives of NumPy code, as linear maps\n")
    print("1. The four-variable chain-rule example")
    four_variables()

    print("\n2. ∇ log(eˣ + eʸ) at (0, log 2): the softmax of (x, y)")
    g = riesz.grad(lambda v: np.log(np.sum(np.exp(v))))(np.array([0.0, np.log(2.0)]))
    print(f"  {g}  (expected [1/3, 2/3])")

    print("\n3. ∇ₓ (xᵀ A x) = (A + Aᵀ) x")
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((3, 3)), rng.standard_normal(3)
    g = riesz.grad(lambda x: x @ A @ x)(x)
    print(f"  riesz:     {g}\n  (A + Aᵀ)x: {(A + A.T) @ x}")

    print("\n4. A linear layer y = x W: the VJP never forms the Jacobian")
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    dy = rng.standard_normal((4, 2))
    y, pullback = riesz.vjp(lambda x, W: x @ W, x, W)
    dx, dW = pullback(dy)
    print(f"  dL/dx == dL/dy Wᵀ: {np.allclose(dx, dy @ W.T)};  dL/dW == xᵀ dL/dy: "
          f"{np.allclose(dW, x.T @ dy)}")

    print("\n5. Any order: d³/dx³ sin(x) at 0 = -cos(0)")
    print(f"  {riesz.grad(riesz.grad(riesz.grad(np.sin)))(0.0)}")

    print("\n6. Forward mode: ∂ tanh(x)(ẋ) at x = 2, ẋ = 1")
    print(f"  {riesz.jvp(np.tanh, (2.0,), (1.0,))[1]}  (1 − tanh²(2) = {1 - np.tanh(2.0)**2})")


if __name__ == "__main__":
    main()
