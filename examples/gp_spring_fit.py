"""A realistic NumPy program, differentiated unchanged by riesz.

Three pieces of everyday scientific NumPy code, written with ``import numpy as np`` and
nothing else; riesz differentiates them as they are:

1. the negative log marginal likelihood of a Gaussian process: a kernel matrix, its
   Cholesky factor, two triangular solves and the log-determinant from the factor's
   diagonal; differentiated with respect to the kernel's hyperparameters;
2. a variable-projection least-squares fit: for a damped oscillation with unknown frequency
   and damping, the linear coefficients come from ``np.linalg.lstsq`` inside the objective,
   which is differentiated with respect to the nonlinear parameters;
3. a damped chain of masses and springs integrated with the symplectic Euler method, whose
   force array is assembled with in-place indexed updates (``forces[1:] -= tension``,
   ``v[0] = 0.0``); the misfit of the last mass's trajectory is differentiated with
   respect to every spring's stiffness and every initial position.

Run ``python examples/gp_spring_fit.py``: each gradient is compared with central finite
differences and the largest relative error is printed.
"""
import numpy as np

import riesz

# ------------------------------------------------------------ 1. Gaussian-process likelihood


def rbf_kernel(x1, x2, log_lengthscale, log_amplitude):
    """k(x, x') = a² exp(−(x − x')² / 2ℓ²)."""
    squared_distance = (x1[:, None] - x2[None, :]) ** 2
    return np.exp(2 * log_amplitude) * np.exp(-0.5 * squared_distance / np.exp(2 * log_lengthscale))


def gp_negative_log_likelihood(params, x, y):
    """−log p(y | x, θ) = ½ yᵀK⁻¹y + ½ log det K + (n/2) log 2π, with K = LLᵀ."""
    log_lengthscale, log_amplitude, log_noise = params[0], params[1], params[2]
    n = len(x)
    K = rbf_kernel(x, x, log_lengthscale, log_amplitude) + np.exp(2 * log_noise) * np.eye(n)
    L = np.linalg.cholesky(K)
    z = np.linalg.solve(L, y)            # L z = y
    alpha = np.linalg.solve(L.T, z)      # Lᵀ α = z, so α = K⁻¹ y
    log_det = 2 * np.sum(np.log(np.diag(L)))
    return 0.5 * y @ alpha + 0.5 * log_det + 0.5 * n * np.log(2 * np.pi)


def gp_posterior_mean(params, x, y, x_new):
    """The posterior mean k(x_new, x) K⁻¹ y at new inputs."""
    K = rbf_kernel(x, x, params[0], params[1]) + np.exp(2 * params[2]) * np.eye(len(x))
    return rbf_kernel(x_new, x, params[0], params[1]) @ np.linalg.solve(K, y)


# ------------------------------------------------------------ 2. variable projection


def design_matrix(frequency, damping, t):
    envelope = np.exp(-damping * t)
    return np.column_stack([envelope * np.sin(frequency * t),
                            envelope * np.cos(frequency * t),
                            np.ones_like(t)])


def projected_misfit(theta, t, y):
    """min over linear coefficients c of ½‖A(θ)c − y‖², with c from a least-squares solve."""
    A = design_matrix(theta[0], theta[1], t)
    coefficients, *_ = np.linalg.lstsq(A, y, rcond=None)
    residual = A @ coefficients - y
    return 0.5 * residual @ residual


# ------------------------------------------------------------ 3. a chain of springs


def spring_forces(x, v, stiffness, rest_length, drag):
    """Forces on each mass of a chain: drag, plus each spring pulling its two ends."""
    tension = stiffness * (x[1:] - x[:-1] - rest_length)
    forces = np.concatenate([tension, [0.0]])   # each spring pulls its left mass to the right
    forces[1:] -= tension                       # and its right mass to the left
    forces -= drag * v                          # the drag on every mass
    return forces


