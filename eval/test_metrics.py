"""Smoke tests of eval/metrics.py on tiny hand-computed cases. Run from /work/main:

    /usr/bin/python3 -m unittest eval.test_metrics
"""
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402


class TestTVD(unittest.TestCase):
    def test_identical_is_zero(self):
        self.assertEqual(M.tvd([3, 1, 0, 6], [3, 1, 0, 6]), 0.0)
        # counts vs the same distribution as probabilities
        self.assertAlmostEqual(M.tvd([3, 1, 0, 6], [0.3, 0.1, 0.0, 0.6]), 0.0)

    def test_disjoint_supports_is_one(self):
        self.assertAlmostEqual(M.tvd([5, 5, 0, 0], [0, 0, 1, 9]), 1.0)

    def test_hand_value(self):
        # p = (1, 0), q = (1/2, 1/2): 0.5 * (1/2 + 1/2) = 0.5
        self.assertAlmostEqual(M.tvd([4, 0], [2, 2]), 0.5)
        # p = (.5,.5,0), q = (.25,.25,.5): 0.5 * (.25 + .25 + .5) = 0.5
        self.assertAlmostEqual(M.tvd([2, 2, 0], [1, 1, 2]), 0.5)

    def test_marginals_on_codes(self):
        sizes = np.array([2, 2])
        real = np.array([[0, 0], [1, 1], [0, 0], [1, 1]])
        self.assertEqual(M.kway_tvd(real, real.copy(), sizes, 1), 0.0)
        self.assertEqual(M.kway_tvd(real, real[::-1].copy(), sizes, 2), 0.0)  # order does not matter
        swapped = np.array([[0, 1], [1, 0], [0, 1], [1, 0]])
        # same 1-way marginals, disjoint 2-way supports
        self.assertAlmostEqual(M.kway_tvd(real, swapped, sizes, 1), 0.0)
        self.assertAlmostEqual(M.kway_tvd(real, swapped, sizes, 2), 1.0)
        # one column shifted: 1-way TVDs 0 and 1 average to 0.5
        shifted = np.array([[0, 1], [1, 1], [0, 1], [1, 1]])
        self.assertAlmostEqual(M.marginal_tvd(real, shifted, sizes, (1,)), 0.5)

    def test_pair_tvds(self):
        sizes = np.array([2, 2, 3])
        real = np.array([[0, 0, 0], [1, 1, 1], [0, 0, 2], [1, 1, 0]])
        swapped = real.copy()
        swapped[:, 1] = 1 - swapped[:, 1]  # only pairs with column b change
        got = M.pair_tvds(real, swapped, sizes, ['a', 'b', 'c'])
        self.assertEqual(sorted(got), ['a|b', 'a|c', 'b|c'])
        self.assertAlmostEqual(got['a|b'], 1.0)
        self.assertAlmostEqual(got['a|c'], 0.0)
        self.assertAlmostEqual(np.mean(list(got.values())), M.kway_tvd(real, swapped, sizes, 2))

    def test_large_domain_path_agrees(self):
        rng = np.random.default_rng(0)
        a = rng.integers(0, 300, size=(500, 3))
        b = rng.integers(0, 300, size=(400, 3))
        sizes = np.array([300, 300, 300])  # 27e6 cells: the np.unique path
        idx = lambda x: (x[:, 0] * 300 + x[:, 1]) * 300 + x[:, 2]
        ua, ca = np.unique(idx(a), return_counts=True)
        ub, cb = np.unique(idx(b), return_counts=True)
        pa = dict(zip(ua.tolist(), (ca / 500).tolist()))
        pb = dict(zip(ub.tolist(), (cb / 400).tolist()))
        want = 0.5 * sum(abs(pa.get(k, 0) - pb.get(k, 0)) for k in set(pa) | set(pb))
        self.assertAlmostEqual(M.marginal_tvd(a, b, sizes, (0, 1, 2)), want)

    def test_column_sets(self):
        self.assertEqual(len(M.column_sets(5, 3)), 10)
        s1 = M.column_sets(23, 3, max_sets=200)
        self.assertEqual(len(s1), 200)
        self.assertEqual(len(set(s1)), 200)
        self.assertEqual(s1, M.column_sets(23, 3, max_sets=200))  # fixed sample


