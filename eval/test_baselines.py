"""Tests for eval/baselines.py. Run from /work/main:

    /usr/bin/python3 -m unittest eval.test_baselines
"""

import math
import time
import unittest

import numpy as np

from eval import baselines as B

DELTA = 1e-5


def chain_table(n=20000, seed=0):
    """A -> B -> C strong dependency chain, D independent. Sizes (5, 6, 4, 3)."""
    r = np.random.default_rng(seed)
    a = r.integers(0, 5, n)
    b = np.where(r.random(n) < 0.8, a, r.integers(0, 6, n))
    c = np.where(r.random(n) < 0.8, b % 4, r.integers(0, 4, n))
    d = r.integers(0, 3, n)
    return np.stack([a, b, c, d], axis=1).astype(np.int64), [5, 6, 4, 3]


def tvd_1way(x, y, j, k):
    p = np.bincount(x[:, j], minlength=k) / len(x)
    q = np.bincount(y[:, j], minlength=k) / len(y)
    return 0.5 * np.abs(p - q).sum()


def tvd_2way(x, y, i, j, ki, kj):
    p = np.bincount(x[:, i] * kj + x[:, j], minlength=ki * kj) / len(x)
    q = np.bincount(y[:, i] * kj + y[:, j], minlength=ki * kj) / len(y)
    return 0.5 * np.abs(p - q).sum()


def mean_tvd_2way(x, y, sizes):
    d = len(sizes)
    return float(np.mean([tvd_2way(x, y, i, j, sizes[i], sizes[j])
                          for i in range(d) for j in range(i + 1, d)]))


def check_output(tc, out, n_out, sizes):
    tc.assertIsInstance(out, np.ndarray)
    tc.assertEqual(out.shape, (n_out, len(sizes)))
    tc.assertEqual(out.dtype, np.int64)
    if n_out:
        tc.assertTrue(np.all(out >= 0))
        tc.assertTrue(np.all(out < np.asarray(sizes)[None, :]))


class TestGaussianDP(unittest.TestCase):
    def test_known_values(self):
        # privacy.md: at delta 1e-5, mu 0.268 <-> eps 1, mu 1.666 <-> eps 8
        self.assertAlmostEqual(B.gdp_epsilon(0.268, DELTA), 1.0, delta=0.02)
        self.assertAlmostEqual(B.gdp_epsilon(1.666, DELTA), 8.0, delta=0.16)
        for eps, mu in [(0.5, 0.142), (1, 0.268), (2, 0.502), (4, 0.925), (8, 1.666)]:
            self.assertAlmostEqual(B.gdp_mu(eps, DELTA), mu, delta=0.0015)

    def test_roundtrip_and_direction(self):
        for eps in [0.1, 1.0, 8.0, 30.0]:
            mu = B.gdp_mu(eps, DELTA)
            self.assertLessEqual(B.gdp_delta(eps, mu), DELTA)  # meets the target
            e2 = B.gdp_epsilon(mu, DELTA)
            self.assertGreaterEqual(e2, eps * (1 - 1e-9))
            self.assertAlmostEqual(e2, eps, delta=1e-6 * eps)

    def test_delta_numerics(self):
        # direct formula where it is safe
        for eps, mu in [(1.0, 0.5), (3.0, 1.2), (0.2, 0.1)]:
            from scipy.special import ndtr
            direct = ndtr(-eps / mu + mu / 2) - math.exp(eps) * ndtr(-eps / mu - mu / 2)
            self.assertAlmostEqual(B.gdp_delta(eps, mu), direct, delta=1e-12)
        # large epsilon: finite, in [0, 1], decreasing
        vals = [B.gdp_delta(e, 20.0) for e in (50, 100, 200, 400, 800)]
        self.assertTrue(all(0 <= v <= 1 and math.isfinite(v) for v in vals))
        self.assertTrue(all(a >= b for a, b in zip(vals, vals[1:])))
        self.assertGreater(vals[0], 0)

    def test_sigma(self):
        sig = [B.gaussian_sigma_for(e, DELTA, 1.0, 4) for e in (0.1, 0.5, 1, 2, 8)]
        self.assertTrue(all(a > b for a, b in zip(sig, sig[1:])))  # grows as eps shrinks
        s1 = B.gaussian_sigma_for(1.0, DELTA, 1.0, 1)
        self.assertAlmostEqual(B.gaussian_sigma_for(1.0, DELTA, 1.0, 9), 3 * s1, places=9)
        self.assertAlmostEqual(B.gaussian_sigma_for(1.0, DELTA, math.sqrt(2), 1), math.sqrt(2) * s1, places=9)
        # the composed release is exactly (eps, delta)-DP
        acc = B.account_independent(2.0, DELTA, 7, "replace-one")
        mu = math.sqrt(7) * math.sqrt(2) / acc["sigma"]
        self.assertAlmostEqual(B.gdp_epsilon(mu, DELTA), 2.0, delta=1e-6)
        self.assertAlmostEqual(B.account_independent(2.0, DELTA, 7, "add/remove-one")["sigma"],
                               acc["sigma"] / math.sqrt(2), places=9)


