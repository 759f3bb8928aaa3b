"""Where a method loses: every pair's 2-way TVD, side by side, from a results.json of run.py.

    python3 eval/pairs.py RESULTS.json [--epsilon E] [--methods aim_vae,aim]

For each pair of columns: its 2-way TVD per method (mean over the seeds), and how many of
lipvae's runs measured it (marginals 'aim' stores its measured cliques in the catalog, which
run.py keeps in each run's 'dpsgd'). The last lines split the mean over measured and inferred
pairs: a generator that loses on the pairs it measured fits the noisy measurements worse; one
that loses on the others infers the unmeasured dependence worse.
"""
import argparse
import json
import sys

import numpy as np


def measured_pairs(run):
    """The column pairs a lipvae run measured (empty for the baselines)."""
    ms = ((run.get('dpsgd') or {}).get('measurements')) or []
    return {'|'.join(m['columns']) for m in ms if len(m.get('columns', [])) == 2}


def table(runs, methods, epsilon):
    """Per pair: mean TVD per method, and the share of the first method's runs measuring it."""
    pick = {m: [r for r in runs if r.get('method') == m and r.get('epsilon') == epsilon
                and 'tvd2_pairs' in r] for m in methods}
    for m in methods:
        if not pick[m]:
            raise SystemExit('no runs of %s at epsilon %g with per-pair TVDs (rerun run.py)' % (m, epsilon))
    pairs = sorted(pick[methods[0]][0]['tvd2_pairs'])
    rows = []
    for p in pairs:
        vals = [float(np.mean([r['tvd2_pairs'][p] for r in pick[m]])) for m in methods]
        share = float(np.mean([p in measured_pairs(r) for r in pick[methods[0]]]))
        rows.append((p, share, vals))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('results')
    ap.add_argument('--epsilon', type=float, default=1.0)
    ap.add_argument('--methods', default='aim_vae,aim')
    a = ap.parse_args()
    methods = a.methods.split(',')
    with open(a.results) as f:
        runs = json.load(f)['runs']
    rows = table(runs, methods, a.epsilon)
    print('%-28s %8s %s' % ('pair', 'measured', ' '.join('%9s' % m for m in methods)))
    for p, share, vals in sorted(rows, key=lambda r: r[2][0] - r[2][-1], reverse=True):
        print('%-28s %8.2f %s' % (p, share, ' '.join('%9.4f' % v for v in vals)))
    for label, keep in (('measured', lambda s: s >= 0.5), ('inferred', lambda s: s < 0.5)):
        sel = [v for _, s, v in rows if keep(s)]
        if sel:
            print('%-28s %8d %s' % ('mean, ' + label, len(sel),
                                    ' '.join('%9.4f' % np.mean([v[i] for v in sel]) for i in range(len(methods)))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
