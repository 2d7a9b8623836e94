"""Guard latency per message on this CPU: check_input + check_output for every turn of the
red-team suite and the benign questions, rules only and with the learned detector.

    PYTHONPATH=src python benchmarks/guard_latency.py [--repeat 3]

Prints p50 / p95 in milliseconds, wall clock and CPU time (target, issue 7: p95 <= 20 ms per
message). The model's reply is a fixed care answer of typical length, so only the guard is timed.
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


def measure(guard: Guard, conversations: list[list[dict]],
            repeat: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU milliseconds per message (input + output check). On a shared machine
    the wall clock also counts time spent waiting for a core; the CPU time does not."""
    for messages in conversations[:20]:  # warm-up: regex caches, torch threads
        guard.check_output(messages, REPLY)
        guard.check_input(messages)
    wall, cpu = [], []
    for _ in range(repeat):
        for messages in conversations:
            start, start_cpu = time.perf_counter(), time.process_time()
            guard.check_input(messages)
            guard.check_output(messages, REPLY)
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
    return np.array(wall), np.array(cpu)


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
    print("| guard | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms |")
    print("|---|---|---|---|---|")
    for label, detector in (("rules only", False), ("rules + detector", "auto")):
        guard = Guard(detector=detector)
        if detector and guard.detector is None:
            print(f"| {label} | detector unavailable | | | |")
            continue
        wall, cpu = measure(guard, conversations, args.repeat)
        print(f"| {label} | {np.percentile(wall, 50):.2f} | {np.percentile(wall, 95):.2f} | "
              f"{np.percentile(cpu, 50):.2f} | {np.percentile(cpu, 95):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
