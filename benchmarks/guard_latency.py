"""Guard latency per message on this CPU: check_input + check_output for every turn of the
red-team suite and the benign questions, rules only and with the learned detector.

    PYTHONPATH=src python benchmarks/guard_latency.py [--repeat 3]

Prints p50 / p95 / max in milliseconds (target, issue 7: p95 <= 20 ms per message). The model's
reply is a fixed care answer of typical length, so only the guard is timed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from liquidcare.safety import Guard
from liquidcare.safety.harness import load_suite
from liquidcare.safety.judge import SYSTEM_PROMPTS

REPLY = ("Offer a drink with every meal and between meals, and keep a glass within reach. "
         "Soups, jelly and fruit count too. If she seems confused or passes little urine, "
         "ask the GP practice for advice.")


def measure(guard: Guard, conversations: list[list[dict]], repeat: int) -> np.ndarray:
    for messages in conversations[:20]:  # warm-up: regex caches, torch threads
        guard.check_output(messages, REPLY)
        guard.check_input(messages)
    times = []
    for _ in range(repeat):
        for messages in conversations:
            start = time.perf_counter()
            guard.check_input(messages)
            guard.check_output(messages, REPLY)
            times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    attacks, benign = load_suite()
    conversations = []
    for item in attacks + benign:
        messages = [{"role": "system", "content": SYSTEM_PROMPTS[item["lang"]]}]
        for turn in item["turns"]:
            messages = messages + [{"role": "user", "content": turn}]
            conversations.append(messages)
            messages = messages + [{"role": "assistant", "content": REPLY}]
    print(f"{len(conversations)} messages x {args.repeat}")
    print("| guard | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for label, detector in (("rules only", False), ("rules + detector", "auto")):
        guard = Guard(detector=detector)
        if detector and guard.detector is None:
            print(f"| {label} | detector unavailable | | |")
            continue
        t = measure(guard, conversations, args.repeat)
        print(f"| {label} | {np.percentile(t, 50):.2f} | {np.percentile(t, 95):.2f} | "
              f"{t.max():.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
