"""`liquidcare federate` (Flower simulation of several care centres) and `liquidcare retrain`
(one centre learns from its users' ratings). Deployment across real machines runs the same
Flower app with `flower-superlink`, `flower-supernode` and `flwr run federated_app`: see
docs/federated.md."""

from __future__ import annotations

import argparse

from liquidcare.federated import AGGREGATIONS, UPDATE_CLIPS

# flag -> FedConfig field; None values (flags not given) keep the config's value
_FLAGS = ("model", "preset", "layers", "placement", "units", "corpus", "ratings", "rounds",
          "local_steps", "lr", "batch_size", "block_size", "max_train_tokens", "max_val_tokens",
          "strategy", "proximal_mu", "server_lr", "dp", "dp_noise", "dp_clip", "aggregation",
          "trim_beta", "assumed_malicious", "update_clip", "clip_norm", "secagg", "min_clients",
          "kto_steps", "kto_beta", "out", "device", "seed")


def _read_config(path: str) -> dict:
    """A --config file (YAML or TOML) holding FedConfig keys; errors name the file."""
    from pathlib import Path

    from liquidcare.federated import FederatedConfigError

    file = Path(path)
    if not file.is_file():
        raise FederatedConfigError(f"--config {path}: no such file")
    text = file.read_text()
    try:
        if file.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
            data = data.get("tool", {}).get("flwr", {}).get("app", {}).get("config", data)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as err:  # both parsers' errors: the message says where
        raise FederatedConfigError(f"--config {path} cannot be read: {err}") from None
    if not isinstance(data, dict):
        raise FederatedConfigError(f"--config {path} must hold a mapping of keys")
    return data