class TestAssociation(unittest.TestCase):
    def test_cramers_v_perfect_dependence_is_one(self):
        a = np.array([0, 1, 2, 0, 1, 2, 2])
        self.assertAlmostEqual(M.cramers_v(a, 2 * a + 5), 1.0)
        self.assertAlmostEqual(M.cramers_v(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0])), 1.0)

    def test_cramers_v_independent_and_constant(self):
        self.assertAlmostEqual(M.cramers_v(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])), 0.0)
        self.assertEqual(M.cramers_v(np.array([3, 3, 3]), np.array([0, 1, 2])), 0.0)

    def test_cramers_v_hand_value(self):
        # 2x2 table [[2,1],[1,2]]: chi2 = n (ad - bc)^2 / (row and column sums) = 6*9/81 = 2/3,
        # V = sqrt(chi2 / n) = 1/3
        a = np.array([0, 0, 0, 1, 1, 1])
        b = np.array([0, 0, 1, 0, 1, 1])
        self.assertAlmostEqual(M.cramers_v(a, b), 1.0 / 3.0)

    def test_pearson(self):
        x = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
        self.assertAlmostEqual(M.pearson(x, 2 * x + 1), 1.0)
        self.assertAlmostEqual(M.pearson(x, -x), -1.0)
        self.assertEqual(M.pearson(x, np.ones(5)), 0.0)  # undefined -> 0

    def test_association_matrix_and_diff(self):
        schema = [M.Column('x', 'float', lo=0, hi=10), M.Column('y', 'float', lo=0, hi=10),
                  M.Column('c', 'text', categories=['a', 'b'])]
        x = np.array([1.0, 2.0, 8.0, 9.0])
        table = [x, 2 * x - 1, np.array([0, 0, 1, 1])]
        codes = M.codes_of(schema, table)
        a = M.association_matrix(schema, table, codes)
        self.assertAlmostEqual(a[0, 1], 1.0)           # Pearson
        self.assertAlmostEqual(a[0, 2], 1.0)           # Cramer's V over bins: bins 2,4,16,18 vs c
        self.assertAlmostEqual(M.association_diff(a, a), 0.0)
        b = a.copy()
        b[0, 1] = b[1, 0] = 0.4
        self.assertAlmostEqual(M.association_diff(a, b), 0.6 / 3)


class TestBinsAndCodes(unittest.TestCase):
    def test_bins(self):
        col = M.Column('v', 'float', lo=0.0, hi=10.0, nullable=True)
        got = M.bin_numeric(col, [0.0, 0.49, 0.5, 5.0, 9.99, 10.0, np.nan, -3.0, 12.0])
        self.assertEqual(got.tolist(), [0, 0, 1, 10, 19, 19, 20, 0, 19])

    def test_integer_decode_round_trip(self):
        col = M.Column('year', 'int', lo=2000, hi=2014)
        rng = np.random.default_rng(1)
        years = np.arange(2000, 2015, dtype=float)
        codes = M.bin_numeric(col, years)[:, None]
        dec = M.decode_codes([col], codes, rng)[0]
        self.assertEqual(dec.tolist(), years.tolist())  # one integer per occupied bin
        codes = np.array([[0], [19], [20]])  # NULL code -> NaN
        dec = M.decode_codes([col], codes, rng)[0]
        self.assertEqual(dec[:2].tolist(), [2000.0, 2014.0])
        self.assertTrue(np.isnan(dec[2]))

    def test_float_decode_stays_in_bin(self):
        col = M.Column('v', 'float', lo=-1.0, hi=1.0)
        rng = np.random.default_rng(2)
        codes = np.repeat(np.arange(20), 50)[:, None]
        dec = M.decode_codes([col], codes, rng)[0]
        self.assertTrue(np.array_equal(M.bin_numeric(col, dec), codes[:, 0]))


