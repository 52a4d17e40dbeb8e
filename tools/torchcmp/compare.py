#!/usr/bin/python3
"""Join a `convkit bench conv -format tsv` report with torch_conv.py's TSV.

usage: compare.py CONVKIT.tsv[,CONVKIT2.tsv...] TORCH.tsv[,TORCH2.tsv...]

With several files per side (runs alternated in one session), each row
keeps its fastest run: the least disturbed on a shared VM.

Prints, per shape and thread count, convkit's forward and backward
(bwd-data + bwd-filter, PyTorch's one backward call) against PyTorch's:
milliseconds, the speed ratio (PyTorch ms / convkit ms: above 1 means
convkit is faster) and the % of the FMA peak of each, as a Markdown table.
With -lowered-gemm rows in the report it also prints each shape's im2col
forward against convkit's SGEMM on the same product.
"""
import csv
import sys


def rows(path):
    with open(path) as f:
        lines = [l for l in f if l.strip() and not l.startswith("#")]
    head = None
    for i, l in enumerate(lines):
        if l.startswith("name\t") or l.startswith("threads\t"):
            head = i
            break
    out = []
    cols = lines[head].rstrip("\n").split("\t")
    for l in lines[head + 1:]:
        f = l.rstrip("\n").split("\t")
        if len(f) != len(cols):
            if out:
                break
            continue
        out.append(dict(zip(cols, f)))
    return out


def faster(old, new, col):
    return new if old is None or float(new[col]) < float(old[col]) else old


def main():
    torch = {}
    for path in sys.argv[2].split(","):
        for r in rows(path):
            key = (r["name"], int(r["threads"]))
            t = torch.get(key)
            if t is None:
                torch[key] = dict(r)
            else:
                for col in ("fwd_ms", "bwd_ms"):
                    if float(r[col]) < float(t[col]):
                        t[col] = r[col]
    conv, gemm = {}, {}
    for path in sys.argv[1].split(","):
        for r in rows(path):
            if r.get("status") != "ok":
                continue
            key = (r["name"], int(r["threads"]))
            if r["algo"].startswith("sgemm:"):
                gemm[key] = faster(gemm.get(key), r, "median_ms")
            else:
                passes = conv.setdefault(key, {})
                passes[r["pass"]] = faster(passes.get(r["pass"]), r, "median_ms")
    print("| shape | threads | pass | convkit ms | PyTorch ms | PyTorch/convkit | convkit % peak | PyTorch % peak |")
    print("|---|---|---|---|---|---|---|---|")
    for key in sorted(conv, key=lambda k: (k[1], list(torch).index(k) if k in torch else 0)):
        t = torch.get(key)
        if t is None:
            continue
        c = conv[key]
        if "fwd" in c:
            ms, pct = float(c["fwd"]["median_ms"]), float(c["fwd"]["pct_peak"])
            tms = float(t["fwd_ms"])
            tpct = pct * ms / tms
            print(f"| {key[0]} | {key[1]} | fwd ({c['fwd']['algo']}) | {ms:.3f} | {tms:.3f} | {tms / ms:.2f} | {pct:.0f} | {tpct:.0f} |")
        if "bwd-data" in c and "bwd-filter" in c:
            ms = float(c["bwd-data"]["median_ms"]) + float(c["bwd-filter"]["median_ms"])
            gf = 2 * float(c["bwd-data"]["gflops"]) * float(c["bwd-data"]["median_ms"]) / ms
            pct = float(c["bwd-data"]["pct_peak"]) * float(c["bwd-data"]["median_ms"]) / ms * 2
            tms = float(t["bwd_ms"])
            print(f"| {key[0]} | {key[1]} | bwd (data+filter) | {ms:.3f} | {tms:.3f} | {tms / ms:.2f} | {pct:.0f} | {pct * ms / tms:.0f} |")
    if gemm:
        print()
        print("| shape | threads | im2col fwd GFLOPS | SGEMM of the same product | ratio |")
        print("|---|---|---|---|---|")
        for key in sorted(gemm, key=lambda k: k[1]):
            c = conv.get(key, {}).get("fwd")
            if c is None:
                continue
            g = gemm[key]
            print(f"| {key[0]} | {key[1]} | {float(c['gflops']):.1f} | {float(g['gflops']):.1f} ({g['algo'][6:]}) | {float(c['gflops']) / float(g['gflops']):.2f} |")


main()