class TestZCDP(unittest.TestCase):
    def test_conversion_is_an_upper_bound_for_gaussian(self):
        # one Gaussian with sensitivity 1, noise sigma: exactly (1/sigma)-GDP and 1/(2 sigma^2)-zCDP
        for sigma in (0.3, 0.5, 1, 2, 5, 20):
            mu = 1.0 / sigma
            rho = mu * mu / 2
            exact = B.gdp_epsilon(mu, DELTA)
            z = B.zcdp_epsilon(rho, DELTA)
            self.assertGreaterEqual(z, exact)
            self.assertLessEqual(z, B.zcdp_epsilon_simple(rho, DELTA) + 1e-12)
            self.assertLessEqual(B.zcdp_delta(rho, z), DELTA * (1 + 1e-9))

    def test_rho_roundtrip(self):
        for eps in (0.5, 1, 2, 4, 8):
            rho = B.zcdp_rho(eps, DELTA)
            e2 = B.zcdp_epsilon(rho, DELTA)
            self.assertLessEqual(e2, eps * (1 + 1e-9))
            self.assertAlmostEqual(e2, eps, delta=1e-6 * eps)
            # tighter than the classic conversion: more rho for the same epsilon
            simple = (math.sqrt(math.log(1 / DELTA) + eps) - math.sqrt(math.log(1 / DELTA))) ** 2
            self.assertGreater(rho, simple)

    def test_tree_accounting(self):
        for d in (1, 2, 3, 10):
            for rel in B.RELATIONS:
                acc = B.account_marginal_tree(1.0, DELTA, d, rel)
                self.assertEqual(acc["relation"], rel)
                self.assertLessEqual(acc["epsilon_spent"], 1.0 + 1e-9)
                self.assertAlmostEqual(acc["epsilon_spent"], 1.0, delta=1e-6)
                parts = acc["rho_1way"] + acc["rho_select"] + acc["rho_2way"]
                self.assertAlmostEqual(parts, acc["rho"], places=12)
                # the sigmas give back the rho of their parts
                s = acc["l2_sensitivity"]
                self.assertAlmostEqual(d * s * s / (2 * acc["sigma_1way"] ** 2), acc["rho_1way"], places=12)
                if d >= 2:
                    self.assertAlmostEqual((d - 1) * s * s / (2 * acc["sigma_2way"] ** 2), acc["rho_2way"], places=12)
                if d >= 3:
                    self.assertAlmostEqual((d - 1) * acc["select_epsilon0"] ** 2 / 8, acc["rho_select"], places=12)
        self.assertEqual(B.account_marginal_tree(1, DELTA, 3, "replace-one")["score_sensitivity"], 2.0)
        self.assertEqual(B.account_marginal_tree(1, DELTA, 3, "add/remove-one")["score_sensitivity"], 1.0)


