"""The batch path at scale: N modules through generate_batch against the local Files/Batches fake.

Run:  uv run python benchmarks/batch_scale.py [--modules 1000 10000] [--bad-every 10]

The fake (helpers.fake_batch) on 127.0.0.1 completes a batch after three status checks;
one module in ``--bad-every`` answers without a required name on attempt 1, so a second
batch carries the retries. Printed per N: wall time of the whole run (render, write,
upload, poll every 10 ms, download, validate, retry batch), the time of a second call on
the finished state folder (what a resume costs once everything is collected), the state
folder's size, and the fake's count of the most often submitted request (must be 1).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.fake_batch import Answer, FakeBatchServer
from shop_context import SHOP_CTX

from jaunt.generate.batch import BatchOptions, generate_batch
from jaunt.promptkit.settings import LLMConfig
from jaunt.promptkit.template_set import load_packaged_set

GOOD = "def apply_discount(price, percent):\n    return price\n\n\nclass Cart:\n    pass\n"
BAD = "def apply_discount(price, percent):\n    return price\n"
KEY_ENV = "JAUNT_BENCH_BATCH_KEY"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--bad-every", type=int, default=10)
    args = parser.parse_args()
    os.environ[KEY_ENV] = "bench"
    templates = load_packaged_set()

    def answer(custom_id: str, body: dict[str, Any]) -> Answer:
        number = int(custom_id[1:].split("#")[0])
        bad = number % args.bad_every == 0 and custom_id.endswith("#a1")
        return Answer(BAD if bad else GOOD)

    options = BatchOptions(poll_interval_s=0.01, max_poll_interval_s=0.01)
    for count in args.modules:
        requests = [
            (f"m{i}", dataclasses.replace(SHOP_CTX, generated_module=f"g.m{i}"))
            for i in range(count)
        ]
        with FakeBatchServer(answer=answer) as server, tempfile.TemporaryDirectory() as tmp:
            llm = LLMConfig("openai", "gpt-4o-mini", KEY_ENV, base_url=server.base_url)

            def go(llm: LLMConfig = llm, tmp: str = tmp, requests: Any = requests) -> Any:
                return asyncio.run(
                    generate_batch(
                        requests, state_dir=tmp, llm=llm, templates=templates, options=options
                    )
                )

            started = time.perf_counter()
            outcome = go()
            first = time.perf_counter() - started
            started = time.perf_counter()
            go()
            again = time.perf_counter() - started
            size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
            valid = sum(r.ok for r in outcome.results.values())
            print(
                f"{count:>6} modules: {first:6.2f} s ({valid} valid, {server.creates} batches, "
                f"max submissions per request {max(server.submissions.values())}); "
                f"second call on the finished state {again:5.2f} s; state {size / 1e6:.1f} MB"
            )


if __name__ == "__main__":
    main()
