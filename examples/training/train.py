"""Train a wine-cultivar classifier: the training job of the examples and of `npm run demo`.

The job reads the UCI Wine recognition data (a CSV, see data/README.md) from ``--data-dir`` (default
``data``, which is /workspace/data in a job), fits a
multinomial logistic regression (softmax) with mini-batch gradient descent and the Adam update rule,
reports loss and accuracy after each epoch, and writes the model and its metrics to ``--output-dir``.

It uses the Python standard library only: the image the emulator stands in for
(pytorch/pytorch:2.0.0-cuda11.7-cudnn8-runtime) has PyTorch, but a job run by the local emulator runs
on the host, where only ``python3`` is sure to be present.

Environment variables (the names the document's examples pass):
    EPOCHS         passes over the training set (default 30)
    BATCH_SIZE     examples per gradient step (default 16)
    LEARNING_RATE  Adam step size (default 0.01)
    MODEL_NAME     recorded in the model and the metrics; this script always fits the same model
    SEED           seed of the split, the shuffling and the initial weights (default 42)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import sys
import time
from pathlib import Path

DATASET_FILE = "wine.csv"
LABEL_COLUMN = "class"
HELD_OUT_SHARE = 0.25
# The copy of the data that ships with the job's files. A job started without a data volume (the
# document's `command=['python', 'train.py']` examples) still has something real to learn from.
SHIPPED_DATA_DIR = Path(__file__).resolve().parent / "data"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Relative defaults: a job's working directory is /workspace, so these are /workspace/data and
    # /workspace/output there, and a run on a laptop writes beside itself instead of at the filesystem root.
    parser.add_argument("--data-dir", default="data", help="folder holding wine.csv (default: ./data)")
    parser.add_argument(
        "--output-dir", default="output", help="where model.json and metrics.json go (default: ./output)"
    )
    return parser.parse_args(argv)


def env_number(name: str, default: float, kind: type) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        sys.exit(f"train.py: {name}={raw!r} is not a valid {kind.__name__}; unset it or pass a number.")
    if value <= 0:
        sys.exit(f"train.py: {name} must be greater than 0, got {raw!r}.")
    return value


def find_dataset(data_dir: Path) -> Path:
    candidate = data_dir / DATASET_FILE
    if candidate.is_file():
        return candidate
    shipped = SHIPPED_DATA_DIR / DATASET_FILE
    if not data_dir.exists() and shipped.is_file():
        print(f"{data_dir} does not exist: using the dataset shipped with the job, {shipped}")
        return shipped
    # A data dir that exists but lacks the file is a mistake upstream (an empty container, a wrong
    # prefix): training on the shipped copy instead would hide it.
    sys.exit(
        f"train.py: no {DATASET_FILE} in {data_dir}. Upload it into the container mounted there "
        f"(`ai-training data upload ALIAS CONTAINER {SHIPPED_DATA_DIR / DATASET_FILE}`) or pass --data-dir."
    )


def load_dataset(path: Path) -> tuple[list[str], list[str], list[list[float]], list[int]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or LABEL_COLUMN not in reader.fieldnames:
            sys.exit(
                f"train.py: {path} has no '{LABEL_COLUMN}' column; expected the layout of data/wine.csv."
            )
        features = [name for name in reader.fieldnames if name != LABEL_COLUMN]
        rows = list(reader)
    classes = sorted({row[LABEL_COLUMN] for row in rows})
    index = {name: i for i, name in enumerate(classes)}
    x = [[float(row[name]) for name in features] for row in rows]
    y = [index[row[LABEL_COLUMN]] for row in rows]
    return features, classes, x, y


def stratified_split(y: list[int], share: float, rng: random.Random) -> tuple[list[int], list[int]]:
    """Hold out `share` of each class, so the held-out set has the class balance of the whole."""
    train: list[int] = []
    held_out: list[int] = []
    for label in sorted(set(y)):
        members = [i for i, v in enumerate(y) if v == label]
        rng.shuffle(members)
        cut = round(len(members) * share)
        held_out.extend(members[:cut])
        train.extend(members[cut:])
    return sorted(train), sorted(held_out)


def standardise(x: list[list[float]], rows: list[int]) -> tuple[list[float], list[float]]:
    """Mean and standard deviation per feature, from the training rows only (no held-out leakage)."""
    n = len(rows)
    width = len(x[0])
    mean = [sum(x[i][j] for i in rows) / n for j in range(width)]
    std = [math.sqrt(sum((x[i][j] - mean[j]) ** 2 for i in rows) / n) or 1.0 for j in range(width)]
    return mean, std


def softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


class SoftmaxRegression:
    """Multinomial logistic regression trained by mini-batch gradient descent with Adam."""

    def __init__(self, n_features: int, n_classes: int, rng: random.Random, learning_rate: float) -> None:
        self.w = [[rng.gauss(0.0, 0.01) for _ in range(n_features)] for _ in range(n_classes)]
        self.b = [0.0] * n_classes
        self.lr = learning_rate
        self.step = 0
        self.m_w = [[0.0] * n_features for _ in range(n_classes)]
        self.v_w = [[0.0] * n_features for _ in range(n_classes)]
        self.m_b = [0.0] * n_classes
        self.v_b = [0.0] * n_classes

    def probabilities(self, features: list[float]) -> list[float]:
        return softmax(
            [
                sum(wj * xj for wj, xj in zip(wk, features, strict=True)) + bk
                for wk, bk in zip(self.w, self.b, strict=True)
            ]
        )

    def predict(self, features: list[float]) -> int:
        p = self.probabilities(features)
        return p.index(max(p))

    def train_batch(self, xs: list[list[float]], ys: list[int]) -> float:
        """One Adam step on the mean cross-entropy of the batch; returns that loss."""
        n_classes, n_features = len(self.w), len(self.w[0])
        grad_w = [[0.0] * n_features for _ in range(n_classes)]
        grad_b = [0.0] * n_classes
        loss = 0.0
        for features, label in zip(xs, ys, strict=True):
            p = self.probabilities(features)
            loss -= math.log(max(p[label], 1e-12))
            for k in range(n_classes):
                delta = p[k] - (1.0 if k == label else 0.0)
                grad_b[k] += delta
                row = grad_w[k]
                for j, xj in enumerate(features):
                    row[j] += delta * xj
        scale = 1.0 / len(xs)
        self.step += 1
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        correction1 = 1 - beta1**self.step
        correction2 = 1 - beta2**self.step
        for k in range(n_classes):
            for j in range(n_features):
                g = grad_w[k][j] * scale
                self.m_w[k][j] = beta1 * self.m_w[k][j] + (1 - beta1) * g
                self.v_w[k][j] = beta2 * self.v_w[k][j] + (1 - beta2) * g * g
                self.w[k][j] -= (
                    self.lr * (self.m_w[k][j] / correction1) / (math.sqrt(self.v_w[k][j] / correction2) + eps)
                )
            g = grad_b[k] * scale
            self.m_b[k] = beta1 * self.m_b[k] + (1 - beta1) * g
            self.v_b[k] = beta2 * self.v_b[k] + (1 - beta2) * g * g
            self.b[k] -= self.lr * (self.m_b[k] / correction1) / (math.sqrt(self.v_b[k] / correction2) + eps)
        return loss * scale


def evaluate(model: SoftmaxRegression, xs: list[list[float]], ys: list[int]) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on the given rows."""
    loss = 0.0
    correct = 0
    for features, label in zip(xs, ys, strict=True):
        p = model.probabilities(features)
        loss -= math.log(max(p[label], 1e-12))
        correct += p.index(max(p)) == label
    return loss / len(xs), correct / len(xs)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    epochs = int(env_number("EPOCHS", 30, int))
    batch_size = int(env_number("BATCH_SIZE", 16, int))
    learning_rate = float(env_number("LEARNING_RATE", 0.01, float))
    seed = int(os.environ.get("SEED", "42"))
    model_name = os.environ.get("MODEL_NAME", "softmax-regression")
    started = time.monotonic()

    dataset = find_dataset(Path(args.data_dir))
    features, classes, x_raw, y = load_dataset(dataset)
    rng = random.Random(seed)
    train_rows, held_out_rows = stratified_split(y, HELD_OUT_SHARE, rng)
    mean, std = standardise(x_raw, train_rows)
    x = [[(v - m) / s for v, m, s in zip(row, mean, std, strict=True)] for row in x_raw]
    x_train, y_train = [x[i] for i in train_rows], [y[i] for i in train_rows]
    x_held, y_held = [x[i] for i in held_out_rows], [y[i] for i in held_out_rows]
    print(
        f"dataset {dataset}: {len(y)} rows, {len(features)} features, classes {', '.join(classes)}; "
        f"{len(train_rows)} for training, {len(held_out_rows)} held out"
    )
    print(
        f"training {model_name!r} as softmax regression: epochs={epochs} batch_size={batch_size} "
        f"learning_rate={learning_rate} seed={seed}"
    )

    model = SoftmaxRegression(len(features), len(classes), rng, learning_rate)
    order = list(range(len(x_train)))
    history = []
    for epoch in range(1, epochs + 1):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            model.train_batch([x_train[i] for i in batch], [y_train[i] for i in batch])
        train_loss, train_acc = evaluate(model, x_train, y_train)
        held_loss, held_acc = evaluate(model, x_held, y_held)
        history.append(
            {"epoch": epoch, "train_loss": round(train_loss, 6), "held_out_accuracy": round(held_acc, 6)}
        )
        print(
            f"epoch {epoch}/{epochs} train_loss={train_loss:.4f} train_accuracy={train_acc:.3f} "
            f"held_out_loss={held_loss:.4f} held_out_accuracy={held_acc:.3f}",
            flush=True,
        )

    confusion = [[0] * len(classes) for _ in classes]
    for features_row, label in zip(x_held, y_held, strict=True):
        confusion[label][model.predict(features_row)] += 1
    metrics = {
        "model_name": model_name,
        "algorithm": "softmax regression, mini-batch Adam",
        "dataset": "UCI Wine recognition (178 wines, 13 chemical measurements, 3 cultivars)",
        "held_out_accuracy": round(held_acc, 6),
        "held_out_loss": round(held_loss, 6),
        "train_accuracy": round(train_acc, 6),
        "train_loss": round(train_loss, 6),
        "train_rows": len(train_rows),
        "held_out_rows": len(held_out_rows),
        "classes": classes,
        "confusion_matrix": {"rows_true_columns_predicted": confusion},
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 3),
        "history": history,
    }
    model_file = {
        "model_name": model_name,
        "kind": "softmax_regression",
        "features": features,
        "classes": classes,
        "standardisation": {"mean": mean, "std": std},
        "weights": model.w,
        "bias": model.b,
    }

    output_dir = Path(args.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "model.json").write_text(json.dumps(model_file, indent=2) + "\n")
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"held-out accuracy {held_acc:.3f} on {len(held_out_rows)} wines")
    print(f"wrote {output_dir / 'model.json'} and {output_dir / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
