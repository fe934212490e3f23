"""The laws of the complex outputs, by KS tests at fixed seeds against exact distributions.

- normal: real and imaginary parts each N(mean, std**2 / 2), uncorrelated;
- uniform: each part U(low, high);
- JAX's complex uniform: uniform on the disk of radius ``sd sqrt(2)``: ``|z|**2 / (2 sd**2)`` is
  U(0, 1), the angle uniform;
- JAX's complex truncated normal: ``|z|**2`` (scale removed) is Exp(1) truncated to [0, 4];
- orthogonal: Haar unitary: ``|Q[0, 0]|**2`` of an ``n x n`` matrix is Beta(1, n - 1) and the
  phase of ``Q[0, 0]`` uniform.
"""
import math

import numpy as np
import pytest
from scipy import stats

import fastinit as fi

P_MIN = 1e-4
N = 200_000
COMPLEX = ["complex64", "complex128"]


@pytest.mark.parametrize("dtype", COMPLEX)
def test_normal_parts(dtype):
    z = fi.normal(N, 0.5, 3.0, dtype=dtype, seed=1)
    sd = 3.0 / math.sqrt(2.0)
    for part in (z.real, z.imag):
        assert stats.kstest(part.astype(np.float64), "norm", args=(0.5, sd)).pvalue > P_MIN
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 0.01
    assert abs(np.mean(np.abs(z - (0.5 + 0.5j)) ** 2) / 9.0 - 1) < 0.01


@pytest.mark.parametrize("dtype", COMPLEX)
def test_uniform_parts(dtype):
    z = fi.uniform(N, -1.0, 2.0, dtype=dtype, seed=2)
    for part in (z.real, z.imag):
        assert stats.kstest(part.astype(np.float64), "uniform", args=(-1.0, 3.0)).pvalue > P_MIN
    assert abs(np.corrcoef(z.real, z.imag)[0, 1]) < 0.01


def _vs(distribution, dtype, seed):
    """JAX's variance scaling with variance 1/2 (scale 1, fan_in 2), N complex draws."""
    z = fi.variance_scaling((N // 2, 2, 1), 1.0, "fan_in", distribution, convention="jax",
                            in_axis=1, out_axis=2, batch_axis=0, dtype=dtype, seed=seed)
    return z.reshape(-1).astype(np.complex128), math.sqrt(0.5)


def _angle_uniform(z):
    return stats.kstest(np.angle(z), "uniform", args=(-math.pi, 2 * math.pi)).pvalue > P_MIN


@pytest.mark.parametrize("dtype", COMPLEX)
def test_jax_complex_uniform_is_uniform_on_the_disk(dtype):
    z, sd = _vs("uniform", dtype, 3)
    assert stats.kstest(np.abs(z) ** 2 / (2 * sd * sd), "uniform").pvalue > P_MIN
    assert _angle_uniform(z)
    assert np.abs(z).max() <= sd * math.sqrt(2) * (1 + 1e-6)
    assert abs(np.mean(np.abs(z) ** 2) / sd**2 - 1) < 0.01  # unit variance law, scaled


@pytest.mark.parametrize("dtype", COMPLEX)
def test_jax_complex_truncated_normal_modulus(dtype):
    z, sd = _vs("truncated_normal", dtype, 4)
    x = (np.abs(z) * 0.95311164380491208 / sd) ** 2  # Exp(1) truncated to [0, 4]
    cdf = lambda t: -np.expm1(-np.clip(t, 0, 4)) / -math.expm1(-4.0)  # noqa: E731
    assert stats.kstest(x, cdf).pvalue > P_MIN
    assert x.max() <= 4 * (1 + 1e-5)
    assert _angle_uniform(z)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_jax_complex_normal_variance(dtype):
    z, sd = _vs("normal", dtype, 5)
    assert stats.kstest(np.abs(z) ** 2 / sd**2, "expon").pvalue > P_MIN  # |z|**2 ~ Exp(1)
    assert _angle_uniform(z)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_orthogonal_is_haar_unitary(dtype):
    n, draws = 3, 600
    first = np.array([fi.orthogonal((n, n), dtype=dtype, seed=7, stream=s)[0, 0]
                      for s in range(draws)]).astype(np.complex128)
    assert stats.kstest(np.abs(first) ** 2, "beta", args=(1, n - 1)).pvalue > P_MIN
    assert _angle_uniform(first)
