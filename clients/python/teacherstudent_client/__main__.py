"""Command line: python3 -m teacherstudent_client {describe,soft-targets,generate} --address HOST:PORT ...

soft-targets sends Fashion-MNIST test images (--images N from --start) in batches of --batch on
one stream and saves the log-probs [N, C] with numpy.save to --out; or, with --tokens FILE.npy
(token ids [B, L]), asks a language-model teacher and saves OUT (dense) or OUT.ids.npy,
OUT.log_probs.npy and OUT.tail_log_mass.npy (with --k). One JSON line on stdout says what came
back. generate asks a teacher for -n samples of each --prompt and prints one JSON line per sample
as it arrives. Exit codes: 0 done, 3 a batch was refused (BatchError), 1 the call failed, 2 usage.
"""

import argparse
import dataclasses
import json
import os
import sys

import grpc
import numpy as np

from . import fashion_mnist
from .client import BatchError, TeacherClient


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m teacherstudent_client")
    commands = parser.add_subparsers(dest="command", required=True)
    describe = commands.add_parser("describe", help="list the teachers the service holds")
    targets = commands.add_parser("soft-targets", help="fetch soft targets and save them with numpy")
    generate = commands.add_parser("generate", help="print text a teacher writes, one JSON line per sample")
    for command in (describe, targets, generate):
        command.add_argument("--address", required=True,
                             help="host:port (plaintext) or https://host:port; several replicas separated by commas")
        command.add_argument("--retry-seconds", type=float, default=120,
                             help="how long to go on reconnecting while the service is UNAVAILABLE (0 = fail at once)")
        command.add_argument("--api-key", default=os.environ.get("TEACHER_API_KEY"),
                             help="sent as x-api-key (default: $TEACHER_API_KEY)")
        command.add_argument("--teacher", default="", required=command is generate, help="teacher name")
    targets.add_argument("--images", type=int, default=256, help="how many Fashion-MNIST test images")
    targets.add_argument("--start", type=int, default=0, help="index of the first image")
    targets.add_argument("--data", default=fashion_mnist.DEFAULT_DIRECTORY, help="Fashion-MNIST IDX folder")
    targets.add_argument("--tokens", help="token ids [B, L] in a .npy file, for a language-model teacher")
    targets.add_argument("--texts", help="JSON lines of texts (one JSON string per line) for a language-model teacher to "
                                         "tokenize itself, sent in one request; also saves OUT.text_ids, OUT.text_lengths, OUT.byte_spans")
    targets.add_argument("--batch", type=int, default=64, help="examples per request")
    targets.add_argument("--window", type=int, default=8, help="requests sent ahead of the replies")
    targets.add_argument("--temperature", type=float, default=4.0)
    targets.add_argument("--dtype", choices=["float32", "float16"], default="float32", help="log-probs on the wire")
    targets.add_argument("--k", type=int, default=0, help="language models: tokens kept per position (0 = all)")
    targets.add_argument("--sparse-kind", choices=["top_k", "sampled"], default="top_k")
    targets.add_argument("--seed", type=int, default=0, help="seed of sampled targets")
    targets.add_argument("--by-digest", action="store_true",
                         help="send each image's SHA-256 instead of its pixels (answered from the teacher's cache only)")
    targets.add_argument("--out", required=True, help="where to save the targets (.npy)")
    generate.add_argument("--prompt", action="append", default=[], help="a text to continue (repeat for more)")
    generate.add_argument("-n", type=int, default=1, help="samples per prompt")
    generate.add_argument("--max-new-tokens", type=int, default=0, help="most tokens per sample (0 = the teacher's default)")
    generate.add_argument("--temperature", type=float, default=None, help="0 = always the most likely token (default: unset, 1)")
    generate.add_argument("--top-p", type=float, default=None, help="nucleus sampling, in (0, 1] (default: unset, 1)")
    generate.add_argument("--stop", action="append", default=[], help="a sample ends before this string (repeat for more)")
    generate.add_argument("--seed", type=int, default=0, help="fixes the draws")
    args = parser.parse_args(argv)

    try:
        with TeacherClient(args.address, args.api_key, retry_seconds=args.retry_seconds) as client:
            if args.command == "describe":
                for info in client.describe(args.teacher):
                    line = {"name": info.name, "version": info.version, "task": info.task,
                            "num_outputs": info.num_outputs, "max_batch": info.limits.max_batch}
                    if info.HasField("ensemble"):  # an ensemble of the service's teachers
                        line["ensemble"] = {"combination": info.ensemble.combination,
                                            "members": [{"teacher": m.teacher, "version": m.version, "weight": m.weight}
                                                        for m in info.ensemble.members]}
                    print(json.dumps(line))
                return 0
            if args.command == "generate":
                for sample in client.generate(args.teacher, args.prompt, args.n, args.max_new_tokens, args.temperature,
                                              args.top_p, args.stop, args.seed):
                    print(json.dumps(dataclasses.asdict(sample)), flush=True)
                return 0
            return soft_targets(client, args)
    except BatchError as e:
        print(f"error: batch {e.request_id}: {e}", file=sys.stderr)
        return 3
    except grpc.RpcError as e:
        print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
        return 1


