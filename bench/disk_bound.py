#!/usr/bin/env python3
"""Disk-bound decode: flint and llama.cpp on a model larger than the memory
they are allowed, from a cold page cache (issue 19's method).

usage: disk_bound.py [options] FILE
  --budget SIZE     memory for experts beyond the resident weights (default 4G)
  --slack SIZE      added to the limit for each engine's own buffers (default 512M)
  --rounds N        rounds; each runs every engine once, alternating (default 3)
  --tokens N        decoded tokens per run (default 32)
  --threads N       threads for both engines (default 2)
  --flint PATH      flint binary; runs `PATH bench -m FILE -p 0 -n N -r 1 -t T
                    --json` plus --flint-args (default: not run); its note
                    has the disk floor flint measures around the test
  --flint-args S    extra flint arguments, e.g. "--expert-cache 4G"
  --llama-bench P   llama-bench binary (default /tmp/llama.cpp/build/bin/llama-bench;
                    "none" skips it); runs `P -m FILE -p 0 -n N -r 1 -t T -o json`
  --no-limit        no memory limit (the cgroup still counts)
  --bw-gib N        GiB of the file read with O_DIRECT for the disk's
                    sequential bandwidth (default 4; 0 skips)
  --read-ahead-kb N the disk's read_ahead_kb during the runs, restored after
                    (default: left as it is; it sets how much a page fault on
                    an mmap'd file reads around the page)
  --nice N          niceness of every run (default 0)
  --timeout S       seconds before a run is killed (default 1200)

Needs root and cgroup v1's memory controller. Each run: sync and drop the
page cache, reset the cgroup's counters, run the command inside it, then
report tokens/s, the peak memory charged to the cgroup (page cache included:
mmap'd weights count), how often the limit was hit (failcnt), and the bytes
read from the file's disk meanwhile (/proc/diskstats: the whole machine's
reads, loading and warm-up included; the blkio controller counts nothing on
this VM's disk). The limit
is budget + resident + slack, resident being every tensor that is not an
expert stack (names containing "_exps"), read from the file."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

from gguf import GGUFReader

MEM = "/sys/fs/cgroup/memory"


def size(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)i?B?", s.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"'{s}' is not a size (e.g. 4G, 512M)")
    return int(float(m[1]) * 1024 ** " KMGT".index(m[2].upper() or " "))


def gib(n):
    return f"{n / 2**30:.2f} GiB"


def weight_bytes(path):
    """(resident, expert) bytes: tensors outside expert stacks, and in them"""
    r = GGUFReader(path)
    resident = sum(int(t.n_bytes) for t in r.tensors if "_exps" not in t.name)
    experts = sum(int(t.n_bytes) for t in r.tensors if "_exps" in t.name)
    return resident, experts


def put(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def get(path):
    with open(path) as f:
        return f.read()


def drop_caches():
    subprocess.run(["sync"], check=True)
    put("/proc/sys/vm/drop_caches", 3)


def disk_bandwidth(path, n_gib):
    """Sequential O_DIRECT read of n_gib GiB from the file's middle, in GB/s."""
    drop_caches()
    count = n_gib * 64  # 16 MiB blocks
    skip = max(0, (os.path.getsize(path) // (16 << 20) - count) // 2)
    out = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=16M", f"count={count}", f"skip={skip}",
                          "iflag=direct"], capture_output=True, text=True, check=True).stderr
    m = re.search(r"^(\d+) bytes.* copied, ([\d.]+) s", out, re.M)
    return int(m[1]) / float(m[2]) / 1e9


def disk_of(path):
    """(major, minor) of the block device that holds path"""
    st = os.stat(path)
    return os.major(st.st_dev), os.minor(st.st_dev)


def disk_read_bytes(path):
    """Bytes read so far from the disk that holds path (whole machine)."""
    want = disk_of(path)
    for line in get("/proc/diskstats").splitlines():
        f = line.split()
        if (int(f[0]), int(f[1])) == want:
            return int(f[5]) * 512
    sys.exit(f"disk_bound.py: no /proc/diskstats line for {path}'s device {want[0]}:{want[1]}")


def read_ahead_path(path):
    """The read_ahead_kb file of path's disk (a partition's is its disk's)."""
    dev = os.path.realpath("/sys/dev/block/%d:%d" % disk_of(path))
    for d in (dev, os.path.dirname(dev)):
        if os.path.exists(os.path.join(d, "queue/read_ahead_kb")):
            return os.path.join(d, "queue/read_ahead_kb")
    sys.exit(f"disk_bound.py: no read_ahead_kb for {path}'s disk ({dev})")


class Cgroup:
    """A cgroup v1 memory group for one run at a time."""

    def __init__(self, name, limit):
        self.dir = os.path.join(MEM, name)
        os.makedirs(self.dir, exist_ok=True)
        put(self.file("memory.limit_in_bytes"), limit if limit else -1)

    def file(self, name):
        return os.path.join(self.dir, name)

    def reset(self):
        put(self.file("memory.max_usage_in_bytes"), 0)
        put(self.file("memory.failcnt"), 0)

    def enter(self):  # in the child, before exec
        put(self.file("cgroup.procs"), os.getpid())

    def stats(self):
        return int(get(self.file("memory.max_usage_in_bytes"))), int(get(self.file("memory.failcnt")))

    def remove(self):
        try:
            os.rmdir(self.dir)
        except OSError as e:
            print(f"could not remove {self.dir}: {e}", file=sys.stderr)