class RecordingRNG:
    """A numpy Generator that records the scale of every normal() draw (the noise the baselines
    actually add) and the number of cells it was drawn for."""

    def __init__(self, seed):
        self._g = np.random.default_rng(seed)
        self.scales = []

    def normal(self, loc=0.0, scale=1.0, size=None):
        self.scales.append((float(scale), int(np.prod(size)) if size is not None else 1))
        return self._g.normal(loc, scale, size)

    def __getattr__(self, name):
        return getattr(self._g, name)


class TestRelations(unittest.TestCase):
    """The same baseline calibrated for add/remove-one (unbounded DP: a histogram changes in one
    cell by one) and for replace-one (bounded: two cells by one each). The baselines use Gaussian
    noise, whose scale follows the L2 sensitivity: 1 vs sqrt(2), so sigma is sqrt(2) times smaller
    under add/remove-one at the same (epsilon, delta). (A Laplace mechanism would follow the L1
    sensitivity, 1 vs 2, and halve; here the L1 sensitivity is the exponential mechanism's score
    sensitivity, which halves.)"""

    def test_sensitivities(self):
        self.assertEqual(B.l2_sensitivity("add/remove-one"), 1.0)
        self.assertAlmostEqual(B.l2_sensitivity("replace-one"), math.sqrt(2), places=15)
        self.assertEqual(B._l1_sensitivity("add/remove-one"), 1.0)
        self.assertEqual(B._l1_sensitivity("replace-one"), 2.0)
        self.assertRaises(ValueError, B.l2_sensitivity, "replace")

    def test_independent_sigma_ratio(self):
        for eps in (0.5, 1.0, 8.0):
            for d in (1, 3, 9):
                rep = B.account_independent(eps, DELTA, d, "replace-one")
                add = B.account_independent(eps, DELTA, d, "add/remove-one")
                self.assertEqual(add["relation"], "add/remove-one")
                self.assertAlmostEqual(rep["sigma"] / add["sigma"], math.sqrt(2), places=12)
                self.assertEqual(rep["mu"], add["mu"])  # the same privacy, less noise
                # add/remove-one: d histograms of L2 sensitivity 1 at that sigma are exactly mu-GDP
                mu = math.sqrt(d) * 1.0 / add["sigma"]
                self.assertAlmostEqual(B.gdp_epsilon(mu, DELTA), eps, delta=1e-6 * eps)

    def test_tree_sigma_and_score_ratio(self):
        for eps in (0.5, 1.0, 8.0):
            for d in (2, 3, 9):
                rep = B.account_marginal_tree(eps, DELTA, d, "replace-one")
                add = B.account_marginal_tree(eps, DELTA, d, "add/remove-one")
                self.assertEqual(rep["rho"], add["rho"])
                self.assertAlmostEqual(rep["sigma_1way"] / add["sigma_1way"], math.sqrt(2), places=12)
                self.assertAlmostEqual(rep["sigma_2way"] / add["sigma_2way"], math.sqrt(2), places=12)
                self.assertEqual(rep["select_epsilon0"], add["select_epsilon0"])
                self.assertEqual(rep["score_sensitivity"] / add["score_sensitivity"], 2.0)  # L1: halves
                self.assertAlmostEqual(add["epsilon_spent"], eps, delta=1e-6 * eps)

    def test_noise_actually_added(self):
        """The scales the synthesizers draw their noise with are the accounted sigmas."""
        codes, sizes = chain_table(n=2000)
        d = len(sizes)
        for eps in (1.0, 8.0):
            drawn = {}
            for rel in B.RELATIONS:
                rng = RecordingRNG(0)
                B.independent(codes, sizes, eps, DELTA, 100, rng, relation=rel)
                sig = B.account_independent(eps, DELTA, d, rel)["sigma"]
                self.assertEqual(len(rng.scales), d)
                for sc, cells in rng.scales:
                    self.assertAlmostEqual(sc, sig, places=12)
                drawn[("independent", rel)] = rng.scales[0][0]
                rng = RecordingRNG(0)
                B.marginal_tree(codes, sizes, eps, DELTA, 100, rng, relation=rel)
                acc = B.account_marginal_tree(eps, DELTA, d, rel)
                self.assertEqual(len(rng.scales), d + d - 1)  # d 1-way, d-1 tree tables
                for sc, _ in rng.scales[:d]:
                    self.assertAlmostEqual(sc, acc["sigma_1way"], places=12)
                for sc, _ in rng.scales[d:]:
                    self.assertAlmostEqual(sc, acc["sigma_2way"], places=12)
                drawn[("tree", rel)] = rng.scales[-1][0]
            for m in ("independent", "tree"):
                self.assertAlmostEqual(drawn[(m, "replace-one")] / drawn[(m, "add/remove-one")],
                                       math.sqrt(2), places=12)