def simulate_chain(stiffness, x0, steps=150, dt=0.02, rest_length=1.0, drag=0.3):
    """Symplectic Euler; the first mass is pinned. Returns the last mass's trajectory."""
    x, v = x0.copy(), np.zeros(x0.shape)
    trajectory = []
    for _ in range(steps):
        v = v + dt * spring_forces(x, v, stiffness, rest_length, drag)
        v[0] = 0.0                       # pinned
        x = x + dt * v
        trajectory.append(x[-1])
    return np.stack(trajectory)


def trajectory_misfit(stiffness, x0, observed):
    return np.mean((simulate_chain(stiffness, x0) - observed) ** 2)


# ------------------------------------------------------------ data and the check


def make_problems(seed=0):
    """Each problem: (name, function of one array, point, extra arguments)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 5, 25))
    y = np.sin(x) + 0.1 * rng.standard_normal(25)

    t = np.linspace(0, 4, 60)
    signal = np.exp(-0.4 * t) * (1.5 * np.sin(2.5 * t) - 0.5 * np.cos(2.5 * t)) + 0.2
    signal = signal + 0.02 * rng.standard_normal(t.size)

    true_stiffness = np.array([4.0, 3.0, 5.0, 2.5])
    x0 = np.arange(5.0) * 1.1
    observed = simulate_chain(true_stiffness, x0)
    guess = np.array([3.5, 3.5, 3.5, 3.5])
    return [
        ("GP negative log likelihood", gp_negative_log_likelihood,
         np.array([0.1, -0.2, -1.5]), (x, y)),
        ("GP posterior mean at 2.5", lambda p, x, y: gp_posterior_mean(p, x, y, np.array([2.5]))[0],
         np.array([0.1, -0.2, -1.5]), (x, y)),
        ("variable projection fit", projected_misfit, np.array([2.3, 0.5]), (t, signal)),
        ("spring chain: stiffness", lambda k, x0, obs: trajectory_misfit(k, x0, obs),
         guess, (x0, observed)),
        ("spring chain: initial positions", lambda x0, k, obs: trajectory_misfit(k, x0, obs),
         x0 + 0.05, (true_stiffness, observed)),
    ]


def central_differences(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        g.flat[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def check(seed=0):
    """(name, value, gradient, largest relative error against finite differences) for each
    problem."""
    results = []
    for name, f, point, extra in make_problems(seed):
        value, gradient = riesz.value_and_grad(f)(point, *extra)
        reference = central_differences(lambda p: f(p, *extra), point)
        error = np.max(np.abs(gradient - reference)) / max(np.max(np.abs(reference)), 1e-12)
        results.append((name, float(value), gradient, float(error)))
    return results


def gradient_descent(f, point, extra, steps=50, learning_rate=0.05):
    """Plain gradient descent with backtracking: halve the step until f decreases."""
    value_and_gradient = riesz.value_and_grad(f)
    value, gradient = value_and_gradient(point, *extra)
    for _ in range(steps):
        step = learning_rate
        while step > 1e-12:
            candidate = point - step * gradient
            candidate_value = f(candidate, *extra)
            if candidate_value < value:
                break
            step /= 2
        else:
            break
        point = candidate
        value, gradient = value_and_gradient(point, *extra)
        learning_rate = 2 * step
    return point, value


if __name__ == "__main__":
    for name, value, gradient, error in check():
        print(f"{name:32s} value {value:10.5f}  gradient {np.array2string(gradient, precision=4)}"
              f"  rel. error vs finite differences {error:.1e}")
    problems = {name: (f, point, extra) for name, f, point, extra in make_problems()}
    for name in ("GP negative log likelihood", "spring chain: stiffness"):
        f, point, extra = problems[name]
        fitted, value = gradient_descent(f, point, extra)
        print(f"fitted {name}: {f(point, *extra):.5f} -> {value:.5f} at "
              f"{np.array2string(fitted, precision=3)}")
