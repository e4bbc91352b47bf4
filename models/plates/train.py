"""Train the plate recognizer on synthetic crops and export it to ONNX.

    python -m models.plates.train --steps 20000 --seed 1        # the full recipe (hours on CPU)
    python -m models.plates.train --resume --max-minutes 30      # go on from the checkpoint
    python -m models.plates.train --export-only                  # write models/plate-reader.onnx
    python -m models.plates.train --init-from models/plate-reader.onnx --seed 2 --schedule finetune \
        --lr 1e-3 --steep-share 0.2 --rectified-share 0.35 --steps N   # fine-tune the shipped model

Reproducible from its seed: sample i of training is generate.sample(seed, i), the weights
start from torch.manual_seed(seed), and a checkpoint holds the step, the weights and the
optimizer, so a resumed run draws the same samples a straight run would have drawn.
Runs on one CPU thread by default (--threads) so a shared machine keeps its other cores.

--init-from starts from an exported model's weights instead of torch.manual_seed(seed)
(a warm start: fine-tuning adds to the CPU time already spent); --steep-share and
--rectified-share mix in steep views and decoding's straightened views (models.plates.mix).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from models.plates.generate import HEIGHT, WIDTH, sample
from models.plates.mix import training_sample

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # class 0 is the CTC blank
ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "plates" / "work"
ONNX_PATH = ROOT / "plate-reader.onnx"


def _block(cin: int, cout: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class PlateRecognizer(nn.Module):
    """CNN to a 36-step sequence over the plate's width, then a CTC head (37 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_block(1, 16),
            nn.MaxPool2d(2),  # 24 x 72
            *_block(16, 32),
            nn.MaxPool2d(2),  # 12 x 36
            *_block(32, 64),
            *_block(64, 64),
            nn.MaxPool2d((2, 1)),  # 6 x 36
            *_block(64, 128),
            nn.MaxPool2d((2, 1)),  # 3 x 36
            nn.Conv2d(128, 160, (3, 1), bias=False),  # 1 x 36
            nn.BatchNorm2d(160),
            nn.ReLU(inplace=True),
        )
        self.sequence = nn.Sequential(
            nn.Conv1d(160, 160, 3, padding=1, bias=False),
            nn.BatchNorm1d(160),
            nn.ReLU(inplace=True),
            nn.Conv1d(160, 160, 3, padding=1, bias=False),
            nn.BatchNorm1d(160),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv1d(160, len(ALPHABET) + 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """uint8-range gray (N, 1, 48, 144) -> log-probabilities (N, 36, 37)."""
        x = x / 127.5 - 1.0
        f = self.features(x).squeeze(2)  # N, C, T
        return self.sequence(f).permute(0, 2, 1).log_softmax(-1)


class Export(nn.Module):
    """What ships: probabilities (N, T, 37) from uint8-range float gray (N, 1, 48, 144)."""

    def __init__(self, model: PlateRecognizer) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).exp()


class Synthetic(Dataset[tuple[torch.Tensor, str]]):
    """Presentation i of the training stream: fresh samples come in chunks, and each chunk
    is shown `repeat` times in a seeded order, jittered (shift, zoom, brightness) after its
    first showing, because drawing a sample costs more CPU than training on it."""

    def __init__(
        self,
        seed: int,
        start: int,
        length: int,
        chunk: int,
        repeat: int,
        *,
        steep: float = 0.0,
        flat: float = 0.0,
        shadow: float = 0.0,
    ) -> None:
        self.seed, self.start, self.length = seed, start, length
        self.chunk, self.repeat = chunk, repeat
        self.steep, self.flat, self.shadow = steep, flat, shadow
        self._cached_chunk = -1
        self._cache: dict[int, tuple[np.ndarray, str]] = {}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        p = self.start + i
        per_chunk = self.chunk * self.repeat
        c, within = divmod(p, per_chunk)
        r, k = divmod(within, self.chunk)
        pos = int(np.random.default_rng([self.seed, c, r]).permutation(self.chunk)[k])
        if c != self._cached_chunk:
            self._cached_chunk, self._cache = c, {}
        if pos not in self._cache:
            s = training_sample(
                self.seed,
                c * self.chunk + pos,
                steep_share=self.steep,
                rectified_share=self.flat,
                shadow_share=self.shadow,
            )
            self._cache[pos] = (s.image, s.text)
        image, text = self._cache[pos]
        if r > 0:
            image = _jitter(np.random.default_rng([self.seed, c, r, pos]), image)
        return torch.from_numpy(image.astype(np.float32))[None], text


def _jitter(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape
    zoom = rng.uniform(0.92, 1.08)
    dx, dy = rng.uniform(-0.04, 0.04) * w, rng.uniform(-0.06, 0.06) * h
    m = np.array(
        [[zoom, 0, (1 - zoom) * w / 2 + dx], [0, zoom, (1 - zoom) * h / 2 + dy]], np.float32
    )
    out = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    out = out * rng.uniform(0.8, 1.2) + rng.uniform(-25, 25)
    return np.clip(out, 0, 255).astype(np.uint8)


class Fixed(Dataset[tuple[torch.Tensor, str]]):
    """Samples 0..n-1 of a stream, unjittered (evaluation)."""

    def __init__(self, seed: int, n: int) -> None:
        self.seed, self.n = seed, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, str]:
        s = sample(self.seed, i)
        return torch.from_numpy(s.image.astype(np.float32))[None], s.text


def _collate(
    batch: list[tuple[torch.Tensor, str]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    images = torch.stack([b[0] for b in batch])
    texts = [b[1] for b in batch]
    targets = torch.tensor([ALPHABET.index(c) + 1 for t in texts for c in t], dtype=torch.long)
    lengths = torch.tensor([len(t) for t in texts], dtype=torch.long)
    return images, targets, lengths, texts


def greedy(logp: torch.Tensor) -> list[str]:
    out = []
    for row in logp.argmax(-1).tolist():
        text, prev = [], 0
        for k in row:
            if k != prev and k != 0:
                text.append(ALPHABET[k - 1])
            prev = k
        out.append("".join(text))
    return out


def evaluate(model: PlateRecognizer, seed: int, n: int) -> dict[str, float]:
    model.eval()
    data = Fixed(seed, n)
    images = torch.stack([data[i][0] for i in range(n)])
    texts = [data[i][1] for i in range(n)]
    with torch.no_grad():
        got = greedy(model(images))
    model.train()
    exact = sum(g == t for g, t in zip(got, texts, strict=True)) / n
    return {"exact": exact}


def export(model: PlateRecognizer, path: Path) -> None:
    model.eval()
    dummy = torch.zeros(1, 1, HEIGHT, WIDTH)
    torch.onnx.export(
        Export(model),
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["probs"],
        dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def init_from_onnx(model: PlateRecognizer, path: Path, calibration: torch.Tensor) -> None:
    """Load an exported model's weights into `model` (a warm start).

    The export folded each batch-norm into the convolution before it, so the ONNX file
    holds one weight and bias per convolution, in the order the model runs them. Each
    folded convolution is loaded as it is, and its batch-norm set so that it adds the
    folded bias, with its statistics measured on `calibration` images: running mean and
    variance are the batch statistics of the folded convolution's output, and the scale
    and shift undo them. Inference is then the exported model's, exactly; training-mode
    batch statistics start close to the running ones, so the first steps do not jolt.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    nodes = [n for n in graph.node if n.op_type == "Conv"]
    layers = [*model.features, *model.sequence]
    pairs: list[tuple[nn.Conv1d | nn.Conv2d, nn.BatchNorm1d | nn.BatchNorm2d | None]] = []
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Conv1d | nn.Conv2d):
            after = layers[i + 1] if i + 1 < len(layers) else None
            pairs.append(
                (layer, after if isinstance(after, nn.BatchNorm1d | nn.BatchNorm2d) else None)
            )
    if len(nodes) != len(pairs):
        raise SystemExit(
            f"{path}: {len(nodes)} convolutions, the model has {len(pairs)}: not this architecture"
        )
    folded_bias: list[torch.Tensor] = []
    with torch.no_grad():
        for node, (conv, norm) in zip(nodes, pairs, strict=True):
            w = torch.from_numpy(weights[node.input[1]].copy())
            b = torch.from_numpy(weights[node.input[2]].copy())
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise SystemExit(
                    f"{path}: weight {tuple(w.shape)} where the model has {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(w)
            if norm is None:
                assert conv.bias is not None
                conv.bias.copy_(b)
                continue
            norm.running_mean.zero_()
            norm.running_var.fill_(1.0 - norm.eps)
            norm.weight.fill_(1.0)
            norm.bias.copy_(b)
            folded_bias.append(b)
    norms = [norm for _, norm in pairs if norm is not None]
    stats: dict[int, list[torch.Tensor]] = {k: [] for k in range(len(norms))}

    def hook(k: int) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], None]:
        def record(_: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            stats[k].append(inputs[0].detach())

        return record

    handles = [norm.register_forward_pre_hook(hook(k)) for k, norm in enumerate(norms)]
    model.eval()
    with torch.no_grad():
        model(calibration)
    for handle in handles:
        handle.remove()
    with torch.no_grad():
        for k, norm in enumerate(norms):
            x = torch.cat(stats[k]).transpose(0, 1).reshape(norm.num_features, -1)
            mean, var = x.mean(1), x.var(1, unbiased=False)
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.copy_(folded_bias[k] + mean)
    model.train()


def max_difference(path_a: Path, path_b: Path, images: np.ndarray) -> float:
    """The largest difference between two exported models' probabilities on `images`."""
    import onnxruntime as ort

    outs = []
    for p in (path_a, path_b):
        session = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        outs.append(session.run(None, {"image": images.astype(np.float32)[:, None]})[0])
    return float(np.abs(outs[0] - outs[1]).max())


def finetune_curve(steps: int, warmup: int, decay_from: float) -> Callable[[int], float]:
    """A fine-tuning schedule (a factor on --lr): a short linear warm-up from a tenth, then
    constant, then a cosine decay to 2% over the last (1 - decay_from) of the steps."""
    start = int(steps * decay_from)

    def factor(step: int) -> float:
        if step < warmup:
            return 0.1 + 0.9 * step / warmup
        if step < start:
            return 1.0
        t = min(1.0, (step - start) / max(1, steps - start))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t))

    return factor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--chunk", type=int, default=2048, help="fresh samples per chunk")
    ap.add_argument("--repeat", type=int, default=3, help="showings of each chunk")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--max-minutes", type=float, default=0, help="stop (with a checkpoint) after this long"
    )
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--init-from", type=Path, help="start from this exported model's weights (warm start)"
    )
    ap.add_argument("--schedule", choices=("onecycle", "finetune"), default="onecycle",
                    help="onecycle (from scratch) or finetune (warm-up, constant, cosine decay)")  # fmt: skip
    ap.add_argument("--warmup", type=int, default=100, help="finetune: warm-up steps")
    ap.add_argument(
        "--decay-from",
        type=float,
        default=0.6,
        help="finetune: share of the steps before the decay",
    )
    ap.add_argument(
        "--steep-share", type=float, default=0.0, help="share of samples drawn steep (yaw 20-35)"
    )
    ap.add_argument("--rectified-share", type=float, default=0.0,
                    help="share of samples straightened as decoding does (app/vision/rectify.py)")  # fmt: skip
    ap.add_argument(
        "--shadow-share", type=float, default=0.0, help="share of samples crossed by a hard shadow"
    )
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--out", type=Path, default=ONNX_PATH, help="where the ONNX model goes")
    ap.add_argument(
        "--eval-seed", type=int, default=7777, help="held-out stream for the log (never trained on)"
    )
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    WORK.mkdir(parents=True, exist_ok=True)
    ckpt_path = WORK / "checkpoint.pt"
    model = PlateRecognizer()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched: torch.optim.lr_scheduler.LRScheduler
    if args.schedule == "finetune":
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, finetune_curve(args.steps, args.warmup, args.decay_from)
        )
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05
        )
    step = 0
    if args.init_from and not (args.resume or args.export_only):
        calibration = torch.stack([Fixed(args.seed, 256)[i][0] for i in range(256)])
        init_from_onnx(model, args.init_from, calibration)
        probe = np.stack([sample(args.eval_seed, i).image for i in range(16)])
        with tempfile.TemporaryDirectory() as tmp:
            export(model, Path(tmp) / "init.onnx")
            model.train()
            diff = max_difference(args.init_from, Path(tmp) / "init.onnx", probe)
        print(
            json.dumps({"init_from": str(args.init_from), "max_prob_difference": diff}), flush=True
        )
        if diff > 1e-4:
            raise SystemExit(
                f"{args.init_from}: the loaded weights do not reproduce it (difference {diff})"
            )
    if args.resume or args.export_only:
        state = torch.load(ckpt_path, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = int(state["step"])
        if int(state["steps"]) == args.steps:
            sched.load_state_dict(state["sched"])
        else:  # a shorter (or longer) run than planned: the same curve over the new length
            for _ in range(step):
                opt.step()  # no gradients: only keeps the scheduler's order-of-calls check quiet
                sched.step()
    if args.export_only:
        export(model, args.out)
        return

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "step": step, "seed": args.seed, "steps": args.steps}, tmp)  # fmt: skip
        tmp.replace(ckpt_path)

    data = Synthetic(args.seed, step * args.batch, (args.steps - step) * args.batch, args.chunk, args.repeat,
                     steep=args.steep_share, flat=args.rectified_share, shadow=args.shadow_share)  # fmt: skip
    loader = DataLoader(data, batch_size=args.batch, shuffle=False, num_workers=args.workers,
                        collate_fn=_collate, persistent_workers=args.workers > 0)  # fmt: skip
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    started = time.monotonic()
    log = (WORK / "train.log").open("a")
    print(
        json.dumps({"start": step, **{k: str(v) for k, v in vars(args).items()}}),
        file=log,
        flush=True,
    )
    model.train()
    running = 0.0
    for images, targets, lengths, _ in loader:
        logp = model(images)  # N, T, C
        t = logp.shape[1]
        loss = ctc(
            logp.permute(1, 0, 2),
            targets,
            torch.full((len(lengths),), t, dtype=torch.long),
            lengths,
        )
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        step += 1
        running = 0.98 * running + 0.02 * float(loss.detach()) if step > 1 else float(loss)
        if step % 250 == 0 or step == args.steps:
            save()
            line = {"step": step, "loss": round(running, 4), "lr": sched.get_last_lr()[0],
                    "minutes": round((time.monotonic() - started) / 60, 1)}  # fmt: skip
            if step % 1000 == 0 or step == args.steps:
                line.update(evaluate(model, args.eval_seed, 256))
            print(json.dumps(line), file=log, flush=True)
        if step >= args.steps:
            break
        if args.max_minutes and time.monotonic() - started > args.max_minutes * 60:
            save()
            break
    save()
    export(model, args.out)


if __name__ == "__main__":
    main()
