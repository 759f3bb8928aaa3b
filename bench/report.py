#!/usr/bin/python3
"""report.py LOGDIR CMD: reads the RESULT lines of bench_core, torch_ref and
bench_sample logs in LOGDIR, prints the table of ratios and writes
bench/RESULTS.md (date, machine, load, command, tables)."""
import os
import subprocess
import sys
import time


def results(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT\t"):
                d = {}
                for kv in line.rstrip("\n").split("\t")[1:]:
                    k, _, v = kv.partition("=")
                    try:
                        d[k] = float(v) if k not in ("kind", "heads") else v
                    except ValueError:
                        d[k] = v
                out.append(d)
    return out


def fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def main():
    logdir, cmd = sys.argv[1], sys.argv[2]
    head_rows = float(sys.argv[3]) if len(sys.argv) > 3 else 1e5
    core = results(os.path.join(logdir, "core.log"))
    torch = results(os.path.join(logdir, "torch1.log")) + results(os.path.join(logdir, "torch2.log"))
    samp = results(os.path.join(logdir, "sample.log"))
    meta = {}
    with open(os.path.join(logdir, "meta")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            meta[k] = v

    train = [r for r in core if r["kind"] == "train"]
    schema = next((r for r in core if r["kind"] == "schema"), None)
    lines = []
    P = lines.append

    P(f"# lipvae benchmark results\n")
    P(f"- date: {meta.get('date')}")
    P(f"- machine: {meta.get('nproc')} cores, {meta.get('cpu')}, {meta.get('mem')}")
    P(f"- load average before / after the run: {meta.get('load0')} / {meta.get('load1')} "
      f"(the cores are shared: read the ratios, which are measured within one run)")
    P(f"- command: `{cmd}` (total {meta.get('elapsed', '?')} s)")
    P(f"- OpenBLAS {meta.get('openblas')}, PyTorch {meta.get('torch')}, PostgreSQL {meta.get('pg')}")
    if schema:
        P(f"- data: data/lending_club.csv ({int(schema['rows'])} rows x {int(schema['cols'])} columns: "
          f"3 continuous, 14 integer, 6 categorical), repeated to the row counts; encoded width "
          f"d = {int(schema['d'])}, decoder output {int(schema['o'])}; epochs 5, batch 256, latent 8, "
          f"mechanism latent (Lipschitz target {schema['target']:.4g}), decoder layers <= 4")
    P("")

    # ---- headline: lipvae vs PyTorch, per hidden width ----
    P(f"## Training: lipvae vs PyTorch and vs the GEMM floor ({int(head_rows)} rows)\n")
    P("Seconds per epoch: the shortest of epochs 2-5 (epoch 1 warms up; on shared cores the "
      "shortest epoch is the least disturbed), for lipvae and PyTorch alike, each hidden width "
      "measured back to back. Speed-up = PyTorch's best / lipvae's best (over 1 and 2 threads). "
      "Floor = the epoch's GEMM FLOPs at the sgemm rate measured on exactly the step's GEMM "
      "shapes right before and after the run (the better of the two).\n")
    P("| hidden | lipvae 1 thr | lipvae 2 thr | PyTorch 1 thr | PyTorch 2 thr | lipvae / PyTorch (best/best) | speed-up | target | lipvae / floor, 1 thr | 2 thr | target |")
    P("|---|---|---|---|---|---|---|---|---|---|---|")
    hiddens = sorted({int(r["hidden"]) for r in train if r["rows"] == head_rows})
    for h in hiddens:
        lv = {int(r["threads"]): r for r in train if r["rows"] == head_rows and int(r["hidden"]) == h}
        tq = {int(r["threads"]): r for r in torch if r["rows"] == head_rows and int(r["hidden"]) == h}
        lvb = min((r["epoch_s"] for r in lv.values()), default=None)
        tqb = min((r["epoch_s"] for r in tq.values()), default=None)
        ratio = lvb / tqb if lvb and tqb else None
        target = {64: ">= 5x", 256: ">= 1.5x"}.get(h, "")
        P(f"| {h} | {fmt(lv.get(1, {}).get('epoch_s'), 3)} | {fmt(lv.get(2, {}).get('epoch_s'), 3)} | "
          f"{fmt(tq.get(1, {}).get('epoch_s'), 3)} | {fmt(tq.get(2, {}).get('epoch_s'), 3)} | "
          f"{fmt(ratio)} | {fmt(1 / ratio if ratio else None)}x | {target} | "
          f"{fmt(lv.get(1, {}).get('ratio'))} | {fmt(lv.get(2, {}).get('ratio'))} | <= 1.5 |")
    P("")

    # ---- size sweep ----
    P("## Training: size sweep (lipvae)\n")
    P("| rows | hidden | threads | s/epoch | rows/s | epoch GFLOP | GFLOP/s | sgemm GFLOP/s | floor s | epoch / floor |")
    P("|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(train, key=lambda r: (r["rows"], r["hidden"], r["threads"])):
        P(f"| {int(r['rows'])} | {int(r['hidden'])} | {int(r['threads'])} | {r['epoch_s']:.4f} | "
          f"{r['rows_per_s']:.0f} | {r['epoch_flops'] / 1e9:.2f} | {r['gflops']:.1f} | "
          f"{r['sgemm_gflops']:.1f} | {r['floor_s']:.4f} | {r['ratio']:.2f} |")
    P("")

    # ---- sampling ----
    rel = [r for r in core if r["kind"] == "release"]
    P("## Sampling and memory (PostgreSQL)\n")
    P("| measure | lipvae | generate_series floor | ratio | target |")
    P("|---|---|---|---|---|")
    for r in [r for r in samp if r["kind"] == "sample"]:
        P(f"| CREATE TEMP TABLE AS, {int(r['rows'])} rows (rows/s) | {r['lipvae_rows_per_s']:.0f} | "
          f"{r['gs_rows_per_s']:.0f} | {r['ratio']:.2f} | <= 3 |")
    for r in rel:
        P(f"| core only: lv_release_rows, {int(r['rows'])} rows, hidden {int(r['hidden'])} (rows/s) | "
          f"{r['rows_per_s']:.0f} | | | lipvae 0.1's release function in the same run: "
          f"{r['ref_rows_per_s']:.0f} rows/s ({r['ref_seconds'] / r['seconds']:.2f}x slower) |")
    for r in [r for r in samp if r["kind"] == "mem_train"]:
        P(f"| train on 10^6 rows (1 epoch, hidden 128): peak backend RSS (VmHWM) | "
          f"{r['hwm_kb'] / 1024:.0f} MB | fresh backend {r['base_kb'] / 1024:.0f} MB | | "
          f"({r['seconds']:.1f} s; temp files {r['temp_bytes'] / 2**20:.0f} MB) |")
    for r in [r for r in samp if r["kind"] == "mem_sample"]:
        P(f"| sample {int(r['rows'])} rows (count(*) over the SRF): peak backend RSS | "
          f"{r['hwm_kb'] / 1024:.0f} MB | fresh backend {r['base_kb'] / 1024:.0f} MB | | "
          f"flat in n; temp files {r['temp_bytes'] / 2**20:.0f} MB, {r['rows'] / r['seconds']:.0f} rows/s |")
    P("")
    chk = os.path.join(logdir, "check.log")
    if os.path.exists(chk):
        with open(chk) as f:
            last = [l for l in f.read().splitlines() if "rows compared" in l and "different;" in l]
        if last:
            P(f"Release check (bench/check_release): {last[-1]}\n")
    skipped = meta.get("skipped", "")
    if skipped:
        P(f"Skipped: {skipped}\n")

    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
