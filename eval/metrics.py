"""Metrics of the lipvae evaluation harness (numpy, scipy, scikit-learn; no PostgreSQL).

A table is represented column by column, in the order of a schema (a list of Column):
  - numeric columns (integer, float, date, timestamp) as float64 arrays, NaN for NULL
    (dates as days and timestamps as seconds since 1970-01-01 UTC);
  - categorical columns (text, boolean) as int64 arrays of indices into the column's public
    category list, the index len(categories) meaning NULL.
Every TVD and Cramer's V works on codes: numeric columns binned into equal-width bins over the
public bounds, categorical columns as they are, and NULL as its own code (the last one).
"""
import itertools
import math

import numpy as np

NBINS = 20


class Column:
    """One column's public domain: kind, bounds or categories, nullability."""

    def __init__(self, name, pytype, lo=None, hi=None, categories=None, nullable=False,
                 nbins=NBINS, other=None):
        self.name = name
        self.pytype = pytype  # int, float, date, timestamp, timestamptz, bool, text
        self.kind = 'cat' if pytype in ('bool', 'text') else 'num'
        self.is_int = pytype in ('int', 'date')
        self.lo = lo
        self.hi = hi
        self.categories = list(categories) if categories is not None else None
        self.other = other  # label of the "other" category (last of categories), or None
        self.nullable = bool(nullable)
        self.nbins = nbins

    @property
    def base(self):
        """Number of non-NULL codes; the NULL code is `base`."""
        return self.nbins if self.kind == 'num' else len(self.categories)

    def to_json(self):
        return {'name': self.name, 'type': self.pytype, 'kind': self.kind, 'lo': self.lo,
                'hi': self.hi, 'categories': self.categories, 'other': self.other,
                'nullable': self.nullable, 'nbins': self.nbins if self.kind == 'num' else None}


def bin_numeric(col, x):
    """Equal-width bin codes of values x (NaN -> NULL code col.nbins) over [lo, hi]."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape[0], col.nbins, dtype=np.int64)
    ok = ~np.isnan(x)
    width = float(col.hi) - float(col.lo)
    if width <= 0:
        out[ok] = 0
    else:
        b = np.floor((x[ok] - col.lo) / width * col.nbins)
        out[ok] = np.clip(b, 0, col.nbins - 1).astype(np.int64)
    return out


def codes_of(schema, table):
    """(n, d) int64 codes; column j in 0..schema[j].base (base = NULL)."""
    cols = []
    for col, x in zip(schema, table):
        if col.kind == 'num':
            cols.append(bin_numeric(col, x))
        else:
            cols.append(np.asarray(x, dtype=np.int64))
    if not cols:
        return np.zeros((0, 0), dtype=np.int64)
    return np.stack(cols, axis=1)


def metric_sizes(schema):
    """Code-space sizes for the metrics: every column has a NULL code."""
    return np.array([c.base + 1 for c in schema], dtype=np.int64)


def decode_codes(schema, codes, rng):
    """Codes (with NULL code = base) back to a table: uniform within the bin for numeric columns;
    for integer columns uniform over the integers inside the bin (a bin without an integer gives
    its midpoint rounded)."""
    table = []
    for j, col in enumerate(schema):
        c = np.asarray(codes[:, j], dtype=np.int64)
        if col.kind == 'cat':
            table.append(np.where((c < 0) | (c > col.base), col.base, c).astype(np.int64))
            continue
        x = np.full(c.shape[0], np.nan)
        lo, hi = float(col.lo), float(col.hi)
        w = (hi - lo) / col.nbins
        for b in range(col.nbins):
            m = c == b
            k = int(m.sum())
            if k == 0:
                continue
            a, e = lo + b * w, lo + (b + 1) * w
            if not col.is_int:
                x[m] = rng.uniform(a, e, size=k)
                continue
            first, last = math.ceil(a), (math.floor(hi) if b == col.nbins - 1 else math.ceil(e) - 1)
            binf = lambda v: int(bin_numeric(col, np.array([float(v)]))[0])
            while first <= last and binf(first) != b:
                first += 1
            while last >= first and binf(last) != b:
                last -= 1
            if first <= last:
                x[m] = rng.integers(first, last + 1, size=k).astype(np.float64)
            else:
                x[m] = float(min(max(round((a + e) / 2), math.ceil(lo)), math.floor(hi)))
        table.append(x)
    return table


# ---------------------------------------------------------------- total variation distance

def tvd(p, q):
    """Total variation distance between two histograms (counts or probabilities)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    sp, sq = p.sum(), q.sum()
    if sp <= 0 or sq <= 0:
        return float('nan')
    return 0.5 * float(np.abs(p / sp - q / sq).sum())


def _joint_index(codes, sizes, cols):
    idx = np.zeros(codes.shape[0], dtype=np.int64)
    for c in cols:
        idx = idx * int(sizes[c]) + codes[:, c]
    return idx