def flint_tps(out):
    """(decode tokens/s, the expert store's counters when it reports them)"""
    for line in out.splitlines():
        if line.startswith("{"):
            j = json.loads(line)
            if j.get("test", "").startswith("tg"):
                x = j.get("experts")
                note = f"hit rate {x['hit_rate']:.3f}, {x['bytes_read_per_token'] / 2**20:.0f} MiB/token" if x else ""
                if x and "disk_floor_ratio" in x:
                    note += (f", disk {x['disk_gbs_before']:.2f}/{x['disk_gbs_after']:.2f} GB/s (experts at random,"
                             f" before/after): floor ratio {x['disk_floor_ratio']:.3f}")
                if x and "disk_seq_floor_ratio" in x:
                    note += f"; sequential {x['disk_seq_gbs']:.2f} GB/s: ratio {x['disk_seq_floor_ratio']:.3f}"
                if x and "io_busy_share" in x:
                    note += f"; reads pending {100 * x['io_busy_share']:.0f}% at {x['io_busy_gbs']:.2f} GB/s"
                return j["tokens_per_s"], note
    return None, ""


def llama_tps(out):
    try:
        rows = json.loads(out[out.index("["):])
    except ValueError:
        return None, ""
    tg = [r for r in rows if r.get("n_gen", 0) > 0]
    return (tg[0]["avg_ts"], "") if tg else (None, "")


def run(cg, argv, nice, timeout):
    """(stdout, return code or "timeout", stderr, wall seconds) of one cold run"""
    drop_caches()
    cg.reset()

    def child():
        os.nice(nice)
        cg.enter()

    t = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, preexec_fn=child, timeout=timeout)
        out, rc = p.stdout, p.returncode
        err = p.stderr
    except subprocess.TimeoutExpired as e:
        out, rc, err = e.stdout or "", "timeout", e.stderr or ""
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    return out, rc, err, time.monotonic() - t


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1], add_help=False)
    ap.add_argument("file")
    ap.add_argument("--budget", type=size, default=size("4G"))
    ap.add_argument("--slack", type=size, default=size("512M"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--flint")
    ap.add_argument("--flint-args", default="")
    ap.add_argument("--llama-bench", default="/tmp/llama.cpp/build/bin/llama-bench")
    ap.add_argument("--no-limit", action="store_true")
    ap.add_argument("--bw-gib", type=int, default=4)
    ap.add_argument("--read-ahead-kb", type=int)
    ap.add_argument("--nice", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=1200)
    ap.add_argument("--cgroup", default="flint-disk-bound")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("disk_bound.py: needs root (drop_caches, cgroups)")
    if not os.path.isdir(MEM):
        sys.exit(f"disk_bound.py: needs cgroup v1's memory controller ({MEM})")

    resident, experts = weight_bytes(a.file)
    limit = 0 if a.no_limit else a.budget + resident + a.slack
    print(f"{a.file}: {gib(os.path.getsize(a.file))}, resident (non-expert) weights {gib(resident)}, "
          f"expert stacks {gib(experts)}")
    print(f"limit: {'none' if not limit else f'{gib(limit)} = budget {gib(a.budget)} + resident + slack {gib(a.slack)}'}")
    if a.bw_gib:
        print(f"disk: sequential O_DIRECT read {disk_bandwidth(a.file, a.bw_gib):.2f} GB/s "
              f"({a.bw_gib} GiB, dd bs=16M, cold)", flush=True)

    engines = []
    common = ["-m", a.file, "-p", "0", "-n", str(a.tokens), "-r", "1", "-t", str(a.threads)]
    if a.flint:
        engines.append(("flint", [a.flint, "bench", *common, "--json", *a.flint_args.split()], flint_tps))
    if a.llama_bench != "none":
        engines.append(("llama.cpp", [a.llama_bench, *common, "-o", "json"], llama_tps))
    if not engines:
        sys.exit("disk_bound.py: nothing to run (give --flint, or keep --llama-bench)")
    for name, argv, _ in engines:
        print(f"{name}: {' '.join(argv)}")

    ra = read_ahead_path(a.file)
    ra_old = int(get(ra))
    cg = Cgroup(a.cgroup, limit)
    results = {name: [] for name, _, _ in engines}
    try:
        if a.read_ahead_kb is not None:
            put(ra, a.read_ahead_kb)
        print(f"read_ahead_kb: {get(ra).strip()} ({ra}"
              f"{f'; {ra_old} restored after' if a.read_ahead_kb is not None else ''})")
        print("| round | engine | tg t/s | wall s | peak charged | limit hits | read from disk | engine's note |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |", flush=True)
        for r in range(a.rounds):
            for name, argv, parse in engines:
                read = disk_read_bytes(a.file)
                out, rc, err, wall = run(cg, argv, a.nice, a.timeout)
                read = disk_read_bytes(a.file) - read
                peak, failcnt = cg.stats()
                tps, note = parse(out) if rc == 0 else (None, "")
                if tps is None:
                    tail = "\n".join(err.strip().splitlines()[-3:])
                    print(f"{name} round {r + 1}: rc {rc}, no result; stderr ends:\n{tail}", file=sys.stderr)
                else:
                    results[name].append(tps)
                print(f"| {r + 1} | {name} | {'-' if tps is None else f'{tps:.2f}'} | {wall:.1f} | {gib(peak)} | "
                      f"{failcnt} | {gib(read)} | {note} |", flush=True)
    finally:
        cg.remove()
        put(ra, ra_old)
    med = {n: statistics.median(v) for n, v in results.items() if v}
    for n, v in results.items():
        print(f"{n}: median {med[n]:.2f} t/s of {len(v)} ({', '.join(f'{x:.2f}' for x in v)})" if v else f"{n}: no result")
    if "flint" in med and "llama.cpp" in med:
        print(f"flint / llama.cpp: {med['flint'] / med['llama.cpp']:.2f}x")


if __name__ == "__main__":
    main()
