#!/usr/bin/python3
"""Write eval/SUMMARY.md (the summary table for the README) from eval/results/<dataset>/results.json.

    /usr/bin/python3 eval/summarize.py [--datasets flchain,lending_club,gss_cat] [--command CMD]
"""
import argparse
import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

ORDER = ['central', 'central_latent', 'lipvae', 'independent', 'marginal_tree', 'nonprivate', 'real']
SHORT = {'central': 'lipvae central (DP-SGD)', 'central_latent': 'lipvae central+latent',
         'lipvae': 'lipvae per-record only', 'independent': 'independent DP histograms',
         'marginal_tree': 'marginal tree (MST-style)', 'nonprivate': 'non-private VAE',
         'real': 'real rows (TRTR)'}
REL = {'add/remove-one': 'add/remove', 'replace-one': 'replace', None: '-'}
# the neighbouring relation of each lipvae method (the baselines' rows carry their own)
LV_REL = {'central': 'add/remove-one', 'central_latent': 'replace-one', 'lipvae': 'replace-one'}
LV_DP = ('central', 'central_latent', 'lipvae')
BASES = ('independent', 'marginal_tree')


def rel_of(a):
    return a.get('relation', LV_REL.get(a['method'], 'replace-one' if a['method'] in BASES else None))


def cell(a, k):
    if a is None or k not in a:
        return ''
    if a.get('seeds', 1) > 1 and a['method'] != 'real':
        return '%.3f ± %.3f' % (a[k], a[k + '_std'])
    return '%.3f' % a[k]


def rows_of(r):
    """(method, relation) pairs present in a results.json, in table order."""
    keys = {(a['method'], rel_of(a)) for a in r['summary']}
    ro = {'add/remove-one': 0, 'replace-one': 1, None: 2}
    return sorted(keys, key=lambda k: (ORDER.index(k[0]), ro.get(k[1], 3)))


def table(results, key, title, lower_better):
    eps = sorted({a['epsilon'] for r in results.values() for a in r['summary'] if a['epsilon'] is not None})
    L = ['### %s (%s is better)' % (title, 'lower' if lower_better else 'higher'), '',
         '| dataset | method | relation | ' + ' | '.join('ε = %g' % e for e in eps) + ' | no DP |',
         '|---|---|---|' + '---|' * (len(eps) + 1)]
    for ds, r in results.items():
        by = {(a['method'], rel_of(a), a['epsilon']): a for a in r['summary']}
        for m, rel in rows_of(r):
            if m in ('nonprivate', 'real'):
                if m == 'real' and key.startswith('tvd'):
                    continue  # 0 by definition
                row = [''] * len(eps) + [cell(by.get((m, rel, None)), key)]
            else:
                row = [cell(by.get((m, rel, e)), key) for e in eps] + ['']
            L.append('| %s | %s | %s | %s |' % (ds, SHORT[m], REL[rel], ' | '.join(row)))
    L.append('')
    return L


def headline(results, eps_list=(1.0, 8.0)):
    """Each lipvae DP method beside the baselines of its own relation and the non-private VAE,
    at a few epsilons: 2-way/3-way TVD, TSTR AUC."""
    L = []
    keys = (('tvd2', '2-way TVD'), ('tvd3', '3-way TVD'), ('tstr_logreg_auc', 'TSTR AUC logreg'),
            ('tstr_tree_auc', 'TSTR AUC trees'))
    for ds, r in results.items():
        by = {(a['method'], rel_of(a), a['epsilon']): a for a in r['summary']}
        have = [e for e in eps_list if any(k[2] == e for k in by)]
        if not have:
            continue
        L.append('#### %s' % ds)
        L.append('')
        L.append('| ε | method | relation | ' + ' | '.join(n for _, n in keys) + ' |')
        L.append('|---|---|---|' + '---|' * len(keys))
        for e in have:
            for m in LV_DP:
                rel = LV_REL[m]
                if (m, rel, e) not in by:
                    continue
                for mm in (m,) + BASES:
                    a = by.get((mm, rel, e))
                    if a is None:
                        continue
                    L.append('| %g | %s | %s | %s |' % (e, SHORT[mm], REL[rel], ' | '.join(cell(a, k) for k, _ in keys)))
        for mm in ('nonprivate', 'real'):
            a = by.get((mm, None, None))
            if a is not None:
                L.append('| no DP | %s | - | %s |' % (SHORT[mm], ' | '.join(
                    '' if (mm == 'real' and k.startswith('tvd')) else cell(a, k) for k, _ in keys)))
        L.append('')
    return L