class TestIndependent(unittest.TestCase):
    def test_large_epsilon_reproduces_marginals(self):
        codes, sizes = chain_table()
        out = B.independent(codes, sizes, 100.0, DELTA, 20000, np.random.default_rng(1))
        check_output(self, out, 20000, sizes)
        for j, k in enumerate(sizes):
            self.assertLess(tvd_1way(codes, out, j, k), 0.02)

    def test_tiny_epsilon_does_not(self):
        r = np.random.default_rng(2)
        n = 2000
        codes = np.stack([np.where(r.random(n) < 0.9, 0, r.integers(0, 10, n)),
                          np.where(r.random(n) < 0.9, 3, r.integers(0, 8, n))], axis=1)
        sizes = [10, 8]
        out = B.independent(codes, sizes, 0.01, DELTA, 5000, np.random.default_rng(3))
        check_output(self, out, 5000, sizes)
        self.assertGreater(np.mean([tvd_1way(codes, out, j, k) for j, k in enumerate(sizes)]), 0.2)


class TestMarginalTree(unittest.TestCase):
    def test_recovers_chain_and_beats_independent(self):
        codes, sizes = chain_table()
        n_out = 40000
        tree = B.marginal_tree(codes, sizes, 8.0, DELTA, n_out, np.random.default_rng(4))
        ind = B.independent(codes, sizes, 8.0, DELTA, n_out, np.random.default_rng(4))
        check_output(self, tree, n_out, sizes)
        self.assertLess(tvd_2way(codes, tree, 0, 1, 5, 6), 0.05)
        self.assertLess(tvd_2way(codes, tree, 1, 2, 6, 4), 0.05)
        self.assertLess(mean_tvd_2way(codes, tree, sizes), mean_tvd_2way(codes, ind, sizes) - 0.1)

    def test_picks_chain_edges(self):
        codes, sizes = chain_table(n=5000)
        for eps in (1.0, 8.0):
            for rel in B.RELATIONS:
                hits = 0
                for seed in range(10):
                    m = B.marginal_tree_fit(codes, sizes, eps, DELTA, np.random.default_rng(seed), rel)
                    e = {tuple(sorted(x)) for x in m["edges"]}
                    self.assertEqual(len(m["edges"]), 3)
                    hits += {(0, 1), (1, 2)} <= e
                self.assertGreaterEqual(hits, 9)

    def test_selection_is_randomised(self):
        # at a tiny budget on few rows the exponential mechanism must not be deterministic
        codes, sizes = chain_table(n=200)
        trees = {tuple(sorted(tuple(sorted(x)) for x in
                              B.marginal_tree_fit(codes, sizes, 0.01, DELTA, np.random.default_rng(s))["edges"]))
                 for s in range(20)}
        self.assertGreater(len(trees), 1)

    def test_model_consistency(self):
        codes, sizes = chain_table(n=3000)
        m = B.marginal_tree_fit(codes, sizes, 0.5, DELTA, np.random.default_rng(5))
        for (i, j), t in m["joints"].items():
            self.assertTrue(np.all(t >= 0))
            self.assertAlmostEqual(t.sum(), 1.0, places=9)
            np.testing.assert_allclose(t.sum(axis=1), m["marginals"][i], atol=1e-6)
            np.testing.assert_allclose(t.sum(axis=0), m["marginals"][j], atol=1e-6)
        # spanning tree
        self.assertEqual(len(m["edges"]), len(sizes) - 1)
        self.assertEqual(sorted(c for c, _ in m["order"]), list(range(len(sizes))))


