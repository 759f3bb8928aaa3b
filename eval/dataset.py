"""Loading a CSV into PostgreSQL for the evaluation harness: a throw-away cluster when no server
is configured, COPY into a text staging table, column type inference, the typed table, the
deterministic held-out split, and the public domain (bounds, category lists, NULL-ability)."""
import csv
import datetime
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from collections import Counter

import numpy as np

import metrics as M

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCHEMA = 'lipvae_eval'
RESERVED = {'epsilon', 'delta', 'scope'}  # lipvae's typed sample appends these columns
NULL_TOKENS = {'', 'na', 'n/a', 'nan', 'null', 'none', '#n/a'}  # NULL in non-text columns only
TRUE_TOKENS = {'true', 't', 'yes'}
FALSE_TOKENS = {'false', 'f', 'no'}
INT_RE = re.compile(r'^[+-]?[0-9]+$')
FLOAT_RE = re.compile(r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$')
DATE_RE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
TS_RE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?'
                   r'(?P<tz>Z|[+-][0-9]{2}(:?[0-9]{2})?)?$')
EPOCH_DATE = datetime.date(1970, 1, 1)
EPOCH_TS = datetime.datetime(1970, 1, 1)
SQLTYPE = {'bool': 'boolean', 'int': 'integer', 'bigint': 'bigint', 'float': 'double precision',
           'date': 'date', 'timestamp': 'timestamp', 'timestamptz': 'timestamptz', 'text': 'text'}


def q(ident):
    """Quote an SQL identifier."""
    return '"' + ident.replace('"', '""') + '"'


def lit(s):
    """Quote an SQL string literal (standard_conforming_strings on)."""
    return "'" + str(s).replace("'", "''") + "'"


# ---------------------------------------------------------------- server