def marginal_tvd(real_codes, syn_codes, sizes, cols):
    """TVD between the marginals of real and synthetic codes over the columns `cols`."""
    a = _joint_index(real_codes, sizes, cols)
    b = _joint_index(syn_codes, sizes, cols)
    total = int(np.prod([int(sizes[c]) for c in cols]))
    if total <= 4_000_000:
        return tvd(np.bincount(a, minlength=total), np.bincount(b, minlength=total))
    u, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ca = np.bincount(inv[:a.size], minlength=u.size)
    cb = np.bincount(inv[a.size:], minlength=u.size)
    return tvd(ca, cb)


def column_sets(d, k, max_sets=200, seed=20240601):
    """All k-subsets of d columns, or a fixed random sample of max_sets of them (the same for
    every method, since it depends only on d, k and the fixed seed)."""
    n = math.comb(d, k)
    if n <= max_sets:
        return list(itertools.combinations(range(d), k))
    rng = np.random.default_rng([seed, d, k])
    chosen = set()
    while len(chosen) < max_sets:
        chosen.add(tuple(sorted(rng.choice(d, size=k, replace=False).tolist())))
    return sorted(chosen)


def pair_tvds(real_codes, syn_codes, sizes, names):
    """Every pair's 2-way TVD, keyed 'a|b' by the column names (the diagnostic of which pairs a
    method loses on: those it measured or those it inferred)."""
    return {'%s|%s' % (names[a], names[b]): marginal_tvd(real_codes, syn_codes, sizes, (a, b))
            for a, b in column_sets(real_codes.shape[1], 2, max_sets=10 ** 6)}


def kway_tvd(real_codes, syn_codes, sizes, k, max_sets=200):
    """Mean TVD over k-way marginals (all k-subsets, or a fixed sample of max_sets)."""
    d = real_codes.shape[1]
    if d < k:
        return float('nan')
    vals = [marginal_tvd(real_codes, syn_codes, sizes, s) for s in column_sets(d, k, max_sets)]
    return float(np.mean(vals))


# ---------------------------------------------------------------- association

def cramers_v(a, b):
    """Cramer's V (no bias correction) of two code vectors; 0 when either is constant."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.size == 0:
        return 0.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    r, c = int(ai.max()) + 1, int(bi.max()) + 1
    if min(r, c) < 2:
        return 0.0
    obs = np.bincount(ai * c + bi, minlength=r * c).reshape(r, c).astype(np.float64)
    n = obs.sum()
    exp = np.outer(obs.sum(1), obs.sum(0)) / n
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    return float(math.sqrt(max(chi2, 0.0) / (n * (min(r, c) - 1))))


def pearson(x, y):
    """Pearson correlation on the rows where both are non-NULL; 0 when undefined."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m = ~(np.isnan(x) | np.isnan(y))
    if m.sum() < 3:
        return 0.0
    x, y = x[m], y[m]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0
    return float(np.clip(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy), -1.0, 1.0))


def association_matrix(schema, table, codes):
    """Pairwise association: Pearson for numeric-numeric pairs, Cramer's V over codes otherwise."""
    d = len(schema)
    m = np.eye(d)
    for i in range(d):
        for j in range(i + 1, d):
            if schema[i].kind == 'num' and schema[j].kind == 'num':
                v = pearson(table[i], table[j])
            else:
                v = cramers_v(codes[:, i], codes[:, j])
            m[i, j] = m[j, i] = v
    return m


def association_diff(a, b):
    """Mean absolute difference of two association matrices over the pairs i < j."""
    d = a.shape[0]
    if d < 2:
        return float('nan')
    iu = np.triu_indices(d, 1)
    return float(np.mean(np.abs(a[iu] - b[iu])))


# ---------------------------------------------------------------- feature encoding

class FeatureEncoder:
    """Numeric columns standardised with the real training rows' mean and std (NULL -> 0 plus a
    NULL indicator for nullable columns); categorical columns one-hot (plus a NULL slot for
    nullable columns)."""

    def __init__(self, schema, real_table, exclude=()):
        self.schema = schema
        self.keep = [j for j, c in enumerate(schema) if c.name not in set(exclude)]
        self.stats = {}
        for j in self.keep:
            col = schema[j]
            if col.kind == 'num':
                x = np.asarray(real_table[j], dtype=np.float64)
                x = x[~np.isnan(x)]
                mu = float(x.mean()) if x.size else 0.0
                sd = float(x.std()) if x.size else 1.0
                self.stats[j] = (mu, sd if sd > 0 else 1.0)

    def transform(self, table):
        n = len(table[0]) if table else 0
        parts = []
        for j in self.keep:
            col = self.schema[j]
            if col.kind == 'num':
                mu, sd = self.stats[j]
                x = np.asarray(table[j], dtype=np.float64)
                isnull = np.isnan(x)
                parts.append(np.where(isnull, 0.0, (x - mu) / sd)[:, None])
                if col.nullable:
                    parts.append(isnull.astype(np.float64)[:, None])
            else:
                k = col.base + (1 if col.nullable else 0)
                c = np.asarray(table[j], dtype=np.int64)
                oh = np.zeros((n, k))
                ok = c < k
                oh[np.nonzero(ok)[0], c[ok]] = 1.0
                parts.append(oh)
        if not parts:
            return np.zeros((n, 0))
        return np.hstack(parts)


