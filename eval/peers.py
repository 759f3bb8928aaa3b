"""AIM and MST from ../shared/peers/private-pgm as baselines on the binned codes.

private-pgm (McKenna et al., Apache-2.0) is not on any package index reachable here; it is read
from the shared folder, unchanged. Both mechanisms account in zCDP under add/remove-one, so they
are run (and compared) under that relation only. Without the folder, or without Debian's
python3-pandas / python3-networkx, ``available()`` says why and the harness skips them.
"""
import itertools
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PGM = os.path.normpath(os.path.join(HERE, '..', '..', 'shared', 'peers', 'private-pgm'))
PEERS = ('aim', 'mst')


def available():
    """None when AIM and MST can run, else the reason they cannot."""
    if not os.path.isdir(os.path.join(PGM, 'src', 'mbi')):
        return 'private-pgm not found at %s' % PGM
    try:
        import pandas  # noqa: F401
        import networkx  # noqa: F401
    except ImportError as e:
        return '%s (apt-get install -y python3-pandas python3-networkx)' % e
    return None


def _import():
    for p in (os.path.join(PGM, 'shims'), PGM, os.path.join(PGM, 'src')):
        if p not in sys.path:
            sys.path.insert(0, p)
    import pandas as pd
    from mbi import Dataset, Domain
    return pd, Dataset, Domain


def _dataset(codes, sizes):
    pd, Dataset, Domain = _import()
    names = ['c%d' % i for i in range(len(sizes))]
    df = pd.DataFrame(np.asarray(codes, dtype=np.int64), columns=names)
    return Dataset(df, Domain(names, [int(s) for s in sizes])), names


def aim(codes, sizes, epsilon, delta, n_out, rng, relation='add/remove-one'):
    """AIM with its published defaults (max_model_size 80 MB, max_iters 1000) and the workload
    of every pair of columns (the 2-way TVD the harness reports)."""
    if relation != 'add/remove-one':
        raise ValueError('private-pgm accounts under add/remove-one only')
    data, names = _dataset(codes, sizes)
    import mechanisms.aim as A
    workload = [(cl, 1.0) for cl in itertools.combinations(names, 2)]
    prng = np.random.RandomState(int(rng.integers(2 ** 31)))
    mech = A.AIM(epsilon, delta, prng=prng, max_model_size=80, max_iters=1000)
    _model, synth = mech.run(data, workload, n_out, None)
    return synth.df[names].to_numpy(dtype=np.int64)


def mst(codes, sizes, epsilon, delta, n_out, rng, relation='add/remove-one'):
    """MST as published (it draws from numpy's global generator: seeded here)."""
    if relation != 'add/remove-one':
        raise ValueError('private-pgm accounts under add/remove-one only')
    data, names = _dataset(codes, sizes)
    import mechanisms.mst as S
    np.random.seed(int(rng.integers(2 ** 31)))
    synth = S.MST(data, epsilon, delta)
    out = synth.df[names].to_numpy(dtype=np.int64)
    idx = np.random.choice(len(out), n_out, replace=len(out) < n_out)
    return out[idx]