class TestBoth(unittest.TestCase):
    FUNCS = (B.independent, B.marginal_tree)

    def test_shapes_small_d_and_relations(self):
        r = np.random.default_rng(6)
        for d in (1, 2, 3):
            sizes = [3, 50, 1][:d]
            codes = np.stack([r.integers(0, k, 500) for k in sizes], axis=1)
            for f in self.FUNCS:
                for rel in B.RELATIONS:
                    for n_out in (0, 1, 777):
                        out = f(codes, sizes, 1.0, DELTA, n_out, np.random.default_rng(7), relation=rel)
                        check_output(self, out, n_out, sizes)

    def test_d2_dependency(self):
        r = np.random.default_rng(8)
        a = r.integers(0, 4, 20000)
        codes = np.stack([a, (a + (r.random(20000) < 0.1)) % 4], axis=1)
        out = B.marginal_tree(codes, [4, 4], 8.0, DELTA, 20000, np.random.default_rng(9))
        self.assertLess(tvd_2way(codes, out, 0, 1, 4, 4), 0.03)

    def test_deterministic(self):
        codes, sizes = chain_table(n=3000)
        for f in self.FUNCS:
            x = f(codes, sizes, 1.0, DELTA, 1000, np.random.default_rng(123))
            y = f(codes, sizes, 1.0, DELTA, 1000, np.random.default_rng(123))
            z = f(codes, sizes, 1.0, DELTA, 1000, np.random.default_rng(124))
            np.testing.assert_array_equal(x, y)
            self.assertFalse(np.array_equal(x, z))

    def test_wide_table(self):
        r = np.random.default_rng(10)
        sizes = list(r.integers(2, 51, 25))
        sizes[0] = sizes[1] = 50
        n = 20000
        codes = np.stack([r.integers(0, k, n) for k in sizes], axis=1)
        codes[:, 1] = (codes[:, 0] + (r.random(n) < 0.2)) % 50
        t0 = time.perf_counter()
        out = B.marginal_tree(codes, sizes, 1.0, DELTA, n, np.random.default_rng(11))
        t1 = time.perf_counter()
        check_output(self, out, n, sizes)
        out = B.independent(codes, sizes, 1.0, DELTA, n, np.random.default_rng(11))
        check_output(self, out, n, sizes)
        # not a timed assertion (shared machines vary); generous sanity limit only
        self.assertLess(t1 - t0, 60.0)

    def test_bad_input(self):
        codes, sizes = chain_table(n=100)
        rng = np.random.default_rng(0)
        for f in self.FUNCS:
            for eps in (0, -1, float("inf"), float("nan")):
                self.assertRaises(ValueError, f, codes, sizes, eps, DELTA, 10, rng)
            for dl in (0, 1, -1e-5, float("nan")):
                self.assertRaises(ValueError, f, codes, sizes, 1.0, dl, 10, rng)
            self.assertRaises(ValueError, f, codes, sizes, 1.0, DELTA, 10, rng, "replace")
            self.assertRaises(ValueError, f, codes, [5, 6, 4], 1.0, DELTA, 10, rng)
            self.assertRaises(ValueError, f, codes, [5, 6, 4, 2], 1.0, DELTA, 10, rng)
            self.assertRaises(ValueError, f, codes.astype(float), sizes, 1.0, DELTA, 10, rng)
            self.assertRaises(ValueError, f, codes, sizes, 1.0, DELTA, -1, rng)


if __name__ == "__main__":
    unittest.main()