# ---------------------------------------------------------------- TSTR

def tstr(x_train, y_train, x_test, y_test, model='logreg', seed=0):
    """Fit `model` ('logreg' or 'tree') on (x_train, y_train) and score it on the test rows.
    Returns dict(auc, acc, single_class): with a single class in the training labels no model can
    be fitted; the constant prediction is scored (accuracy) and AUC is reported as 0.5."""
    from sklearn.metrics import accuracy_score, roc_auc_score
    y_train = np.asarray(y_train).astype(int)
    y_test = np.asarray(y_test).astype(int)
    classes = np.unique(y_train)
    if classes.size < 2:
        const = int(classes[0]) if classes.size else 0
        return {'auc': 0.5, 'acc': float(np.mean(y_test == const)), 'single_class': True}
    if model == 'logreg':
        from sklearn.linear_model import LogisticRegression
        clf = LogisticRegression(max_iter=1000)
    elif model == 'tree':
        from sklearn.ensemble import HistGradientBoostingClassifier
        clf = HistGradientBoostingClassifier(random_state=seed)
    else:
        raise ValueError(model)
    clf.fit(x_train, y_train)
    proba = clf.predict_proba(x_test)[:, list(clf.classes_).index(1)]
    pred = (proba >= 0.5).astype(int)
    auc = float(roc_auc_score(y_test, proba)) if np.unique(y_test).size == 2 else float('nan')
    return {'auc': auc, 'acc': float(accuracy_score(y_test, pred)), 'single_class': False}


# ---------------------------------------------------------------- empirical privacy audit

def nn_distance(queries, reference):
    """Euclidean distance from every query row to its nearest reference row."""
    from sklearn.neighbors import NearestNeighbors
    if reference.shape[0] == 0 or queries.shape[0] == 0:
        return np.full(queries.shape[0], np.nan)
    nn = NearestNeighbors(n_neighbors=1, algorithm='brute').fit(reference)
    d, _ = nn.kneighbors(queries)
    return d[:, 0]


def dcr(x_syn, x_train, x_holdout, tol=1e-9):
    """Distance to closest record of synthetic rows to training rows vs to held-out rows.
    x_train must have as many rows as x_holdout (pass an equal-size sample of the training rows),
    so that 0.5 means no memorisation signal. Ties (e.g. a synthetic row equal to a training and a
    held-out row) count one half. Returns dict(median_train, median_holdout, share_closer_train)."""
    dt = nn_distance(x_syn, x_train)
    dh = nn_distance(x_syn, x_holdout)
    closer = (dt < dh - tol).astype(np.float64) + 0.5 * (np.abs(dt - dh) <= tol)
    return {'median_train': float(np.median(dt)), 'median_holdout': float(np.median(dh)),
            'share_closer_train': float(closer.mean())}


def mia(x_syn, x_members, x_nonmembers):
    """Distance-based membership inference: score of a candidate = minus its distance to the
    nearest synthetic row. Returns dict(advantage = max over thresholds of TPR - FPR, auc)."""
    from sklearn.metrics import roc_auc_score, roc_curve
    s_in = -nn_distance(x_members, x_syn)
    s_out = -nn_distance(x_nonmembers, x_syn)
    y = np.r_[np.ones(s_in.size), np.zeros(s_out.size)]
    s = np.r_[s_in, s_out]
    fpr, tpr, _ = roc_curve(y, s)
    return {'advantage': float(np.max(tpr - fpr)), 'auc': float(roc_auc_score(y, s))}


def mia_null_level(m, alpha=0.05):
    """Approximate (1 - alpha) quantile of max(TPR - FPR) of an attack with no signal, m members
    and m non-members (Kolmogorov-Smirnov two-sample statistic): c(alpha) * sqrt(2 / m)."""
    c = math.sqrt(-0.5 * math.log(alpha / 2))
    return c * math.sqrt(2.0 / m)


def dp_advantage_bound(epsilon, delta):
    """Largest TPR - FPR of any membership test against an (epsilon, delta)-DP mechanism (from
    TPR <= e^eps FPR + delta and its mirror): (e^eps - 1 + 2 delta) / (e^eps + 1)."""
    if math.isinf(epsilon):
        return 1.0
    # (e - 1)/(e + 1) = tanh(eps/2), stable for large epsilon
    return min(1.0, math.tanh(epsilon / 2.0) + 2.0 * delta / (math.exp(min(epsilon, 700.0)) + 1.0))