def soft_targets(client: TeacherClient, args) -> int:
    if args.texts:
        return text_targets(client, args)
    if args.tokens:
        inputs, teacher = np.load(args.tokens), args.teacher or "lm"
    else:
        inputs = fashion_mnist.load_images("t10k", args.data)[args.start:args.start + args.images]
        teacher = args.teacher or "fashion"
    requests = (client.request(teacher, inputs[i:i + args.batch], args.temperature, args.dtype,
                               k=args.k, sparse_kind=args.sparse_kind, seed=args.seed, by_digest=args.by_digest)
                for i in range(0, len(inputs), args.batch))
    replies = [reply.check() for reply in client.soft_targets(requests, args.window)]

    summary = {"examples": len(inputs), "requests": len(replies),
               "teacher_versions": sorted({r.teacher_version for r in replies}),
               "cache_hits": sum(r.cache_hits for r in replies),
               "missing": sum(len(r.missing) for r in replies)}
    if replies and replies[0].sparse is not None:
        stem = args.out[:-4] if args.out.endswith(".npy") else args.out
        for part in ("ids", "log_probs", "tail_log_mass"):
            values = [getattr(r.sparse, part) for r in replies]
            if values[0] is not None:
                np.save(f"{stem}.{part}.npy", np.concatenate(values))
                summary[part] = {"shape": list(np.concatenate(values).shape), "dtype": str(values[0].dtype)}
    else:
        log_probs = np.concatenate([r.log_probs for r in replies])
        np.save(args.out, log_probs)
        summary.update(shape=list(log_probs.shape), dtype=str(log_probs.dtype))
    print(json.dumps(summary))
    return 0


def text_targets(client: TeacherClient, args) -> int:
    with open(args.texts, encoding="utf-8") as lines:
        texts = [json.loads(line) for line in lines if line.strip()]
    request = client.text_request(args.teacher or "lm", texts, args.temperature, args.dtype, k=args.k,
                                  sparse_kind=args.sparse_kind, seed=args.seed)
    reply = next(iter(client.soft_targets([request], args.window))).check()
    stem = args.out[:-4] if args.out.endswith(".npy") else args.out
    tokens = reply.text_tokens
    np.save(f"{stem}.text_ids.npy", tokens.ids)
    np.save(f"{stem}.text_lengths.npy", np.array(tokens.lengths, dtype=np.int32))
    np.save(f"{stem}.byte_spans.npy", tokens.byte_spans)
    summary = {"texts": len(texts), "teacher_versions": [reply.teacher_version], "lengths": tokens.lengths}
    if reply.sparse is not None:
        for part in ("ids", "log_probs", "tail_log_mass"):
            values = getattr(reply.sparse, part)
            if values is not None:
                np.save(f"{stem}.{part}.npy", values)
                summary[part] = {"shape": list(values.shape), "dtype": str(values.dtype)}
    else:
        np.save(args.out, reply.log_probs)
        summary.update(shape=list(reply.log_probs.shape), dtype=str(reply.log_probs.dtype))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
