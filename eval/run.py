#!/usr/bin/python3
"""lipvae evaluation harness: lipvae against DP baselines, a non-private VAE and the real rows.

    /usr/bin/python3 eval/run.py --dataset flchain|lending_club|gss_cat [--seeds 3]
    /usr/bin/python3 eval/run.py --csv PATH [--target COL --positive VALUE] [--name NAME]
                                 [--epsilons 0.5,1,2,4,8] [--seeds 3] [--out eval/results/NAME]

Loads the CSV into PostgreSQL (the server PGHOST/PGPORT/PGUSER point at, else a throw-away
cluster), holds out 20% of the rows, trains lipvae per epsilon and seed, runs the baselines, and
writes eval/results/<name>/results.md, results.json and PNG plots. See eval/README.md.
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
# One thread for numpy/OpenBLAS and sklearn's OpenMP: lipvae trains in a server backend at the
# same time (2 cores here), and oversubscribed OpenMP threads slow sklearn down many times.
for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')

try:
    import numpy as np
    import scipy  # noqa: F401  (baselines)
    import sklearn  # noqa: F401
    import matplotlib
    import psycopg2
except ImportError as e:  # pragma: no cover
    sys.exit('missing Python package (%s). Use /usr/bin/python3 with Debian\'s packages:\n'
             '  apt-get install -y python3-numpy python3-scipy python3-sklearn python3-matplotlib '
             'python3-psycopg2' % e)

import baselines  # noqa: E402  (eval/baselines.py)
import peers  # noqa: E402  (eval/peers.py: AIM, MST from private-pgm)
import dataset as DS  # noqa: E402
import metrics as M  # noqa: E402

DATASETS = {
    'flchain': (os.path.join(REPO, 'data', 'flchain.csv'), 'death', '1'),
    'lending_club': (os.path.join(REPO, 'data', 'lending_club.csv'), 'Class', 'bad'),
    'gss_cat': (os.path.normpath(os.path.join(REPO, '..', 'shared', 'data', 'gss_cat.csv')),
                'rincome', '$25000 or more'),
}
DELTA = 1e-5
METHODS = ['aim_vae', 'central', 'central_latent', 'lipvae', 'independent', 'marginal_tree', 'aim', 'mst', 'nonprivate', 'real']
# lipvae mechanism of each lipvae method
MECHANISM = {'aim_vae': 'central', 'central': 'central', 'central_latent': 'central+latent', 'lipvae': 'latent',
             'nonprivate': 'none'}
LIPVAE_METHODS = ('aim_vae', 'central', 'central_latent', 'lipvae', 'nonprivate')
DP_LIPVAE = ('aim_vae', 'central', 'central_latent', 'lipvae')
BASELINES = ('independent', 'marginal_tree', 'aim', 'mst')
PEER_BASELINES = ('aim', 'mst')  # private-pgm: add/remove-one only
# Neighbouring relation of each lipvae method's guarantee (design rule: a baseline is compared
# with a lipvae method under the same relation, so the baselines run under each relation needed).
RELATION = {'aim_vae': 'add/remove-one', 'central': 'add/remove-one', 'central_latent': 'replace-one', 'lipvae': 'replace-one'}
REL_SHORT = {'add/remove-one': 'add/remove', 'replace-one': 'replace', None: '-'}
LABEL = {
    'aim_vae': "lipvae select-measure-generate (marginals => 'aim', VAE decoder fitted to AIM's measurements)",
    'aim': 'AIM (private-pgm, published)',
    'mst': 'MST (private-pgm, published)',
    'central': 'lipvae central (DP-SGD, prior sampling)',
    'central_latent': 'lipvae central+latent (DP-SGD + per-record release, passes 1)',
    'lipvae': 'lipvae per-record only (latent, passes 1; not central DP)',
    'independent': 'independent DP histograms',
    'marginal_tree': 'marginal tree (MST-style)',
    'nonprivate': 'non-private VAE (lipvae, mechanism none)',
    'real': 'real training rows',
}
PUBLIC_DOMAIN = (
    'Public domain assumption: each column\'s bounds (min/max), category list and NULL-ability '
    'are derived from the WHOLE CSV (training and held-out rows) and treated as public for every '
    'method, as the prototype did with its fixed public bounds. lipvae receives them as bounds => '
    '/ categories => / not_null => and spends nothing on them (its central mechanisms spend a small '
    'share of epsilon on a DP row count, epsilon_preprocess in results.json); the baselines and every '
    'TVD metric bin numeric columns into 20 equal-width bins over the same bounds (NULL its own '
    'code). In a real deployment these would have to be genuinely public (or estimated with DP, '
    'which lipvae can do at a cost in epsilon).')

RELATION_NOTE = (
    'lipvae central: central (epsilon, delta)-DP under add/remove-one; lipvae central+latent: central '
    'under replace-one; lipvae per-record only: per-record guarantee under replace-one (conditional on '
    'the model, not central); each baseline is calibrated under the relation its row names ("add/remove": '
    'L2 sensitivity 1 per histogram, "replace": sqrt(2)) and is compared with the lipvae methods of the '
    'same relation')

T0 = time.time()


def log(msg):
    print('[%6.1fs] %s' % (time.time() - T0, msg), flush=True)


# ---------------------------------------------------------------- target

def resolve_target(D, target, positive):
    """(column index, positive code test, description) or None when there is no target."""
    schema = D.schema
    names = [c.name for c in schema]
    if target is None:
        for j in reversed(range(len(schema))):
            if schema[j].distinct == 2:
                target = names[j]
                break
        if target is None:
            return None
        auto = True
    else:
        auto = False
        if target not in names:
            target = D.renamed.get(target, target)
        if target not in names:
            raise SystemExit('target column %r not in the CSV (columns: %s)' % (target, ', '.join(names)))
    j = names.index(target)
    col = schema[j]
    x_all = D.table_all[j]
    if col.kind == 'num':
        vals, cnt = np.unique(x_all[~np.isnan(x_all)], return_counts=True)
    else:
        vals, cnt = np.unique(x_all[x_all < col.base], return_counts=True)
    if positive is None:
        v = vals[np.argmin(cnt)] if len(vals) == 2 else vals[np.argmax(cnt)]
        pos_code = v
    elif col.kind == 'num':
        try:
            pos_code = float(positive) if col.pytype in ('int', 'float') else None
        except ValueError:
            pos_code = None
        if pos_code is None or pos_code not in set(vals.tolist()):
            raise SystemExit('positive value %r does not occur in numeric column %r' % (positive, target))
    else:
        key = positive
        if col.pytype == 'bool':
            key = 'true' if positive.strip().lower() in DS.TRUE_TOKENS | {'1', 'y', 'on'} else 'false'
        if key not in col.index:
            raise SystemExit('positive value %r is not a value of column %r (values: %s)' % (
                positive, target, ', '.join(col.categories[:20])))
        pos_code = col.index[key]
    if col.kind == 'num':
        shown = ('%g' % pos_code)
    else:
        shown = col.categories[int(pos_code)]

    def label(table):
        x = table[j]
        return (x == pos_code).astype(int)  # NULL never equals: negative
    desc = '%s = %r' % (target, shown)
    if auto:
        desc += ' (chosen automatically: the last two-valued column, minority value)'
    return j, label, desc, target, shown


# ---------------------------------------------------------------- evaluation of one synthetic set

IID_FLOOR_DRAWS = 3


def iid_floor(ev):
    """k-way TVD (k = 1, 2, 3) of the training rows resampled with replacement against themselves:
    the sampling floor of a perfect model that releases as many iid rows (mean of IID_FLOOR_DRAWS)."""
    rng = np.random.default_rng([11, 0])
    n = ev.real_codes.shape[0]
    draws = [ev.real_codes[rng.integers(0, n, n)] for _ in range(IID_FLOOR_DRAWS)]
    return {k: float(np.mean([M.kway_tvd(ev.real_codes, x, ev.sizes, k) for x in draws]))
            for k in (1, 2, 3)}


class Evaluator:
    def __init__(self, D, target, seed=0, audit_max=5000):
        self.D = D
        self.schema = D.schema
        self.sizes = M.metric_sizes(D.schema)
        self.real_codes = M.codes_of(D.schema, D.train)
        self.real_assoc = M.association_matrix(D.schema, D.train, self.real_codes)
        self.target = target
        rng = np.random.default_rng([7, seed])
        if target is not None:
            tj, label, _, tname, _ = target
            self.label = label
            self.enc_ml = M.FeatureEncoder(D.schema, D.train, exclude=[tname])
            self.x_test = self.enc_ml.transform(D.holdout)
            self.y_test = label(D.holdout)
            self.y_train = label(D.train)
        self.enc_all = M.FeatureEncoder(D.schema, D.train)
        m = min(D.n_holdout, D.n_train, audit_max)
        self.audit_m = m
        self.mem_idx = np.sort(rng.choice(D.n_train, size=m, replace=False))
        self.non_idx = np.sort(rng.choice(D.n_holdout, size=m, replace=False))
        x_train_all = self.enc_all.transform(D.train)
        self.x_members = x_train_all[self.mem_idx]
        self.x_nonmembers = self.enc_all.transform(D.holdout)[self.non_idx]
        self.syn_max = max(20000, 4 * m)
        self.rng = rng

    def evaluate(self, syn, seed=0, audit=True):
        """Metrics of one synthetic table; audit=False skips DCR and membership inference
        (sweeps)."""
        t0 = time.time()
        r = {}
        codes = M.codes_of(self.schema, syn)
        n = codes.shape[0]
        r['rows'] = int(n)
        r['tvd1'] = M.kway_tvd(self.real_codes, codes, self.sizes, 1)
        r['tvd2'] = M.kway_tvd(self.real_codes, codes, self.sizes, 2)
        r['tvd3'] = M.kway_tvd(self.real_codes, codes, self.sizes, 3)
        r['tvd2_pairs'] = M.pair_tvds(self.real_codes, codes, self.sizes, [c.name for c in self.schema])
        r['assoc'] = M.association_diff(self.real_assoc, M.association_matrix(self.schema, syn, codes))
        if self.target is not None:
            x = self.enc_ml.transform(syn)
            y = self.label(syn)
            r['pos_rate'] = float(y.mean()) if n else float('nan')
            for model in ('logreg', 'tree'):
                t = M.tstr(x, y, self.x_test, self.y_test, model=model, seed=seed)
                r['tstr_%s_auc' % model] = t['auc']
                r['tstr_%s_acc' % model] = t['acc']
                r['tstr_single_class'] = t['single_class']
        if not audit:
            r['eval_seconds'] = time.time() - t0
            return r
        xs = self.enc_all.transform(syn)
        if xs.shape[0] > self.syn_max:
            xs = xs[np.sort(np.random.default_rng([11, seed]).choice(xs.shape[0], self.syn_max, replace=False))]
        d = M.dcr(xs, self.x_members, self.x_nonmembers)
        r['dcr_median_train'] = d['median_train']
        r['dcr_median_holdout'] = d['median_holdout']
        r['dcr_share'] = d['share_closer_train']
        a = M.mia(xs, self.x_members, self.x_nonmembers)
        r['mia_adv'] = a['advantage']
        r['mia_auc'] = a['auc']
        r['eval_seconds'] = time.time() - t0
        return r


# ---------------------------------------------------------------- lipvae

class Lipvae:
    """Trains lipvae models in the server and samples them (one connection, used from one worker
    thread)."""

    # lipvae_train options the harness can pass (``--lipvae-opts`` and the per-option flags)
    OPTIONS = ('epochs', 'batch_size', 'latent', 'hidden', 'learning_rate', 'bins', 'clip',
               'clipping', 'central_share', 'layer_bound', 'preprocess_share', 'marginals_share',
               'marginals')

    def __init__(self, D, tag, args):
        self.D = D
        self.tag = tag
        self.args = args
        self.conn = None
        self.models = []
        self.bounds, self.categories, self.not_null = DS.lipvae_domain_args(D.schema)
        cols = ', '.join(DS.q(c.name) for c in D.schema)
        self.query = 'SELECT %s FROM %s' % (cols, D.train_rel)
        self.cols = cols

    def _conn(self):
        if self.conn is None or self.conn.closed:
            self.conn = DS.connect()
        return self.conn

    def options(self, method, extra=None):
        """The lipvae_train options of a method: the per-option flags (--epochs, ...: every
        lipvae training), then --lipvae-opts (the DP-SGD methods central and central_latent),
        then --central-opts / --central-latent-opts, then ``extra`` (sweeps). Every lipvae model
        gets ``bins => M.NBINS``: the same public equal-width bins over the same bounds that the
        baselines are given and the metrics use (lipvae's own default, 32, would straddle them)."""
        a = self.args
        o = {'bins': M.NBINS}
        for opt in ('epochs', 'hidden', 'latent', 'batch_size', 'learning_rate'):
            v = getattr(a, opt, None)
            if v is not None:
                o[opt] = v
        if method in ('central', 'central_latent'):
            o.update(getattr(a, 'lipvae_opts', None) or {})
        if method == 'central':
            o.update(getattr(a, 'central_opts', None) or {})
        if method == 'aim_vae':
            o.update(getattr(a, 'aim_opts', None) or {})
            o['marginals'] = 'aim'
        if method == 'central_latent':
            o.update(getattr(a, 'central_latent_opts', None) or {})
        o.update(extra or {})
        for k in o:
            if k not in self.OPTIONS:
                raise SystemExit('unknown lipvae option %r (allowed: %s)' % (k, ', '.join(self.OPTIONS)))
        return o

    def run(self, method, epsilon, seed, extra=None, name=None):
        """Train (replace) and sample n_train rows; retried after a pause on a failure (other
        engineers rebuild the extension on the shared dev server). A refused option (an
        invalid-parameter error) is not retried."""
        mechanism = MECHANISM[method]
        opts = self.options(method, extra)
        model = name or '%s_%s_%s_s%d' % (
            self.tag, {'aim_vae': 'av', 'central': 'c', 'central_latent': 'cl', 'lipvae': 'dp', 'nonprivate': 'np'}[method],
            ('%g' % epsilon).replace('.', 'p') if epsilon else 'inf', seed)
        last = None
        for attempt in range(3):
            try:
                table, info = self._run(model, mechanism, epsilon, seed, opts)
                info['options'] = opts
                return table, info
            except psycopg2.Error as e:
                last = e
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                if getattr(e, 'pgcode', None) in ('22023', '22003', '54000'):
                    raise  # refused option, out of range, program limit
                log('lipvae %s failed (attempt %d): %s; retrying in 60 s' % (model, attempt + 1, msg))
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.conn = None
                time.sleep(60)
        raise last

    def _run(self, model, mechanism, epsilon, seed, opts):
        conn = self._conn()
        extra = ''
        params = [model, self.query]
        if mechanism != 'none':
            extra += ', epsilon => %s, delta => %s'
            params += [float(epsilon), DELTA]
        if mechanism in ('latent', 'central+latent'):
            extra += ', passes => 1'
        extra += ', mechanism => %s, seed => %s'
        params += [mechanism, int(seed)]
        extra += ', bounds => %s::jsonb, categories => %s::jsonb, not_null => %s::text[]'
        params += [json.dumps(self.bounds), json.dumps(self.categories), self.not_null]
        for opt in self.OPTIONS:
            if opt in opts:
                extra += ', %s => %%s' % opt
                params.append(opts[opt])
        with conn.cursor() as cur:
            t0 = time.time()
            cur.execute('SELECT lipvae.lipvae_train(%%s, %%s%s, replace => true)' % extra, params)
            summary = cur.fetchone()[0]
            train_wall = time.time() - t0
            if model not in self.models:
                self.models.append(model)
            t0 = time.time()
            cur.execute('SELECT %s, epsilon, delta, scope FROM lipvae.lipvae_sample(NULL::%s.%s, %%s)' % (
                self.cols, DS.q('lipvae_types'), DS.q(model)),
                (self.D.n_train * getattr(self.args, 'sample_factor', 1),))
            rows = cur.fetchall()
            sample_wall = time.time() - t0
            settings = dpsgd = None
            try:
                cur.execute('SELECT settings, dpsgd FROM lipvae.models WHERE name = %s', (model,))
                row = cur.fetchone()
                if row:
                    settings, dpsgd = row
            except psycopg2.Error:
                pass
        d = len(self.D.schema)
        eps_rows = [r[d] for r in rows if r[d] is not None]
        stats = {}
        table = DS.to_table(self.D.schema, [r[:d] for r in rows], stats)
        info = {
            'model': model, 'summary': summary, 'train_seconds': train_wall,
            'train_seconds_reported': summary.get('seconds'), 'sample_seconds': sample_wall,
            'epochs': summary.get('epochs'),
            'printed_epsilon_max': float(max(eps_rows)) if eps_rows else None,
            'printed_epsilon_min': float(min(eps_rows)) if eps_rows else None,
            'printed_delta': rows[0][d + 1] if rows else None,
            'scope': rows[0][d + 2] if rows else None,
            'unlisted_values': stats.get('unlisted', {}),
            'settings': settings, 'dpsgd': dpsgd,
        }
        for k in ('epsilon_dpsgd', 'epsilon_ledger', 'noise_multiplier', 'sampling_rate', 'steps'):
            if isinstance(summary, dict) and summary.get(k) is not None:
                info['lipvae_' + k] = summary[k]
        return table, info

    def drop(self, model):
        try:
            with self._conn().cursor() as cur:
                cur.execute('SELECT lipvae.lipvae_drop(%s)', (model,))
            if model in self.models:
                self.models.remove(model)
        except psycopg2.Error:
            pass

    def drop_all(self):
        if not self.models:
            return
        try:
            conn = self._conn()
            with conn.cursor() as cur:
                for m in self.models:
                    try:
                        cur.execute('SELECT lipvae.lipvae_drop(%s)', (m,))
                    except psycopg2.Error:
                        pass
        except psycopg2.Error:
            pass


# ---------------------------------------------------------------- aggregation and output

METRIC_KEYS = ['tvd1', 'tvd2', 'tvd3', 'assoc', 'tstr_logreg_auc', 'tstr_logreg_acc',
               'tstr_tree_auc', 'tstr_tree_acc', 'dcr_median_train', 'dcr_median_holdout',
               'dcr_share', 'mia_adv', 'mia_auc']


def run_relation(method, relation=None):
    """The neighbouring relation a run's epsilon refers to (None: no DP)."""
    if method in BASELINES:
        return relation
    return RELATION.get(method)


def aggregate(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r['method'], r.get('relation'), r['epsilon']), []).append(r)
    out = []
    order = {m: i for i, m in enumerate(METHODS)}
    rel_order = {'add/remove-one': 0, 'replace-one': 1, None: 2}
    for (method, rel, eps), rs in sorted(groups.items(), key=lambda kv: (
            order[kv[0][0]], rel_order.get(kv[0][1], 3),
            float('inf') if kv[0][2] is None else kv[0][2])):
        a = {'method': method, 'relation': rel, 'epsilon': eps, 'seeds': len(rs)}
        for k in METRIC_KEYS + ['printed_epsilon_max', 'train_seconds', 'sample_seconds',
                                'fit_seconds', 'epochs', 'lipvae_epsilon_ledger',
                                'lipvae_epsilon_dpsgd', 'lipvae_noise_multiplier',
                                'lipvae_sampling_rate', 'lipvae_steps']:
            v = [r[k] for r in rs if r.get(k) is not None and not (isinstance(r[k], float) and math.isnan(r[k]))]
            if v and not all(math.isfinite(x) for x in v):
                a[k] = float('inf') if all(x == float('inf') for x in v) else float('nan')
                a[k + '_std'] = 0.0
            elif v:
                a[k] = float(np.mean(v))
                a[k + '_std'] = float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
        a['single_class_runs'] = sum(1 for r in rs if r.get('tstr_single_class'))
        out.append(a)
    return out


