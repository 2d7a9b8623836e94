"""Federated transfer learning across care centres with Flower, and retraining from ratings.

    liquidcare federate --sim --clients 3 --rounds 3     Flower simulation engine, non-IID
    flwr run federated_app                                the same app through Flower's runtime
    liquidcare retrain --model runs/NAME --store care.db --out runs/NAME-v2

Each centre (a Flower ClientApp, `client_app.app`) trains only the liquid parameters on its own
data (LM loss, plus KTO when it has ratings) and answers with those tensors and counts; the
server (`server_app.app`) clips each update to the round's median norm and aggregates them with
FedAvg, FedProx or FedAdam — or a robust aggregator against a bad centre (`robust`: FedMedian,
FedTrimmedAvg, Krum, Bulyan) — optionally behind Flower's differential-privacy wrappers or
SecAgg+ (`secagg`), and saves the global adapter after every round.
"""

from liquidcare._lazy import lazy_getattr

from .config import (
    AGGREGATIONS,
    DP_MODES,
    STRATEGIES,
    UPDATE_CLIPS,
    FedConfig,
    FederatedConfigError,
)

_LAZY = {
    "simulate": "liquidcare.federated.simulation",
    "run_federation": "liquidcare.federated.server_app",
    "build_server_app": "liquidcare.federated.server_app",
    "build_client_app": "liquidcare.federated.client_app",
    "liquid_arrays": "liquidcare.federated.params",
    "load_arrays": "liquidcare.federated.params",
    "retrain_from_rows": "liquidcare.federated.retrain",
    "read_training_rows": "liquidcare.federated.retrain",
    "centre_documents": "liquidcare.federated.centre",
}

__getattr__ = lazy_getattr(__name__, globals(), _LAZY)

__all__ = ["AGGREGATIONS", "DP_MODES", "STRATEGIES", "UPDATE_CLIPS", "FedConfig",
           "FederatedConfigError", *sorted(_LAZY)]