class TestTSTRAndAudit(unittest.TestCase):
    def test_single_class_guard(self):
        x = np.zeros((10, 2))
        r = M.tstr(x, np.ones(10), x[:4], np.array([1, 0, 0, 0]))
        self.assertEqual(r['auc'], 0.5)
        self.assertTrue(r['single_class'])
        self.assertAlmostEqual(r['acc'], 0.25)

    def test_separable(self):
        x = np.r_[np.zeros((20, 1)), np.ones((20, 1))]
        y = np.r_[np.zeros(20), np.ones(20)]
        for model in ('logreg', 'tree'):
            r = M.tstr(x, y, x, y, model=model)
            self.assertAlmostEqual(r['auc'], 1.0)

    def test_dcr_and_mia_detect_a_copy(self):
        rng = np.random.default_rng(0)
        members = rng.normal(size=(50, 3))
        nonmembers = rng.normal(size=(50, 3))
        d = M.dcr(members.copy(), members, nonmembers)
        self.assertEqual(d['share_closer_train'], 1.0)
        self.assertEqual(d['median_train'], 0.0)
        a = M.mia(members.copy(), members, nonmembers)
        self.assertAlmostEqual(a['advantage'], 1.0)
        self.assertAlmostEqual(a['auc'], 1.0)
        # ties count one half
        d = M.dcr(members.copy(), members, members.copy())
        self.assertAlmostEqual(d['share_closer_train'], 0.5)

    def test_dp_advantage_bound(self):
        self.assertAlmostEqual(M.dp_advantage_bound(0.0, 0.0), 0.0)
        self.assertAlmostEqual(M.dp_advantage_bound(math.log(3), 0.0), 0.5)      # (3-1)/(3+1)
        self.assertAlmostEqual(M.dp_advantage_bound(math.log(3), 0.01), 0.505)   # (2+0.02)/4
        e = math.e
        self.assertAlmostEqual(M.dp_advantage_bound(1.0, 1e-5), (e - 1 + 2e-5) / (e + 1))
        self.assertAlmostEqual(M.dp_advantage_bound(100.0, 1e-5), 1.0)
        self.assertEqual(M.dp_advantage_bound(float('inf'), 1e-5), 1.0)
        # it is where TPR = e^eps FPR + delta meets 1 - FPR = e^eps (1 - TPR) + delta
        eps, delta = 2.0, 1e-3
        fpr = (1 - delta) / (math.exp(eps) + 1)
        tpr = math.exp(eps) * fpr + delta
        self.assertAlmostEqual(1 - fpr, math.exp(eps) * (1 - tpr) + delta)
        self.assertAlmostEqual(M.dp_advantage_bound(eps, delta), tpr - fpr)

    def test_feature_encoder(self):
        schema = [M.Column('x', 'int', lo=0, hi=4, nullable=True),
                  M.Column('c', 'text', categories=['a', 'b', 'c'], nullable=False)]
        table = [np.array([0.0, 2.0, 4.0, np.nan]), np.array([0, 2, 1, 0])]
        enc = M.FeatureEncoder(schema, table)
        x = enc.transform(table)
        self.assertEqual(x.shape, (4, 2 + 3))
        sd = np.std([0.0, 2.0, 4.0])
        self.assertAlmostEqual(x[0, 0], -2.0 / sd)
        self.assertEqual(x[3, :2].tolist(), [0.0, 1.0])  # NULL: 0 and the indicator
        self.assertEqual(x[:, 2:].tolist(), [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])


if __name__ == '__main__':
    unittest.main()