def label(a, suffix=''):
    """A summary row's label: the method, with the relation for the baselines when it is not
    the only one (tables also have a relation column)."""
    return LABEL[a['method']] + (suffix if a['method'] in LIPVAE_METHODS and a['method'] != 'nonprivate'
                                 else '')


def fmt(a, k, digits=3):
    if k not in a:
        return 'n/a'
    if a[k] == float('inf'):
        return '∞'
    if a.get('seeds', 1) > 1 and a['method'] != 'real':
        return '%.*f ± %.*f' % (digits, a[k], digits, a[k + '_std'])
    return '%.*f' % (digits, a[k])


def eps_str(e, method=None):
    if method == 'real':
        return '-'
    return '∞' if e is None else '%g' % e


def git_commit():
    try:
        c = subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', '-C', REPO, 'status', '--porcelain', '--untracked-files=no'],
                               capture_output=True, text=True).stdout.strip()
        return c + (' (with uncommitted changes)' if dirty else '')
    except Exception:
        return 'unknown'


def plot(summary, key, ylabel, path, title, runs_meta, chance=None, bound=False, suffix=''):
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9.6, 4.6), dpi=110)
    # lipvae methods: their own colours; baselines: colour by method, solid under add/remove-one
    # (compare with central), dashed under replace-one (compare with central+latent, per-record)
    styles = {'aim_vae': ('C6', '*', '-'), 'aim': ('C7', 'P', None), 'mst': ('C8', 'X', None),
              'central': ('C0', 'o', '-'), 'central_latent': ('C4', 'D', '-'), 'lipvae': ('C5', 'v', ':'),
              'independent': ('C1', 's', None), 'marginal_tree': ('C2', '^', None)}
    rels = sorted({a.get('relation') for a in summary if a['method'] in BASELINES and key in a},
                  key=lambda r: r != 'add/remove-one')
    for m in ('aim_vae', 'central', 'central_latent', 'lipvae', 'independent', 'marginal_tree', 'aim', 'mst'):
        for rel in (rels if m in BASELINES else [RELATION[m]]):
            pts = [a for a in summary if a['method'] == m and a.get('relation') == rel and key in a]
            if not pts:
                continue
            x = [a['epsilon'] for a in pts]
            y = [a[key] for a in pts]
            e = [a.get(key + '_std', 0.0) for a in pts]
            c, mk, ls = styles[m]
            if ls is None:
                ls = '-' if rel == 'add/remove-one' else '--'
            ax.errorbar(x, y, yerr=e, color=c, marker=mk, ls=ls, capsize=3, mfc='none' if ls == '--' else c,
                        label='%s [%s]' % (label(pts[0], suffix), REL_SHORT[rel]))
    for m, ls, c in (('nonprivate', '--', 'C3'), ('real', ':', 'k')):
        pts = [a for a in summary if a['method'] == m and key in a]
        if pts:
            ax.axhline(pts[0][key], color=c, ls=ls, label=LABEL[m])
    if chance is not None:
        ax.axhline(chance, color='grey', lw=0.8, ls='-.', label='chance')
    floor = runs_meta.get('sampling_floor_tvd', {}).get({'tvd1': 1, 'tvd2': 2, 'tvd3': 3}.get(key))
    if floor is not None:
        ax.axhline(floor, color='grey', lw=0.8, ls='-.', label='held-out real rows vs training rows')
    iid = runs_meta.get('iid_floor_tvd', {}).get({'tvd1': 1, 'tvd2': 2, 'tvd3': 3}.get(key))
    if iid is not None:
        ax.axhline(iid, color='grey', lw=0.8, ls=':', label='iid floor (training rows resampled)')
    if key == 'mia_adv' and runs_meta.get('mia_null_level'):
        ax.axhline(runs_meta['mia_null_level'], color='grey', lw=0.8, ls='-.',
                   label='no-signal 95% level')
    if bound:
        xs = np.geomspace(min(runs_meta['epsilons']), max(runs_meta['epsilons']), 100)
        ax.plot(xs, [M.dp_advantage_bound(v, DELTA) for v in xs], color='grey', lw=1,
                label='central (eps, delta)-DP bound (reference only)')
    ax.set_xscale('log', base=2)
    ax.set_xticks(runs_meta['epsilons'])
    ax.set_xticklabels(['%g' % v for v in runs_meta['epsilons']])
    ax.set_xlabel('epsilon (delta = %g; [add/remove] or [replace]: the neighbouring relation)' % DELTA)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc='center left', bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_outputs(out, meta, runs, summary, D, notes):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump({'meta': meta, 'summary': summary, 'runs': runs}, f, indent=1, default=str)
    name = meta['name']
    sfx = meta.get('label_suffix') or ''
    plots = []
    has_target = meta['target'] is not None
    specs = [('tvd2', '2-way TVD (lower is better)', 'tvd2.png', None, False),
             ('tvd3', '3-way TVD (lower is better)', 'tvd3.png', None, False)]
    if has_target:
        specs += [('tstr_logreg_auc', 'TSTR ROC AUC, logistic regression', 'tstr_auc_logreg.png', 0.5, False),
                  ('tstr_tree_auc', 'TSTR ROC AUC, gradient-boosted trees', 'tstr_auc_tree.png', 0.5, False)]
    specs += [('mia_adv', 'membership-inference advantage (TPR - FPR)', 'mia.png', None, True)]
    for key, ylabel, fn, chance, bound in specs:
        plot(summary, key, ylabel, os.path.join(out, fn), '%s: %s' % (name, ylabel), meta,
             chance=chance, bound=bound, suffix=sfx)
        plots.append(fn)

    L = []
    L.append('# lipvae evaluation: %s' % name)
    L.append('')
    L.append('- command: `%s` (from `%s`)' % (meta['command'], meta['cwd']))
    L.append('- date: %s; git commit: %s; lipvae extension %s; host %s, %s CPUs' % (
        meta['date'], meta['git_commit'], meta['extension_version'], meta['host'], meta['cpus']))
    L.append('- data: `%s`: %d rows x %d columns used (%s); %d training rows, %d held-out rows '
             '(20%%, by md5 of the row number, split seed %d), never seen by any generator' % (
                 meta['csv'], meta['n_csv'], len(D.schema), ', '.join(
                     '%s %s' % (c.name, c.pytype) for c in D.schema), meta['n_train'], meta['n_holdout'],
                 meta['split_seed']))
    if meta['target']:
        L.append('- TSTR target: %s (positive rate in the training rows %.3f)' % (
            meta['target'], meta['target_positive_rate']))
    else:
        L.append('- TSTR: no target column (none given and no two-valued column); TSTR not measured')
    L.append('- epsilons %s, delta %g, seeds %s' % (
        ', '.join('%g' % e for e in meta['epsilons']), DELTA, ', '.join(str(s) for s in meta['seeds'])))
    L.append('- neighbouring relations (column "relation"): %s. ' % RELATION_NOTE
             + 'The baselines ran under: %s.' % ', '.join(meta.get('baseline_relations') or ['-']))
    for m, st in (meta['lipvae_settings'] or {}).items():
        L.append('- lipvae settings of %s: %s; other options lipvae\'s defaults (catalog settings in the '
                 'notes)' % (LABEL[m], st))
    L.append('- total run time %.0f s' % meta['runtime_seconds'])
    L.append('')
    L.append('> ' + PUBLIC_DOMAIN)
    L.append('')
    L.append('## Utility and privacy audit (mean ± std over seeds)')
    L.append('')
    L.append('TVD and association against the real training rows; TSTR scored on the held-out real '
             'rows (the real row is TRTR). DCR share: share of synthetic rows closer to a training '
             'row than to any held-out row (equal-size sets; 0.5 = no memorisation signal). MIA '
             'advantage: best-threshold TPR - FPR of the nearest-synthetic-row attack.')
    L.append('')
    L.append('| method | relation | epsilon | 1-way TVD | 2-way TVD | 3-way TVD | assoc diff | TSTR logreg AUC | '
             'TSTR logreg acc | TSTR tree AUC | TSTR tree acc | DCR share | MIA advantage |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for a in summary:
        L.append('| %s | %s | %s | %s |' % (label(a, sfx), REL_SHORT[a.get('relation')],
                                            eps_str(a['epsilon'], a['method']), ' | '.join(
            fmt(a, k) for k in ['tvd1', 'tvd2', 'tvd3', 'assoc', 'tstr_logreg_auc', 'tstr_logreg_acc',
                                'tstr_tree_auc', 'tstr_tree_acc', 'dcr_share', 'mia_adv'])))
    L.append('')
    L.append('## Empirical privacy audit in detail')
    L.append('')
    L.append('Distances on the standardised feature encoding (numeric columns standardised with the '
             'training rows\' mean and std, NULL indicators, one-hot categories); %d members (a '
             'random sample of the training rows) and %d non-members (held-out rows). The central '
             'bound is what (epsilon, delta)-DP of the whole synthetic table would imply for any '
             'attack: advantage <= (e^eps - 1 + 2 delta) / (e^eps + 1) (membership is add/remove-one; '
             'a replace-one epsilon bounds it only at about twice that epsilon). lipvae central\'s '
             'guarantee is central DP under add/remove-one, so the bound applies to it; central+latent '
             'is central under replace-one; **the per-record-only guarantee is not central** (it is '
             'conditional on the trained model: the decoder is fitted without noise), so for it the '
             'bound is a reference only. "ledger epsilon" is lipvae\'s epsilon_ledger: the same '
             'training\'s guarantee restated under replace-one. A best-threshold '
             'advantage of an attack with no signal is still about %.3f or less (95%% level, '
             'two-sample Kolmogorov-Smirnov) at these sizes. The real training rows are the '
             'positive control: releasing them is detected.' % (
                 meta['audit_rows'], meta['audit_rows'], meta['mia_null_level']))
    L.append('')
    L.append('| method | relation | epsilon | printed epsilon | ledger epsilon (replace-one) | DCR median to train | '
             'DCR median to held-out | DCR share | MIA advantage | MIA AUC | central DP bound |')
    L.append('|---|---|---|---|---|---|---|---|---|---|---|')
    for a in summary:
        pe = fmt(a, 'printed_epsilon_max', 4) if 'printed_epsilon_max' in a else (
            eps_str(a['epsilon']) if a['method'] in BASELINES else '-')
        le = fmt(a, 'lipvae_epsilon_ledger', 4) if 'lipvae_epsilon_ledger' in a else '-'
        bound = '%.3f' % M.dp_advantage_bound(a['epsilon'], DELTA) if a['epsilon'] is not None else '-'
        L.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            label(a, sfx), REL_SHORT[a.get('relation')], eps_str(a['epsilon'], a['method']), pe, le,
            fmt(a, 'dcr_median_train'),
            fmt(a, 'dcr_median_holdout'), fmt(a, 'dcr_share'), fmt(a, 'mia_adv'), fmt(a, 'mia_auc'), bound))
    L.append('')
    L.append('## Cost (seconds, mean over seeds)')
    L.append('')
    L.append('| method | relation | epsilon | train / fit | sample | epochs | DP-SGD steps | noise multiplier '
             '| sampling rate |')
    L.append('|---|---|---|---|---|---|---|---|---|')
    for a in summary:
        if a['method'] == 'real':
            continue
        tr = a.get('train_seconds', a.get('fit_seconds'))
        L.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            label(a, sfx), REL_SHORT[a.get('relation')], eps_str(a['epsilon']),
            '%.2f' % tr if tr is not None else '-',
            '%.2f' % a['sample_seconds'] if 'sample_seconds' in a else '-',
            '%g' % a['epochs'] if 'epochs' in a else '-',
            '%g' % a['lipvae_steps'] if 'lipvae_steps' in a else '-',
            '%.3f' % a['lipvae_noise_multiplier'] if 'lipvae_noise_multiplier' in a else '-',
            '%.4f' % a['lipvae_sampling_rate'] if 'lipvae_sampling_rate' in a else '-'))
    L.append('')
    L.append('## Notes')
    L.append('')
    for n in notes:
        L.append('- ' + n)
    L.append('')
    L.append('## Plots')
    L.append('')
    for p in plots:
        L.append('![%s](%s)' % (p, p))
    L.append('')
    with open(os.path.join(out, 'results.md'), 'w') as f:
        f.write('\n'.join(L))


# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--csv', help='a CSV file with a header row (unquoted empty field = NULL)')
    src.add_argument('--dataset', choices=sorted(DATASETS), help='a shipped dataset')
    p.add_argument('--target', help='TSTR target column (default: dataset default, else the last '
                   'two-valued column)')
    p.add_argument('--positive', help='the positive value of the target (default: the minority '
                   'value of a two-valued column, else the most frequent value)')
    p.add_argument('--epsilons', default='0.5,1,2,4,8')
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--name', help='results name (default: dataset or CSV file name)')
    p.add_argument('--out', help='output folder (default: eval/results/<name> in the repo)')
    p.add_argument('--methods', default=','.join(METHODS), help='subset of ' + ','.join(METHODS))
    p.add_argument('--epochs', type=int, help='lipvae epochs (default: lipvae\'s own default)')
    p.add_argument('--hidden', type=int, help='lipvae hidden width (default: lipvae\'s, 128)')
    p.add_argument('--latent', type=int)
    p.add_argument('--batch-size', dest='batch_size', type=int)
    p.add_argument('--learning-rate', dest='learning_rate', type=float)
    p.add_argument('--lipvae-opts', dest='lipvae_opts', type=json.loads, default={},
                   help='JSON object of extra lipvae_train options for the DP-SGD methods central and '
                   'central_latent, e.g. \'{"clip": 0.5, "layer_bound": 2}\' (allowed: %s)' % ', '.join(Lipvae.OPTIONS))
    p.add_argument('--aim-opts', dest='aim_opts', type=json.loads, default={},
                   help='JSON object of extra lipvae_train options for aim_vae, e.g. \'{"layer_bound": 2}\'')
    p.add_argument('--central-opts', dest='central_opts', type=json.loads, default={},
                   help='JSON options for method central only (applied after --lipvae-opts)')
    p.add_argument('--central-latent-opts', dest='central_latent_opts', type=json.loads, default={},
                   help='JSON options for method central_latent only (applied after --lipvae-opts)')
    p.add_argument('--label-suffix', dest='label_suffix', default='',
                   help='appended to the results name (so a sweep run does not overwrite the main '
                   'results) and to the lipvae labels in the tables, e.g. " [clip 0.5]"')
    p.add_argument('--baseline-relations', dest='baseline_relations', default='auto',
                   help='comma list of add/remove-one, replace-one, or auto (default: add/remove-one when '
                   'central runs, replace-one when central_latent or lipvae runs; replace-one when '
                   'neither)')
    p.add_argument('--split-seed', type=int, default=0)
    p.add_argument('--max-rows', type=int, default=50000,
                   help='use a deterministic sample of this many CSV rows when larger')
    p.add_argument('--max-categories', type=int, default=200,
                   help='text columns with more values keep the most frequent ones plus "(other)"')
    p.add_argument('--delimiter', help='CSV delimiter (default: sniffed from the header)')
    p.add_argument('--keep', action='store_true', help='keep the tables and models in the database')
    p.add_argument('--sample-factor', type=int, default=1,
                   help='lipvae methods release this many times the training rows (a diagnostic: '
                        'the metrics then show the model\'s error with less sampling noise; default 1)')
    args = p.parse_args(argv)
    if not 1 <= args.sample_factor <= 100:
        sys.exit('--sample-factor must be between 1 and 100')

    if args.dataset:
        path, dt, dp = DATASETS[args.dataset]
        name = args.name or args.dataset
        target = args.target or dt
        positive = args.positive if args.target else dp
        if not os.path.exists(path):
            sys.exit('dataset file %s not found' % path)
    else:
        path = args.csv
        if not os.path.exists(path):
            sys.exit('CSV file %s not found' % path)
        name = args.name or os.path.splitext(os.path.basename(path))[0]
        target, positive = args.target, args.positive
    if args.label_suffix:
        name += args.label_suffix
    name = ''.join(ch if ch.isalnum() or ch in '-_.' else '_' for ch in name).strip('_') or 'csv'
    for o in (args.lipvae_opts, args.central_opts, args.central_latent_opts, args.aim_opts):
        if not isinstance(o, dict):
            sys.exit('--lipvae-opts, --central-opts, --central-latent-opts and --aim-opts take a JSON object')
        for k in o:
            if k not in Lipvae.OPTIONS:
                sys.exit('unknown lipvae option %r (allowed: %s)' % (k, ', '.join(Lipvae.OPTIONS)))
    out = args.out or os.path.join(REPO, 'eval', 'results', name)
    epsilons = sorted(float(e) for e in args.epsilons.split(',') if e.strip())
    seeds = list(range(1, args.seeds + 1))
    methods = [m.strip() for m in args.methods.split(',') if m.strip()]
    for m in methods:
        if m not in METHODS:
            sys.exit('unknown method %r' % m)
    if args.baseline_relations == 'auto':
        rels = []
        if 'central' in methods or 'aim_vae' in methods:
            rels.append('add/remove-one')
        if 'central_latent' in methods or 'lipvae' in methods or not rels:
            rels.append('replace-one')
    else:
        rels = [r.strip() for r in args.baseline_relations.split(',') if r.strip()]
        for r in rels:
            if r not in baselines.RELATIONS:
                sys.exit('unknown relation %r (use %s)' % (r, ', '.join(baselines.RELATIONS)))
    command = shlex.join(['/usr/bin/python3'] + [os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]) \
        if argv is None else 'run.main(%r)' % (argv,)
    tag = 'lve%d' % os.getpid()

    log('lipvae evaluation of %s -> %s' % (path, out))
    log(PUBLIC_DOMAIN)
    server = DS.Server(log)
    server.start()
    lv = None
    conn = None
    D = None
    try:
        conn = DS.connect()
        ext = DS.ensure_extension(conn)
        if ext == '0.1' and any(m in methods for m in ('central', 'central_latent')):
            raise SystemExit('lipvae %s in database %s has no mechanism central: ALTER EXTENSION lipvae '
                             'UPDATE, or use another database (PGDATABASE)' % (ext, conn.info.dbname))
        D = DS.load(conn, path, tag, log, split_seed=args.split_seed, max_rows=args.max_rows,
                    max_categories=args.max_categories, delimiter=args.delimiter)
        log('columns: ' + ', '.join('%s:%s%s' % (c.name, c.pytype, '(NULLs)' if c.nullable else '')
                                    for c in D.schema))
        if D.renamed:
            log('renamed columns: %s' % D.renamed)
        if D.dropped:
            log('dropped all-NULL columns: %s' % ', '.join(D.dropped))
        log('%d CSV rows, %d training, %d held out' % (D.n_csv, D.n_train, D.n_holdout))
        tgt = resolve_target(D, target, positive)
        if tgt is None:
            log('no target column: TSTR is not measured')
        else:
            log('TSTR target: %s' % tgt[2])
        ev = Evaluator(D, tgt)
        lv = Lipvae(D, tag, args)
        settings = {}
        for m in LIPVAE_METHODS:
            if m in methods:
                o = lv.options(m)
                settings[m] = 'mechanism %s%s, delta %g, seed => s, public bounds/categories/not_null%s' % (
                    MECHANISM[m], ', passes => 1' if m in ('lipvae', 'central_latent') else '',
                    DELTA, ''.join(', %s => %s' % kv for kv in sorted(o.items())))
                log('lipvae settings for %s: %s' % (m, settings[m]))

        runs = []
        # lipvae jobs run in a worker thread (the training runs in the server backend, so it
        # overlaps with the baselines and metrics computed here).
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        jobs = []
        for s in seeds:
            if 'nonprivate' in methods:
                jobs.append(('nonprivate', None, s, pool.submit(lv.run, 'nonprivate', None, s)))
            for m in DP_LIPVAE:
                if m in methods:
                    for e in epsilons:
                        jobs.append((m, e, s, pool.submit(lv.run, m, e, s)))

        if 'real' in methods:
            r = ev.evaluate(D.train, seed=0)
            r.update({'method': 'real', 'epsilon': None, 'seed': 0})
            runs.append(r)
            log('real: 2-way TVD %.4f, TSTR logreg AUC %s, MIA adv %.3f' % (
                r['tvd2'], '%.3f' % r['tstr_logreg_auc'] if 'tstr_logreg_auc' in r else 'n/a', r['mia_adv']))
        base_codes = M.codes_of(D.schema, D.train)
        base_sizes = [c.base + (1 if c.nullable else 0) for c in D.schema]
        accounting = {}
        for bi, bname in enumerate(BASELINES):
            if bname not in methods:
                continue
            if bname in PEER_BASELINES:
                why = peers.available()
                if why:
                    log('skipping %s: %s' % (bname, why))
                    continue
                fn = getattr(peers, bname)
            else:
                fn = getattr(baselines, bname)
            for rel in rels:
                if bname in PEER_BASELINES and rel != 'add/remove-one':
                    continue
                for e in epsilons:
                    if bname not in PEER_BASELINES:
                        accounting['%s %s eps=%g' % (bname, rel, e)] = baselines.account(
                            bname, e, DELTA, len(D.schema), rel)
                    for s in seeds:
                        # the same random stream under both relations (common random numbers)
                        rng = np.random.default_rng([s, bi, int(round(e * 1000))])
                        t0 = time.time()
                        codes = fn(base_codes, base_sizes, e, DELTA, D.n_train, rng, relation=rel)
                        syn = M.decode_codes(D.schema, codes, rng)
                        fit = time.time() - t0
                        r = ev.evaluate(syn, seed=s)
                        r.update({'method': bname, 'relation': rel, 'epsilon': e, 'seed': s, 'fit_seconds': fit})
                        runs.append(r)
                        log('%s [%s] eps=%g seed=%d: 2-way TVD %.4f, TSTR logreg AUC %s (fit %.1f s, eval %.1f s)' % (
                            bname, rel, e, s, r['tvd2'],
                            '%.3f' % r['tstr_logreg_auc'] if 'tstr_logreg_auc' in r else 'n/a',
                            fit, r['eval_seconds']))
        for method, e, s, fut in jobs:
            syn, info = fut.result()
            r = ev.evaluate(syn, seed=s)
            r.update({'method': method, 'relation': run_relation(method), 'epsilon': e, 'seed': s})
            r.update({k: v for k, v in info.items() if k != 'summary'})
            r['lipvae_summary'] = info['summary']
            runs.append(r)
            log('%s eps=%s seed=%d: 2-way TVD %.4f, TSTR logreg AUC %s, printed eps %s, train %.1f s '
                '(%s epochs), sample %.2f s' % (
                    method, eps_str(e), s, r['tvd2'],
                    '%.3f' % r['tstr_logreg_auc'] if 'tstr_logreg_auc' in r else 'n/a',
                    '%.4f' % info['printed_epsilon_max'] if e is not None else 'inf',
                    info['train_seconds'], info['epochs'], info['sample_seconds']))
        pool.shutdown()

        summary = aggregate(runs)
        notes = []
        floor = {k: M.kway_tvd(ev.real_codes, M.codes_of(D.schema, D.holdout), ev.sizes, k)
                 for k in (1, 2, 3)}
        notes.append('Sampling floor: the %d held-out real rows against the training rows give 1-way '
                     'TVD %.4f, 2-way %.4f, 3-way %.4f (a synthetic set of %d rows drawn from the true '
                     'distribution would sit somewhat below this).' % (
                         D.n_holdout, floor[1], floor[2], floor[3], D.n_train))
        iid = iid_floor(ev)
        notes.append('iid floor: %d rows resampled with replacement from the training rows (a perfect '
                     'model released iid, the mean of %d draws) give 1-way TVD %.4f, 2-way %.4f, 3-way '
                     '%.4f.' % (D.n_train, IID_FLOOR_DRAWS, iid[1], iid[2], iid[3]))
        sc = [a for a in summary if a.get('single_class_runs')]
        for a in sc:
            notes.append('%s [%s] at epsilon %s: %d run(s) produced a single target class; TSTR AUC reported '
                         'as 0.5 and accuracy of the constant prediction.' % (
                             LABEL[a['method']], REL_SHORT[a.get('relation')], eps_str(a['epsilon']),
                             a['single_class_runs']))
        if not sc and tgt is not None:
            notes.append('No synthetic set had a single target class (TSTR AUC would be reported as 0.5 then).')
        unl = {}
        for r in runs:
            for k, v in (r.get('unlisted_values') or {}).items():
                unl[k] = unl.get(k, 0) + v
        if unl:
            notes.append('lipvae emitted values outside the public category lists: %s' % unl)
        for m in DP_LIPVAE:
            lv_runs = [r for r in runs if r['method'] == m and r.get('printed_epsilon_max') is not None]
            if not lv_runs:
                continue
            over = [r for r in lv_runs if r['printed_epsilon_max'] > r['epsilon'] * (1 + 1e-9)]
            notes.append('%s: printed epsilon on the evaluated rows at most the requested epsilon in '
                         '%d of %d runs (max printed / requested = %.6f); scope "%s".' % (
                             LABEL[m], len(lv_runs) - len(over), len(lv_runs),
                             max(r['printed_epsilon_max'] / r['epsilon'] for r in lv_runs), lv_runs[0]['scope']))
            led = [r for r in lv_runs if r.get('lipvae_epsilon_ledger') is not None]
            if m == 'central' and led:
                notes.append('%s: the same training restated under replace-one (lipvae\'s epsilon_ledger) '
                             'is %s at requested epsilon %s.' % (
                                 LABEL[m], ' / '.join('%.3f' % np.mean([r['lipvae_epsilon_ledger'] for r in led
                                                                      if r['epsilon'] == e]) for e in epsilons),
                                 ' / '.join('%g' % e for e in epsilons)))
        for m in LIPVAE_METHODS:
            st = [r.get('settings') for r in runs if r['method'] == m and r.get('settings')]
            if st:
                notes.append('%s: settings stored in the catalog (first run): `%s`.' % (
                    LABEL[m], json.dumps(st[0], sort_keys=True)))
        if tgt is not None:
            tj = tgt[0]
            det = [D.schema[j].name for j in range(len(D.schema))
                   if j != tj and ev.real_assoc[tj, j] >= 0.99]
            trtr = [a for a in summary if a['method'] == 'real' and 'tstr_logreg_auc' in a]
            if det or (trtr and trtr[0]['tstr_logreg_auc'] >= 0.99):
                notes.append('The target is (almost) determined by %s (TRTR AUC %s): TSTR then mostly measures '
                             'whether a generator keeps that one dependency.' % (
                                 'column(s) ' + ', '.join(det) + ' (association >= 0.99 with it)' if det
                                 else 'the other columns', '%.3f' % trtr[0]['tstr_logreg_auc'] if trtr else 'n/a'))
        bsh = [a['dcr_share'] for a in summary if a['method'] in ('independent', 'marginal_tree') and 'dcr_share' in a]
        if bsh:
            notes.append('DCR shares of the DP baselines (which cannot copy rows) range %.3f-%.3f here: the '
                         'spread to expect without memorisation with these reference sets.' % (min(bsh), max(bsh)))
        npv = [a for a in summary if a['method'] == 'nonprivate' and 'mia_adv' in a]
        if npv and npv[0]['mia_adv'] < M.mia_null_level(ev.audit_m):
            notes.append('The membership-inference attack does not detect the non-private VAE either '
                         '(advantage %.3f, below the no-signal level %.3f): against this generator family '
                         'the audit has no power beyond the real-rows control, so a low advantage for '
                         'lipvae is weak evidence of privacy (its guarantee is the proof, not this audit).' % (
                             npv[0]['mia_adv'], M.mia_null_level(ev.audit_m)))
        notes.append('TSTR models: sklearn LogisticRegression(max_iter=1000) and '
                     'HistGradientBoostingClassifier on one-hot categories, standardised numerics and '
                     'NULL indicators; a NULL target counts as negative.')
        notes.append('Baselines decode a numeric bin uniformly inside the bin (integer columns: uniformly '
                     'over the integers in the bin), NULL code -> NULL; they see codes of the training rows '
                     'only. Their noise is calibrated at (epsilon, 1e-5) by eval/baselines.py under the '
                     'relation in their row (%s; accounting in results.json).' % ', '.join(rels))
        if D.na_tokens:
            notes.append('NA-like tokens read as NULL in non-text columns: %s' % D.na_tokens)
        if D.renamed:
            notes.append('Renamed columns: %s' % D.renamed)
        if D.dropped:
            notes.append('Dropped all-NULL columns: %s' % ', '.join(D.dropped))
        if D.n_csv > D.n_train + D.n_holdout:
            notes.append('The CSV has %d rows; a deterministic sample of %d was used.' % (
                D.n_csv, D.n_train + D.n_holdout))
        meta = {
            'name': name, 'csv': os.path.relpath(path, REPO) if path.startswith(REPO) else path,
            'command': command, 'cwd': os.getcwd(),
            'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'git_commit': git_commit(), 'extension_version': ext, 'host': platform.node(),
            'cpus': os.cpu_count(), 'n_csv': D.n_csv, 'n_train': D.n_train, 'n_holdout': D.n_holdout,
            'split_seed': args.split_seed, 'columns': [c.to_json() for c in D.schema],
            'target': tgt[2] if tgt else None,
            'target_positive_rate': float(ev.y_train.mean()) if tgt else None,
            'epsilons': epsilons, 'delta': DELTA, 'seeds': seeds, 'methods': methods,
            'lipvae_settings': settings, 'public_domain': PUBLIC_DOMAIN, 'baseline_relations': rels,
            'label_suffix': args.label_suffix, 'lipvae_opts': args.lipvae_opts,
            'central_opts': args.central_opts, 'central_latent_opts': args.central_latent_opts,
            'aim_opts': args.aim_opts,
            'lipvae_bounds': lv.bounds, 'lipvae_categories': lv.categories, 'lipvae_not_null': lv.not_null,
            'baseline_accounting': accounting, 'audit_rows': ev.audit_m,
            'mia_null_level': M.mia_null_level(ev.audit_m), 'sampling_floor_tvd': floor,
            'iid_floor_tvd': iid,
            'runtime_seconds': time.time() - T0,
        }
        write_outputs(out, meta, runs, summary, D, notes)
        log('wrote %s/results.md, results.json and plots (total %.0f s)' % (out, time.time() - T0))
    finally:
        if lv is not None and not args.keep:
            lv.drop_all()
        if conn is not None and not args.keep:
            try:
                with conn.cursor() as cur:
                    for t in ('_raw', '_full', '_train'):
                        cur.execute('DROP TABLE IF EXISTS %s.%s' % (DS.q(DS.SCHEMA), DS.q(tag + t)))
            except psycopg2.Error:
                pass
        if conn is not None:
            conn.close()
        if lv is not None and lv.conn is not None:
            lv.conn.close()
        server.stop()


if __name__ == '__main__':
    main()