def verdict(results):
    """Does each lipvae DP method beat independent DP marginals / the marginal tree under the same
    neighbouring relation (means over seeds)?"""
    L = []
    for ds, r in results.items():
        by = {(a['method'], rel_of(a), a['epsilon']): a for a in r['summary']}
        for m in LV_DP:
            rel = LV_REL[m]
            eps = sorted({a['epsilon'] for a in r['summary'] if a['method'] == m})
            if not eps:
                continue
            parts = []
            for base in BASES:
                if not any((base, rel, e) in by for e in eps):
                    continue
                for key, lower, name in (('tvd2', True, '2-way TVD'), ('tvd3', True, '3-way TVD'),
                                         ('tstr_logreg_auc', False, 'TSTR logreg AUC')):
                    wins, clear = [], []
                    for e in eps:
                        a, b = by.get((m, rel, e)), by.get((base, rel, e))
                        if a is None or b is None or key not in a or key not in b:
                            continue
                        diff = (b[key] - a[key]) if lower else (a[key] - b[key])
                        if diff > 0:
                            wins.append(e)
                            if diff > max(a.get(key + '_std', 0.0), b.get(key + '_std', 0.0)):
                                clear.append(e)
                    parts.append('%s vs %s: better at %d of %d epsilons%s, by more than the larger seed std '
                                 'at %d%s' % (
                                     name, SHORT[base], len(wins), len(eps),
                                     ' (%s)' % ', '.join('%g' % e for e in wins) if wins else '',
                                     len(clear), ' (%s)' % ', '.join('%g' % e for e in clear) if clear else ''))
            if parts:
                L.append('- **%s, %s** (both %s): %s.' % (ds, SHORT[m], rel, '; '.join(parts)))
    return L


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument('--datasets', default='flchain,lending_club,gss_cat')
    p.add_argument('--results', default=os.path.join(REPO, 'eval', 'results'))
    p.add_argument('--out', default=os.path.join(HERE, 'SUMMARY.md'))
    p.add_argument('--command', default='bash eval/run-all.sh')
    args = p.parse_args(argv)
    results = {}
    for ds in args.datasets.split(','):
        f = os.path.join(args.results, ds, 'results.json')
        if os.path.exists(f):
            with open(f) as fh:
                results[ds] = json.load(fh)
        else:
            print('summarize: %s missing, skipped' % f, file=sys.stderr)
    if not results:
        sys.exit('summarize: no results')
    metas = [r['meta'] for r in results.values()]
    L = ['# lipvae evaluation summary', '',
         'Generated by `%s` on %s (git commit %s). Per-dataset reports, with the exact command of '
         'each run, the privacy audit and plots: %s.' % (
             args.command, datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
             metas[0]['git_commit'], ', '.join('`eval/results/%s/results.md`' % ds for ds in results)), '']
    L.append('Setup: delta = 1e-5; 20%% of each table held out by a seeded hash of the row number; '
             'mean ± std over %s seeds. Datasets: %s.' % (
                 '/'.join(sorted({str(len(m['seeds'])) for m in metas})),
                 '; '.join('%s (%d training / %d held-out rows, target %s)' % (
                     ds, r['meta']['n_train'], r['meta']['n_holdout'], r['meta']['target'])
                     for ds, r in results.items())))
    L.append('')
    L.append('Methods and neighbouring relations (column "relation"; each lipvae method is compared with '
             'the baselines calibrated under its own relation): **lipvae central** (`mechanism => '
             '\'central\'`, the default: DP-SGD, rows sampled from the prior) is central (ε, δ)-DP of '
             'the whole output under add/remove-one; **lipvae central+latent** (`mechanism => '
             '\'central+latent\', passes => 1`: DP-SGD plus the per-record latent release, composed in '
             'RDP) is central under replace-one; **lipvae per-record only** (`mechanism => \'latent\', '
             'passes => 1`) is the per-record guarantee under replace-one, conditional on the trained '
             'model, not central DP. The baselines (independent DP histograms, MST-style marginal tree; '
             '`eval/baselines.py`) run under add/remove-one (histogram L2 sensitivity 1) for comparison '
             'with central, and under replace-one (sqrt 2) for the other two. lipvae options: %s.' % (
                 '; '.join('%s: %s' % (ds, ' / '.join('%s: %s' % (SHORT.get(k, k), v) for k, v in (
                     r['meta']['lipvae_settings'].items() if isinstance(r['meta']['lipvae_settings'], dict)
                     else [('lipvae', r['meta']['lipvae_settings'])])))
                           for ds, r in list(results.items())[:1])))
    L.append('')
    L.append('> ' + metas[0]['public_domain'])
    L.append('')
    L.append('### Head to head at ε = 1 and 8 (each lipvae method with the baselines of its relation)')
    L.append('')
    L += headline(results)
    L += table(results, 'tvd2', '2-way marginal TVD', True)
    L += table(results, 'tvd3', '3-way marginal TVD', True)
    L += table(results, 'tstr_logreg_auc', 'TSTR ROC AUC, logistic regression, on held-out real rows', False)
    L += table(results, 'tstr_tree_auc', 'TSTR ROC AUC, gradient-boosted trees, on held-out real rows', False)
    L.append('### Does lipvae beat the baselines at the same relation? (means over seeds)')
    L.append('')
    L += verdict(results)
    L.append('')
    L.append('### Empirical privacy audit')
    L.append('')
    L.append('Membership-inference advantage (best-threshold TPR - FPR of the nearest-synthetic-row '
             'attack; releasing the real training rows themselves is the positive control):')
    L.append('')
    L.append('| dataset | lipvae central, max over ε | lipvae central+latent, max over ε | lipvae per-record only, '
             'max over ε | non-private VAE | real rows (positive control) | no-signal 95% level |')
    L.append('|---|---|---|---|---|---|---|')
    for ds, r in results.items():
        s = r['summary']

        def mx(m):
            v = [a['mia_adv'] for a in s if a['method'] == m and 'mia_adv' in a]
            return '%.3f' % max(v) if v else ''
        L.append('| %s | %s | %s | %s | %s | %s | %.3f |' % (
            ds, mx('central'), mx('central_latent'), mx('lipvae'), mx('nonprivate'), mx('real'),
            r['meta']['mia_null_level']))
    L.append('')
    L.append('The central (epsilon, delta)-DP bound on any membership attack\'s advantage, (e^ε - 1 + 2δ)/(e^ε + 1), '
             'is 0.245 / 0.462 / 0.762 / 0.964 / 0.999 at ε = 0.5 / 1 / 2 / 4 / 8; it holds for lipvae central '
             '(add/remove-one is the membership relation); a replace-one guarantee bounds membership only at '
             'about twice the epsilon; the per-record-only guarantee is not central, so it is a reference only.')
    L.append('')
    L.append('Run time: %s.' % ', '.join('%s %.0f s' % (ds, r['meta']['runtime_seconds']) for ds, r in results.items()))
    L.append('')
    with open(args.out, 'w') as f:
        f.write('\n'.join(L))
    print('wrote %s' % args.out)


if __name__ == '__main__':
    main()