def cmd_federate(args: argparse.Namespace) -> int:
    from liquidcare.federated import FedConfig, FederatedConfigError

    if not args.sim:
        raise FederatedConfigError(
            "without --sim, run the Flower app on a SuperLink: flower-superlink, one "
            "flower-supernode per centre, then `flwr run federated_app CONNECTION` "
            "(docs/federated.md)")
    values = _read_config(args.config) if args.config else {}
    values = {str(k).replace("-", "_"): v for k, v in values.items()}
    if values:  # the file's own mistakes are named with the file
        FedConfig.from_mapping(values, source=f"--config {args.config}")
    flags = {k: getattr(args, k) for k in _FLAGS if getattr(args, k) is not None}
    # a bad key or value stops here, before any loading
    cfg = FedConfig.from_mapping({**values, **flags},
                                 source=f"--config {args.config} with the flags"
                                 if values else "the flags")
    from liquidcare.federated import simulate

    state = simulate(cfg, args.clients, cpus_per_client=args.cpus_per_client,
                     verbose=args.verbose)
    if not state:
        raise FederatedConfigError(f"the simulation wrote no {cfg.out}/state.json; see the log")
    print(f"\nfederated run {cfg.out}: {state['round']} of {cfg.rounds} rounds, "
          f"{state['liquid_params']:,} liquid parameters sent per centre per round "
          f"({100 * state['liquid_params'] / state['total_params']:.2f}% of the model)")
    print(f"{'round':>5}  {'global ppl':>10}  " + "  ".join(
        f"{'centre ' + c:>9}" for c in sorted(state["rounds"].get("0", state["rounds"][
            max(state["rounds"], key=int)])["clients"], key=int)))
    for r, row in sorted(state["rounds"].items(), key=lambda item: int(item[0])):
        cells = [f"{v.get('val_ppl', float('nan')):9.2f}"
                 for _, v in sorted(row["clients"].items(), key=lambda item: int(item[0]))]
        print(f"{r:>5}  {row.get('global_val_ppl', float('nan')):10.2f}  " + "  ".join(cells))
    print(f"adapter: {cfg.out}/adapter   report: {cfg.out}/report.md   plot: "
          f"{cfg.out}/perplexity.png")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    import os

    from liquidcare.federated.retrain import retrain

    store = args.store or os.environ.get("LIQUIDCARE_STORE") or "care.db"
    summary = retrain(args.model, store, args.out, lm_steps=args.lm_steps,
                      kto_steps=args.kto_steps, lr=args.lr, kto_lr=args.kto_lr, beta=args.beta,
                      batch_size=args.batch_size, device=args.device, force=args.force,
                      progress=not args.quiet)
    print(f"learnt from {summary['rows']} rated replies of {store}")
    if "lm_loss_first" in summary:
        print(f"LM loss on good conversations: {summary['lm_loss_first']:.4f} -> "
              f"{summary['lm_loss_last']:.4f}")
    if "kto_loss_before" in summary:
        print(f"KTO loss on the rated replies: {summary['kto_loss_before']:.4f} -> "
              f"{summary['kto_loss_after']:.4f}")
    print(f"new version {summary['version']} in {summary['adapter']} (was {summary['parent']}); "
          "the store records which replies it learnt from")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    fed = sub.add_parser(
        "federate", help="federated training of the liquid adapter across care centres (Flower)",
        description="Care centres train the shared liquid adapter on their own data and send "
        "back only liquid parameter tensors; the server averages them (Flower strategies) and "
        "saves the global adapter every round. --sim runs Flower's simulation engine, one "
        "virtual centre per client, the care corpus split by language (Spanish- and "
        "English-speaking centres alternate). A rerun with the same --out resumes after the "
        "last saved round.")
    fed.add_argument("--sim", action="store_true",
                     help="run Flower's simulation engine on this machine")
    fed.add_argument("--clients", type=int, default=3, help="simulated care centres (default 3)")
    fed.add_argument("--config", help="YAML or TOML file of run-config keys (e.g. "
                     "federated_app/pyproject.toml); flags override it")
    fed.add_argument("--model", help="base model name/folder (default smollm2: liquified with "
                     "--preset, the liquid blocks beside the MLPs) or a run/adapter directory")
    fed.add_argument("--preset", help="liquid preset for a base model (default cfc-ncp)")
    fed.add_argument("--layers", help="liquified layers for a base model (default last:6)")
    fed.add_argument("--placement", choices=["replace", "parallel"],
                     help="for a base model: parallel (default: round 0 is the base model) or "
                     "replace")
    fed.add_argument("--units", type=int, help="liquid neurons per block (default: the preset's)")
    fed.add_argument("--corpus", help="corpus split across centres (default care)")
    fed.add_argument("--ratings", help="a store export (JSONL) every simulated centre also "
                     "learns from with KTO; written with `liquidcare store export --scope "
                     "federated` (other exports are refused)")
    fed.add_argument("--rounds", type=int, help="federated rounds (default 3)")
    fed.add_argument("--local-steps", type=int, help="optimiser steps per centre per round "
                     "(default 4)")
    fed.add_argument("--lr", type=float, help="centres' learning rate (default 1e-3)")
    fed.add_argument("--batch-size", type=int, help="blocks per local step (default 4)")
    fed.add_argument("--block-size", type=int, help="tokens per block (default 128)")
    fed.add_argument("--max-train-tokens", type=int, help="cap on each centre's training tokens")
    fed.add_argument("--max-val-tokens", type=int, help="cap on each centre's validation tokens")
    fed.add_argument("--strategy", choices=["fedavg", "fedprox", "fedadam"],
                     help="server strategy (default fedavg)")
    fed.add_argument("--proximal-mu", type=float, help="FedProx's mu (default 0.01)")
    fed.add_argument("--server-lr", type=float, help="FedAdam's server learning rate (0.01)")
    fed.add_argument("--dp", choices=["none", "server", "client"],
                     help="differential privacy: Flower's fixed clipping + Gaussian noise, "
                     "clipped on the server or on each centre (default none)")
    fed.add_argument("--dp-noise", type=float, help="DP noise multiplier (default 0.1)")
    fed.add_argument("--dp-clip", type=float, help="DP clipping norm of an update (default 1.0)")
    fed.add_argument("--aggregation", choices=list(AGGREGATIONS),
                     help="how the server combines the centres' updates: mean (the strategy's "
                     "own, default), or a robust aggregator against a bad centre: median "
                     "(FedMedian), trimmed-mean (FedTrimmedAvg), krum, multi-krum, bulyan")
    fed.add_argument("--trim-beta", type=float,
                     help="trimmed-mean: fraction cut at each end (default 0.2)")
    fed.add_argument("--assumed-malicious", type=int,
                     help="bad centres the robust aggregator must tolerate (Krum's and "
                     "Bulyan's f; default 1); too few centres for it is refused")
    fed.add_argument("--update-clip", choices=list(UPDATE_CLIPS),
                     help="scale each centre's update down to a bound before aggregating: "
                     "median (the round's median update norm; the default), fixed "
                     "(--clip-norm), none (the default with --secagg)")
    fed.add_argument("--clip-norm", type=float, help="bound of --update-clip fixed (1.0)")
    fed.add_argument("--secagg", action="store_true", default=None,
                     help="secure aggregation (Flower's SecAgg+): the server sees only the mean "
                     "of the centres' updates (FedAvg, no --dp)")
    fed.add_argument("--min-clients", type=int, help="centres needed for a round (default 2)")
    fed.add_argument("--kto-steps", type=int, help="KTO steps per round with --ratings (2)")
    fed.add_argument("--kto-beta", type=float, help="KTO's beta (default 0.1)")
    fed.add_argument("--out", help="run folder: adapter, state, report (default runs/fed)")
    fed.add_argument("--device", help="device of every centre (default cpu)")
    fed.add_argument("--seed", type=int, help="seed (default 0)")
    fed.add_argument("--cpus-per-client", type=float, default=1.0,
                     help="CPUs Ray gives each simulated centre (default 1)")
    fed.add_argument("--verbose", action="store_true", help="Flower's debug log")
    fed.set_defaults(func=cmd_federate)

    re = sub.add_parser(
        "retrain", help="retrain a liquid adapter from the store's thumbs up/down (LM + KTO)",
        description="Exports the store's rated replies, trains the liquid parameters (LM loss "
        "on the good conversations, then TRL's KTO on every rated reply), saves OUT/adapter as "
        "a new model version and records in the store which replies it learnt from.")
    re.add_argument("--model", required=True, help="the run or adapter directory to continue")
    re.add_argument("--store", help="the store (default $LIQUIDCARE_STORE, else care.db)")
    re.add_argument("--out", required=True, help="the new run directory (e.g. runs/NAME-v2)")
    re.add_argument("--lm-steps", type=int, default=20, help="LM steps (default 20)")
    re.add_argument("--kto-steps", type=int, default=20, help="KTO steps (default 20)")
    re.add_argument("--lr", type=float, default=1e-3, help="LM learning rate (default 1e-3)")
    re.add_argument("--kto-lr", type=float, default=5e-5, help="KTO learning rate (5e-5)")
    re.add_argument("--beta", type=float, default=0.1, help="KTO's beta (default 0.1)")
    re.add_argument("--batch-size", type=int, default=4, help="batch size (default 4)")
    re.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (default)")
    re.add_argument("--force", action="store_true", help="replace an existing OUT/adapter")
    re.add_argument("--quiet", action="store_true", help="no progress bars")
    re.set_defaults(func=cmd_retrain)
