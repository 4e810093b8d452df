"""datatrove's MinHash dedup (its four stages, one task each) on one JSONL file,
as bench/dedup.sh's peer for lm-dedup. Prints one line:
  datatrove <seconds wall> <seconds cpu> <peak rss KB> <documents kept>
With a third argument, also writes there "id<TAB>cluster" for every document
datatrove put in a cluster (tests/ref/dedup_datatrove.sh).
Run with the python3 that has datatrove (pip install datatrove 'xxhash<4')."""
import json, os, resource, shutil, sys, time

for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"  # one core, as lm-dedup is measured

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                              MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def main():
    src, work = sys.argv[1], sys.argv[2]
    clusters = sys.argv[3] if len(sys.argv) > 3 else None
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(f"{work}/in")
    os.symlink(os.path.abspath(src), f"{work}/in/corpus.jsonl")
    cfg = MinhashConfig()  # 5-grams, 14 buckets x 8 hashes: lm-dedup's layout
    read = lambda: JsonlReader(f"{work}/in", glob_pattern="*.jsonl")
    stages = [
        [read(), MinhashDedupSignature(output_folder=f"{work}/sigs", config=cfg)],
        [MinhashDedupBuckets(input_folder=f"{work}/sigs", output_folder=f"{work}/buckets", config=cfg)],
        [MinhashDedupCluster(input_folder=f"{work}/buckets", output_folder=f"{work}/remove", config=cfg,
                             save_cluster_id=bool(clusters))],
        [read(), MinhashDedupFilter(input_folder=f"{work}/remove", load_cluster_ids=bool(clusters),
                                    exclusion_writer=JsonlWriter(f"{work}/removed", compression=None) if clusters else None),
         JsonlWriter(f"{work}/out", compression=None)],
    ]
    tasks = [1, cfg.num_buckets, 1, 1]
    t0, c0 = time.time(), os.times()
    for i, (pipe, n) in enumerate(zip(stages, tasks)):
        # a logging folder per stage: the executor skips ranks it finds completed there
        LocalPipelineExecutor(pipeline=pipe, tasks=n, workers=1, logging_dir=f"{work}/logs{i}",
                              start_method="fork").run()
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + \
          (c1.children_system - c0.children_system)
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    kept = 0
    for f in os.listdir(f"{work}/out"):
        with open(f"{work}/out/{f}") as fh:
            kept += sum(1 for _ in fh)
    print(f"datatrove {time.time() - t0:.2f} {cpu:.2f} {rss} {kept}")
    if clusters:
        rows = []
        for d in ("out", "removed"):
            for f in os.listdir(f"{work}/{d}"):
                with open(f"{work}/{d}/{f}") as fh:
                    for line in fh:
                        doc = json.loads(line)
                        c = doc["metadata"].get("minhash_cluster_id", -1)
                        if c != -1:
                            rows.append(f"{doc['id']}\t{c}\n")
        with open(clusters, "w") as fh:
            fh.writelines(sorted(rows))


if __name__ == "__main__":
    main()