class Server:
    """The PostgreSQL server: the one PGHOST/PGPORT/PGUSER point at, or a throw-away cluster
    started with scripts/pgcluster.sh (stopped and removed by stop())."""

    def __init__(self, log):
        self.log = log
        self.cluster_dir = None

    def start(self):
        if any(os.environ.get(v) for v in ('PGHOST', 'PGPORT', 'PGUSER')):
            self.log('server: PGHOST=%s PGPORT=%s PGUSER=%s (from the environment)' % (
                os.environ.get('PGHOST', ''), os.environ.get('PGPORT', ''), os.environ.get('PGUSER', '')))
            return
        d = tempfile.mkdtemp(prefix='lipvae-eval-pg-')
        script = os.path.join(REPO, 'scripts', 'pgcluster.sh')
        t0 = time.time()
        r = subprocess.run(['bash', script, 'start', d], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(d, ignore_errors=True)
            raise SystemExit('could not start a throw-away cluster with %s:\n%s%s' % (script, r.stdout, r.stderr))
        self.cluster_dir = d
        for line in r.stdout.splitlines():
            if line.startswith('export '):
                for kv in shlex.split(line[len('export '):]):
                    k, _, v = kv.partition('=')
                    os.environ[k] = v
        self.log('server: throw-away cluster in %s (PGPORT=%s), started in %.1f s' % (
            d, os.environ.get('PGPORT'), time.time() - t0))

    def stop(self):
        if self.cluster_dir:
            script = os.path.join(REPO, 'scripts', 'pgcluster.sh')
            subprocess.run(['bash', script, 'stop', self.cluster_dir], capture_output=True)
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
            self.log('server: throw-away cluster stopped and removed')
            self.cluster_dir = None


def connect():
    import psycopg2
    conn = psycopg2.connect('')
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'; SET client_encoding = 'UTF8'; SET statement_timeout = 0")
    return conn


def ensure_extension(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'lipvae'")
        row = cur.fetchone()
        if row:
            return row[0]
        try:
            cur.execute('CREATE EXTENSION lipvae')
        except Exception as e:
            raise SystemExit('CREATE EXTENSION lipvae failed (%s).\nBuild and install it first: '
                             'cd %s && make && sudo make install' % (str(e).strip(), REPO))
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'lipvae'")
        return cur.fetchone()[0]


# ---------------------------------------------------------------- CSV and types

def sniff_delimiter(path):
    with open(path, newline='', encoding='utf-8-sig', errors='replace') as f:
        line = f.readline()
    best, best_n = ',', 0
    for d in (',', ';', '\t', '|'):
        n = len(next(csv.reader([line], delimiter=d), []))
        if n > best_n:
            best, best_n = d, n
    return best


def read_header(path, delim):
    with open(path, newline='', encoding='utf-8-sig', errors='replace') as f:
        return next(csv.reader(f, delimiter=delim))


def db_names(header):
    """Column names as stored: the header's names, except that empty names become column_<i>,
    names are cut to PostgreSQL's 63 bytes, duplicates get a suffix, and lipvae's reserved output
    names (epsilon, delta, scope) get a trailing underscore."""
    out, seen = [], set()
    for i, h in enumerate(header):
        name = h if h.strip() else 'column_%d' % (i + 1)
        if name in RESERVED or name.startswith('__lve'):
            name = name + '_'
        name = name.encode('utf-8')[:63].decode('utf-8', 'ignore')
        base, k = name, 2
        while name in seen:
            suffix = '_%d' % k
            name = base.encode('utf-8')[:63 - len(suffix)].decode('utf-8', 'ignore') + suffix
            k += 1
        seen.add(name)
        out.append(name)
    return out


def infer_type(values):
    """Type of a column from its text values (None = NULL): bool, int/bigint, float, date,
    timestamp, timestamptz, else text. In non-text columns, empty/whitespace and NA-like tokens
    are NULL. Returns (type, count of NA-like tokens treated as NULL)."""
    vals = [v.strip() for v in values if v is not None]
    nonnull = [v for v in vals if v.lower() not in NULL_TOKENS]
    tokens = len(vals) - len(nonnull)
    if not nonnull:
        return ('text', 0) if vals else ('empty', 0)
    low = {v.lower() for v in nonnull}
    if low <= TRUE_TOKENS | FALSE_TOKENS:
        return 'bool', tokens
    if all(INT_RE.match(v) for v in nonnull):
        m = max(abs(int(v)) for v in nonnull)
        if m < 2 ** 31 - 1:
            return 'int', tokens
        if m < 2 ** 63 - 1:
            return 'bigint', tokens
        return 'float', tokens
    if all(FLOAT_RE.match(v) for v in nonnull):
        if all(np.isfinite(float(v)) for v in nonnull):
            return 'float', tokens
        return 'text', 0
    if all(DATE_RE.match(v) for v in nonnull):
        try:
            for v in nonnull:
                datetime.date.fromisoformat(v)
            return 'date', tokens
        except ValueError:
            return 'text', 0
    ms = [TS_RE.match(v) or DATE_RE.match(v) for v in nonnull]
    if all(ms):
        tz = [bool(m.groupdict().get('tz')) if m.re is TS_RE else False for m in ms]
        if any(tz) and not all(tz):
            return 'text', 0
        try:
            for v in nonnull:
                datetime.datetime.fromisoformat(v.replace('Z', '+00:00'))
        except ValueError:
            return 'text', 0
        return ('timestamptz' if all(tz) else 'timestamp'), tokens
    return 'text', 0


def cast_expr(raw, t):
    """SQL expression casting the staged text column `raw` (quoted) to type t."""
    if t == 'text':
        return raw
    toks = ', '.join(lit(x) for x in sorted(NULL_TOKENS))
    return ('CASE WHEN lower(btrim(%s)) IN (%s) THEN NULL ELSE btrim(%s)::%s END'
            % (raw, toks, raw, SQLTYPE[t]))


def split_u(split_seed, rn):
    """The uniform number in [0, 1) that decides the split of row rn (1-based CSV row number):
    the first 32 bits of md5('<split_seed>:<rn>') / 2^32; held out when < holdout share.
    The SQL expression below computes the same number."""
    return int(hashlib.md5(('%s:%d' % (split_seed, rn)).encode()).hexdigest()[:8], 16) / 2.0 ** 32


def split_sql(split_seed, rn_col):
    return "(('x' || substr(md5(%s || ':' || %s::text), 1, 8))::bit(32)::bigint / 4294967296.0)" % (
        lit(str(split_seed)), rn_col)


# ---------------------------------------------------------------- the loaded data set

class Data:
    """Everything the harness needs about the loaded table."""
    pass


def _num_repr(t, v):
    if v is None:
        return np.nan
    if t == 'date':
        return float((v - EPOCH_DATE).days)
    if t == 'timestamp':
        return (v - EPOCH_TS).total_seconds()
    if t == 'timestamptz':
        return v.timestamp()
    return float(v)


def to_table(schema, rows, stats=None):
    """psycopg2 rows (tuples in schema order, typed values) -> the harness's table representation
    (see metrics.py). Text values outside a column's public list become its "other" category if
    it has one, else NULL (counted in stats['unlisted'])."""
    n = len(rows)
    table = []
    for j, col in enumerate(schema):
        vals = [r[j] for r in rows]
        if col.kind == 'num':
            table.append(np.array([_num_repr(col.pytype, v) for v in vals], dtype=np.float64))
        elif col.pytype == 'bool':
            table.append(np.array([2 if v is None else int(bool(v)) for v in vals], dtype=np.int64))
        else:
            idx = col.index
            null = col.base
            oth = idx.get(col.other, null) if col.other is not None else null
            out = np.empty(n, dtype=np.int64)
            unl = 0
            for i, v in enumerate(vals):
                if v is None:
                    out[i] = null
                else:
                    k = idx.get(v)
                    if k is None:
                        k = oth
                        unl += 1
                    out[i] = k
            if stats is not None and unl:
                stats.setdefault('unlisted', {})[col.name] = unl
            table.append(out)
    return table


def subset(table, mask_or_idx):
    return [x[mask_or_idx] for x in table]


def load(conn, path, tag, log, split_seed=0, holdout=0.2, max_rows=50000, max_categories=200,
         delimiter=None):
    """COPY the CSV into PostgreSQL, infer types, build the typed table and the training table,
    derive the public domain from the whole CSV. Returns a Data."""
    D = Data()
    D.path = path
    delim = delimiter or sniff_delimiter(path)
    header = read_header(path, delim)
    names = db_names(header)
    D.renamed = {h: n for h, n in zip(header, names) if h != n}
    raw = '%s.%s' % (q(SCHEMA), q(tag + '_raw'))
    full = '%s.%s' % (q(SCHEMA), q(tag + '_full'))
    D.train_rel = '%s.%s' % (q(SCHEMA), q(tag + '_train'))
    D.tables = [raw, full, D.train_rel]
    with conn.cursor() as cur:
        cur.execute('CREATE SCHEMA IF NOT EXISTS %s' % q(SCHEMA))
        for t in D.tables:
            cur.execute('DROP TABLE IF EXISTS %s' % t)
        cur.execute('CREATE TABLE %s (__lve_rn bigserial, %s)' % (
            raw, ', '.join('%s text' % q('r%d' % j) for j in range(len(names)))))
        copy = "COPY %s (%s) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER %s)" % (
            raw, ', '.join(q('r%d' % j) for j in range(len(names))), lit(delim))
        t0 = time.time()
        try:
            with open(path, 'rb') as f:
                cur.copy_expert(copy, f)
        except Exception as e:
            if 'encoding' not in str(e).lower() and 'invalid byte sequence' not in str(e).lower():
                raise
            log('COPY as UTF-8 failed (%s); retrying as LATIN1' % str(e).strip().splitlines()[0])
            cur.execute('TRUNCATE %s' % raw)
            with open(path, 'rb') as f:
                cur.copy_expert(copy[:-1] + ", ENCODING 'LATIN1')", f)
        cur.execute('SELECT * FROM %s ORDER BY __lve_rn' % raw)
        rawrows = cur.fetchall()
        log('loaded %s: %d rows x %d columns (delimiter %r) in %.1f s' % (
            path, len(rawrows), len(names), delim, time.time() - t0))
        if len(rawrows) < 20:
            raise SystemExit('the CSV has %d rows; the harness needs at least 20' % len(rawrows))
        types, dropped, na_tokens = [], [], {}
        for j, name in enumerate(names):
            t, tok = infer_type([r[j + 1] for r in rawrows])
            if t == 'empty':
                dropped.append(name)
            if tok:
                na_tokens[name] = tok
            types.append(t)
        del rawrows
        keep_cols = [j for j in range(len(names)) if types[j] != 'empty']
        if not keep_cols:
            raise SystemExit('every column of the CSV is empty')
        if len(keep_cols) > 256:
            raise SystemExit('lipvae trains on at most 256 columns; the CSV has %d' % len(keep_cols))
        D.dropped = dropped
        D.na_tokens = na_tokens
        sel = ', '.join('%s AS %s' % (cast_expr(q('r%d' % j), types[j]), q(names[j])) for j in keep_cols)
        cur.execute('CREATE TABLE %s AS SELECT __lve_rn AS rn, %s < %r AS holdout, %s FROM %s' % (
            full, split_sql(split_seed, '__lve_rn'), float(holdout), sel, raw))
        cur.execute('DROP TABLE %s' % raw)
        D.tables.remove(raw)
        colnames = [names[j] for j in keep_cols]
        coltypes = [('int' if types[j] == 'bigint' else types[j]) for j in keep_cols]
        D.sqltypes = [SQLTYPE[types[j]] for j in keep_cols]
        cur.execute('SELECT rn, holdout, %s FROM %s ORDER BY rn' % (', '.join(q(c) for c in colnames), full))
        rows = cur.fetchall()
    n_all = len(rows)
    rn = np.array([r[0] for r in rows], dtype=np.int64)
    hold = np.array([r[1] for r in rows], dtype=bool)
    vals = [r[2:] for r in rows]
    del rows

    # The public domain, from the whole CSV.
    schema = []
    for j, (name, t) in enumerate(zip(colnames, coltypes)):
        col_vals = [v[j] for v in vals]
        nn = [v for v in col_vals if v is not None]
        nullable = len(nn) < len(col_vals)
        if t in ('bool', 'text'):
            if t == 'bool':
                cats, other = ['false', 'true'], None
            else:
                cnt = Counter(nn)
                if len(cnt) <= max_categories:
                    cats, other = sorted(cnt), None
                else:
                    top = sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))[:max_categories - 1]
                    other = '(other)'
                    while other in cnt:
                        other = '_' + other + '_'
                    cats = sorted(k for k, _ in top) + [other]
            col = M.Column(name, t, categories=cats, nullable=nullable, other=other)
            col.index = {c: i for i, c in enumerate(cats)}
            col.distinct = len(set(nn))
        else:
            lo_v, hi_v = min(nn), max(nn)
            lo, hi = _num_repr(t, lo_v), _num_repr(t, hi_v)
            if hi <= lo:  # a constant column: lipvae needs low < high
                hi = lo + 1.0
                if t == 'date':
                    hi_v = lo_v + datetime.timedelta(days=1)
                elif t in ('timestamp', 'timestamptz'):
                    hi_v = lo_v + datetime.timedelta(seconds=1)
                else:
                    hi_v = (int(lo_v) + 1) if t == 'int' else float(lo_v) + 1.0
            col = M.Column(name, t, lo=lo, hi=hi, nullable=nullable)
            col.bound_values = (lo_v, hi_v)
            col.distinct = len(set(nn))
        schema.append(col)
    D.schema = schema
    table_all = to_table(schema, vals)
    del vals

    # Rows kept (a deterministic sample when the CSV is larger than max_rows) and the split.
    keep = np.ones(n_all, dtype=bool)
    if n_all > max_rows:
        u = np.array([split_u('keep%s' % split_seed, int(r)) for r in rn])
        keep[:] = False
        keep[np.argsort(u, kind='stable')[:max_rows]] = True
    D.n_csv = n_all
    D.train_mask = keep & ~hold
    D.hold_mask = keep & hold
    D.train = subset(table_all, D.train_mask)
    D.holdout = subset(table_all, D.hold_mask)
    D.n_train = int(D.train_mask.sum())
    D.n_holdout = int(D.hold_mask.sum())
    D.table_all = table_all
    with conn.cursor() as cur:
        keep_rn = rn[D.train_mask]
        cur.execute('CREATE TABLE %s AS SELECT %s FROM %s WHERE rn = ANY(%%s) ORDER BY rn' % (
            D.train_rel, ', '.join(q(c.name) for c in schema), full), (keep_rn.tolist(),))
        cur.execute('SELECT count(*) FROM %s' % D.train_rel)
        assert cur.fetchone()[0] == D.n_train
    # check the Python and SQL split agree on a few rows
    for r, h in list(zip(rn, hold))[:50]:
        assert (split_u(split_seed, int(r)) < holdout) == bool(h), 'split mismatch'
    return D


def lipvae_domain_args(schema):
    """bounds, categories and not_null arguments of lipvae_train for the public domain."""
    bounds, cats, not_null = {}, {}, []
    for c in schema:
        if c.kind == 'num':
            lo_v, hi_v = c.bound_values
            if c.pytype == 'date':
                bounds[c.name] = [lo_v.isoformat(), hi_v.isoformat()]
            elif c.pytype in ('timestamp', 'timestamptz'):
                bounds[c.name] = [lo_v.isoformat(sep=' '), hi_v.isoformat(sep=' ')]
            elif c.pytype == 'int':
                bounds[c.name] = [int(lo_v), int(hi_v)]
            else:
                bounds[c.name] = [float(lo_v), float(hi_v)]
        elif c.pytype == 'text':
            if c.other is None:
                cats[c.name] = list(c.categories)
            else:
                cats[c.name] = {'values': [x for x in c.categories if x != c.other], 'other': c.other}
        if not c.nullable:
            not_null.append(c.name)
    return bounds, cats, not_null
