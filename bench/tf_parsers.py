#!/usr/bin/env python3
"""Compare HCL parsers for the Terraform collector: python-hcl2 (lark) and tree-sitter-hcl.

Every measurement runs in a fresh child process so imports, caches and memory do not leak between cases:

- import: time to import the parser and get it ready to parse (lark builds its parser on first use, so the
  python-hcl2 cases include parsing a one-line file);
- parse: time to parse every ``.tf`` file of the corpus (read bytes + parse; the walk cases also visit every
  node of the syntax tree, which is what the collector does);
- peak RSS: ``ru_maxrss`` of the child after the parse, minus the same for a child that only starts Python;
- for scale, the same for lambdasec's whole HCL reader (parse + evaluate) on every module directory.

    python3 bench/make_tf_corpus.py --out bench/.work/tf-corpus --stacks 120 --seed 7
    python3 bench/tf_parsers.py bench/.work/tf-corpus --repeat 5

Needs ``pip install python-hcl2 tree-sitter tree-sitter-hcl``. Standard library otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

PRELUDE = """
import json, resource, sys, time
from pathlib import Path
files = sorted(Path(sys.argv[1]).rglob("*.tf")) if len(sys.argv) > 1 else []
t0 = time.perf_counter()
"""

READY = {
    "python-hcl2": "import hcl2\nhcl2.parse_to_tree(__import__('io').StringIO('a = 1\\n'))\n",
    "tree-sitter-hcl": ("import tree_sitter, tree_sitter_hcl\n"
                        "parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))\n"),
}

PARSE = {
    "python-hcl2 parse_to_tree": "for f in files:\n    hcl2.parses_to_tree(f.read_text())\n",
    "python-hcl2 loads (dict)": "for f in files:\n    hcl2.loads(f.read_text())\n",
    "tree-sitter-hcl parse": "for f in files:\n    parser.parse(f.read_bytes())\n",
    "tree-sitter-hcl parse + walk": (
        "def walk(node):\n    n = 1\n    for child in node.children:\n        n += walk(child)\n    return n\n"
        "for f in files:\n    walk(parser.parse(f.read_bytes()).root_node)\n"),
}

# The whole HCL reader of lambdasec on every module directory (parse + evaluate + TfBlocks), for scale.
READER = (
    "import collections\n"
    "from lambdasec.collectors.options import CollectOptions\n"
    "from lambdasec.collectors.terraform.hcl import read_module\n"
    "t0 = time.perf_counter()\n"
    "modules = collections.defaultdict(list)\n"
    "for f in files:\n    modules[f.parent].append(f)\n"
    "blocks = sum(len(read_module(fs, Path(sys.argv[1]), CollectOptions())[0]) for fs in modules.values())\n"
)

EPILOGUE = """
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run(code: str, corpus: Path | None) -> dict[str, float]:
    args = [sys.executable, "-c", code] + ([str(corpus)] if corpus else [])
    result = subprocess.run(args, capture_output=True, text=True, check=True)
    values: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


def median_of(code: str, corpus: Path | None, repeat: int) -> tuple[float, float]:
    runs = [run(code, corpus) for _ in range(repeat)]
    return statistics.median(r["seconds"] for r in runs), statistics.median(r["rss_kb"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.tf"))
    size = sum(f.stat().st_size for f in files)
    print(f"corpus: {len(files)} .tf files, {size / 1e6:.2f} MB; median of {args.repeat} runs")
    _, baseline_kb = median_of(PRELUDE + EPILOGUE, None, args.repeat)
    print(f"{'python alone':32} peak rss {baseline_kb / 1024:6.1f} MB (subtracted below)")
    for name, ready in READY.items():
        seconds, rss = median_of(PRELUDE + ready + EPILOGUE, None, args.repeat)
        print(f"{name:32} import+ready {seconds * 1000:8.1f} ms   rss +{(rss - baseline_kb) / 1024:6.2f} MB")
    for name, body in PARSE.items():
        ready = READY["python-hcl2" if name.startswith("python-hcl2") else "tree-sitter-hcl"]
        seconds, rss = median_of(PRELUDE + ready + "t0 = time.perf_counter()\n" + body + EPILOGUE, args.corpus,
                                 args.repeat)
        print(f"{name:32} parse        {seconds:8.2f} s    peak rss +{(rss - baseline_kb) / 1024:6.2f} MB")
    seconds, rss = median_of(PRELUDE + READER + EPILOGUE, args.corpus, args.repeat)
    label = "lambdasec read_module (all)"
    print(f"{label:32} read         {seconds:8.2f} s    peak rss +{(rss - baseline_kb) / 1024:6.2f} MB")


if __name__ == "__main__":
    main()
